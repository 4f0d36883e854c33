#include "io/curve.hpp"

#include "io/zmq_bind.hpp"

#include "actiond/config/log.hpp"


#include <filesystem>
#include <fstream>
#include <future>
#include <vector>

namespace actiond::daemon::detail {

namespace {
spdlog::logger& logger() { return config::module_log("security"); }
}  // namespace

CurveServer::CurveServer(zmq::context_t& ctx, const config::SecurityConfig& security) : security_(security) {
  if (security.curve_secret_key.empty() || security.allowed_clients.empty()) return;
  for (const auto& z85 : security.allowed_clients) {
    std::string key(32, '\0');
    zmq_z85_decode(reinterpret_cast<std::uint8_t*>(key.data()), z85.c_str());
    allowed_.insert(key);
  }
  std::promise<void> bound;
  auto ready = bound.get_future();
  thread_ = std::thread([this, &ctx, p = std::move(bound)]() mutable {
    zmq::socket_t rep(ctx, zmq::socket_type::rep);
    rep.set(zmq::sockopt::linger, 0);
    rep.set(zmq::sockopt::rcvtimeo, 100);
    rep.bind("inproc://zeromq.zap.01");
    p.set_value();
    while (!stop_.load()) {
      std::vector<zmq::message_t> req;
      try {
        if (!recv_multipart(rep, req)) continue;
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) break;
        continue;
      }
      // version, request id, domain, address, identity, mechanism, credentials...
      const std::string request_id = req.size() > 1 ? req[1].to_string() : "";
      const bool curve = req.size() >= 7 && req[5].to_string() == "CURVE";
      const bool ok = curve && allowed_.count(req[6].to_string()) > 0;
      if (!ok) {
        const auto n = refused_.fetch_add(1) + 1;
        if ((n & (n - 1)) == 0) {
          logger().warn("security: refused a client whose key is not allowed (from {}; {} refusals so far)",
                       req.size() > 3 ? req[3].to_string() : "?", n);
        }
      }
      const std::vector<std::string> reply = {"1.0", request_id, ok ? "200" : "400",
                                              ok ? "OK" : "client key not allowed", "", ""};
      for (std::size_t i = 0; i < reply.size(); ++i) {
        rep.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    }
  });
  ready.wait();
}

CurveServer::~CurveServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void CurveServer::apply(zmq::socket_t& sock) const {
  if (security_.curve_secret_key.empty()) return;
  sock.set(zmq::sockopt::zap_domain, "actiond");
  sock.set(zmq::sockopt::curve_server, 1);
  sock.set(zmq::sockopt::curve_secretkey, security_.curve_secret_key);
}

}  // namespace actiond::daemon::detail
