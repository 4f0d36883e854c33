#include "actiond/daemon/control_server.hpp"

#include "actiond/config/log.hpp"

#include "actiond/daemon/journal.hpp"
#include "curve.hpp"
#include "zmq_bind.hpp"

#include <zmq.hpp>

#include <future>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("control"); }
}  // namespace

using nlohmann::json;

namespace {
json error(const std::string& message) { return json{{"ok", false}, {"error", message}}; }
}  // namespace

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
    const std::string reply = handle(frames.back().to_string()).dump();
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

json ControlServer::handle(const std::string& request) const {
  const json req = json::parse(request, nullptr, false);
  if (req.is_discarded()) return error("request is not JSON");
  if (!req.is_object()) return error("request must be a JSON object");
  if (!req.contains("cmd") || !req["cmd"].is_string()) return error("request needs \"cmd\" (a string)");
  const std::string cmd = req["cmd"];
  try {
    if (cmd == "status") {
      json out = ctx_.status();
      out["ok"] = true;
      return out;
    }
    if (cmd == "snapshot" || cmd == "cameras") {
      json snap = ctx_.snapshot();
      if (cmd == "snapshot") return json{{"ok", true}, {"cameras", snap}};
      json ids = json::array();
      for (const auto& [id, v] : snap.items()) ids.push_back(id);
      return json{{"ok", true}, {"cameras", ids}};
    }
    if (cmd == "replay") {
      if (ctx_.journal_dir.empty()) return error("replay: the journal is disabled (actiond.json /journal/enabled)");
      if (!req.contains("camera") || !req["camera"].is_string()) return error("replay needs \"camera\" (a string)");
      const json from = req.value("from", json(1));
      if (!from.is_number_unsigned() && !(from.is_number_integer() && from.get<long long>() >= 0)) {
        return error("replay: \"from\" must be a non-negative integer");
      }
      const json max = req.value("max", json(10000));
      if (!max.is_number_integer() || max.get<long long>() < 1 || max.get<long long>() > 100000) {
        return error("replay: \"max\" must be an integer between 1 and 100000");
      }
      const std::string camera = req["camera"];
      if (camera.find('/') != std::string::npos || camera.find("..") != std::string::npos) {
        return error("replay: invalid camera id");
      }
      json events = json::array();
      for (const auto& line : Journal::read(ctx_.journal_dir, camera, from.get<std::uint64_t>(),
                                            static_cast<std::size_t>(max.get<long long>()))) {
        events.push_back(json::parse(line, nullptr, false));
      }
      return json{{"ok", true}, {"camera", camera}, {"events", events}};
    }
    if (cmd == "reload") {
      if (!ctx_.reload) return error("reload: not allowed on this socket (actiond.json /control/allow_reload)");
      json out = ctx_.reload();
      return out;
    }
    return error("unknown cmd \"" + cmd + "\" (known: status, cameras, snapshot, replay, reload)");
  } catch (const std::exception& e) {
    return error(cmd + ": " + e.what());
  }
}

}  // namespace actiond::daemon
