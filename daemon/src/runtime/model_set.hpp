#pragma once
// Loading what a configuration's cameras need, before anything runs: their URIs checked and their
// models loaded (once per name) and cross-checked. Used by the Daemon at start and on reload.
//
// Thread-safety: pure functions of their arguments (the returned ModelSet is then moved to the loop).
#include "actiond/config/config.hpp"
#include "actiond/daemon/runtime/inference_loop.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>

namespace actiond::daemon {

// Throws config::ConfigError naming the camera file for a URI that cannot work.
void check_uris(const config::Config& cfg);
// Loads every model the cameras use (all of them, or only the cameras whose id is in `only`), once
// each, and checks each camera's models fit together. Throws models::ModelError naming the camera
// file and the model; with `failures`, a camera whose models fail is recorded there (camera id ->
// message) instead, and the others load.
ModelSet load_models(const config::Config& cfg, const std::set<std::string>* only = nullptr,
                     std::map<std::string, std::string>* failures = nullptr);

// What a camera's pipeline scales frames to: its backbone's or pose model's input (0x0 for
// features:// cameras); pose models get the picture letterboxed (aspect kept).
struct InputSpec {
  int width = 0;
  int height = 0;
  bool letterbox = false;
};
InputSpec input_spec(const ModelSet& set, const config::CameraConfig& cam);

}  // namespace actiond::daemon
