#pragma once
// A cheap per-frame signal deciding which frames are worth the pose model (after AFNet, seed 004):
// a 16x12 grey thumbnail of each frame (block means, so sensor noise averages out) is compared with
// the thumbnail of the last frame the model ran on; below `threshold` (mean absolute difference in
// grey levels, 0-255) the model skips the frame (person tracks coast on their velocity), at most
// `max_skip` frames in a row. Cameras get different `phase`s: after a start or reset, the first `phase`
// (mod max_skip + 1) frames all run, so cameras that started together over still scenes skip
// different frames and the model's load spreads over the frame slots instead of coming in bursts.
//
//   MotionGate gate(cfg.gate);
//   if (gate.admit(rgb, width, height, stride)) run the model; else tracker.coast();
//
// Thread-safety: none; one per camera, owned by the inference loop thread.
#include "actiond/config/config.hpp"
#include "actiond/daemon/analysis/scene_cut.hpp"

#include <array>
#include <cstdint>

namespace actiond::daemon {

class MotionGate {
 public:
  explicit MotionGate(config::PoseGateConfig cfg, unsigned phase = 0)
      : cfg_(cfg), phase_(cfg.max_skip > 0 ? static_cast<int>(phase % static_cast<unsigned>(cfg.max_skip + 1)) : 0),
        must_run_(phase_) {}

  // True when the model should run on this RGB frame (always when the gate is disabled).
  bool admit(const std::uint8_t* rgb, int width, int height, int stride);
  // The same from the frame's grey_thumbnail() (a caller that needs it for a SceneCut too makes it once).
  bool admit(const Thumbnail& thumb);
  bool enabled() const { return cfg_.enabled; }
  // Mean absolute thumbnail difference of the last admit() call (0 for the first frame).
  double last_difference() const { return last_diff_; }
  std::uint64_t ran() const { return ran_; }
  std::uint64_t skipped() const { return skipped_; }
  // Forget the reference (a new connection: the next frame runs).
  void reset() {
    have_ref_ = false;
    must_run_ = phase_;
  }

 private:
  config::PoseGateConfig cfg_;
  int phase_;
  int must_run_;  // frames after the first that run regardless (the phase)
  Thumbnail ref_{};
  bool have_ref_ = false;
  int skipped_in_row_ = 0;
  double last_diff_ = 0.0;
  std::uint64_t ran_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace actiond::daemon
