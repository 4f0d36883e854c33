#include "sources/rtsp_transport.hpp"

namespace actiond::pipeline::detail {

std::optional<std::string> rtsp_transport_refusal(config::Transport tried, const std::string& reports) {
  const bool refused = reports.find("461") != std::string::npos ||
                       reports.find("Unsupported transport") != std::string::npos ||
                       reports.find("No supported stream was found") != std::string::npos;
  if (!refused) return std::nullopt;
  return std::string("RTSP server refused ") + (tried == config::Transport::udp ? "UDP" : "TCP") + " transport (461)";
}

}  // namespace actiond::pipeline::detail
