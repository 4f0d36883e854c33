// libFuzzer harness: the daemon and camera configuration parsers and validators (scripts/fuzz.sh).
// Input: an actiond.json text, optionally followed by "\n---\n" and a camera file text. Every input
// must either parse or throw ConfigError; anything else (a crash, another exception, a sanitizer
// report) is a bug.
#include "actiond/config/config.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto sep = text.find("\n---\n");
  const auto daemon_json = nlohmann::json::parse(text.substr(0, sep), nullptr, false);
  if (daemon_json.is_discarded()) return 0;
  try {
    actiond::config::LoadOptions opts;
    const auto daemon = actiond::config::parse_daemon_config(daemon_json, "actiond.json", "/nonexistent", opts);
    if (sep == std::string::npos) return 0;
    const auto camera_json = nlohmann::json::parse(text.substr(sep + 5), nullptr, false);
    if (camera_json.is_discarded()) return 0;
    actiond::config::parse_camera_config(camera_json, "cameras/fuzz.json", daemon);
  } catch (const actiond::config::ConfigError&) {
  }
  return 0;
}
