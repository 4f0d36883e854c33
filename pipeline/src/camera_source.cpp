#include "actiond/pipeline/camera_source.hpp"

#include "actiond/pipeline/source_uri.hpp"
#include "gst_init.hpp"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <thread>

namespace actiond::pipeline {

using namespace detail;

namespace {

// Keeps a sample's buffer mapped as a video frame; destroyed when the last Frame copy goes away.
struct MappedSample {
  GstSample* sample = nullptr;
  GstVideoFrame vframe{};
  bool mapped = false;
  ~MappedSample() {
    if (mapped) gst_video_frame_unmap(&vframe);
    if (sample != nullptr) gst_sample_unref(sample);
  }
};

GstElement* make_element(const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (e == nullptr) throw std::runtime_error(std::string("GStreamer element ") + factory + " is missing (run scripts/install-deps.sh)");
  return e;
}

}  // namespace

struct CameraSource::Impl {
  SourceOptions opt;
  SourceSpec spec;
  FrameHub& hub;
  StatusCallback on_status;
  ElementPtr pipeline;
  GstElement* appsink = nullptr;     // owned by pipeline
  GstElement* tail_sink = nullptr;   // first element of the processing tail (owned by pipeline)
  GstElement* pattern_src = nullptr; // videotestsrc for test://
  std::thread bus_thread;
  std::atomic<bool> running{false};
  int last_pattern = -1;

  Impl(SourceOptions o, FrameHub& h, StatusCallback cb) : opt(std::move(o)), hub(h), on_status(std::move(cb)) {
    ensure_gst_initialized();
    spec = parse_source_uri(opt.uri);
    build();
    hub.add_camera(opt.handle, opt.queue_frames, !spec.live && !opt.realtime);
  }

  void build() {
    pipeline.reset(gst_pipeline_new(("cam-" + opt.camera_id).c_str()));
    GstBin* bin = GST_BIN(pipeline.get());

    // Processing tail, identical for every source kind.
    GstElement* rate = make_element("videorate", nullptr);
    g_object_set(rate, "drop-only", TRUE, nullptr);
    GstElement* rate_caps = make_element("capsfilter", nullptr);
    int num = 0;
    int den = 1;
    gst_util_double_to_fraction(opt.fps, &num, &den);
    GstCaps* rc = gst_caps_new_simple("video/x-raw", "framerate", GST_TYPE_FRACTION_RANGE, 0, 1, num, den, nullptr);
    g_object_set(rate_caps, "caps", rc, nullptr);
    gst_caps_unref(rc);
    GstElement* scale = make_element("videoscale", nullptr);
    g_object_set(scale, "add-borders", FALSE, nullptr);
    GstElement* convert = make_element("videoconvert", nullptr);
    GstElement* out_caps = make_element("capsfilter", nullptr);
    GstCaps* oc = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, opt.width,
                                      "height", G_TYPE_INT, opt.height, nullptr);
    g_object_set(out_caps, "caps", oc, nullptr);
    gst_caps_unref(oc);
    appsink = make_element("appsink", "sink");
    const bool blocking = !spec.live && !opt.realtime;
    g_object_set(appsink, "max-buffers", blocking ? 2u : 1u, "drop", blocking ? FALSE : TRUE, "sync",
                 blocking ? FALSE : TRUE, "enable-last-sample", FALSE, nullptr);
    gst_bin_add_many(bin, rate, rate_caps, scale, convert, out_caps, appsink, nullptr);
    if (!gst_element_link_many(rate, rate_caps, scale, convert, out_caps, appsink, nullptr)) {
      throw std::runtime_error("cannot link the processing tail of camera " + opt.camera_id);
    }
    tail_sink = rate;

    GstAppSinkCallbacks cbs{};
    cbs.new_sample = &Impl::on_new_sample;
    cbs.eos = &Impl::on_eos;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &cbs, this, nullptr);

