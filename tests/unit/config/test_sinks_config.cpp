#include "actiond/config/config.hpp"

#include "config_errors.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using actiond::config::load_config;
using actiond::config::EventType;
using actiond::config::SinkFormat;
using actiond::config::SinkType;
using actiond::test::TempDir;

namespace {

std::string with_sinks(const std::string& sinks) { return R"({"sinks": )" + sinks + "}"; }

std::string load_error(const std::string& daemon) {
  return actiond::test::config_load_error(
      {{"actiond.json", daemon}, {"hook.secret", "s3cret\n"}, {"empty.secret", "\n"}});
}

}  // namespace

TEST_CASE("sinks load with their defaults and secrets from files", "[config][sinks]") {
  TempDir dir;
  dir.write("hook.secret", "s3cret \r\n");
  dir.write("mqtt.password", "pw\n");
  dir.write("actiond.json", with_sinks(R"([
    {"name": "ha", "type": "mqtt", "username": "u", "password_file": "mqtt.password", "discovery": {"enabled": true},
     "filter": {"cameras": ["door"], "types": ["segment.start", "segment.end"], "labels": ["pour"]}, "format": "frigate"},
    {"name": "js", "type": "nats", "create_stream": true},
    {"name": "rs", "type": "redis", "maxlen": 1000},
    {"name": "kf", "type": "kafka", "brokers": "127.0.0.1:9092", "properties": {"linger.ms": "20"}},
    {"name": "hook", "type": "webhook", "url": "https://example.test/events", "secret_file": "hook.secret"}])"));
  const auto cfg = load_config(dir.path());
  const auto& s = cfg->daemon.sinks;
  REQUIRE(s.size() == 5);
  CHECK(s[0].type == SinkType::mqtt);
  CHECK(s[0].port == 1883);
  CHECK(s[0].client_id == "actiond-ha");
  CHECK(s[0].password == "pw");
  CHECK(s[0].discovery);
  CHECK(s[0].discovery_prefix == "homeassistant");
  CHECK(s[0].format == SinkFormat::frigate);
  CHECK(s[0].filter.types == std::vector<EventType>{EventType::segment_start, EventType::segment_end});
  CHECK(s[0].batch == 100);
  CHECK(s[0].backoff_min_s == 1.0);
  CHECK(s[0].backoff_max_s == 30.0);
  CHECK(s[1].url == "nats://127.0.0.1:4222");
  CHECK(s[1].stream == "ACTIOND");
  CHECK(s[1].create_stream);
  CHECK(s[2].port == 6379);
  CHECK(s[2].prefix == "actiond");
  CHECK(s[3].topic == "actiond");
  CHECK(s[3].properties.at("linger.ms") == "20");
  CHECK(s[4].secret == "s3cret");
  CHECK(s[4].batch == 1);  // webhooks post one event per request unless told otherwise
}

