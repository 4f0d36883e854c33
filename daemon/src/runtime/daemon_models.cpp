// The Daemon's model changes: promote a candidate, roll back, list the models in use.
#include "actiond/config/log.hpp"
#include "actiond/models/models.hpp"
#include "runtime/daemon_impl.hpp"
#include "runtime/model_files.hpp"

#include <algorithm>

namespace actiond::daemon {

namespace fs = std::filesystem;

namespace {

spdlog::logger& logger() { return config::module_log("daemon"); }

ReloadResult refused(const std::string& message) {
  ReloadResult r;
  r.error = message;
  return r;
}

std::string known_models(const config::Config& cfg) {
  std::string out;
  for (const auto& [name, entry] : cfg.daemon.models) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// Why `candidate` cannot stand in for `current` (a different kind or input), or "".
std::string incompatibility(const models::Manifest& current, const models::Manifest& candidate) {
  if (candidate.kind != current.kind) {
    return "it is a " + models::to_string(candidate.kind) + " model, the model it would replace a " +
           models::to_string(current.kind) + " model";
  }
  const bool takes_features = current.kind == models::ModelKind::segmenter || current.kind == models::ModelKind::recognizer;
  if (takes_features && candidate.feature_dim != current.feature_dim) {
    return "it takes features of dimension " + std::to_string(candidate.feature_dim) + ", the cameras give " +
           std::to_string(current.feature_dim);
  }
  if (!takes_features && (candidate.input_width != current.input_width || candidate.input_height != current.input_height)) {
    return "its input is " + std::to_string(candidate.input_width) + "x" + std::to_string(candidate.input_height) +
           ", the current model's " + std::to_string(current.input_width) + "x" + std::to_string(current.input_height);
  }
  return "";
}

}  // namespace

namespace {
// The model names a camera uses (actiond.json /models keys), in a fixed order.
std::vector<std::string> model_names(const config::CameraConfig& cam) {
  std::vector<std::string> out;
  for (const auto* name : {&cam.models.backbone, &cam.models.pose, &cam.models.segmenter, &cam.models.recognizer}) {
    if (!name->empty()) out.push_back(*name);
  }
  return out;
}
}  // namespace

std::vector<std::string> model_paths(const config::Config& cfg, const config::CameraConfig& cam) {
  std::vector<std::string> out;
  for (const auto& name : model_names(cam)) out.push_back(cfg.daemon.models.at(name).path.string());
  return out;
}

std::vector<std::string> model_stamps_of(const config::Config& cfg, const config::CameraConfig& cam) {
  std::vector<std::string> out;
  for (const auto& path : model_paths(cfg, cam)) out.push_back(detail::fingerprint(path));
  return out;
}

ReloadResult Daemon::Impl::apply_model_change(const std::string& model, const fs::path& candidate) {
  const bool promote = !candidate.empty();
  const std::string what = promote ? "promote" : "rollback";
  if (!started) return refused(what + ": the daemon is not running");
  const auto it = cfg->daemon.models.find(model);
  if (it == cfg->daemon.models.end()) {
    return refused(what + ": no model \"" + model + "\" in actiond.json /models (known: " + known_models(*cfg) + ")");
  }
  const fs::path file = it->second.path;
  try {
    if (promote) {
      if (!fs::is_regular_file(candidate)) return refused(what + ": " + candidate.string() + ": no such file");
      if (const std::string why = detail::outside_model_folders(candidate, *cfg); !why.empty()) {
        return refused(what + ": " + why);
      }
      const std::string why = incompatibility(models::read_manifest(file), models::read_manifest(candidate));
      if (!why.empty()) return refused(what + ": " + candidate.string() + " cannot replace " + model + ": " + why);
      detail::install_model(candidate, file);
    } else {
      if (!fs::exists(detail::previous_of(file))) {
        return refused(what + ": no previous version of " + model + " is kept (" + detail::previous_of(file).string() + ")");
      }
      detail::swap_with_previous(file);
    }
  } catch (const std::exception& e) {
    return refused(what + ": " + e.what());
  }
  ReloadResult result = apply_reload();
  if (!result.ok) {
    detail::swap_with_previous(file);  // back as it was; a promoted candidate stays as <file>.previous
    result.error = what + " of " + model + " undone, the reload refused it: " + result.error;
    logger().error("{}", result.error);
    return result;
  }
  result.model = model;
  logger().info("{}: model {} is now {} ({} camera(s) restarted); the one before is kept as {}", what, model,
               models::read_manifest(file).version, result.changed.size(), detail::previous_of(file).string());
  return result;
}

nlohmann::json Daemon::models() const {
  const auto v = impl_->view();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, entry] : v->cfg->daemon.models) {
    nlohmann::json m = {{"name", name}, {"path", entry.path.string()}};
    try {
      const auto man = models::read_manifest(entry.path);
      m["kind"] = models::to_string(man.kind);
      m["model_name"] = man.name;
      m["version"] = man.version;
      if (!man.labels.empty()) m["labels"] = man.labels;
    } catch (const std::exception& e) {
      m["error"] = e.what();
    }
    nlohmann::json used = nlohmann::json::array();
    for (const auto& cam : v->cfg->cameras) {
      const auto names = model_names(cam);
      if (std::find(names.begin(), names.end(), name) != names.end()) used.push_back(cam.id);
    }
    m["cameras"] = used;
    const fs::path previous = detail::previous_of(entry.path);
    if (fs::exists(previous)) {
      try {
        m["previous"] = {{"path", previous.string()}, {"version", models::read_manifest(previous).version}};
      } catch (const std::exception& e) {
        m["previous"] = {{"path", previous.string()}, {"error", e.what()}};
      }
    } else {
      m["previous"] = nullptr;
    }
    out.push_back(std::move(m));
  }
  return out;
}

nlohmann::json Daemon::shadow(const std::string& camera, const fs::path& candidate) {
  auto error = [](const std::string& message) { return nlohmann::json{{"ok", false}, {"error", "shadow: " + message}}; };
  try {
    return impl_->supervisor->call([&]() -> nlohmann::json {
      Impl& d = *impl_;
      if (!d.started) return error("the daemon is not running");
      if (d.cfg->find_camera(camera) == nullptr) return error("no camera '" + camera + "'");
      std::shared_ptr<models::Segmenter> model;
      if (!candidate.empty()) {
        if (!fs::is_regular_file(candidate)) return error(candidate.string() + ": no such file");
        if (const std::string why = detail::outside_model_folders(candidate, *d.cfg); !why.empty()) return error(why);
        if (const auto kind = models::read_manifest(candidate).kind; kind != models::ModelKind::segmenter) {
          return error(candidate.string() + ": a " + models::to_string(kind) + " model; shadow mode tries segmenters");
        }
        model = models::Segmenter::load(candidate);
      }
      if (const std::string why = d.loop->set_shadow(camera, model); !why.empty()) return error(why);
      if (!model) {
        logger().info("camera {}: shadow model stopped", camera);
        return nlohmann::json{{"ok", true}, {"camera", camera}, {"shadow", nullptr}};
      }
      logger().info("camera {}: trying {} ({} v{}) in shadow mode", camera, candidate.string(), model->manifest().name,
                   model->manifest().version);
      return nlohmann::json{{"ok", true}, {"camera", camera},
                            {"shadow", {{"path", candidate.string()}, {"name", model->manifest().name},
                                        {"version", model->manifest().version}, {"labels", model->manifest().labels}}}};
    });
  } catch (const std::exception& e) {
    return error(e.what());
  }
}

}  // namespace actiond::daemon
