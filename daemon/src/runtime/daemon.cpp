#include "actiond/daemon/runtime/daemon.hpp"

#include "actiond/config/log.hpp"
#include "actiond/config/version.hpp"

#include "actiond/daemon/runtime/inference_loop.hpp"
#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/io/metrics.hpp"
#include "actiond/daemon/io/publisher.hpp"
#include "actiond/daemon/sinks/sink_runner.hpp"
#include "actiond/models/models.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"
#include "io/http_server.hpp"
#include "runtime/camera_dir_watcher.hpp"
#include "runtime/clip_service.hpp"
#include "runtime/daemon_impl.hpp"
#include "runtime/model_files.hpp"
#include "runtime/model_set.hpp"

#include <mutex>
#include <set>
#include <thread>

namespace actiond::daemon {

namespace {

spdlog::logger& logger() { return config::module_log("daemon"); }

// Daemon-level settings that only a restart applies.
std::vector<std::string> restart_only_changes(const config::DaemonConfig& a, const config::DaemonConfig& b) {
  std::vector<std::string> out;
  if (!(a.publish == b.publish)) out.push_back("publish");
  if (a.control_endpoint != b.control_endpoint || a.control_allow_reload != b.control_allow_reload) {
    out.push_back("control");
  }
  if (!(a.journal == b.journal)) out.push_back("journal");
  if (!(a.sinks == b.sinks)) out.push_back("sinks");
  if (!(a.inference == b.inference)) out.push_back("inference");
  if (!(a.security == b.security)) out.push_back("security");
  return out;
}

}  // namespace

nlohmann::json ReloadResult::to_json() const {
  nlohmann::json j = {{"ok", ok}};
  if (!ok) {
    j["error"] = error;
    return j;
  }
  j["added"] = added;
  j["removed"] = removed;
  j["changed"] = changed;
  j["unchanged"] = unchanged;
  j["restart_required"] = restart_required;
  if (!model.empty()) j["model"] = model;
  return j;
}

void check_config(const config::Config& config) {
  check_uris(config);
  models::set_threads(config.daemon.inference.intra_op_threads, config.daemon.inference.inter_op_threads);
  load_models(config);
}

Daemon::Daemon(std::shared_ptr<const config::Config> config) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(config);
  // First: the HTTP server, the sinks and the cluster hooks, started below, reach it from their threads.
  Impl* impl = impl_.get();
  impl_->supervisor = std::make_unique<detail::Supervisor>(64, [impl] { impl->publish_view(); });
  ModelSet set = impl_->load_first_models();
  impl_->publish_view();  // the sinks' threads read the labels from their start
  impl_->open_journal();
  impl_->check_security();
  impl_->build_loop(std::move(set));
  impl_->build_sinks();
  impl_->build_cluster();
  impl_->build_control(*this);
  impl_->build_http(*this);
}

Health Daemon::health() const {
  Health h;
  const auto view = impl_->view();
  const double loop_age = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                         impl_->loop->last_iteration()).count();
  // The loop iterates every ~20 ms; a model call can take a while, but not this long.
  h.loop_alive = !view->started || loop_age < 10.0;
  h.healthy = h.loop_alive && view->started;
  h.detail = {{"loop_alive", h.loop_alive}, {"loop_age_s", loop_age}, {"running", view->started}};
  nlohmann::json cams = nlohmann::json::object();
  const auto snap = impl_->loop->snapshot();
  for (const auto& cam : view->cfg->cameras) {
    using pipeline::StreamState;
    const auto it = snap.find(cam.id);
    const StreamState state = it != snap.end() ? it->second.state : StreamState::starting;
    // Reconnecting is the configured backoff; a camera that gives up becomes failed.
    const bool ok = state == StreamState::running || state == StreamState::starting || state == StreamState::blocked ||
                    state == StreamState::eos || state == StreamState::reconnecting;
    cams[cam.id] = {{"state", pipeline::to_string(state)}, {"healthy", ok}};
    ++h.cameras;
    h.running += state == StreamState::running ? 1 : 0;
    h.healthy = h.healthy && ok;
  }
  h.detail["cameras"] = cams;
  h.detail["status"] = h.healthy ? "ok" : "unhealthy";
  return h;
}

