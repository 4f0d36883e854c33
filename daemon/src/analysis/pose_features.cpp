#include "actiond/daemon/analysis/pose_features.hpp"

#include <cmath>

namespace actiond::daemon {

namespace {

enum Keypoint { left_shoulder = 5, right_shoulder = 6, left_hip = 11, right_hip = 12 };

// Mean position of the keypoints in `ids` that are seen; false when none is.
bool mean_of(const models::PoseDetection& p, std::initializer_list<int> ids, float aspect, float min_score, float& x,
             float& y) {
  x = y = 0;
  int n = 0;
  for (int id : ids) {
    const auto& k = p.keypoints[static_cast<std::size_t>(id)];
    if (k.score < min_score) continue;
    x += k.x * aspect;
    y += k.y;
    ++n;
  }
  if (n == 0) return false;
  x /= static_cast<float>(n);
  y /= static_cast<float>(n);
  return true;
}

}  // namespace

PoseFeatureRow pose_features(const models::PoseDetection& pose, float aspect, float min_kp, const PoseFeatureRow* previous) {
  float hx = 0;
  float hy = 0;
  float sx = 0;
  float sy = 0;
  const bool hips = mean_of(pose, {left_hip, right_hip}, aspect, min_kp, hx, hy);
  const bool shoulders = mean_of(pose, {left_shoulder, right_shoulder}, aspect, min_kp, sx, sy);
  const float box_h = pose.box[3] - pose.box[1];
  if (!hips) {
    hx = (pose.box[0] + pose.box[2]) / 2 * aspect;
    hy = (pose.box[1] + pose.box[3]) / 2;
  }
  float scale = (hips && shoulders) ? std::hypot(sx - hx, sy - hy) : box_h / 2;
  if (!(scale > 1e-3f)) scale = 1e-3f;
  PoseFeatureRow row{};
  for (int k = 0; k < models::kPoseKeypoints; ++k) {
    const auto& kp = pose.keypoints[static_cast<std::size_t>(k)];
    float* out = row.data() + k * 5;
    out[4] = kp.score;
    if (kp.score < min_kp) continue;
    out[0] = (kp.x * aspect - hx) / scale;
    out[1] = (kp.y - hy) / scale;
    const float* prev = previous ? previous->data() + k * 5 : nullptr;
    if (prev != nullptr && prev[4] >= min_kp) {
      out[2] = out[0] - prev[0];
      out[3] = out[1] - prev[1];
    }
  }
  return row;
}

}  // namespace actiond::daemon
