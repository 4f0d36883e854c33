#include "actiond/daemon/cluster/cluster_log.hpp"

#include "actiond/config/event_kinds.hpp"
#include "actiond/config/log.hpp"

#include "actiond/daemon/nats/jetstream.hpp"

#include <random>

namespace actiond::daemon::cluster {

using nlohmann::json;

namespace {

spdlog::logger& logger() { return config::module_log("cluster"); }


std::string header(natsMsg* msg, const char* key) {
  const char* v = nullptr;
  if (natsMsgHeader_Get(msg, key, &v) != NATS_OK || v == nullptr) return {};
  return v;
}

std::string now_iso() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

LogState state_of(natsMsg* msg) {
  LogState s;
  s.found = true;
  s.stream_seq = natsMsg_GetSequence(msg);
  const std::string seq = header(msg, "Actiond-Seq");
  const std::string epoch = header(msg, "Actiond-Epoch");
  const std::string pts = header(msg, "Actiond-Pts");
  s.seq = seq.empty() ? 0 : std::stoull(seq);
  s.epoch = epoch.empty() ? 0 : std::stoull(epoch);
  s.pts = pts.empty() ? 0.0 : std::stod(pts);
  s.time = header(msg, "Actiond-Time");
  s.host = header(msg, "Actiond-Host");
  s.kind = header(msg, "Actiond-Kind");
  if (s.kind.empty()) s.kind = "event";
  const std::string open = header(msg, "Actiond-Open");
  if (!open.empty()) s.open_segment_event = json::parse(open, nullptr, false);
  if (s.open_segment_event.is_discarded()) s.open_segment_event = nullptr;
  return s;
}

}  // namespace

struct ClusterLog::Nats : detail::JetStream {};

ClusterLog::ClusterLog(Options opt, LeaseValid lease_valid, Fenced fenced)
    : opt_(std::move(opt)), lease_valid_(std::move(lease_valid)), fenced_(std::move(fenced)), nats_(std::make_unique<Nats>()) {
  natsStatus s = NATS_OK;
  const detail::NatsOptions no = detail::nats_options(opt_.url, opt_.timeout_s, s);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(no.get(), -1);  // libnats reconnects for ever; publishes retry meanwhile
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(no.get(), 250);
  const auto wait_ms = static_cast<std::int64_t>(opt_.timeout_s * 1000);
  if (const std::string err = detail::connect_jetstream(*nats_, no, s, wait_ms, "cluster: NATS " + opt_.url); !err.empty()) {
    throw LogError(err);
  }
  if (const std::string err = detail::ensure_stream(nats_->js.get(), opt_.stream, opt_.prefix + ".events.>", true); !err.empty()) {
    throw LogError("cluster: JetStream " + err);
  }
  thread_ = std::thread([this] { run(); });
}

ClusterLog::~ClusterLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

LogState ClusterLog::last(const std::string& camera) {
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetLastMsg(&msg, nats_->js.get(), opt_.stream.c_str(), subject(camera).c_str(), nullptr, &jerr);
  const detail::NatsMsg owned(msg);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return LogState{};
  if (s != NATS_OK) throw LogError("cluster: " + subject(camera) + ": last message: " + detail::nats_status_text(s, jerr));
  return state_of(msg);
}

std::uint64_t ClusterLog::send(const std::string& camera, const std::string& body,
                               const std::map<std::string, std::string>& headers, std::uint64_t expected,
                               const std::string& msg_id, int* js_error) {
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject(camera).c_str(), nullptr, body.data(), static_cast<int>(body.size()));
  const detail::NatsMsg owned(msg);
  for (const auto& [k, v] : headers) {
    // An empty value would make libnats misread the headers after it: absent means empty.
    if (s == NATS_OK && !v.empty()) s = natsMsgHeader_Set(msg, k.c_str(), v.c_str());
  }
  const std::string exp = std::to_string(expected);
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Subject-Sequence", exp.c_str());
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str());
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.ExpectStream = opt_.stream.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (s == NATS_OK) s = js_PublishMsg(&ack, nats_->js.get(), msg, &po, &jerr);
  const detail::JsPubAck owned_ack(ack);
  *js_error = static_cast<int>(jerr);
  std::uint64_t seq = 0;
  if (s == NATS_OK && ack != nullptr) seq = ack->Sequence;
  if (s != NATS_OK && jerr != JSStreamWrongLastSequenceErr) {
    throw LogError(subject(camera) + ": " + detail::nats_status_text(s, jerr));
  }
  return seq;
}

