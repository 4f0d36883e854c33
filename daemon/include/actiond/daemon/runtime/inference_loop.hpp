#pragma once
// InferenceLoop: the single thread that owns the models and every camera's analysis state.
//
//   FrameHub --(frames, batched across cameras)--> backbone --> per-camera FeatureRing
//       --> segmenter over the ring's latest window --> SegmentTracker --> EventFactory --> Publisher
//       --> recognizer (optional) over the ring's latest clip, every interval --> `recognition` events
//   pose cameras: pose model (batched across cameras) --> PersonTracker (track.start / track.end)
//       --> per person: pose features --> its own ring, segmenter window (one batched call for all
//       persons of all cameras sharing the segmenter), SegmentTracker --> events with `subject`
//
// Other threads never touch that state: they post commands (add/remove a camera, a status change)
// which the loop applies between batches. End-of-stream and error markers travel in order with the
// frames through the hub, so a camera's last frames are decided before its segment is closed.
//
// Thread-safety: all public methods may be called from any thread (they post to the loop).
#include "actiond/config/config.hpp"
#include "actiond/daemon/analysis/events.hpp"
#include "actiond/daemon/io/metrics.hpp"
#include "actiond/daemon/io/publisher.hpp"
#include "actiond/models/feature_ring.hpp"
#include "actiond/models/models.hpp"
#include "actiond/pipeline/frame_hub.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace actiond::daemon {

// Models by name, as declared in actiond.json. Moved into the loop, which then owns them.
struct ModelSet {
  std::map<std::string, std::unique_ptr<models::Backbone>> backbones;
  std::map<std::string, std::unique_ptr<models::Segmenter>> segmenters;
  std::map<std::string, std::unique_ptr<models::Recognizer>> recognizers;
  std::map<std::string, std::unique_ptr<models::PoseModel>> poses;
};

struct LoopCounters {
  std::uint64_t frames = 0;
  std::uint64_t batches = 0;
  std::uint64_t inference_errors = 0;
  std::uint64_t frames_skipped = 0;  // fell out of the segmenter window before being decided
  std::uint64_t events = 0;
};

struct PersonTrack;

class InferenceLoop {
 public:
  // `heartbeat_s` > 0: each camera emits a heartbeat event when it has been quiet that long.
  // `metrics` (optional) must outlive the loop.
  InferenceLoop(const config::InferenceConfig& cfg, pipeline::FrameHub& hub, Publisher& publisher, ModelSet models,
                double heartbeat_s = 0.0, Metrics* metrics = nullptr);
  // Steady-clock time of the loop's latest iteration (it iterates at least every ~20 ms unless stuck).
  std::chrono::steady_clock::time_point last_iteration() const;
  ~InferenceLoop();
  InferenceLoop(const InferenceLoop&) = delete;
  InferenceLoop& operator=(const InferenceLoop&) = delete;

  void start();
  // Stops after closing every camera's open segment with `reason`. Idempotent.
  void stop(config::EndReason reason);

  struct Numbering {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
  };
  // A segment an earlier run of the daemon published and never ended (it was killed with the
  // segment open): its latest segment.start/update event, and the camera's last journaled event.
  struct Unfinished {
    SegmentView segment;                // as its latest segment.start/update carried it
    pipeline::ClockSource clock = pipeline::ClockSource::arrival;  // that event's clock
    FramePoint last;                    // the camera's last journaled event
    config::EndReason reason = config::EndReason::restart;  // source_lost when its host died (cluster failover)
  };
  // Registers a camera; returns once the loop has applied it. Its models must be in the ModelSet.
  // `from` continues the camera's numbering (from its journal or its previous run). With
  // `unfinished`, the camera's first event ends that segment (`end_reason: "restart"`). With
  // `takeover` ("failover", "handoff": cluster mode), the first event is a stream.status with it as reason.
  void add_camera(pipeline::CameraHandle handle, const config::CameraConfig& camera, Numbering from,
                  std::optional<Unfinished> unfinished, const std::string& takeover = "");
  // Registers a camera whose models could not be loaded: it publishes one stream.status `failed`
  // with `reason` and nothing else (the other cameras run).
  void add_failed_camera(pipeline::CameraHandle handle, const config::CameraConfig& camera, Numbering from,
                         const std::string& reason);
  // Closes the camera's open segment with `reason` and forgets it; returns once applied, with the
  // camera's last seq and epoch (so a restarted camera continues them).
  Numbering remove_camera(pipeline::CameraHandle handle, config::EndReason reason);
  // Adds models loaded elsewhere (for cameras added by a reload). An entry whose name is already
  // loaded from the same file is kept (cameras hold it) unless that file is in `replaced` (it was
  // replaced in place: a promote); one from another file, or a replaced one, takes the slot, which
  // is safe because every camera using that name has been removed first.
  void adopt_models(ModelSet models, std::set<std::string> replaced = {});
  // Shadow mode: `candidate` (a segmenter reading the camera's features) runs beside the camera's
  // segmenter on the same frames (pose cameras: on each person's features, per person), with its own
  // trackers and numbering; its events (with "shadow":
  // true) go out on "<camera>/shadow.<type>" and are never journaled, so no sink, index or cluster
  // log sees them. Null stops it (its open segment ends "reconfigured"). Returns once applied: ""
  // or why not (no such camera; no segmenter; features of another dimension).
  std::string set_shadow(const std::string& camera, std::shared_ptr<models::Segmenter> candidate);
  // Publishes a stream.status event for the camera (ordered after events already emitted).
  void post_status(pipeline::CameraHandle handle, const pipeline::StreamStatus& status);
  // Publishes a clip.ready event (`fields`: clip, snapshot) for the camera with id `camera` (dropped if it is gone).
  void post_clip_ready(const std::string& camera, const std::string& segment_id, nlohmann::json fields, double pts);
  // Called on the loop thread with every event emitted; must not block. Set before start().
  using EventObserver = std::function<void(const Event&)>;
  void observe(EventObserver observer) { observer_ = std::move(observer); }
  // Called on the loop thread with every shadow event (camera id, the event as published); must
  // not block. Set before start().
  using ShadowObserver = std::function<void(const std::string&, const nlohmann::json&)>;
  void observe_shadow(ShadowObserver observer) { shadow_observer_ = std::move(observer); }

