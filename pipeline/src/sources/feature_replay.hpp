#pragma once
// The frame source of `features://` cameras (used by CameraSource's supervisor thread).
#include "actiond/pipeline/files/npy_file.hpp"
#include "actiond/pipeline/frame_hub.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace actiond::pipeline::detail {

// Pushes one frame per row of `file` into `hub` for camera `handle`, row i at pts i / fps, each
// frame pointing into the shared file data. With `realtime`, row i waits until start + pts.
// `stopped_by(t)` waits until t (or only checks, for t in the past) and returns true once the camera
// is stopping; `on_row()` runs for every row pushed. Returns true at the end of the file, false when
// stopped first.
bool replay_features(const std::shared_ptr<const FeatureFile>& file, CameraHandle handle, double fps, bool realtime,
                     FrameHub& hub, const std::function<bool(std::chrono::steady_clock::time_point)>& stopped_by,
                     const std::function<void()>& on_row);

}  // namespace actiond::pipeline::detail
