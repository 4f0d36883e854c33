#include "actiond/daemon/cluster/cluster_manager.hpp"

#include "actiond/config/log.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace actiond::daemon::cluster {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

spdlog::logger& logger() { return config::module_log("cluster"); }

constexpr auto kSafety = std::chrono::milliseconds(250);  // a lease counts as lost this long before its TTL ends

std::int64_t ns(Clock::time_point t) { return t.time_since_epoch().count(); }

// The last path element of an etcd key.
std::string leaf(const std::string& key) { return key.substr(key.rfind('/') + 1); }

}  // namespace

ClusterManager::ClusterManager(const config::DaemonConfig& daemon, std::filesystem::path config_dir, ClusterHooks hooks)
    : daemon_(daemon), cfg_(daemon.cluster), config_dir_(std::move(config_dir)), hooks_(std::move(hooks)),
      etcd_(cfg_.etcd, cfg_.timeout_s) {
  ClusterLog::Options o;
  o.url = cfg_.nats;
  o.stream = cfg_.stream;
  o.prefix = cfg_.prefix;
  o.host = cfg_.host;
  o.timeout_s = cfg_.timeout_s;
  log_ = std::make_unique<ClusterLog>(
      o, [this] { return lease_valid(); },
      [this](const std::string& camera, const std::string&) {
        std::lock_guard lock(mu_);
        fenced_.insert(camera);
        cv_.notify_all();
      });
}

ClusterManager::~ClusterManager() { stop(); }

void ClusterManager::start() { thread_ = std::thread([this] { run(); }); }

void ClusterManager::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ClusterManager::lease_valid() const {
  const std::int64_t deadline = lease_deadline_ns_.load();
  return deadline != 0 && ns(Clock::now()) < deadline;
}

ClusterCounters ClusterManager::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

std::vector<std::string> ClusterManager::owned_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, o] : owned_) ids.push_back(id);
  return ids;
}

std::size_t ClusterManager::cameras() const {
  std::lock_guard lock(mu_);
  return owned_view_.size();
}

json ClusterManager::status() const {
  std::lock_guard lock(mu_);
  const auto c = log_->counters();
  return {{"host", cfg_.host},
          {"capacity", cfg_.capacity},
          {"lease", std::to_string(lease_.load())},
          {"lease_valid", lease_valid()},
          {"cameras", owned_view_},
          {"acquired", counters_.acquired},
          {"released", counters_.released},
          {"handoffs_out", counters_.handoffs_out},
          {"leases_lost", counters_.leases_lost},
          {"fenced", counters_.fenced},
          {"etcd_failures", counters_.etcd_failures},
          {"etcd_requests", etcd_.requests()},
          {"log", {{"published", c.published}, {"fenced", c.fenced}, {"stale", c.stale}, {"queued", c.queued},
                   {"dropped_queue_full", c.dropped_queue_full}, {"failures", c.failures}}}};
}

std::chrono::steady_clock::duration ClusterManager::poll() const {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);  // hosts do not decide in lock step
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg_.poll_s * jitter(rng)));
}

void ClusterManager::run() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    try {
      iterate();
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu_);
        ++counters_.etcd_failures;
      }
      logger().warn("cluster: {}", e.what());
      if (lease_ != 0 && !lease_valid()) drop_all(std::string("lease in doubt: ") + e.what());
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, poll(), [&] { return stop_ || !fenced_.empty(); });
    if (stop_) break;
  }
  // Shutdown: hand every camera back cleanly (within one flush budget), then the lease.
  const auto until = flush_deadline();
  for (const auto& id : owned_ids()) {
    try {
      release(id, config::EndReason::shutdown, until);
    } catch (const std::exception& e) {
      logger().warn("cluster: camera {}: release at shutdown: {}", id, e.what());
    }
  }
  if (lease_ != 0) {
    try {
      etcd_.revoke(lease_);
    } catch (const std::exception& e) {
      logger().warn("cluster: revoking the lease: {}", e.what());
    }
  }
  lease_deadline_ns_ = 0;
}

void ClusterManager::drop_all(const std::string& why) {
  if (!owned_.empty()) logger().error("cluster: {}: stopping {} camera(s) at once", why, owned_.size());
  for (const auto& [id, o] : owned_) {
    log_->end_term(id);  // first: nothing of theirs reaches the log any more
    hooks_.stop(id, config::EndReason::source_lost);
  }
  owned_.clear();
  lease_ = 0;
  lease_deadline_ns_ = 0;
  std::lock_guard lock(mu_);
  ++counters_.leases_lost;
  owned_view_.clear();
}