int Daemon::metrics_port() const { return impl_->http ? impl_->http->port() : 0; }

Daemon::~Daemon() { stop(); }

const std::string& Daemon::publish_endpoint() const { return impl_->publisher->endpoint(); }
const std::string& Daemon::control_endpoint() const { return impl_->control->endpoint(); }

void Daemon::start() {
  impl_->supervisor->call([this] { impl_->apply_start(); });
  // The cluster manager is driven from this (the owner's) thread; its hooks are supervisor commands.
  if (impl_->cluster) impl_->cluster->start();
  logger().info("actiond running: {} camera(s), events on {}", impl_->view()->cfg->cameras.size(), publish_endpoint());
}

namespace {
template <typename F>
ReloadResult run_change(detail::Supervisor& sup, const char* what, F change) {
  try {
    return sup.call(std::move(change));
  } catch (const detail::SupervisorClosed& e) {
    ReloadResult refused;
    refused.error = std::string(what) + ": " + e.what();
    return refused;
  }
}
}  // namespace

ReloadResult Daemon::reload() {
  return run_change(*impl_->supervisor, "reload", [this] { return impl_->apply_reload(); });
}

ReloadResult Daemon::promote(const std::string& model, const std::filesystem::path& candidate) {
  return run_change(*impl_->supervisor, "promote", [&] { return impl_->apply_model_change(model, candidate); });
}

ReloadResult Daemon::rollback(const std::string& model) {
  return run_change(*impl_->supervisor, "rollback", [&] { return impl_->apply_model_change(model, {}); });
}

void Daemon::stop(config::EndReason reason) {
  if (!impl_ || !impl_->view()->started) return;
  // File events stop first; then the cluster hands its cameras back (through supervisor commands).
  impl_->supervisor->call([this] { impl_->watcher.reset(); });
  if (impl_->cluster) impl_->cluster->stop();
  impl_->supervisor->call([this, reason] { impl_->apply_stop(reason); });
  logger().info("actiond stopped ({})", config::to_string(reason));
}

void Daemon::Impl::apply_start() {
  if (started) return;
  started = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(cfg->daemon.publish.startup_grace_ms));
  loop->start();
  for (const auto& cam : cfg->cameras) start_from_journal(cam);
  const auto cam_dir = cfg->dir / "cameras";
  if (cfg->daemon.reload_watch && std::filesystem::is_directory(cam_dir)) {
    detail::Supervisor* sup = supervisor.get();
    watcher = std::make_unique<detail::CameraDirWatcher>(
        cam_dir, std::chrono::milliseconds(cfg->daemon.reload_debounce_ms), [this, sup] {
          logger().info("reload: files in cameras/ changed");
          sup->post([this] { apply_reload(); });  // the watcher never waits for the supervisor
        });
  }
}

void Daemon::Impl::start_from_journal(const config::CameraConfig& cam) {
  // seq and epoch continue where this camera's journal left off; a segment it left open is ended.
  if (!journal) {
    start_camera(cam, InferenceLoop::Numbering{});
    return;
  }
  const Journal::Tail tail = Journal::tail(journal->config().dir, cam.id);
  auto unfinished = unfinished_of(cam.id, tail.open_segment_event, tail.pts, tail.time, config::EndReason::restart);
  start_camera(cam, InferenceLoop::Numbering{tail.last.seq, tail.last.epoch}, std::move(unfinished));
}

