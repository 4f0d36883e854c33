#include "actiond/daemon/analysis/pose_features.hpp"

#include <algorithm>
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

std::array<float, 4> follow_crop(const models::PoseDetection* last, const std::array<float, 4>& content, int width,
                                 int height, float min_kp) {
  const std::array<float, 4> whole{0.0f, 0.0f, 1.0f, 1.0f};
  if (last == nullptr || width <= 0 || height <= 0) return whole;
  // Keypoints in image pixels.
  auto px = [&](const models::PoseKeypoint& k) { return (content[0] + k.x * content[2]) * static_cast<float>(width); };
  auto py = [&](const models::PoseKeypoint& k) { return (content[1] + k.y * content[3]) * static_cast<float>(height); };
  int seen = 0;
  for (const auto& k : last->keypoints) seen += k.score >= min_kp ? 1 : 0;
  if (seen < 4) return whole;
  const auto& kps = last->keypoints;
  float cx = 0;
  float cy = 0;
  if (kps[left_hip].score >= min_kp && kps[right_hip].score >= min_kp) {
    cx = (px(kps[left_hip]) + px(kps[right_hip])) / 2;
    cy = (py(kps[left_hip]) + py(kps[right_hip])) / 2;
  } else {
    cx = (content[0] + (last->box[0] + last->box[2]) / 2 * content[2]) * static_cast<float>(width);
    cy = (content[1] + (last->box[1] + last->box[3]) / 2 * content[3]) * static_cast<float>(height);
  }
  float torso = 0;
  float body = 0;
  for (int k = 0; k < models::kPoseKeypoints; ++k) {
    const auto& kp = kps[static_cast<std::size_t>(k)];
    if (kp.score < min_kp) continue;
    const float d = std::max(std::fabs(px(kp) - cx), std::fabs(py(kp) - cy));
    body = std::max(body, d);
    if (k == left_shoulder || k == right_shoulder || k == left_hip || k == right_hip) torso = std::max(torso, d);
  }
  const float side = 2 * std::max({torso * 1.9f, body * 1.2f, 16.0f});
  if (side >= static_cast<float>(std::min(width, height))) return whole;
  const float x0 = std::clamp(cx - side / 2, 0.0f, static_cast<float>(width) - side);
  const float y0 = std::clamp(cy - side / 2, 0.0f, static_cast<float>(height) - side);
  return {x0 / static_cast<float>(width), y0 / static_cast<float>(height), side / static_cast<float>(width),
          side / static_cast<float>(height)};
}

}  // namespace actiond::daemon
