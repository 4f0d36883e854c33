#pragma once
// The teach commands of the control socket (actionctl datasets|dataset|import|train|jobs|job|cancel):
//   {"cmd": "datasets"}                                   -> {"ok", "datasets"}
//   {"cmd": "dataset", "name"}                            -> {"ok", "name", "labels", "segments"}
//   {"cmd": "dataset", "name", "export": "csv"}           -> {"ok", "csv"}
//   {"cmd": "import", "name", "text", "replace": bool}    -> {"ok", the dataset}
//   {"cmd": "train", "dataset", "camera", ...}            -> {"ok", the job}   (train_request.hpp)
//   {"cmd": "jobs"}                                       -> {"ok", "running", "jobs"}
//   {"cmd": "job", "id", "from"}                          -> {"ok", the job with its output}
//   {"cmd": "cancel"}                                     -> {"ok", "running", "jobs"}
// Problems answer {"ok": false, "error"} with the message the HTTP API gives.
//
// Thread-safety: as Workspace and TrainJobs (any thread).
#include "actiond/daemon/teach/train_jobs.hpp"
#include "actiond/daemon/teach/workspace.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace actiond::daemon::teach {

struct TeachContext {
  Workspace* workspace = nullptr;
  TrainJobs* jobs = nullptr;
  std::function<nlohmann::json()> cameras;  // {id: state}
  std::function<nlohmann::json()> models;   // as Daemon::models()
};

bool is_teach_command(const std::string& cmd);
nlohmann::json handle_teach_command(const TeachContext& ctx, const nlohmann::json& req);

}  // namespace actiond::daemon::teach
