// CameraGraph's callbacks: they run on GStreamer's streaming threads (see camera_graph.hpp for what
// they may touch).
#include "sources/camera_graph.hpp"
#include "sources/sample_frame.hpp"
#include "clips/clip_ring.hpp"

#include "actiond/config/log.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace actiond::pipeline::detail {

namespace {
spdlog::logger& logger() { return config::module_log("camera"); }
}  // namespace

// Acquire at entry (the builder's writes, earlier callbacks), release at exit (for the destructor).
struct CameraGraph::CallbackScope {
  explicit CallbackScope(gpointer user) : graph(static_cast<CameraGraph*>(user)) {
    graph->sync_.load(std::memory_order_acquire);
  }
  ~CallbackScope() { graph->sync_.fetch_add(1, std::memory_order_release); }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  CameraGraph* graph;
};

void CameraGraph::on_source_setup(GstElement*, GstElement* source, gpointer user) {
  CallbackScope scope(user);
  auto* self = scope.graph;
  const auto& c = self->ctx_.cam;
  if (has_property(source, "protocols") && has_property(source, "latency")) {  // rtspsrc
    const bool udp = self->state_.transport.load() == config::Transport::udp;
    gst_util_set_object_arg(G_OBJECT(source), "protocols", udp ? "udp" : "tcp");
    g_object_set(source, "latency", static_cast<guint>(c.latency_ms), nullptr);
    if (has_property(source, "add-reference-timestamp-meta")) {
      g_object_set(source, "add-reference-timestamp-meta", TRUE, nullptr);
    }
  }
  if (has_property(source, "is-live")) g_object_set(source, "is-live", TRUE, nullptr);  // souphttpsrc
  if (!c.username.empty() && has_property(source, "user-id")) {
    g_object_set(source, "user-id", c.username.c_str(), "user-pw", c.password.c_str(), nullptr);
  }
}

void CameraGraph::on_element_added(GstBin*, GstBin*, GstElement* element, gpointer user) {
  CallbackScope scope(user);
  auto* self = scope.graph;
  GstElementFactory* f = gst_element_get_factory(element);
  if (f == nullptr) return;
  const std::string factory = GST_OBJECT_NAME(f);
  if (factory == "h264parse" || factory == "h265parse") {
    self->hook_clip_parser(element);
    return;
  }
  if (!g_str_has_prefix(factory.c_str(), "avdec_")) return;
  // Frames the decoder knows are damaged (a stream joined between key frames, lost packets) are
  // grey or green smears that a model reads as an action: drop them instead of analysing them.
  if (has_property(element, "output-corrupt")) g_object_set(element, "output-corrupt", FALSE, nullptr);
  if (self->ctx_.cam.decoder_threads > 0 && has_property(element, "max-threads")) {
    g_object_set(element, "max-threads", self->ctx_.cam.decoder_threads, nullptr);
  }
  if (self->ctx_.cam.skip_frames == config::SkipFrames::non_key) {
    PadPtr sink(gst_element_get_static_pad(element, "sink"));
    if (sink) gst_pad_add_probe(sink.get(), GST_PAD_PROBE_TYPE_BUFFER, &CameraGraph::drop_delta_units, nullptr, nullptr);
  }
}

