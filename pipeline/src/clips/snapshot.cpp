// write_snapshot: one picture decoded from a clip (seek, preroll), the pose drawn on it, as a JPEG.
#include "actiond/pipeline/clips/clip_recorder.hpp"
#include "gst/gst_util.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <system_error>

namespace actiond::pipeline {

namespace {

using detail::CharPtr;
using detail::ElementPtr;
using detail::ErrorPtr;

constexpr int kEdges[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 4}, {5, 6}, {5, 7}, {7, 9}, {6, 8}, {8, 10},
                             {5, 11}, {6, 12}, {11, 12}, {11, 13}, {13, 15}, {12, 14}, {14, 16}};
constexpr float kMinKeypointScore = 0.3f;

struct Canvas {
  std::uint8_t* data;
  int width;
  int height;
  int stride;
  void dot(int x, int y, int r, std::array<std::uint8_t, 3> c) {
    for (int dy = -r; dy <= r; ++dy) {
      for (int dx = -r; dx <= r; ++dx) {
        const int px = x + dx, py = y + dy;
        if (px < 0 || py < 0 || px >= width || py >= height || dx * dx + dy * dy > r * r) continue;
        std::copy(c.begin(), c.end(), data + static_cast<std::ptrdiff_t>(py) * stride + px * 3);
      }
    }
  }
  void line(float x0, float y0, float x1, float y1, int r, std::array<std::uint8_t, 3> c) {
    const int steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
    for (int i = 0; i <= steps; ++i) {
      const float t = static_cast<float>(i) / static_cast<float>(steps);
      dot(static_cast<int>(x0 + t * (x1 - x0)), static_cast<int>(y0 + t * (y1 - y0)), r, c);
    }
  }
};

void draw(Canvas& cv, const SnapshotOverlay& o) {
  const float w = static_cast<float>(cv.width), h = static_cast<float>(cv.height);
  const int r = std::max(1, cv.width / 400);
  const std::array<std::uint8_t, 3> box{255, 210, 0}, bone{0, 230, 255}, joint{255, 60, 60};
  const float x0 = o.box[0] * w, y0 = o.box[1] * h, x1 = o.box[2] * w, y1 = o.box[3] * h;
  cv.line(x0, y0, x1, y0, r, box);
  cv.line(x1, y0, x1, y1, r, box);
  cv.line(x1, y1, x0, y1, r, box);
  cv.line(x0, y1, x0, y0, r, box);
  const auto& k = o.keypoints;
  for (const auto& e : kEdges) {
    if (static_cast<std::size_t>(std::max(e[0], e[1])) >= k.size()) continue;
    const auto& a = k[static_cast<std::size_t>(e[0])];
    const auto& b = k[static_cast<std::size_t>(e[1])];
    if (a[2] < kMinKeypointScore || b[2] < kMinKeypointScore) continue;
    cv.line(a[0] * w, a[1] * h, b[0] * w, b[1] * h, r, bone);
  }
  for (const auto& p : k) {
    if (p[2] >= kMinKeypointScore) cv.dot(static_cast<int>(p[0] * w), static_cast<int>(p[1] * h), 2 * r + 1, joint);
  }
}

// Runs `desc` (ending in appsink name=out) to its first (preroll) sample, after seeking to `at` when >= 0.
GstSample* first_sample(GstElement* pipeline, gint64 at, std::string& error) {
  ElementPtr sink(gst_bin_get_by_name(GST_BIN(pipeline), "out"));
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  if (gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND) == GST_STATE_CHANGE_FAILURE) {
    error = "cannot decode";
    return nullptr;
  }
  if (at >= 0 && !gst_element_seek_simple(pipeline, GST_FORMAT_TIME,
                                          static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), at)) {
    error = "cannot seek";
    return nullptr;
  }
  gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND);
  GstSample* s = gst_app_sink_try_pull_preroll(GST_APP_SINK(sink.get()), 5 * GST_SECOND);
  if (s == nullptr) error = "no picture";
  return s;
}

