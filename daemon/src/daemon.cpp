#include "actiond/daemon/daemon.hpp"

#include "actiond/daemon/control_server.hpp"
#include "actiond/daemon/inference_loop.hpp"
#include "actiond/daemon/journal.hpp"
#include "actiond/daemon/publisher.hpp"
#include "actiond/models/models.hpp"
#include "actiond/pipeline/camera_source.hpp"
#include "actiond/pipeline/source_uri.hpp"

#include <spdlog/spdlog.h>

#include <zmq.h>

#include <thread>

namespace actiond::daemon {

namespace {

void check_uris(const config::Config& cfg) {
  for (const auto& cam : cfg.cameras) {
    try {
      pipeline::parse_source_uri(cam.uri);
    } catch (const pipeline::UriError& e) {
      throw config::ConfigError(cam.file + ": /uri: " + e.what());
    }
  }
}

// Loads the model `entry` into `loaded` unless it is there already; returns it.
template <typename Model>
Model& load_once(std::map<std::string, std::unique_ptr<Model>>& loaded, const config::ModelEntry& entry,
                 const char* role) {
  auto& slot = loaded[entry.name];
  if (!slot) {
    slot = Model::load(entry.path);
    spdlog::info("model {}: {} {} v{} ({})", entry.name, role, slot->manifest().name, slot->manifest().version,
                 entry.path.string());
  }
  return *slot;
}

// Loads every model the cameras use, once each, and checks each camera's models fit together.
ModelSet load_models(const config::Config& cfg) {
  ModelSet set;
  for (const auto& cam : cfg.cameras) {
    try {
      const auto& bb_entry = cfg.daemon.models.at(cam.models.backbone);
      const auto& seg_entry = cfg.daemon.models.at(cam.models.segmenter);
      const auto& bb = load_once(set.backbones, bb_entry, "backbone");
      const auto& seg = load_once(set.segmenters, seg_entry, "segmenter");
      models::check_compatible(bb.manifest(), bb_entry.path, seg.manifest(), seg_entry.path);
      if (!cam.models.recognizer.empty()) {
        const auto& rec_entry = cfg.daemon.models.at(cam.models.recognizer);
        const auto& rec = load_once(set.recognizers, rec_entry, "recognizer");
        models::check_compatible(bb.manifest(), bb_entry.path, rec.manifest(), rec_entry.path,
                                 models::ModelKind::recognizer);
      }
    } catch (const models::ModelError& e) {
      throw models::ModelError(cam.file + ": /models: " + e.what());
    }
  }
  return set;
}

}  // namespace

struct Daemon::Impl {
  std::shared_ptr<const config::Config> cfg;
  pipeline::FrameHub hub;
  std::unique_ptr<Journal> journal;  // used by the publisher thread; outlives the publisher
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<InferenceLoop> loop;
  std::vector<std::unique_ptr<pipeline::CameraSource>> sources;
  std::unique_ptr<ControlServer> control;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::map<std::string, std::pair<int, int>> input_sizes;  // camera id -> backbone input
  bool started = false;
};

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
  ModelSet set = load_models(cfg);
  for (const auto& cam : cfg.cameras) {
    const auto& m = set.backbones.at(cam.models.backbone)->manifest();
    impl_->input_sizes[cam.id] = {m.input_width, m.input_height};
  }
  if (cfg.daemon.journal.enabled) {
    JournalConfig jc;
    jc.dir = cfg.daemon.journal.dir;
    jc.fsync = cfg.daemon.journal.fsync;
    jc.max_file_bytes = static_cast<std::uint64_t>(cfg.daemon.journal.max_file_mb) << 20;
    jc.max_files = cfg.daemon.journal.max_files;
    impl_->journal = std::make_unique<Journal>(jc);
  }
  if (cfg.daemon.security.enabled()) {
    char pub[41] = {};
    if (zmq_curve_public(pub, cfg.daemon.security.curve_secret_key.c_str()) != 0) {
      throw config::ConfigError("actiond.json: /security/curve_secret_key_file: not a valid CURVE secret key");
    }
    spdlog::info("CURVE on both sockets; server public key {} ({} allowed client key(s){})", pub,
                 cfg.daemon.security.allowed_clients.size(),
                 cfg.daemon.security.allowed_clients.empty() ? ": any client knowing the server key" : "");
  }
  impl_->publisher = std::make_unique<Publisher>(cfg.daemon.publish, impl_->journal.get(), cfg.daemon.security);
  impl_->loop = std::make_unique<InferenceLoop>(cfg.daemon.inference, impl_->hub, *impl_->publisher, std::move(set),
                                                cfg.daemon.publish.heartbeat_s);
  ControlContext control;
  Impl* impl = impl_.get();
  control.snapshot = [impl] { return impl->loop->snapshot(); };
  control.status = [impl] {
    const auto c = impl->loop->counters();
    return nlohmann::json{
        {"daemon", {{"version", "0.1.0"},
                    {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - impl->started_at).count()},
                    {"publish_endpoint", impl->publisher->endpoint()},
                    {"events_sent", impl->publisher->sent()},
                    {"events_dropped_queue_full", impl->publisher->dropped_queue_full()},
                    {"slow_subscriber_stalls", impl->publisher->slow_subscriber_stalls()},
                    {"subscriptions", impl->publisher->subscriptions()},
                    {"journal_failures", impl->journal ? impl->journal->failures() : 0},
                    {"frames_analysed", c.frames},
                    {"inference_errors", c.inference_errors}}},
        {"cameras", impl->loop->snapshot()}};
  };
  if (impl_->journal) control.journal_dir = impl_->journal->config().dir;
  control.security = cfg.daemon.security;
  impl_->control = std::make_unique<ControlServer>(cfg.daemon.control_endpoint, std::move(control));
}

