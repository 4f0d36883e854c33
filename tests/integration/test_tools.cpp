// The offline tools on real files: `actiond world` writes a benchmark, `actiond extract` reads it back
// through the daemon's decode path and a real TorchScript backbone.
#include "actiond/tools/extract_command.hpp"
#include "actiond/tools/workbench_eval.hpp"
#include "actiond/tools/world_command.hpp"
#include "actiond/pipeline/files/npy_file.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace actiond;
using namespace actiond::tools;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}
}  // namespace

TEST_CASE("npy files round-trip", "[tools]") {
  actiond::test::TempDir dir;
  const std::vector<float> data{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  pipeline::write_npy((dir.path() / "a.npy").string(), "<f4", {3, 2}, data.data(), data.size() * sizeof(float));
  std::vector<long> shape;
  const auto back = actiond::pipeline::read_npy(dir.path() / "a.npy", shape);
  CHECK(shape == std::vector<long>{3, 2});
  CHECK(back == std::vector<double>{1.5, -2.0, 3.25, 0.0, 7.0, 8.0});
  CHECK_THROWS_WITH(actiond::pipeline::read_npy(dir.path() / "nope.npy", shape), Catch::EndsWith("nope.npy: cannot open file"));
}

TEST_CASE("world writes a benchmark that extract reads back through the serving path", "[tools][integration]") {
  actiond::test::TempDir dir;
  WorldOptions w;
  w.out = (dir.path() / "world").string();
  w.videos = 3;
  w.seed = 3;
  w.activities = 1;
  w.width = 160;
  w.height = 120;
  w.test_fraction = 0.34;
  std::ostringstream log;
  REQUIRE(run_world(w, log) == 0);
  const auto mapping = lines_of(dir.path() / "world" / "mapping.txt");
  REQUIRE(mapping.size() == 11);
  CHECK(mapping[0] == "0 background");
  CHECK(lines_of(dir.path() / "world" / "splits" / "train.split1.bundle") == std::vector<std::string>{"wb_000.mp4"});
  CHECK(lines_of(dir.path() / "world" / "splits" / "val.split1.bundle") == std::vector<std::string>{"wb_001.mp4"});
  CHECK(lines_of(dir.path() / "world" / "splits" / "test.split1.bundle") == std::vector<std::string>{"wb_002.mp4"});
  const auto gt = lines_of(dir.path() / "world" / "groundTruth" / "wb_000.txt");
  REQUIRE(gt.size() > 100);

  ExtractOptions e;
  e.model = (actiond::test::test_model_dir() / "backbone.pt").string();
  e.videos = (dir.path() / "world" / "videos").string();
  e.out = (dir.path() / "features").string();
  e.fps = 5;
  e.frames_size = "112x112";
  REQUIRE(run_extract(e, log) == 0);
  // Not a terminal: plain lines for logs and CI, no carriage-return redraws.
  CHECK(log.str().find('\r') == std::string::npos);
  CHECK_THAT(log.str(), Catch::Contains("world: 1/"));
  CHECK_THAT(log.str(), Catch::Contains("extract [") && Catch::Contains("frames)\n"));
  std::vector<long> fshape;
  std::vector<long> pshape;
  std::vector<long> shape;
  actiond::pipeline::read_npy((dir.path() / "features" / "wb_000.features.npy").string(), fshape);
  const auto pts = actiond::pipeline::read_npy((dir.path() / "features" / "wb_000.pts.npy").string(), pshape);
  REQUIRE(fshape.size() == 2);
  CHECK(fshape[1] == 8);
  CHECK(pshape[0] == fshape[0]);
  // 25 fps video analysed at 5 fps: one feature per 5 video frames.
  CHECK(std::abs(fshape[0] - static_cast<long>(gt.size()) / 5) <= 2);
  for (std::size_t i = 1; i < pts.size(); ++i) CHECK(pts[i] - pts[i - 1] == Approx(0.2).margin(1e-6));
  CHECK(fs::file_size(dir.path() / "features" / "wb_000.frames.npy") > static_cast<std::uintmax_t>(fshape[0] * 112 * 112 * 3));

  // A segmenter whose labels are not the benchmark's is refused, naming both.
  WorkbenchEvalOptions ev;
  ev.world = (dir.path() / "world").string();
  ev.features = e.out;
  ev.segmenter = (actiond::test::test_model_dir() / "segmenter.pt").string();
  CHECK_THROWS_WITH(evaluate_workbench(ev), Catch::Contains("labels differ from") && Catch::EndsWith("mapping.txt"));
}