ElementPtr launch(const std::string& desc, std::string& error) {
  GError* err = nullptr;
  ElementPtr p(gst_parse_launch(desc.c_str(), &err));
  ErrorPtr owned(err);
  if (!p || err != nullptr) error = err != nullptr ? err->message : "cannot build";
  return p;
}

}  // namespace

std::optional<std::string> write_snapshot(const std::filesystem::path& clip, double offset_s,
                                          const std::filesystem::path& jpeg, const std::optional<SnapshotOverlay>& overlay) {
  detail::ensure_gst_initialized();
  CharPtr uri(gst_filename_to_uri(clip.c_str(), nullptr));
  if (!uri) return "cannot name " + clip.string() + " as a URI";
  std::string error;
  // 1. The picture, as RGB.
  ElementPtr dec = launch("uridecodebin uri=\"" + std::string(uri.get()) +
                              "\" ! videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false", error);
  if (!dec) return clip.string() + ": " + error;
  GstSample* picture = first_sample(dec.get(), static_cast<gint64>(std::max(0.0, offset_s) * GST_SECOND), error);
  if (picture == nullptr) {
    gst_element_set_state(dec.get(), GST_STATE_NULL);
    return clip.string() + ": " + error + " at " + std::to_string(offset_s) + " s";
  }
  GstVideoInfo info;
  gst_video_info_from_caps(&info, gst_sample_get_caps(picture));
  GstBuffer* rgb = gst_buffer_copy_deep(gst_sample_get_buffer(picture));  // drawn on: our own copy
  GstCaps* caps = gst_caps_ref(gst_sample_get_caps(picture));
  gst_sample_unref(picture);
  gst_element_set_state(dec.get(), GST_STATE_NULL);
  if (overlay) {
    GstVideoFrame frame;
    if (gst_video_frame_map(&frame, &info, rgb, GST_MAP_WRITE)) {
      Canvas cv{static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)), GST_VIDEO_FRAME_WIDTH(&frame),
                GST_VIDEO_FRAME_HEIGHT(&frame), GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0)};
      draw(cv, *overlay);
      gst_video_frame_unmap(&frame);
    }
  }
  // 2. The JPEG.
  ElementPtr enc = launch("appsrc name=in ! videoconvert ! jpegenc quality=85 ! appsink name=out sync=false", error);
  if (!enc) {
    gst_buffer_unref(rgb);
    gst_caps_unref(caps);
    return "snapshot encoder: " + error;
  }
  ElementPtr src(gst_bin_get_by_name(GST_BIN(enc.get()), "in"));
  g_object_set(src.get(), "caps", caps, "format", GST_FORMAT_TIME, nullptr);
  gst_caps_unref(caps);
  GST_BUFFER_PTS(rgb) = 0;
  gst_app_src_push_buffer(GST_APP_SRC(src.get()), rgb);
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  GstSample* encoded = first_sample(enc.get(), -1, error);
  if (encoded == nullptr) {
    gst_element_set_state(enc.get(), GST_STATE_NULL);
    return "snapshot encoder: " + error;
  }
  GstBuffer* buf = gst_sample_get_buffer(encoded);
  GstMapInfo map;
  std::optional<std::string> result;
  const std::filesystem::path partial = jpeg.string() + ".partial";
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(map.data), static_cast<std::streamsize>(map.size));
    out.close();
    gst_buffer_unmap(buf, &map);
    std::error_code ec;
    if (!out) {
      result = "cannot write " + partial.string();
    } else {
      std::filesystem::rename(partial, jpeg, ec);
      if (ec) result = "cannot write " + jpeg.string() + ": " + ec.message();
    }
  } else {
    result = "cannot read the JPEG";
  }
  gst_sample_unref(encoded);
  gst_element_set_state(enc.get(), GST_STATE_NULL);
  return result;
}

}  // namespace actiond::pipeline
