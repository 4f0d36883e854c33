// Redis Streams sink (hiredis): XADD <prefix>:<camera> [MAXLEN ~ n] * seq S event_id ID type T event JSON.
// Exactly once per camera: before sending after a (re)connect it reads the stream's newest entry and
// skips what is already there (events go in seq order on one connection).
#include "clients.hpp"

#include "actiond/config/c_handle.hpp"

#include <hiredis/hiredis.h>

#include <map>

namespace actiond::daemon {

namespace {

using Reply = config::CHandle<redisReply, freeReplyObject>;

class RedisClient final : public SinkClient {
 public:
  explicit RedisClient(config::SinkConfig cfg) : cfg_(std::move(cfg)) {}
  ~RedisClient() override { disconnect(); }

  std::string connect() override {
    disconnect();
    last_.clear();
    const auto t = timeval{static_cast<long>(cfg_.timeout_s), static_cast<long>((cfg_.timeout_s - static_cast<long>(cfg_.timeout_s)) * 1e6)};
    ctx_.reset(redisConnectWithTimeout(cfg_.host.c_str(), cfg_.port, t));
    const std::string where = cfg_.host + ":" + std::to_string(cfg_.port);
    if (ctx_ == nullptr) return where + ": cannot allocate a context";
    if (ctx_->err != 0) return where + ": " + ctx_->errstr;
    redisSetTimeout(ctx_.get(), t);
    if (!cfg_.password.empty()) {
      if (auto err = simple(Reply(static_cast<redisReply*>(redisCommand(ctx_.get(), "AUTH %s", cfg_.password.c_str())))); !err.empty()) {
        return where + ": AUTH: " + err;
      }
    }
    if (cfg_.db != 0) {
      if (auto err = simple(Reply(static_cast<redisReply*>(redisCommand(ctx_.get(), "SELECT %d", cfg_.db)))); !err.empty()) {
        return where + ": SELECT: " + err;
      }
    }
    return {};
  }

  void disconnect() override {
    ctx_.reset();
  }

  std::size_t deliver(const std::vector<SinkEvent>& events, std::string& error) override {
    const std::string key = cfg_.prefix + ":" + events.front().camera;
    auto last = last_.find(key);
    if (last == last_.end()) {  // what the stream already holds (after a crash or a lost reply)
      std::uint64_t seq = 0;
      if (!newest_seq(key, seq, error)) return 0;
      last = last_.emplace(key, seq).first;
    }
    // Events go in seq order, so those already in the stream are a prefix.
    std::size_t done = 0;
    while (done < events.size() && events[done].seq <= last->second) ++done;
    for (std::size_t i = done; i < events.size(); ++i) {
      const auto& e = events[i];
      const std::string seq = std::to_string(e.seq);
      if (cfg_.maxlen > 0) {
        const std::string maxlen = std::to_string(cfg_.maxlen);
        redisAppendCommand(ctx_.get(), "XADD %s MAXLEN ~ %s * seq %s event_id %s type %s event %b", key.c_str(), maxlen.c_str(),
                           seq.c_str(), e.event_id.c_str(), e.type.c_str(), e.body.data(), e.body.size());
      } else {
        redisAppendCommand(ctx_.get(), "XADD %s * seq %s event_id %s type %s event %b", key.c_str(), seq.c_str(),
                           e.event_id.c_str(), e.type.c_str(), e.body.data(), e.body.size());
      }
    }
    for (std::size_t i = done; i < events.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK) {
        error = "XADD " + key + ": " + (ctx_->errstr[0] != 0 ? std::string(ctx_->errstr) : std::string("no reply"));
        return done;
      }
      Reply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ERROR) {
        error = "XADD " + key + ": " + std::string(r->str, r->len);
        return done;
      }
      last->second = events[i].seq;
      done = i + 1;
    }
    return done;
  }

 private:
  static std::string simple(const Reply& r) {
    if (!r) return "no reply";
    if (r->type == REDIS_REPLY_ERROR) return r->str;
    return {};
  }

  // The seq field of the stream's newest entry (0 when the stream is empty or absent).
  bool newest_seq(const std::string& key, std::uint64_t& seq, std::string& error) {
    Reply r(static_cast<redisReply*>(redisCommand(ctx_.get(), "XREVRANGE %s + - COUNT 1", key.c_str())));
    if (!r || r->type == REDIS_REPLY_ERROR) {
      error = "XREVRANGE " + key + ": " + (r ? std::string(r->str) : std::string(ctx_->errstr));
      return false;
    }
    seq = 0;
    auto text = [](const redisReply* e) {
      return e != nullptr && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) ? std::string(e->str, e->len)
                                                                                            : std::string();
    };
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
      const redisReply* fields = r->element[0]->element[1];
      for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (text(fields->element[i]) != "seq") continue;
        const std::string v = text(fields->element[i + 1]);
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
          error = key + ": the newest entry's seq is \"" + v + "\", not a number: is another writer using this stream?";
          return false;
        }
        seq = std::stoull(v);
      }
    }
    return true;
  }

  const config::SinkConfig cfg_;
  config::CHandle<redisContext, redisFree> ctx_;
  std::map<std::string, std::uint64_t> last_;  // key -> newest seq in the stream
};

}  // namespace

std::unique_ptr<SinkClient> make_redis_client(const config::SinkConfig& cfg) { return std::make_unique<RedisClient>(cfg); }

}  // namespace actiond::daemon
