#pragma once
// A training request as the HTTP API and the control socket take it:
//   {"dataset": NAME, "camera": ID, "features": auto|pose|frames, "steps_scale": (0, 1],
//    "budget_min": 0..1440, "min_examples": 1..100}  (only dataset required)
// checked, with the camera's features resolved: its backbone (frame features) or pose model, from
// the daemon's models (`models`: as Daemon::models() lists them; `cameras`: {id: state}).
// Throws TeachError (400/404/409) naming the key.
//
// Thread-safety: a pure function of its arguments (and the dataset folder it checks).
#include "actiond/daemon/teach/train_jobs.hpp"
#include "actiond/daemon/teach/workspace.hpp"

#include <nlohmann/json.hpp>

namespace actiond::daemon::teach {

TrainRequest train_request(const nlohmann::json& body, const Workspace& workspace, const nlohmann::json& cameras,
                           const nlohmann::json& models);

}  // namespace actiond::daemon::teach
