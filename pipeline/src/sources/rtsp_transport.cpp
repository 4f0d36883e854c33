#include "sources/rtsp_transport.hpp"

namespace actiond::pipeline::detail {

// rtspsrc (GStreamer 1.22) answers a SETUP refused with 461 by trying the next allowed transport;
// with none left it activates no stream and posts CODEC_NOT_FOUND "No supported stream was found"
// from gst_rtspsrc_setup_streams_start, which uridecodebin turns into "Your GStreamer installation
// is missing a plug-in" with the original location in the debug text. That location (or the
// original text, or the status line when a version reports it) is what identifies a refusal.
std::optional<std::string> rtsp_transport_refusal(config::Transport tried, const std::string& reports) {
  const bool refused = reports.find("gst_rtspsrc_setup_streams_start") != std::string::npos ||
                       reports.find("No supported stream was found") != std::string::npos ||
                       reports.find("Unsupported transport") != std::string::npos ||
                       reports.find("(461)") != std::string::npos;
  if (!refused) return std::nullopt;
  return std::string("RTSP server refused ") + (tried == config::Transport::udp ? "UDP" : "TCP") + " transport (461)";
}

}  // namespace actiond::pipeline::detail
