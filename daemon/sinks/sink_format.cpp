#include "actiond/daemon/sinks/sink_format.hpp"

#include "actiond/config/version.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <set>

namespace actiond::daemon {

using nlohmann::json;
using config::EventType;

namespace {

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename T>
bool listed(const std::vector<T>& list, const T& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

// Home Assistant ids: letters, digits, '_' and '-' only.
std::string ha_id(std::string s) {
  for (auto& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  }
  return s;
}

}  // namespace

std::optional<std::string> event_label(const json& event) {
  const auto type = config::event_type_of(event);
  if (!type) return std::nullopt;
  if (config::is_segment_event(*type)) {
    const auto seg = event.find("segment");
    if (seg != event.end() && seg->is_object()) {
      const std::string l = str(*seg, "label");
      if (!l.empty()) return l;
    }
    return std::nullopt;
  }
  if (*type == EventType::boundary) {
    const std::string to = str(event, "to");
    return to.empty() ? std::nullopt : std::optional<std::string>(to);
  }
  if (*type == EventType::repetition || *type == EventType::recognition) {
    const std::string l = str(event, "label");
    return l.empty() ? std::nullopt : std::optional<std::string>(l);
  }
  return std::nullopt;
}

bool sink_accepts(const config::SinkFilter& f, const json& event) {
  const auto type = config::event_type_of(event);
  if (!listed(f.cameras, str(event, "camera")) || (!f.types.empty() && (!type || !listed(f.types, *type)))) return false;
  if (f.labels.empty()) return true;
  const auto label = event_label(event);
  return label && listed(f.labels, *label);
}

std::optional<std::string> sink_payload(config::SinkFormat format, const json& event, const std::string& line) {
  if (format == config::SinkFormat::event) return line;
  const auto type = config::event_type_of(event);
  const auto seg = event.find("segment");
  if (!type || !config::is_segment_event(*type) || seg == event.end() || !seg->is_object()) return std::nullopt;
  const char* kind = *type == EventType::segment_start ? "new" : *type == EventType::segment_update ? "update" : "end";
  auto time_of = [&](const char* key) -> json {
    const auto p = seg->find(key);
    if (p == seg->end() || !p->is_object()) return nullptr;
    const auto t = p->find("time");
    return t != p->end() ? *t : json(nullptr);
  };
  json out = {{"type", kind},
              {"camera", str(event, "camera")},
              {"id", str(*seg, "id")},
              {"label", str(*seg, "label")},
              {"score", seg->value("confidence", 0.0)},
              {"start_time", time_of("start")},
              {"end_time", time_of("end")},
              {"end_reason", seg->value("end_reason", json(nullptr))},
              {"seq", event.value("seq", 0)},
              {"event_id", str(event, "event_id")}};
  if (seg->contains("repetitions")) out["repetitions"] = (*seg)["repetitions"];
  if (event.contains("subject")) out["subject"] = event["subject"];
  return out.dump();
}

std::string mqtt_topic(const config::SinkConfig& cfg, const std::string& camera, const std::string& type) {
  if (cfg.format == config::SinkFormat::frigate) return cfg.prefix + "/events";
  return cfg.prefix + "/" + camera + "/" + type;
}

std::string mqtt_state_topic(const config::SinkConfig& cfg, const std::string& camera) {
  return cfg.prefix + "/" + camera + "/state";
}

std::string mqtt_availability_topic(const config::SinkConfig& cfg) { return cfg.prefix + "/availability"; }

std::optional<json> CameraState::apply(const json& event) {
  const auto type = config::event_type_of(event);
  if (!type || !config::is_segment_event(*type)) return std::nullopt;
  const auto seg = event.find("segment");
  if (seg == event.end() || !seg->is_object()) return std::nullopt;
  const std::string id = str(*seg, "id");
  open_.erase(std::remove_if(open_.begin(), open_.end(), [&](const json& s) { return str(s, "segment_id") == id; }),
              open_.end());
  if (*type != EventType::segment_end) {
    json s = {{"action", str(*seg, "label")},
              {"segment_id", id},
              {"confidence", seg->value("confidence", 0.0)},
              {"since", seg->contains("start") && (*seg)["start"].is_object() ? (*seg)["start"].value("time", json(nullptr))
                                                                               : json(nullptr)}};
    if (seg->contains("repetitions")) s["repetitions"] = (*seg)["repetitions"];
    if (event.contains("subject") && event["subject"].is_object()) s["track_id"] = event["subject"].value("track_id", json(nullptr));
    open_.push_back(std::move(s));
  }
  json state = open_.empty() ? json{{"action", "idle"}} : open_.back();
  state["open_segments"] = open_.size();
  std::set<std::string> labels;  // every open segment's label (several people: several actions)
  for (const auto& s : open_) labels.insert(str(s, "action"));
  state["open_labels"] = labels;
  state["seq"] = event.value("seq", 0);
  state["updated_at"] = event.value("emitted_at", json(nullptr));
  return state;
}

std::vector<DiscoveryMessage> ha_discovery(const config::SinkConfig& cfg, const std::string& camera,
                                           const std::vector<std::string>& labels) {
  const std::string node = ha_id("actiond_" + camera);
  const json device = {{"identifiers", json::array({node})},
                       {"name", "actiond " + camera},
                       {"manufacturer", "actiond"},
                       {"model", "action analytics camera"},
                       {"sw_version", kVersion}};
  const std::string state = mqtt_state_topic(cfg, camera);
  auto common = [&](const std::string& name, const std::string& object) {
    return json{{"name", name},
                {"unique_id", ha_id("actiond_" + cfg.name + "_" + camera + "_" + object)},
                {"state_topic", state},
                {"availability_topic", mqtt_availability_topic(cfg)},
                {"payload_available", "online"},
                {"payload_not_available", "offline"},
                {"device", device}};
  };
  std::vector<DiscoveryMessage> out;
  json sensor = common("Action", "action");
  sensor["value_template"] = "{{ value_json.action }}";
  sensor["json_attributes_topic"] = state;
  sensor["icon"] = "mdi:run";
  out.push_back({cfg.discovery_prefix + "/sensor/" + node + "/action/config", sensor});
  auto binary = [&](const std::string& name, const std::string& object, const std::string& condition) {
    json b = common(name, object);
    b["value_template"] = "{{ 'ON' if " + condition + " else 'OFF' }}";
    b["payload_on"] = "ON";
    b["payload_off"] = "OFF";
    return b;
  };
  for (const auto& label : labels) {
    // On while anyone's segment of that label is open (not only the newest person's).
    out.push_back({cfg.discovery_prefix + "/binary_sensor/" + node + "/" + ha_id(label) + "/config",
                   binary(label, "label_" + label, "'" + label + "' in value_json.open_labels")});
  }
  // The fall alarm: someone is falling or on the floor (docs/EVENTS.md, "Fall alarms").
  const bool falls = std::find(labels.begin(), labels.end(), "falling") != labels.end() ||
                     std::find(labels.begin(), labels.end(), "lying") != labels.end();
  if (falls) {
    json down = binary("Person down", "person_down",
                       "'falling' in value_json.open_labels or 'lying' in value_json.open_labels");
    down["device_class"] = "safety";  // on = unsafe
    down["icon"] = "mdi:human-handsdown";
    down["json_attributes_topic"] = state;
    out.push_back({cfg.discovery_prefix + "/binary_sensor/" + node + "/person_down/config", down});
  }
  return out;
}

std::string hmac_sha256_hex(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

}  // namespace actiond::daemon