// skip_frames "non_key": compressed delta frames never reach the decoder.
GstPadProbeReturn CameraGraph::drop_delta_units(GstPad*, GstPadProbeInfo* info, gpointer) {
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  return GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

void CameraGraph::on_pad_added(GstElement*, GstPad* pad, gpointer user) {
  CallbackScope scope(user);
  auto* self = scope.graph;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  const std::string media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  if (!g_str_has_prefix(media.c_str(), "video/")) return;  // audio and data streams are left unlinked
  const bool h264 = media == "video/x-h264" && self->unit_sink_ != nullptr;
  if (self->video_linked_.exchange(true)) return;  // the first video stream wins
  PadPtr sink(gst_element_get_static_pad(h264 ? self->unit_sink_ : self->tail_sink_, "sink"));
  if (gst_pad_link(pad, sink.get()) != GST_PAD_LINK_OK) {
    logger().warn("camera {}: cannot link decoded video pad", self->ctx_.cam.id);
  }
  if (self->unit_sink_ == nullptr) return;
  if (!h264) logger().info("camera {}: the stream is {}, not H.264: GStreamer decodes it", self->ctx_.cam.id, media);
  self->remove_tail(h264 ? self->raw_tail_ : self->unit_tail_);
}

// Test camera: switch pattern every period.
GstPadProbeReturn CameraGraph::on_pattern_buffer(GstPad*, GstPadProbeInfo* info, gpointer user) {
  CallbackScope scope(user);
  auto* self = scope.graph;
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
  const double t = static_cast<double>(GST_BUFFER_PTS(buf)) / GST_SECOND;
  const auto& pattern = self->ctx_.spec.pattern;
  const int idx = static_cast<int>(std::floor(t / pattern.period_s)) % static_cast<int>(pattern.cycle.size());
  if (idx != self->last_pattern_.exchange(idx)) {
    gst_util_set_object_arg(G_OBJECT(self->pattern_src_), "pattern", pattern.cycle[static_cast<std::size_t>(idx)].c_str());
  }
  return GST_PAD_PROBE_OK;
}

// Every decoded frame, before rate limiting: liveness for the stall detector and fps_in.
GstPadProbeReturn CameraGraph::on_decoded(GstPad*, GstPadProbeInfo* info, gpointer user) {
  CallbackScope scope(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (buf != nullptr && !GST_BUFFER_DURATION_IS_VALID(buf)) {
    // Still images (framerate 0/1) come without a duration, and videorate aborts the process on
    // such a buffer: give it one analysis frame's duration.
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_DURATION(buf) = static_cast<GstClockTime>(GST_SECOND / scope.graph->ctx_.cam.fps);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
  }
  lower_thread_priority(scope.graph->ctx_.opt.decoder_nice);  // the decoder's thread (max-threads 1)
  scope.graph->state_.last_decoded_ns.store(now_ns());
  scope.graph->state_.decoded.fetch_add(1);
  return GST_PAD_PROBE_OK;
}

// Resolution known (or changed): log it and set the crop for the region of interest.
GstPadProbeReturn CameraGraph::on_crop_caps(GstPad*, GstPadProbeInfo* info, gpointer user) {
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  CallbackScope scope(user);
  auto* self = scope.graph;
  GstCaps* caps = nullptr;
  gst_event_parse_caps(ev, &caps);
  int w = 0;
  int h = 0;
  GstStructure* st = gst_caps_get_structure(caps, 0);
  if (!gst_structure_get_int(st, "width", &w) || !gst_structure_get_int(st, "height", &h)) return GST_PAD_PROBE_OK;
  const int old_w = self->caps_width_.exchange(w);
  const int old_h = self->caps_height_.exchange(h);
  const auto& id = self->ctx_.cam.id;
  self->announce_resolution(old_w, old_h, w, h);
  const auto& roi = self->ctx_.cam.roi;
  int par_n = 1;
  int par_d = 1;
  gst_structure_get_fraction(st, "pixel-aspect-ratio", &par_n, &par_d);
  const double par = par_d > 0 && par_n > 0 ? static_cast<double>(par_n) / par_d : 1.0;
  self->picture_aspect_.store(par * (roi.width > 0 ? std::min(roi.width, w) : w) /
                              (roi.width > 0 ? std::min(roi.height, h) : h));
  if (roi.width > 0) {
    const int x = std::min(roi.x, w - 1);
    const int y = std::min(roi.y, h - 1);
    const int cw = std::min(roi.width, w - x);
    const int ch = std::min(roi.height, h - y);
    if (cw != roi.width || ch != roi.height || x != roi.x || y != roi.y) {
      logger().warn("camera {}: roi {}x{}+{}+{} clipped to the {}x{} frame", id, roi.width, roi.height, roi.x, roi.y, w, h);
    }
    g_object_set(self->crop_, "left", x, "top", y, "right", w - x - cw, "bottom", h - y - ch, nullptr);
  }
  return GST_PAD_PROBE_OK;
}

GstFlowReturn CameraGraph::on_new_sample(GstAppSink* sink, gpointer user) {
  CallbackScope scope(user);
  auto* self = scope.graph;
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (sample == nullptr) return GST_FLOW_OK;
  const std::int64_t running = running_time_ns(sample);
  std::optional<Frame> frame = frame_from_sample(sample);
  if (!frame) return GST_FLOW_OK;  // unmappable frame: skip it, keep the stream
  if (self->ctx_.opt.letterbox) frame->content = letterbox_content(self->picture_aspect_.load(), frame->width, frame->height);
  self->deliver(std::move(*frame), running);
  return GST_FLOW_OK;
}

// The analysis tail: one H.264 access unit, decoded here (see analysis_decoder.hpp).
GstFlowReturn CameraGraph::on_access_unit(GstAppSink* sink, gpointer user) {
  CallbackScope scope(user);
  auto* self = scope.graph;
  SamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_OK;
  if (self->decoder_flush_.exchange(false)) self->decoder_->flush();
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  const GstSegment* seg = gst_sample_get_segment(sample.get());
  AccessUnit unit;
  unit.key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  lower_thread_priority(self->ctx_.opt.decoder_nice);  // this thread decodes
  if (self->ctx_.cam.skip_frames == config::SkipFrames::non_key && !unit.key) return GST_FLOW_OK;
  // Liveness for the stall detector and fps_in: every unit that reaches the decoder counts.
  self->state_.last_decoded_ns.store(now_ns());
  self->state_.decoded.fetch_add(1);
  unit.running_ns = running_time_ns(sample.get());
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  if (seg != nullptr && GST_CLOCK_TIME_IS_VALID(pts)) {
    if (GST_BUFFER_DURATION_IS_VALID(buf)) unit.duration_ns = static_cast<std::int64_t>(GST_BUFFER_DURATION(buf));
    const guint64 st = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pts);
    unit.stream_pts = static_cast<double>(GST_CLOCK_TIME_IS_VALID(st) ? st : pts) / GST_SECOND;
  }
  unit.ntp = ntp_time(buf);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return GST_FLOW_OK;
  unit.data = map.data;
  unit.size = map.size;
  const int old_w = self->decoder_->picture_width();
  const int old_h = self->decoder_->picture_height();
  self->decoder_->decode(unit, [self](Frame&& f, std::int64_t running) { self->deliver(std::move(f), running); });
  self->announce_resolution(old_w, old_h, self->decoder_->picture_width(), self->decoder_->picture_height());
  gst_buffer_unmap(buf, &map);
  return GST_FLOW_OK;
}

// A new segment (seek, loop) or a flush on the analysis tail: the decoder starts again at a key frame.
GstPadProbeReturn CameraGraph::on_unit_event(GstPad*, GstPadProbeInfo* info, gpointer user) {
  const GstEventType type = GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info));
  if (type == GST_EVENT_SEGMENT || type == GST_EVENT_FLUSH_STOP) {
    CallbackScope scope(user);
    scope.graph->decoder_flush_.store(true);
  } else if (type == GST_EVENT_EOS) {  // serialised: this is the thread that decodes
    CallbackScope scope(user);
    auto* self = scope.graph;
    self->decoder_->drain([self](Frame&& f, std::int64_t running) { self->deliver(std::move(f), running); });
  }
  return GST_PAD_PROBE_OK;
}