    if (spec.kind == SourceSpec::Kind::test_pattern) {
      pattern_src = make_element("videotestsrc", nullptr);
      g_object_set(pattern_src, "is-live", TRUE, nullptr);
      gst_util_set_object_arg(G_OBJECT(pattern_src), "pattern", spec.pattern.cycle.front().c_str());
      GstElement* caps = make_element("capsfilter", nullptr);
      GstCaps* tc = gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, spec.pattern.width, "height", G_TYPE_INT,
                                        spec.pattern.height, "framerate", GST_TYPE_FRACTION, spec.pattern.fps, 1, nullptr);
      g_object_set(caps, "caps", tc, nullptr);
      gst_caps_unref(tc);
      gst_bin_add_many(bin, pattern_src, caps, nullptr);
      if (!gst_element_link_many(pattern_src, caps, rate, nullptr)) throw std::runtime_error("cannot link test camera");
      if (spec.pattern.cycle.size() > 1) {
        PadPtr pad(gst_element_get_static_pad(pattern_src, "src"));
        gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, &Impl::on_pattern_buffer, this, nullptr);
      }
    } else {
      GstElement* dec = make_element("uridecodebin", nullptr);
      g_object_set(dec, "uri", spec.uri.c_str(), nullptr);
      g_signal_connect(dec, "pad-added", G_CALLBACK(&Impl::on_pad_added), this);
      gst_bin_add(bin, dec);
    }
  }

  // Test camera: switch pattern every period (runs in the source's streaming thread).
  static GstPadProbeReturn on_pattern_buffer(GstPad*, GstPadProbeInfo* info, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
    const double t = static_cast<double>(GST_BUFFER_PTS(buf)) / GST_SECOND;
    const auto& cycle = self->spec.pattern.cycle;
    const int idx = static_cast<int>(std::floor(t / self->spec.pattern.period_s)) % static_cast<int>(cycle.size());
    if (idx != self->last_pattern) {
      self->last_pattern = idx;
      gst_util_set_object_arg(G_OBJECT(self->pattern_src), "pattern", cycle[idx].c_str());
    }
    return GST_PAD_PROBE_OK;
  }

  static void on_pad_added(GstElement*, GstPad* pad, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstCaps* caps = gst_pad_get_current_caps(pad);
    if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
    const gchar* name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    const bool video = g_str_has_prefix(name, "video/");
    gst_caps_unref(caps);
    if (!video) return;  // audio and data streams are left unlinked
    PadPtr sink(gst_element_get_static_pad(self->tail_sink, "sink"));
    if (gst_pad_is_linked(sink.get())) return;  // first video stream wins
    if (gst_pad_link(pad, sink.get()) != GST_PAD_LINK_OK) {
      spdlog::warn("camera {}: cannot link decoded video pad", self->opt.camera_id);
    }
  }

  static GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstSample* sample = gst_app_sink_pull_sample(sink);
    if (sample == nullptr) return GST_FLOW_OK;
    auto mapped = std::make_shared<MappedSample>();
    mapped->sample = sample;
    GstVideoInfo vinfo;
    GstBuffer* buf = gst_sample_get_buffer(sample);
    if (!gst_video_info_from_caps(&vinfo, gst_sample_get_caps(sample)) ||
        !gst_video_frame_map(&mapped->vframe, &vinfo, buf, GST_MAP_READ)) {
      return GST_FLOW_OK;  // unmappable frame: skip it, keep the stream
    }
    mapped->mapped = true;

    SourceItem item;
    item.kind = SourceItem::Kind::frame;
    item.camera = self->opt.handle;
    Frame& f = item.frame;
    f.arrival = std::chrono::steady_clock::now();
    f.time = std::chrono::system_clock::now();
    const GstSegment* seg = gst_sample_get_segment(sample);
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (seg != nullptr && GST_CLOCK_TIME_IS_VALID(pts)) {
      guint64 st = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pts);
      if (GST_CLOCK_TIME_IS_VALID(st)) pts = st;
    }
    f.pts = GST_CLOCK_TIME_IS_VALID(pts) ? static_cast<double>(pts) / GST_SECOND : 0.0;
    f.width = GST_VIDEO_FRAME_WIDTH(&mapped->vframe);
    f.height = GST_VIDEO_FRAME_HEIGHT(&mapped->vframe);
    f.stride = GST_VIDEO_FRAME_PLANE_STRIDE(&mapped->vframe, 0);
    f.data = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&mapped->vframe, 0));
    f.storage = std::move(mapped);
    self->hub.push(std::move(item));
    return GST_FLOW_OK;
  }

  static void on_eos(GstAppSink*, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    SourceItem item;
    item.kind = SourceItem::Kind::eos;
    item.camera = self->opt.handle;
    self->hub.push(std::move(item));
  }

  void report(SourceStatus::State state, std::string reason) {
    if (on_status) on_status(SourceStatus{state, std::move(reason)});
  }

  void bus_loop() {
    BusPtr bus(gst_element_get_bus(pipeline.get()));
    while (running.load()) {
      MessagePtr msg(gst_bus_timed_pop_filtered(bus.get(), 100 * GST_MSECOND,
                                                static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS |
                                                                            GST_MESSAGE_WARNING | GST_MESSAGE_STATE_CHANGED)));
      if (!msg) continue;
      switch (GST_MESSAGE_TYPE(msg.get())) {
        case GST_MESSAGE_ERROR: {
          GError* raw = nullptr;
          gchar* dbg = nullptr;
          gst_message_parse_error(msg.get(), &raw, &dbg);
          ErrorPtr err(raw);
          CharPtr debug(dbg);
          std::string reason = redact_uri(err ? err->message : "unknown error");
          spdlog::error("camera {}: pipeline error from {}: {} ({})", opt.camera_id, GST_OBJECT_NAME(msg->src), reason,
                        debug ? redact_uri(debug.get()) : "");
          SourceItem item;
          item.kind = SourceItem::Kind::error;
          item.camera = opt.handle;
          item.reason = reason;
          hub.push(std::move(item));
          report(SourceStatus::State::error, reason);
          return;  // the pipeline is dead; stop() tears it down
        }
        case GST_MESSAGE_EOS:
          report(SourceStatus::State::eos, "end of stream");
          return;
        case GST_MESSAGE_WARNING: {
          GError* raw = nullptr;
          gst_message_parse_warning(msg.get(), &raw, nullptr);
          ErrorPtr err(raw);
          spdlog::warn("camera {}: {}", opt.camera_id, redact_uri(err ? err->message : "warning"));
          break;
        }
        case GST_MESSAGE_STATE_CHANGED:
          if (GST_MESSAGE_SRC(msg.get()) == GST_OBJECT(pipeline.get())) {
            GstState old_state;
            GstState new_state;
            gst_message_parse_state_changed(msg.get(), &old_state, &new_state, nullptr);
            if (new_state == GST_STATE_PLAYING && old_state != GST_STATE_PLAYING) {
              report(SourceStatus::State::running, "playing");
            }
          }
          break;
        default:
          break;
      }
    }
  }
};

