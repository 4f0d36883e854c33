#pragma once
// CameraSource: one camera's ingest, supervised. It builds the GStreamer pipeline
//
//   source (uridecodebin | v4l2src ! decodebin | videotestsrc)
//     -> videorate (drop only, <= fps) -> videocrop (roi) -> videoscale -> videoconvert
//     -> RGB WxH -> appsink (bounded; never blocks a live decoder)
//
// and keeps it alive from its own supervisor thread:
//   - error or end of a live stream: tear down, retry with exponential backoff and jitter
//     (reconnect.initial_s .. max_s, forever unless max_attempts); files fail or end instead
//     (or start again with `loop`);
//   - no decoded frame from a live source for stall_timeout_s: "stalled", restart;
//   - frames dropped because analysis is slower than the source: "blocked" (never restarted for it).
//   - RTSP, transport "auto": RTP over TCP first; a server that refuses it (461) is retried at once
//     over UDP (a "starting" status says so), and the other way round; a forced transport that is
//     refused gives the reason "RTSP server refused TCP transport (461)".
// Every state change travels through the FrameHub as a status marker, in order with the frames; the
// first frame of each connection is preceded by a "running" marker carrying the new epoch.
//
// Thread-safety: start()/stop() from one controlling thread; frames_decoded() from any thread.
// Internals run on the supervisor thread (camera_source.cpp) and GStreamer's streaming threads
// (stream_callbacks.cpp); what they share is SourceState (source_state.hpp).
#include "actiond/config/config.hpp"
#include "actiond/pipeline/frame_hub.hpp"

#include <memory>
#include <string>

namespace actiond::pipeline {

class ClipRecorder;

struct SourceOptions {
  CameraHandle handle = 0;
  config::CameraConfig camera;  // id, uri, fps, realtime, loop, rtsp options, roi, reconnect, stall
  int width = 112;              // backbone input size
  int height = 112;
  bool letterbox = false;       // keep the picture's aspect ratio: borders fill the rest (pose models)
  int decoder_nice = 0;         // the decoding thread's niceness above the process's (inference.decoder_nice)
  std::uint64_t last_epoch = 0; // epochs continue from here (the camera's journal)
  // Clips: the compressed video goes here too (shared with whoever writes the clips).
  std::shared_ptr<ClipRecorder> clips;
};

class CameraSource {
 public:
  // Throws UriError for a URI that cannot work. Registers the camera's queue in `hub`.
  CameraSource(SourceOptions options, FrameHub& hub);
  ~CameraSource();
  CameraSource(const CameraSource&) = delete;
  CameraSource& operator=(const CameraSource&) = delete;

  void start();
  // Stops the supervisor and the pipeline, removes the camera from the hub. Idempotent.
  void stop();

  const SourceOptions& options() const;
  // Frames decoded so far (all connections, before rate limiting). Any thread.
  std::uint64_t frames_decoded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actiond::pipeline
