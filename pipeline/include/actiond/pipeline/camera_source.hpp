#pragma once
// CameraSource: one camera's GStreamer pipeline, from URI to RGB frames at the analysis rate and the
// backbone's input size, pushed into a FrameHub.
//
//   source (uridecodebin | videotestsrc) -> videorate (drop only, <= fps) -> videoscale -> videoconvert
//     -> RGB WxH -> appsink (bounded; never blocks a live decoder)
//
// Frames are dropped by videorate before any scaling or conversion when the camera runs faster than
// the analysis rate. End of stream and errors reach the hub in order after the last frame, and are also
// reported through `on_status` (called from the source's bus thread).
//
// The source registers its queue in the hub when constructed and removes it in stop() (before the
// pipeline is torn down, so a producer waiting for space is released).
//
// Thread-safety: start()/stop() from one controlling thread. `on_status` runs on an internal thread.
#include "actiond/pipeline/frame_hub.hpp"

#include <functional>
#include <memory>
#include <string>

namespace actiond::pipeline {

struct SourceOptions {
  CameraHandle handle = 0;
  std::string camera_id;
  std::string uri;
  double fps = 5.0;         // analysis rate
  int width = 112;          // backbone input size
  int height = 112;
  bool realtime = true;     // files: real-time pace; false = as fast as the hub accepts (no drops)
  std::size_t queue_frames = 4;  // the camera's FrameHub queue
};

struct SourceStatus {
  enum class State { running, eos, error };
  State state = State::running;
  std::string reason;       // human-readable, credentials redacted
};

class CameraSource {
 public:
  using StatusCallback = std::function<void(const SourceStatus&)>;

  // Throws UriError / std::runtime_error when the pipeline cannot be built (bad URI, missing plugin).
  CameraSource(SourceOptions options, FrameHub& hub, StatusCallback on_status);
  ~CameraSource();
  CameraSource(const CameraSource&) = delete;
  CameraSource& operator=(const CameraSource&) = delete;

  void start();
  // Stops the pipeline and joins its threads. Idempotent.
  void stop();

  const SourceOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actiond::pipeline
