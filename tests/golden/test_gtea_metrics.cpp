// Golden figures on real data from ../shared/data (not in the repository): the segmentation metrics
// reproduce the published GTEA reference figures. Without the data each test says it was skipped
// (ctest shows it as skipped, label "golden") instead of failing.
#include "actiond/tools/eval_command.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace actiond::tools;

namespace {

std::filesystem::path gtea(const std::string& file) { return actiond::test::shared_data_dir() / "gtea-scores" / file; }

// ctest's SKIP_REGULAR_EXPRESSION for the golden tests matches this warning.
bool have_gtea() {
  if (std::filesystem::exists(gtea("SVM.json"))) return true;
  WARN("skipped: " << gtea("").string() << " not found (clone ../shared beside the project or set ACTIOND_SHARED_DIR)");
  return false;
}

double metric(const nlohmann::json& result, const std::string& decoding_prefix, const std::string& key) {
  for (const auto& r : result["rows"]) {
    if (r["decoding"].get<std::string>().rfind(decoding_prefix, 0) == 0) return r[key].get<double>();
  }
  FAIL("no row " << decoding_prefix);
  return 0;
}

}  // namespace

TEST_CASE("golden: MS-TCN metrics reproduce the GTEA reference figures", "[metrics][golden]") {
  if (!have_gtea()) return;
  EvalOptions opt;
  opt.scores_file = gtea("ED-TCN_L2_C25.json").string();
  auto ed = evaluate_score_file(opt);
  CHECK(metric(ed, "offline: file's", "acc") == Approx(63.3).margin(0.05));
  CHECK(metric(ed, "offline: file's", "edit") == Approx(69.9).margin(0.05));
  CHECK(metric(ed, "offline: file's", "f1@10") == Approx(72.0).margin(0.05));
  CHECK(metric(ed, "offline: file's", "f1@25") == Approx(67.2).margin(0.05));
  CHECK(metric(ed, "offline: file's", "f1@50") == Approx(54.7).margin(0.05));

  opt.scores_file = gtea("SVM.json").string();
  auto svm = evaluate_score_file(opt);
  CHECK(metric(svm, "offline: file's", "acc") == Approx(53.1).margin(0.05));
  CHECK(metric(svm, "offline: file's", "edit") == Approx(35.7).margin(0.05));
  CHECK(metric(svm, "offline: file's", "f1@10") == Approx(41.9).margin(0.05));
  CHECK(metric(svm, "offline: file's", "f1@25") == Approx(35.6).margin(0.05));
  CHECK(metric(svm, "offline: file's", "f1@50") == Approx(25.7).margin(0.05));
  // pred is argmax(scores) for the SVM: both rows agree.
  CHECK(metric(svm, "offline: frame-wise", "edit") == Approx(35.7).margin(0.05));
}

TEST_CASE("online decoding of the GTEA SVM scores lifts Edit and F1@50 well above raw argmax", "[metrics][golden]") {
  if (!have_gtea()) return;
  EvalOptions opt;
  opt.scores_file = gtea("SVM.json").string();
  for (int lookahead : {0, 2}) {
    opt.lookahead_frames = lookahead;
    auto r = evaluate_score_file(opt);
    INFO("look-ahead " << lookahead);
    CHECK(metric(r, "online", "edit") > 35.7 + 10);
    CHECK(metric(r, "online", "f1@50") > 25.7 + 7);
    CHECK(metric(r, "online", "switches_per_min") < metric(r, "offline: frame-wise", "switches_per_min"));
  }
}


TEST_CASE("golden: eval --timeline draws each video's truth above its online decoding", "[metrics][golden]") {
  if (!have_gtea()) return;
  actiond::test::TempDir dir;
  EvalOptions opt;
  opt.scores_file = gtea("ED-TCN_L2_C25.json").string();
  opt.timeline = (dir.path() / "t.png").string();
  const auto result = evaluate_score_file(opt);
  CHECK(result.at("timeline") == opt.timeline);
  std::ifstream in(opt.timeline, std::ios::binary);
  std::string head(24, '\0');
  in.read(head.data(), 24);
  REQUIRE(head.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(head[at]) << 24) | (static_cast<unsigned char>(head[at + 1]) << 16) |
           (static_cast<unsigned char>(head[at + 2]) << 8) | static_cast<unsigned char>(head[at + 3]);
  };
  CHECK(head.substr(12, 4) == "IHDR");
  CHECK(be32(16) == 1200);
  const int videos = result.at("videos").get<int>();
  CHECK(videos == 21);
  CHECK(be32(20) == 8 * 2 + videos * (2 * 12 + 2 + 10) - 10);  // margins, two 12 px rows + gaps per video
}
