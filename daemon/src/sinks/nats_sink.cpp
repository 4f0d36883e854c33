// NATS JetStream sink (libnats): subjects <prefix>.<camera>.<type> in stream `stream` (created with
// subjects <prefix>.> when create_stream), each event published with Nats-Msg-Id = event_id, so the
// stream drops a redelivery within its duplicate window; acknowledged by the stream's PubAck.
#include "sinks/clients.hpp"

#include "nats/jetstream.hpp"

namespace actiond::daemon {

namespace {

using detail::nats_status_text;

class NatsClient final : public SinkClient {
 public:
  explicit NatsClient(config::SinkConfig cfg) : cfg_(std::move(cfg)) {}
  ~NatsClient() override { disconnect(); }

  std::string connect() override {
    disconnect();
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, cfg_.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, static_cast<int64_t>(cfg_.timeout_s * 1000));
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);  // the runner reconnects, with backoff
    if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) return cfg_.url + ": " + nats_status_text(s, static_cast<jsErrCode>(0));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = static_cast<int64_t>(cfg_.timeout_s * 1000);
    if ((s = natsConnection_JetStream(&js_, nc_, &jo)) != NATS_OK) return cfg_.url + ": JetStream: " + nats_status_text(s, static_cast<jsErrCode>(0));
    if (std::string err = detail::ensure_stream(js_, cfg_.stream, cfg_.prefix + ".>", cfg_.create_stream); !err.empty()) {
      return err;
    }
    return {};
  }

  void disconnect() override {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    js_ = nullptr;
    if (nc_ != nullptr) {
      natsConnection_Close(nc_);
      natsConnection_Destroy(nc_);
    }
    nc_ = nullptr;
  }

  std::size_t deliver(const std::vector<SinkEvent>& events, std::string& error) override {
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      const std::string subject = cfg_.prefix + "." + e.camera + "." + e.type;
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = e.event_id.c_str();
      po.ExpectStream = cfg_.stream.c_str();
      jsPubAck* ack = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      const natsStatus s = js_Publish(&ack, js_, subject.c_str(), e.body.data(), static_cast<int>(e.body.size()), &po, &jerr);
      jsPubAck_Destroy(ack);
      if (s != NATS_OK) {
        error = subject + ": " + nats_status_text(s, jerr);
        return i;
      }
    }
    return events.size();
  }

  std::string idle() override {
    if (nc_ == nullptr || natsConnection_IsClosed(nc_)) return "connection closed";
    return {};
  }

 private:
  const config::SinkConfig cfg_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace

std::unique_ptr<SinkClient> make_nats_client(const config::SinkConfig& cfg) { return std::make_unique<NatsClient>(cfg); }

}  // namespace actiond::daemon
