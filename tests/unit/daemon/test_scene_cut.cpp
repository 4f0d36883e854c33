#include "actiond/daemon/analysis/scene_cut.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using actiond::daemon::SceneCut;

namespace {

constexpr int kW = 96;
constexpr int kH = 72;
constexpr int kStride = kW * 3 + 8;

// A room: a left-to-right brightness ramp from `base`, and a person-sized bright block at x0 whose
// height is `tall` rows (a person standing, or one filling the picture).
std::vector<std::uint8_t> frame(int base, int x0, int tall) {
  std::vector<std::uint8_t> f(static_cast<std::size_t>(kStride * kH), 0);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      int v = base + x;
      if (x >= x0 && x < x0 + 30 && y < tall) v = 230;
      for (int c = 0; c < 3; ++c) f[static_cast<std::size_t>(y * kStride + x * 3 + c)] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
    }
  }
  return f;
}

std::vector<std::uint8_t> blank() { return std::vector<std::uint8_t>(static_cast<std::size_t>(kStride * kH), 0); }

bool cut(SceneCut& c, const std::vector<std::uint8_t>& f) { return c.cut(f.data(), kW, kH, kStride); }

}  // namespace

TEST_CASE("scene cut: a blank frame and an edit to another place are cuts, people moving are not", "[scene_cut]") {
  SceneCut c(40.0);
  CHECK_FALSE(cut(c, frame(60, 10, 40)));  // the first frame is never a cut
  CHECK_FALSE(cut(c, frame(60, 40, 40)));  // a person walks across
  CHECK_FALSE(cut(c, frame(60, 60, 72)));  // and up to the lens, covering a third of the picture
  CHECK(c.last_difference() > 0.0);
  CHECK(cut(c, blank()));                  // the picture goes black
  CHECK(c.last_histogram_distance() >= SceneCut::kHistogramCut);
  CHECK_FALSE(cut(c, blank()));            // and stays black
  CHECK(cut(c, frame(60, 10, 40)));        // a new clip starts
  CHECK(cut(c, frame(150, 10, 40)));       // an edit to a much brighter room
  CHECK(c.cuts() == 3);
}

TEST_CASE("scene cut: both measures must jump, 0 turns it off, reset forgets the last frame", "[scene_cut]") {
  SceneCut c(40.0);
  CHECK_FALSE(cut(c, frame(60, 10, 40)));
  // Same brightness histogram shape shifted by less than the threshold: no cut.
  CHECK_FALSE(cut(c, frame(90, 10, 40)));
  c.reset();
  CHECK_FALSE(cut(c, blank()));  // first frame after reset
  SceneCut off(0.0);
  CHECK_FALSE(cut(off, frame(60, 10, 40)));
  CHECK_FALSE(cut(off, blank()));
  CHECK(off.cuts() == 0);
}