Daemon::~Daemon() { stop(); }

const std::string& Daemon::publish_endpoint() const { return impl_->publisher->endpoint(); }
const std::string& Daemon::control_endpoint() const { return impl_->control->endpoint(); }

void Daemon::start() {
  if (impl_->started) return;
  impl_->started = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(impl_->cfg->daemon.publish.startup_grace_ms));
  impl_->loop->start();
  pipeline::CameraHandle next = 1;
  for (const auto& cam : impl_->cfg->cameras) {
    const pipeline::CameraHandle handle = next++;
    pipeline::SourceOptions opt;
    opt.handle = handle;
    opt.camera = cam;
    opt.width = impl_->input_sizes.at(cam.id).first;
    opt.height = impl_->input_sizes.at(cam.id).second;
    // seq and epoch continue where this camera's journal left off.
    const Journal::Last last = impl_->journal ? Journal::last(impl_->journal->config().dir, cam.id) : Journal::Last{};
    opt.last_epoch = last.epoch;
    impl_->loop->add_camera(handle, cam, last.seq, last.epoch);
    try {
      auto source = std::make_unique<pipeline::CameraSource>(opt, impl_->hub);
      source->start();
      impl_->sources.push_back(std::move(source));
    } catch (const std::exception& e) {
      // One camera that cannot even be built never stops the others.
      spdlog::error("camera {}: cannot start: {}", cam.id, e.what());
      pipeline::StreamStatus st;
      st.state = "failed";
      st.reason = e.what();
      impl_->loop->post_status(handle, st);
    }
  }
  spdlog::info("actiond running: {} camera(s), events on {}", impl_->cfg->cameras.size(), publish_endpoint());
}

void Daemon::stop(const std::string& reason) {
  if (!impl_ || !impl_->started) return;
  impl_->started = false;
  for (auto& s : impl_->sources) s->stop();  // intake stops first
  impl_->sources.clear();
  impl_->loop->stop(reason);                  // ends open segments, emits their events
  if (!impl_->publisher->flush(std::chrono::seconds(5))) spdlog::warn("publisher: not drained after 5 s");
  spdlog::info("actiond stopped ({})", reason);
}

}  // namespace actiond::daemon
