#pragma once
// What a sink sends, as pure functions (no I/O): filters, the Frigate-like compact shape, MQTT
// topics and retained state, Home Assistant discovery payloads, the webhook signature.
#include "actiond/config/sinks.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace actiond::daemon {

// The label an event is about: a segment's label, a boundary's `to`, a repetition's or a
// recognition's label; nullopt for events without one.
std::optional<std::string> event_label(const nlohmann::json& event);

// Whether the sink takes this event (an empty filter list takes all; a label filter drops events
// without a label).
bool sink_accepts(const config::SinkFilter& f, const nlohmann::json& event);

// The payload for `format`: the journaled line as is, or the compact new/update/end shape of a
// segment event (nullopt: this event has no such shape and is skipped).
std::optional<std::string> sink_payload(config::SinkFormat format, const nlohmann::json& event, const std::string& line);

// MQTT: "<prefix>/<camera>/<type>" ("<prefix>/events" for the frigate format).
std::string mqtt_topic(const config::SinkConfig& cfg, const std::string& camera, const std::string& type);
std::string mqtt_state_topic(const config::SinkConfig& cfg, const std::string& camera);
std::string mqtt_availability_topic(const config::SinkConfig& cfg);
// A camera's current action for the retained MQTT state topic, from its segment events (a pose
// camera may have several people's segments open: the newest one is the action).
class CameraState {
 public:
  // The state after `event` ({"action": label or "idle", ...}); nullopt when it does not change it.
  std::optional<nlohmann::json> apply(const nlohmann::json& event);

 private:
  std::vector<nlohmann::json> open_;  // open segments, oldest first
};

struct DiscoveryMessage {
  std::string topic;
  nlohmann::json payload;
};
// Home Assistant MQTT discovery: a sensor of the camera's current action and a binary sensor per label.
std::vector<DiscoveryMessage> ha_discovery(const config::SinkConfig& cfg, const std::string& camera,
                                           const std::vector<std::string>& labels);

// Lower-case hex HMAC-SHA256 of `body` with `secret`.
std::string hmac_sha256_hex(const std::string& secret, const std::string& body);

}  // namespace actiond::daemon
