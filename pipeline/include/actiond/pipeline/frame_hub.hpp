#pragma once
// FrameHub: the bounded hand-off between camera pipelines (producers: GStreamer streaming threads and
// each camera's supervisor thread) and the single inference loop (consumer).
//
// Each camera has its own small queue. Policy when full:
//   - live / real-time cameras: drop the OLDEST frame and count it as `queue_full`, so analysis
//     always works on the newest frames and latency cannot grow;
//   - `blocking` cameras (files read as fast as analysis allows): the producer waits for space.
// Status markers (state changes of the stream) are never dropped and keep their order relative to
// frames, so a segment is closed after the last frame before a source loss.
//
// Thread-safety: all methods are safe to call from any thread.
#include "actiond/config/enum_names.hpp"
#include "actiond/pipeline/frame.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace actiond::pipeline {

using CameraHandle = std::uint32_t;

// A camera's stream state as its supervisor sees it (events: `stream.status`).
enum class StreamState { starting, running, reconnecting, stalled, blocked, eos, stopped, failed };
inline constexpr StreamState kAllStreamStates[] = {StreamState::starting, StreamState::running,
                                                   StreamState::reconnecting, StreamState::stalled,
                                                   StreamState::blocked, StreamState::eos,
                                                   StreamState::stopped, StreamState::failed};
// Their names in events and metrics ("running", ...).
inline constexpr config::EnumNames<StreamState, 8> kStreamStateNames{{
    {StreamState::starting, "starting"}, {StreamState::running, "running"}, {StreamState::reconnecting, "reconnecting"},
    {StreamState::stalled, "stalled"},   {StreamState::blocked, "blocked"}, {StreamState::eos, "eos"},
    {StreamState::stopped, "stopped"},   {StreamState::failed, "failed"}}};
inline constexpr config::EnumNames<ClockSource, 2> kClockSourceNames{
    {{ClockSource::arrival, "arrival"}, {ClockSource::ntp, "ntp"}}};
constexpr const char* to_string(StreamState state) { return config::name_of(kStreamStateNames, state).data(); }
constexpr const char* to_string(ClockSource clock) { return config::name_of(kClockSourceNames, clock).data(); }

struct StreamStatus {
  StreamState state = StreamState::starting;
  std::string reason;           // human-readable, credentials redacted
  int attempt = 0;              // reconnect attempt (0 = first connection)
  std::uint64_t epoch = 0;      // +1 on each successful (re)connect (first frame received)
  double fps_in = 0.0;          // decoded frames per second from the source, recent
  std::uint64_t dropped_rate_limit = 0;  // frames above the analysis rate, dropped before scaling
  ClockSource clock = ClockSource::arrival;  // where frame wall-clock times come from
};

struct SourceItem {
  enum class Kind { frame, status };
  Kind kind = Kind::frame;
  CameraHandle camera = 0;
  Frame frame;          // kind == frame
  StreamStatus status;  // kind == status
};

struct HubCounters {
  std::uint64_t pushed = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t producer_waits = 0;  // blocking cameras: times a producer waited for space
};

class FrameHub {
 public:
  void add_camera(CameraHandle camera, std::size_t capacity, bool blocking);
  // Removes the camera; a producer blocked in push() for it returns false.
  void remove_camera(CameraHandle camera);

  // Producer side. Returns false when the camera is unknown/removed or the hub is closed.
  bool push(SourceItem item);

  // Consumer side: waits until some camera has an item, the hub is closed, or `timeout` passes.
  enum class WaitResult { ready, timeout, closed };  // closed: closed and empty (nothing will come)
  WaitResult wait(std::chrono::milliseconds timeout);
  // Waits until at least `frames` frames are pending, the hub is closed, or `timeout` passes (batch
  // gathering: returns as soon as the batch is full). True when the batch is full.
  bool wait_frames(std::size_t frames, std::chrono::milliseconds timeout);
  // Moves up to `max_frames` frames (plus any markers met on the way) into `out`, taking one item per
  // camera per round so no camera starves the others; order within a camera is preserved.
  std::size_t take(std::size_t max_frames, std::vector<SourceItem>& out);
  std::size_t pending_frames() const;

  HubCounters counters(CameraHandle camera) const;
  void close();

 private:
  struct Slot {
    std::size_t capacity = 1;
    bool blocking = false;
    std::deque<SourceItem> items;
    std::size_t frames = 0;
    HubCounters counters;
  };

  mutable std::mutex mu_;
  std::condition_variable ready_;  // consumer waits
  std::condition_variable space_;  // blocking producers wait
  std::map<CameraHandle, Slot> slots_;
  std::size_t total_items_ = 0;
  bool closed_ = false;
};

}  // namespace actiond::pipeline
