#include "actiond/pipeline/camera_source.hpp"

#include "actiond/config/log.hpp"

#include "actiond/pipeline/feature_file.hpp"
#include "actiond/pipeline/source_uri.hpp"
#include "actiond/pipeline/workbench.hpp"
#include "feature_replay.hpp"
#include "sample_frame.hpp"
#include "gst_init.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace actiond::pipeline {

namespace {
spdlog::logger& logger() { return config::module_log("camera"); }
}  // namespace

using namespace detail;
using Clock = std::chrono::steady_clock;

double backoff_seconds(const config::ReconnectConfig& cfg, int attempt, double unit_random, double jitter) {
  const double base = cfg.initial_s * std::pow(2.0, std::max(0, attempt - 1));
  const double capped = std::min(cfg.max_s, base);
  return std::min(cfg.max_s, capped * (1.0 - jitter + 2.0 * jitter * unit_random));
}

namespace {

std::int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

// How one connection ended.
struct Outcome {
  enum class Kind { stopped, error, eos, stalled };
  Kind kind = Kind::stopped;
  std::string reason;
};

}  // namespace

struct CameraSource::Impl {
  SourceOptions opt;
  const config::CameraConfig& cam;
  SourceSpec spec;
  FrameHub& hub;
  bool blocking = false;

  std::thread supervisor;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  bool started = false;

  // The current connection's pipeline (supervisor thread), and what streaming threads update.
  ElementPtr pipeline;
  GstElement* pattern_src = nullptr;
  std::unique_ptr<WorkbenchWorld> world;  // synthetic camera: persists across reconnects
  std::uint64_t synthetic_frames = 0;
  GstElement* crop = nullptr;
  GstElement* rate = nullptr;
  GstElement* tail_sink = nullptr;
  std::atomic<std::int64_t> last_decoded_ns{0};
  std::atomic<std::uint64_t> decoded{0};
  std::atomic<bool> awaiting_first_frame{true};
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<int> attempt{0};
  std::atomic<int> last_pattern{-1};
  int caps_width = 0;   // streaming thread: last decoded size of this connection
  int caps_height = 0;
  double fps_in = 0.0;  // supervisor thread: rate over the last full ~1 s window
  Clock::time_point rate_window = Clock::now();
  std::uint64_t decoded_at_window = 0;
  std::uint64_t dropped_rate_total = 0;  // videorate drops of finished connections
  std::atomic<bool> clock_ntp{false};
  std::mt19937_64 rng{std::random_device{}()};

  Impl(SourceOptions o, FrameHub& h) : opt(std::move(o)), cam(opt.camera), hub(h) {
    ensure_gst_initialized();
    spec = parse_source_uri(cam.uri);
    blocking = !spec.live && !cam.realtime;
    epoch = opt.last_epoch;
    hub.add_camera(opt.handle, static_cast<std::size_t>(cam.queue_frames), blocking);
  }

  // ---- status markers -------------------------------------------------------------------------
  void push_status(const std::string& state, const std::string& reason) {
    SourceItem item;
    item.kind = SourceItem::Kind::status;
    item.camera = opt.handle;
    item.status.state = state;
    item.status.reason = redact_uri(reason);
    item.status.attempt = attempt.load();
    item.status.epoch = epoch.load();
    item.status.fps_in = current_fps_in();
    item.status.dropped_rate_limit = dropped_rate_total + current_rate_drops();
    item.status.clock = clock_ntp.load() ? "ntp" : "arrival";
    hub.push(std::move(item));
  }

  // fps_in for a status: the last full window's rate, or the current partial window's once it has
  // lasted long enough to mean something.
  double current_fps_in() const {
    const double elapsed = std::chrono::duration<double>(Clock::now() - rate_window).count();
    if (fps_in > 0.0 || elapsed < 0.2) return fps_in;
    return static_cast<double>(decoded.load() - decoded_at_window) / elapsed;
  }

