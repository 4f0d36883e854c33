#include "actiond/daemon/analysis/person_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace actiond::daemon {

namespace {

// COCO's per-keypoint OKS constants (sigmas), in keypoint order.
constexpr std::array<double, models::kPoseKeypoints> kSigmas = {
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089};

double iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const double ix = std::max(0.0, static_cast<double>(std::min(a[2], b[2]) - std::max(a[0], b[0])));
  const double iy = std::max(0.0, static_cast<double>(std::min(a[3], b[3]) - std::max(a[1], b[1])));
  const double inter = ix * iy;
  const double area_a = std::max(0.0f, a[2] - a[0]) * std::max(0.0f, a[3] - a[1]);
  const double area_b = std::max(0.0f, b[2] - b[0]) * std::max(0.0f, b[3] - b[1]);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// The track's last detection moved by its velocity over `steps` frames.
models::PoseDetection moved(const PersonTrack& t, float steps) {
  models::PoseDetection p = t.detected;
  const float dx = t.velocity[0] * steps;
  const float dy = t.velocity[1] * steps;
  p.box = {p.box[0] + dx, p.box[1] + dy, p.box[2] + dx, p.box[3] + dy};
  for (auto& k : p.keypoints) {
    k.x += dx;
    k.y += dy;
  }
  return p;
}

// Where the track should be in the next analysed frame.
models::PoseDetection predict(const PersonTrack& t) { return moved(t, static_cast<float>(t.coasted + t.misses + 1)); }

std::array<float, 2> centre(const std::array<float, 4>& b) { return {(b[0] + b[2]) / 2, (b[1] + b[3]) / 2}; }

}  // namespace

double pose_similarity(const models::PoseDetection& a, const models::PoseDetection& b, float min_kp) {
  const double area = std::max(1e-6, static_cast<double>(b.box[2] - b.box[0]) * (b.box[3] - b.box[1]));
  double oks = 0.0;
  int seen = 0;
  for (std::size_t k = 0; k < kSigmas.size(); ++k) {
    const auto& ka = a.keypoints[k];
    const auto& kb = b.keypoints[k];
    if (ka.score < min_kp || kb.score < min_kp) continue;
    const double dx = ka.x - kb.x;
    const double dy = ka.y - kb.y;
    const double var = 2.0 * area * (2 * kSigmas[k]) * (2 * kSigmas[k]);
    oks += std::exp(-(dx * dx + dy * dy) / var);
    ++seen;
  }
  const double box = iou(a.box, b.box);
  return seen > 0 ? (box + oks / seen) / 2.0 : box;
}

std::vector<int> assign_min_cost(const std::vector<double>& cost, int rows, int cols, double max_cost) {
  std::vector<int> result(static_cast<std::size_t>(rows), -1);
  if (rows == 0 || cols == 0) return result;
  // Hungarian method (Jonker-Volgenant style potentials) on a square matrix padded with "no match"
  // entries that cost just above max_cost, so forbidden pairs lose to leaving a row unassigned.
  const int n = std::max(rows, cols);
  const double forbid = max_cost + 1.0;
  auto c = [&](int i, int j) {  // 1-based
    if (i > rows || j > cols) return forbid;
    const double v = cost[static_cast<std::size_t>((i - 1) * cols + (j - 1))];
    return v > max_cost ? forbid * 2 : v;
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(static_cast<std::size_t>(n + 1), 0.0), v(static_cast<std::size_t>(n + 1), 0.0);
  std::vector<int> p(static_cast<std::size_t>(n + 1), 0), way(static_cast<std::size_t>(n + 1), 0);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(static_cast<std::size_t>(n + 1), inf);
    std::vector<char> used(static_cast<std::size_t>(n + 1), 0);
    do {
      used[static_cast<std::size_t>(j0)] = 1;
      const int i0 = p[static_cast<std::size_t>(j0)];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[static_cast<std::size_t>(j)]) continue;
        const double cur = c(i0, j) - u[static_cast<std::size_t>(i0)] - v[static_cast<std::size_t>(j)];
        if (cur < minv[static_cast<std::size_t>(j)]) {
          minv[static_cast<std::size_t>(j)] = cur;
          way[static_cast<std::size_t>(j)] = j0;
        }
        if (minv[static_cast<std::size_t>(j)] < delta) {
          delta = minv[static_cast<std::size_t>(j)];
          j1 = j;
        }
      }
      for (int j = 0; j <= n; ++j) {
        if (used[static_cast<std::size_t>(j)]) {
          u[static_cast<std::size_t>(p[static_cast<std::size_t>(j)])] += delta;
          v[static_cast<std::size_t>(j)] -= delta;
        } else {
          minv[static_cast<std::size_t>(j)] -= delta;
        }
      }
      j0 = j1;
    } while (p[static_cast<std::size_t>(j0)] != 0);
    do {
      const int j1 = way[static_cast<std::size_t>(j0)];
      p[static_cast<std::size_t>(j0)] = p[static_cast<std::size_t>(j1)];
      j0 = j1;
    } while (j0 != 0);
  }
  for (int j = 1; j <= cols; ++j) {
    const int i = p[static_cast<std::size_t>(j)];
    if (i >= 1 && i <= rows && cost[static_cast<std::size_t>((i - 1) * cols + (j - 1))] <= max_cost) {
      result[static_cast<std::size_t>(i - 1)] = j - 1;
    }
  }
  return result;
}

