#pragma once
// Online decoding of per-frame class scores with the daemon's own SegmentTracker, for evaluation:
// the same code decides segments in the daemon and in `actiond eval`.
//
// For frame t, the decoder may look `lookahead` frames ahead (it decides frame t when frame
// t + lookahead arrives) and averages the class probabilities over [t - history, t + lookahead].
// The tracker then applies its confirmation frames, threshold and minimum duration. Frames outside
// every published segment are background.
//
// Thread-safety: pure function.
#include "actiond/config/config.hpp"

#include <vector>

namespace actiond::daemon {

struct OnlineDecodeOptions {
  config::TrackerConfig tracker;
  int lookahead = 0;      // frames
  int history = 0;        // frames
  double fps = 15.0;
  int background = 0;
  bool softmax = true;    // scores are logits/margins (true) or probabilities already (false)
};

struct RepetitionMark {
  int frame = 0;       // where the repetition starts
  int decided_at = 0;  // the frame at whose arrival it was published
  int count = 0;       // the segment's running count
  int label = 0;       // the segment's label
};

struct DecodedVideo {
  std::vector<int> labels;      // per frame
  std::vector<int> decided_at;  // per frame: index of the frame at whose arrival its label was emitted
  std::vector<RepetitionMark> repetitions;  // published repetitions (segmenters with a repetition output)
};

// `repetition`: per-frame repetition-start scores (empty: the segmenter has none). `pts`: each frame's
// stream time (empty: frame t at t / fps), for frames that are not evenly spaced (a person's frames).
// `pose`: each frame's pose feature row, for `tracker.repetition_source` pose (empty: none).
DecodedVideo decode_online(const std::vector<std::vector<float>>& scores, const OnlineDecodeOptions& options,
                           const std::vector<float>& repetition = {}, const std::vector<double>& pts = {},
                           const std::vector<std::vector<float>>& pose = {});

// Argmax of each frame's scores (the raw, offline frame-wise decision).
std::vector<int> argmax_labels(const std::vector<std::vector<float>>& scores);

}  // namespace actiond::daemon