  // ---- pipeline -------------------------------------------------------------------------------
  void build() {
    pipeline.reset(gst_pipeline_new(("cam-" + cam.id).c_str()));
    GstBin* bin = GST_BIN(pipeline.get());
    caps_width = caps_height = 0;

    // Processing tail, identical for every source kind.
    rate = make_element("videorate");
    g_object_set(rate, "drop-only", TRUE, nullptr);
    GstElement* rate_caps = make_element("capsfilter");
    int num = 0;
    int den = 1;
    gst_util_double_to_fraction(cam.fps, &num, &den);
    set_caps_property(rate_caps, gst_caps_new_simple("video/x-raw", "framerate", GST_TYPE_FRACTION_RANGE, 0, 1, num, den, nullptr));
    crop = make_element("videocrop");
    GstElement* scale = make_element("videoscale");
    g_object_set(scale, "add-borders", FALSE, nullptr);
    GstElement* convert = make_element("videoconvert");
    GstElement* out_caps = make_element("capsfilter");
    set_caps_property(out_caps, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, opt.width,
                                           "height", G_TYPE_INT, opt.height, nullptr));
    GstElement* appsink = make_element("appsink");
    // Files at real-time pace and the synthetic camera are paced by the sink's clock; network and
    // capture sources pace themselves, and blocking files run as fast as analysis allows.
    const bool paced = spec.kind == SourceSpec::Kind::synthetic || (!spec.live && !blocking);
    g_object_set(appsink, "max-buffers", blocking ? 2u : 1u, "drop", blocking ? FALSE : TRUE, "sync",
                 paced ? TRUE : FALSE, "enable-last-sample", FALSE, nullptr);
    gst_bin_add_many(bin, rate, rate_caps, crop, scale, convert, out_caps, appsink, nullptr);
    if (!gst_element_link_many(rate, rate_caps, crop, scale, convert, out_caps, appsink, nullptr)) {
      throw std::runtime_error("cannot link the processing tail of camera " + cam.id);
    }
    tail_sink = rate;
    PadPtr rate_pad(gst_element_get_static_pad(rate, "sink"));
    gst_pad_add_probe(rate_pad.get(), GST_PAD_PROBE_TYPE_BUFFER, &Impl::on_decoded, this, nullptr);
    PadPtr crop_pad(gst_element_get_static_pad(crop, "sink"));
    gst_pad_add_probe(crop_pad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, &Impl::on_crop_caps, this, nullptr);