bool ClusterManager::keep_lease() {
  const auto ttl = std::chrono::duration<double>(std::ceil(cfg_.lease_ttl_s));
  if (lease_ != 0 && !lease_valid()) {
    const std::int64_t old = lease_;
    drop_all("lease expired (no refresh confirmed within its TTL)");
    try {  // if etcd still has it, its cameras are free at once rather than at its expiry
      etcd_.revoke(old);
    } catch (const std::exception&) {
    }
  }
  const auto sent = Clock::now();
  if (lease_ == 0) {
    lease_ = etcd_.grant(static_cast<int>(ttl.count()));
    lease_deadline_ns_ = ns(sent + std::chrono::duration_cast<Clock::duration>(ttl) - kSafety);
    last_refresh_ = sent;
    etcd_.put(key(cfg_, "hosts", cfg_.host),
              json{{"host", cfg_.host}, {"capacity", cfg_.capacity}, {"lease", std::to_string(lease_)}}.dump(), lease_);
    joined_ = sent;
    logger().info("cluster: host {} joined with lease {:x} (TTL {} s)", cfg_.host, lease_.load(), ttl.count());
    return true;
  }
  if (sent - last_refresh_ >= std::chrono::duration_cast<Clock::duration>(ttl / 3)) {
    const int left = etcd_.keepalive(lease_);
    if (left <= 0) {
      drop_all("lease lost (etcd no longer knows it)");
      return false;
    }
    lease_deadline_ns_ = ns(sent + std::chrono::seconds(left) - kSafety);
    last_refresh_ = sent;
  }
  return true;
}

Clock::time_point ClusterManager::flush_deadline() const {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg_.lease_ttl_s * 2));
}

void ClusterManager::release(const std::string& camera, config::EndReason reason, Clock::time_point flush_until) {
  const std::uint64_t last = hooks_.stop(camera, reason);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(flush_until - Clock::now());
  if (!log_->wait_delivered(camera, last, std::max(left, std::chrono::milliseconds(0)))) {
    logger().warn("cluster: camera {}: events up to seq {} not all in the log in time; released anyway", camera, last);
  }
  try {
    log_->release_term(camera, std::string(config::to_string(reason)));
  } catch (const std::exception& e) {
    logger().warn("{}", e.what());
  }
  etcd_.remove_if(key(cfg_, "owners", camera), cfg_.host);
  owned_.erase(camera);
  std::lock_guard lock(mu_);
  ++counters_.released;
  owned_view_.erase(camera);
}

void ClusterManager::take(const std::string& camera, const std::string& config_json, std::int64_t revision, bool handoff) {
  const std::string where = "etcd " + key(cfg_, "cameras", camera);
  config::CameraConfig cam;
  try {
    cam = config::parse_camera_config(config::read_json_text(config_json, where), where, daemon_, config_dir_);
    if (cam.id != camera) throw config::ConfigError(where + ": /id: \"" + cam.id + "\" differs from the key's camera id");
  } catch (const std::exception& e) {
    logger().error("cluster: camera {} not taken: {}", camera, e.what());
    return;
  }
  if (!etcd_.create(key(cfg_, "owners", camera), cfg_.host, lease_)) return;  // another host was faster
  LogState from;
  try {
    from = log_->begin_term(camera, handoff);
  } catch (const std::exception&) {
    etcd_.remove_if(key(cfg_, "owners", camera), cfg_.host);
    throw;
  }
  logger().info("cluster: camera {}: taken ({}{}), continuing after seq {}", camera, to_string(from.takeover),
                from.host.empty() ? "" : ", previously on " + from.host, from.seq);
  try {
    hooks_.start(cam, from);
  } catch (const std::exception& e) {  // never hold a camera that does not run
    logger().error("cluster: camera {}: cannot start it: {}; letting it go", camera, e.what());
    log_->end_term(camera);
    etcd_.remove_if(key(cfg_, "owners", camera), cfg_.host);
    return;
  }
  owned_[camera] = Owned{revision, Clock::now()};
  if (handoff) etcd_.remove_if(key(cfg_, "handoff", camera), cfg_.host);
  std::lock_guard lock(mu_);
  ++counters_.acquired;
  owned_view_.insert(camera);
}

