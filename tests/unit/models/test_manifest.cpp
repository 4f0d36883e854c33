#include "actiond/models/manifest.hpp"
#include "actiond/models/models.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace actiond::models;
using actiond::test::test_model_dir;

namespace {
std::string manifest_error(const std::string& text) {
  try {
    parse_manifest(text, "m.pt");
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("manifest parsing", "[manifest]") {
  auto bb = parse_manifest(
      R"({"kind":"backbone","name":"b","version":"2","input":{"width":112,"height":96,"format":"RGB"},"feature_dim":8})",
      "b.pt");
  CHECK(bb.kind == ModelKind::backbone);
  CHECK(bb.input_width == 112);
  CHECK(bb.input_height == 96);
  auto seg = parse_manifest(
      R"({"kind":"segmenter","name":"s","version":"1","feature_dim":8,"labels":["bg","a"],"window":16,"lookahead":2})",
      "s.pt");
  CHECK(seg.labels.size() == 2);
  CHECK(seg.window == 16);
  CHECK(seg.lookahead == 2);
}

TEST_CASE("pose manifests", "[manifest]") {
  const std::string keypoints =
      R"(["nose","left_eye","right_eye","left_ear","right_ear","left_shoulder","right_shoulder","left_elbow",)"
      R"("right_elbow","left_wrist","right_wrist","left_hip","right_hip","left_knee","right_knee","left_ankle","right_ankle"])";
  const std::string head = R"({"kind":"pose","name":"p","version":"3","input":{"width":256,"height":192},"keypoints":)" +
                           keypoints + R"(,"max_persons":6,"licence":"Apache-2.0","source":{"package":"x"},"skeleton":)";
  auto pose = parse_manifest(head + "[[0,1],[5,16]]}", "p.pt");
  CHECK(pose.kind == ModelKind::pose);
  CHECK(pose.input_width == 256);
  CHECK(pose.input_height == 192);
  CHECK(pose.max_persons == 6);
  CHECK(pose.feature_dim == kPoseFeatureDim);
  CHECK(pose.skeleton == std::vector<std::pair<int, int>>{{0, 1}, {5, 16}});
  CHECK(pose.licence == "Apache-2.0");
  std::string swapped = head;
  swapped.replace(swapped.find("left_hip"), 8, "right_hi");
  CHECK(manifest_error(swapped + "[]}") == "m.pt: manifest.json: /keypoints: item 11 must be \"left_hip\" (COCO-17 order)");
  CHECK(manifest_error(head + "[[0,17]]}") ==
        "m.pt: manifest.json: /skeleton: must be an array of [from, to] keypoint indexes (0..16)");
}

TEST_CASE("manifest errors name the model file and key", "[manifest]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"kind":"detector","name":"x","version":"1","feature_dim":8})",
       "m.pt: manifest.json: /kind: must be \"backbone\", \"segmenter\", \"recognizer\" or \"pose\", got \"detector\""},
      {R"({"kind":"pose","name":"x","version":"1","input":{"width":192,"height":192},"keypoints":["nose"],"max_persons":1})",
       "m.pt: manifest.json: /keypoints: must be an array of the 17 COCO keypoint names"},
      {R"({"kind":"pose","name":"x","version":"1","max_persons":1})", "m.pt: manifest.json: /input: is required for a pose model"},
      {R"({"kind":"backbone","name":"x","version":"1","feature_dim":8})",
       "m.pt: manifest.json: /input: is required for a backbone"},
      {R"({"kind":"backbone","name":"x","version":"1","feature_dim":0,"input":{"width":8,"height":8}})",
       "m.pt: manifest.json: /feature_dim: must be between 1 and 65536, got 0"},
      {R"({"kind":"backbone","name":"x","version":"1","feature_dim":8,"input":{"width":8,"height":8,"format":"BGR"}})",
       "m.pt: manifest.json: /input/format: must be \"RGB\", got \"BGR\""},
      {R"({"kind":"segmenter","name":"x","version":"1","feature_dim":8,"window":4})",
       "m.pt: manifest.json: /labels: is required for a segmenter"},
      {R"({"kind":"segmenter","name":"x","version":"1","feature_dim":8,"labels":["a","a"],"window":4})",
       "m.pt: manifest.json: /labels: duplicate label \"a\""},
      {R"({"kind":"segmenter","name":"x","version":"1","feature_dim":8,"labels":["a","b"],"window":4,"lookahead":4})",
       "m.pt: manifest.json: /lookahead: must be between 0 and 3, got 4"},
      {R"({"kind":"segmenter","name":"x","version":"1","feature_dim":8,"labels":["a","b"],"window":4,"extra":1})",
       "m.pt: manifest.json: /extra: unknown key (expected one of: background, calibration, decoding, feature_dim, "
       "feature_layout, kind, labels, lookahead, name, repetitions, sha256, training, version, window)"},
      {R"({"kind":"segmenter","name":"x","version":"1","feature_dim":8,"labels":["a","b"],"window":4,"decoding":{"confirm_frames":0}})",
       "m.pt: manifest.json: /decoding/confirm_frames: must be between 1 and 1000, got 0"},
      {R"({"kind":"segmenter","name":"x","version":"1","feature_dim":8,"labels":["a","b"],"window":4,"repetitions":"yes"})",
       "m.pt: manifest.json: /repetitions: must be true or false, got string"},
      {R"({"kind":"backbone"})", "m.pt: manifest.json: /name: is required"},
  };
  for (const auto& [text, message] : cases) CHECK(manifest_error(text) == message);
}

TEST_CASE("real TorchScript models load and run", "[manifest][torch]") {
  set_threads(1, 1);
  auto bb = Backbone::load(test_model_dir() / "backbone.pt");
  auto seg = Segmenter::load(test_model_dir() / "segmenter.pt");
  CHECK(bb->manifest().feature_dim == 8);
  CHECK(seg->manifest().labels == std::vector<std::string>{"background", "red", "green", "blue"});
  check_compatible(bb->manifest(), bb->path(), seg->manifest(), seg->path());

  // A red frame with padded rows (stride > 3*width), as GStreamer may hand them over.
  const int w = bb->manifest().input_width;
  const int h = bb->manifest().input_height;
  const int stride = w * 3 + 4;
  std::vector<std::uint8_t> red(static_cast<std::size_t>(stride * h), 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) red[static_cast<std::size_t>(y * stride + x * 3)] = 255;
  }
  std::vector<std::uint8_t> black(static_cast<std::size_t>(w * h * 3), 0);
  std::vector<float> features;
  bb->infer({ImageView{black.data(), w, h, w * 3}, ImageView{red.data(), w, h, stride}}, features);
  REQUIRE(features.size() == 16);
  CHECK(features[0] == Approx(0.0f));
  CHECK(features[8] == Approx(1.0f));  // mean red of the red frame

