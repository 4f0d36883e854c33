// RecordSource: uridecodebin told to stop at the parsed H.264/H.265 stream -> parser (parameter
// sets at every key frame) -> fakesink (paced by the clock, so files play in real time); a probe on
// the parser's output feeds the clip ring.
#include "actiond/pipeline/clips/record_source.hpp"

#include "actiond/config/log.hpp"
#include "clips/clip_ring.hpp"
#include "gst/gst_util.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace actiond::pipeline {

using detail::add_element;
using detail::BusPtr;
using detail::ElementPtr;
using detail::ErrorPtr;
using detail::MessagePtr;
using detail::PadPtr;

namespace {
spdlog::logger& logger() { return config::module_log("clips"); }
}  // namespace

struct RecordSource::Impl {
  std::string camera;
  std::string uri;
  int latency_ms = 200;
  config::ReconnectConfig reconnect;
  std::shared_ptr<ClipRecorder> recorder;
  std::thread supervisor;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;            // under mu
  std::atomic<int> state{0};        // 0 connecting, 1 recording, 2 reconnecting, 3 stopped

  static void on_pad_added(GstElement* dec, GstPad* pad, gpointer user);
  static void on_source_setup(GstElement*, GstElement* source, gpointer user);
  std::string run_once();  // one connection; "" when stopped, else why it ended
  void run();
};

void RecordSource::Impl::on_pad_added(GstElement* dec, GstPad* pad, gpointer user) {
  auto* self = static_cast<Impl*>(user);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  const std::string media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  const char* parser = media == "video/x-h264" ? "h264parse" : media == "video/x-h265" ? "h265parse" : nullptr;
  if (parser == nullptr) return;  // audio, or video we cannot put in an MP4 without encoding
  auto* bin = GST_BIN(GST_ELEMENT_PARENT(dec));
  GstElement* parse = add_element(bin, parser);
  g_object_set(parse, "config-interval", -1, nullptr);
  GstElement* sink = add_element(bin, "fakesink");
  g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
  PadPtr in(gst_element_get_static_pad(parse, "sink"));
  if (!gst_element_link(parse, sink) || gst_pad_link(pad, in.get()) != GST_PAD_LINK_OK) {
    logger().warn("camera {}: record_uri: cannot link the {} stream", self->camera, media);
    return;
  }
  PadPtr out(gst_element_get_static_pad(parse, "src"));
  gst_pad_add_probe(out.get(), static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    &ClipRecorder::Ring::probe, &self->recorder->ring(), nullptr);
  gst_element_sync_state_with_parent(sink);
  gst_element_sync_state_with_parent(parse);
}

void RecordSource::Impl::on_source_setup(GstElement*, GstElement* source, gpointer user) {
  auto* self = static_cast<Impl*>(user);
  if (detail::has_property(source, "latency") && detail::has_property(source, "protocols")) {  // rtspsrc
    g_object_set(source, "latency", static_cast<guint>(self->latency_ms), nullptr);
  }
}

std::string RecordSource::Impl::run_once() {
  ElementPtr pipeline(gst_pipeline_new(("record-" + camera).c_str()));
  GstElement* dec = nullptr;
  try {
    dec = add_element(GST_BIN(pipeline.get()), "uridecodebin");
  } catch (const std::exception& e) {
    return e.what();
  }
  GstCaps* stop_at = gst_caps_from_string("video/x-h264; video/x-h265");
  g_object_set(dec, "uri", uri.c_str(), "caps", stop_at, nullptr);
  gst_caps_unref(stop_at);
  g_signal_connect(dec, "pad-added", G_CALLBACK(&Impl::on_pad_added), this);
  g_signal_connect(dec, "source-setup", G_CALLBACK(&Impl::on_source_setup), this);
  recorder->ring().restart();
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    return "cannot start";
  }
  BusPtr bus(gst_element_get_bus(pipeline.get()));
  std::string why;
  while (why.empty()) {
    {
      std::lock_guard lock(mu);
      if (stopping) break;
    }
    MessagePtr msg(gst_bus_timed_pop_filtered(bus.get(), 100 * GST_MSECOND,
                                              static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS)));
    if (recorder->newest_pts()) state = 1;
    if (!msg) continue;
    if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) {
      why = "end of stream";
    } else {
      GError* err = nullptr;
      gst_message_parse_error(msg.get(), &err, nullptr);
      ErrorPtr owned(err);
      why = err != nullptr ? err->message : "error";
    }
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return why;
}

void RecordSource::Impl::run() {
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    state = attempt == 1 ? 0 : 2;
    const std::string why = run_once();
    std::unique_lock lock(mu);
    if (stopping) break;
    if (state == 1) attempt = 1;  // it recorded: start the backoff again
    const double wait = reconnect.backoff_s(attempt, std::uniform_real_distribution<double>(0, 1)(rng));
    logger().warn("camera {}: record_uri: {}; reconnecting in {:.1f} s", camera, why, wait);
    state = 2;
    cv.wait_for(lock, std::chrono::duration<double>(wait), [this] { return stopping; });
    if (stopping) break;
  }
  state = 3;
}

RecordSource::RecordSource(std::string camera, std::string uri, int latency_ms, config::ReconnectConfig reconnect,
                           std::shared_ptr<ClipRecorder> recorder)
    : impl_(std::make_unique<Impl>()) {
  detail::ensure_gst_initialized();
  impl_->camera = std::move(camera);
  impl_->uri = std::move(uri);
  impl_->latency_ms = latency_ms;
  impl_->reconnect = reconnect;
  impl_->recorder = std::move(recorder);
  impl_->recorder->ring().set_wall_clock(true);
}

RecordSource::~RecordSource() { stop(); }

void RecordSource::start() {
  if (impl_->supervisor.joinable()) return;
  impl_->supervisor = std::thread([this] { impl_->run(); });
}

void RecordSource::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
}

std::string RecordSource::state() const {
  static const char* names[] = {"connecting", "recording", "reconnecting", "stopped"};
  return names[impl_->state.load()];
}

}  // namespace actiond::pipeline
