#pragma once
// Private: ClipService writes an MP4 clip of [start - pre_s, end + post_s] for every segment of a
// camera with clips enabled, and keeps the clip folder within its disk bound.
//   - The inference loop's observer hands it each camera's segment.start (the camera's packet ring
//     is pinned from start - pre_s on) and segment.end (a job). A job is written once the ring holds
//     end + post_s, or post_s + 5 s after the end arrived, or at once when the camera is removed or
//     the segment ended because its stream did (eos, source_lost, shutdown, ...):
//     <dir>/<camera>/<segment id>.mp4 and, decoded from it, a JPEG of the segment's most confident
//     frame (<segment id>.jpg), then clip.ready is published through `ready`. Cameras recording
//     another stream (clips.record_uri) have a ring keyed by wall clock: the segment's frame times
//     (`time`) select the packets, and the clip's times are given back in the camera's pts.
//   - After each clip and every 30 s the oldest clips go while the folder exceeds max_total_mb or a
//     clip is older than max_age_h (counted).
// Queue of notices: bounded (1024); when full the newest is dropped and counted (that segment gets no clip).
//
// Thread-safety: notify() from the loop thread (never blocks); add_camera()/remove_camera()/counters()
// from any thread; the worker thread owns the jobs and the folder.
#include "actiond/config/config.hpp"
#include "actiond/daemon/analysis/events.hpp"
#include "actiond/pipeline/clips/clip_recorder.hpp"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace actiond::daemon::detail {

class ClipService {
 public:
  // `clip`: the clip.ready fields (clip, snapshot).
  using Ready = std::function<void(const std::string& camera, const std::string& segment_id, nlohmann::json clip, double pts)>;
  ClipService(config::ClipStoreSettings settings, Ready ready);
  ~ClipService();  // writes nothing more; pending jobs are dropped (counted)
  ClipService(const ClipService&) = delete;
  ClipService& operator=(const ClipService&) = delete;

  void add_camera(const std::string& id, std::shared_ptr<pipeline::ClipRecorder> recorder, const config::ClipConfig& cfg);
  void remove_camera(const std::string& id);
  void notify(const Event& event);  // takes segment.start and segment.end

  struct Counters {
    std::uint64_t written = 0;
    std::uint64_t failed = 0;
    std::uint64_t dropped = 0;    // notices the full queue refused, and jobs left at shutdown
    std::uint64_t deleted = 0;    // clips removed by the disk bound
    std::uint64_t bytes_on_disk = 0;
    std::uint64_t ring_bytes = 0; // memory held by the cameras' packet rings now
  };
  Counters counters() const;
  const config::ClipStoreSettings& settings() const { return settings_; }

 private:
  struct Camera {
    std::shared_ptr<pipeline::ClipRecorder> recorder;
    config::ClipConfig cfg;
    bool removed = false;
  };
  struct Job {
    std::string camera;
    std::string segment;
    double from = 0.0;
    double to = 0.0;
    std::optional<std::pair<double, double>> peak;  // pts, confidence: the snapshot
    std::optional<pipeline::SnapshotOverlay> pose;  // pose cameras: drawn on the snapshot
    double wall_offset = 0.0;  // record_uri cameras: the ring's times are wall clock = pts + offset
    std::chrono::steady_clock::time_point deadline;
  };
  void run();
  void write(const Job& job, const Camera& cam);
  void enforce_bound();

  config::ClipStoreSettings settings_;
  Ready ready_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Camera> cameras_;
  // What a clip needs of a segment event.
  struct Notice {
    std::string camera;
    bool start = false;  // segment.start (else segment.end)
    SegmentInfo segment;
    std::optional<models::PoseDetection> peak_pose;
  };
  std::deque<Notice> notices_;
  Counters counters_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace actiond::daemon::detail
