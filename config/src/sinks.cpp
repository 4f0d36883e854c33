#include "actiond/config/sinks.hpp"

#include <regex>
#include <set>

namespace actiond::config {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path resolve(const std::string& name, const fs::path& dir) {
  if (name.empty()) return {};
  const fs::path p = name;
  return (p.is_absolute() ? p : dir / p).lexically_normal();
}

void read_filter(ObjectReader& s, SinkConfig& c) {
  ObjectReader f = s.object("filter");
  c.filter.cameras = f.strings("cameras");
  for (const auto& t : f.strings("types")) {
    const auto type = parse_event_type(t);
    if (!type) {
      std::string all;
      for (const auto& [v, name] : kEventTypeNames) all += (all.empty() ? "" : ", ") + std::string(name);
      f.fail("types", "unknown event type \"" + t + "\" (known: " + all + ")");
    }
    c.filter.types.push_back(*type);
  }
  c.filter.labels = f.strings("labels");
  f.finish();
}

void read_host_port(ObjectReader& s, SinkConfig& c, int default_port) {
  c.host = s.string("host", c.host);
  if (c.host.empty()) s.fail("host", "must not be empty");
  c.port = s.integer_in("port", default_port, 1, 65535);
}

// "tls": {ca_file, cert_file, key_file, insecure}; files must exist. MQTT needs the CA (a webhook
// falls back to the system's).
void read_tls(ObjectReader& s, SinkConfig& c, const fs::path& dir, bool ca_required) {
  ObjectReader t = s.object("tls");
  c.tls.enabled = s.has("tls");
  c.tls.ca_file = resolve(t.string("ca_file", ""), dir);
  c.tls.cert_file = resolve(t.string("cert_file", ""), dir);
  c.tls.key_file = resolve(t.string("key_file", ""), dir);
  c.tls.insecure = t.boolean("insecure", false);
  if (ca_required && c.tls.enabled && c.tls.ca_file.empty()) t.fail("ca_file", "is required with \"tls\"");
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    t.fail(c.tls.cert_file.empty() ? "cert_file" : "key_file", "\"cert_file\" and \"key_file\" go together");
  }
  for (const auto& [key, p] : {std::pair{"ca_file", c.tls.ca_file}, {"cert_file", c.tls.cert_file}, {"key_file", c.tls.key_file}}) {
    if (!p.empty() && !fs::is_regular_file(p)) t.fail(key, "no such file \"" + p.string() + "\"");
  }
  t.finish();
}

void read_mqtt(ObjectReader& s, SinkConfig& c, const fs::path& dir) {
  read_host_port(s, c, 1883);
  c.client_id = s.string("client_id", "actiond-" + c.name);
  c.keepalive_s = s.integer_in("keepalive_s", c.keepalive_s, 5, 3600);
  c.username = s.string("username", "");
  c.password = s.secret_file("password_file", dir);
  if (!c.password.empty() && c.username.empty()) s.fail("password_file", "needs \"username\" as well");
  read_tls(s, c, dir, true);
  ObjectReader d = s.object("discovery");
  c.discovery = d.boolean("enabled", s.has("discovery"));
  c.discovery_prefix = d.string("prefix", c.discovery_prefix);
  d.finish();
}

void read_nats(ObjectReader& s, SinkConfig& c) {
  c.url = s.string("url", "nats://127.0.0.1:4222");
  if (c.url.rfind("nats://", 0) != 0 && c.url.rfind("tls://", 0) != 0) {
    s.fail("url", "must start with nats:// or tls://, got \"" + c.url + "\"");
  }
  c.stream = s.string("stream", "ACTIOND");
  static const std::regex stream_re("^[A-Za-z0-9_-]{1,64}$");
  if (!std::regex_match(c.stream, stream_re)) s.fail("stream", "must match [A-Za-z0-9_-]{1,64}, got \"" + c.stream + "\"");
  c.create_stream = s.boolean("create_stream", c.create_stream);
}

