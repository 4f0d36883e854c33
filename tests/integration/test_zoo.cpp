// features:// cameras and the seed model zoo: a feature file replayed into the ring buffer drives each
// zoo model (briefly trained tiny weights, scripts/make_tiny_models.py --zoo) as a camera's segmenter
// and recognizer, through the real daemon, publisher and subscriber.
#include "actiond/config/config.hpp"
#include "actiond/daemon/runtime/daemon.hpp"
#include "actiond/pipeline/files/npy_file.hpp"

#include "daemon_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <tuple>

using namespace actiond;
using namespace std::chrono_literals;
using nlohmann::json;
using test::of_type;
using test::TempDir;

namespace {

// np.save of a float32 [rows, dim] array.
void write_npy(const std::filesystem::path& path, const std::vector<float>& data, int rows, int dim) {
  pipeline::write_npy(path.string(), "<f4", {rows, dim}, data.data(), data.size() * sizeof(float));
}

// The tiny zoo models' world: 8-d features, label k in 1..3 sets dimension k-1 high. Here: background,
// then "red" (label 1), background, "green" (label 2), 30 frames each.
std::vector<float> script_features() {
  std::vector<float> f;
  const int labels[] = {0, 1, 0, 2, 0};
  for (int label : labels) {
    for (int t = 0; t < 30; ++t) {
      float row[8] = {0, 0, 0, 0, 0, 0, 0, 1};
      if (label > 0) row[label - 1] = 1.0f;
      f.insert(f.end(), row, row + 8);
    }
  }
  return f;
}

std::string zoo_daemon_json(const std::string& name) {
  return R"({"publish": {"endpoint": "tcp://127.0.0.1:*", "startup_grace_ms": 0},
             "control": {"endpoint": "tcp://127.0.0.1:*"}, "metrics": {"enabled": false},
             "log": {"level": "warn"},
             "models": {"seg": {"path": "zoo/)" + name + R"(-segmenter.pt"},
                        "rec": {"path": "zoo/)" + name + R"(-recognizer.pt"}}})";
}

std::string features_camera(const std::filesystem::path& file, const std::string& extra = "") {
  return R"({"id": "feat", "uri": "features://)" + file.string() + R"(", "fps": 15, "realtime": false, )" + extra +
         R"("tracker": {"min_duration_s": 0.5}, "recognition": {"interval_s": 1, "min_confidence": 0},
            "models": {"segmenter": "seg", "recognizer": "rec"}})";
}

}  // namespace

TEST_CASE("feature files: shape, dtype and truncation are checked with the file named", "[integration][features]") {
  TempDir dir;
  write_npy(dir.path() / "ok.npy", script_features(), 150, 8);
  const auto ok = pipeline::read_feature_file(dir.path() / "ok.npy");
  CHECK(ok.frames == 150);
  CHECK(ok.dim == 8);
  CHECK(ok.data[8 * 30] == 1.0f);  // first "red" row
  dir.write("text.npy", "not numpy at all");
  CHECK_THROWS_WITH(pipeline::read_feature_header(dir.path() / "text.npy"), (dir.path() / "text.npy").string() + ": not a NumPy .npy file");
  std::vector<float> short_data(8 * 10, 0.0f);
  write_npy(dir.path() / "short.npy", short_data, 20, 8);
  CHECK_THROWS_WITH(pipeline::read_feature_file(dir.path() / "short.npy"),
                    (dir.path() / "short.npy").string() + ": truncated: the header says 20x8 values");
}

TEST_CASE("a features:// camera whose rows do not fit its models is refused at start, naming both", "[integration][features]") {
  TempDir dir;
  write_npy(dir.path() / "wide.npy", std::vector<float>(12 * 5, 0.0f), 5, 12);
  dir.write("actiond.json", zoo_daemon_json("tsn"));
  dir.write("cameras/feat.json", features_camera(dir.path() / "wide.npy"));
  try {
    daemon::Daemon d(test::load(dir));
    FAIL("expected an error");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()) == "cameras/feat.json: /models: " + (test::test_model_dir() / "zoo/tsn-segmenter.pt").string() +
                                       ": expects feature_dim 8 but features://" + (dir.path() / "wide.npy").string() +
                                       " has rows of 12");
  }
}

