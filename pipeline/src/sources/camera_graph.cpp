// Building and tearing down a connection's pipeline (supervisor thread).
#include "sources/camera_graph.hpp"

#include "clips/clip_ring.hpp"

#include <gst/video/video.h>

#include <stdexcept>
#include <string>

namespace actiond::pipeline::detail {

SyntheticFeed::SyntheticFeed(const SourceSpec& spec) : pattern_(spec.pattern) {
  WorkbenchOptions wo;
  wo.seed = spec.seed;
  wo.width = pattern_.width;
  wo.height = pattern_.height;
  wo.fps = pattern_.fps;
  world_ = std::make_unique<WorkbenchWorld>(wo);
}

GstBuffer* SyntheticFeed::next_buffer() {
  const gsize size = static_cast<gsize>(pattern_.width) * pattern_.height * 3;
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  std::lock_guard lock(mu_);
  world_->next_frame(map.data);
  gst_buffer_unmap(buf, &map);
  const auto fps = static_cast<guint64>(pattern_.fps);
  GST_BUFFER_PTS(buf) = gst_util_uint64_scale(frames_, GST_SECOND, fps);
  GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(1, GST_SECOND, fps);
  ++frames_;
  return buf;
}

void SyntheticFeed::restart_connection() {
  std::lock_guard lock(mu_);
  frames_ = 0;
}

CameraGraph::CameraGraph(const SourceContext& ctx, SourceState& state, SyntheticFeed* synthetic)
    : ctx_(ctx), state_(state), synthetic_(synthetic), pipeline_(gst_pipeline_new(("cam-" + ctx.cam.id).c_str())) {
  if (ctx.opt.clips) ctx.opt.clips->ring().restart();  // a new connection, a new timeline
  build_tail();
  build_source(GST_BIN(pipeline_.get()));
  sync_.store(1, std::memory_order_release);  // everything above happens before any callback
}

CameraGraph::~CameraGraph() {
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);  // joins the streaming threads
  sync_.load(std::memory_order_acquire);                    // ... and everything they did
}

std::uint64_t CameraGraph::rate_drops() const {
  guint64 dropped = 0;
  if (rate_ != nullptr) g_object_get(rate_, "drop", &dropped, nullptr);
  if (decoder_) dropped += decoder_->rate_drops() + decoder_->not_decoded();
  return dropped;
}

// Clips: the parsed stream before the decoder (the first parser of the connection), with parameter
// sets at every key frame, so that a clip cut at any key frame decodes on its own.
void CameraGraph::hook_clip_parser(GstElement* parse) {
  if (!ctx_.opt.clips || clip_hooked_.exchange(true)) return;
  g_object_set(parse, "config-interval", -1, nullptr);
  ctx_.opt.clips->ring().set_encoded(false);
  PadPtr src(gst_element_get_static_pad(parse, "src"));
  gst_pad_add_probe(src.get(), static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    &ClipRecorder::Ring::probe, &ctx_.opt.clips->ring(), nullptr);
}

void CameraGraph::remove_tail(std::vector<GstElement*>& tail) {
  for (GstElement* e : tail) {
    removed_.emplace_back(GST_ELEMENT(gst_object_ref(e)));  // pointers such as rate_ stay valid
    gst_element_set_locked_state(e, TRUE);
    gst_element_set_state(e, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(pipeline_.get()), e);
  }
  tail.clear();
}

std::chrono::steady_clock::time_point CameraGraph::arrival_of(std::int64_t running_ns) const {
  const auto now = std::chrono::steady_clock::now();
  if (!paced_ || running_ns < 0) return now;
  GstClock* clock = gst_element_get_clock(pipeline_.get());
  if (clock == nullptr) return now;
  const GstClockTime t = gst_clock_get_time(clock);
  gst_object_unref(clock);
  const GstClockTime due = gst_element_get_base_time(pipeline_.get()) + static_cast<GstClockTime>(running_ns);
  return t > due ? now - std::chrono::nanoseconds(t - due) : now;
}

