#include "actiond/pipeline/files/video_writer.hpp"

#include "gst/gst_util.hpp"

#include <gst/app/gstappsrc.h>

#include <cstring>
#include <stdexcept>

namespace actiond::pipeline {

using namespace detail;

struct VideoWriter::Impl {
  std::filesystem::path path;
  ElementPtr pipeline;
  GstElement* src = nullptr;  // owned by pipeline
  int width = 0;
  int height = 0;
  int fps_n = 0;
  int fps_d = 1;
  std::uint64_t frames = 0;
  bool finished = false;

  std::string bus_error(GstClockTime timeout) {
    BusPtr bus(gst_element_get_bus(pipeline.get()));
    MessagePtr msg(gst_bus_timed_pop_filtered(bus.get(), timeout,
                                              static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS)));
    if (!msg || GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) return msg ? "" : "timeout";
    GError* raw = nullptr;
    gst_message_parse_error(msg.get(), &raw, nullptr);
    ErrorPtr err(raw);
    return err ? err->message : "unknown error";
  }
};

VideoWriter::VideoWriter(const std::filesystem::path& path, int width, int height, double fps)
    : impl_(std::make_unique<Impl>()) {
  ensure_gst_initialized();
  impl_->path = path;
  impl_->width = width;
  impl_->height = height;
  gst_util_double_to_fraction(fps, &impl_->fps_n, &impl_->fps_d);
  GError* raw = nullptr;
  const std::string desc =
      "appsrc name=src format=time ! videoconvert ! video/x-raw,format=I420 ! "
      "x264enc speed-preset=veryfast bitrate=600 key-int-max=" + std::to_string(static_cast<int>(fps * 2)) +
      " ! h264parse ! mp4mux ! filesink name=sink";
  GstElement* p = gst_parse_launch(desc.c_str(), &raw);
  ErrorPtr err(raw);
  if (p == nullptr || err) {
    if (p != nullptr) gst_object_unref(p);
    throw std::runtime_error(path.string() + ": cannot build the encoder (" + (err ? err->message : "?") +
                             "; is gstreamer1.0-plugins-ugly installed?)");
  }
  impl_->pipeline.reset(p);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "sink");
  g_object_set(sink, "location", path.c_str(), nullptr);
  gst_object_unref(sink);
  impl_->src = gst_bin_get_by_name(GST_BIN(p), "src");
  gst_object_unref(impl_->src);  // the bin keeps it alive
  GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, width,
                                      "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION, impl_->fps_n,
                                      impl_->fps_d, nullptr);
  g_object_set(impl_->src, "caps", caps, "block", TRUE, "max-bytes", static_cast<guint64>(width * height * 3 * 8),
               nullptr);
  gst_caps_unref(caps);
  if (gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    throw std::runtime_error(path.string() + ": cannot start the encoder: " + impl_->bus_error(GST_SECOND));
  }
}

VideoWriter::~VideoWriter() {
  if (impl_ && impl_->pipeline) gst_element_set_state(impl_->pipeline.get(), GST_STATE_NULL);
}

void VideoWriter::write(const std::uint8_t* rgb) {
  const gsize size = static_cast<gsize>(impl_->width) * impl_->height * 3;
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_fill(buf, 0, rgb, size);
  GST_BUFFER_PTS(buf) = gst_util_uint64_scale(impl_->frames, GST_SECOND * impl_->fps_d, impl_->fps_n);
  GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(1, GST_SECOND * impl_->fps_d, impl_->fps_n);
  ++impl_->frames;
  if (gst_app_src_push_buffer(GST_APP_SRC(impl_->src), buf) != GST_FLOW_OK) {
    throw std::runtime_error(impl_->path.string() + ": encoder stopped: " + impl_->bus_error(0));
  }
}

void VideoWriter::finish() {
  if (impl_->finished) return;
  impl_->finished = true;
  gst_app_src_end_of_stream(GST_APP_SRC(impl_->src));
  const std::string err = impl_->bus_error(60 * GST_SECOND);
  gst_element_set_state(impl_->pipeline.get(), GST_STATE_NULL);
  if (!err.empty()) throw std::runtime_error(impl_->path.string() + ": writing failed: " + err);
}

}  // namespace actiond::pipeline
