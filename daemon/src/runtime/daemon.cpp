#include "actiond/daemon/runtime/daemon.hpp"

#include "actiond/config/log.hpp"
#include "actiond/config/version.hpp"

#include "actiond/daemon/api/api.hpp"
#include "actiond/daemon/api/event_index.hpp"
#include "actiond/daemon/io/control_server.hpp"
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

#include <zmq.h>


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
  const auto& cfg = *impl_->cfg;
  check_uris(cfg);
  models::set_threads(cfg.daemon.inference.intra_op_threads, cfg.daemon.inference.inter_op_threads);
  // A camera whose models fail is reported and left out; the daemon refuses to start only when none loads.
  ModelSet set = load_models(cfg, nullptr, &impl_->model_failures);
  if (!cfg.cameras.empty() && impl_->model_failures.size() == cfg.cameras.size()) {
    throw models::ModelError(impl_->model_failures.at(cfg.cameras.front().id));
  }
  for (const auto& [id, message] : impl_->model_failures) logger().error("camera {}: not started: {}", id, message);
  for (const auto& cam : cfg.cameras) impl_->inputs[cam.id] = input_spec(set, cam);
  if (cfg.daemon.journal.enabled) {
    JournalConfig jc;
    jc.dir = cfg.daemon.journal.dir;
    jc.fsync = cfg.daemon.journal.fsync;
    jc.max_file_bytes = static_cast<std::uint64_t>(cfg.daemon.journal.max_file_mb) << 20;
    jc.max_files = cfg.daemon.journal.max_files;
    jc.sink_backlog_max_bytes = static_cast<std::uint64_t>(cfg.daemon.journal.sink_backlog_max_mb) << 20;
    jc.floors = cfg.daemon.sinks.empty() ? nullptr : &impl_->floors;
    impl_->journal = std::make_unique<Journal>(jc);
    if (cfg.daemon.metrics_enabled && cfg.daemon.api.enabled) {
      try {  // the API without its index still serves cameras, clips and the page
        impl_->index = std::make_unique<EventIndex>(EventIndex::Options{jc.dir, jc.dir / ".index.sqlite3"});
      } catch (const std::exception& e) {
        impl_->index_error = e.what();
        logger().error("HTTP API: no event index ({}): /api/events and /api/segments answer 503", e.what());
      }
    }
  }
  for (const auto& cam : cfg.cameras) impl_->set_labels(cam, set);
  if (cfg.daemon.security.enabled()) {
    char pub[41] = {};
    if (zmq_curve_public(pub, cfg.daemon.security.curve_secret_key.c_str()) != 0) {
      throw config::ConfigError("actiond.json: /security/curve_secret_key_file: not a valid CURVE secret key");
    }
    logger().info("CURVE on both sockets; server public key {} ({} allowed client key(s){})", pub,
                 cfg.daemon.security.allowed_clients.size(),
                 cfg.daemon.security.allowed_clients.empty() ? ": any client knowing the server key" : "");
  }
  impl_->publisher = std::make_unique<Publisher>(cfg.daemon.publish, impl_->journal.get(), cfg.daemon.security);
  impl_->loop = std::make_unique<InferenceLoop>(cfg.daemon.inference, impl_->hub, *impl_->publisher, std::move(set),
                                                cfg.daemon.publish.heartbeat_s, &impl_->metrics);
  Impl* impl = impl_.get();
  impl_->clips = std::make_unique<detail::ClipService>(
      cfg.daemon.clips, [impl](const std::string& camera, const std::string& segment, nlohmann::json clip, double pts) {
        impl->loop->post_clip_ready(camera, segment, std::move(clip), pts);
      });
  impl_->loop->observe([impl](const Event& ev) { impl->clips->notify(ev); });
  for (const auto& sc : cfg.daemon.sinks) {
    auto labels = [impl](const std::string& camera) { return impl->labels_of(camera); };
    auto head = [impl](const std::string& camera) { return impl->journal->head(camera); };
    impl_->sinks.push_back(std::make_unique<SinkRunner>(sc, cfg.daemon.journal.dir, make_sink_client(sc, labels),
                                                        &impl_->floors, head));
    logger().info("sink {} ({}): delivering from the journal", sc.name, config::to_string(sc.type));
  }
  if (cfg.daemon.cluster.enabled) {
    cluster::ClusterHooks hooks;
    hooks.start = [impl](const config::CameraConfig& cam, const cluster::LogState& from) {
      std::lock_guard lock(impl->reload_mu);
      impl->start_cluster_camera(cam, from);
    };
    hooks.stop = [impl](const std::string& id, config::EndReason reason) {
      std::lock_guard lock(impl->reload_mu);
      return impl->stop_camera(id, reason).seq;
    };
    impl_->cluster = std::make_unique<cluster::ClusterManager>(cfg.daemon, cfg.dir, std::move(hooks));
    cluster::ClusterLog* log = &impl_->cluster->log();
    impl_->publisher->set_tap([log](const std::string& camera, std::uint64_t seq, const std::string& body) {
      log->push(camera, seq, body);
    });
  }
  ControlContext control;
  control.snapshot = [impl] { return InferenceLoop::to_json(impl->loop->snapshot()); };
  control.status = [impl] {
    const auto c = impl->loop->counters();
    return nlohmann::json{
        {"daemon", {{"version", kVersion},
                    {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - impl->started_at).count()},
                    {"publish_endpoint", impl->publisher->endpoint()},
                    {"events_sent", impl->publisher->sent()},
                    {"events_dropped_queue_full", impl->publisher->dropped_queue_full()},
                    {"slow_subscriber_stalls", impl->publisher->slow_subscriber_stalls()},
                    {"subscriptions", impl->publisher->subscriptions()},
                    {"journal_failures", impl->journal ? impl->journal->failures() : 0},
                    {"journal_sink_losses", impl->journal ? impl->journal->sink_losses() : 0},
                    {"frames_analysed", c.frames},
                    {"inference_errors", c.inference_errors}}},
        {"cameras", InferenceLoop::to_json(impl->loop->snapshot())},
        {"sinks", impl->sinks_json()},
        {"cluster", impl->cluster ? impl->cluster->status() : nlohmann::json(nullptr)}};
  };
  if (impl_->journal) control.journal_dir = impl_->journal->config().dir;
  control.security = cfg.daemon.security;
  if (cfg.daemon.control_allow_reload) {
    Daemon* self = this;
    control.reload = [self] { return self->reload().to_json(); };
  }
  impl_->control = std::make_unique<ControlServer>(cfg.daemon.control_endpoint, std::move(control));
  if (cfg.daemon.metrics_enabled) {
    if (cfg.daemon.api.enabled) {
      ApiOptions ao;
      ao.index = impl_->index.get();
      ao.index_error = impl_->index_error;
      ao.cameras = [impl] { return InferenceLoop::to_json(impl->loop->snapshot()); };
      ao.token = cfg.daemon.api.token;
      ao.max_streams = cfg.daemon.api.max_streams;
      ao.web = cfg.daemon.api.web;
      ao.clips_dir = cfg.daemon.clips.dir;
      impl_->api = std::make_unique<Api>(std::move(ao));
    }
    Api* api = impl_->api.get();
    impl_->http = std::make_unique<detail::HttpServer>(
        cfg.daemon.metrics_host, cfg.daemon.metrics_port,
        [impl] { return detail::HttpReply{200, impl->render_metrics()}; },
        [this] {
          const Health h = health();
          return detail::HttpReply{h.healthy ? 200 : 503, h.detail.dump(2) + "\n", "application/json"};
        },
        [api](httplib::Server& server) {
          if (api != nullptr) api->install(server);
        },
        api != nullptr ? api->threads() : 2);
  }
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