LogState ClusterLog::begin_term(const std::string& camera, bool handoff) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 5; ++attempt) {
    LogState prev = last(camera);
    prev.takeover = handoff ? Takeover::handoff : (prev.found && prev.kind != "release" ? Takeover::failover : Takeover::start);
    const std::string reason = to_string(prev.takeover);
    const json record{{"type", "cluster.owner"}, {"camera", camera}, {"host", opt_.host}, {"reason", reason},
                      {"previous_host", prev.host}, {"last_seq", prev.seq}, {"at", now_iso()}};
    std::map<std::string, std::string> headers{{"Actiond-Kind", "owner"},
                                               {"Actiond-Host", opt_.host},
                                               {"Actiond-Seq", std::to_string(prev.seq)},
                                               {"Actiond-Epoch", std::to_string(prev.epoch)},
                                               {"Actiond-Pts", std::to_string(prev.pts)},
                                               {"Actiond-Time", prev.time}};
    if (!prev.open_segment_event.is_null()) headers["Actiond-Open"] = prev.open_segment_event.dump();
    char id[64];
    std::snprintf(id, sizeof(id), "owner-%016llx", static_cast<unsigned long long>(rng()));
    int jerr = 0;
    const std::uint64_t at = send(camera, record.dump(), headers, prev.stream_seq, id, &jerr);
    if (at == 0) continue;  // someone wrote between our read and our seal: read again
    LogState out = prev;
    out.stream_seq = at;
    {
      std::lock_guard lock(mu_);
      Term t;
      t.last_stream_seq = at;
      t.min_seq = prev.seq + 1;
      t.delivered = prev.seq;
      t.open = prev.open_segment_event;
      t.state = headers;
      terms_[camera] = std::move(t);
    }
    cv_.notify_all();
    return out;
  }
  throw LogError("cluster: " + subject(camera) + ": could not seal the subject (other writers kept writing)");
}

void ClusterLog::end_term(const std::string& camera) {
  std::lock_guard lock(mu_);
  terms_.erase(camera);
  cv_.notify_all();
}

void ClusterLog::release_term(const std::string& camera, const std::string& reason) {
  std::map<std::string, std::string> headers;
  std::uint64_t expected = 0;
  {
    std::lock_guard lock(mu_);
    const auto it = terms_.find(camera);
    if (it == terms_.end() || it->second.fenced) {
      terms_.erase(camera);
      return;
    }
    headers = it->second.state;
    expected = it->second.last_stream_seq;
    terms_.erase(it);
  }
  cv_.notify_all();
  headers["Actiond-Kind"] = "release";
  headers["Actiond-Host"] = opt_.host;
  const json record{{"type", "cluster.release"}, {"camera", camera}, {"host", opt_.host}, {"reason", reason},
                    {"last_seq", headers.count("Actiond-Seq") ? std::stoull(headers["Actiond-Seq"]) : 0ull}, {"at", now_iso()}};
  int jerr = 0;
  if (send(camera, record.dump(), headers, expected, "release-" + opt_.host + "-" + std::to_string(expected), &jerr) == 0) {
    throw LogError("cluster: " + subject(camera) + ": release refused: another host wrote since stream sequence " +
                   std::to_string(expected));
  }
}

bool ClusterLog::wait_delivered(const std::string& camera, std::uint64_t seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    const auto it = terms_.find(camera);
    return it == terms_.end() || it->second.fenced || it->second.delivered >= seq;
  });
}

void ClusterLog::push(const std::string& camera, std::uint64_t seq, const std::string& body) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= opt_.max_queued) {
      queue_.pop_front();
      ++counters_.dropped_queue_full;
    }
    queue_.push_back(Item{camera, seq, body});
  }
  cv_.notify_all();
}

LogCounters ClusterLog::counters() const {
  std::lock_guard lock(mu_);
  LogCounters c = counters_;
  c.queued = queue_.size();
  return c;
}

