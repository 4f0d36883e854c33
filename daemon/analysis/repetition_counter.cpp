#include "actiond/daemon/analysis/repetition_counter.hpp"

#include <algorithm>
#include <cmath>

namespace actiond::daemon {

RepetitionCounter::RepetitionCounter(RepetitionCounterSettings s) : s_(s), outer_(kDims * kDims, 0.0) {}

std::vector<FramePoint> RepetitionCounter::push(const float* row, const FramePoint& at) {
  bool seen = false;
  std::array<float, kDims> x{};
  bool finite = true;
  for (int k = 0; k < kDims / 2; ++k) {
    seen = seen || row[k * 5 + 4] > 0.0f;
    x[static_cast<std::size_t>(2 * k)] = row[k * 5];
    x[static_cast<std::size_t>(2 * k + 1)] = row[k * 5 + 1];
    finite = finite && std::isfinite(row[k * 5]) && std::isfinite(row[k * 5 + 1]);
  }
  if (!seen || !finite) return {};  // a non-finite position would poison the sums for good
  if (rows_.size() >= kMaxFrames) {  // a fresh buffer, keeping what it counted
    base_ += best_;
    best_ = 0;
    rows_.clear();
    points_.clear();
    sum_.fill(0.0);
    std::fill(outer_.begin(), outer_.end(), 0.0);
  }
  rows_.push_back(x);
  points_.push_back(at);
  for (std::size_t i = 0; i < kDims; ++i) {
    sum_[i] += x[i];
    for (std::size_t j = 0; j < kDims; ++j) outer_[i * kDims + j] += static_cast<double>(x[i]) * x[j];
  }
  if (rows_.size() < 3) return {};
  top_component();
  std::vector<double> signal;
  const auto t = turns(signal);
  const int count = static_cast<int>((t.size() + 1) / 2);
  std::vector<FramePoint> started;
  for (int k = best_ + 1; k <= count; ++k) {
    std::size_t start = 0;
    if (k >= 2) {
      start = t[static_cast<std::size_t>(2 * k - 3)];
    } else {  // the first: the opposite extreme before the first turn
      const auto first = signal.begin() + static_cast<std::ptrdiff_t>(t[0]) + 1;
      const bool maximum = signal[t[0]] >= signal[0];
      start = static_cast<std::size_t>((maximum ? std::min_element(signal.begin(), first) : std::max_element(signal.begin(), first)) -
                                       signal.begin());
    }
    started.push_back(points_[start]);
  }
  best_ = std::max(best_, count);
  return started;
}

void RepetitionCounter::top_component() {
  const double n = static_cast<double>(rows_.size());
  std::vector<double> cov(kDims * kDims);
  for (std::size_t i = 0; i < kDims; ++i) {
    for (std::size_t j = 0; j < kDims; ++j) cov[i * kDims + j] = outer_[i * kDims + j] / n - sum_[i] / n * sum_[j] / n;
  }
  double norm = 0;
  for (double v : pc_) norm += v * v;
  if (norm < 1e-12) pc_.fill(1.0 / std::sqrt(static_cast<double>(kDims)));
  // Power iteration from the last component (it moves little from one frame to the next).
  std::array<double, kDims> next{};
  for (int it = 0; it < 200; ++it) {
    norm = 0;
    for (std::size_t i = 0; i < kDims; ++i) {
      double v = 0;
      for (std::size_t j = 0; j < kDims; ++j) v += cov[i * kDims + j] * pc_[j];
      next[i] = v;
      norm += v * v;
    }
    norm = std::sqrt(norm);
    if (norm < 1e-12) return;  // no movement at all: keep the direction
    double dot = 0;
    for (std::size_t i = 0; i < kDims; ++i) {
      next[i] /= norm;
      dot += next[i] * pc_[i];
    }
    pc_ = next;
    if (std::fabs(dot) > 1.0 - 1e-12) return;
  }
}

std::vector<std::size_t> RepetitionCounter::turns(std::vector<double>& signal) const {
  const std::size_t n = rows_.size();
  std::array<double, kDims> mean{};
  for (std::size_t i = 0; i < kDims; ++i) mean[i] = sum_[i] / static_cast<double>(n);
  std::vector<double> raw(n);
  for (std::size_t t = 0; t < n; ++t) {
    double v = 0;
    for (std::size_t i = 0; i < kDims; ++i) v += (rows_[t][i] - mean[i]) * pc_[i];
    raw[t] = v;
  }
  // Centred moving average; the edges repeat the first and last value.
  const long r = s_.smooth_frames / 2;
  signal.assign(n, 0.0);
  for (long t = 0; t < static_cast<long>(n); ++t) {
    double acc = 0;
    for (long u = t - r; u <= t + r; ++u) acc += raw[static_cast<std::size_t>(std::clamp(u, 0L, static_cast<long>(n) - 1))];
    signal[static_cast<std::size_t>(t)] = acc / static_cast<double>(2 * r + 1);
  }
  const auto [lo, hi] = std::minmax_element(signal.begin(), signal.end());
  const double h = std::max(s_.hysteresis * (*hi - *lo + 1e-9), s_.min_amplitude);
  // Direction unknown (0) until the signal first moves more than h from its start.
  std::vector<std::size_t> out;
  int dir = 0;
  std::size_t ref = 0;
  for (std::size_t t = 1; t < n; ++t) {
    const double v = signal[t];
    if (dir == 0) {
      if (std::fabs(v - signal[ref]) <= h) continue;
      dir = v > signal[ref] ? 1 : -1;
    }
    if (dir * (v - signal[ref]) > 0) {
      ref = t;  // further in the direction of travel
    } else if (dir * (signal[ref] - v) > h) {
      out.push_back(ref);  // turned
      dir = -dir;
      ref = t;
    }
  }
  return out;
}

}  // namespace actiond::daemon