// The processing tail, identical for every source kind.
void CameraGraph::build_tail() {
  const auto& cam = ctx_.cam;
  GstBin* bin = GST_BIN(pipeline_.get());
  rate_ = add_element(bin, "videorate");
  g_object_set(rate_, "drop-only", TRUE, nullptr);
  GstElement* rate_caps = add_element(bin, "capsfilter");
  int num = 0;
  int den = 1;
  gst_util_double_to_fraction(cam.fps, &num, &den);
  set_caps_property(rate_caps, gst_caps_new_simple("video/x-raw", "framerate", GST_TYPE_FRACTION_RANGE, 0, 1, num, den, nullptr));
  crop_ = add_element(bin, "videocrop");
  GstElement* scale = add_element(bin, "videoscale");
  g_object_set(scale, "add-borders", ctx_.opt.letterbox ? TRUE : FALSE, nullptr);
  GstElement* convert = add_element(bin, "videoconvert");
  GstElement* out_caps = add_element(bin, "capsfilter");
  GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT,
                                      ctx_.opt.width, "height", G_TYPE_INT, ctx_.opt.height, nullptr);
  // Square output pixels: otherwise videoscale may change the pixel aspect instead of adding borders.
  if (ctx_.opt.letterbox) gst_caps_set_simple(caps, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr);
  set_caps_property(out_caps, caps);
  GstElement* appsink = add_element(bin, "appsink");
  // Files at real-time pace and the synthetic camera are paced by the sink's clock; network and
  // capture sources pace themselves, and blocking files run as fast as analysis allows.
  const bool paced = ctx_.spec.kind == SourceSpec::Kind::synthetic || (!ctx_.spec.live && !ctx_.blocking);
  paced_ = paced;
  g_object_set(appsink, "max-buffers", ctx_.blocking ? 2u : 1u, "drop", ctx_.blocking ? FALSE : TRUE, "sync",
               paced ? TRUE : FALSE, "enable-last-sample", FALSE, nullptr);
  const bool analysis = cam.decoder == config::DecoderPath::analysis && ctx_.spec.kind == SourceSpec::Kind::decode;
  // Two tails until the stream shows its codec: the unused one must not hold the start (preroll);
  // it is removed then (on_pad_added), else the pipeline would wait for its end-of-stream forever.
  if (analysis) {
    g_object_set(appsink, "async", FALSE, nullptr);
    raw_tail_ = {rate_, rate_caps, crop_, scale, convert, out_caps, appsink};
  }
  if (!gst_element_link_many(rate_, rate_caps, crop_, scale, convert, out_caps, appsink, nullptr)) {
    throw std::runtime_error("cannot link the processing tail of camera " + cam.id);
  }
  tail_sink_ = rate_;
  // Sources without a compressed stream to keep get a small encoding for their clips (V4L2 too: most
  // capture devices deliver raw or MJPEG frames, which an MP4 clip cannot hold as they are).
  const bool raw = ctx_.spec.kind == SourceSpec::Kind::test_pattern || ctx_.spec.kind == SourceSpec::Kind::synthetic ||
                   ctx_.spec.kind == SourceSpec::Kind::v4l2;
  if (ctx_.opt.clips && raw) tail_sink_ = build_clip_encoder(bin);
  PadPtr rate_pad(gst_element_get_static_pad(rate_, "sink"));
  gst_pad_add_probe(rate_pad.get(), GST_PAD_PROBE_TYPE_BUFFER, &CameraGraph::on_decoded, this, nullptr);
  PadPtr crop_pad(gst_element_get_static_pad(crop_, "sink"));
  gst_pad_add_probe(crop_pad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, &CameraGraph::on_crop_caps, this, nullptr);

  GstAppSinkCallbacks cbs{};
  cbs.new_sample = &CameraGraph::on_new_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &cbs, this, nullptr);
  g_signal_connect(pipeline_.get(), "deep-element-added", G_CALLBACK(&CameraGraph::on_element_added), this);
  if (analysis) build_analysis_tail(bin, paced);
}

