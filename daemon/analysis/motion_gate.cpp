#include "actiond/daemon/analysis/motion_gate.hpp"

namespace actiond::daemon {

bool MotionGate::admit(const std::uint8_t* rgb, int width, int height, int stride) {
  if (!cfg_.enabled) {
    ++ran_;
    return true;
  }
  return admit(grey_thumbnail(rgb, width, height, stride));
}

bool MotionGate::admit(const Thumbnail& thumb) {
  if (!cfg_.enabled) {
    ++ran_;
    return true;
  }
  const double diff = have_ref_ ? thumbnail_difference(thumb, ref_) : 0.0;
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
