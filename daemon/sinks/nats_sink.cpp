// NATS JetStream sink (libnats): subjects <prefix>.<camera>.<type> in stream `stream` (created with
// subjects <prefix>.> when create_stream), each event published with Nats-Msg-Id = event_id, so the
// stream drops a redelivery within its duplicate window; acknowledged by the stream's PubAck.
#include "clients.hpp"

#include "actiond/daemon/nats/jetstream.hpp"

namespace actiond::daemon {

namespace {

using detail::nats_status_text;

class NatsClient final : public SinkClient {
 public:
  explicit NatsClient(config::SinkConfig cfg) : cfg_(std::move(cfg)) {}
  ~NatsClient() override { disconnect(); }

  std::string connect() override {
    disconnect();
    natsStatus s = NATS_OK;
    const detail::NatsOptions opts = detail::nats_options(cfg_.url, cfg_.timeout_s, s);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts.get(), false);  // the runner reconnects, with backoff
    const auto wait_ms = static_cast<std::int64_t>(cfg_.timeout_s * 1000);
    if (std::string err = detail::connect_jetstream(conn_, opts, s, wait_ms, cfg_.url); !err.empty()) return err;
    if (std::string err = detail::ensure_stream(conn_.js.get(), cfg_.stream, cfg_.prefix + ".>", cfg_.create_stream); !err.empty()) {
      return err;
    }
    return {};
  }

  void disconnect() override {
    conn_.js.reset();
    conn_.nc.reset();
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
      const natsStatus s = js_Publish(&ack, conn_.js.get(), subject.c_str(), e.body.data(), static_cast<int>(e.body.size()), &po, &jerr);
      const detail::JsPubAck owned(ack);
      if (s != NATS_OK) {
        error = subject + ": " + nats_status_text(s, jerr);
        return i;
      }
    }
    return events.size();
  }

  std::string idle() override {
    if (conn_.nc == nullptr || natsConnection_IsClosed(conn_.nc.get())) return "connection closed";
    return {};
  }

 private:
  const config::SinkConfig cfg_;
  detail::JetStream conn_;
};

}  // namespace

std::unique_ptr<SinkClient> make_nats_client(const config::SinkConfig& cfg) { return std::make_unique<NatsClient>(cfg); }

}  // namespace actiond::daemon
