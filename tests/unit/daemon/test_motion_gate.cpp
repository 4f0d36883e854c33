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

TEST_CASE("gates of different phases skip different frames of the same still scene", "[motion_gate]") {
  std::mt19937 rng(3);
  MotionGate a(gate_cfg(true, 1), 0);
  MotionGate b(gate_cfg(true, 1), 1);
  MotionGate c(gate_cfg(true, 1), 2);  // phase 2 of a 2-frame cycle: the same as phase 0
  std::vector<bool> ra, rb, rc;
  for (int i = 0; i < 7; ++i) {
    const auto f = frame(10, 12, rng);
    ra.push_back(a.admit(f.data(), kW, kH, kStride));
    rb.push_back(b.admit(f.data(), kW, kH, kStride));
    rc.push_back(c.admit(f.data(), kW, kH, kStride));
  }
  CHECK(ra == std::vector<bool>{true, false, true, false, true, false, true});
  CHECK(rb == std::vector<bool>{true, true, false, true, false, true, false});
  CHECK(rc == ra);
  // After a reset (a new connection) the phase applies again.
  b.reset();
  std::vector<bool> again;
  for (int i = 0; i < 3; ++i) {
    const auto f = frame(10, 12, rng);
    again.push_back(b.admit(f.data(), kW, kH, kStride));
  }
  CHECK(again == std::vector<bool>{true, true, false});
}
