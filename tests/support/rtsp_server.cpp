#include "rtsp_server.hpp"

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace actiond::test {

struct RtspTestServer::Impl {
  Options opt;
  GMainContext* ctx = nullptr;
  GMainLoop* loop = nullptr;
  std::thread thread;
  GstRTSPServer* server = nullptr;
  GSource* source = nullptr;
  int port = 0;

  void listen() {
    GError* err = nullptr;
    source = gst_rtsp_server_create_source(server, nullptr, &err);
    if (source == nullptr) {
      std::string msg = err ? err->message : "unknown";
      if (err) g_error_free(err);
      throw std::runtime_error("RTSP test server cannot listen: " + msg);
    }
    g_source_attach(source, ctx);
    port = gst_rtsp_server_get_bound_port(server);
    g_object_set(server, "service", std::to_string(port).c_str(), nullptr);
  }
};

RtspTestServer::RtspTestServer(Options options) : impl_(std::make_unique<Impl>()) {
  gst_init(nullptr, nullptr);
  impl_->opt = std::move(options);
  impl_->ctx = g_main_context_new();
  impl_->loop = g_main_loop_new(impl_->ctx, FALSE);
  impl_->server = gst_rtsp_server_new();
  g_object_set(impl_->server, "address", "127.0.0.1", "service", "0", nullptr);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(impl_->server);
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  const std::string launch = "( videotestsrc is-live=true pattern=" + impl_->opt.pattern +
                             " ! video/x-raw,width=320,height=240,framerate=25/1 ! x264enc tune=zerolatency "
                             "speed-preset=ultrafast key-int-max=25 ! rtph264pay name=pay0 pt=96 config-interval=1 )";
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  using Transports = Options::Transports;
  if (impl_->opt.transports == Transports::udp_only) {
    gst_rtsp_media_factory_set_protocols(factory, GST_RTSP_LOWER_TRANS_UDP);
  } else if (impl_->opt.transports == Transports::tcp_only) {
    gst_rtsp_media_factory_set_protocols(factory, GST_RTSP_LOWER_TRANS_TCP);
  }
  if (!impl_->opt.user.empty()) {
    GstRTSPAuth* auth = gst_rtsp_auth_new();
    GstRTSPToken* token = gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "user", nullptr);
    gchar* basic = gst_rtsp_auth_make_basic(impl_->opt.user.c_str(), impl_->opt.password.c_str());
    gst_rtsp_auth_add_basic(auth, basic, token);
    g_free(basic);
    gst_rtsp_token_unref(token);
    gst_rtsp_server_set_auth(impl_->server, auth);
    g_object_unref(auth);
    gst_rtsp_media_factory_add_role(factory, "user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN, TRUE,
                                    GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, nullptr);
  }
  gst_rtsp_mount_points_add_factory(mounts, impl_->opt.path.c_str(), factory);
  g_object_unref(mounts);
  impl_->listen();
  impl_->thread = std::thread([this] {
    g_main_context_push_thread_default(impl_->ctx);
    g_main_loop_run(impl_->loop);
    g_main_context_pop_thread_default(impl_->ctx);
  });
}

RtspTestServer::~RtspTestServer() {
  stop();
  g_main_loop_quit(impl_->loop);
  impl_->thread.join();
  g_object_unref(impl_->server);
  g_main_loop_unref(impl_->loop);
  g_main_context_unref(impl_->ctx);
}

int RtspTestServer::port() const { return impl_->port; }

std::string RtspTestServer::uri(const std::string& credentials) const {
  return "rtsp://" + credentials + "127.0.0.1:" + std::to_string(impl_->port) + impl_->opt.path;
}

void RtspTestServer::stop() {
  if (impl_->source == nullptr) return;
  g_source_destroy(impl_->source);
  g_source_unref(impl_->source);
  impl_->source = nullptr;
  gst_rtsp_server_client_filter(
      impl_->server, [](GstRTSPServer*, GstRTSPClient*, gpointer) { return GST_RTSP_FILTER_REMOVE; }, nullptr);
}

void RtspTestServer::start() {
  if (impl_->source != nullptr) return;
  impl_->listen();
}

struct SilentTcpServer::Impl {
  int fd = -1;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::mutex mu;
  std::vector<int> clients;
};

SilentTcpServer::SilentTcpServer() : impl_(std::make_unique<Impl>()) {
  impl_->fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(impl_->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(impl_->fd, 16) != 0) {
    throw std::runtime_error("SilentTcpServer: cannot listen");
  }
  socklen_t len = sizeof(addr);
  getsockname(impl_->fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  impl_->thread = std::thread([this] {
    while (!impl_->stop.load()) {
      timeval tv{0, 100000};
      fd_set set;
      FD_ZERO(&set);
      FD_SET(impl_->fd, &set);
      if (select(impl_->fd + 1, &set, nullptr, nullptr, &tv) <= 0) continue;
      const int c = accept(impl_->fd, nullptr, nullptr);
      if (c < 0) continue;
      std::lock_guard lock(impl_->mu);
      impl_->clients.push_back(c);  // kept open, never answered
      ++impl_->accepted;
    }
  });
}

SilentTcpServer::~SilentTcpServer() {
  impl_->stop = true;
  impl_->thread.join();
  for (int c : impl_->clients) close(c);
  close(impl_->fd);
}

int SilentTcpServer::accepted() const { return impl_->accepted.load(); }

int closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace actiond::test