  LoopCounters counters() const;
  // Per camera id, as of its last event (any thread).
  struct CameraSummary {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    pipeline::StreamState state = pipeline::StreamState::starting;
    std::string reason;
    std::optional<SegmentView> open_segment;  // the camera's (whole-frame) open segment
    std::optional<std::size_t> tracks;        // pose cameras: confirmed person tracks
  };
  using Snapshot = std::map<std::string, CameraSummary>;
  Snapshot snapshot() const;
  // {camera: {"seq", "epoch", "state", "reason", "open_segment", "tracks"}}: the control socket's and API's shape.
  static nlohmann::json to_json(const Snapshot& snapshot);

 private:
  struct Camera;
  struct Subject;
  using Touched = std::set<std::pair<Camera*, Subject*>>;
  void run();
  void run_commands();
  void post(std::function<void()> fn, bool wait);
  void process(std::vector<pipeline::SourceItem>& items);
  void analyse_frames(std::vector<pipeline::SourceItem*>& frames);
  void analyse_poses(models::PoseModel& model, const std::vector<pipeline::SourceItem*>& group, Touched& touched);
  void track_people(Camera& cam, const pipeline::Frame& frame, const std::vector<models::PoseDetection>& found,
                    Touched& touched);
  void coast_people(Camera& cam);  // a frame the gate skipped
  void end_scene(Camera& cam, Touched& touched);  // a scene cut: every segment and track ends
  // Every segment and track of a pose camera ends with `reason`; its people leave `touched`.
  void end_people(Camera& cam, Touched& touched, config::EndReason reason);
  // One segmenter step: a subject's latest window, the frames it may decide now, the output applied.
  struct Decision {
    Camera* cam = nullptr;
    Subject* subj = nullptr;
    std::vector<float> feats;
    std::vector<models::FeatureMeta> meta;
    std::uint64_t start = 0;  // ring index of meta[0]
    std::uint64_t upto = 0;   // last ring index decided by this step
  };
  std::optional<Decision> prepare(Camera& cam, Subject& subj, bool final);
  void apply(Decision& d, const models::SegmenterOutput& out);
  void decide(Camera& cam, Subject& subj, bool final);
  void decide_batched(const Touched& subjects);  // one segmenter call per model for full windows
  void frame_analysed(Camera& cam, const pipeline::Frame& frame);
  void store_features(Subject& subj, const pipeline::Frame& frame, const float* feature);
  void recognize(Camera& cam, Subject& subj);
  void close_subject(Camera& cam, Subject& subj, config::EndReason end_reason);
  void close_segment(Camera& cam, config::EndReason end_reason);  // every subject; tracks end too
  void fail_subject(Camera& cam, Subject& subj);  // its segmenter failed: its segment ends (error)
  void emit_for(Camera& cam, const Subject& subj, Event event);  // adds `subject` for persons
  void on_status(Camera& cam, const pipeline::StreamStatus& status);
  void stop_camera(Camera& cam, config::EndReason reason);
  void emit_status(Camera& cam, const pipeline::StreamStatus& status);
  void emit(Camera& cam, const Event& event);
  void shadow_step(Camera& cam, const pipeline::Frame& frame, const float* feature);  // loop_shadow.cpp
  void emit_shadow(Camera& cam, const Event& event);
  Subject* shadow_person(Camera& cam, const PersonTrack& track);  // the person's shadow subject, or null
  void end_shadow_person(Camera& cam, std::uint64_t track_id);    // their shadow segment ends track_lost
  // A batch threw something no stage caught: its cameras' segments and tracks end with `error`.
  void recover(const std::vector<pipeline::SourceItem>& items, const char* what);
  void count_inference_error(const char* stage, const std::string& what);
  void heartbeats();

  config::InferenceConfig cfg_;
  double heartbeat_s_;
  pipeline::FrameHub& hub_;
  Publisher& publisher_;
  Metrics* metrics_;
  EventObserver observer_;
  ShadowObserver shadow_observer_;
  std::atomic<std::int64_t> last_iteration_ns_{0};
  ModelSet models_;
  std::map<pipeline::CameraHandle, std::unique_ptr<Camera>> cameras_;  // loop thread only

  std::mutex cmd_mu_;
  std::vector<std::function<void()>> commands_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex summary_mu_;
  Snapshot summary_;
  mutable std::mutex counters_mu_;
  LoopCounters counters_;
};

}  // namespace actiond::daemon
