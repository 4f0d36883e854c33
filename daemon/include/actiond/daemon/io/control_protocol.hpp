#pragma once
// The control protocol without a socket: one request (a JSON object as text) in, one reply out.
//   {"cmd": "status"}                              daemon and per-camera state
//   {"cmd": "cameras"}                             camera ids
//   {"cmd": "snapshot"}                            last seq, epoch, state and open segment per camera
//                                                  (with `replay` from seq+1: the zguide "clone" pattern)
//   {"cmd": "replay", "camera": C, "from": N, "max": M}   journaled events of C with seq >= N
//   {"cmd": "reload"}                              re-read the configuration (if allowed)
//   {"cmd": "models"}                              the models of actiond.json, their versions
//   {"cmd": "promote", "model": M, "candidate": F} install F as model M and reload (if reload is allowed)
//   {"cmd": "rollback", "model": M}                bring M's previous file back and reload (idem)
//   {"cmd": "shadow", "camera": C, "candidate": F} try segmenter F beside C's model; without F: stop (idem)
// Replies: {"ok": true, ...} or {"ok": false, "error": "..."}; malformed requests never crash it.
//
// Thread-safety: handle_control_request() holds no state; the context's providers must be
// thread-safe. It does not throw; serialise the reply with json::error_handler_t::replace (an
// error text may quote bytes from the OS).
#include "actiond/config/config.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace actiond::daemon {

struct ControlContext {
  std::function<nlohmann::json()> status;    // thread-safe snapshot providers
  std::function<nlohmann::json()> snapshot;
  std::filesystem::path journal_dir;         // empty: journaling disabled
  std::function<nlohmann::json()> reload;    // empty: `reload`, `promote` and `rollback` are refused
  std::function<nlohmann::json()> models;
  std::function<nlohmann::json(const std::string& model, const std::string& candidate)> promote;
  std::function<nlohmann::json(const std::string& model)> rollback;
  std::function<nlohmann::json(const std::string& camera, const std::string& candidate)> shadow;  // "" stops
  // The teach commands (actiond/daemon/teach/commands.hpp); empty: refused. Writes (import, train,
  // cancel) are refused too when `reload` is.
  std::function<nlohmann::json(const nlohmann::json& request)> teach;
  config::SecurityConfig security;           // CURVE server + allow-list when enabled
};

nlohmann::json handle_control_request(const ControlContext& ctx, const std::string& request);

}  // namespace actiond::daemon