bool ClusterLog::publish(Item& item) {
  const json ev = json::parse(item.body, nullptr, false);
  if (ev.is_discarded()) return true;  // never happens: the loop builds every body
  const auto type = config::event_type_of(ev);
  json open;
  std::uint64_t expected = 0;
  {
    std::lock_guard lock(mu_);
    const auto it = terms_.find(item.camera);
    if (it == terms_.end()) return true;
    open = it->second.open;
    expected = it->second.last_stream_seq;
  }
  if (type == config::EventType::segment_start || type == config::EventType::segment_update) {
    open = ev;
  } else if (type == config::EventType::segment_end && open.is_object() &&
             open.value("segment", json::object()).value("id", "") == ev.value("segment", json::object()).value("id", "?")) {
    open = nullptr;
  }
  std::map<std::string, std::string> headers{{"Actiond-Host", opt_.host},
                                             {"Actiond-Seq", std::to_string(item.seq)},
                                             {"Actiond-Epoch", std::to_string(ev.value("epoch", 0ull))},
                                             {"Actiond-Pts", std::to_string(ev.value("pts", 0.0))},
                                             {"Actiond-Time", ev.contains("time") && ev["time"].is_string()
                                                                  ? ev["time"].get<std::string>()
                                                                  : ev.value("emitted_at", "")}};
  if (open.is_object()) headers["Actiond-Open"] = open.dump();
  int jerr = 0;
  const std::uint64_t at = send(item.camera, item.body, headers, expected, ev.value("event_id", item.camera + "-" + std::to_string(item.seq)), &jerr);
  std::string why;
  {
    std::lock_guard lock(mu_);
    const auto it = terms_.find(item.camera);
    if (it == terms_.end()) return true;
    if (at == 0) {
      it->second.fenced = true;
      ++counters_.fenced;
      why = "JetStream refused seq " + std::to_string(item.seq) + ": another host wrote to " + subject(item.camera) +
            " since stream sequence " + std::to_string(expected);
    } else {
      it->second.last_stream_seq = at;
      it->second.open = open;
      it->second.state = headers;
      it->second.delivered = item.seq;
      ++counters_.published;
    }
  }
  if (!why.empty()) {
    logger().error("camera {}: {}: this host no longer owns it", item.camera, why);
    if (fenced_) fenced_(item.camera, why);
  }
  return true;
}

void ClusterLog::run() {
  double backoff = 0.1;
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      item = queue_.front();
      const auto it = terms_.find(item.camera);
      if (it == terms_.end() || it->second.fenced || item.seq < it->second.min_seq) {
        queue_.pop_front();
        ++counters_.stale;
        if (it != terms_.end() && it->second.delivered < item.seq) it->second.delivered = item.seq;
        cv_.notify_all();
        continue;
      }
    }
    if (lease_valid_ && !lease_valid_()) {  // in doubt: publish nothing until the manager decides
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_; });
      continue;
    }
    try {
      publish(item);
      backoff = 0.1;
      std::lock_guard lock(mu_);
      if (!queue_.empty() && queue_.front().camera == item.camera && queue_.front().seq == item.seq) queue_.pop_front();
      cv_.notify_all();
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu_);
        ++counters_.failures;
      }
      logger().warn("cluster log: {} (retrying in {:.1f} s)", e.what(), backoff);
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::duration<double>(backoff), [&] { return stop_; });
      backoff = std::min(backoff * 2, 2.0);
    }
  }
}

std::vector<json> ClusterLog::read_all(const std::string& camera) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, nats_->js.get(), opt_.stream.c_str(), nullptr, &jerr);
  const detail::JsStreamInfo info(si);
  if (s != NATS_OK) throw LogError("cluster: JetStream stream " + opt_.stream + ": " + detail::nats_status_text(s, jerr));
  const std::uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
  std::vector<json> out;
  for (std::uint64_t n = first; n <= last && n > 0; ++n) {
    natsMsg* msg = nullptr;
    jerr = static_cast<jsErrCode>(0);
    s = js_GetMsg(&msg, nats_->js.get(), opt_.stream.c_str(), n, nullptr, &jerr);
    const detail::NatsMsg owned(msg);
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;  // deleted
    if (s != NATS_OK) throw LogError("cluster: stream " + opt_.stream + " message " + std::to_string(n) + ": " + detail::nats_status_text(s, jerr));
    const std::string subj = natsMsg_GetSubject(msg);
    if (camera.empty() || subj == subject(camera)) {
      const char* data = natsMsg_GetData(msg);
      json body = json::parse(std::string(data == nullptr ? "" : data, static_cast<std::size_t>(natsMsg_GetDataLength(msg))),
                              nullptr, false);
      out.push_back({{"stream_seq", n}, {"subject", subj}, {"host", header(msg, "Actiond-Host")},
                     {"kind", header(msg, "Actiond-Kind").empty() ? "event" : header(msg, "Actiond-Kind")},
                     {"body", body.is_discarded() ? json(nullptr) : body}});
    }
  }
  return out;
}

}  // namespace actiond::daemon::cluster
