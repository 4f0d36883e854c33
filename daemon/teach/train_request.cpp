#include "actiond/daemon/teach/train_request.hpp"

#include <algorithm>
#include <set>

namespace actiond::daemon::teach {

using nlohmann::json;

TrainRequest train_request(const json& body, const Workspace& workspace, const json& cameras, const json& models) {
  const auto bad = [](const std::string& message) { return TeachError(400, message); };
  if (!body.is_object()) throw bad("training needs a JSON object {\"dataset\": NAME, \"camera\": ID}");
  static const std::set<std::string> keys = {"dataset", "camera", "features", "steps_scale", "budget_min", "min_examples"};
  for (const auto& [key, _] : body.items()) {
    if (keys.count(key) == 0) throw bad("unknown key '" + key + "'");
  }
  if (!body.contains("dataset") || !body["dataset"].is_string()) throw bad("dataset: the dataset's name is required");
  TrainRequest r;
  r.dataset = body["dataset"];
  r.data_dir = workspace.dataset_dir(r.dataset);
  const json features = body.value("features", json("auto"));
  if (features != "auto" && features != "pose" && features != "frames") throw bad("features: must be auto, pose or frames");
  r.features = features;
  const json scale = body.value("steps_scale", json(1.0));
  if (!scale.is_number() || scale.get<double>() <= 0.0 || scale.get<double>() > 1.0) {
    throw bad("steps_scale: must be a number in (0, 1]");
  }
  r.steps_scale = scale;
  const json budget = body.value("budget_min", json(0.0));
  if (!budget.is_number() || budget.get<double>() < 0.0 || budget.get<double>() > 1440.0) {
    throw bad("budget_min: must be a number of minutes from 0 (none) to 1440");
  }
  r.budget_min = budget;
  const json examples = body.value("min_examples", json(2));
  if (!examples.is_number_integer() || examples.get<int>() < 1 || examples.get<int>() > 100) {
    throw bad("min_examples: must be an integer from 1 to 100 (segments each class needs in training)");
  }
  r.min_examples = examples;
  if (!body.contains("camera")) return r;
  if (!body["camera"].is_string()) throw bad("camera: must be a camera id");
  r.camera = body["camera"];
  if (!cameras.contains(r.camera)) throw TeachError(404, "no camera '" + r.camera + "'");
  // The camera's features: the models train on what its backbone or pose model gives.
  for (const json& m : models) {
    const json used = m.value("cameras", json::array());
    if (std::find(used.begin(), used.end(), r.camera) == used.end()) continue;
    if (m.value("kind", "") == "backbone") r.backbone = m.value("path", "");
    if (m.value("kind", "") == "pose") r.pose_model = m.value("path", "");
  }
  const std::string needs = !r.backbone.empty() ? "frames" : !r.pose_model.empty() ? "pose" : "";
  if (needs.empty()) throw bad("camera '" + r.camera + "' has neither a backbone nor a pose model");
  if (r.features != "auto" && r.features != needs) {
    throw bad("features: camera '" + r.camera + "' gives " + needs + " features, not " + r.features);
  }
  r.features = needs;
  return r;
}

}  // namespace actiond::daemon::teach
