// NATS JetStream sink (libnats): subjects <prefix>.<camera>.<type> in stream `stream` (created with
// subjects <prefix>.> when create_stream), each event published with Nats-Msg-Id = event_id, so the
// stream drops a redelivery within its duplicate window; acknowledged by the stream's PubAck.
#include "sinks/clients.hpp"

#include <nats/nats.h>

namespace actiond::daemon {

namespace {

std::string status_text(natsStatus s, jsErrCode jerr) {
  std::string out = natsStatus_GetText(s);
  if (jerr != 0) out += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && last[0] != 0 && out.find(last) == std::string::npos) out += ": " + std::string(last);
  return out;
}

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
    if (s != NATS_OK) return cfg_.url + ": " + status_text(s, static_cast<jsErrCode>(0));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = static_cast<int64_t>(cfg_.timeout_s * 1000);
    if ((s = natsConnection_JetStream(&js_, nc_, &jo)) != NATS_OK) return cfg_.url + ": JetStream: " + status_text(s, static_cast<jsErrCode>(0));
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsStreamInfo* si = nullptr;
    s = js_GetStreamInfo(&si, js_, cfg_.stream.c_str(), nullptr, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_NOT_FOUND && cfg_.create_stream) {
      const std::string subjects = cfg_.prefix + ".>";
      const char* list[] = {subjects.c_str()};
      jsStreamConfig sc;
      jsStreamConfig_Init(&sc);
      sc.Name = cfg_.stream.c_str();
      sc.Subjects = list;
      sc.SubjectsLen = 1;
      sc.Storage = js_FileStorage;
      jerr = static_cast<jsErrCode>(0);
      s = js_AddStream(&si, js_, &sc, nullptr, &jerr);
      jsStreamInfo_Destroy(si);
      if (s != NATS_OK) return "stream " + cfg_.stream + ": cannot create: " + status_text(s, jerr);
    } else if (s != NATS_OK) {
      return "stream " + cfg_.stream + ": " + status_text(s, jerr) + (s == NATS_NOT_FOUND ? " (set create_stream)" : "");
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
        error = subject + ": " + status_text(s, jerr);
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
