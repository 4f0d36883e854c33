#include "actiond/daemon/sinks/sink.hpp"

#include "clients.hpp"

namespace actiond::daemon {

std::unique_ptr<SinkClient> make_sink_client(const config::SinkConfig& cfg, LabelsOf labels) {
  switch (cfg.type) {
    case config::SinkType::mqtt: return make_mqtt_client(cfg, std::move(labels));
    case config::SinkType::nats: return make_nats_client(cfg);
    case config::SinkType::redis: return make_redis_client(cfg);
    case config::SinkType::kafka: return make_kafka_client(cfg);
    case config::SinkType::webhook: return make_webhook_client(cfg);
  }
  return nullptr;
}

}  // namespace actiond::daemon
