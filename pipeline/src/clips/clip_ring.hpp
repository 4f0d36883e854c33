#pragma once
// Private: ClipRecorder's packet ring, fed by a camera pipeline's streaming thread (a pad probe on
// the parser before the decoder, or on the small encoder of a raw source).
//
// Thread-safety: all methods take the ring's mutex; any thread.
#include "actiond/pipeline/clips/clip_recorder.hpp"

#include <gst/gst.h>

#include <deque>
#include <mutex>
#include <vector>

namespace actiond::pipeline {

struct ClipRecorder::Ring {
  struct Packet {
    GstBuffer* buffer = nullptr;  // owned reference
    double pts = 0.0;             // stream time, s
    bool key = false;
  };
  explicit Ring(ClipSettings s) : settings(s) {}
  ~Ring();

  // The pad probe of a camera graph: caps and segment events, then buffers (streaming thread).
  static GstPadProbeReturn probe(GstPad* pad, GstPadProbeInfo* info, gpointer ring);
  void set_encoded(bool e);
  void set_wall_clock(bool w);  // key packets by wall-clock arrival (a separate recording stream)
  void restart();  // a new connection: what was kept belongs to another timeline

  // Copies (new references) of the packets covering [from, to], from the key frame at or before `from`.
  struct Span {
    std::vector<Packet> packets;
    GstCaps* caps = nullptr;  // owned reference
    bool encoded = false;
    bool truncated = false;
  };
  Span take(double from, double to) const;

  void push(GstBuffer* buffer, double pts, bool key);  // takes a reference
  void drop_all();                                      // under mu: a new timeline starts (counted)
  void trim();                                          // under mu

  ClipSettings settings;
  mutable std::mutex mu;
  std::deque<Packet> packets;
  std::size_t bytes = 0;
  GstCaps* caps = nullptr;     // of the packets held
  GstSegment segment{};        // of the stream being probed
  bool have_segment = false;
  bool encoded = false;
  bool wall_clock = false;
  bool lost_start = false;     // packets of a pinned span were dropped (max_bytes)
  std::map<std::string, double> pins;
  std::uint64_t restarts = 0;
};

}  // namespace actiond::pipeline
