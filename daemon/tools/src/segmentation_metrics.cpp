#include "actiond/tools/segmentation_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace actiond::tools {

std::vector<LabelRun> label_runs(const std::vector<int>& labels, const std::set<int>& background) {
  std::vector<LabelRun> runs;
  if (labels.empty()) return runs;
  auto is_bg = [&](int l) { return background.count(l) != 0; };
  int last = labels[0];
  if (!is_bg(last)) runs.push_back({last, 0, -1});
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == last) continue;
    if (!is_bg(last)) runs.back().end = static_cast<int>(i);
    if (!is_bg(labels[i])) runs.push_back({labels[i], static_cast<int>(i), -1});
    last = labels[i];
  }
  if (!is_bg(last)) runs.back().end = static_cast<int>(labels.size()) - 1;  // eval.py's `ends.append(i)`
  return runs;
}

double edit_score(const std::vector<int>& pred, const std::vector<int>& gt, const std::set<int>& background) {
  const auto p = label_runs(pred, background);
  const auto y = label_runs(gt, background);
  const std::size_t m = p.size();
  const std::size_t n = y.size();
  if (m == 0 && n == 0) return 100.0;
  std::vector<std::vector<double>> d(m + 1, std::vector<double>(n + 1, 0.0));
  for (std::size_t i = 0; i <= m; ++i) d[i][0] = static_cast<double>(i);
  for (std::size_t j = 0; j <= n; ++j) d[0][j] = static_cast<double>(j);
  for (std::size_t j = 1; j <= n; ++j) {
    for (std::size_t i = 1; i <= m; ++i) {
      if (y[j - 1].label == p[i - 1].label) {
        d[i][j] = d[i - 1][j - 1];
      } else {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + 1});
      }
    }
  }
  return (1.0 - d[m][n] / static_cast<double>(std::max(m, n))) * 100.0;
}

F1Counts f1_counts(const std::vector<int>& pred, const std::vector<int>& gt, double overlap,
                   const std::set<int>& background) {
  const auto p = label_runs(pred, background);
  const auto y = label_runs(gt, background);
  F1Counts c;
  std::vector<bool> hit(y.size(), false);
  for (const auto& s : p) {
    double best = -1.0;
    std::size_t best_idx = 0;
    for (std::size_t k = 0; k < y.size(); ++k) {
      // eval.py: IoU times (labels equal); argmax takes the first maximum.
      const double inter = std::min(s.end, y[k].end) - std::max(s.start, y[k].start);
      const double uni = std::max(s.end, y[k].end) - std::min(s.start, y[k].start);
      const double iou = (uni > 0 ? inter / uni : 0.0) * (s.label == y[k].label ? 1.0 : 0.0);
      if (iou > best) {
        best = iou;
        best_idx = k;
      }
    }
    if (!y.empty() && best >= overlap && !hit[best_idx]) {
      c.tp += 1;
      hit[best_idx] = true;
    } else {
      c.fp += 1;
    }
  }
  c.fn = static_cast<double>(std::count(hit.begin(), hit.end(), false));
  return c;
}

SegmentationMetrics::SegmentationMetrics(std::set<int> background, double fps)
    : background_(std::move(background)), fps_(fps) {}