  SegmenterOutput out;
  seg->run(features.data(), 2, out);
  REQUIRE(out.frames == 2);
  REQUIRE(out.classes == 4);
  CHECK(out.probs[0] > 0.9f);      // black frame -> background
  CHECK(out.probs[4 + 1] > 0.9f);  // red frame -> red
  CHECK(out.boundary[1] > 0.9f);   // black -> red is a boundary

  std::vector<std::uint8_t> small(static_cast<std::size_t>(8 * 8 * 3), 0);
  CHECK_THROWS_WITH(bb->infer({ImageView{small.data(), 8, 8, 24}}, features),
                    Catch::EndsWith("backbone.pt: frame is 8x8, model input is 112x112"));
}

TEST_CASE("broken model files are refused with the file and the problem", "[manifest][torch]") {
  const auto dir = test_model_dir();
  CHECK_THROWS_WITH(Backbone::load(dir / "missing.pt"), (dir / "missing.pt").string() + ": model file does not exist");
  CHECK_THROWS_WITH(Backbone::load(dir / "not_torchscript.pt"),
                    Catch::StartsWith((dir / "not_torchscript.pt").string() + ": not a loadable TorchScript model"));
  CHECK_THROWS_WITH(Backbone::load(dir / "no_manifest.pt"),
                    (dir / "no_manifest.pt").string() +
                        ": manifest.json is missing (save it with torch.jit.save(..., _extra_files=...))");
  CHECK_THROWS_WITH(Backbone::load(dir / "wrong_output.pt"),
                    (dir / "wrong_output.pt").string() + ": output shape [1,5] does not match manifest [1,8]");
  CHECK_THROWS_WITH(Segmenter::load(dir / "backbone.pt"),
                    (dir / "backbone.pt").string() + ": manifest kind is \"backbone\", expected \"segmenter\"");

  auto bb = Backbone::load(dir / "backbone.pt");
  auto wide = Segmenter::load(dir / "segmenter_dim16.pt");
  CHECK_THROWS_WITH(check_compatible(bb->manifest(), bb->path(), wide->manifest(), wide->path()),
                    (dir / "segmenter_dim16.pt").string() + ": expects feature_dim 16 but backbone " +
                        (dir / "backbone.pt").string() + " produces 8");
}
