#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace actiond::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("actiond-test-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(const std::string& relative, const std::string& content) const {
  fs::path p = path_ / relative;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

fs::path test_model_dir() { return ACTIOND_TEST_MODEL_DIR; }

fs::path shared_data_dir() {
  const char* env = std::getenv("ACTIOND_SHARED_DIR");
  const fs::path shared = env != nullptr && *env != '\0' ? fs::path(env) : fs::path(ACTIOND_SOURCE_DIR) / ".." / "shared";
  return (shared / "data").lexically_normal();
}

int run_command(const std::string& cmd, std::string* output) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) throw std::runtime_error("cannot run: " + cmd);
  std::array<char, 512> buf{};
  while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  const int rc = pclose(p);
  if (output != nullptr) *output = out;
  return rc;
}

void make_h264_video(const fs::path& out, const std::vector<VideoPart>& parts, int fps) {
  const bool ts = out.extension() == ".ts";
  std::ostringstream cmd;
  cmd << "gst-launch-1.0 -q concat name=c ! videoconvert ! x264enc speed-preset=ultrafast key-int-max=" << fps
      << " ! h264parse ! " << (ts ? "mpegtsmux" : "mp4mux") << " ! filesink location='" << out.string() << "'";
  for (const auto& part : parts) {
    const int frames = static_cast<int>(part.seconds * fps + 0.5);
    cmd << " videotestsrc pattern=" << part.pattern << " num-buffers=" << frames << " ! video/x-raw,format=I420,width="
        << part.width << ",height=" << part.height << ",framerate=" << fps << "/1 ! c.";
  }
  std::string output;
  const int rc = run_command(cmd.str(), &output);
  if (rc != 0 || !fs::exists(out) || fs::file_size(out) == 0) {
    throw std::runtime_error("video generation failed (" + cmd.str() + "): " + output);
  }
}

EventCollector::EventCollector(const std::string& endpoint, CurveKeys curve) {
  thread_ = std::thread([this, endpoint, curve] { run(endpoint, curve); });
  // Wait for the TCP handshake, then a moment for the subscription to reach the publisher.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!connected_.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

EventCollector::~EventCollector() {
  stop_.store(true);
  thread_.join();
}

void EventCollector::run(std::string endpoint, CurveKeys curve) {
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  if (!curve.server_public.empty()) {
    sub.set(zmq::sockopt::curve_serverkey, curve.server_public);
    sub.set(zmq::sockopt::curve_publickey, curve.client_public);
    sub.set(zmq::sockopt::curve_secretkey, curve.client_secret);
  }
  sub.set(zmq::sockopt::subscribe, "");
  sub.set(zmq::sockopt::rcvtimeo, 50);
  sub.set(zmq::sockopt::linger, 0);
  zmq::socket_t monitor_pair(ctx, zmq::socket_type::pair);
  const std::string mon = "inproc://monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  zmq_socket_monitor(sub.handle(), mon.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  monitor_pair.connect(mon);
  monitor_pair.set(zmq::sockopt::rcvtimeo, 0);
  sub.connect(endpoint);
  while (!stop_.load()) {
    if (!connected_.load()) {
      zmq::message_t ev;
      if (monitor_pair.recv(ev, zmq::recv_flags::dontwait)) {
        zmq::message_t addr;
        (void)monitor_pair.recv(addr);
        connected_.store(true);
      }
    }
    zmq::message_t topic;
    if (!sub.recv(topic)) continue;
    zmq::message_t body;
    (void)sub.recv(body);
    auto j = nlohmann::json::parse(body.to_string());
    std::lock_guard lock(mu_);
    topics_.push_back(topic.to_string());
    events_.push_back(std::move(j));
  }
  zmq_socket_monitor(sub.handle(), nullptr, 0);
}

bool EventCollector::wait_for(const std::function<bool(const std::vector<nlohmann::json>&)>& pred,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(events())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred(events());
}

std::vector<nlohmann::json> EventCollector::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::vector<std::string> EventCollector::topics() const {
  std::lock_guard lock(mu_);
  return topics_;
}

std::vector<nlohmann::json> of_type(const std::vector<nlohmann::json>& events, const std::string& type) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events) {
    if (e.at("type") == type) out.push_back(e);
  }
  return out;
}

void check_stream_invariants(const std::vector<nlohmann::json>& events) {
  std::map<std::string, std::uint64_t> last_seq;
  std::map<std::string, int> open;  // segment id -> starts minus ends
  for (const auto& e : events) {
    REQUIRE(e.at("schema") == "actiond.event/1");
    const std::string cam = e.at("camera");
    const auto seq = e.at("seq").get<std::uint64_t>();
    INFO("event " << e.dump());
    CHECK(seq == last_seq[cam] + 1);
    last_seq[cam] = seq;
    if (e.at("type") == "segment.start") {
      CHECK(open[e.at("segment").at("id")]++ == 0);
      CHECK(e.at("segment").at("end").is_null());
    } else if (e.at("type") == "boundary") {
      CHECK(e.at("from") != e.at("to"));  // a boundary always separates two labels
    } else if (e.at("type") == "segment.update") {
      CHECK(open[e.at("segment").at("id")] == 1);  // only for an open segment
    } else if (e.at("type") == "segment.end") {
      CHECK(open[e.at("segment").at("id")]-- == 1);
      CHECK(e.at("segment").at("end_reason").is_string());
      CHECK(e.at("segment").at("end").at("pts").get<double>() >= e.at("segment").at("start").at("pts").get<double>());
    }
  }
  for (const auto& [id, n] : open) {
    INFO("segment " << id);
    CHECK(n == 0);
  }
}

}  // namespace actiond::test