// h264parse (byte-stream, whole access units, parameter sets at every key frame) -> appsink, whose
// streaming thread runs the AnalysisDecoder. Its parser also feeds the clip ring.
void CameraGraph::build_analysis_tail(GstBin* bin, bool paced) {
  GstElement* parse = add_element(bin, "h264parse");
  g_object_set(parse, "config-interval", -1, nullptr);  // the decoder can start at any key frame
  GstElement* caps = add_element(bin, "capsfilter");
  set_caps_property(caps, gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream", "alignment",
                                              G_TYPE_STRING, "au", nullptr));
  GstElement* sink = add_element(bin, "appsink");
  // Compressed units are never dropped here (a lost reference smears every picture until the next key
  // frame); the callback decodes on this thread, so nothing queues in the sink.
  g_object_set(sink, "max-buffers", 2u, "drop", FALSE, "sync", paced ? TRUE : FALSE, "async", FALSE,
               "enable-last-sample", FALSE, nullptr);
  if (!gst_element_link_many(parse, caps, sink, nullptr)) {
    throw std::runtime_error("cannot link the analysis decoder of camera " + ctx_.cam.id);
  }
  unit_tail_ = {parse, caps, sink};
  unit_sink_ = parse;
  AnalysisOutput out;
  out.width = ctx_.opt.width;
  out.height = ctx_.opt.height;
  out.letterbox = ctx_.opt.letterbox;
  out.roi = ctx_.cam.roi;
  out.fps = ctx_.cam.fps;
  out.threads = ctx_.cam.decoder_threads > 0 ? ctx_.cam.decoder_threads : 1;  // one per camera scales best
  decoder_ = std::make_unique<AnalysisDecoder>(ctx_.cam.id, out);
  hook_clip_parser(parse);
  PadPtr sink_pad(gst_element_get_static_pad(sink, "sink"));
  gst_pad_add_probe(sink_pad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, &CameraGraph::on_unit_event, this, nullptr);
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = &CameraGraph::on_access_unit;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, this, nullptr);
}

