#include "runtime/model_set.hpp"

#include "actiond/config/log.hpp"
#include "actiond/daemon/analysis/person_analysis.hpp"
#include "actiond/daemon/analysis/repetition_counter.hpp"
#include "actiond/pipeline/files/npy_file.hpp"
#include "actiond/pipeline/sources/source_uri.hpp"

#include <string>
#include <type_traits>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("daemon"); }
}  // namespace

void check_uris(const config::Config& cfg) {
  for (const auto& cam : cfg.cameras) {
    try {
      pipeline::parse_source_uri(cam.uri);
    } catch (const pipeline::UriError& e) {
      throw config::ConfigError(cam.file + ": /uri: " + e.what());
    }
  }
}

namespace {

// Loads the model `entry` into `loaded` unless it is there already; returns it.
template <typename Model>
Model& load_once(std::map<std::string, std::unique_ptr<Model>>& loaded, const config::ModelEntry& entry,
                 const char* role) {
  auto found = loaded.find(entry.name);
  if (found == loaded.end()) {
    // Inserted only once loaded: a model that fails leaves no empty entry behind.
    found = loaded.emplace(entry.name, Model::load(entry.path)).first;
    const auto& m = found->second->manifest();
    std::string engine;
    if constexpr (std::is_same_v<Model, models::PoseModel>) engine = std::string(", engine ") + found->second->engine();
    logger().info("model {}: {} {} v{} ({}){}", entry.name, role, m.name, m.version, entry.path.string(), engine);
  }
  return *found->second;
}

}  // namespace

// Loads every model the cameras use (all of them, or only those whose id is in `only`), once each,
// and checks each camera's models fit together.
ModelSet load_models(const config::Config& cfg, const std::set<std::string>* only,
                     std::map<std::string, std::string>* failures) {
  ModelSet set;
  for (const auto& cam : cfg.cameras) {
    if (only != nullptr && only->count(cam.id) == 0) continue;
    try {
      // What produces the camera's features: its backbone, or the rows of its features:// file.
      models::Manifest producer;
      std::filesystem::path producer_path;
      if (cam.models.backbone.empty() && cam.models.pose.empty()) {
        const auto spec = pipeline::parse_source_uri(cam.uri);
        try {
          producer.feature_dim = static_cast<int>(pipeline::read_feature_header(spec.device).dim);
        } catch (const std::runtime_error& e) {
          throw config::ConfigError(cam.file + ": /uri: " + e.what());
        }
        producer_path = cam.uri;
      } else if (!cam.models.pose.empty()) {
        const auto& pose_entry = cfg.daemon.models.at(cam.models.pose);
        try {
          producer = load_once(set.poses, pose_entry, "pose").manifest();
        } catch (const models::ModelError& e) {
          if (std::filesystem::exists(pose_entry.path)) throw;
          throw models::ModelError(std::string(e.what()) + " (the pretrained pose models are imported at build time "
                                   "from the npm package: run scripts/fetch-pretrained.sh, then build again)");
        }
        producer_path = pose_entry.path;
        if (cam.persons.follow && producer.max_persons != 1) {
          throw models::ModelError(pose_entry.path.string() + ": persons.follow needs a single-person pose model; this one "
                                   "finds up to " + std::to_string(producer.max_persons) + " people");
        }
      } else {
        const auto& bb_entry = cfg.daemon.models.at(cam.models.backbone);
        producer = load_once(set.backbones, bb_entry, "backbone").manifest();
        producer_path = bb_entry.path;
      }
      auto check = [&](const config::ModelEntry& entry, const models::Manifest& m, models::ModelKind role) {
        if (cam.models.backbone.empty() && cam.models.pose.empty() && m.feature_dim != producer.feature_dim) {
          throw models::ModelError(entry.path.string() + ": expects feature_dim " + std::to_string(m.feature_dim) +
                                   " but " + cam.uri + " has rows of " + std::to_string(producer.feature_dim));
        }
        models::check_compatible(producer, producer_path, m, entry.path, role);
      };
      if (!cam.models.segmenter.empty()) {
        const auto& seg_entry = cfg.daemon.models.at(cam.models.segmenter);
        const auto& seg = load_once(set.segmenters, seg_entry, "segmenter").manifest();
        check(seg_entry, seg, models::ModelKind::segmenter);
        const auto tracker = config::with_model_defaults(cam.tracker, seg.decoding);
        if (tracker.repetition_source == config::RepetitionSource::pose && seg.feature_layout != kPoseFeatureLayout) {
          throw models::ModelError(seg_entry.path.string() + ": tracker.repetition_source \"pose\" needs a segmenter over "
                                   "pose features (feature_layout \"" + kPoseFeatureLayout + "\"); this one has \"" +
                                   seg.feature_layout + "\"");
        }
      }
      if (!cam.models.recognizer.empty()) {
        const auto& rec_entry = cfg.daemon.models.at(cam.models.recognizer);
        check(rec_entry, load_once(set.recognizers, rec_entry, "recognizer").manifest(), models::ModelKind::recognizer);
      }
    } catch (const models::ModelError& e) {
      const std::string message = cam.file + ": /models: " + e.what();
      if (failures == nullptr) throw models::ModelError(message);
      (*failures)[cam.id] = message;
    }
  }
  return set;
}

InputSpec input_spec(const ModelSet& set, const config::CameraConfig& cam) {
  if (!cam.models.pose.empty()) {
    auto it = set.poses.find(cam.models.pose);
    if (it == set.poses.end()) return {};
    const int scale = pose_frame_scale(cam.persons);
    return {it->second->manifest().input_width * scale, it->second->manifest().input_height * scale, true};
  }
  auto it = set.backbones.find(cam.models.backbone);
  if (cam.models.backbone.empty() || it == set.backbones.end()) return {};
  return {it->second->manifest().input_width, it->second->manifest().input_height, false};
}


}  // namespace actiond::daemon
