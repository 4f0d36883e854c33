#pragma once
// Private: the Daemon's state (daemon.cpp: construction, start, reload, stop; daemon_parts.cpp:
// starting one camera, the metrics page). Who may touch what is noted per member.
#include "actiond/daemon/runtime/daemon.hpp"

#include "actiond/daemon/api/api.hpp"
#include "actiond/daemon/api/event_index.hpp"
#include "actiond/daemon/cluster/cluster_manager.hpp"
#include "actiond/daemon/io/control_server.hpp"
#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/io/metrics.hpp"
#include "actiond/daemon/io/publisher.hpp"
#include "actiond/daemon/runtime/inference_loop.hpp"
#include "actiond/daemon/sinks/sink_runner.hpp"
#include "actiond/pipeline/frame_hub.hpp"
#include "actiond/pipeline/clips/record_source.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"
#include "io/http_server.hpp"
#include "runtime/camera_dir_watcher.hpp"
#include "runtime/clip_service.hpp"
#include "runtime/model_set.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace actiond::daemon {

// A segment a journal (or the cluster log) left open, read from its latest segment event (JSON, as
// journaled), to be ended with `reason` at the camera's last event; nullopt when there is none or it
// cannot be read (logged).
std::optional<InferenceLoop::Unfinished> unfinished_of(const std::string& camera, const nlohmann::json& open_event,
                                                       double last_pts, const std::string& last_time,
                                                       config::EndReason reason);

struct Daemon::Impl {
  struct Running {
    pipeline::CameraHandle handle = 0;
    std::unique_ptr<pipeline::CameraSource> source;  // null if it could not be built
    std::unique_ptr<pipeline::RecordSource> record;  // clips.record_uri: the main stream, recorded only
  };
  std::shared_ptr<const config::Config> cfg;
  pipeline::FrameHub hub;
  RetentionFloors floors;            // what the sinks still need; outlives the journal
  std::unique_ptr<Journal> journal;  // used by the publisher thread; outlives the publisher
  std::unique_ptr<Publisher> publisher;
  // Camera id -> its segmenter's labels (no background), for the sinks' Home Assistant discovery:
  // written at start and by reload (set_labels), read by the sink threads (labels_of).
  std::map<std::string, std::vector<std::string>> labels;
  mutable std::mutex labels_mu;
  void set_labels(const config::CameraConfig& cam, const ModelSet& models);
  std::vector<std::string> labels_of(const std::string& camera) const;
  std::vector<std::unique_ptr<SinkRunner>> sinks;          // stopped before the journal goes
  std::unique_ptr<InferenceLoop> loop;
  std::unique_ptr<detail::ClipService> clips;  // posts clip.ready to the loop: goes before it
  std::map<std::string, Running> running;  // by camera id; changed under reload_mu and running_mu
  mutable std::mutex running_mu;            // lets /metrics read `running` while a reload may change it
  pipeline::CameraHandle next_handle = 1;
  std::unique_ptr<ControlServer> control;
  std::unique_ptr<detail::CameraDirWatcher> watcher;
  Metrics metrics;                            // outlives the loop and the HTTP server
  std::unique_ptr<EventIndex> index;          // the API's index of the journal; outlives the API
  std::string index_error;                    // why there is no index (journal dir not writable)
  std::unique_ptr<Api> api;                   // outlives the HTTP server, whose handlers use it
  std::unique_ptr<detail::HttpServer> http;
  ~Impl() {
    if (api) api->stop();  // live streams end, so the server's workers can be joined
    http.reset();
  }
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::map<std::string, InputSpec> inputs;               // camera id -> model input
  std::map<std::string, std::string> model_failures;     // camera id -> why its models did not load
  std::mutex reload_mu;  // one reload (or start/stop) at a time
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint64_t> reloads_rejected{0};
  mutable std::mutex cfg_mu;  // guards `cfg` for readers outside reload (health)
  nlohmann::json sinks_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& sink : sinks) out.push_back(sink->status().to_json());
    return out;
  }
  std::shared_ptr<const config::Config> current() const {
    std::lock_guard lock(cfg_mu);
    return cfg;
  }
  std::atomic<bool> started{false};  // written under reload_mu; read by health() from the HTTP thread

  std::string render_metrics();  // GET /metrics (an HTTP worker thread)
  // Construction steps (daemon_build.cpp), in the order the constructor runs them.
  ModelSet load_first_models();  // every camera's models; throws when none loads
  void open_journal();           // and the API's index of it
  void check_security() const;   // the CURVE key is valid
  void build_loop(ModelSet set); // publisher, inference loop, clip service
  void build_sinks();
  void build_cluster();
  void build_control(Daemon& self);
  void build_http(Daemon& self);  // /metrics, /healthz, the API and the page
  void start_camera(const config::CameraConfig& cam, InferenceLoop::Numbering from,
                    std::optional<InferenceLoop::Unfinished> unfinished = std::nullopt, const std::string& takeover = "");
  // Stops a running camera (its open segments end with `reason`); its numbering, to continue from.
  InferenceLoop::Numbering stop_camera(const std::string& id, config::EndReason reason);
  // Cluster mode: loads the camera's models and starts it where the cluster log left it.
  void start_cluster_camera(const config::CameraConfig& cam, const cluster::LogState& from);
  std::unique_ptr<cluster::ClusterManager> cluster;  // cluster mode; stopped before the loop
};

}  // namespace actiond::daemon
