#include "actiond/pipeline/sources/source_uri.hpp"
#include "actiond/pipeline/synthetic/workbench.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <set>

using namespace actiond::pipeline;

namespace {
struct Run {
  std::vector<int> labels;
  std::size_t hash = 0;
};
Run play(std::uint64_t seed, int activities, int width = 160, int height = 120) {
  WorkbenchWorld world({seed, width, height, 25.0, activities});
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(width * height * 3));
  Run r;
  while (!world.finished()) {
    r.labels.push_back(world.next_frame(rgb.data()));
    for (std::size_t i = 0; i < rgb.size(); i += 97) r.hash = r.hash * 31 + rgb[i];
    REQUIRE(r.labels.size() < 100000);
  }
  return r;
}
}  // namespace

TEST_CASE("workbench world is deterministic by seed", "[workbench]") {
  const Run a = play(5, 2);
  const Run b = play(5, 2);
  const Run c = play(6, 2);
  CHECK(a.labels == b.labels);
  CHECK(a.hash == b.hash);
  CHECK(a.hash != c.hash);
  CHECK(a.labels.front() == 0);
  CHECK(a.labels.back() == 0);  // ends at rest
}

TEST_CASE("workbench world plays every action, with background between them", "[workbench]") {
  std::set<int> seen;
  long frames = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const Run r = play(seed, 4, 80, 60);
    frames += static_cast<long>(r.labels.size());
    for (std::size_t i = 0; i < r.labels.size(); ++i) {
      REQUIRE(r.labels[i] >= 0);
      REQUIRE(r.labels[i] < static_cast<int>(WorkbenchWorld::labels().size()));
      seen.insert(r.labels[i]);
    }
  }
  CHECK(seen.size() == WorkbenchWorld::labels().size());
  CHECK(WorkbenchWorld::labels().size() >= 11);
  CHECK(frames > 6 * 4 * 25 * 3);  // activities last several seconds each
}

TEST_CASE("synthetic camera URIs", "[workbench][uri]") {
  auto s = parse_source_uri("synthetic://workbench?seed=42&width=160&height=120&fps=10");
  CHECK(s.kind == SourceSpec::Kind::synthetic);
  CHECK(s.live);
  CHECK(s.seed == 42);
  CHECK(s.pattern.width == 160);
  CHECK(parse_source_uri("synthetic://workbench").pattern.width == 320);
  CHECK_THROWS_WITH(parse_source_uri("synthetic://kitchen"),
                    "synthetic://kitchen: unknown synthetic camera \"kitchen\" (known: workbench)");
  CHECK_THROWS_WITH(parse_source_uri("synthetic://workbench?cycle=red"),
                    "synthetic://workbench?cycle=red: unknown parameter \"cycle\" (known: seed, width, height, fps)");
}
