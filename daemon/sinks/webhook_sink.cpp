// Webhook sink (cpp-httplib): POST of each event (batch 1) or of a JSON array of events, with
// X-Actiond-Signature: sha256=<HMAC-SHA256 of the body with the sink's secret>. Any 2xx
// acknowledges; anything else is retried with backoff (at least once: receivers dedup by event_id).
#include "clients.hpp"

#include "actiond/daemon/sinks/sink_format.hpp"

#include <httplib.h>

#include <regex>

namespace actiond::daemon {

namespace {

class WebhookClient final : public SinkClient {
 public:
  explicit WebhookClient(config::SinkConfig cfg) : cfg_(std::move(cfg)) {
    static const std::regex url_re("^(https?://[^/]+)(/.*)?$");
    std::smatch m;
    if (std::regex_match(cfg_.url, m, url_re)) {  // validated when the config was read
      origin_ = m[1];
      path_ = m[2].matched ? std::string(m[2]) : "/";
    }
  }

  std::string connect() override {
    client_ = cfg_.tls.cert_file.empty()
                  ? std::make_unique<httplib::Client>(origin_)
                  : std::make_unique<httplib::Client>(origin_, cfg_.tls.cert_file.string(), cfg_.tls.key_file.string());
    if (!client_->is_valid()) return cfg_.url + ": cannot make a client (bad client certificate or key?)";
    if (!cfg_.tls.ca_file.empty()) client_->set_ca_cert_path(cfg_.tls.ca_file.string());
    if (cfg_.tls.insecure) client_->enable_server_certificate_verification(false);
    const auto t = std::chrono::milliseconds(static_cast<long>(cfg_.timeout_s * 1000));
    client_->set_connection_timeout(t);
    client_->set_read_timeout(t);
    client_->set_write_timeout(t);
    client_->set_keep_alive(true);
    return {};
  }

  void disconnect() override { client_.reset(); }

  std::size_t deliver(const std::vector<SinkEvent>& events, std::string& error) override {
    if (cfg_.batch == 1) {
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (!post(events[i].body, events[i], events[i], error)) return i;
      }
      return events.size();
    }
    std::string body = "[";
    for (const auto& e : events) body += (body.size() > 1 ? "," : "") + e.body;
    body += "]";
    return post(body, events.front(), events.back(), error) ? events.size() : 0;
  }

 private:
  bool post(const std::string& body, const SinkEvent& first, const SinkEvent& last, std::string& error) {
    httplib::Headers h(cfg_.headers.begin(), cfg_.headers.end());
    h.emplace("X-Actiond-Camera", first.camera);
    h.emplace("X-Actiond-Seq", first.seq == last.seq ? std::to_string(first.seq)
                                                     : std::to_string(first.seq) + "-" + std::to_string(last.seq));
    if (first.seq == last.seq) h.emplace("X-Actiond-Event-Id", first.event_id);
    if (!cfg_.secret.empty()) h.emplace("X-Actiond-Signature", "sha256=" + hmac_sha256_hex(cfg_.secret, body));
    auto res = client_->Post(path_, h, body, "application/json");
    if (!res) {
      error = cfg_.url + ": " + httplib::to_string(res.error());
      return false;
    }
    if (res->status < 200 || res->status > 299) {
      error = cfg_.url + ": HTTP " + std::to_string(res->status);
      return false;
    }
    return true;
  }

  const config::SinkConfig cfg_;
  std::string origin_, path_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace

std::unique_ptr<SinkClient> make_webhook_client(const config::SinkConfig& cfg) { return std::make_unique<WebhookClient>(cfg); }

}  // namespace actiond::daemon
