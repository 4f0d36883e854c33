#pragma once
// actiond's events (schema "actiond.event/1", docs/EVENTS.md), typed inside the process: the loop
// builds an Event, its readers in the process (metrics, the camera summary, clips) read its fields,
// and to_json() is the one place it becomes JSON (journal, publisher, sinks, API).
//
// Thread-safety: EventFactory is owned by the inference loop (one per camera); Event is a value;
// the free functions are pure.
#include "actiond/config/event_kinds.hpp"
#include "actiond/daemon/analysis/person_tracker.hpp"
#include "actiond/daemon/analysis/segment_tracker.hpp"
#include "actiond/pipeline/frame_hub.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actiond::daemon {

inline constexpr const char* kEventSchema = "actiond.event/1";

// "2026-11-23T22:30:00.123Z"
std::string iso_time(WallTime t);
// The inverse of iso_time (milliseconds; a trailing "Z" or none); nullopt when malformed.
std::optional<WallTime> parse_iso_time(const std::string& text);

// The body of a stream.status event.
struct StatusInfo {
  pipeline::StreamState state = pipeline::StreamState::starting;
  std::string reason;
  int attempt = 0;
  double fps_in = 0.0;
  double fps_processed = 0.0;
  pipeline::ClockSource clock = pipeline::ClockSource::arrival;
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

struct LabelScore {
  std::string label;
  double score = 0.0;
};

// A segment as events carry it: the tracker's segment and its label's name.
struct SegmentView {
  SegmentInfo info;
  std::string label;
};

// The person a segment, boundary or track event is about.
struct SubjectView {
  std::uint64_t track_id = 0;
  std::array<float, 4> box{};
};

struct Event {
  config::EventType type = config::EventType::heartbeat;
  std::string camera;
  std::string event_id;
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  WallTime emitted_at;
  double pts = 0.0;
  std::shared_ptr<const nlohmann::json> models;  // [{name, version, sha256}], shared by a camera's events
  // Events about a frame (all but stream.status, heartbeat, clip.ready): its time, the clock that
  // time comes from, and the time from it to the event (latency_ms).
  std::optional<WallTime> time;
  pipeline::ClockSource clock = pipeline::ClockSource::arrival;
  double latency_ms = 0.0;

  std::optional<SegmentView> segment;        // segment.*
  std::optional<double> running_s;          // segment.update: how long the segment has run so far
  std::optional<SubjectView> subject;        // pose cameras' segment and boundary events
  std::optional<models::PoseDetection> peak_pose;  // segment.end of a person: the pose at its peak
  std::vector<LabelScore> top_k;             // segment.update, recognition
  double score = 0.0;                        // boundary, repetition
  std::string from, to;                      // boundary: labels
  std::string label;                         // repetition, recognition
  int count = 0;                             // repetition: the segment's running count
  std::string segment_id;                    // repetition, clip.ready
  struct Window { double start_pts = 0.0, end_pts = 0.0; int frames = 0; };
  Window window;                             // recognition: the clip
  std::string model;                         // recognition: the recognizer
  std::optional<PersonTrack> track;          // track.*
  std::optional<config::EndReason> track_end_reason;  // track.end
  std::optional<StatusInfo> status;          // stream.status
  std::uint64_t last_seq = 0;                // heartbeat
  pipeline::StreamState state = pipeline::StreamState::starting;  // heartbeat
  nlohmann::json clip;                       // clip.ready: {clip, snapshot} as the clip service wrote them

  // The end reason of a segment.end (nullopt for other events).
  std::optional<config::EndReason> end_reason() const { return segment ? segment->info.end_reason : std::nullopt; }
};

// The event as JSON: the one place events become JSON.
nlohmann::json to_json(const Event& e);
// Parts of events as JSON (the camera summary shows an open segment; snapshots draw poses).
nlohmann::json to_json(const SegmentView& s);
nlohmann::json to_json(const models::PoseDetection& p);  // {"box", "keypoints": [[x, y, score] x 17]}
// A segment as journaled ({"id", "label", "label_id", "start", ...}); nullopt when it is not one.
std::optional<SegmentView> segment_from_json(const nlohmann::json& segment);

// Builds events of one camera, numbering them with `seq` (+1 per event) and stamping the current
// connection `epoch` on each.
class EventFactory {
 public:
  // `first_seq`/`epoch`: where the camera's journal left off (seq continues across restarts).
  // `models`: [{name, version, sha256}] stamped on every event.
  EventFactory(std::string camera, std::vector<std::string> labels, std::uint64_t last_seq = 0,
               std::uint64_t epoch = 0, nlohmann::json models = nlohmann::json::array());

  Event from_tracker(const TrackerEvent& ev);
  Event stream_status(const StatusInfo& status, double pts);
  // Carries the seq of the camera's previous event, so a subscriber sees a gap even when nothing happens.
  Event heartbeat(pipeline::StreamState state);
  // While a segment is open: its running confidence and the top-k labels of the latest decided frame.
  Event segment_update(const SegmentInfo& open, const FramePoint& at, const std::vector<float>& probs, int k = 3);

  // Ends a segment an earlier run published and never ended: `open` is its latest segment.start/update
  // as journaled (`clock` its clock); the end is dated at `at` (the camera's last journaled event) with `reason`.
  Event unfinished_end(const SegmentView& open, pipeline::ClockSource clock, const FramePoint& at,
                       config::EndReason reason);

  Event track_start(const PersonTrack& t, const FramePoint& at);
  Event track_end(const PersonTrack& t, const FramePoint& at, config::EndReason reason);
  static SubjectView subject(const PersonTrack& t) { return SubjectView{t.id, t.pose.box}; }

  // A clip of segment `segment_id` is written: `fields` holds `clip` {file, url, start_pts, end_pts,
  // duration_s, bytes, codec, width, height, encoded, truncated} and, when one was made, `snapshot`
  // {file, url, pts, confidence}; dated at the clip's end.
  Event clip_ready(const std::string& segment_id, nlohmann::json fields, double pts);

  // Clip-level top-k of the camera's recognizer.
  Event recognition(const Recognition& r);

  SegmentView segment(const SegmentInfo& s) const { return SegmentView{s, label(s.label_id)}; }
  std::uint64_t epoch() const { return epoch_; }
  void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
  void set_clock(pipeline::ClockSource clock) { clock_ = clock; }
  const std::string& camera() const { return camera_; }
  std::uint64_t last_seq() const { return seq_; }

 private:
  Event envelope(config::EventType type, double pts);
  Event frame_event(config::EventType type, const FramePoint& at);  // time, clock, latency_ms
  const std::string& label(int id) const;

  std::string camera_;
  std::vector<std::string> labels_;
  std::uint64_t seq_ = 0;
  std::uint64_t epoch_ = 0;
  std::shared_ptr<const nlohmann::json> models_;
  std::uint64_t id_salt_ = 0;
  pipeline::ClockSource clock_ = pipeline::ClockSource::arrival;  // where frame `time`s come from
};

}  // namespace actiond::daemon
