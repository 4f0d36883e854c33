// The Daemon's construction, one named step per part (Daemon::Daemon runs them in order).
#include "actiond/config/log.hpp"
#include "actiond/config/version.hpp"
#include "actiond/daemon/api/api.hpp"
#include "actiond/daemon/api/event_index.hpp"
#include "actiond/daemon/io/control_server.hpp"
#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/sinks/sink_runner.hpp"
#include "actiond/daemon/teach/commands.hpp"
#include "actiond/models/models.hpp"
#include "io/http_server.hpp"
#include "runtime/clip_service.hpp"
#include "runtime/daemon_impl.hpp"
#include "runtime/model_set.hpp"

#include <zmq.h>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("daemon"); }

// actiond-train: as configured, else the one beside this actiond (the build tree keeps it a folder
// up), else whatever PATH finds.
std::string train_command(const config::TeachSettings& teach) {
  if (!teach.train_command.empty()) return teach.train_command;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const auto& dir : {exe.parent_path(), exe.parent_path().parent_path()}) {
    if (!ec && std::filesystem::exists(dir / "actiond-train")) return (dir / "actiond-train").string();
  }
  return "actiond-train";
}
}  // namespace

ModelSet Daemon::Impl::load_first_models() {
  const config::Config& c = *cfg;
  check_uris(c);
  models::set_threads(c.daemon.inference.intra_op_threads, c.daemon.inference.inter_op_threads);
  for (const auto& cam : c.cameras) model_stamps[cam.id] = model_stamps_of(c, cam);
  // A camera whose models fail is reported and left out; the daemon refuses to start only when none loads.
  ModelSet set = load_models(c, nullptr, &model_failures);
  if (!c.cameras.empty() && model_failures.size() == c.cameras.size()) {
    throw models::ModelError(model_failures.at(c.cameras.front().id));
  }
  for (const auto& [id, message] : model_failures) logger().error("camera {}: not started: {}", id, message);
  for (const auto& cam : c.cameras) inputs[cam.id] = input_spec(set, cam);
  for (const auto& cam : c.cameras) set_labels(cam, set);
  return set;
}

void Daemon::Impl::open_journal() {
  const config::Config& c = *cfg;
  if (c.daemon.journal.enabled) {
    JournalConfig jc;
    jc.dir = c.daemon.journal.dir;
    jc.fsync = c.daemon.journal.fsync;
    jc.max_file_bytes = static_cast<std::uint64_t>(c.daemon.journal.max_file_mb) << 20;
    jc.max_files = c.daemon.journal.max_files;
    jc.sink_backlog_max_bytes = static_cast<std::uint64_t>(c.daemon.journal.sink_backlog_max_mb) << 20;
    jc.floors = c.daemon.sinks.empty() ? nullptr : &floors;
    journal = std::make_unique<Journal>(jc);
    if (c.daemon.metrics_enabled && c.daemon.api.enabled) {
      try {  // the API without its index still serves cameras, clips and the page
        index = std::make_unique<EventIndex>(EventIndex::Options{jc.dir, jc.dir / ".index.sqlite3"});
      } catch (const std::exception& e) {
        index_error = e.what();
        logger().error("HTTP API: no event index ({}): /api/events and /api/segments answer 503", e.what());
      }
    }
  }
}

void Daemon::Impl::check_security() const {
  const config::Config& c = *cfg;
  if (c.daemon.security.enabled()) {
    char pub[41] = {};
    if (zmq_curve_public(pub, c.daemon.security.curve_secret_key.c_str()) != 0) {
      throw config::ConfigError("actiond.json: /security/curve_secret_key_file: not a valid CURVE secret key");
    }
    logger().info("CURVE on both sockets; server public key {} ({} allowed client key(s){})", pub,
                 c.daemon.security.allowed_clients.size(),
                 c.daemon.security.allowed_clients.empty() ? ": any client knowing the server key" : "");
  }
}

void Daemon::Impl::build_loop(ModelSet set) {
  const config::Config& c = *cfg;
  publisher = std::make_unique<Publisher>(c.daemon.publish, journal.get(), c.daemon.security);
  loop = std::make_unique<InferenceLoop>(c.daemon.inference, hub, *publisher, std::move(set),
                                                c.daemon.publish.heartbeat_s, &metrics);
    clips = std::make_unique<detail::ClipService>(
      c.daemon.clips, [this](const std::string& camera, const std::string& segment, nlohmann::json clip, double pts) {
        loop->post_clip_ready(camera, segment, std::move(clip), pts);
      });
  loop->observe([this](const Event& ev) { clips->notify(ev); });
  loop->observe_shadow([this](const std::string& camera, const nlohmann::json& event) { shadow_feed.push(camera, event); });
}

void Daemon::Impl::build_sinks() {
  const config::Config& c = *cfg;
  for (const auto& sc : c.daemon.sinks) {
    auto labels_of_camera = [this](const std::string& camera) { return labels_of(camera); };
    auto head = [this](const std::string& camera) { return journal->head(camera); };
    sinks.push_back(std::make_unique<SinkRunner>(sc, c.daemon.journal.dir, make_sink_client(sc, labels_of_camera),
                                                        &floors, head));
    logger().info("sink {} ({}): delivering from the journal", sc.name, config::to_string(sc.type));
  }
}

