#pragma once
// RepetitionCounter: counts the repetitions of one exercise segment from the person's pose alone (no
// training), online.
//
// The keypoint positions of the segment's frames so far (x, y of the 17 COCO keypoints, hip-centred
// and torso-scaled: the "coco17-pose-features" rows `pose_features()` writes) are projected on their
// first principal component; that signal is smoothed (centred moving average, edges repeated) and its
// turning points found with hysteresis: a maximum (minimum) counts once the signal has moved back
// `hysteresis` x its range so far, and at least `min_amplitude` torso lengths. A repetition is a
// movement there and back, so count = ceil(turns / 2). Everything is recomputed on each frame from the
// frames so far; the count published is the highest reached (a repetition is never taken back).
// Repetition k is dated to where it started: the turning point before its first turn (for the first,
// the extreme of the signal before its first turn).
//
// Frames without the person (every keypoint score 0) or with a non-finite position are skipped. At most kMaxFrames frames are kept;
// a longer segment goes on counting from a fresh buffer, adding to the count reached.
//
// Thread-safety: none; owned by a SegmentTracker.
#include "actiond/daemon/analysis/frame_point.hpp"

#include <array>
#include <cstddef>
#include <vector>

namespace actiond::daemon {

inline constexpr const char* kPoseFeatureLayout = "coco17-pose-features";  // segmenter manifest `feature_layout`
inline constexpr int kPoseFeatureDim = 85;                                   // 17 keypoints x (x, y, dx, dy, score)

struct RepetitionCounterSettings {
  int smooth_frames = 3;
  double hysteresis = 0.25;
  double min_amplitude = 0.0;
};

class RepetitionCounter {
 public:
  static constexpr std::size_t kMaxFrames = 3000;  // 5 minutes at 10 fps
  static constexpr int kDims = 34;

  explicit RepetitionCounter(RepetitionCounterSettings s);

  // Adds the next frame's row (`kPoseFeatureDim` floats) at `at`. Returns, for each repetition this
  // frame adds to the count, the frame where it started.
  std::vector<FramePoint> push(const float* row, const FramePoint& at);
  int count() const { return base_ + best_; }

 private:
  // Turning points (buffer indices of the extremes) of the current signal.
  std::vector<std::size_t> turns(std::vector<double>& signal) const;
  void top_component();

  RepetitionCounterSettings s_;
  std::vector<std::array<float, kDims>> rows_;  // frames with the person, since the buffer began
  std::vector<FramePoint> points_;              // their place in the stream
  std::array<double, kDims> sum_{};
  std::vector<double> outer_;                   // sum of x x^T (kDims x kDims)
  std::array<double, kDims> pc_{};
  int base_ = 0;  // counted in earlier buffers
  int best_ = 0;  // highest count of the current buffer
};

}  // namespace actiond::daemon
