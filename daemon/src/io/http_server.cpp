#include "io/http_server.hpp"

#include "actiond/config/log.hpp"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace actiond::daemon::detail {

namespace {
spdlog::logger& logger() { return config::module_log("http"); }
}  // namespace

HttpServer::HttpServer(const std::string& host, int port, std::function<HttpReply()> metrics,
                       std::function<HttpReply()> health, const std::function<void(httplib::Server&)>& routes,
                       int threads)
    : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  auto serve = [](std::function<HttpReply()> fn) {
    return [fn = std::move(fn)](const httplib::Request&, httplib::Response& res) {
      const HttpReply r = fn();
      res.status = r.status;
      res.set_content(r.body, r.content_type);
    };
  };
  server_->Get("/metrics", serve(std::move(metrics)));
  server_->Get("/healthz", serve(std::move(health)));
  if (routes) routes(*server_);
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) throw std::runtime_error("metrics endpoint " + host + ":" + std::to_string(port) + ": cannot bind");
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  logger().info("metrics and health on http://{}:{}/metrics and /healthz", host, port_);
}

HttpServer::~HttpServer() {
  // httplib's stop() does nothing until listen has started (is_running), and the listen would then
  // block in accept() forever: wait for it first (a daemon destroyed right after construction).
  for (int i = 0; i < 5000 && !server_->is_running() && !listen_returned_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace actiond::daemon::detail
