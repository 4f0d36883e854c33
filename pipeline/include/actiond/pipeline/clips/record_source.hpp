#pragma once
// RecordSource: a camera's second connection that only records. It opens the camera's main stream
// (`clips.record_uri`, e.g. the high-resolution RTSP stream while the low-resolution substream is
// analysed, as Frigate recommends), parses it (never decodes it) and feeds the access units to the
// camera's ClipRecorder, keyed by wall-clock arrival time: the one clock the analysed stream and the
// main stream share (events carry it as `time`). It reconnects with the camera's backoff; its
// failures are logged and never touch the analysed stream.
//
// Thread-safety: start()/stop() from one controlling thread; state() from any thread. A supervisor
// thread owns the pipeline; GStreamer's streaming threads feed the recorder (thread-safe).
#include "actiond/config/config.hpp"
#include "actiond/pipeline/clips/clip_recorder.hpp"

#include <memory>
#include <string>

namespace actiond::pipeline {

class RecordSource {
 public:
  // `latency_ms`: RTSP jitter buffer, the analysed stream's (so both arrive equally late).
  RecordSource(std::string camera, std::string uri, int latency_ms, config::ReconnectConfig reconnect,
               std::shared_ptr<ClipRecorder> recorder);
  ~RecordSource();  // stop()
  RecordSource(const RecordSource&) = delete;
  RecordSource& operator=(const RecordSource&) = delete;

  void start();
  void stop();
  std::string state() const;  // "connecting", "recording", "reconnecting", "stopped"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actiond::pipeline
