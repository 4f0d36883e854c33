#pragma once
// A real RTSP server (gst-rtsp-server) in the test process, on 127.0.0.1 and a free port, serving
// live H.264 from videotestsrc. It can be stopped (clients are disconnected, the port closes) and
// started again on the same port, optionally requiring Basic authentication.
#include <memory>
#include <string>

namespace actiond::test {

class RtspTestServer {
 public:
  struct Options {
    std::string pattern = "red";
    std::string path = "/test";
    std::string user;      // non-empty: require Basic auth
    std::string password;
    enum class Transports { any, udp_only, tcp_only };
    Transports transports = Transports::any;  // lower transports the server accepts in SETUP
  };
  explicit RtspTestServer(Options options);
  RtspTestServer() : RtspTestServer(Options{}) {}
  ~RtspTestServer();
  RtspTestServer(const RtspTestServer&) = delete;
  RtspTestServer& operator=(const RtspTestServer&) = delete;

  int port() const;
  // rtsp://127.0.0.1:PORT/test (with `credentials` "user:pass@" inserted when given)
  std::string uri(const std::string& credentials = "") const;
  void stop();   // disconnects every client and stops listening
  void start();  // listens again on the same port

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Accepts TCP connections on 127.0.0.1 and never answers: a camera that connects and then stalls.
class SilentTcpServer {
 public:
  SilentTcpServer();
  ~SilentTcpServer();
  int port() const { return port_; }
  int accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
int closed_port();

}  // namespace actiond::test
