#pragma once
// Private to CameraSource: what the camera's supervisor thread and its pipeline's streaming threads
// share, and the one way both report a state change (push_status).
//
//   SourceContext  immutable after construction: the camera's settings, its URI, the hub.
//   SourceState    thread-safe: counters (atomics), the fps window (its own mutex), the transport
//                  chosen for the current connection.
//
// Thread-safety: SourceContext is read-only (any thread); every SourceState member may be used from
// any thread (supervisor, streaming threads, the controlling thread).
#include "actiond/config/config.hpp"
#include "actiond/pipeline/frame_hub.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"
#include "actiond/pipeline/sources/source_uri.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace actiond::pipeline::detail {

struct SourceContext {
  SourceContext(SourceOptions o, FrameHub& h);
  SourceOptions opt;
  const config::CameraConfig& cam;  // opt.camera
  SourceSpec spec;
  FrameHub& hub;
  bool blocking = false;  // a file read as fast as analysis allows (the hub blocks instead of dropping)
};

// Decoded frames per second over ~1 s windows. Thread-safe (a mutex): the supervisor closes the
// windows, a status pushed from a streaming thread reads the rate.
class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  // Starts a new connection's measurement at `decoded` frames so far.
  void restart(std::uint64_t decoded, Clock::time_point now);
  // Closes the window once it has lasted 1 s (supervisor, every ~100 ms).
  void tick(std::uint64_t decoded, Clock::time_point now);
  // The last full window's rate, or the current partial window's once it lasted 0.2 s.
  double fps(std::uint64_t decoded, Clock::time_point now) const;

 private:
  mutable std::mutex mu_;
  double fps_ = 0.0;
  Clock::time_point window_start_ = Clock::now();
  std::uint64_t decoded_at_window_ = 0;
};

class SourceState {
 public:
  explicit SourceState(const SourceContext& ctx);

  // Puts a stream.status marker into the hub, in order with the frames (any thread).
  void push_status(StreamState state, const std::string& reason);

  std::atomic<std::int64_t> last_decoded_ns{0};  // steady clock of the latest decoded frame
  std::atomic<std::uint64_t> decoded{0};         // all connections, before rate limiting
  std::atomic<bool> awaiting_first_frame{true};  // until the current connection's first frame
  std::atomic<std::uint64_t> epoch{0};           // +1 at each connection's first frame
  std::atomic<int> attempt{0};                   // reconnect attempt of the current connection
  std::atomic<bool> clock_ntp{false};            // frames carry NTP reference timestamps
  std::atomic<std::uint64_t> rate_drops_done{0}; // videorate drops of finished connections
  std::atomic<std::uint64_t> rate_drops_live{0}; // videorate drops of the current connection
  // RTSP: the lower transport of the current connection (TCP or UDP, never automatic).
  std::atomic<config::Transport> transport{config::Transport::tcp};
  RateMeter rate;

 private:
  const SourceContext& ctx_;
};

std::int64_t now_ns();
// Once per thread: makes the calling thread `delta` nicer than the process (capped at 19).
void lower_thread_priority(int delta);

}  // namespace actiond::pipeline::detail
