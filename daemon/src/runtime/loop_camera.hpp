#pragma once
// Private to the inference loop: one camera's analysis state. A camera decides segments for one or
// more subjects: the whole frame (backbone and features:// cameras), or each tracked person (pose
// cameras), each with its own ring, segment tracker and update cadence.
//
// Thread-safety: owned and touched only by the inference loop thread.
#include "actiond/daemon/analysis/events.hpp"
#include "actiond/daemon/analysis/motion_gate.hpp"
#include "actiond/daemon/analysis/person_analysis.hpp"
#include "actiond/daemon/analysis/segment_tracker.hpp"
#include "actiond/daemon/runtime/inference_loop.hpp"
#include "actiond/models/feature_ring.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <random>

namespace actiond::daemon {

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

inline SegmentTracker::IdGenerator make_segment_ids(const std::string& camera) {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng, camera] {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>((*rng)()));
    return camera + "-" + buf;
  };
}

// One stream of decisions: the camera's whole frame, or one tracked person.
struct InferenceLoop::Subject {
  Subject(const config::CameraConfig& c, models::Segmenter* seg, models::Recognizer* rec, std::uint64_t track)
      : segmenter(seg),
        recognizer(rec),
        ring(std::max<std::size_t>({static_cast<std::size_t>(seg->manifest().window) * 2,
                                    rec ? static_cast<std::size_t>(rec->manifest().window) : 0, 64}),
             static_cast<std::size_t>(seg->manifest().feature_dim)),
        tracker(config::with_model_defaults(c.tracker, seg->manifest().decoding), seg->manifest().background, 1.0 / c.fps,
                make_segment_ids(c.id)),
        track_id(track) {}

  models::Segmenter* segmenter;
  models::Recognizer* recognizer;  // optional (whole-frame subjects only)
  models::FeatureRing ring;
  SegmentTracker tracker;
  std::uint64_t next_decide = 0;  // ring index of the next frame to decide
  std::optional<double> last_update_pts;  // stream time of the open segment's last update
  std::string updated_segment;            // id of the segment those updates are about
  std::optional<double> last_recognition_pts;
  bool streaming = false;                 // features stored since the last close
  std::uint64_t track_id = 0;             // 0: the whole frame
  bool shadow = false;                    // a candidate model tried beside the camera's (never journaled)
  PersonTrack person;                     // person subjects: the track's latest state
  // Person subjects: their recent poses by stream time (bounded like the ring), for the pose at a
  // segment's peak (snapshots draw it).
  std::deque<std::pair<double, models::PoseDetection>> poses;
  void remember_pose(double pts, const models::PoseDetection& pose) {
    poses.emplace_back(pts, pose);
    while (poses.size() > ring.capacity()) poses.pop_front();
  }
};

struct InferenceLoop::Camera {
  pipeline::CameraHandle handle;
  config::CameraConfig config;
  models::Backbone* backbone = nullptr;
  models::PoseModel* pose = nullptr;
  models::Segmenter* segmenter = nullptr;    // null: a pose camera that only tracks (or a failed camera)
  models::Recognizer* recognizer = nullptr;
  std::unique_ptr<Subject> frame_subject;    // backbone / features:// cameras
  std::unique_ptr<PersonAnalysis> persons;   // pose cameras: tracks, follow crop, features
  std::unique_ptr<MotionGate> gate;          // pose cameras: which frames run the model
  std::unique_ptr<SceneCut> cuts;            // pose cameras: a cut of the picture ends every track
  std::map<std::uint64_t, std::unique_ptr<Subject>> people;  // pose cameras with a segmenter, by track id
  EventFactory events;
  // Shadow mode: a candidate segmenter on the same features (the frame's, or each person's), its own
  // trackers and numbering; its events go to "<camera>/shadow.<type>" only.
  std::shared_ptr<models::Segmenter> shadow_model;
  std::unique_ptr<Subject> shadow;                                  // whole-frame cameras
  std::map<std::uint64_t, std::unique_ptr<Subject>> shadow_people;  // pose cameras, by track id
  std::unique_ptr<EventFactory> shadow_events;
  std::uint64_t skipped = 0;      // frames that left a window before being decided
  std::uint64_t queue_full = 0;   // FrameHub drops, as last seen
  double last_pts = 0.0;          // stream time of the latest analysed frame
  std::chrono::steady_clock::time_point last_event = std::chrono::steady_clock::now();
  std::deque<std::chrono::steady_clock::time_point> analysed;  // recent analysis times (fps_processed)
  pipeline::StreamStatus last_status;

