// Kafka sink (librdkafka): one topic, key = camera (one partition per camera keeps its order),
// headers event_id and seq, an idempotent producer (acks=all) that lives as long as the sink: it
// retries inside librdkafka without duplicates, so the client never produces an event twice: after
// a timeout it waits for the delivery reports of what it already produced instead.
#include "clients.hpp"

#include "actiond/config/c_handle.hpp"
#include "actiond/config/log.hpp"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>

namespace actiond::daemon {

namespace {

struct Key {
  std::string camera;
  std::uint64_t seq;
};

// The producer: what the broker has not taken after a short flush is purged (the journal cursor
// never moved past it, so the next start sends it again); purging reports each message, which frees its key.
void close_producer(rd_kafka_t* rk) {
  rd_kafka_flush(rk, 2000);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(rk, 500);
  rd_kafka_destroy(rk);
}
using Producer = config::CHandle<rd_kafka_t, close_producer>;
using Conf = config::CHandle<rd_kafka_conf_t, rd_kafka_conf_destroy>;
using Headers = config::CHandle<rd_kafka_headers_t, rd_kafka_headers_destroy>;
using Metadata = config::CHandle<const rd_kafka_metadata_t, rd_kafka_metadata_destroy>;

class KafkaClient final : public SinkClient {
 public:
  explicit KafkaClient(config::SinkConfig cfg) : cfg_(std::move(cfg)) {}

  std::string connect() override {
    if (rk_ == nullptr) {
      if (std::string err = create(); !err.empty()) return err;
    }
    const struct rd_kafka_metadata* md = nullptr;  // is a broker there?
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 0, nullptr, &md, static_cast<int>(cfg_.timeout_s * 1000));
    const Metadata owned(md);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return cfg_.brokers + ": " + rd_kafka_err2str(err);
    return {};
  }

  void disconnect() override {}  // the producer stays: what it holds in flight is delivered, once

  std::size_t deliver(const std::vector<SinkEvent>& events, std::string& error) override {
    const std::string& camera = events.front().camera;
    std::uint64_t& produced = produced_[camera];
    for (const auto& e : events) {
      if (e.seq <= produced) continue;  // in flight from an earlier call
      Headers h(rd_kafka_headers_new(2));
      rd_kafka_header_add(h.get(), "event_id", -1, e.event_id.data(), static_cast<ssize_t>(e.event_id.size()));
      const std::string seq = std::to_string(e.seq);
      rd_kafka_header_add(h.get(), "seq", -1, seq.data(), static_cast<ssize_t>(seq.size()));
      auto key = std::make_unique<Key>(Key{camera, e.seq});
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_.get(), RD_KAFKA_V_TOPIC(cfg_.topic.c_str()), RD_KAFKA_V_KEY(camera.data(), camera.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(e.body.data()), e.body.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADERS(h.get()), RD_KAFKA_V_OPAQUE(key.get()), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = std::string("produce: ") + rd_kafka_err2str(err);
        break;
      }
      // Produced: the message owns its headers, and its delivery report frees the key.
      h.release();
      key.release();
      produced = e.seq;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(cfg_.timeout_s * 1000));
    std::size_t n = 0;
    for (;;) {
      while (n < events.size()) {
        const auto it = reports_.find({camera, events[n].seq});
        if (it == reports_.end()) break;
        if (it->second != RD_KAFKA_RESP_ERR_NO_ERROR) {  // failed for good: produce it (and what follows) again
          error = std::string("delivery: ") + rd_kafka_err2str(it->second);
          produced = events[n].seq - 1;
          reports_.erase(it);
          return n;
        }
        reports_.erase(it);
        ++n;
      }
      if (n == events.size() || events[n].seq > produced || std::chrono::steady_clock::now() >= deadline) break;
      rd_kafka_poll(rk_.get(), 50);
    }
    if (n < events.size() && error.empty()) error = "no delivery report within timeout_s";
    return n;
  }

  std::string idle() override {
    rd_kafka_poll(rk_.get(), 0);
    return {};
  }

 private:
  std::string create() {
    char err[512];
    Conf conf(rd_kafka_conf_new());
    std::map<std::string, std::string> props = {{"bootstrap.servers", cfg_.brokers},
                                                {"enable.idempotence", "true"},
                                                {"acks", "all"},
                                                {"message.timeout.ms", "0"},  // retry until delivered
                                                {"linger.ms", "5"},
                                                {"client.id", "actiond-" + cfg_.name}};
    for (const auto& [k, v] : cfg_.properties) props[k] = v;
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        return "property " + k + ": " + err;
      }
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    // librdkafka's own log (broker connects and disconnects) at debug level: the sink reports failures.
    rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t*, int, const char* fac, const char* buf) {
      config::module_log("sinks").debug("kafka {}: {}", fac, buf);
    });
    rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void* self) {
      const std::unique_ptr<Key> key(static_cast<Key*>(m->_private));
      static_cast<KafkaClient*>(self)->reports_[{key->camera, key->seq}] = m->err;
    });
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err)));
    if (rk_ == nullptr) return std::string("producer: ") + err;
    conf.release();  // rd_kafka_new took it (it does only when it succeeds)
    return {};
  }

  const config::SinkConfig cfg_;
  std::map<std::string, std::uint64_t> produced_;  // camera -> highest seq handed to the producer
  std::map<std::pair<std::string, std::uint64_t>, rd_kafka_resp_err_t> reports_;
  Producer rk_;  // last: its close reports to reports_, which must still be there
};

}  // namespace

std::unique_ptr<SinkClient> make_kafka_client(const config::SinkConfig& cfg) { return std::make_unique<KafkaClient>(cfg); }

}  // namespace actiond::daemon
