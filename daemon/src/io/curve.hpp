#pragma once
// Private helper: CURVE encryption and the client allow-list for the daemon's two ZeroMQ sockets.
//
//   CurveServer curve(ctx, security);   // on the socket-owning thread, before bind
//   curve.apply(sock);                  // makes `sock` a CURVE server (no-op when disabled)
//
// With an allow-list, a ZAP handler (RFC 27) thread answers the context's authentication requests:
// clients whose public key is not listed are refused during the handshake (and counted).
//
// Thread-safety: construct, apply() and destroy on the thread that owns the context's sockets; the
// handler thread is internal. Destroy before the context.
#include "actiond/config/config.hpp"

#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>

namespace actiond::daemon::detail {

class CurveServer {
 public:
  CurveServer(zmq::context_t& ctx, const config::SecurityConfig& security);
  ~CurveServer();
  CurveServer(const CurveServer&) = delete;
  CurveServer& operator=(const CurveServer&) = delete;

  void apply(zmq::socket_t& sock) const;
  std::uint64_t refused() const { return refused_.load(); }

 private:
  void serve(zmq::context_t& ctx);

  config::SecurityConfig security_;
  std::set<std::string> allowed_;  // binary (32-byte) public keys
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace actiond::daemon::detail
