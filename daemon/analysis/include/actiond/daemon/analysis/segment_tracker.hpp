#pragma once
// SegmentTracker: turns a camera's per-frame segmenter output into a clean event lifecycle.
//
// Each decided frame has a label (argmax of the class probabilities; a non-background label below
// `threshold` counts as background) and a boundary score. Rules:
//   - a label change is accepted only after the new label held `confirm_frames` consecutive frames
//     (one noisy frame never opens or closes a segment); the change is dated to the first of them;
//     boundary-aware: when the boundary score at that first frame is >= `boundary_threshold`,
//     `boundary_confirm_frames` suffice (a change the model also sees as a boundary is trusted sooner);
//   - onset (`onset_threshold` > 0): a segment opened from background is dated to the onset of the
//     action instead, the first frame of the run of frames up to it whose background probability is
//     below `onset_threshold`, whatever their label (the model often sees that something started
//     before it knows what), never before the previous segment's end; decided from past frames only;
//   - a non-background segment is published (`segment.start`) only once it has lasted
//     `min_duration_s`; a shorter one is dropped silently (and counted);
//   - every published start gets exactly one end: on a label change (`action_changed`), on return to
//     background (`background`), after `max_duration_s` (`max_duration`; a new segment of the same
//     label starts at that frame), or through close() (`eos`, `source_lost`, `shutdown`, ...);
//   - a `boundary` is reported at local peaks of the boundary score at or above `boundary_threshold`
//     (decided one frame late, when the next score is known) whose frame labels before and after
//     differ; a peak with the same label on both sides is counted, not reported;
//   - repetitions (segmenters with a repetition output): a local peak of the repetition score at or
//     above `repetition_threshold` (decided one frame late) inside a segment, at least
//     `repetition_min_interval_s` after the segment's previous one, is the segment's next repetition.
//     A score still rising at close() peaks at the last frame. Peaks before a segment is confirmed
//     count once it is, if they lie inside it; a published
//     segment reports each as it comes (`repetition`), with the running count, and the count at its end.
//     With `repetition_source` pose, the repetitions come from the pose rows of the segment's frames
//     instead (a RepetitionCounter per segment, fed from `repetition_lookback_s` before its start but
//     not before the previous segment's end; the tracker keeps the last kPoseHistory rows for that).
//
// Thread-safety: none; owned by the inference loop, one tracker per subject (a camera's whole frame,
// or one tracked person).
#include "actiond/config/config.hpp"
#include "actiond/config/event_kinds.hpp"
#include "actiond/daemon/analysis/frame_point.hpp"
#include "actiond/daemon/analysis/repetition_counter.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace actiond::daemon {

struct SegmentInfo {
  std::string id;
  int label_id = 0;
  double confidence = 0.0;  // mean probability of the label over the segment's frames
  FramePoint start;
  std::optional<FramePoint> end;
  std::optional<config::EndReason> end_reason;  // nullopt while open
  std::optional<int> repetitions;  // segmenters with a repetition output: repetitions so far
  // Its most confident moment so far (snapshots): the middle of the frames at its highest confidence.
  std::optional<FramePoint> peak;
  double peak_confidence = 0.0;
};

struct TrackerEvent {
  enum class Type { segment_start, segment_end, boundary, repetition };
  Type type = Type::segment_start;
  FramePoint at;            // the frame the event refers to
  SegmentInfo segment;      // segment events
  double score = 0.0;       // boundary, repetition
  int from_label = 0;       // boundary
  int to_label = 0;         // boundary
};

struct DecidedFrame {
  FramePoint at;
  std::vector<float> probs;  // one per class
  float boundary = 0.0f;
  std::optional<float> repetition;  // segmenters with a repetition output
  std::vector<float> pose;          // repetition_source pose: the frame's pose feature row (else empty)
};

struct TrackerCounters {
  std::uint64_t frames = 0;
  std::uint64_t segments_published = 0;
  std::uint64_t segments_too_short = 0;
  std::uint64_t boundaries = 0;
  std::uint64_t boundaries_same_label = 0;  // score peaks with the same label on both sides: not published
  std::uint64_t repetitions = 0;            // counted in published segments
  std::uint64_t repetitions_outside = 0;    // peaks outside every segment (or too soon after the last)
};

