#pragma once
// ControlServer: the thread that owns the ZeroMQ ROUTER control socket (default tcp://127.0.0.1:7701).
// Requests and replies are single JSON objects:
//   {"cmd": "status"}                              daemon and per-camera state
//   {"cmd": "cameras"}                             camera ids
//   {"cmd": "snapshot"}                            last seq, epoch, state and open segment per camera
//                                                  (with `replay` from seq+1: the zguide "clone" pattern)
//   {"cmd": "replay", "camera": C, "from": N, "max": M}   journaled events of C with seq >= N
//   {"cmd": "reload"}                              re-read the configuration (if allowed)
// Replies: {"ok": true, ...} or {"ok": false, "error": "..."}; malformed requests never crash it.
// Requests over 1 MiB are refused by ZeroMQ (ZMQ_MAXMSGSIZE) and the peer is disconnected.
//
// Thread-safety: the constructor binds (throws naming the endpoint); handle() is pure with respect
// to the socket and may be called from tests on any thread.
#include "actiond/config/config.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace actiond::daemon {

struct ControlContext {
  std::function<nlohmann::json()> status;    // thread-safe snapshot providers
  std::function<nlohmann::json()> snapshot;
  std::filesystem::path journal_dir;         // empty: journaling disabled
  std::function<nlohmann::json()> reload;    // empty: `reload` is refused
  config::SecurityConfig security;           // CURVE server + allow-list when enabled
};

class ControlServer {
 public:
  ControlServer(const std::string& endpoint, ControlContext context);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  // One request's reply (also used by the socket thread).
  nlohmann::json handle(const std::string& request) const;

 private:
  void run(void* socket);
  ControlContext ctx_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace actiond::daemon
