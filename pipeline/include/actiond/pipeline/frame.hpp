#pragma once
// One decoded, rate-limited, scaled RGB frame as the pipeline hands it to inference.
// The pixels stay in the GStreamer buffer they were decoded into (no copy); `storage` keeps that
// buffer mapped and alive for as long as any copy of the Frame exists.
//
// Thread-safety: a Frame is immutable after construction; copies may be read from any thread.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

namespace actiond::pipeline {

// Where a frame's wall-clock `time` comes from (events carry it as `clock`).
enum class ClockSource { arrival, ntp };

struct Frame {
  double pts = 0.0;                                    // stream time, seconds
  std::chrono::system_clock::time_point time;          // wall clock of capture (see `clock`)
  std::chrono::steady_clock::time_point arrival;       // monotonic arrival at the appsink; paced sources: when
                                                       // it was due, if it came later (decoders behind)
  ClockSource clock = ClockSource::arrival;
  int width = 0;
  int height = 0;
  int stride = 0;                                      // bytes per row (>= 3 * width)
  const std::uint8_t* data = nullptr;                  // RGB24, `height` rows of `stride` bytes
  std::array<float, 4> content{0.0f, 0.0f, 1.0f, 1.0f};  // x, y, w, h of the picture (letterboxed frames)
  const float* features = nullptr;                     // features:// cameras: the row itself (no image)
  int feature_dim = 0;
  std::shared_ptr<const void> storage;                 // owns the mapped buffer behind `data` / `features`
};

}  // namespace actiond::pipeline
