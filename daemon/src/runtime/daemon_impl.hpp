#pragma once
// Private: the Daemon's parts and state (daemon.cpp: start, reload, stop; daemon_build.cpp: construction;
// daemon_parts.cpp: starting one camera, the metrics page).
//
// Ownership: the parts built by the constructor (hub, journal, publisher, loop, sinks, clips, control,
// HTTP, API, cluster) are fixed after construction and thread-safe as their headers say. What changes
// (the configuration, the running cameras, their models' inputs and labels, `started`) belongs to the
// supervisor thread: only commands run by `supervisor` touch it. Other threads (health, /metrics, the
// sinks' discovery) read `view()`, an immutable copy published after every command.
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
#include "runtime/supervisor.hpp"

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

// The model files a camera uses (actiond.json /models paths) and their fingerprints now.
std::vector<std::string> model_paths(const config::Config& cfg, const config::CameraConfig& cam);
std::vector<std::string> model_stamps_of(const config::Config& cfg, const config::CameraConfig& cam);

// What readers on other threads see of the supervised state: an immutable copy.
struct DaemonView {
  struct Camera {
    pipeline::CameraHandle handle = 0;
    std::shared_ptr<const pipeline::CameraSource> source;  // null if it could not be built
  };
  std::shared_ptr<const config::Config> cfg;
  bool started = false;
  std::map<std::string, Camera> cameras;  // running, by id
  // Camera id -> its segmenter's labels (no background), for the sinks' Home Assistant discovery.
  std::map<std::string, std::vector<std::string>> labels;
  std::uint64_t reloads = 0, reloads_rejected = 0;
};

struct Daemon::Impl {
  struct Running {
    pipeline::CameraHandle handle = 0;
    std::shared_ptr<pipeline::CameraSource> source;  // null if it could not be built; stopped when removed
    std::unique_ptr<pipeline::RecordSource> record;  // clips.record_uri: the main stream, recorded only
  };
  // ---- Parts: built by the constructor, fixed afterwards.
  pipeline::FrameHub hub;
  RetentionFloors floors;            // what the sinks still need; outlives the journal
  ShadowFeed shadow_feed;            // the loop's shadow events, for the API; outlives both
  std::unique_ptr<teach::Workspace> workspace;  // the label page's recordings and datasets; outlives the API
  std::unique_ptr<teach::TrainJobs> jobs;       // training jobs; outlives the API (its end kills a running job)
  std::unique_ptr<Journal> journal;  // used by the publisher thread; outlives the publisher
  std::unique_ptr<Publisher> publisher;
  std::vector<std::unique_ptr<SinkRunner>> sinks;          // stopped before the journal goes
  std::unique_ptr<InferenceLoop> loop;
  std::unique_ptr<detail::ClipService> clips;  // posts clip.ready to the loop: goes before it
  std::unique_ptr<ControlServer> control;
  Metrics metrics;                            // outlives the loop and the HTTP server
  std::unique_ptr<EventIndex> index;          // the API's index of the journal; outlives the API
  std::string index_error;                    // why there is no index (journal dir not writable)
  std::unique_ptr<Api> api;                   // outlives the HTTP server, whose handlers use it
  std::unique_ptr<detail::HttpServer> http;
  std::unique_ptr<cluster::ClusterManager> cluster;  // cluster mode; stopped before the loop
  const std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();

  // ---- Supervised state: the constructor, then supervisor commands only.
  std::shared_ptr<const config::Config> cfg;
  bool started = false;
  std::map<std::string, Running> running;                  // by camera id
  pipeline::CameraHandle next_handle = 1;
  std::map<std::string, InputSpec> inputs;                 // camera id -> model input
  std::map<std::string, std::string> model_failures;       // camera id -> why its models did not load
  std::map<std::string, std::vector<std::string>> labels;  // see DaemonView::labels
  std::map<std::string, std::vector<std::string>> model_stamps;  // camera id -> its model files' fingerprints
  std::uint64_t reloads = 0, reloads_rejected = 0;
  std::unique_ptr<detail::CameraDirWatcher> watcher;       // posts reloads to the supervisor

  // ---- The view: published by the supervisor after each command, read by anyone.
  std::shared_ptr<const DaemonView> view() const {
    std::lock_guard lock(view_mu);
    return view_;
  }
  void publish_view();  // supervisor thread (and the constructor)
  mutable std::mutex view_mu;  // guards the pointer only
  std::shared_ptr<const DaemonView> view_;

  // Declared last: its thread ends (running what was queued) before the state above goes.
  std::unique_ptr<detail::Supervisor> supervisor;

  ~Impl() {
    if (api) api->stop();  // live streams end, so the server's workers can be joined
    http.reset();          // no more health or metrics readers
    control.reset();       // no more reloads from the control socket
    if (supervisor) supervisor->close();
  }

  nlohmann::json sinks_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& sink : sinks) out.push_back(sink->status().to_json());
    return out;
  }
  std::vector<std::string> labels_of(const std::string& camera) const;  // any thread (the view)
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

  // Commands (daemon.cpp, daemon_parts.cpp): supervisor thread only.
  void apply_start();
  ReloadResult apply_reload();
  // promote (candidate given) or roll back (empty) actiond.json /models/`model`, then reload.
  ReloadResult apply_model_change(const std::string& model, const std::filesystem::path& candidate);
  void apply_stop(config::EndReason reason);
  void set_labels(const config::CameraConfig& cam, const ModelSet& models);
  void start_from_journal(const config::CameraConfig& cam);
  void start_camera(const config::CameraConfig& cam, InferenceLoop::Numbering from,
                    std::optional<InferenceLoop::Unfinished> unfinished = std::nullopt, const std::string& takeover = "");
  // Stops a running camera (its open segments end with `reason`); its numbering, to continue from.
  InferenceLoop::Numbering stop_camera(const std::string& id, config::EndReason reason);
  // Cluster mode: loads the camera's models and starts it where the cluster log left it.
  void start_cluster_camera(const config::CameraConfig& cam, const cluster::LogState& from);
};

}  // namespace actiond::daemon
