#include "sources/feature_replay.hpp"

namespace actiond::pipeline::detail {

bool replay_features(const std::shared_ptr<const FeatureFile>& file, CameraHandle handle, double fps, bool realtime,
                     FrameHub& hub, const std::function<bool(std::chrono::steady_clock::time_point)>& stopped_by,
                     const std::function<void()>& on_row) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto wall = std::chrono::system_clock::now();
  for (std::int64_t i = 0; i < file->frames; ++i) {
    const double pts = static_cast<double>(i) / fps;
    const auto due = realtime ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(pts))
                              : Clock::time_point{};
    if (stopped_by(due)) return false;
    SourceItem item;
    item.camera = handle;
    Frame& f = item.frame;
    f.pts = pts;
    f.arrival = Clock::now();
    f.time = wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(pts));
    f.features = file->data.data() + i * file->dim;
    f.feature_dim = static_cast<int>(file->dim);
    f.storage = file;
    on_row();
    if (!hub.push(std::move(item))) return false;
  }
  return true;
}

}  // namespace actiond::pipeline::detail
