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
  if ((factory == "h264parse" || factory == "h265parse") && self->ctx_.opt.clips && !self->clip_hooked_.exchange(true)) {
    // Clips: the parsed stream before the decoder, with parameter sets at every key frame (so a
    // clip cut at any key frame decodes on its own).
    g_object_set(element, "config-interval", -1, nullptr);
    PadPtr src(gst_element_get_static_pad(element, "src"));
    self->ctx_.opt.clips->ring().set_encoded(false);
    gst_pad_add_probe(src.get(), static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                      &ClipRecorder::Ring::probe, &self->ctx_.opt.clips->ring(), nullptr);
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
  const bool video = g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
  gst_caps_unref(caps);
  if (!video) return;  // audio and data streams are left unlinked
  PadPtr sink(gst_element_get_static_pad(self->tail_sink_, "sink"));
  if (gst_pad_is_linked(sink.get())) return;  // first video stream wins
  if (gst_pad_link(pad, sink.get()) != GST_PAD_LINK_OK) {
    logger().warn("camera {}: cannot link decoded video pad", self->ctx_.cam.id);
  }
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
  if (old_w != 0 && (w != old_w || h != old_h)) {
    const std::string reason = "resolution changed from " + std::to_string(old_w) + "x" + std::to_string(old_h) +
                               " to " + std::to_string(w) + "x" + std::to_string(h);
    logger().warn("camera {}: {}", id, reason);
    self->state_.push_status(StreamState::running, reason);
  }
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
  std::optional<Frame> frame = frame_from_sample(sample);
  if (!frame) return GST_FLOW_OK;  // unmappable frame: skip it, keep the stream
  if (self->ctx_.opt.letterbox) frame->content = letterbox_content(self->picture_aspect_.load(), frame->width, frame->height);
  auto& state = self->state_;
  if (frame->clock == ClockSource::ntp) state.clock_ntp.store(true);
  SourceItem item;
  item.kind = SourceItem::Kind::frame;
  item.camera = self->ctx_.opt.handle;
  item.frame = std::move(*frame);

  if (state.awaiting_first_frame.exchange(false)) {
    // A successful (re)connect: new epoch, announced in order before its first frame.
    state.epoch.fetch_add(1);
    const int a = state.attempt.load();
    state.push_status(StreamState::running,
                      a == 0 ? "connected" : "reconnected after " + std::to_string(a) + " attempt(s)");
    state.attempt.store(0);
  }
  self->ctx_.hub.push(std::move(item));
  return GST_FLOW_OK;
}

void CameraGraph::on_need_data(GstAppSrc* src, guint, gpointer user) {
  CallbackScope scope(user);
  gst_app_src_push_buffer(src, scope.graph->synthetic_->next_buffer());
}

}  // namespace actiond::pipeline::detail