void PersonTracker::update(const std::vector<models::PoseDetection>& detections, double pts, TrackChanges& out) {
  out.end_reason = config::EndReason::lost;
  std::vector<const models::PoseDetection*> dets;
  for (const auto& d : detections) {
    if (d.score >= cfg_.min_score) dets.push_back(&d);
  }
  const int rows = static_cast<int>(tracks_.size());
  const int cols = static_cast<int>(dets.size());
  std::vector<double> cost(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
  for (int r = 0; r < rows; ++r) {
    const auto predicted = predict(tracks_[static_cast<std::size_t>(r)]);
    for (int c = 0; c < cols; ++c) {
      cost[static_cast<std::size_t>(r * cols + c)] =
          1.0 - pose_similarity(predicted, *dets[static_cast<std::size_t>(c)], static_cast<float>(cfg_.min_keypoint_score));
    }
  }
  const auto match = assign_min_cost(cost, rows, cols, 1.0 - cfg_.min_similarity);
  std::vector<char> taken(static_cast<std::size_t>(cols), 0);
  std::vector<PersonTrack> kept;
  for (int r = 0; r < rows; ++r) {
    PersonTrack t = tracks_[static_cast<std::size_t>(r)];
    const int c = match[static_cast<std::size_t>(r)];
    t.matched_now = c >= 0;
    if (c >= 0) {
      taken[static_cast<std::size_t>(c)] = 1;
      const auto& d = *dets[static_cast<std::size_t>(c)];
      const auto a = centre(t.detected.box);
      const auto b = centre(d.box);
      const float steps = static_cast<float>(t.coasted + t.misses + 1);
      // Smoothed velocity of the box centre per frame.
      t.velocity[0] = 0.5f * t.velocity[0] + 0.5f * (b[0] - a[0]) / steps;
      t.velocity[1] = 0.5f * t.velocity[1] + 0.5f * (b[1] - a[1]) / steps;
      t.pose = t.detected = d;
      t.coasted = 0;
      t.score_sum += d.score;
      t.last_pts = pts;
      t.misses = 0;
      ++t.hits;
      if (!t.confirmed && t.hits >= cfg_.birth_frames) {
        t.confirmed = true;
        t.id = next_id_++;
        out.started.push_back(t);
      }
      kept.push_back(t);
      continue;
    }
    ++t.misses;
    if (!t.confirmed) {
      ++counters_.tentative_discarded;  // a tentative track must be seen in consecutive frames
    } else if (t.misses > cfg_.death_frames) {
      out.ended.push_back(t);
    } else {
      kept.push_back(t);
    }
  }
  for (int c = 0; c < cols; ++c) {
    if (taken[static_cast<std::size_t>(c)]) continue;
    if (static_cast<int>(kept.size()) >= cfg_.max_tracks) {
      ++counters_.dropped_over_limit;
      continue;
    }
    PersonTrack t;  // tentative: no id until confirmed, so published ids count up without gaps
    t.hits = 1;
    t.first_pts = t.last_pts = pts;
    t.pose = t.detected = *dets[static_cast<std::size_t>(c)];
    t.score_sum = t.pose.score;
    t.matched_now = true;
    if (cfg_.birth_frames <= 1) {
      t.confirmed = true;
      t.id = next_id_++;
      out.started.push_back(t);
    }
    kept.push_back(t);
  }
  tracks_ = std::move(kept);
}

void PersonTracker::coast() {
  for (auto& t : tracks_) {
    ++t.coasted;
    t.pose = moved(t, static_cast<float>(t.coasted));
    t.matched_now = false;  // nothing was detected
  }
}

void PersonTracker::end_all(config::EndReason reason, TrackChanges& out) {
  out.end_reason = reason;
  for (const auto& t : tracks_) {
    if (t.confirmed) out.ended.push_back(t);
  }
  tracks_.clear();
}

}  // namespace actiond::daemon
