#include "actiond/daemon/analysis/online_decoder.hpp"

#include "actiond/daemon/analysis/segment_tracker.hpp"

#include <algorithm>
#include <cmath>

namespace actiond::daemon {

std::vector<int> argmax_labels(const std::vector<std::vector<float>>& scores) {
  std::vector<int> out;
  out.reserve(scores.size());
  for (const auto& s : scores) {
    out.push_back(static_cast<int>(std::max_element(s.begin(), s.end()) - s.begin()));
  }
  return out;
}

DecodedVideo decode_online(const std::vector<std::vector<float>>& scores, const OnlineDecodeOptions& opt,
                           const std::vector<float>& repetition, const std::vector<double>& pts,
                           const std::vector<std::vector<float>>& pose) {
  const int n = static_cast<int>(scores.size());
  DecodedVideo out;
  out.labels.assign(static_cast<std::size_t>(n), opt.background);
  out.decided_at.resize(static_cast<std::size_t>(n));
  if (n == 0) return out;
  const std::size_t classes = scores[0].size();

  std::vector<std::vector<float>> probs(scores.size());
  for (std::size_t t = 0; t < scores.size(); ++t) {
    probs[t] = scores[t];
    if (opt.softmax) {
      const float mx = *std::max_element(probs[t].begin(), probs[t].end());
      float sum = 0;
      for (auto& v : probs[t]) sum += (v = std::exp(v - mx));
      for (auto& v : probs[t]) v /= sum;
    }
  }

  const double period = 1.0 / opt.fps;
  int next_id = 0;
  SegmentTracker tracker(opt.tracker, opt.background, period, [&] { return std::to_string(++next_id); });
  std::vector<TrackerEvent> events;
  auto frame_of = [&](double at) {
    if (pts.empty()) return std::clamp(static_cast<int>(std::lround(at * opt.fps)), 0, n);
    return static_cast<int>(std::lower_bound(pts.begin(), pts.end(), at - 0.5 * period) - pts.begin());
  };
  struct Open {
    int start;
    int label;
    int emitted;
  };
  std::vector<Open> open;  // at most one
  auto apply = [&](int emitted_at) {
    for (const auto& ev : events) {
      if (ev.type == TrackerEvent::Type::segment_start) {
        open.push_back({frame_of(ev.segment.start.pts), ev.segment.label_id, emitted_at});
      } else if (ev.type == TrackerEvent::Type::repetition) {
        out.repetitions.push_back({std::min(n - 1, frame_of(ev.at.pts)), emitted_at, ev.segment.repetitions.value_or(0),
                                   ev.segment.label_id});
      } else if (ev.type == TrackerEvent::Type::segment_end && !open.empty()) {
        const Open o = open.back();
        open.pop_back();
        const int end = frame_of(ev.segment.end->pts);
        for (int t = o.start; t < end; ++t) out.labels[static_cast<std::size_t>(t)] = o.label;
        out.decided_at[static_cast<std::size_t>(o.start)] = o.emitted;
        if (end < n) out.decided_at[static_cast<std::size_t>(end)] = emitted_at;
      }
    }
    events.clear();
  };

  for (int t = 0; t < n; ++t) {
    out.decided_at[static_cast<std::size_t>(t)] = std::min(n - 1, t + opt.lookahead);
    DecidedFrame f;
    f.at.pts = pts.empty() ? t * period : pts[static_cast<std::size_t>(t)];
    f.probs.assign(classes, 0.0f);
    const int lo = std::max(0, t - opt.history);
    const int hi = std::min(n - 1, t + opt.lookahead);
    for (int u = lo; u <= hi; ++u) {
      for (std::size_t k = 0; k < classes; ++k) f.probs[k] += probs[static_cast<std::size_t>(u)][k];
    }
    for (auto& v : f.probs) v /= static_cast<float>(hi - lo + 1);
    if (!repetition.empty()) f.repetition = repetition[static_cast<std::size_t>(t)];
    if (!pose.empty()) f.pose = pose[static_cast<std::size_t>(t)];
    tracker.push(f, events);
    apply(std::min(n - 1, t + opt.lookahead));
  }
  tracker.close(config::EndReason::eos, events);
  apply(n - 1);
  return out;
}

}  // namespace actiond::daemon
