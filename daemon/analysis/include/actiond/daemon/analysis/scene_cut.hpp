#pragma once
// Abrupt changes of the whole picture (an edit in a recording, a blank frame, a camera switch). Two
// measures of each analysed frame against the previous one must both jump: the 16x12 grey thumbnail
// (block means) by a mean absolute difference of at least `threshold` grey levels (0-255), and the
// grey histogram (16 bins) by a total variation of at least kHistogramCut (half the picture's
// brightness moved). Measured on every real clip we have at 10 fps (docs/RESULTS.md): people moving,
// even filling the frame (a push-up close-up: thumbnail 41, histogram 0.2), stay below; a blank frame
// or an edit to another place crosses both. A pose camera ends every person's segments and track at
// a cut (end_reason `scene_change`), so no segment or track spans two scenes.
//
//   SceneCut cuts(cfg.persons.scene_cut);
//   if (cuts.cut(rgb, width, height, stride)) end every track ...;
//
// Thread-safety: none; one per camera, owned by the inference loop thread (or the extract command).
#include <array>
#include <cstdint>

namespace actiond::daemon {

constexpr int kThumbWidth = 16;
constexpr int kThumbHeight = 12;
using Thumbnail = std::array<float, kThumbWidth * kThumbHeight>;

// Block means of an RGB frame (grey = mean of the channels, 0-255).
Thumbnail grey_thumbnail(const std::uint8_t* rgb, int width, int height, int stride);
// Mean absolute difference of two thumbnails.
double thumbnail_difference(const Thumbnail& a, const Thumbnail& b);

using GreyHistogram = std::array<float, 16>;
// Shares of the pixels (every 4th row and column) in 16 grey bins.
GreyHistogram grey_histogram(const std::uint8_t* rgb, int width, int height, int stride);
// Total variation distance of two histograms (0: same, 1: disjoint).
double histogram_distance(const GreyHistogram& a, const GreyHistogram& b);

class SceneCut {
 public:
  static constexpr double kHistogramCut = 0.5;

  explicit SceneCut(double threshold) : threshold_(threshold) {}

  // True when this frame differs from the previous one by the threshold or more (never for the first
  // frame after construction or reset(); never with threshold 0: off).
  bool cut(const std::uint8_t* rgb, int width, int height, int stride);
  // The same with the frame's grey_thumbnail() already made (shared with the motion gate).
  bool cut(const Thumbnail& thumb, const std::uint8_t* rgb, int width, int height, int stride);
  bool enabled() const { return threshold_ > 0.0; }
  void reset() { have_prev_ = false; }
  double last_difference() const { return last_diff_; }        // thumbnails
  double last_histogram_distance() const { return last_hist_; }
  std::uint64_t cuts() const { return cuts_; }

 private:
  double threshold_;
  Thumbnail prev_{};
  GreyHistogram prev_hist_{};
  bool have_prev_ = false;
  double last_diff_ = 0.0;
  double last_hist_ = 0.0;
  std::uint64_t cuts_ = 0;
};

}  // namespace actiond::daemon