    GstAppSinkCallbacks cbs{};
    cbs.new_sample = &Impl::on_new_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &cbs, this, nullptr);
    g_signal_connect(pipeline.get(), "deep-element-added", G_CALLBACK(&Impl::on_element_added), this);

    switch (spec.kind) {
      case SourceSpec::Kind::test_pattern: build_test_source(bin); break;
      case SourceSpec::Kind::synthetic: build_synthetic_source(bin); break;
      case SourceSpec::Kind::v4l2: {
        GstElement* src = make_element("v4l2src");
        g_object_set(src, "device", spec.device.c_str(), nullptr);
        GstElement* dec = make_element("decodebin");
        g_signal_connect(dec, "pad-added", G_CALLBACK(&Impl::on_pad_added), this);
        gst_bin_add_many(bin, src, dec, nullptr);
        if (!gst_element_link(src, dec)) throw std::runtime_error("cannot link v4l2src");
        break;
      }
      case SourceSpec::Kind::decode:
      default: {
        GstElement* dec = make_element("uridecodebin");
        g_object_set(dec, "uri", spec.uri.c_str(), nullptr);
        g_signal_connect(dec, "pad-added", G_CALLBACK(&Impl::on_pad_added), this);
        g_signal_connect(dec, "source-setup", G_CALLBACK(&Impl::on_source_setup), this);
        gst_bin_add(bin, dec);
        break;
      }
    }
  }

  void build_test_source(GstBin* bin) {
    pattern_src = make_element("videotestsrc");
    g_object_set(pattern_src, "is-live", TRUE, nullptr);
    gst_util_set_object_arg(G_OBJECT(pattern_src), "pattern", spec.pattern.cycle.front().c_str());
    last_pattern = -1;
    GstElement* caps = make_element("capsfilter");
    set_caps_property(caps, gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, spec.pattern.width, "height", G_TYPE_INT,
                                       spec.pattern.height, "framerate", GST_TYPE_FRACTION, spec.pattern.fps, 1, nullptr));
    gst_bin_add_many(bin, pattern_src, caps, nullptr);
    if (!gst_element_link_many(pattern_src, caps, tail_sink, nullptr)) throw std::runtime_error("cannot link test camera");
    if (spec.pattern.cycle.size() > 1) {
      PadPtr pad(gst_element_get_static_pad(pattern_src, "src"));
      gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, &Impl::on_pattern_buffer, this, nullptr);
    }
  }

  std::uint64_t current_rate_drops() const {
    guint64 dropped = 0;
    if (rate != nullptr) g_object_get(rate, "drop", &dropped, nullptr);
    return dropped;
  }

  // The workbench world rendered live into an appsrc; the appsink paces it to real time.
  void build_synthetic_source(GstBin* bin) {
    if (!world) {
      pipeline::WorkbenchOptions wo;
      wo.seed = spec.seed;
      wo.width = spec.pattern.width;
      wo.height = spec.pattern.height;
      wo.fps = spec.pattern.fps;
      world = std::make_unique<WorkbenchWorld>(wo);
    }
    GstElement* src = make_element("appsrc");
    set_caps_property(src, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT,
                                               spec.pattern.width, "height", G_TYPE_INT, spec.pattern.height,
                                               "framerate", GST_TYPE_FRACTION, spec.pattern.fps, 1, nullptr));
    g_object_set(src, "is-live", TRUE, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                 static_cast<guint64>(spec.pattern.width * spec.pattern.height * 3 * 2), nullptr);
    GstAppSrcCallbacks cbs{};
    cbs.need_data = &Impl::on_need_data;
    gst_app_src_set_callbacks(GST_APP_SRC(src), &cbs, this, nullptr);
    synthetic_frames = 0;
    gst_bin_add(bin, src);
    if (!gst_element_link(src, tail_sink)) throw std::runtime_error("cannot link the synthetic camera");
  }

  static void on_need_data(GstAppSrc* src, guint, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    const auto& p = self->spec.pattern;
    const gsize size = static_cast<gsize>(p.width) * p.height * 3;
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, size, nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    self->world->next_frame(map.data);
    gst_buffer_unmap(buf, &map);
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(self->synthetic_frames, GST_SECOND, static_cast<guint64>(p.fps));
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(1, GST_SECOND, static_cast<guint64>(p.fps));
    ++self->synthetic_frames;
    gst_app_src_push_buffer(src, buf);
  }

  void teardown() {
    if (!pipeline) return;
    dropped_rate_total += current_rate_drops();
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    pipeline.reset();
    pattern_src = crop = rate = tail_sink = nullptr;
  }

  // ---- GStreamer callbacks (streaming threads) ------------------------------------------------
  static void on_source_setup(GstElement*, GstElement* source, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    const auto& c = self->cam;
    if (has_property(source, "protocols") && has_property(source, "latency")) {  // rtspsrc
      gst_util_set_object_arg(G_OBJECT(source), "protocols", c.transport == "udp" ? "udp" : "tcp");
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

  static void on_element_added(GstBin*, GstBin*, GstElement* element, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstElementFactory* f = gst_element_get_factory(element);
    if (f == nullptr || !g_str_has_prefix(GST_OBJECT_NAME(f), "avdec_")) return;
    if (self->cam.decoder_threads > 0 && has_property(element, "max-threads")) {
      g_object_set(element, "max-threads", self->cam.decoder_threads, nullptr);
    }
    if (self->cam.skip_frames == "non_key") {
      PadPtr sink(gst_element_get_static_pad(element, "sink"));
      if (sink) gst_pad_add_probe(sink.get(), GST_PAD_PROBE_TYPE_BUFFER, &Impl::drop_delta_units, nullptr, nullptr);
    }
  }

  // skip_frames "non_key": compressed delta frames never reach the decoder.
  static GstPadProbeReturn drop_delta_units(GstPad*, GstPadProbeInfo* info, gpointer) {
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    return GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
  }

  static void on_pad_added(GstElement*, GstPad* pad, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstCaps* caps = gst_pad_get_current_caps(pad);
    if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
    const bool video = g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
    gst_caps_unref(caps);
    if (!video) return;  // audio and data streams are left unlinked
    PadPtr sink(gst_element_get_static_pad(self->tail_sink, "sink"));
    if (gst_pad_is_linked(sink.get())) return;  // first video stream wins
    if (gst_pad_link(pad, sink.get()) != GST_PAD_LINK_OK) {
      logger().warn("camera {}: cannot link decoded video pad", self->cam.id);
    }
  }

  // Test camera: switch pattern every period.
  static GstPadProbeReturn on_pattern_buffer(GstPad*, GstPadProbeInfo* info, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
    const double t = static_cast<double>(GST_BUFFER_PTS(buf)) / GST_SECOND;
    const auto& cycle = self->spec.pattern.cycle;
    const int idx = static_cast<int>(std::floor(t / self->spec.pattern.period_s)) % static_cast<int>(cycle.size());
    if (idx != self->last_pattern.exchange(idx)) {
      gst_util_set_object_arg(G_OBJECT(self->pattern_src), "pattern", cycle[static_cast<std::size_t>(idx)].c_str());
    }
    return GST_PAD_PROBE_OK;
  }

  // Every decoded frame, before rate limiting: liveness for the stall detector and fps_in.
  static GstPadProbeReturn on_decoded(GstPad*, GstPadProbeInfo*, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    self->last_decoded_ns.store(now_ns());
    self->decoded.fetch_add(1);
    return GST_PAD_PROBE_OK;
  }

  // Resolution known (or changed): log it and set the crop for the region of interest.
  static GstPadProbeReturn on_crop_caps(GstPad*, GstPadProbeInfo* info, gpointer user) {
    GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
    auto* self = static_cast<Impl*>(user);
    GstCaps* caps = nullptr;
    gst_event_parse_caps(ev, &caps);
    int w = 0;
    int h = 0;
    GstStructure* st = gst_caps_get_structure(caps, 0);
    if (!gst_structure_get_int(st, "width", &w) || !gst_structure_get_int(st, "height", &h)) return GST_PAD_PROBE_OK;
    if (self->caps_width != 0 && (w != self->caps_width || h != self->caps_height)) {
      const std::string reason = "resolution changed from " + std::to_string(self->caps_width) + "x" +
                                 std::to_string(self->caps_height) + " to " + std::to_string(w) + "x" + std::to_string(h);
      logger().warn("camera {}: {}", self->cam.id, reason);
      self->push_status("running", reason);
    }
    self->caps_width = w;
    self->caps_height = h;
    const auto& roi = self->cam.roi;
    if (roi.width > 0) {
      const int x = std::min(roi.x, w - 1);
      const int y = std::min(roi.y, h - 1);
      const int cw = std::min(roi.width, w - x);
      const int ch = std::min(roi.height, h - y);
      if (cw != roi.width || ch != roi.height || x != roi.x || y != roi.y) {
        logger().warn("camera {}: roi {}x{}+{}+{} clipped to the {}x{} frame", self->cam.id, roi.width, roi.height, roi.x,
                     roi.y, w, h);
      }
      g_object_set(self->crop, "left", x, "top", y, "right", w - x - cw, "bottom", h - y - ch, nullptr);
    }
    return GST_PAD_PROBE_OK;
  }

  static GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user) {
    auto* self = static_cast<Impl*>(user);
    GstSample* sample = gst_app_sink_pull_sample(sink);
    if (sample == nullptr) return GST_FLOW_OK;
    std::optional<Frame> frame = frame_from_sample(sample);
    if (!frame) return GST_FLOW_OK;  // unmappable frame: skip it, keep the stream
    if (frame->clock == ClockSource::ntp) self->clock_ntp.store(true);
    SourceItem item;
    item.kind = SourceItem::Kind::frame;
    item.camera = self->opt.handle;
    item.frame = std::move(*frame);

    if (self->awaiting_first_frame.exchange(false)) {
      // A successful (re)connect: new epoch, announced in order before its first frame.
      self->epoch.fetch_add(1);
      const int a = self->attempt.load();
      self->push_status("running", a == 0 ? "connected" : "reconnected after " + std::to_string(a) + " attempt(s)");
      self->attempt.store(0);
    }
    self->hub.push(std::move(item));
    return GST_FLOW_OK;
  }

  // ---- supervision (supervisor thread) --------------------------------------------------------
  bool wait_stop(double seconds) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stopping; });
  }

  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  Outcome run_connection() {
    awaiting_first_frame = true;
    try {
      build();
    } catch (const std::exception& e) {
      return {Outcome::Kind::error, e.what()};
    }
    BusPtr bus(gst_element_get_bus(pipeline.get()));
    const auto started_ns = now_ns();
    const std::uint64_t decoded_at_start = decoded.load();
    last_decoded_ns = started_ns;
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);  // failures arrive on the bus

    std::uint64_t drops_seen = hub.counters(opt.handle).dropped_queue_full;
    auto last_drop = Clock::now() - std::chrono::hours(1);
    bool blocked = false;
    rate_window = Clock::now();
    decoded_at_window = decoded.load();
    fps_in = 0.0;
    const auto stall_ns = static_cast<std::int64_t>(cam.stall_timeout_s * 1e9);
    std::string last_warning;

    while (!is_stopping()) {
      MessagePtr msg(gst_bus_timed_pop_filtered(
          bus.get(), 100 * GST_MSECOND,
          static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING)));
      if (msg) {
        switch (GST_MESSAGE_TYPE(msg.get())) {
          case GST_MESSAGE_ERROR: {
            GError* raw = nullptr;
            gchar* dbg = nullptr;
            gst_message_parse_error(msg.get(), &raw, &dbg);
            ErrorPtr err(raw);
            CharPtr debug(dbg);
            const std::string reason = redact_uri(err ? err->message : "unknown error");
            logger().error("camera {}: {} (from {}; {})", cam.id, reason, GST_OBJECT_NAME(msg->src),
                          debug ? redact_uri(debug.get()) : "");
            return {Outcome::Kind::error, reason};
          }
          case GST_MESSAGE_EOS:
            // rtspsrc ends the stream with EOS when it loses the server, after a warning: that is a loss.
            if (spec.live && !last_warning.empty()) return {Outcome::Kind::error, last_warning};
            return {Outcome::Kind::eos, "end of stream"};
          case GST_MESSAGE_WARNING: {
            GError* raw = nullptr;
            gst_message_parse_warning(msg.get(), &raw, nullptr);
            ErrorPtr err(raw);
            last_warning = redact_uri(err ? err->message : "warning");
            logger().warn("camera {}: {}", cam.id, last_warning);
            break;
          }
          default:
            break;
        }
      }
      const auto now = Clock::now();
      // fps_in over ~1 s windows.
      if (now - rate_window >= std::chrono::seconds(1)) {
        const std::uint64_t d = decoded.load();
        fps_in = static_cast<double>(d - decoded_at_window) / std::chrono::duration<double>(now - rate_window).count();
        decoded_at_window = d;
        rate_window = now;
      }
      // Stall: a live source that stopped sending (or never started); a file that never yields a
      // first frame (a demuxer stuck on a damaged file). A file already playing may wait on analysis.
      if (spec.live && now_ns() - last_decoded_ns.load() > stall_ns) {
        return {Outcome::Kind::stalled,
                "no frames from the source for " + config::format_number(cam.stall_timeout_s) + " s"};
      }
      if (!spec.live && decoded.load() == decoded_at_start && now_ns() - started_ns > stall_ns) {
        return {Outcome::Kind::stalled,
                "no frame decoded within " + config::format_number(cam.stall_timeout_s) + " s"};
      }
      // Backpressure: frames dropped because analysis is slower than the source.
      const std::uint64_t drops = hub.counters(opt.handle).dropped_queue_full;
      if (drops > drops_seen) {
        drops_seen = drops;
        last_drop = now;
        if (!blocked && !awaiting_first_frame.load()) {
          blocked = true;
          logger().warn("camera {}: analysis slower than the source; dropping oldest frames", cam.id);
          push_status("blocked", "analysis slower than the source; dropping oldest frames");
        }
      } else if (blocked && now - last_drop > std::chrono::seconds(2)) {
        blocked = false;
        push_status("running", "analysis caught up");
      }
    }
    return {Outcome::Kind::stopped, "stopped"};
  }

  // features:// cameras: one row per analysis frame, paced at `fps` (or as fast as analysis allows
  // when not real time), straight to the hub. Frames point into the shared file data.
  Outcome run_feature_replay() {
    std::shared_ptr<const FeatureFile> file;
    try {
      file = std::make_shared<const FeatureFile>(read_feature_file(spec.device));
    } catch (const std::exception& e) {
      return {Outcome::Kind::error, e.what()};
    }
    epoch.fetch_add(1);
    push_status("running", "replaying " + std::to_string(file->frames) + " feature rows of dimension " +
                               std::to_string(file->dim));
    const bool ended = replay_features(
        file, opt.handle, cam.fps, cam.realtime, hub,
        [this](Clock::time_point until) {
          std::unique_lock lock(mu);
          return cv.wait_until(lock, until, [&] { return stopping; });
        },
        [this] {
          decoded.fetch_add(1);
          last_decoded_ns.store(now_ns());
        });
    if (!ended) return {Outcome::Kind::stopped, "stopped"};
    return {Outcome::Kind::eos, "end of file"};
  }

  void supervise() {
    attempt = 0;
    push_status("starting", "connecting to " + cam.uri);
    while (!is_stopping()) {
      const Outcome o = spec.kind == SourceSpec::Kind::features ? run_feature_replay() : run_connection();
      teardown();
      if (o.kind == Outcome::Kind::stopped) break;

      if (!spec.live) {
        // Files: end of file is final unless looping; an error is final.
        if (o.kind == Outcome::Kind::eos) {
          push_status("eos", cam.loop ? "end of file; starting again" : "end of file");
          if (cam.loop) continue;
        } else {
          push_status("failed", o.reason);
        }
        break;
      }

      // Live sources: report the loss (closes the open segment), then back off and retry.
      if (o.kind == Outcome::Kind::eos) push_status("eos", "the source ended the stream");
      if (o.kind == Outcome::Kind::stalled) {
        logger().warn("camera {}: stalled: {}", cam.id, o.reason);
        push_status("stalled", o.reason);
      }
      const int next = attempt.load() + 1;
      if (cam.reconnect.max_attempts > 0 && next > cam.reconnect.max_attempts) {
        push_status("failed", "gave up after " + std::to_string(cam.reconnect.max_attempts) + " attempt(s): " + o.reason);
        break;
      }
      attempt = next;
      const double delay = backoff_seconds(cam.reconnect, next, std::uniform_real_distribution<double>(0, 1)(rng));
      logger().info("camera {}: reconnecting in {:.2f} s (attempt {}): {}", cam.id, delay, next, o.reason);
      push_status("reconnecting", o.reason);
      if (wait_stop(delay)) break;
    }
  }
};

CameraSource::CameraSource(SourceOptions options, FrameHub& hub)
    : impl_(std::make_unique<Impl>(std::move(options), hub)) {}

CameraSource::~CameraSource() { stop(); }

std::uint64_t CameraSource::frames_decoded() const { return impl_->decoded.load(); }

const SourceOptions& CameraSource::options() const { return impl_->opt; }

void CameraSource::start() {
  if (impl_->started) return;
  impl_->started = true;
  logger().info("camera {}: starting {} at {} fps -> {}x{} RGB", impl_->cam.id, redact_uri(impl_->cam.uri),
               impl_->cam.fps, impl_->opt.width, impl_->opt.height);
  impl_->supervisor = std::thread([this] { impl_->supervise(); });
}

void CameraSource::stop() {
  if (!impl_ || !impl_->started) return;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->hub.remove_camera(impl_->opt.handle);  // releases a producer waiting for space
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  impl_->teardown();
}

}  // namespace actiond::pipeline
