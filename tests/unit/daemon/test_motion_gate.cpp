#include "actiond/daemon/analysis/motion_gate.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

using actiond::daemon::MotionGate;

namespace {

constexpr int kW = 96;
constexpr int kH = 72;
constexpr int kStride = kW * 3 + 8;

// A grey frame with a bright square at x0 and per-pixel sensor noise of +-noise.
std::vector<std::uint8_t> frame(int x0, int noise, std::mt19937& rng) {
  std::vector<std::uint8_t> f(static_cast<std::size_t>(kStride * kH), 0);
  std::uniform_int_distribution<int> n(-noise, noise);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      const int base = (x >= x0 && x < x0 + 20 && y >= 20 && y < 40) ? 200 : 80;
      for (int c = 0; c < 3; ++c) f[static_cast<std::size_t>(y * kStride + x * 3 + c)] = static_cast<std::uint8_t>(std::clamp(base + (noise ? n(rng) : 0), 0, 255));
    }
  }
  return f;
}

actiond::config::PoseGateConfig gate_cfg(bool enabled, int max_skip = 3) {
  actiond::config::PoseGateConfig c;
  c.enabled = enabled;
  c.threshold = 2.0;
  c.max_skip = max_skip;
  return c;
}

}  // namespace

TEST_CASE("the gate skips still (noisy) frames, at most max_skip in a row, and admits motion", "[motion_gate]") {
  std::mt19937 rng(7);
  MotionGate gate(gate_cfg(true, 3));
  std::vector<bool> admitted;
  for (int i = 0; i < 9; ++i) {
    const auto f = frame(10, 12, rng);  // the same scene, new sensor noise every frame
    admitted.push_back(gate.admit(f.data(), kW, kH, kStride));
  }
  CHECK(admitted == std::vector<bool>{true, false, false, false, true, false, false, false, true});
  CHECK(gate.skipped() == 6);
  CHECK(gate.ran() == 3);
  // Someone moves: the next frame runs, whatever the count.
  const auto moved = frame(40, 12, rng);
  CHECK(gate.admit(moved.data(), kW, kH, kStride));
  CHECK(gate.last_difference() > 2.0);
  gate.reset();
  CHECK(gate.admit(moved.data(), kW, kH, kStride));
}

TEST_CASE("a disabled gate admits every frame", "[motion_gate]") {
  std::mt19937 rng(1);
  MotionGate gate(gate_cfg(false));
  const auto f = frame(10, 0, rng);
  for (int i = 0; i < 5; ++i) CHECK(gate.admit(f.data(), kW, kH, kStride));
  CHECK(gate.skipped() == 0);
}