class SegmentTracker {
 public:
  using IdGenerator = std::function<std::string()>;

  // `frame_period_s` dates the end of the last frame on close(). `background` is the label index.
  SegmentTracker(config::TrackerConfig cfg, int background, double frame_period_s, IdGenerator ids);

  // Feeds the next decided frame (in pts order); appends resulting events to `out`.
  void push(const DecidedFrame& frame, std::vector<TrackerEvent>& out);
  // Ends the open segment, if published, with `reason`, dated just after the last frame seen.
  // Afterwards the tracker starts again from background.
  void close(config::EndReason reason, std::vector<TrackerEvent>& out);

  std::optional<SegmentInfo> open_segment() const;  // published and open
  const TrackerCounters& counters() const { return counters_; }
  const config::TrackerConfig& config() const { return cfg_; }  // the settings in effect

 private:
  struct Candidate {
    int label = -1;
    int count = 0;
    FramePoint first;
    double confidence_sum = 0.0;
    float boundary = 0.0f;  // boundary score at its first frame
    FramePoint peak;        // its most confident frame
    double peak_confidence = -1.0;
  };
  // The first and last frame at the highest confidence so far, and that confidence.
  struct Peak {
    FramePoint first;
    FramePoint last;
    double confidence = -1.0;
    void add(const FramePoint& at, double c);
    FramePoint middle() const;
  };
  struct Repetition {
    FramePoint at;
    double score = 0.0;
  };
  struct Open {
    SegmentInfo info;
    double confidence_sum = 0.0;
    int frames = 0;
    bool published = false;
    Peak peak;
    std::vector<Repetition> unpublished;  // counted before the segment was published
    std::optional<double> last_repetition_pts;
    std::optional<RepetitionCounter> counter;  // repetition_source pose
    std::optional<double> counted_pts;         // the last frame the counter read
  };
  struct PoseRow {
    FramePoint at;
    std::vector<float> row;
  };
  static constexpr std::size_t kPoseHistory = 256;

  void end_open(const FramePoint& at, config::EndReason reason, std::vector<TrackerEvent>& out);
  void maybe_publish(const FramePoint& now, std::vector<TrackerEvent>& out, bool force = false);
  void detect_boundary(const DecidedFrame& frame, int label, std::vector<TrackerEvent>& out);
  void detect_repetition(const DecidedFrame& frame, std::vector<TrackerEvent>& out);
  // To the open segment; `spaced`: only `repetition_min_interval_s` after its previous one.
  void add_repetition(const Repetition& rep, std::vector<TrackerEvent>& out, bool spaced = true);
  void start_counter(std::vector<TrackerEvent>& out);  // repetition_source pose: the new open segment's
  void count_pose(const FramePoint& at, const std::vector<float>& row, std::vector<TrackerEvent>& out);
  void emit_repetition(const Repetition& rep, std::vector<TrackerEvent>& out);
  FramePoint onset_start(const FramePoint& first) const;  // a segment from background: where it starts

  config::TrackerConfig cfg_;
  int background_;
  double frame_period_s_;
  IdGenerator ids_;
  int current_ = -1;  // accepted label; -1 before the first accepted frame (treated as background)
  Candidate candidate_;
  std::optional<Open> open_;
  std::optional<FramePoint> last_;
  std::optional<FramePoint> onset_;     // first frame of the current run below onset_threshold
  std::optional<FramePoint> last_end_;  // where the last segment (published or not) ended
  // Boundary peak detection over the last three frames.
  std::vector<float> b_scores_;
  std::vector<FramePoint> b_points_;
  std::vector<int> b_labels_;
  // Repetition peak detection over the last three frames; peaks not (yet) inside a segment.
  std::vector<Repetition> r_frames_;
  std::vector<Repetition> r_waiting_;
  std::deque<PoseRow> pose_history_;  // repetition_source pose: the last kPoseHistory frames' rows
  bool repetitions_ = false;  // the segmenter scores repetitions (seen on the frames)
  TrackerCounters counters_;
};

}  // namespace actiond::daemon
