#pragma once
// Configuration snippets and event filters shared by the in-process daemon tests.
#include "actiond/config/config.hpp"

#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace actiond::test {

// actiond.json with an ephemeral PUB port, no start-up grace, and the test models "bb", "seg" and "rec".
inline std::string daemon_json(const std::string& backbone = "backbone.pt") {
  return R"({"publish": {"endpoint": "tcp://127.0.0.1:*", "startup_grace_ms": 0},
             "control": {"endpoint": "tcp://127.0.0.1:*"},
             "metrics": {"listen": "127.0.0.1:0"},
             "inference": {"max_batch": 4, "max_wait_ms": 2},
             "log": {"level": "warn"},
             "models": {"bb": {"path": ")" + backbone + R"("}, "seg": {"path": "segmenter.pt"},
                        "rec": {"path": "recognizer.pt"}}})";
}

// A camera file at 5 fps on the test models; `extra` is inserted as more "key": value, pairs.
inline std::string camera_json(const std::string& id, const std::string& uri, const std::string& extra = "",
                               bool recognizer = false) {
  return R"({"id": ")" + id + R"(", "uri": ")" + uri + R"(", "fps": 5, )" + extra +
         R"("models": {"backbone": "bb", "segmenter": "seg")" + (recognizer ? R"(, "recognizer": "rec")" : "") + "}}";
}

inline std::shared_ptr<const config::Config> load(const TempDir& dir) {
  config::LoadOptions opts;
  opts.model_dir_override = test_model_dir();
  return config::load_config(dir.path(), opts);
}

// stream.status events of `camera` ("" = any) in `state` ("" = any).
inline std::vector<nlohmann::json> statuses(const std::vector<nlohmann::json>& events, const std::string& camera,
                                            const std::string& state = "") {
  std::vector<nlohmann::json> out;
  for (const auto& e : events) {
    if (e["type"] == "stream.status" && (camera.empty() || e["camera"] == camera) &&
        (state.empty() || e["state"] == state)) {
      out.push_back(e);
    }
  }
  return out;
}

inline bool has_status(const std::vector<nlohmann::json>& events, const std::string& camera, const std::string& state,
                       std::size_t n = 1) {
  return statuses(events, camera, state).size() >= n;
}

}  // namespace actiond::test
