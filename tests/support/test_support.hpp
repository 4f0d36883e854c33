#pragma once
// Helpers shared by the tests: temporary directories, generated videos, and a ZeroMQ subscriber
// that collects events on its own thread.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace actiond::test {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& relative, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

std::filesystem::path test_model_dir();
// ../shared/data beside the project (ACTIOND_SHARED_DIR overrides ../shared).
std::filesystem::path shared_data_dir();

struct VideoPart {
  std::string pattern;  // videotestsrc pattern nickname
  double seconds = 1.0;
  int width = 320;
  int height = 240;
};

// Writes H.264 video with one videotestsrc pattern per part, at `fps`, through a real GStreamer
// encode pipeline (x264enc): MP4, or MPEG-TS when `out` ends in ".ts" (which allows a resolution
// change midway). Throws std::runtime_error with the pipeline's output.
void make_h264_video(const std::filesystem::path& out, const std::vector<VideoPart>& parts, int fps = 25);

// Runs a shell command; returns its exit status and combined output.
int run_command(const std::string& cmd, std::string* output = nullptr);

// Subscribes to `endpoint` and collects every event body (parsed) until stopped.
// CURVE client keys (Z85); empty server_public = plain socket.
struct CurveKeys {
  std::string server_public;
  std::string client_public;
  std::string client_secret;
};

class EventCollector {
 public:
  explicit EventCollector(const std::string& endpoint, CurveKeys curve = {});
  ~EventCollector();
  // Waits until `pred(events)` holds or `timeout` passes; returns whether it held.
  bool wait_for(const std::function<bool(const std::vector<nlohmann::json>&)>& pred, std::chrono::milliseconds timeout);
  std::vector<nlohmann::json> events() const;
  std::vector<std::string> topics() const;

 private:
  void run(std::string endpoint, CurveKeys curve);
  mutable std::mutex mu_;
  std::vector<nlohmann::json> events_;
  std::vector<std::string> topics_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

// Events of `type` in `events`.
std::vector<nlohmann::json> of_type(const std::vector<nlohmann::json>& events, const std::string& type);

// Contract checks every event stream must pass: seq is 1,2,3... per camera with no gap or
// duplicate, every segment.start has exactly one later segment.end with the same id, and every
// boundary separates two different labels.
void check_stream_invariants(const std::vector<nlohmann::json>& events);

}  // namespace actiond::test
