#pragma once
// Per-person features for segmenters over poses (models::kPoseFeatureDim floats per frame):
// for each COCO keypoint (x, y, vx, vy, score), where x, y are relative to the person's hip centre
// (the box centre when the hips are not seen) in units of the torso length (shoulders to hips; the
// box height / 2 when not seen), vx, vy their change since the person's previous frame, and keypoints
// scoring below `min_keypoint_score` are zeros (their score kept). Picture fractions are made square
// with `aspect` (picture width / height), so a tilt reads the same in any frame shape.
//
// Thread-safety: pure functions.
#include "actiond/models/models.hpp"

#include <array>
#include <vector>

namespace actiond::daemon {

using PoseFeatureRow = std::array<float, models::kPoseFeatureDim>;

// `previous`: the person's previous row (nullptr for its first frame: zero velocities).
PoseFeatureRow pose_features(const models::PoseDetection& pose, float aspect, float min_keypoint_score,
                             const PoseFeatureRow* previous);

}  // namespace actiond::daemon