// A new picture size on this connection (not its first): logged and announced as "running".
void CameraGraph::announce_resolution(int old_w, int old_h, int w, int h) {
  if (old_w == 0 || (w == old_w && h == old_h)) return;
  const std::string reason = "resolution changed from " + std::to_string(old_w) + "x" + std::to_string(old_h) + " to " +
                             std::to_string(w) + "x" + std::to_string(h);
  logger().warn("camera {}: {}", ctx_.cam.id, reason);
  state_.push_status(StreamState::running, reason);
}

// A frame at the model's size, from either tail: the hub, after a (re)connect's status.
void CameraGraph::deliver(Frame&& frame, std::int64_t running_ns) {
  frame.arrival = arrival_of(running_ns);
  auto& state = state_;
  if (frame.clock == ClockSource::ntp) state.clock_ntp.store(true);
  SourceItem item;
  item.kind = SourceItem::Kind::frame;
  item.camera = ctx_.opt.handle;
  item.frame = std::move(frame);

  if (state.awaiting_first_frame.exchange(false)) {
    // A successful (re)connect: new epoch, announced in order before its first frame.
    state.epoch.fetch_add(1);
    const int a = state.attempt.load();
    state.push_status(StreamState::running,
                      a == 0 ? "connected" : "reconnected after " + std::to_string(a) + " attempt(s)");
    state.attempt.store(0);
  }
  ctx_.hub.push(std::move(item));
}

void CameraGraph::on_need_data(GstAppSrc* src, guint, gpointer user) {
  CallbackScope scope(user);
  gst_app_src_push_buffer(src, scope.graph->synthetic_->next_buffer());
}

}  // namespace actiond::pipeline::detail