void Daemon::Impl::build_cluster() {
  const config::Config& c = *cfg;
  if (c.daemon.cluster.enabled) {
    cluster::ClusterHooks hooks;
    // Called on the manager's thread: the supervisor runs them (supervisor is set before start()).
    hooks.start = [this](const config::CameraConfig& cam, const cluster::LogState& from) {
      supervisor->call([&] { start_cluster_camera(cam, from); });
    };
    hooks.stop = [this](const std::string& id, config::EndReason reason) {
      return supervisor->call([&] { return stop_camera(id, reason).seq; });
    };
    cluster = std::make_unique<cluster::ClusterManager>(c.daemon, c.dir, std::move(hooks));
    cluster::ClusterLog* log = &cluster->log();
    publisher->set_tap([log](const std::string& camera, std::uint64_t seq, const std::string& body) {
      log->push(camera, seq, body);
    });
  }
}

void Daemon::Impl::build_control(Daemon& self) {
  const config::Config& c = *cfg;
  workspace = std::make_unique<teach::Workspace>(
      teach::WorkspacePaths{c.daemon.teach.dir, c.daemon.teach.media_dir, c.daemon.clips.dir});
  jobs = std::make_unique<teach::TrainJobs>(c.daemon.teach.dir / "candidates", train_command(c.daemon.teach));
  ControlContext ctx;
  ctx.snapshot = [this] { return InferenceLoop::to_json(loop->snapshot()); };
  ctx.status = [this] {
    const auto n = loop->counters();
    return nlohmann::json{
        {"daemon", {{"version", kVersion},
                    {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count()},
                    {"publish_endpoint", publisher->endpoint()},
                    {"events_sent", publisher->sent()},
                    {"events_dropped_queue_full", publisher->dropped_queue_full()},
                    {"slow_subscriber_stalls", publisher->slow_subscriber_stalls()},
                    {"subscriptions", publisher->subscriptions()},
                    {"journal_failures", journal ? journal->failures() : 0},
                    {"journal_sink_losses", journal ? journal->sink_losses() : 0},
                    {"frames_analysed", n.frames},
                    {"inference_errors", n.inference_errors}}},
        {"cameras", InferenceLoop::to_json(loop->snapshot())},
        {"sinks", sinks_json()},
        {"cluster", cluster ? cluster->status() : nlohmann::json(nullptr)}};
  };
  if (journal) ctx.journal_dir = journal->config().dir;
  ctx.security = c.daemon.security;
  ctx.models = [&self] { return self.models(); };
  ctx.teach = [this, &self](const nlohmann::json& req) {
    const teach::TeachContext tc{workspace.get(), jobs.get(), [this] { return InferenceLoop::to_json(loop->snapshot()); },
                                 [&self] { return self.models(); }};
    return teach::handle_teach_command(tc, req);
  };
  if (c.daemon.control_allow_reload) {
    ctx.reload = [&self] { return self.reload().to_json(); };
    ctx.promote = [&self](const std::string& model, const std::string& candidate) {
      return self.promote(model, candidate).to_json();
    };
    ctx.rollback = [&self](const std::string& model) { return self.rollback(model).to_json(); };
    ctx.shadow = [&self](const std::string& camera, const std::string& candidate) {
      return self.shadow(camera, candidate);
    };
  }
  control = std::make_unique<ControlServer>(c.daemon.control_endpoint, std::move(ctx));
}

void Daemon::Impl::build_http(Daemon& self) {
  const config::Config& c = *cfg;
  if (c.daemon.metrics_enabled) {
    if (c.daemon.api.enabled) {
      ApiOptions ao;
      ao.index = index.get();
      ao.index_error = index_error;
      ao.cameras = [this] { return InferenceLoop::to_json(loop->snapshot()); };
      ao.token = c.daemon.api.token;
      ao.read_token = c.daemon.api.read_token;
      ao.max_streams = c.daemon.api.max_streams;
      ao.web = c.daemon.api.web;
      ao.clips_dir = c.daemon.clips.dir;
      ao.models = [&self] { return self.models(); };
      // A relative candidate is a file of the model directory.
      const auto model_dir = c.daemon.model_dir;
      ao.promote = [&self, model_dir](const std::string& model, const std::string& candidate) {
        const std::filesystem::path path(candidate);
        return self.promote(model, path.is_absolute() ? path : model_dir / path).to_json();
      };
      ao.rollback = [&self](const std::string& model) { return self.rollback(model).to_json(); };
      ao.shadow = [&self, model_dir](const std::string& camera, const std::string& candidate) {
        const std::filesystem::path path(candidate);
        return self.shadow(camera, candidate.empty() || path.is_absolute() ? path : model_dir / path);
      };
      ao.shadow_feed = &shadow_feed;
      ao.workspace = workspace.get();
      ao.jobs = jobs.get();
      api = std::make_unique<Api>(std::move(ao));
    }
    Api* served = api.get();
    http = std::make_unique<detail::HttpServer>(
        c.daemon.metrics_host, c.daemon.metrics_port,
        [this] { return detail::HttpReply{200, render_metrics()}; },
        [&self] {
          const Health h = self.health();
          return detail::HttpReply{h.healthy ? 200 : 503, h.detail.dump(2) + "\n", "application/json"};
        },
        [served](httplib::Server& server) {
          if (served != nullptr) served->install(server);
        },
        served != nullptr ? served->threads() : 2);
  }
}

}  // namespace actiond::daemon