CameraSource::CameraSource(SourceOptions options, FrameHub& hub, StatusCallback on_status)
    : impl_(std::make_unique<Impl>(std::move(options), hub, std::move(on_status))) {}

CameraSource::~CameraSource() { stop(); }

const SourceOptions& CameraSource::options() const { return impl_->opt; }

void CameraSource::start() {
  if (impl_->running.exchange(true)) return;
  spdlog::info("camera {}: starting {} at {} fps -> {}x{} RGB", impl_->opt.camera_id, redact_uri(impl_->opt.uri),
               impl_->opt.fps, impl_->opt.width, impl_->opt.height);
  impl_->bus_thread = std::thread([this] { impl_->bus_loop(); });
  if (gst_element_set_state(impl_->pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The bus carries the detailed error; the bus thread reports it.
    spdlog::debug("camera {}: set_state(PLAYING) failed", impl_->opt.camera_id);
  }
}

void CameraSource::stop() {
  if (!impl_ || !impl_->pipeline) return;
  impl_->running.store(false);
  impl_->hub.remove_camera(impl_->opt.handle);
  if (impl_->bus_thread.joinable()) impl_->bus_thread.join();
  gst_element_set_state(impl_->pipeline.get(), GST_STATE_NULL);
}

}  // namespace actiond::pipeline
