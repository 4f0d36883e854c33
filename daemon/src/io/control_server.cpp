#include "actiond/daemon/io/control_server.hpp"

#include "actiond/config/log.hpp"

#include "io/curve.hpp"
#include "io/zmq_bind.hpp"

#include <zmq.hpp>

#include <future>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("control"); }
}  // namespace

using nlohmann::json;

ControlServer::ControlServer(const std::string& endpoint, ControlContext context) : ctx_(std::move(context)) {
  std::promise<std::string> bound;
  auto result = bound.get_future();
  thread_ = std::thread([this, endpoint, p = std::move(bound)]() mutable {
    zmq::context_t zctx(1);
    detail::CurveServer curve(zctx, ctx_.security);
    zmq::socket_t sock(zctx, zmq::socket_type::router);
    curve.apply(sock);
    sock.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(1 << 20));
    sock.set(zmq::sockopt::linger, 0);
    sock.set(zmq::sockopt::rcvtimeo, 100);
    if (!detail::bind_and_report(sock, endpoint, "control endpoint", p)) return;
    run(&sock);
  });
  try {
    endpoint_ = result.get();
  } catch (...) {
    thread_.join();
    throw;
  }
  logger().info("control socket on {}", endpoint_);
}

ControlServer::~ControlServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ControlServer::run(void* socket) {
  auto& sock = *static_cast<zmq::socket_t*>(socket);
  while (!stop_.load()) {
    // ROUTER frames: identity, [empty delimiter from REQ], body.
    std::vector<zmq::message_t> frames;
    try {
      if (!detail::recv_multipart(sock, frames)) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      logger().warn("control: receive failed: {}", e.what());
      continue;
    }
    if (frames.size() < 2) continue;
    const std::string reply = handle(frames.back().to_string()).dump(-1, ' ', false, json::error_handler_t::replace);
    try {
      for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
        sock.send(zmq::buffer(frames[i].data(), frames[i].size()), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      }
      sock.send(zmq::buffer(reply), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      logger().warn("control: reply failed: {}", e.what());
    }
  }
}

json ControlServer::handle(const std::string& request) const { return handle_control_request(ctx_, request); }

}  // namespace actiond::daemon
