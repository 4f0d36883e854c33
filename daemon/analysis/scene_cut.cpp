#include "actiond/daemon/analysis/scene_cut.hpp"

#include <algorithm>
#include <cmath>

namespace actiond::daemon {

Thumbnail grey_thumbnail(const std::uint8_t* rgb, int width, int height, int stride) {
  Thumbnail thumb{};
  for (int ty = 0; ty < kThumbHeight; ++ty) {
    const int y0 = ty * height / kThumbHeight;
    const int y1 = (ty + 1) * height / kThumbHeight;
    for (int tx = 0; tx < kThumbWidth; ++tx) {
      const int x0 = tx * width / kThumbWidth;
      const int x1 = (tx + 1) * width / kThumbWidth;
      std::uint64_t sum = 0;
      for (int y = y0; y < y1; ++y) {
        const std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
        for (int x = x0; x < x1; ++x) sum += row[3 * x] + row[3 * x + 1] + row[3 * x + 2];
      }
      const int n = std::max(1, (y1 - y0) * (x1 - x0) * 3);
      thumb[static_cast<std::size_t>(ty * kThumbWidth + tx)] = static_cast<float>(sum) / static_cast<float>(n);
    }
  }
  return thumb;
}

double thumbnail_difference(const Thumbnail& a, const Thumbnail& b) {
  double diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) diff += std::fabs(a[i] - b[i]);
  return diff / static_cast<double>(a.size());
}

GreyHistogram grey_histogram(const std::uint8_t* rgb, int width, int height, int stride) {
  GreyHistogram h{};
  int n = 0;
  for (int y = 0; y < height; y += 4) {
    const std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
    for (int x = 0; x < width; x += 4) {
      const int grey = (row[3 * x] + row[3 * x + 1] + row[3 * x + 2]) / 3;
      h[static_cast<std::size_t>(grey / 16)] += 1.0f;
      ++n;
    }
  }
  for (auto& v : h) v /= static_cast<float>(std::max(1, n));
  return h;
}

double histogram_distance(const GreyHistogram& a, const GreyHistogram& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d += std::fabs(a[i] - b[i]);
  return d / 2.0;
}

bool SceneCut::cut(const std::uint8_t* rgb, int width, int height, int stride) {
  if (!enabled() || rgb == nullptr) return false;
  return cut(grey_thumbnail(rgb, width, height, stride), rgb, width, height, stride);
}

bool SceneCut::cut(const Thumbnail& thumb, const std::uint8_t* rgb, int width, int height, int stride) {
  if (!enabled() || rgb == nullptr) return false;
  const GreyHistogram hist = grey_histogram(rgb, width, height, stride);
  last_diff_ = have_prev_ ? thumbnail_difference(thumb, prev_) : 0.0;
  last_hist_ = have_prev_ ? histogram_distance(hist, prev_hist_) : 0.0;
  const bool is_cut = have_prev_ && last_diff_ >= threshold_ && last_hist_ >= kHistogramCut;
  prev_ = thumb;
  prev_hist_ = hist;
  have_prev_ = true;
  cuts_ += is_cut ? 1 : 0;
  return is_cut;
}

}  // namespace actiond::daemon
