#pragma once
// The JSON bodies of actiond's events (schema "actiond.event/1"). See docs/EVENTS.md.
//
// Thread-safety: EventFactory is owned by the inference loop (one per camera); the free functions are pure.
#include "actiond/daemon/analysis/person_tracker.hpp"
#include "actiond/daemon/analysis/segment_tracker.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace actiond::daemon {

inline constexpr const char* kEventSchema = "actiond.event/1";

// "2026-11-23T22:30:00.123Z"
std::string iso_time(WallTime t);

// The body of a stream.status event.
struct StatusInfo {
  std::string state;
  std::string reason;
  int attempt = 0;
  double fps_in = 0.0;
  double fps_processed = 0.0;
  std::string clock = "arrival";
  std::map<std::string, std::uint64_t> dropped;  // by reason
};

// The input of a recognition event: a recognizer's probabilities for the clip [start, end].
struct Recognition {
  FramePoint start;
  FramePoint end;
  int frames = 0;
  std::vector<float> probs;                // one per label
  std::vector<std::string> labels;         // the recognizer's labels
  std::string model;                       // its name
  int top_k = 3;
};

// Builds events of one camera, numbering them with `seq` (+1 per event) and stamping the current
// connection `epoch` on each.
class EventFactory {
 public:
  // `first_seq`/`epoch`: where the camera's journal left off (seq continues across restarts).
  // `models`: [{name, version, sha256}] stamped on every event.
  EventFactory(std::string camera, std::vector<std::string> labels, std::uint64_t last_seq = 0,
               std::uint64_t epoch = 0, nlohmann::json models = nlohmann::json::array());

  nlohmann::json from_tracker(const TrackerEvent& ev);
  nlohmann::json stream_status(const StatusInfo& status, double pts);
  // Carries the seq of the camera's previous event, so a subscriber sees a gap even when nothing happens.
  nlohmann::json heartbeat(const std::string& state);
  // While a segment is open: its running confidence and the top-k labels of the latest decided frame.
  nlohmann::json segment_update(const SegmentInfo& open, const FramePoint& at, const std::vector<float>& probs, int k = 3);

  // Ends a segment an earlier run published and never ended: `segment_event` is its latest
  // segment.start/update as journaled; the end is dated at `pts`/`time` (the camera's last
  // journaled event) with `reason`.
  nlohmann::json unfinished_end(const nlohmann::json& segment_event, double pts, const std::string& time,
                                const std::string& reason);

  // track.start (reason empty) or track.end of a person track, dated at frame `at`.
  nlohmann::json track(const PersonTrack& t, const FramePoint& at, const std::string& end_reason = "");
  // {"track_id", "box"}: the person a segment or boundary event of a pose camera is about.
  static nlohmann::json subject(const PersonTrack& t);
  // {"box": [x0, y0, x1, y1], "keypoints": [[x, y, score] x 17]}: a pose in picture fractions.
  static nlohmann::json pose(const models::PoseDetection& p);

  // A clip of segment `segment_id` is written: `fields` holds `clip` {file, url, start_pts, end_pts,
  // duration_s, bytes, codec, width, height, encoded, truncated} and, when one was made, `snapshot`
  // {file, url, pts, confidence}; dated at the clip's end.
  nlohmann::json clip_ready(const std::string& segment_id, const nlohmann::json& fields, double pts);

  // Clip-level top-k of the camera's recognizer.
  nlohmann::json recognition(const Recognition& r);

  nlohmann::json segment(const SegmentInfo& s) const { return segment_json(s); }
  std::uint64_t epoch() const { return epoch_; }
  void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
  void set_clock(std::string clock) { clock_ = std::move(clock); }
  const std::string& camera() const { return camera_; }
  std::uint64_t last_seq() const { return seq_; }

 private:
  nlohmann::json envelope(const std::string& type, double pts);
  nlohmann::json frame_event(const TrackerEvent& ev);
  void stamp_frame(nlohmann::json& j, const FramePoint& at) const;  // time, clock, latency_ms
  nlohmann::json segment_json(const SegmentInfo& s) const;
  const std::string& label(int id) const;

  std::string camera_;
  std::vector<std::string> labels_;
  std::uint64_t seq_ = 0;
  std::uint64_t epoch_ = 0;
  nlohmann::json models_;
  std::uint64_t id_salt_ = 0;
  std::string clock_ = "arrival";  // where frame `time`s come from: "arrival" or "ntp"
};

}  // namespace actiond::daemon
