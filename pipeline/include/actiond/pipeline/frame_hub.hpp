#pragma once
// FrameHub: the bounded hand-off between camera pipelines (producers, GStreamer streaming threads)
// and the single inference loop (consumer).
//
// Each camera has its own small queue. Policy when full:
//   - live / real-time cameras: drop the OLDEST frame and count it as `queue_full`, so analysis
//     always works on the newest frames and latency cannot grow;
//   - `blocking` cameras (files read as fast as analysis allows): the producer waits for space.
// Stream markers (end of stream, errors) are never dropped and keep their order relative to frames.
//
// Thread-safety: all methods are safe to call from any thread.
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

struct SourceItem {
  enum class Kind { frame, eos, error };
  Kind kind = Kind::frame;
  CameraHandle camera = 0;
  Frame frame;         // kind == frame
  std::string reason;  // kind == error
};

struct HubCounters {
  std::uint64_t pushed = 0;
  std::uint64_t dropped_queue_full = 0;
};

class FrameHub {
 public:
  void add_camera(CameraHandle camera, std::size_t capacity, bool blocking);
  // Removes the camera; a producer blocked in push() for it returns false.
  void remove_camera(CameraHandle camera);

  // Producer side. Returns false when the camera is unknown/removed or the hub is closed.
  bool push(SourceItem item);

  // Consumer side: waits until some camera has an item, the hub is closed, or `timeout` passes.
  // Returns false only when closed and empty.
  bool wait(std::chrono::milliseconds timeout);
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