void SegmentationMetrics::add(const std::vector<int>& pred, const std::vector<int>& gt,
                              const std::vector<int>& decided_at) {
  if (pred.size() != gt.size()) {
    throw std::invalid_argument("prediction has " + std::to_string(pred.size()) + " frames, ground truth " +
                                std::to_string(gt.size()));
  }
  ++videos_;
  frames_ += static_cast<long>(gt.size());
  for (std::size_t i = 0; i < gt.size(); ++i) correct_ += pred[i] == gt[i];
  for (std::size_t i = 1; i < pred.size(); ++i) switches_ += pred[i] != pred[i - 1];
  edit_sum_ += edit_score(pred, gt, background_);
  const double overlaps[3] = {0.10, 0.25, 0.50};
  for (int k = 0; k < 3; ++k) {
    const F1Counts c = f1_counts(pred, gt, overlaps[k], background_);
    f1_[k].tp += c.tp;
    f1_[k].fp += c.fp;
    f1_[k].fn += c.fn;
  }
  if (!decided_at.empty()) {
    // Boundary detection latency: for each true boundary, the nearest predicted boundary within one
    // second where the label changes to the same new label; latency = when that prediction was emitted
    // minus the true boundary time.
    const int tolerance = std::max(1, static_cast<int>(std::lround(fps_)));
    for (std::size_t t = 1; t < gt.size(); ++t) {
      if (gt[t] == gt[t - 1]) continue;
      int found = -1;
      for (int d = 0; d <= tolerance && found < 0; ++d) {
        for (int sgn : {1, -1}) {
          const long u = static_cast<long>(t) + sgn * d;
          if (u < 1 || u >= static_cast<long>(pred.size())) continue;
          if (pred[static_cast<std::size_t>(u)] != pred[static_cast<std::size_t>(u) - 1] &&
              pred[static_cast<std::size_t>(u)] == gt[t]) {
            found = static_cast<int>(u);
            break;
          }
        }
      }
      if (found < 0) continue;
      latency_sum_s_ += (decided_at[static_cast<std::size_t>(found)] - static_cast<double>(t)) / fps_;
      ++latency_n_;
    }
  }
}

SegmentationResult SegmentationMetrics::result() const {
  SegmentationResult r;
  r.videos = videos_;
  r.frames = frames_;
  r.accuracy = frames_ > 0 ? 100.0 * static_cast<double>(correct_) / static_cast<double>(frames_) : 0.0;
  r.edit = videos_ > 0 ? edit_sum_ / videos_ : 0.0;
  double* out[3] = {&r.f1_10, &r.f1_25, &r.f1_50};
  for (int k = 0; k < 3; ++k) {
    const double precision = f1_[k].tp + f1_[k].fp > 0 ? f1_[k].tp / (f1_[k].tp + f1_[k].fp) : 0.0;
    const double recall = f1_[k].tp + f1_[k].fn > 0 ? f1_[k].tp / (f1_[k].tp + f1_[k].fn) : 0.0;
    *out[k] = precision + recall > 0 ? 200.0 * precision * recall / (precision + recall) : 0.0;
  }
  const double minutes = static_cast<double>(frames_) / fps_ / 60.0;
  r.switches_per_minute = minutes > 0 ? static_cast<double>(switches_) / minutes : 0.0;
  r.boundary_latency_s = latency_n_ > 0 ? latency_sum_s_ / latency_n_ : 0.0;
  r.boundaries_matched = latency_n_;
  return r;
}

nlohmann::json metrics_row(const std::string& decoding, const SegmentationResult& r, bool with_latency) {
  auto r1 = [](double v) { return std::round(v * 10.0) / 10.0; };
  nlohmann::json j{{"decoding", decoding}, {"acc", r1(r.accuracy)}, {"edit", r1(r.edit)},
                   {"f1@10", r1(r.f1_10)},  {"f1@25", r1(r.f1_25)}, {"f1@50", r1(r.f1_50)},
                   {"switches_per_min", r1(r.switches_per_minute)}};
  if (with_latency) {
    j["boundary_latency_s"] = std::round(r.boundary_latency_s * 100.0) / 100.0;
    j["boundaries_matched"] = r.boundaries_matched;
  }
  return j;
}

void print_metrics_table(const nlohmann::json& rows, std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof(line), "%-64s %6s %6s %6s %6s %6s %8s %9s\n", "decoding", "Acc", "Edit", "F1@10", "F1@25",
                "F1@50", "sw/min", "latency");
  out << line;
  for (const auto& r : rows) {
    char latency[32] = "-";
    if (r.contains("boundary_latency_s")) std::snprintf(latency, sizeof(latency), "%.2f s", r["boundary_latency_s"].get<double>());
    std::snprintf(line, sizeof(line), "%-64s %6.1f %6.1f %6.1f %6.1f %6.1f %8.1f %9s\n",
                  r["decoding"].get<std::string>().c_str(), r["acc"].get<double>(), r["edit"].get<double>(),
                  r["f1@10"].get<double>(), r["f1@25"].get<double>(), r["f1@50"].get<double>(),
                  r["switches_per_min"].get<double>(), latency);
    out << line;
  }
}

}  // namespace actiond::tools
