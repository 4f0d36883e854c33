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

// Single-person models following their person (as MoveNet's own demo does): the square region (x, y,
// w, h as fractions of a width x height image) to read next, centred on the person's hips and large
// enough for the torso (x1.9) and the limbs (x1.2) with margin. `last` is in picture fractions; the
// picture fills `content` of the image. The whole image when there is no confident person.
std::array<float, 4> follow_crop(const models::PoseDetection* last, const std::array<float, 4>& content, int width,
                                 int height, float min_keypoint_score);

}  // namespace actiond::daemon
