#pragma once
// Private to CameraSource: the GStreamer pipeline of one connection of a camera
//
//   source (uridecodebin | v4l2src ! decodebin | videotestsrc | appsrc(workbench))
//     -> videorate (drop only, <= fps) -> videocrop (roi) -> videoscale -> videoconvert
//     -> RGB WxH -> appsink (bounded; never blocks a live decoder)
//
// With "decoder": "analysis", uridecodebin stops at H.264 and the stream takes the other tail:
//   -> h264parse (byte-stream, whole access units) -> appsink -> AnalysisDecoder (libavcodec,
//      rate, fused scale + colour conversion) -> RGB WxH
// A stream that is not H.264 arrives decoded and takes the first tail.
//
// Owner: the camera's supervisor thread builds it (constructor), starts it, reads its bus and
// destroys it (which stops every streaming thread first). Its callbacks run on GStreamer's
// streaming threads and touch only the SourceState (thread-safe), the hub, the SyntheticFeed (its
// mutex) and the graph's own atomics. GLib's locks are invisible to ThreadSanitizer, so the graph
// makes the real ordering visible: the constructor publishes (release) before any callback can
// run, each callback acquires at entry and releases at exit, the destructor acquires after the
// streaming threads stopped (`sync_`).
#include "gst/gst_util.hpp"
#include "sources/analysis_decoder.hpp"
#include "sources/source_state.hpp"

#include "actiond/pipeline/synthetic/workbench.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace actiond::pipeline::detail {

// The synthetic camera's world: it persists across reconnects (owned by the CameraSource) and is
// rendered frame by frame from the appsrc's streaming thread. Thread-safe (its mutex).
class SyntheticFeed {
 public:
  explicit SyntheticFeed(const SourceSpec& spec);
  // Renders the next frame into a new buffer stamped with the connection's frame count.
  GstBuffer* next_buffer();
  void restart_connection();  // frame count (pts) starts again at 0

 private:
  std::mutex mu_;
  TestPatternSpec pattern_;
  std::unique_ptr<WorkbenchWorld> world_;
  std::uint64_t frames_ = 0;
};

class CameraGraph {
 public:
  // Builds (does not start) the pipeline; throws std::runtime_error naming what is missing.
  CameraGraph(const SourceContext& ctx, SourceState& state, SyntheticFeed* synthetic);
  ~CameraGraph();  // stops the pipeline (joins its streaming threads), then frees it
  CameraGraph(const CameraGraph&) = delete;
  CameraGraph& operator=(const CameraGraph&) = delete;

  GstElement* pipeline() const { return pipeline_.get(); }
  std::uint64_t rate_drops() const;  // videorate's drop count so far (supervisor thread)

 private:
  struct CallbackScope;
  void build_tail();
  void build_analysis_tail(GstBin* bin, bool paced);  // "decoder": "analysis"
  void remove_tail(std::vector<GstElement*>& tail);   // the tail the stream did not take (streaming thread)
  void hook_clip_parser(GstElement* parse);            // the clip ring reads this parser's output (once)
  void announce_resolution(int old_w, int old_h, int w, int h);  // streaming threads
  void build_test_source(GstBin* bin);
  void build_synthetic_source(GstBin* bin);
  void build_source(GstBin* bin);
  GstElement* build_clip_encoder(GstBin* bin);  // raw sources: a small H.264 encoding for clips

  // ---- streaming threads (stream_callbacks.cpp) ----
  static void on_source_setup(GstElement*, GstElement* source, gpointer user);
  static void on_element_added(GstBin*, GstBin*, GstElement* element, gpointer user);
  static GstPadProbeReturn drop_delta_units(GstPad*, GstPadProbeInfo* info, gpointer);
  static void on_pad_added(GstElement*, GstPad* pad, gpointer user);
  static GstPadProbeReturn on_pattern_buffer(GstPad*, GstPadProbeInfo* info, gpointer user);
  static GstPadProbeReturn on_decoded(GstPad*, GstPadProbeInfo*, gpointer user);
  static GstPadProbeReturn on_crop_caps(GstPad*, GstPadProbeInfo* info, gpointer user);
  static GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user);
  static GstFlowReturn on_access_unit(GstAppSink* sink, gpointer user);        // analysis tail
  static GstPadProbeReturn on_unit_event(GstPad*, GstPadProbeInfo* info, gpointer user);
  void deliver(Frame&& frame, std::int64_t running_ns);  // a frame at the model's size -> the hub
  // Paced sources: a frame that reached us after its due time (base time + running time) counts as
  // arriving when it was due, so that the latency metric includes decoders falling behind.
  std::chrono::steady_clock::time_point arrival_of(std::int64_t running_ns) const;
  static void on_need_data(GstAppSrc* src, guint, gpointer user);

  const SourceContext& ctx_;
  SourceState& state_;
  SyntheticFeed* synthetic_;  // synthetic cameras only
  ElementPtr pipeline_;
  // Set while building, then only read (and passed to GStreamer, which synchronises its own use).
  GstElement* pattern_src_ = nullptr;
  GstElement* crop_ = nullptr;
  GstElement* rate_ = nullptr;
  GstElement* tail_sink_ = nullptr;  // where the source's decoded video links in
  GstElement* unit_sink_ = nullptr;  // where H.264 links in (analysis tail; else null)
  bool paced_ = false;               // the sinks sync to the clock (files at real-time pace, synthetic)
  // "decoder": "analysis": both tails' elements, until on_pad_added removes the one not taken.
  std::vector<GstElement*> raw_tail_;
  std::vector<GstElement*> unit_tail_;
  std::vector<ElementPtr> removed_;          // the removed tail, kept alive (NULL state) until the end
  std::atomic<bool> video_linked_{false};    // the first video stream was linked
  std::unique_ptr<AnalysisDecoder> decoder_;  // analysis tail: used by its streaming thread only
  std::atomic<bool> decoder_flush_{false};    // a new segment reached the analysis tail
  std::atomic<bool> clip_hooked_{false};  // the parser feeding the clip ring is probed
  // Streaming threads.
  std::atomic<int> caps_width_{0};   // last decoded size of this connection
  std::atomic<int> caps_height_{0};
  std::atomic<double> picture_aspect_{0.0};  // display aspect of what is scaled (after the crop)
  std::atomic<int> last_pattern_{-1};
  std::atomic<std::uint64_t> sync_{0};  // happens-before edges (see the header comment)
};

}  // namespace actiond::pipeline::detail