void read_redis(ObjectReader& s, SinkConfig& c, const fs::path& dir) {
  read_host_port(s, c, 6379);
  c.maxlen = s.integer_in("maxlen", c.maxlen, 0, 1000000000);
  c.db = s.integer_in("db", c.db, 0, 1000);
  c.password = s.secret_file("password_file", dir);
}

void read_kafka(ObjectReader& s, SinkConfig& c) {
  c.brokers = s.required_string("brokers");
  c.topic = s.string("topic", "actiond");
  c.properties = s.string_map("properties");
}

void read_webhook(ObjectReader& s, SinkConfig& c, const fs::path& dir) {
  c.url = s.required_string("url");
  static const std::regex url_re("^https?://[^/\\s]+(/\\S*)?$");
  if (!std::regex_match(c.url, url_re)) s.fail("url", "must be an http:// or https:// URL, got \"" + c.url + "\"");
  c.secret = s.secret_file("secret_file", dir);
  c.headers = s.string_map("headers");
  read_tls(s, c, dir, false);
  if (c.tls.enabled && c.url.rfind("https://", 0) != 0) s.fail("tls", "is for https:// URLs");
}

}  // namespace

std::vector<SinkConfig> parse_sinks(ObjectReader& root, const fs::path& dir) {
  std::vector<SinkConfig> out;
  const json* arr = root.raw("sinks");
  if (arr == nullptr) return out;
  if (!arr->is_array()) root.fail("sinks", "must be an array of sink objects, got " + std::string(arr->type_name()));
  std::set<std::string> names;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    ObjectReader s((*arr)[i], root.file(), root.pointer_of("sinks") + "/" + std::to_string(i));
    SinkConfig c;
    c.name = s.required_string("name");
    static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
    if (!std::regex_match(c.name, name_re)) {
      s.fail("name", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, got \"" + c.name + "\"");
    }
    if (!names.insert(c.name).second) s.fail("name", "\"" + c.name + "\" names another sink too");
    if (!s.has("type")) s.fail("type", "is required");
    c.type = s.choice("type", c.type, kSinkTypeNames);
    read_filter(s, c);
    c.format = s.choice("format", c.format, kSinkFormatNames);
    c.batch = s.integer_in("batch", c.type == SinkType::webhook ? 1 : c.batch, 1, 10000);  // webhook: 1 = one event per POST
    c.backoff_min_s = s.number_in("backoff_min_s", c.backoff_min_s, 0.01, 3600);
    c.backoff_max_s = s.number_in("backoff_max_s", c.backoff_max_s, 0.01, 3600);
    if (c.backoff_max_s < c.backoff_min_s) {
      s.fail("backoff_max_s", "must be >= backoff_min_s (" + format_number(c.backoff_min_s) + "), got " +
                                  format_number(c.backoff_max_s));
    }
    c.timeout_s = s.number_in("timeout_s", c.timeout_s, 0.1, 600);
    const bool prefix_ok = c.type != SinkType::kafka && c.type != SinkType::webhook;
    if (prefix_ok) {
      c.prefix = s.string("prefix", c.prefix);
      static const std::regex prefix_re("^[A-Za-z0-9_-]+([/.:][A-Za-z0-9_-]+)*$");
      if (!std::regex_match(c.prefix, prefix_re)) {
        s.fail("prefix", "must be words of [A-Za-z0-9_-] joined by / . or :, got \"" + c.prefix + "\"");
      }
    }
    switch (c.type) {
      case SinkType::mqtt: read_mqtt(s, c, dir); break;
      case SinkType::nats: read_nats(s, c); break;
      case SinkType::redis: read_redis(s, c, dir); break;
      case SinkType::kafka: read_kafka(s, c); break;
      case SinkType::webhook: read_webhook(s, c, dir); break;
    }
    if (c.format == SinkFormat::frigate && c.type != SinkType::mqtt && c.type != SinkType::webhook) {
      s.fail("format", "\"frigate\" is for mqtt and webhook sinks");
    }
    s.finish();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace actiond::config