TEST_CASE("sink config errors name the file and key path", "[config][sinks]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with_sinks(R"({"name": "x"})"), "actiond.json: /sinks: must be an array of sink objects, got object"},
      {with_sinks(R"([{"type": "mqtt"}])"), "actiond.json: /sinks/0/name: is required"},
      {with_sinks(R"([{"name": "a b", "type": "mqtt"}])"),
       "actiond.json: /sinks/0/name: must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, got \"a b\""},
      {with_sinks(R"([{"name": "a", "type": "mqtt"}, {"name": "a", "type": "redis"}])"),
       "actiond.json: /sinks/1/name: \"a\" names another sink too"},
      {with_sinks(R"([{"name": "a"}])"), "actiond.json: /sinks/0/type: is required"},
      {with_sinks(R"([{"name": "a", "type": "amqp"}])"),
       "actiond.json: /sinks/0/type: must be one of \"mqtt\", \"nats\", \"redis\", \"kafka\", or \"webhook\", got \"amqp\""},
      {with_sinks(R"([{"name": "a", "type": "redis", "url": "redis://x"}])"),
       "actiond.json: /sinks/0/url: unknown key (expected one of: backoff_max_s, backoff_min_s, batch, db, filter, format, "
       "host, maxlen, name, password_file, port, prefix, timeout_s, type)"},
      {with_sinks(R"([{"name": "a", "type": "mqtt", "port": 70000}])"),
       "actiond.json: /sinks/0/port: must be between 1 and 65535, got 70000"},
      {with_sinks(R"([{"name": "a", "type": "mqtt", "password_file": "hook.secret"}])"),
       "actiond.json: /sinks/0/password_file: needs \"username\" as well"},
      {with_sinks(R"([{"name": "a", "type": "mqtt", "username": "u", "password_file": "nope"}])"),
       "actiond.json: /sinks/0/password_file: cannot read \"DIR/nope\""},
      {with_sinks(R"([{"name": "a", "type": "webhook", "url": "http://h/x", "secret_file": "empty.secret"}])"),
       "actiond.json: /sinks/0/secret_file: \"DIR/empty.secret\" is empty"},
      {with_sinks(R"([{"name": "a", "type": "webhook", "url": "ftp://h/x"}])"),
       "actiond.json: /sinks/0/url: must be an http:// or https:// URL, got \"ftp://h/x\""},
      {with_sinks(R"([{"name": "a", "type": "webhook"}])"), "actiond.json: /sinks/0/url: is required"},
      {with_sinks(R"([{"name": "a", "type": "nats", "url": "http://x"}])"),
       "actiond.json: /sinks/0/url: must start with nats:// or tls://, got \"http://x\""},
      {with_sinks(R"([{"name": "a", "type": "kafka"}])"), "actiond.json: /sinks/0/brokers: is required"},
      {with_sinks(R"([{"name": "a", "type": "kafka", "brokers": "b", "properties": {"acks": 1}}])"),
       "actiond.json: /sinks/0/properties/acks: must be a string, got number"},
      {with_sinks(R"([{"name": "a", "type": "redis", "format": "frigate"}])"),
       "actiond.json: /sinks/0/format: \"frigate\" is for mqtt and webhook sinks"},
      {with_sinks(R"([{"name": "a", "type": "redis", "filter": {"types": ["segment.begin"]}}])"),
       "actiond.json: /sinks/0/filter/types: unknown event type \"segment.begin\" (known: segment.start, segment.update, "
       "segment.end, boundary, recognition, repetition, track.start, track.end, stream.status, heartbeat, clip.ready)"},
      {with_sinks(R"([{"name": "a", "type": "redis", "filter": {"cameras": ["door", ""]}}])"),
       "actiond.json: /sinks/0/filter/cameras/1: must be a non-empty string, got \"\""},
      {with_sinks(R"([{"name": "a", "type": "redis", "backoff_min_s": 5, "backoff_max_s": 2}])"),
       "actiond.json: /sinks/0/backoff_max_s: must be >= backoff_min_s (5), got 2"},
      {with_sinks(R"([{"name": "a", "type": "mqtt", "tls": {}}])"), "actiond.json: /sinks/0/tls/ca_file: is required with \"tls\""},
      {with_sinks(R"([{"name": "a", "type": "mqtt", "prefix": "a//b"}])"),
       "actiond.json: /sinks/0/prefix: must be words of [A-Za-z0-9_-] joined by / . or :, got \"a//b\""},
      {R"({"journal": {"enabled": false}, "sinks": [{"name": "a", "type": "redis"}]})",
       "actiond.json: /sinks: need the journal (\"journal\": {\"enabled\": true}): sinks deliver from it"},
  };
  for (const auto& [daemon, message] : cases) {
    std::string got = load_error(daemon);
    // Paths in messages are absolute: compare them as DIR/...
    const auto slash = got.find("\"/");
    const auto end = slash == std::string::npos ? std::string::npos : got.find('"', slash + 1);
    if (slash != std::string::npos && end != std::string::npos) {
      const std::string path = got.substr(slash + 1, end - slash - 1);
      got.replace(slash + 1, path.rfind('/') , "DIR");
    }
    CHECK(got == message);
  }
}
