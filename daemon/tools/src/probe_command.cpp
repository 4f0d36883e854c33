#include "actiond/tools/probe_command.hpp"

#include "actiond/config/c_handle.hpp"

#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

namespace actiond::tools {

namespace fs = std::filesystem;

namespace {

void unref(gpointer p) { g_object_unref(p); }
void free_error(GError* e) { g_error_free(e); }
void free_streams(GList* l) { gst_discoverer_stream_info_list_free(l); }
using DiscovererPtr = config::CHandle<GstDiscoverer, unref>;
using InfoPtr = config::CHandle<GstDiscovererInfo, unref>;
using ErrorPtr = config::CHandle<GError, free_error>;
using StreamsPtr = config::CHandle<GList, free_streams>;
using TextPtr = config::CHandle<gchar, g_free>;

std::string result_text(GstDiscovererResult r) {
  switch (r) {
    case GST_DISCOVERER_URI_INVALID: return "not a valid file name";
    case GST_DISCOVERER_TIMEOUT: return "timed out while reading it";
    case GST_DISCOVERER_BUSY: return "the reader was busy";
    case GST_DISCOVERER_MISSING_PLUGINS: return "no decoder for its format is installed";
    default: return "it does not decode";
  }
}

nlohmann::json probe_one(GstDiscoverer* discoverer, const fs::path& file) {
  nlohmann::json row = {{"video", file.stem().string()}, {"path", file.string()}, {"ok", false}};
  GError* raw = nullptr;
  const TextPtr uri(gst_filename_to_uri(file.c_str(), &raw));
  ErrorPtr error(raw);
  if (!uri) {
    row["error"] = std::string("not a valid file name: ") + (error ? error->message : "");
    return row;
  }
  raw = nullptr;
  const InfoPtr info(gst_discoverer_discover_uri(discoverer, uri.get(), &raw));
  error.reset(raw);
  const GstDiscovererResult result = info ? gst_discoverer_info_get_result(info.get()) : GST_DISCOVERER_ERROR;
  if (result != GST_DISCOVERER_OK) {
    row["error"] = result_text(result) + (error ? std::string(" (") + error->message + ")" : "");
    return row;
  }
  const StreamsPtr videos(gst_discoverer_info_get_video_streams(info.get()));
  if (!videos) {
    row["error"] = "it holds no video stream";
    return row;
  }
  auto* v = GST_DISCOVERER_VIDEO_INFO(videos->data);
  const double num = gst_discoverer_video_info_get_framerate_num(v);
  const double den = gst_discoverer_video_info_get_framerate_denom(v);
  const double duration_s = static_cast<double>(gst_discoverer_info_get_duration(info.get())) / GST_SECOND;
  if (num <= 0 || den <= 0) {
    row["error"] = "its frame rate is not fixed (variable-rate video: re-encode it at a fixed rate)";
    return row;
  }
  const double fps = num / den;
  const GstCaps* caps = gst_discoverer_stream_info_get_caps(GST_DISCOVERER_STREAM_INFO(videos->data));
  const TextPtr codec(caps ? gst_pb_utils_get_codec_description(caps) : nullptr);
  row["ok"] = true;
  row["fps"] = fps;
  row["duration_s"] = duration_s;
  row["frames"] = static_cast<long>(std::llround(duration_s * fps));
  row["width"] = gst_discoverer_video_info_get_width(v);
  row["height"] = gst_discoverer_video_info_get_height(v);
  row["codec"] = codec ? codec.get() : "";
  return row;
}

}  // namespace

int run_probe(const ProbeOptions& opt, std::ostream& out, std::ostream& err) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(opt.videos, ec)) {
    for (const auto& e : fs::directory_iterator(opt.videos)) {
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(opt.videos, ec)) {
    files.push_back(opt.videos);
  } else {
    err << opt.videos << ": no such file or directory\n";
    return 2;
  }
  if (files.empty()) {
    err << opt.videos << ": no video files in it\n";
    return 2;
  }
  gst_init(nullptr, nullptr);
  gst_pb_utils_init();
  GError* raw = nullptr;
  const DiscovererPtr discoverer(
      gst_discoverer_new(static_cast<GstClockTime>(opt.timeout_s * static_cast<double>(GST_SECOND)), &raw));
  const ErrorPtr error(raw);
  if (!discoverer) {
    err << "GStreamer's discoverer cannot start: " << (error ? error->message : "unknown error") << "\n";
    return 1;
  }
  for (const auto& f : files) {
    const auto row = probe_one(discoverer.get(), fs::absolute(f).lexically_normal());
    if (opt.json) {
      out << row.dump() << "\n";
    } else if (row["ok"].get<bool>()) {
      out << row["video"].get<std::string>() << ": " << row["frames"] << " frames at " << row["fps"] << " fps, "
          << row["width"] << "x" << row["height"] << ", " << row["codec"].get<std::string>() << "\n";
    } else {
      out << row["video"].get<std::string>() << ": " << row["error"].get<std::string>() << "\n";
    }
  }
  return 0;
}

}  // namespace actiond::tools
