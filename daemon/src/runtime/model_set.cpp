#include "runtime/model_set.hpp"

#include "actiond/config/log.hpp"
#include "actiond/pipeline/files/npy_file.hpp"
#include "actiond/pipeline/sources/source_uri.hpp"

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
  auto& slot = loaded[entry.name];
  if (!slot) {
    slot = Model::load(entry.path);
    logger().info("model {}: {} {} v{} ({})", entry.name, role, slot->manifest().name, slot->manifest().version,
                 entry.path.string());
  }
  return *slot;
}

}  // namespace

// Loads every model the cameras use (all of them, or only those whose id is in `only`), once each,
// and checks each camera's models fit together.
ModelSet load_models(const config::Config& cfg, const std::set<std::string>* only) {
  ModelSet set;
  for (const auto& cam : cfg.cameras) {
    if (only != nullptr && only->count(cam.id) == 0) continue;
    try {
      // What produces the camera's features: its backbone, or the rows of its features:// file.
      models::Manifest producer;
      std::filesystem::path producer_path;
      if (cam.models.backbone.empty()) {
        const auto spec = pipeline::parse_source_uri(cam.uri);
        try {
          producer.feature_dim = static_cast<int>(pipeline::read_feature_header(spec.device).dim);
        } catch (const std::runtime_error& e) {
          throw config::ConfigError(cam.file + ": /uri: " + e.what());
        }
        producer_path = cam.uri;
      } else {
        const auto& bb_entry = cfg.daemon.models.at(cam.models.backbone);
        producer = load_once(set.backbones, bb_entry, "backbone").manifest();
        producer_path = bb_entry.path;
      }
      auto check = [&](const config::ModelEntry& entry, const models::Manifest& m, models::ModelKind role) {
        if (cam.models.backbone.empty() && m.feature_dim != producer.feature_dim) {
          throw models::ModelError(entry.path.string() + ": expects feature_dim " + std::to_string(m.feature_dim) +
                                   " but " + cam.uri + " has rows of " + std::to_string(producer.feature_dim));
        }
        models::check_compatible(producer, producer_path, m, entry.path, role);
      };
      const auto& seg_entry = cfg.daemon.models.at(cam.models.segmenter);
      check(seg_entry, load_once(set.segmenters, seg_entry, "segmenter").manifest(), models::ModelKind::segmenter);
      if (!cam.models.recognizer.empty()) {
        const auto& rec_entry = cfg.daemon.models.at(cam.models.recognizer);
        check(rec_entry, load_once(set.recognizers, rec_entry, "recognizer").manifest(), models::ModelKind::recognizer);
      }
    } catch (const models::ModelError& e) {
      throw models::ModelError(cam.file + ": /models: " + e.what());
    }
  }
  return set;
}

// The frame size a camera's pipeline scales to: its backbone's input (none for features:// cameras).
std::pair<int, int> input_size(const ModelSet& set, const config::CameraConfig& cam) {
  if (cam.models.backbone.empty()) return {0, 0};
  const auto& m = set.backbones.at(cam.models.backbone)->manifest();
  return {m.input_width, m.input_height};
}


}  // namespace actiond::daemon