// tee -> queue -> (analysis) and -> queue (leaky) -> I420 320 px wide -> x264enc (fast, key frame every 2 s)
// -> h264parse (probed by the clip ring) -> fakesink. Returns the tee, where the source links in.
GstElement* CameraGraph::build_clip_encoder(GstBin* bin) {
  GstElement* tee = add_element(bin, "tee");
  // A queue on each branch: the encoder's latency must not exceed what the analysis branch allows.
  GstElement* main_queue = add_element(bin, "queue");
  g_object_set(main_queue, "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", static_cast<guint64>(0), nullptr);
  GstElement* queue = add_element(bin, "queue");
  g_object_set(queue, "leaky", 2, "max-size-buffers", 4u, "max-size-bytes", 0u, "max-size-time", static_cast<guint64>(0), nullptr);
  GstElement* convert = add_element(bin, "videoconvert");
  GstElement* scale = add_element(bin, "videoscale");
  GstElement* caps = add_element(bin, "capsfilter");
  set_caps_property(caps, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, 320,
                                              "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr));
  GstElement* enc = add_element(bin, "x264enc");
  gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
  gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
  const int fps = std::max(1, ctx_.spec.pattern.fps);
  g_object_set(enc, "key-int-max", static_cast<guint>(2 * fps), "bitrate", 400u, "threads", 1u, nullptr);
  GstElement* parse = add_element(bin, "h264parse");
  GstElement* sink = add_element(bin, "fakesink");
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  if (!gst_element_link_many(tee, main_queue, rate_, nullptr) || !gst_element_link_many(tee, queue, convert, scale, caps, enc, parse, sink, nullptr)) {
    throw std::runtime_error("cannot link the clip encoder of camera " + ctx_.cam.id);
  }
  ctx_.opt.clips->ring().set_encoded(true);
  PadPtr pad(gst_element_get_static_pad(parse, "src"));
  gst_pad_add_probe(pad.get(), static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    &ClipRecorder::Ring::probe, &ctx_.opt.clips->ring(), nullptr);
  clip_hooked_ = true;
  return tee;
}

void CameraGraph::build_source(GstBin* bin) {
  switch (ctx_.spec.kind) {
    case SourceSpec::Kind::test_pattern: build_test_source(bin); break;
    case SourceSpec::Kind::synthetic: build_synthetic_source(bin); break;
    case SourceSpec::Kind::v4l2: {
      GstElement* src = add_element(bin, "v4l2src");
      g_object_set(src, "device", ctx_.spec.device.c_str(), nullptr);
      GstElement* dec = add_element(bin, "decodebin");
      g_signal_connect(dec, "pad-added", G_CALLBACK(&CameraGraph::on_pad_added), this);
      if (!gst_element_link(src, dec)) throw std::runtime_error("cannot link v4l2src");
      break;
    }
    case SourceSpec::Kind::features:  // no pipeline (CameraSource replays the file itself)
      throw std::logic_error("features:// cameras have no GStreamer graph");
    case SourceSpec::Kind::decode: {
      GstElement* dec = add_element(bin, "uridecodebin");
      g_object_set(dec, "uri", ctx_.spec.uri.c_str(), nullptr);
      if (unit_sink_ != nullptr) {  // stop at H.264 (the analysis tail decodes it); the rest as usual
        GstCaps* stop = nullptr;
        g_object_get(dec, "caps", &stop, nullptr);
        stop = gst_caps_make_writable(stop);
        gst_caps_append(stop, gst_caps_new_empty_simple("video/x-h264"));
        g_object_set(dec, "caps", stop, nullptr);
        gst_caps_unref(stop);
      }
      g_signal_connect(dec, "pad-added", G_CALLBACK(&CameraGraph::on_pad_added), this);
      g_signal_connect(dec, "source-setup", G_CALLBACK(&CameraGraph::on_source_setup), this);
      break;
    }
  }
}

void CameraGraph::build_test_source(GstBin* bin) {
  const auto& pattern = ctx_.spec.pattern;
  pattern_src_ = add_element(bin, "videotestsrc");
  g_object_set(pattern_src_, "is-live", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(pattern_src_), "pattern", pattern.cycle.front().c_str());
  GstElement* caps = add_element(bin, "capsfilter");
  set_caps_property(caps, gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, pattern.width, "height", G_TYPE_INT,
                                              pattern.height, "framerate", GST_TYPE_FRACTION, pattern.fps, 1, nullptr));
  if (!gst_element_link_many(pattern_src_, caps, tail_sink_, nullptr)) throw std::runtime_error("cannot link test camera");
  if (pattern.cycle.size() > 1) {
    PadPtr pad(gst_element_get_static_pad(pattern_src_, "src"));
    gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, &CameraGraph::on_pattern_buffer, this, nullptr);
  }
}

// The workbench world rendered live into an appsrc; the appsink paces it to real time.
void CameraGraph::build_synthetic_source(GstBin* bin) {
  const auto& p = ctx_.spec.pattern;
  GstElement* src = add_element(bin, "appsrc");
  set_caps_property(src, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, p.width,
                                             "height", G_TYPE_INT, p.height, "framerate", GST_TYPE_FRACTION, p.fps, 1,
                                             nullptr));
  g_object_set(src, "is-live", TRUE, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
               static_cast<guint64>(p.width * p.height * 3 * 2), nullptr);
  GstAppSrcCallbacks cbs{};
  cbs.need_data = &CameraGraph::on_need_data;
  gst_app_src_set_callbacks(GST_APP_SRC(src), &cbs, this, nullptr);
  synthetic_->restart_connection();
  if (!gst_element_link(src, tail_sink_)) throw std::runtime_error("cannot link the synthetic camera");
}

}  // namespace actiond::pipeline::detail