void ClusterManager::iterate() {
  if (!keep_lease()) return;
  std::set<std::string> fenced;
  {
    std::lock_guard lock(mu_);
    fenced.swap(fenced_);
  }
  for (const auto& id : fenced) {
    if (owned_.count(id) == 0) continue;
    log_->end_term(id);
    hooks_.stop(id, config::EndReason::source_lost);
    owned_.erase(id);
    etcd_.remove_if(key(cfg_, "owners", id), cfg_.host);
    std::lock_guard lock(mu_);
    ++counters_.fenced;
    owned_view_.erase(id);
  }
  std::map<std::string, std::string> owners, handoffs;
  std::map<std::string, std::pair<int, std::int64_t>> hosts;  // name -> capacity, lease
  std::map<std::string, std::int64_t> cameras;                // id -> config revision
  for (const auto& kv : etcd_.range(key(cfg_, "owners"))) owners[leaf(kv.key)] = kv.value;
  for (const auto& kv : etcd_.range(key(cfg_, "handoff"))) handoffs[leaf(kv.key)] = kv.value;
  for (const auto& kv : etcd_.range(key(cfg_, "hosts"))) {
    const json h = json::parse(kv.value, nullptr, false);
    hosts[leaf(kv.key)] = {h.is_object() ? h.value("capacity", 0) : 0, kv.lease};
  }
  for (const auto& kv : etcd_.range(key(cfg_, "cameras"), true)) cameras[leaf(kv.key)] = kv.mod_revision;

  // What this host runs against what etcd says.
  for (const auto& id : owned_ids()) {
    const auto owner = owners.find(id);
    if (owner == owners.end() || owner->second != cfg_.host) {
      logger().error("cluster: camera {}: etcd no longer names this host its owner; stopping it", id);
      log_->end_term(id);
      hooks_.stop(id, config::EndReason::source_lost);
      owned_.erase(id);
      std::lock_guard lock(mu_);
      owned_view_.erase(id);
      continue;
    }
    const auto cam = cameras.find(id);
    const auto handoff = handoffs.find(id);
    if (cam == cameras.end()) {
      logger().info("cluster: camera {}: removed from etcd; stopping it", id);
      release(id, config::EndReason::reconfigured, flush_deadline());
    } else if (handoff != handoffs.end() && handoff->second != cfg_.host && hosts.count(handoff->second) != 0) {
      logger().info("cluster: camera {}: handing it to {}", id, handoff->second);
      release(id, config::EndReason::handoff, flush_deadline());
      owners.erase(id);
      std::lock_guard lock(mu_);
      ++counters_.handoffs_out;
    } else if (cam->second != owned_[id].config_revision) {
      const auto kv = etcd_.get(key(cfg_, "cameras", id));
      if (!kv) continue;
      logger().info("cluster: camera {}: its configuration changed; restarting it", id);
      release(id, config::EndReason::reconfigured, flush_deadline());
      owners.erase(id);
    }
  }

  // Loads: cameras owned, plus hand-offs on their way to a host.
  std::map<std::string, int> load;
  for (const auto& [h, c] : hosts) load[h] = 0;
  for (const auto& [id, h] : owners) ++load[h];
  for (const auto& [id, h] : handoffs) {
    if (owners.count(id) == 0 || owners[id] != h) ++load[h];
  }
  load[cfg_.host] = static_cast<int>(owned_.size());
  const int live = std::max<int>(1, static_cast<int>(hosts.size()));
  const int fair = static_cast<int>((cameras.size() + static_cast<std::size_t>(live) - 1) / static_cast<std::size_t>(live));
  const bool settled = Clock::now() - joined_ >= 2 * std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg_.poll_s));
  auto room = [&](const std::string& h) { return hosts.count(h) != 0 && load[h] < hosts[h].first; };

  for (const auto& [id, revision] : cameras) {
    if (owners.count(id) != 0 || owned_.count(id) != 0) continue;
    const auto h = handoffs.find(id);
    const bool for_me = h != handoffs.end() && h->second == cfg_.host;
    if (h != handoffs.end() && !for_me && hosts.count(h->second) != 0) continue;  // promised to another live host
    if (static_cast<int>(owned_.size()) >= cfg_.capacity) break;
    if (!for_me) {
      if (!settled) break;
      const int mine = static_cast<int>(owned_.size());
      bool someone_lower = false;  // least loaded first: a host with fewer cameras and room takes it
      for (const auto& [other, c] : hosts) someone_lower = someone_lower || (other != cfg_.host && room(other) && load[other] < mine);
      bool others_have_room = false;
      for (const auto& [other, c] : hosts) others_have_room = others_have_room || (other != cfg_.host && room(other));
      if (someone_lower || (mine >= fair && others_have_room)) break;
    }
    const auto kv = etcd_.get(key(cfg_, "cameras", id));
    if (!kv) continue;
    take(id, kv->value, kv->mod_revision, for_me);
    if (owned_.count(id) != 0) load[cfg_.host] = static_cast<int>(owned_.size());
  }

  // Balance: one camera at a time, to the least loaded host with room, when loads differ enough.
  if (!settled) return;
  for (const auto& [id, h] : handoffs) {
    if (owned_.count(id) != 0) return;  // one of ours is already on its way
  }
  std::string target;
  for (const auto& [h, c] : hosts) {
    if (h != cfg_.host && room(h) && (target.empty() || load[h] < load[target])) target = h;
  }
  if (target.empty() || static_cast<int>(owned_.size()) - load[target] < cfg_.balance_margin) return;
  const auto min_stay = 10 * std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg_.poll_s));
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) {
    if (Clock::now() - it->second.since < min_stay) continue;
    const std::string id = it->first;
    if (!etcd_.create(key(cfg_, "handoff", id), target, hosts[target].second)) return;
    logger().info("cluster: camera {}: handing it to {} ({} cameras here, {} there)", id, target, owned_.size(), load[target]);
    release(id, config::EndReason::handoff, flush_deadline());
    std::lock_guard lock(mu_);
    ++counters_.handoffs_out;
    return;
  }
}

}  // namespace actiond::daemon::cluster