TEST_CASE("pose repetition counting on a segmenter that does not read pose features is refused at start", "[integration][features]") {
  TempDir dir;
  write_npy(dir.path() / "script.npy", script_features(), 150, 8);
  dir.write("actiond.json", zoo_daemon_json("tcn"));
  dir.write("cameras/feat.json", R"({"id": "feat", "uri": "features://)" + (dir.path() / "script.npy").string() +
                                     R"(", "tracker": {"repetition_source": "pose"}, "models": {"segmenter": "seg"}})");
  try {
    daemon::Daemon d(test::load(dir));
    FAIL("expected an error");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()) == "cameras/feat.json: /models: " + (test::test_model_dir() / "zoo/tcn-segmenter.pt").string() +
                                       ": tracker.repetition_source \"pose\" needs a segmenter over pose features "
                                       "(feature_layout \"coco17-pose-features\"); this one has \"\"");
  }
}

TEST_CASE("every zoo model runs as a features:// camera's segmenter and recognizer", "[integration][features][zoo]") {
  const std::string name = GENERATE(as<std::string>{}, "tsn", "tcn", "tsm", "tin", "cast", "oadtr", "afnet", "gru",
                                     "ensemble");
  INFO("model " << name);
  TempDir dir;
  write_npy(dir.path() / "script.npy", script_features(), 150, 8);
  dir.write("actiond.json", zoo_daemon_json(name));
  dir.write("cameras/feat.json", features_camera(dir.path() / "script.npy"));
  daemon::Daemon d(test::load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const std::vector<json>& ev) { return test::has_status(ev, "feat", "eos"); }, 60s));
  d.stop();
  const auto events = sub.events();
  test::check_stream_invariants(events);
  // The script's two actions, in order, each a closed segment.
  std::vector<std::string> labels;
  for (const auto& e : of_type(events, "segment.end")) labels.push_back(e["segment"]["label"]);
  CHECK(labels == std::vector<std::string>{"red", "green"});
  // Recognitions about once a second of stream time (10 s of features at 15 fps).
  const auto recs = of_type(events, "recognition");
  CHECK(recs.size() >= 7);
  CHECK(recs.size() <= 10);
}

TEST_CASE("a model that throws ends the camera's segment with error, and the daemon goes on", "[integration][features]") {
  // Background, "red", three red rows that make the trap segmenter raise while they are in its
  // window (16 frames), red again, background: 30, 40, 3, 40, 30 frames.
  std::vector<float> f;
  for (const auto& [label, trap, n] : std::vector<std::tuple<int, bool, int>>{{0, false, 30}, {1, false, 40}, {1, true, 3},
                                                                            {1, false, 40}, {0, false, 30}}) {
    for (int t = 0; t < n; ++t) {
      float row[8] = {0, 0, 0, 0, 0, 0, trap ? 9.0f : 0.0f, 1};
      if (label > 0) row[label - 1] = 1.0f;
      f.insert(f.end(), row, row + 8);
    }
  }
  TempDir dir;
  write_npy(dir.path() / "trap.npy", f, 143, 8);
  dir.write("actiond.json", R"({"publish": {"endpoint": "tcp://127.0.0.1:*", "startup_grace_ms": 0},
             "control": {"endpoint": "tcp://127.0.0.1:*"}, "metrics": {"enabled": false},
             "log": {"level": "warn"}, "models": {"seg": {"path": "trap_segmenter.pt"}}})");
  dir.write("cameras/feat.json", R"({"id": "feat", "uri": "features://)" + (dir.path() / "trap.npy").string() +
                                     R"(", "fps": 15, "realtime": false, "tracker": {"min_duration_s": 0.5},
                                     "models": {"segmenter": "seg"}})");
  daemon::Daemon d(test::load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const std::vector<json>& ev) { return test::has_status(ev, "feat", "eos"); }, 60s));
  CHECK(d.health().loop_alive);
  d.stop();
  const auto events = sub.events();
  test::check_stream_invariants(events);
  std::vector<std::string> ends;
  for (const auto& e : of_type(events, "segment.end")) ends.push_back(e["segment"]["end_reason"]);
  // The red segment ends when the model fails; a new one starts once it works again and ends in background.
  CHECK(ends == std::vector<std::string>{"error", "background"});
  CHECK(of_type(events, "segment.start").size() == 2);
}
