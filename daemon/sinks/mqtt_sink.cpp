// MQTT sink (libmosquitto): events at QoS 1 on <prefix>/<camera>/<type>, a retained
// <prefix>/<camera>/state, a retained availability topic with a last will, Home Assistant discovery.
#include "clients.hpp"

#include "actiond/config/c_handle.hpp"
#include "actiond/daemon/sinks/sink_format.hpp"

#include <mosquitto.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace actiond::daemon {

namespace {

class MqttClient final : public SinkClient {
 public:
  MqttClient(config::SinkConfig cfg, LabelsOf labels) : cfg_(std::move(cfg)), labels_(std::move(labels)) {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
  }
  ~MqttClient() override { disconnect(); }

  std::string connect() override {
    disconnect();
    m_.reset(mosquitto_new(cfg_.client_id.c_str(), true, this));
    if (m_ == nullptr) return "mosquitto_new failed";
    mosquitto_int_option(m_.get(), MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m_.get(), [](mosquitto*, void* self, int rc) {
      auto* c = static_cast<MqttClient*>(self);
      c->connack_ = rc == 0 ? 1 : -1;
      c->connack_rc_ = rc;
    });
    mosquitto_disconnect_callback_set(m_.get(), [](mosquitto*, void* self, int) { static_cast<MqttClient*>(self)->lost_ = true; });
    mosquitto_publish_callback_set(m_.get(), [](mosquitto*, void* self, int mid) { static_cast<MqttClient*>(self)->unacked_.erase(mid); });
    if (!cfg_.username.empty()) {
      mosquitto_username_pw_set(m_.get(), cfg_.username.c_str(), cfg_.password.empty() ? nullptr : cfg_.password.c_str());
    }
    if (cfg_.tls.enabled) {
      auto opt = [](const std::filesystem::path& p) { return p.empty() ? nullptr : p.c_str(); };
      if (int rc = mosquitto_tls_set(m_.get(), opt(cfg_.tls.ca_file), nullptr, opt(cfg_.tls.cert_file), opt(cfg_.tls.key_file), nullptr);
          rc != MOSQ_ERR_SUCCESS) {
        return std::string("TLS settings: ") + mosquitto_strerror(rc);
      }
      mosquitto_tls_insecure_set(m_.get(), cfg_.tls.insecure);
    }
    const std::string avail = mqtt_availability_topic(cfg_);
    mosquitto_will_set(m_.get(), avail.c_str(), 7, "offline", 1, true);
    lost_ = false;
    connack_ = 0;
    unacked_.clear();
    const std::string where = cfg_.host + ":" + std::to_string(cfg_.port);
    if (int rc = mosquitto_connect(m_.get(), cfg_.host.c_str(), cfg_.port, cfg_.keepalive_s); rc != MOSQ_ERR_SUCCESS) {
      return where + ": " + (rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout();
    while (connack_ == 0 && !lost_ && std::chrono::steady_clock::now() < deadline) {
      if (mosquitto_loop(m_.get(), 50, 1) != MOSQ_ERR_SUCCESS) break;
    }
    if (connack_ != 1) {
      return where + ": " + (connack_ == -1 ? std::string("refused: ") + mosquitto_connack_string(connack_rc_)
                                            : std::string("no CONNACK"));
    }
    std::string error;
    if (!publish_and_wait({{avail, "online", true}}, error)) return where + ": " + error;
    return {};
  }

  void disconnect() override {
    if (m_ == nullptr) return;
    if (!lost_ && connack_ == 1) {
      std::string ignored;
      publish_and_wait({{mqtt_availability_topic(cfg_), "offline", true}}, ignored);
      mosquitto_disconnect(m_.get());
    }
    m_.reset();
    connack_ = 0;
  }

  std::string camera_seen(const std::string& camera) override {
    if (!cfg_.discovery) return {};
    std::vector<Message> msgs;
    std::set<std::string> now;
    for (const auto& d : ha_discovery(cfg_, camera, labels_ ? labels_(camera) : std::vector<std::string>{})) {
      msgs.push_back({d.topic, d.payload.dump(), true});
      now.insert(d.topic);
    }
    // Sensors of labels the camera no longer has (a reload changed its model): an empty retained
    // config removes them from Home Assistant.
    auto& before = announced_[camera];
    for (const auto& topic : before) {
      if (now.count(topic) == 0) msgs.push_back({topic, "", true});
    }
    std::string error;
    if (!publish_and_wait(msgs, error)) return "discovery: " + error;
    before = std::move(now);
    return {};
  }

  std::size_t deliver(const std::vector<SinkEvent>& events, std::string& error) override {
    // Each event's message, and when it changes the camera's state, the retained state after it.
    std::vector<Message> msgs;
    std::vector<std::size_t> last_of;  // index in msgs of each event's last message
    const CameraState saved = states_[events.front().camera];
    for (const auto& e : events) {
      msgs.push_back({mqtt_topic(cfg_, e.camera, e.type), e.body, false});
      if (auto state = states_[e.camera].apply(e.event)) {
        msgs.push_back({mqtt_state_topic(cfg_, e.camera), state->dump(), true});
      }
      last_of.push_back(msgs.size() - 1);
    }
    const std::size_t sent = publish(msgs, error);
    std::size_t n = 0;
    while (n < events.size() && last_of[n] < sent) ++n;
    if (n < events.size()) {  // the state as after the acknowledged events; the rest come again
      CameraState& st = states_[events.front().camera];
      st = saved;
      for (std::size_t i = 0; i < n; ++i) st.apply(events[i].event);
    }
    return n;
  }

  std::string idle() override {
    if (m_ == nullptr) return "not connected";
    const int rc = mosquitto_loop(m_.get(), 0, 1);
    if (rc != MOSQ_ERR_SUCCESS || lost_) return std::string("connection lost: ") + mosquitto_strerror(rc);
    return {};
  }

 private:
  struct Message {
    std::string topic;
    std::string payload;
    bool retain;
  };
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(static_cast<long>(cfg_.timeout_s * 1000)); }

  bool publish_and_wait(const std::vector<Message>& msgs, std::string& error) {
    return publish(msgs, error) == msgs.size();
  }

  // Publishes at QoS 1 and waits for the PUBACKs; returns how many, from the first, were acknowledged.
  std::size_t publish(const std::vector<Message>& msgs, std::string& error) {
    std::vector<int> mids;
    for (const auto& m : msgs) {
      int mid = 0;
      const int rc = mosquitto_publish(m_.get(), &mid, m.topic.c_str(), static_cast<int>(m.payload.size()), m.payload.data(), 1, m.retain);
      if (rc != MOSQ_ERR_SUCCESS) {
        error = std::string("publish: ") + mosquitto_strerror(rc);
        break;
      }
      unacked_.insert(mid);
      mids.push_back(mid);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout();
    auto acked = [&] {
      std::size_t n = 0;
      while (n < mids.size() && unacked_.count(mids[n]) == 0) ++n;
      return n;
    };
    while (acked() < mids.size() && !lost_ && std::chrono::steady_clock::now() < deadline) {
      if (int rc = mosquitto_loop(m_.get(), 50, 1); rc != MOSQ_ERR_SUCCESS) {
        error = std::string("connection: ") + mosquitto_strerror(rc);
        break;
      }
    }
    const std::size_t n = acked();
    if (n < mids.size() && error.empty()) error = lost_ ? "connection lost" : "no PUBACK within timeout_s";
    return n;
  }

  const config::SinkConfig cfg_;
  LabelsOf labels_;
  config::CHandle<mosquitto, mosquitto_destroy> m_;
  std::map<std::string, std::set<std::string>> announced_;  // camera -> discovery topics sent
  int connack_ = 0;  // 0 waiting, 1 accepted, -1 refused
  int connack_rc_ = 0;
  bool lost_ = false;
  std::set<int> unacked_;
  std::map<std::string, CameraState> states_;
};

}  // namespace

std::unique_ptr<SinkClient> make_mqtt_client(const config::SinkConfig& cfg, LabelsOf labels) {
  return std::make_unique<MqttClient>(cfg, std::move(labels));
}

}  // namespace actiond::daemon
