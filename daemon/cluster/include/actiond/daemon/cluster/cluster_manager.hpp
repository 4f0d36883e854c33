#pragma once
// ClusterManager: this host's part of a cluster (docs/SCALING.md). One thread:
//   - holds an etcd lease (TTL lease_ttl_s, refreshed every third of it) with /<p>/hosts/<host>;
//   - owns cameras through /<p>/owners/<camera> = <host>, created only if absent and bound to the
//     lease, so a host that dies or is cut off loses them after the TTL;
//   - takes unowned cameras (config in /<p>/cameras/<camera>) while below its fair share
//     (ceil(cameras / live hosts)) and its capacity, least loaded hosts first;
//   - balances: a host with at least balance_margin cameras more than the least loaded host with
//     room asks that host to take one (/<p>/handoff/<camera> = <target>, bound to the target's
//     lease), then stops it (open segments end "handoff"), waits until its events are in the log,
//     records the release and deletes its owner key; a camera it took in the last 10 polls stays;
//   - fencing: when the lease may have expired (no refresh confirmed within the TTL, measured from
//     when the refresh was sent), it first stops every camera and ends every term, then rejoins with
//     a new lease; the log refuses a stale owner's writes anyway (cluster_log.hpp).
//
// Thread-safety: construct, start() and stop() from one thread; status() and lease_valid() from any.
#include "actiond/config/config.hpp"
#include "actiond/config/event_kinds.hpp"
#include "actiond/daemon/cluster/cluster_log.hpp"
#include "actiond/daemon/cluster/etcd.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace actiond::daemon::cluster {

// What the daemon does for the manager (called on the manager's thread).
struct ClusterHooks {
  // Start a camera this host now owns, continuing `from` (`from.takeover`: how it came here).
  std::function<void(const config::CameraConfig& camera, const LogState& from)> start;
  // Stop a camera, ending its open segments with `reason`; returns its last event seq.
  std::function<std::uint64_t(const std::string& camera, config::EndReason reason)> stop;
};

struct ClusterCounters {
  std::uint64_t acquired = 0, released = 0, handoffs_out = 0, leases_lost = 0, fenced = 0, etcd_failures = 0;
};

class ClusterManager {
 public:
  ClusterManager(const config::DaemonConfig& daemon, std::filesystem::path config_dir, ClusterHooks hooks);
  ~ClusterManager();  // stop()
  void start();
  // Releases every camera (segments end "shutdown", events flushed to the log) and the lease.
  void stop();
  bool lease_valid() const;
  nlohmann::json status() const;  // host, lease, owned cameras, counters
  ClusterCounters counters() const;
  std::size_t cameras() const;  // owned now
  ClusterLog& log() { return *log_; }
  std::uint64_t etcd_requests() const { return etcd_.requests(); }

  static std::string key(const config::ClusterSettings& c, const std::string& kind, const std::string& name = "") {
    return "/" + c.prefix + "/" + kind + "/" + name;
  }

 private:
  struct Owned {
    std::int64_t config_revision = 0;
    std::chrono::steady_clock::time_point since;
  };
  void run();
  void iterate();
  bool keep_lease();  // false: the lease is gone or in doubt (cameras dropped)
  void drop_all(const std::string& why);
  // Stops the camera, waits (until `flush_until`) for its events to reach the log, then lets it go.
  void release(const std::string& camera, config::EndReason reason, std::chrono::steady_clock::time_point flush_until);
  std::chrono::steady_clock::time_point flush_deadline() const;  // now + 2 x TTL
  void take(const std::string& camera, const std::string& config_json, std::int64_t revision, bool handoff);
  std::chrono::steady_clock::duration poll() const;
  std::vector<std::string> owned_ids() const;  // a copy: release() changes owned_ while callers iterate

  const config::DaemonConfig daemon_;
  const config::ClusterSettings cfg_;
  const std::filesystem::path config_dir_;
  ClusterHooks hooks_;
  EtcdClient etcd_;  // manager thread only
  std::unique_ptr<ClusterLog> log_;
  std::atomic<std::int64_t> lease_{0};  // written by the manager thread; status() reads it
  std::atomic<std::int64_t> lease_deadline_ns_{0};  // steady clock; 0: no lease
  std::chrono::steady_clock::time_point last_refresh_;
  std::chrono::steady_clock::time_point joined_;
  std::map<std::string, Owned> owned_;  // manager thread; copied into status under mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::set<std::string> fenced_;  // cameras the log refused (set by the log's thread)
  std::set<std::string> owned_view_;
  ClusterCounters counters_;
  std::thread thread_;
};

}  // namespace actiond::daemon::cluster
