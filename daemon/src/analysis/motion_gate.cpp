#include "actiond/daemon/analysis/motion_gate.hpp"

#include <cmath>

namespace actiond::daemon {

bool MotionGate::admit(const std::uint8_t* rgb, int width, int height, int stride) {
  if (!cfg_.enabled) {
    ++ran_;
    return true;
  }
  std::array<float, kWidth * kHeight> thumb{};
  for (int ty = 0; ty < kHeight; ++ty) {
    const int y0 = ty * height / kHeight;
    const int y1 = (ty + 1) * height / kHeight;
    for (int tx = 0; tx < kWidth; ++tx) {
      const int x0 = tx * width / kWidth;
      const int x1 = (tx + 1) * width / kWidth;
      std::uint64_t sum = 0;
      for (int y = y0; y < y1; ++y) {
        const std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
        for (int x = x0; x < x1; ++x) sum += row[3 * x] + row[3 * x + 1] + row[3 * x + 2];
      }
      const int n = std::max(1, (y1 - y0) * (x1 - x0) * 3);
      thumb[static_cast<std::size_t>(ty * kWidth + tx)] = static_cast<float>(sum) / static_cast<float>(n);
    }
  }
  double diff = 0.0;
  if (have_ref_) {
    for (std::size_t i = 0; i < thumb.size(); ++i) diff += std::fabs(thumb[i] - ref_[i]);
    diff /= static_cast<double>(thumb.size());
  }
  last_diff_ = diff;
  if (have_ref_ && must_run_ > 0) {
    --must_run_;
  } else if (have_ref_ && diff < cfg_.threshold && skipped_in_row_ < cfg_.max_skip) {
    ++skipped_in_row_;
    ++skipped_;
    return false;
  }
  ref_ = thumb;
  have_ref_ = true;
  skipped_in_row_ = 0;
  ++ran_;
  return true;
}

}  // namespace actiond::daemon
