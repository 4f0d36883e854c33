#pragma once
// Private to the inference loop: one camera's analysis state (ring, tracker, event numbering, rates).
//
// Thread-safety: owned and touched only by the inference loop thread.
#include "actiond/daemon/analysis/events.hpp"
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

struct InferenceLoop::Camera {
  pipeline::CameraHandle handle;
  config::CameraConfig config;
  models::Backbone* backbone;
  models::Segmenter* segmenter;
  models::Recognizer* recognizer;  // optional
  models::FeatureRing ring;
  SegmentTracker tracker;
  EventFactory events;
  std::uint64_t next_decide = 0;  // ring index of the next frame to decide
  std::uint64_t skipped = 0;      // frames that left the window before being decided
  std::uint64_t queue_full = 0;   // FrameHub drops, as last seen
  std::optional<double> last_update_pts;  // stream time of the open segment's last update
  std::string updated_segment;            // id of the segment those updates are about
  std::optional<double> last_recognition_pts;  // stream time of the last recognition
  std::chrono::steady_clock::time_point last_event = std::chrono::steady_clock::now();
  bool streaming = false;         // frames seen since the last end of stream
  std::deque<std::chrono::steady_clock::time_point> analysed;  // recent analysis times (fps_processed)
  pipeline::StreamStatus last_status;

  double fps_processed() const {
    if (analysed.size() < 2) return 0.0;
    const double span = std::chrono::duration<double>(analysed.back() - analysed.front()).count();
    return span > 0 ? static_cast<double>(analysed.size() - 1) / span : 0.0;
  }
  void note_analysed() {
    analysed.push_back(std::chrono::steady_clock::now());
    while (analysed.size() > 2 && analysed.back() - analysed.front() > std::chrono::seconds(3)) analysed.pop_front();
  }

  Camera(pipeline::CameraHandle h, const config::CameraConfig& c, models::Backbone* bb, models::Segmenter* seg,
         models::Recognizer* rec, std::uint64_t last_seq, std::uint64_t last_epoch)
      : handle(h),
        config(c),
        backbone(bb),
        segmenter(seg),
        recognizer(rec),
        ring(std::max<std::size_t>({static_cast<std::size_t>(seg->manifest().window) * 2,
                                    rec ? static_cast<std::size_t>(rec->manifest().window) : 0, 64}),
             static_cast<std::size_t>(seg->manifest().feature_dim)),
        tracker(c.tracker, seg->manifest().background, 1.0 / c.fps, make_ids(c.id)),
        events(c.id, seg->manifest().labels, last_seq, last_epoch, models_json(bb, seg, rec)) {}

  static nlohmann::json models_json(const models::Backbone* bb, const models::Segmenter* seg,
                                    const models::Recognizer* rec) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto* m : {bb ? &bb->manifest() : nullptr, &seg->manifest(), rec ? &rec->manifest() : nullptr}) {
      if (m != nullptr) out.push_back({{"name", m->name}, {"version", m->version}, {"sha256", m->file_sha256}});
    }
    return out;
  }

  static SegmentTracker::IdGenerator make_ids(const std::string& camera) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [rng, camera] {
      char buf[17];
      std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>((*rng)()));
      return camera + "-" + buf;
    };
  }
};

}  // namespace actiond::daemon
