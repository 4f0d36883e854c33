#include "actiond/tools/eval_command.hpp"
#include "actiond/daemon/analysis/online_decoder.hpp"
#include "actiond/tools/segmentation_metrics.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>


using namespace actiond::daemon;
using namespace actiond::tools;

namespace {
const std::set<int> kBg{0};

}  // namespace

TEST_CASE("label runs follow eval.py, including its last-run end", "[metrics]") {
  const auto runs = label_runs({0, 1, 1, 0, 2, 2, 2}, kBg);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].label == 1);
  CHECK(runs[0].start == 1);
  CHECK(runs[0].end == 3);
  CHECK(runs[1].start == 4);
  CHECK(runs[1].end == 6);  // T-1, as eval.py
  CHECK(label_runs({0, 0}, kBg).empty());
}

TEST_CASE("edit score and F1 on hand-made sequences", "[metrics]") {
  const std::vector<int> gt{0, 1, 1, 1, 1, 0, 2, 2, 2, 2};
  CHECK(edit_score(gt, gt, kBg) == Approx(100));
  CHECK(edit_score({0, 1, 1, 2, 1, 0, 2, 2, 2, 2}, gt, kBg) == Approx((1 - 2.0 / 4) * 100));  // 1 2 1 2 vs 1 2
  CHECK(edit_score({0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, gt, kBg) == Approx(0));
  const auto perfect = f1_counts(gt, gt, 0.5, kBg);
  CHECK(perfect.tp == 2);
  CHECK(perfect.fp == 0);
  CHECK(perfect.fn == 0);
  // The second segment predicted too short: IoU 2/3 passes 0.5; a wrong label never matches.
  const auto shifted = f1_counts({0, 1, 1, 1, 1, 0, 0, 2, 2, 2}, gt, 0.5, kBg);
  CHECK(shifted.tp == 2);
  const auto wrong = f1_counts({0, 3, 3, 3, 3, 0, 2, 2, 2, 2}, gt, 0.1, kBg);
  CHECK(wrong.tp == 1);
  CHECK(wrong.fp == 1);
  CHECK(wrong.fn == 1);
  // A duplicate match counts as a false positive.
  const auto split = f1_counts({0, 1, 1, 0, 1, 0, 2, 2, 2, 2}, gt, 0.1, kBg);
  CHECK(split.tp == 2);
  CHECK(split.fp == 1);
}

TEST_CASE("online decoding uses the daemon tracker and removes flicker", "[metrics][online]") {
  // Scores favouring class 1 for frames 5..14 with single-frame flips to class 2.
  std::vector<std::vector<float>> scores(30, {2.0f, 0.0f, 0.0f});
  for (int t = 5; t < 15; ++t) scores[static_cast<std::size_t>(t)] = {0.0f, 2.0f, 0.0f};
  scores[8] = {0.0f, 0.0f, 2.0f};
  scores[20] = {0.0f, 0.0f, 2.0f};  // lone noisy frame in background
  OnlineDecodeOptions opt;
  opt.fps = 10;
  opt.tracker.threshold = 0;
  opt.tracker.confirm_frames = 2;
  opt.tracker.min_duration_s = 0.3;
  opt.lookahead = 1;
  opt.history = 1;
  const auto d = decode_online(scores, opt);
  std::vector<int> expect(30, 0);
  for (int t = 5; t < 15; ++t) expect[static_cast<std::size_t>(t)] = 1;
  CHECK(d.labels == expect);
  CHECK(argmax_labels(scores)[8] == 2);
  // The start was emitted after confirmation + look-ahead, not before the frame existed.
  CHECK(d.decided_at[5] > 5);
  CHECK(d.decided_at[5] <= 5 + 1 + 2 + 1);
}

TEST_CASE("eval refuses files that are not score files, naming them", "[metrics]") {
  actiond::test::TempDir dir;
  EvalOptions opt;
  opt.scores_file = dir.write("x.json", "[1,2]").string();
  CHECK_THROWS_WITH(evaluate_score_file(opt), opt.scores_file + ": not a score file (expected an object with \"splits\")");
  opt.scores_file = (dir.path() / "missing.json").string();
  CHECK_THROWS_WITH(evaluate_score_file(opt), opt.scores_file + ": cannot open file");
}
