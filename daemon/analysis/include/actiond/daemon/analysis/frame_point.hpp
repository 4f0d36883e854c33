#pragma once
// A decided frame's place in its stream: stream time (pts, seconds) and wall-clock time.
#include <chrono>

namespace actiond::daemon {

using WallTime = std::chrono::system_clock::time_point;

struct FramePoint {
  double pts = 0.0;
  WallTime time;
};

}  // namespace actiond::daemon
