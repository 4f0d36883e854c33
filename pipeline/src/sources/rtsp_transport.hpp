#pragma once
// Telling an RTSP server's refusal of a lower transport (SETUP answered 461 Unsupported Transport)
// from the other ways a connection fails, by what rtspsrc and uridecodebin report for it.
//
// Thread-safety: pure function.
#include "actiond/config/config.hpp"

#include <optional>
#include <string>

namespace actiond::pipeline::detail {

// `reports`: the error message, its debug text and the connection's warnings, as GStreamer gave
// them. Returns the reason to show ("RTSP server refused TCP transport (461)") when the failure
// is that `tried` (TCP or UDP) was refused; nothing otherwise.
std::optional<std::string> rtsp_transport_refusal(config::Transport tried, const std::string& reports);

}  // namespace actiond::pipeline::detail