  Camera(pipeline::CameraHandle h, const config::CameraConfig& c, models::Backbone* bb, models::PoseModel* pm,
         models::Segmenter* seg, models::Recognizer* rec, std::uint64_t last_seq, std::uint64_t last_epoch)
      : handle(h),
        config(c),
        backbone(bb),
        pose(pm),
        segmenter(seg),
        recognizer(rec),
        events(c.id, seg ? seg->manifest().labels : std::vector<std::string>{}, last_seq, last_epoch,
               models_json({bb ? &bb->manifest() : nullptr, pm ? &pm->manifest() : nullptr,
                            seg ? &seg->manifest() : nullptr, rec ? &rec->manifest() : nullptr})) {
    if (pm != nullptr) {
      persons = std::make_unique<PersonAnalysis>(c.persons);
      gate = std::make_unique<MotionGate>(c.persons.gate, h);  // phase: cameras skip different frames
      cuts = std::make_unique<SceneCut>(c.persons.scene_cut);
    } else if (seg != nullptr) {
      frame_subject = std::make_unique<Subject>(c, seg, rec, 0);
    }
  }

  // No subject decides its last frames when it closes next (after a failure).
  void stop_streaming() {
    if (frame_subject) frame_subject->streaming = false;
    if (shadow) shadow->streaming = false;
    for (auto& [id, s] : people) s->streaming = false;
    for (auto& [id, s] : shadow_people) s->streaming = false;
  }
  // Forgets the analysis state (rings, trackers, tracks) without events: the last resort when even
  // ending the camera's segments failed.
  void reset_analysis() {
    people.clear();
    shadow_people.clear();
    if (persons) {
      persons = std::make_unique<PersonAnalysis>(config.persons);
      gate->reset();
    }
    if (frame_subject) frame_subject = std::make_unique<Subject>(config, segmenter, recognizer, 0);
    if (shadow) {
      shadow = std::make_unique<Subject>(config, shadow_model.get(), nullptr, 0);
      shadow->shadow = true;
    }
  }
  // The factory that numbers a subject's events: the camera's, or the shadow's own.
  EventFactory& factory_of(const Subject& subj) { return subj.shadow ? *shadow_events : events; }

  double fps_processed() const {
    if (analysed.size() < 2) return 0.0;
    const double span = std::chrono::duration<double>(analysed.back() - analysed.front()).count();
    return span > 0 ? static_cast<double>(analysed.size() - 1) / span : 0.0;
  }
  void note_analysed(double pts) {
    last_pts = pts;
    analysed.push_back(std::chrono::steady_clock::now());
    while (analysed.size() > 2 && analysed.back() - analysed.front() > std::chrono::seconds(3)) analysed.pop_front();
  }
  // The open segment the camera's snapshot shows: the frame's, or the first person's.
  std::optional<SegmentInfo> open_segment() const {
    if (frame_subject) return frame_subject->tracker.open_segment();
    for (const auto& [id, s] : people) {
      if (auto open = s->tracker.open_segment()) return open;
    }
    return std::nullopt;
  }

  static nlohmann::json models_json(std::initializer_list<const models::Manifest*> manifests) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto* m : manifests) {
      if (m != nullptr) out.push_back({{"name", m->name}, {"version", m->version}, {"sha256", m->file_sha256}});
    }
    return out;
  }
};

}  // namespace actiond::daemon
