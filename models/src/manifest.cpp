#include "actiond/models/manifest.hpp"

#include "actiond/config/json_reader.hpp"

#include <set>

namespace actiond::models {

using config::ConfigError;
using config::ObjectReader;

std::string to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::backbone: return "backbone";
    case ModelKind::segmenter: return "segmenter";
    case ModelKind::recognizer: return "recognizer";
    case ModelKind::pose: return "pose";
  }
  return "?";
}

namespace {

void parse_input(ObjectReader& r, Manifest& m, const std::string& kind) {
  if (!r.has("input")) r.fail("input", "is required for a " + kind);
  ObjectReader in = r.object("input");
  m.input_width = in.integer_in("width", 0, 8, 4096);
  m.input_height = in.integer_in("height", 0, 8, 4096);
  const std::string format = in.string("format", "RGB");
  if (format != "RGB") in.fail("format", "must be \"RGB\", got \"" + format + "\"");
  in.finish();
}

void parse_pose(ObjectReader& r, Manifest& m) {
  parse_input(r, m, "pose model");
  m.feature_dim = kPoseFeatureDim;
  const nlohmann::json* kp = r.raw("keypoints");
  if (kp == nullptr || !kp->is_array() || kp->size() != kPoseKeypoints) {
    r.fail("keypoints", "must be an array of the " + std::to_string(kPoseKeypoints) + " COCO keypoint names");
  }
  // Pose features and person tracking read keypoints by COCO index (hips, shoulders, knees, ...).
  static const char* const coco[kPoseKeypoints] = {
      "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
      "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
      "right_knee", "left_ankle", "right_ankle"};
  for (std::size_t i = 0; i < kp->size(); ++i) {
    const auto& k = (*kp)[i];
    if (!k.is_string() || k.get<std::string>() != coco[i]) {
      r.fail("keypoints", "item " + std::to_string(i) + " must be \"" + coco[i] + "\" (COCO-17 order)");
    }
    m.keypoints.push_back(k.get<std::string>());
  }
  const nlohmann::json* sk = r.raw("skeleton");
  if (sk != nullptr) {
    if (!sk->is_array()) r.fail("skeleton", "must be an array of [from, to] keypoint indexes");
    for (const auto& e : *sk) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer() ||
          e[0].get<int>() < 0 || e[0].get<int>() >= kPoseKeypoints || e[1].get<int>() < 0 ||
          e[1].get<int>() >= kPoseKeypoints) {
        r.fail("skeleton", "must be an array of [from, to] keypoint indexes (0.." + std::to_string(kPoseKeypoints - 1) + ")");
      }
      m.skeleton.emplace_back(e[0].get<int>(), e[1].get<int>());
    }
  }
  m.max_persons = r.integer_in("max_persons", 0, 1, 64);
  m.licence = r.string("licence", "");
  r.raw("output");    // the layout in words (the contract is checked when the model loads)
  r.raw("source");    // package, version, file checksums
  r.raw("importer");
}

}  // namespace

Manifest parse_manifest(const std::string& text, const std::filesystem::path& model_path) {
  const std::string label = model_path.string() + ": manifest.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ModelError(label + ": invalid JSON: " + e.what());
  }
  try {
    Manifest m;
    ObjectReader r(j, label, "");
    const std::string kind = r.required_string("kind");
    if (kind == "backbone") m.kind = ModelKind::backbone;
    else if (kind == "segmenter") m.kind = ModelKind::segmenter;
    else if (kind == "recognizer") m.kind = ModelKind::recognizer;
    else if (kind == "pose") m.kind = ModelKind::pose;
    else r.fail("kind", "must be \"backbone\", \"segmenter\", \"recognizer\" or \"pose\", got \"" + kind + "\"");
    r.raw("training");  // free-form provenance written by the training scripts
    r.raw("sha256");    // optional checksum of the training inputs
    m.name = r.required_string("name");
    m.version = r.required_string("version");
    if (m.kind == ModelKind::pose) {
      parse_pose(r, m);
    } else if (m.kind == ModelKind::backbone) {
      m.feature_dim = r.integer_in("feature_dim", 0, 1, 65536);
      parse_input(r, m, "backbone");
    } else {
      m.feature_dim = r.integer_in("feature_dim", 0, 1, 65536);
      const nlohmann::json* raw_labels = r.raw("labels");
      if (raw_labels == nullptr) r.fail("labels", "is required for a " + kind);
      const auto& labels = *raw_labels;
      if (!labels.is_array() || labels.size() < 2) r.fail("labels", "must be an array of at least 2 strings");
      std::set<std::string> seen;
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (!labels[i].is_string() || labels[i].get<std::string>().empty()) {
          r.fail("labels", "item " + std::to_string(i) + " must be a non-empty string");
        }
        if (!seen.insert(labels[i].get<std::string>()).second) {
          r.fail("labels", "duplicate label \"" + labels[i].get<std::string>() + "\"");
        }
        m.labels.push_back(labels[i].get<std::string>());
      }
      m.background = r.integer_in("background", 0, 0, static_cast<int>(m.labels.size()) - 1);
      m.window = r.integer_in("window", 0, 1, 100000);
      r.raw("calibration");  // temperature, out-of-distribution check: applied inside the model
      if (m.kind == ModelKind::segmenter) {
        m.lookahead = r.integer_in("lookahead", 0, 0, m.window - 1);
        m.repetitions = r.boolean("repetitions", false);
        m.feature_layout = r.string("feature_layout", "");
        if (const nlohmann::json* d = r.raw("decoding")) {
          m.decoding = config::parse_tracker_config(*d, label, "/decoding");
        }
      }
    }
    r.finish();
    return m;
  } catch (const ConfigError& e) {
    throw ModelError(e.what());
  }
}

void check_compatible(const Manifest& backbone, const std::filesystem::path& backbone_path, const Manifest& segmenter,
                      const std::filesystem::path& segmenter_path, ModelKind role) {
  if (backbone.kind != ModelKind::backbone && backbone.kind != ModelKind::pose) {
    throw ModelError(backbone_path.string() + ": used as a backbone or pose model but its manifest kind is \"" +
                     to_string(backbone.kind) + "\"");
  }
  if (segmenter.kind != role) {
    throw ModelError(segmenter_path.string() + ": used as a " + to_string(role) + " but its manifest kind is \"" +
                     to_string(segmenter.kind) + "\"");
  }
  if (backbone.feature_dim != segmenter.feature_dim) {
    throw ModelError(segmenter_path.string() + ": expects feature_dim " + std::to_string(segmenter.feature_dim) +
                     " but backbone " + backbone_path.string() + " produces " + std::to_string(backbone.feature_dim));
  }
}

}  // namespace actiond::models
