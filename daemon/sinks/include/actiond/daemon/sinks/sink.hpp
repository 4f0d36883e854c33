#pragma once
// A sink's connection to its broker (MQTT, NATS JetStream, Redis, Kafka, a webhook): connect, then
// deliver events of one camera in seq order and say how many the broker acknowledged. The
// SinkRunner owns one client and calls it from its thread only.
#include "actiond/config/sinks.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace actiond::daemon {

struct SinkEvent {
  std::string camera;
  std::uint64_t seq = 0;
  std::string type;      // "segment.start", ...
  std::string event_id;
  std::string body;      // the payload to send (the journaled JSON, or its `format` shape)
  nlohmann::json event;  // the journaled event, parsed
};

// Labels a camera's models can publish (for Home Assistant discovery); empty when unknown.
using LabelsOf = std::function<std::vector<std::string>(const std::string& camera)>;

class SinkClient {
 public:
  virtual ~SinkClient() = default;
  // (Re)connects: "" on success, else why not (the runner backs off and tries again).
  virtual std::string connect() = 0;
  virtual void disconnect() = 0;
  // Delivers `events` (one camera's, in seq order, at least one). Returns how many of them, from
  // the first, the broker has acknowledged; when fewer than all, `error` says why (the runner
  // disconnects, backs off and sends the rest again: delivery is at least once).
  virtual std::size_t deliver(const std::vector<SinkEvent>& events, std::string& error) = 0;
  // Called at least every 100 ms while connected and idle (keepalives); "" or an error.
  virtual std::string idle() { return {}; }
  // A camera seen for the first time since connecting (MQTT: discovery and availability).
  virtual std::string camera_seen(const std::string& /*camera*/) { return {}; }
};

std::unique_ptr<SinkClient> make_sink_client(const config::SinkConfig& cfg, LabelsOf labels);

}  // namespace actiond::daemon
