#pragma once
// ControlServer: the thread that owns the ZeroMQ ROUTER control socket (default tcp://127.0.0.1:7701).
// Each request (the last frame of a ROUTER message) gets one reply: handle_control_request() in
// control_protocol.hpp. Requests over 1 MiB are refused by ZeroMQ (ZMQ_MAXMSGSIZE) and the peer is disconnected.
//
// Thread-safety: the constructor binds (throws naming the endpoint); handle() is pure with respect
// to the socket and may be called from tests on any thread.
#include "actiond/daemon/io/control_protocol.hpp"

#include <atomic>
#include <string>
#include <thread>

namespace actiond::daemon {

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
