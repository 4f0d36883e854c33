#include "curve.hpp"

#include "zmq_bind.hpp"

#include "actiond/config/log.hpp"

#include "actiond/daemon/keygen.hpp"

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

namespace actiond::daemon {

int run_keygen(const std::string& prefix, std::ostream& out) {
  char pub[41] = {};
  char secret[41] = {};
  if (zmq_curve_keypair(pub, secret) != 0) {
    throw std::runtime_error("keygen: this libzmq has no CURVE support (built without libsodium)");
  }
  const std::string key_file = prefix + ".key";
  const std::string pub_file = prefix + ".pub";
  for (const auto& f : {key_file, pub_file}) {
    if (std::filesystem::exists(f)) throw std::runtime_error("keygen: " + f + " exists; not overwriting it");
  }
  {
    std::ofstream k(key_file);
    if (!k) throw std::runtime_error("keygen: cannot write " + key_file);
    std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    k << "# actiond CURVE secret key (Z85); keep it private\n" << secret << "\n";
  }
  std::ofstream p(pub_file);
  if (!p) throw std::runtime_error("keygen: cannot write " + pub_file);
  p << "# actiond CURVE public key (Z85)\n" << pub << "\n";
  out << "wrote " << key_file << " (secret) and " << pub_file << " (public: " << pub << ")\n";
  return 0;
}

}  // namespace actiond::daemon
