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
#include "runtime/model_set.hpp"



#include <mutex>
#include <set>
#include <thread>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("daemon"); }
}  // namespace


namespace {

// The model files a camera uses: part of what makes a camera "changed" on reload.
std::vector<std::string> model_paths(const config::Config& cfg, const config::CameraConfig& cam) {
  std::vector<std::string> out;
  for (const auto* name : {&cam.models.backbone, &cam.models.pose, &cam.models.segmenter, &cam.models.recognizer}) {
    if (!name->empty()) out.push_back(cfg.daemon.models.at(*name).path.string());
  }
  return out;
}

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
  return j;
}





void check_config(const config::Config& config) {
  check_uris(config);
  models::set_threads(config.daemon.inference.intra_op_threads, config.daemon.inference.inter_op_threads);
  load_models(config);
}

Daemon::Daemon(std::shared_ptr<const config::Config> config) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(config);
  ModelSet set = impl_->load_first_models();
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
  const double loop_age = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                         impl_->loop->last_iteration()).count();
  // The loop iterates every ~20 ms; a model call can take a while, but not this long.
  h.loop_alive = !impl_->started || loop_age < 10.0;
  h.healthy = h.loop_alive && impl_->started;
  h.detail = {{"loop_alive", h.loop_alive}, {"loop_age_s", loop_age}, {"running", impl_->started.load()}};
  nlohmann::json cams = nlohmann::json::object();
  const auto snap = impl_->loop->snapshot();
  const auto cfg = impl_->current();
  for (const auto& cam : cfg->cameras) {
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
  if (impl_->started) return;
  impl_->started = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(impl_->cfg->daemon.publish.startup_grace_ms));
  impl_->loop->start();
  std::lock_guard lock(impl_->reload_mu);
  for (const auto& cam : impl_->cfg->cameras) start_from_journal(cam);
  const auto cam_dir = impl_->cfg->dir / "cameras";
  if (impl_->cfg->daemon.reload_watch && std::filesystem::is_directory(cam_dir)) {
    Daemon* self = this;
    impl_->watcher = std::make_unique<detail::CameraDirWatcher>(
        cam_dir, std::chrono::milliseconds(impl_->cfg->daemon.reload_debounce_ms), [self] {
          logger().info("reload: files in cameras/ changed");
          self->reload();
        });
  }
  if (impl_->cluster) impl_->cluster->start();
  logger().info("actiond running: {} camera(s), events on {}", impl_->cfg->cameras.size(), publish_endpoint());
}

void Daemon::start_from_journal(const config::CameraConfig& cam) {
  // seq and epoch continue where this camera's journal left off; a segment it left open is ended.
  if (!impl_->journal) {
    impl_->start_camera(cam, InferenceLoop::Numbering{});
    return;
  }
  const Journal::Tail tail = Journal::tail(impl_->journal->config().dir, cam.id);
  auto unfinished = unfinished_of(cam.id, tail.open_segment_event, tail.pts, tail.time, config::EndReason::restart);
  impl_->start_camera(cam, InferenceLoop::Numbering{tail.last.seq, tail.last.epoch}, std::move(unfinished));
}

ReloadResult Daemon::reload() {
  std::lock_guard lock(impl_->reload_mu);
  ReloadResult result;
  if (!impl_->started) {
    result.error = "reload: the daemon is not running";
    return result;
  }
  const config::Config& old = *impl_->cfg;
  std::shared_ptr<const config::Config> next;
  std::set<std::string> starting;  // added or changed camera ids
  ModelSet fresh;
  try {
    next = config::load_config(old.dir, old.options);
    check_uris(*next);
    for (const auto& cam : next->cameras) {
      const auto* before = old.find_camera(cam.id);
      if (before == nullptr) {
        result.added.push_back(cam.id);
      } else if (!(*before == cam) || model_paths(old, *before) != model_paths(*next, cam)) {
        result.changed.push_back(cam.id);
      } else {
        result.unchanged.push_back(cam.id);
        continue;
      }
      starting.insert(cam.id);
    }
    fresh = load_models(*next, &starting);
  } catch (const std::exception& e) {
    ++impl_->reloads_rejected;
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
      if (impl_->running.count(id) != 0) numbering[id] = impl_->stop_camera(id, config::EndReason::reconfigured);
    }
  }
  for (const auto& cam : next->cameras) {
    if (starting.count(cam.id) == 0) continue;
    impl_->inputs[cam.id] = input_spec(fresh, cam);
    impl_->model_failures.erase(cam.id);
    impl_->set_labels(cam, fresh);  // discovery follows the camera's new model
    for (const auto& sink : impl_->sinks) sink->labels_changed(cam.id);
  }
  impl_->loop->adopt_models(std::move(fresh));
  for (const auto& cam : next->cameras) {
    if (starting.count(cam.id) == 0) continue;
    auto it = numbering.find(cam.id);
    if (it != numbering.end()) {
      impl_->start_camera(cam, it->second);
    } else {
      start_from_journal(cam);  // an added camera may have run before a restart
    }
  }
  {
    std::lock_guard cfg_lock(impl_->cfg_mu);
    impl_->cfg = next;
  }
  for (const auto& id : result.removed) impl_->metrics.forget_camera(id);
  ++impl_->reloads;
  result.ok = true;
  logger().info("reload: {} added, {} removed, {} changed, {} unchanged", result.added.size(), result.removed.size(),
               result.changed.size(), result.unchanged.size());
  return result;
}

void Daemon::stop(config::EndReason reason) {
  if (!impl_ || !impl_->started) return;
  impl_->watcher.reset();
  if (impl_->cluster) impl_->cluster->stop();  // hands its cameras back first (it takes reload_mu)
  std::lock_guard lock(impl_->reload_mu);
  impl_->started = false;
  for (auto& [id, r] : impl_->running) {
    if (r.source) r.source->stop();  // intake stops first
    if (r.record) r.record->stop();
  }
  {
    std::lock_guard running_lock(impl_->running_mu);
    impl_->running.clear();
  }
  impl_->loop->stop(reason);                  // ends open segments, emits their events
  if (!impl_->publisher->flush(std::chrono::seconds(5))) logger().warn("publisher: not drained after 5 s");
  // Connected sinks get a moment to deliver the last events (up to the journal's head now, not a
  // backlog figure the sink may not have refreshed yet); the rest go after the next start.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto delivered_all = [&](const SinkStatus& st) {
    for (const auto& [camera, next] : st.cursors) {
      const auto head = impl_->journal ? impl_->journal->head(camera) : std::nullopt;
      if (head && next <= *head) return false;
    }
    return true;
  };
  for (const auto& sink : impl_->sinks) {
    while (std::chrono::steady_clock::now() < until) {
      const SinkStatus st = sink->status();
      if (!st.connected || delivered_all(st)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  logger().info("actiond stopped ({})", config::to_string(reason));
}

}  // namespace actiond::daemon
