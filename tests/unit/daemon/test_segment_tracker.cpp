#include "actiond/daemon/analysis/segment_tracker.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

using namespace actiond::daemon;

namespace {

constexpr double kPeriod = 0.2;  // 5 fps
constexpr int kClasses = 4;

// Frame i of a label string: '0'..'3' = that label with probability 0.9; 'l' = label 1 at 0.4 (too weak);
// 'u' = background at 0.4, each action at 0.2 (something started, not yet which action).
DecidedFrame frame_of(char c, int i, float boundary) {
  DecidedFrame f;
  f.at.pts = i * kPeriod;
  f.at.time = WallTime(std::chrono::milliseconds(1000000 + i * 200));
  f.probs.assign(kClasses, 0.0f);
  if (c == 'u') {
    f.probs = {0.4f, 0.2f, 0.2f, 0.2f};
  } else if (c == 'l') {
    f.probs[1] = 0.4f;
    f.probs[0] = 0.3f;
    f.probs[2] = 0.3f;
  } else {
    const int label = c - '0';
    for (int k = 0; k < kClasses; ++k) f.probs[static_cast<std::size_t>(k)] = k == label ? 0.9f : 0.1f / 3;
  }
  f.boundary = boundary;
  return f;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string describe(const TrackerEvent& e) {
  switch (e.type) {
    case TrackerEvent::Type::segment_start:
      return "start " + std::to_string(e.segment.label_id) + " @" + fmt(e.segment.start.pts) + " " + e.segment.id;
    case TrackerEvent::Type::segment_end:
      return "end " + std::to_string(e.segment.label_id) + " @" + fmt(e.segment.start.pts) + ".." +
             fmt(e.segment.end->pts) + " " + actiond::config::to_string(*e.segment.end_reason) + " " + e.segment.id;
    case TrackerEvent::Type::repetition:
      return "rep " + std::to_string(*e.segment.repetitions) + " @" + fmt(e.at.pts) + " " + e.segment.id;
    case TrackerEvent::Type::boundary:
    default:
      return "boundary @" + fmt(e.at.pts) + " " + fmt(e.score) + " " + std::to_string(e.from_label) + "->" +
             std::to_string(e.to_label);
  }
}

struct Case {
  std::string name;
  std::string labels;
  std::vector<float> boundary;  // per frame, 0 when shorter
  std::string close_reason;     // "" = do not close
  std::vector<std::string> expected;
};

}  // namespace

TEST_CASE("segment tracker: score sequences -> events", "[tracker]") {
  actiond::config::TrackerConfig cfg;  // threshold 0.5, confirm 3, min 1.0 s, boundary 0.5
  const std::vector<Case> cases = {
      {"one noisy frame opens nothing", "0000100000", {}, "", {}},
      {"a segment opens after confirmation and min duration, dated to its first frame",
       "000111111111100000", {}, "", {"start 1 @0.6 s1", "end 1 @0.6..2.6 background s1"}},
      {"a too-short segment is never published", "0001111000000", {}, "eos", {}},
      {"action change ends one segment and starts the next at the same frame",
       "11111111112222222222", {}, "eos",
       {"start 1 @0.0 s1", "end 1 @0.0..2.0 action_changed s1", "start 2 @2.0 s2", "end 2 @2.0..4.0 eos s2"}},
      {"a weak label counts as background", "0llllllllll000", {}, "eos", {}},
      {"a noisy frame inside a segment does not split it", "111111101111111", {}, "shutdown",
       {"start 1 @0.0 s1", "end 1 @0.0..3.0 shutdown s1"}},
      {"two noisy frames of different labels do not switch", "11111112311111", {}, "source_lost",
       {"start 1 @0.0 s1", "end 1 @0.0..2.8 source_lost s1"}},
      {"boundary at the local peak above threshold", "000111111", {0, 0, 0.2f, 0.9f, 0.3f, 0, 0, 0, 0}, "",
       {"boundary @0.6 0.9 0->1", "start 1 @0.6 s1"}},
      {"boundary below threshold or on a plateau rise is reported once", "0000111",
       {0.4f, 0.45f, 0, 0.6f, 0.6f, 0.1f, 0}, "", {"boundary @0.8 0.6 0->1"}},
      {"a score peak with the same label on both sides is no boundary", "0000000",
       {0.4f, 0.45f, 0, 0.6f, 0.6f, 0.1f, 0}, "", {}},
      {"close with nothing open emits nothing", "000", {}, "shutdown", {}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      int next_id = 0;
      SegmentTracker tracker(cfg, 0, kPeriod, [&] { return "s" + std::to_string(++next_id); });
      std::vector<TrackerEvent> events;
      for (std::size_t i = 0; i < c.labels.size(); ++i) {
        const float b = i < c.boundary.size() ? c.boundary[i] : 0.0f;
        tracker.push(frame_of(c.labels[i], static_cast<int>(i), b), events);
      }
      if (!c.close_reason.empty()) tracker.close(*actiond::config::parse_end_reason(c.close_reason), events);
      std::vector<std::string> got;
      for (const auto& e : events) got.push_back(describe(e));
      CHECK(got == c.expected);
    }
  }
}

TEST_CASE("segment tracker: min duration 0 publishes on confirmation and counts", "[tracker]") {
  actiond::config::TrackerConfig cfg;
  cfg.min_duration_s = 0.0;
  cfg.confirm_frames = 1;
  SegmentTracker tracker(cfg, 0, kPeriod, [] { return std::string("x"); });
  std::vector<TrackerEvent> events;
  tracker.push(frame_of('0', 0, 0), events);
  tracker.push(frame_of('3', 1, 0), events);
  REQUIRE(events.size() == 1);
  CHECK(describe(events[0]) == "start 3 @0.2 x");
  REQUIRE(tracker.open_segment().has_value());
  CHECK(tracker.open_segment()->confidence == Approx(0.9));
  tracker.push(frame_of('0', 2, 0), events);
  CHECK(describe(events.back()) == "end 3 @0.2..0.4 background x");
  CHECK_FALSE(tracker.open_segment().has_value());
  CHECK(tracker.counters().segments_published == 1);
  CHECK(tracker.counters().frames == 3);
}

TEST_CASE("segment tracker: a segment too short at close is counted, not published", "[tracker]") {
  actiond::config::TrackerConfig cfg;
  SegmentTracker tracker(cfg, 0, kPeriod, [] { return std::string("x"); });
  std::vector<TrackerEvent> events;
  for (int i = 0; i < 4; ++i) tracker.push(frame_of('2', i, 0), events);
  tracker.close(actiond::config::EndReason::eos, events);
  CHECK(events.empty());
  CHECK(tracker.counters().segments_too_short == 1);
}

TEST_CASE("segment tracker: max duration ends a long segment and starts the next of the same label", "[tracker]") {
  actiond::config::TrackerConfig cfg;
  cfg.confirm_frames = 1;
  cfg.min_duration_s = 0.4;
  cfg.max_duration_s = 1.0;
  int n = 0;
  SegmentTracker tracker(cfg, 0, kPeriod, [&n] { return "s" + std::to_string(n++); });
  std::vector<TrackerEvent> events;
  for (int i = 0; i < 13; ++i) tracker.push(frame_of('2', i, 0), events);
  tracker.close(actiond::config::EndReason::eos, events);
  std::vector<std::string> got;
  for (const auto& e : events) got.push_back(describe(e));
  const std::vector<std::string> expected = {
      "start 2 @0.0 s0", "end 2 @0.0..1.0 max_duration s0", "start 2 @1.0 s1", "end 2 @1.0..2.0 max_duration s1",
      "start 2 @2.0 s2", "end 2 @2.0..2.6 eos s2"};
  CHECK(got == expected);
}

namespace {

std::vector<std::string> run_labels(const actiond::config::TrackerConfig& cfg, const std::string& labels) {
  int next_id = 0;
  SegmentTracker tracker(cfg, 0, kPeriod, [&] { return "s" + std::to_string(++next_id); });
  std::vector<TrackerEvent> events;
  for (std::size_t i = 0; i < labels.size(); ++i) tracker.push(frame_of(labels[i], static_cast<int>(i), 0.0f), events);
  tracker.close(actiond::config::EndReason::eos, events);
  std::vector<std::string> got;
  for (const auto& e : events) got.push_back(describe(e));
  return got;
}

}  // namespace

TEST_CASE("segment tracker: onset dates a segment from background to where background became unlikely", "[tracker]") {
  actiond::config::TrackerConfig cfg;  // confirm 3, min 1.0 s
  const std::string rising = "0u0uuu111111000";
  // Off: the first frame of the label.
  CHECK(run_labels(cfg, rising) == std::vector<std::string>{"start 1 @1.2 s1", "end 1 @1.2..2.4 background s1"});
  cfg.onset_threshold = 0.5;
  // On: the first of the run of frames with background below 0.5 (the lone 'u' at 0.2 is not in it).
  CHECK(run_labels(cfg, rising) == std::vector<std::string>{"start 1 @0.6 s1", "end 1 @0.6..2.4 background s1"});
  cfg.onset_threshold = 0.3;  // 'u' frames (background 0.4) are not onset at this setting
  CHECK(run_labels(cfg, rising) == std::vector<std::string>{"start 1 @1.2 s1", "end 1 @1.2..2.4 background s1"});
}

TEST_CASE("segment tracker: onset never reaches back before the previous segment's end", "[tracker]") {
  actiond::config::TrackerConfig cfg;
  cfg.onset_threshold = 0.5;
  // Background never rises above 0.5 between the two: the run starts inside segment 1.
  CHECK(run_labels(cfg, "111111uuuu222222000") ==
        std::vector<std::string>{"start 1 @0.0 s1", "end 1 @0.0..1.2 background s1", "start 2 @1.2 s2",
                                 "end 2 @1.2..3.2 background s2"});
  // A direct change of action is dated as without onset.
  CHECK(run_labels(cfg, "1111112222220000") ==
        std::vector<std::string>{"start 1 @0.0 s1", "end 1 @0.0..1.2 action_changed s1", "start 2 @1.2 s2",
                                 "end 2 @1.2..2.4 background s2"});
}

TEST_CASE("segment tracker: a change starting at a boundary needs only boundary_confirm_frames", "[tracker]") {
  actiond::config::TrackerConfig cfg;
  cfg.confirm_frames = 3;
  cfg.boundary_confirm_frames = 1;
  cfg.min_duration_s = 0.0;
  cfg.boundary_threshold = 0.5;
  SegmentTracker tracker(cfg, 0, kPeriod, [] { return std::string("x"); });
  std::vector<TrackerEvent> events;
  tracker.push(frame_of('0', 0, 0.0f), events);
  tracker.push(frame_of('2', 1, 0.2f), events);  // no boundary: needs 3 frames
  tracker.push(frame_of('0', 2, 0.0f), events);
  CHECK(events.empty());
  tracker.push(frame_of('2', 3, 0.9f), events);  // at a boundary: accepted at once
  std::vector<std::string> got;
  for (const auto& e : events) {
    if (e.type == TrackerEvent::Type::segment_start) got.push_back(describe(e));
  }
  CHECK(got == std::vector<std::string>{"start 2 @0.6 x"});
}

TEST_CASE("segment tracker: repetitions are score peaks inside a segment, counted from its start", "[tracker]") {
  actiond::config::TrackerConfig cfg;  // confirm 3, min 1.0 s; repetitions: peaks >= 0.5
  cfg.repetition_min_interval_s = 0.5;
  struct RepCase {
    std::string name;
    std::string labels;
    std::vector<float> reps;
    std::vector<std::string> expected;
  };
  const std::vector<RepCase> cases = {
      {"peaks before publication are reported when it is published, in order, with running counts",
       "0011111111110000", {0, 0, 0.9f, 0.1f, 0, 0.8f, 0.2f, 0, 0.1f, 0.7f, 0.1f, 0, 0, 0, 0, 0},
       {"start 1 @0.4 s1", "rep 1 @0.4 s1", "rep 2 @1.0 s1", "rep 3 @1.8 s1", "end 1 @0.4..2.4 background s1 3"}},
      {"a peak before the segment's first frame, a weak peak and a peak too soon are not counted",
       "0001111111110000", {0.9f, 0.1f, 0, 0, 0.4f, 0, 0.8f, 0.6f, 0.9f, 0.1f, 0, 0, 0, 0, 0, 0},
       {"start 1 @0.6 s1", "rep 1 @1.2 s1", "end 1 @0.6..2.4 background s1 1"}},
      {"a score still rising when the stream closes peaks at the last frame",
       "01111111", {0, 0, 0.1f, 0.9f, 0, 0, 0.3f, 0.6f}, {"start 1 @0.2 s1", "rep 1 @0.6 s1"}},
      {"a segment too short to publish takes its repetitions with it", "0011100000", {0, 0, 0.9f, 0, 0, 0, 0, 0, 0, 0},
       {}},
  };
  for (auto c : cases) {
    SECTION(c.name) {
      int next_id = 0;
      SegmentTracker tracker(cfg, 0, kPeriod, [&] { return "s" + std::to_string(++next_id); });
      std::vector<TrackerEvent> events;
      for (std::size_t i = 0; i < c.labels.size(); ++i) {
        DecidedFrame f = frame_of(c.labels[i], static_cast<int>(i), 0.0f);
        f.repetition = c.reps[i];
        tracker.push(f, events);
      }
      if (c.name.find("closes") != std::string::npos) {
        tracker.close(actiond::config::EndReason::eos, events);
        c.expected.push_back("rep 2 @1.4 s1");
        c.expected.push_back("end 1 @0.2..1.6 eos s1 2");
      }
      std::vector<std::string> got;
      for (const auto& e : events) {
        got.push_back(describe(e) + (e.type == TrackerEvent::Type::segment_end ? " " + std::to_string(*e.segment.repetitions) : ""));
      }
      CHECK(got == c.expected);
    }
  }
}

TEST_CASE("a segment's peak is the middle of its most confident frames", "[tracker]") {
  actiond::config::TrackerConfig cfg;
  cfg.confirm_frames = 2;
  SegmentTracker tracker(cfg, 0, kPeriod, [] { return std::string("x"); });
  std::vector<TrackerEvent> out;
  const std::string labels = "0011111111100";  // label 1 at 0.9 on frames 2..10
  for (std::size_t i = 0; i < labels.size(); ++i) {
    DecidedFrame f = frame_of(labels[i], static_cast<int>(i), 0.0f);
    if (i == 9) f.probs[1] = 0.95f;  // one frame more confident than the rest
    tracker.push(f, out);
    if (i == 6) {
      REQUIRE(tracker.open_segment());
      CHECK(tracker.open_segment()->peak->pts == Approx(4 * kPeriod));  // frames 2..6 tie: their middle
      CHECK(tracker.open_segment()->peak_confidence == Approx(0.9));
    }
  }
  const auto end = std::find_if(out.begin(), out.end(), [](const TrackerEvent& e) { return e.type == TrackerEvent::Type::segment_end; });
  REQUIRE(end != out.end());
  CHECK(end->segment.peak->pts == Approx(9 * kPeriod));
  CHECK(end->segment.peak_confidence == Approx(0.95));
}
