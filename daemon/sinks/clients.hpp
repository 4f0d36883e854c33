#pragma once
// The sink clients, one per broker (internal to the sinks library).
#include "actiond/daemon/sinks/sink.hpp"

namespace actiond::daemon {

std::unique_ptr<SinkClient> make_mqtt_client(const config::SinkConfig& cfg, LabelsOf labels);
std::unique_ptr<SinkClient> make_nats_client(const config::SinkConfig& cfg);
std::unique_ptr<SinkClient> make_redis_client(const config::SinkConfig& cfg);
std::unique_ptr<SinkClient> make_kafka_client(const config::SinkConfig& cfg);
std::unique_ptr<SinkClient> make_webhook_client(const config::SinkConfig& cfg);

}  // namespace actiond::daemon
