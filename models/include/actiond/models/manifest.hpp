#pragma once
// The contract every model file carries inside itself: a `manifest.json` extra file of the
// TorchScript archive (torch.jit.save(..., _extra_files={"manifest.json": ...})).
//
//   backbone:  {"kind":"backbone","name":..,"version":..,"input":{"width":112,"height":112,"format":"RGB"},
//               "feature_dim":8}
//              forward(uint8 [N,H,W,3]) -> float [N,feature_dim]
//   segmenter: {"kind":"segmenter","name":..,"version":..,"feature_dim":8,"labels":["background",...],
//               "background":0,"window":16,"lookahead":2}
//              forward(float [B,T,feature_dim]) -> (probs float [B,T,C], boundary float [B,T])
//              optional: "repetitions":true -> a third output, repetition float [B,T] (repetition-start
//              score; a third output is ignored without it); "decoding":{tracker keys} -> the camera's tracker settings it does not set itself
//              (chosen on held-out data by the training scripts); "feature_layout", "calibration"
//   recognizer: {"kind":"recognizer","name":..,"version":..,"feature_dim":8,"labels":[...],"background":0,
//               "window":16}
//              forward(float [B,T,feature_dim]) -> probs float [B,C] (the clip's action, T <= window)
//   pose:      {"kind":"pose","name":..,"version":..,"input":{"width":192,"height":192,"format":"RGB"},
//               "keypoints":[17 COCO names],"skeleton":[[0,1],..],"max_persons":6,"source":{..},"licence":..}
//              forward(uint8 [N,H,W,3]) -> float [N,P,56]: per person 17 x (y, x, score) then
//              (ymin, xmin, ymax, xmax, score), fractions of the input (models/import/import_tfjs.py)
//
// Thread-safety: plain values.
#include "actiond/config/config.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace actiond::models {

// Pose models: COCO-17 keypoints; per-person features (pose_features.hpp) have this many floats.
constexpr int kPoseKeypoints = 17;
constexpr int kPoseFeatureDim = kPoseKeypoints * 5;

// Every model loading/running failure; what() names the model file.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ModelKind { backbone, segmenter, recognizer, pose };

struct Manifest {
  ModelKind kind = ModelKind::backbone;
  std::string name;
  std::string version;
  int input_width = 0;      // backbone, pose
  int input_height = 0;     // backbone, pose
  int feature_dim = 0;      // backbone output / segmenter input; pose: kPoseFeatureDim (per person)
  std::vector<std::string> labels;  // segmenter, recognizer
  int background = 0;       // segmenter, recognizer: index of the background label
  int window = 0;           // segmenter, recognizer: frames of history it reads
  int lookahead = 0;        // segmenter: frames after the decided frame it needs
  bool repetitions = false; // segmenter: a third output scores repetition starts
  config::TrackerConfig decoding;  // segmenter: tracker settings from training (decoding.from_file: the keys set)
  std::string feature_layout;      // segmenter: what its feature rows hold (free text, e.g. "coco17-pose-features")
  std::vector<std::string> keypoints;            // pose: COCO-17 names in order
  std::vector<std::pair<int, int>> skeleton;     // pose: keypoint index pairs
  int max_persons = 0;                           // pose
  std::string licence;                           // pose (imported models say where they come from)
  std::string file_sha256;  // of the model file, computed when it is loaded (not part of the JSON)
};

// Parses and validates manifest text; `model_path` prefixes every message. Throws ModelError.
Manifest parse_manifest(const std::string& text, const std::filesystem::path& model_path);

// Checks that a model in `role` (segmenter or recognizer) can read a backbone's features. Throws
// ModelError naming both files.
void check_compatible(const Manifest& backbone, const std::filesystem::path& backbone_path, const Manifest& consumer,
                      const std::filesystem::path& consumer_path, ModelKind role = ModelKind::segmenter);

std::string to_string(ModelKind kind);

}  // namespace actiond::models
