#pragma once
// Private: the daemon's HTTP server (cpp-httplib): GET /metrics and GET /healthz, and whatever
// `routes` installs (the API and the web timeline) on `threads` worker threads.
// The constructor binds (throws std::runtime_error naming HOST:PORT on failure) and serves on its
// own thread until destruction.
//
// Thread-safety: handlers run on httplib's worker threads and must be thread-safe.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace actiond::daemon::detail {

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
};

class HttpServer {
 public:
  HttpServer(const std::string& host, int port, std::function<HttpReply()> metrics, std::function<HttpReply()> health,
             const std::function<void(httplib::Server&)>& routes = {}, int threads = 2);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace actiond::daemon::detail