ReloadResult Daemon::Impl::apply_reload() {
  ReloadResult result;
  if (!started) {
    result.error = "reload: the daemon is not running";
    return result;
  }
  const config::Config& old = *cfg;
  std::shared_ptr<const config::Config> next;
  std::set<std::string> starting;  // added or changed camera ids
  std::map<std::string, std::vector<std::string>> stamps;  // their model files' fingerprints
  ModelSet fresh;
  try {
    next = config::load_config(old.dir, old.options);
    check_uris(*next);
    for (const auto& cam : next->cameras) {
      const auto* before = old.find_camera(cam.id);
      stamps[cam.id] = model_stamps_of(*next, cam);  // before loading: a file replaced meanwhile reloads again
      if (before == nullptr) {
        result.added.push_back(cam.id);
      } else if (!(*before == cam) || model_paths(old, *before) != model_paths(*next, cam) ||
                 model_stamps[cam.id] != stamps[cam.id]) {  // a model file replaced in place
        result.changed.push_back(cam.id);
      } else {
        result.unchanged.push_back(cam.id);
        continue;
      }
      starting.insert(cam.id);
    }
    fresh = load_models(*next, &starting);
  } catch (const std::exception& e) {
    ++reloads_rejected;
    result.error = e.what();
    logger().error("reload rejected, the running configuration stays in force: {}", e.what());
    return result;
  }
  for (const auto& cam : old.cameras) {
    if (next->find_camera(cam.id) == nullptr) result.removed.push_back(cam.id);
  }
  result.restart_required = restart_only_changes(old.daemon, next->daemon);
  for (const auto& key : result.restart_required) {
    logger().warn("reload: actiond.json /{} changed; it takes effect at the next restart", key);
  }
  // Stop removed and changed cameras (their open segments end "reconfigured"), keeping their numbering.
  std::map<std::string, InferenceLoop::Numbering> numbering;
  for (const auto* ids : {&result.removed, &result.changed}) {
    for (const auto& id : *ids) {
      if (running.count(id) != 0) numbering[id] = stop_camera(id, config::EndReason::reconfigured);
    }
  }
  for (const auto& id : result.removed) {
    labels.erase(id);
    model_stamps.erase(id);
  }
  std::set<std::string> replaced;  // model files replaced in place (a promote): the loop swaps them
  for (const auto& cam : next->cameras) {
    const auto before = model_stamps.find(cam.id);
    if (starting.count(cam.id) == 0 || before == model_stamps.end() || old.find_camera(cam.id) == nullptr) continue;
    const auto paths = model_paths(*next, cam);
    if (paths != model_paths(old, *old.find_camera(cam.id))) continue;
    for (std::size_t k = 0; k < paths.size(); ++k) {
      if (before->second.at(k) != stamps[cam.id].at(k)) replaced.insert(paths[k]);
    }
  }
  for (const auto& cam : next->cameras) {
    if (starting.count(cam.id) == 0) continue;
    inputs[cam.id] = input_spec(fresh, cam);
    model_failures.erase(cam.id);
    model_stamps[cam.id] = stamps[cam.id];
    set_labels(cam, fresh);  // discovery follows the camera's new model
  }
  publish_view();  // the sinks below read the new labels
  for (const auto& id : starting) {
    for (const auto& sink : sinks) sink->labels_changed(id);
  }
  loop->adopt_models(std::move(fresh), std::move(replaced));
  for (const auto& cam : next->cameras) {
    if (starting.count(cam.id) == 0) continue;
    auto it = numbering.find(cam.id);
    if (it != numbering.end()) {
      start_camera(cam, it->second);
    } else {
      start_from_journal(cam);  // an added camera may have run before a restart
    }
  }
  cfg = next;
  for (const auto& id : result.removed) metrics.forget_camera(id);
  ++reloads;
  result.ok = true;
  logger().info("reload: {} added, {} removed, {} changed, {} unchanged", result.added.size(), result.removed.size(),
               result.changed.size(), result.unchanged.size());
  return result;
}

void Daemon::Impl::apply_stop(config::EndReason reason) {
  if (!started) return;
  started = false;
  for (auto& [id, r] : running) {
    if (r.source) r.source->stop();  // intake stops first
    if (r.record) r.record->stop();
  }
  running.clear();
  loop->stop(reason);  // ends open segments, emits their events
  if (!publisher->flush(std::chrono::seconds(5))) logger().warn("publisher: not drained after 5 s");
  // Connected sinks get a moment to deliver the last events (up to the journal's head now, not a
  // backlog figure the sink may not have refreshed yet); the rest go after the next start.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto delivered_all = [&](const SinkStatus& st) {
    for (const auto& [camera, next] : st.cursors) {
      const auto head = journal ? journal->head(camera) : std::nullopt;
      if (head && next <= *head) return false;
    }
    return true;
  };
  for (const auto& sink : sinks) {
    while (std::chrono::steady_clock::now() < until) {
      const SinkStatus st = sink->status();
      if (!st.connected || delivered_all(st)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace actiond::daemon
