#include "sources/sample_frame.hpp"

#include <gst/video/video.h>

#include <memory>

namespace actiond::pipeline::detail {

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

}  // namespace

std::optional<std::chrono::system_clock::time_point> ntp_time(GstBuffer* buf) {
  static GstCaps* ntp_caps = gst_caps_new_empty_simple("timestamp/x-ntp");
  GstReferenceTimestampMeta* meta = gst_buffer_get_reference_timestamp_meta(buf, ntp_caps);
  if (meta == nullptr) return std::nullopt;
  // NTP epoch (1900) to Unix epoch (1970): 2208988800 s.
  const auto unix_ns = static_cast<std::int64_t>(meta->timestamp) - 2208988800LL * 1000000000LL;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(unix_ns)));
}

std::int64_t running_time_ns(GstSample* sample) {
  const GstSegment* seg = gst_sample_get_segment(sample);
  GstBuffer* buf = gst_sample_get_buffer(sample);
  if (seg == nullptr || buf == nullptr || !GST_BUFFER_PTS_IS_VALID(buf)) return -1;
  const guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  return GST_CLOCK_TIME_IS_VALID(rt) ? static_cast<std::int64_t>(rt) : -1;
}

std::optional<Frame> frame_from_sample(GstSample* sample) {
  auto mapped = std::make_shared<MappedSample>();
  mapped->sample = sample;
  GstVideoInfo vinfo;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  if (!gst_video_info_from_caps(&vinfo, gst_sample_get_caps(sample)) ||
      !gst_video_frame_map(&mapped->vframe, &vinfo, buf, GST_MAP_READ)) {
    return std::nullopt;
  }
  mapped->mapped = true;

  Frame f;
  f.arrival = std::chrono::steady_clock::now();
  f.time = std::chrono::system_clock::now();
  if (const auto ntp = ntp_time(buf)) {
    f.time = *ntp;
    f.clock = ClockSource::ntp;
  }
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
  return f;
}

std::array<float, 4> letterbox_content(double aspect, int width, int height) {
  if (aspect <= 0.0 || width <= 0 || height <= 0) return {0.0f, 0.0f, 1.0f, 1.0f};
  const double frame_aspect = static_cast<double>(width) / height;
  if (aspect > frame_aspect) {  // wider: borders above and below
    const int h = static_cast<int>(width / aspect);
    const int y = (height - h) / 2;
    return {0.0f, static_cast<float>(y) / height, 1.0f, static_cast<float>(h) / height};
  }
  const int w = static_cast<int>(height * aspect);
  const int x = (width - w) / 2;
  return {static_cast<float>(x) / width, 0.0f, static_cast<float>(w) / width, 1.0f};
}

}  // namespace actiond::pipeline::detail
