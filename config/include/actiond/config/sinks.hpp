#pragma once
// Event sinks (actiond.json "sinks": [...]): where events go besides the ZeroMQ socket. Each sink
// follows the journal from its own cursor (docs/SINKS.md); this is only its validated settings.
//
// Thread-safety: immutable after parsing.
#include "actiond/config/event_kinds.hpp"
#include "actiond/config/json_reader.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace actiond::config {

enum class SinkType { mqtt, nats, redis, kafka, webhook };
enum class SinkFormat { event, frigate };  // the event as journaled, or a compact new/update/end shape
inline constexpr EnumNames<SinkType, 5> kSinkTypeNames{{{SinkType::mqtt, "mqtt"}, {SinkType::nats, "nats"},
                                                        {SinkType::redis, "redis"}, {SinkType::kafka, "kafka"},
                                                        {SinkType::webhook, "webhook"}}};
inline constexpr EnumNames<SinkFormat, 2> kSinkFormatNames{{{SinkFormat::event, "event"}, {SinkFormat::frigate, "frigate"}}};
inline std::string to_string(SinkType t) { return std::string(name_of(kSinkTypeNames, t)); }

// Which events a sink takes; an empty list takes all.
struct SinkFilter {
  std::vector<std::string> cameras;
  std::vector<EventType> types;     // event types
  std::vector<std::string> labels;  // events with a `label` (segments, boundaries' to_label, repetitions)
  bool operator==(const SinkFilter&) const = default;
};

struct SinkTls {
  bool enabled = false;
  std::filesystem::path ca_file, cert_file, key_file;  // absolute after loading
  bool insecure = false;                               // skip the host name check (tests only)
  bool operator==(const SinkTls&) const = default;
};

struct SinkConfig {
  std::string name;  // unique; names the cursor files, metrics and status entry
  SinkType type = SinkType::mqtt;
  SinkFilter filter;
  SinkFormat format = SinkFormat::event;
  int batch = 100;              // events per delivery at most
  double backoff_min_s = 1.0;   // reconnect backoff doubles from here, with jitter
  double backoff_max_s = 30.0;
  double timeout_s = 10.0;      // a delivery not acknowledged by then counts as failed

  // mqtt: host, port, prefix, client_id, keepalive_s, username/password, tls, discovery
  // nats: url, prefix (subjects), stream, create_stream
  // redis: host, port, prefix (keys), maxlen, db, password
  // kafka: brokers, topic, properties (librdkafka settings)
  // webhook: url, secret (HMAC-SHA256), headers
  std::string host = "127.0.0.1";
  int port = 0;                 // 0 = the type's default
  std::string url;
  std::string prefix = "actiond";
  std::string client_id;        // mqtt: default "actiond-<sink name>"
  int keepalive_s = 30;
  std::string username;
  std::string password;         // from password_file; never logged
  SinkTls tls;
  bool discovery = false;       // mqtt: Home Assistant discovery
  std::string discovery_prefix = "homeassistant";
  std::string stream;           // nats: JetStream stream name
  bool create_stream = false;
  int maxlen = 0;               // redis: approximate MAXLEN per camera stream (0 = unbounded)
  int db = 0;
  std::string brokers;          // kafka: bootstrap servers
  std::string topic;
  std::map<std::string, std::string> properties;
  std::string secret;           // webhook: from secret_file; never logged
  std::map<std::string, std::string> headers;

  bool operator==(const SinkConfig&) const = default;
};


// The `sinks` array of actiond.json (absent: none). `dir` resolves relative file names.
std::vector<SinkConfig> parse_sinks(ObjectReader& root, const std::filesystem::path& dir);

}  // namespace actiond::config
