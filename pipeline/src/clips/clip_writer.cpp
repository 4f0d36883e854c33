// ClipRecorder::write: the kept packets, remuxed into an MP4 (appsrc ! parser ! mp4mux ! filesink).
// No decoding, no encoding: the file holds the same access units the camera sent.
#include "clips/clip_ring.hpp"
#include "gst/gst_util.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <fstream>
#include <system_error>

namespace actiond::pipeline {

namespace {

using detail::add_element;
using detail::BusPtr;
using detail::CharPtr;
using detail::ElementPtr;
using detail::ErrorPtr;
using detail::MessagePtr;

struct SpanOwner {  // releases a Span's references
  ClipRecorder::Ring::Span span;
  ~SpanOwner() {
    for (auto& p : span.packets) gst_buffer_unref(p.buffer);
    if (span.caps != nullptr) gst_caps_unref(span.caps);
  }
};

std::string wait_done(GstElement* pipeline, GstClockTime timeout) {
  BusPtr bus(gst_element_get_bus(pipeline));
  MessagePtr msg(gst_bus_timed_pop_filtered(bus.get(), timeout,
                                            static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS)));
  if (!msg) return "the muxer did not finish in time";
  if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) return "";
  GError* err = nullptr;
  gst_message_parse_error(msg.get(), &err, nullptr);
  ErrorPtr owned(err);
  return err != nullptr ? err->message : "muxing failed";
}

}  // namespace

std::variant<ClipFile, std::string> ClipRecorder::write(double from_pts, double to_pts,
                                                         const std::filesystem::path& file) const {
  detail::ensure_gst_initialized();
  SpanOwner owner{ring_->take(from_pts, to_pts)};
  auto& span = owner.span;
  if (span.packets.empty() || span.caps == nullptr) {
    return std::string("no video kept for the time asked (the camera sent no compressed video since it connected)");
  }
  const GstStructure* st = gst_caps_get_structure(span.caps, 0);
  const std::string media = gst_structure_get_name(st);
  ClipFile out;
  const char* parser = nullptr;
  if (media == "video/x-h264") {
    out.codec = "h264";
    parser = "h264parse";
  } else if (media == "video/x-h265") {
    out.codec = "h265";
    parser = "h265parse";
  } else {
    return "cannot put " + media + " into an MP4 clip";
  }
  gst_structure_get_int(st, "width", &out.width);
  gst_structure_get_int(st, "height", &out.height);

  ElementPtr pipeline(gst_pipeline_new("clip"));
  GstBin* bin = GST_BIN(pipeline.get());
  const std::filesystem::path partial = file.string() + ".partial";
  GstElement* src = nullptr;  // borrowed from the bin
  try {
    src = add_element(bin, "appsrc");
    GstElement* parse = add_element(bin, parser);
    GstElement* mux = add_element(bin, "mp4mux");
    GstElement* sink = add_element(bin, "filesink");
    g_object_set(src, "format", GST_FORMAT_TIME, "caps", span.caps, "max-bytes", static_cast<guint64>(0), nullptr);
    g_object_set(mux, "faststart", TRUE, nullptr);  // the index first: browsers play it as it downloads
    g_object_set(sink, "location", partial.c_str(), nullptr);
    if (!gst_element_link_many(src, parse, mux, sink, nullptr)) return std::string("cannot link the clip muxer");
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    return "cannot start the clip muxer: " + wait_done(pipeline.get(), 0);
  }
  // Time 0 is the first packet's decode time (B-frames: the decode time is before the picture time).
  GstBuffer* first = span.packets.front().buffer;
  GstClockTime base = GST_BUFFER_PTS(first);
  if (GST_BUFFER_DTS_IS_VALID(first)) base = std::min(base, GST_BUFFER_DTS(first));
  // The clip's own timeline (its packets' presentation times) gives its length; the ring's times
  // only chose the packets (they are arrival times for a recorded main stream).
  GstClockTime last = GST_BUFFER_PTS(first);
  GstClockTime last_duration = 0;
  for (const auto& p : span.packets) {
    GstBuffer* b = gst_buffer_copy(p.buffer);  // shares the memory, new timestamps
    if (GST_BUFFER_PTS(b) >= last) {
      last = GST_BUFFER_PTS(b);
      last_duration = GST_BUFFER_DURATION_IS_VALID(b) ? GST_BUFFER_DURATION(b) : 0;
    }
    GST_BUFFER_PTS(b) = GST_BUFFER_PTS(b) >= base ? GST_BUFFER_PTS(b) - base : 0;
    if (GST_BUFFER_DTS_IS_VALID(b)) GST_BUFFER_DTS(b) = GST_BUFFER_DTS(b) >= base ? GST_BUFFER_DTS(b) - base : 0;
    if (gst_app_src_push_buffer(GST_APP_SRC(src), b) != GST_FLOW_OK) break;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  const std::string err = wait_done(pipeline.get(), 30 * GST_SECOND);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  std::error_code ec;
  if (!err.empty()) {
    std::filesystem::remove(partial, ec);
    return "writing " + file.string() + ": " + err;
  }
  std::filesystem::rename(partial, file, ec);
  if (ec) return "writing " + file.string() + ": " + ec.message();
  out.file = file;
  out.bytes = std::filesystem::file_size(file, ec);
  const double span_s = static_cast<double>(last - GST_BUFFER_PTS(first)) / GST_SECOND;
  out.start_pts = span.packets.front().pts;
  out.end_pts = out.start_pts + span_s;
  out.duration_s = span_s + static_cast<double>(last_duration) / GST_SECOND;
  out.encoded = span.encoded;
  out.truncated = span.truncated;
  return out;
}

}  // namespace actiond::pipeline
