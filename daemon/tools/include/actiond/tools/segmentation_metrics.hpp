#pragma once
// Temporal action segmentation metrics exactly as MS-TCN's eval.py defines them (Abu Farha & Gall,
// CVPR 2019, itself from Lea et al.'s TCN code):
//   - segments are maximal runs of one label; background labels are dropped;
//   - a video's last segment ends at index T-1 (not T), as in eval.py;
//   - Edit = (1 - Levenshtein(pred segments, gt segments) / max(len)) * 100, averaged over videos;
//   - F1@k: each predicted segment matches the unmatched ground-truth segment of the same label with the
//     highest IoU if IoU >= k; tp/fp/fn are pooled over all videos, then F1 = 2PR/(P+R) * 100;
//   - Acc = correctly labelled frames / all frames * 100, pooled.
// Plus two online-decoding figures: label switches per minute and boundary detection latency.
//
// Thread-safety: pure functions; an accumulator belongs to one thread.
#include <nlohmann/json.hpp>

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace actiond::tools {

struct LabelRun {
  int label = 0;
  int start = 0;
  int end = 0;  // as eval.py: the index where the next run starts (last run: T-1)
};

std::vector<LabelRun> label_runs(const std::vector<int>& labels, const std::set<int>& background);
double edit_score(const std::vector<int>& pred, const std::vector<int>& gt, const std::set<int>& background);

struct F1Counts {
  double tp = 0;
  double fp = 0;
  double fn = 0;
};
F1Counts f1_counts(const std::vector<int>& pred, const std::vector<int>& gt, double overlap,
                   const std::set<int>& background);

struct SegmentationResult {
  int videos = 0;
  long frames = 0;
  double accuracy = 0;   // %
  double edit = 0;       // %
  double f1_10 = 0;      // %
  double f1_25 = 0;
  double f1_50 = 0;
  double switches_per_minute = 0;     // label changes of the prediction per minute of video
  double boundary_latency_s = 0;  // online: mean delay from a true boundary to the emission of the matching
                                  // predicted boundary (same new label, within 1 s of it)
  int boundaries_matched = 0;
};

// Accumulates videos, then reports the pooled figures.
class SegmentationMetrics {
 public:
  SegmentationMetrics(std::set<int> background, double fps);
  // `decided_at[t]` (optional): frame index at which the prediction for frame t was emitted (online
  // decoding); used for boundary detection latency. Empty = offline (latency not reported).
  void add(const std::vector<int>& pred, const std::vector<int>& gt, const std::vector<int>& decided_at = {});
  SegmentationResult result() const;

 private:
  std::set<int> background_;
  double fps_;
  int videos_ = 0;
  long frames_ = 0;
  long correct_ = 0;
  double edit_sum_ = 0;
  F1Counts f1_[3];
  long switches_ = 0;
  double latency_sum_s_ = 0;
  int latency_n_ = 0;
};

// One row of an eval report: {"decoding", "acc", "edit", "f1@10", "f1@25", "f1@50", "switches_per_min"
// [, "boundary_latency_s", "boundaries_matched"]}, rounded to 0.1.
nlohmann::json metrics_row(const std::string& decoding, const SegmentationResult& r, bool with_latency);
// Prints rows as an aligned table (header first).
void print_metrics_table(const nlohmann::json& rows, std::ostream& out);

}  // namespace actiond::tools
