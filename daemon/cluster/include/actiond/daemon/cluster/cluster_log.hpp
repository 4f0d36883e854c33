#pragma once
// ClusterLog: the cluster's event log on NATS JetStream. Each camera's events go to subject
// <prefix>.events.<camera> of stream <stream>, in seq order, from one thread. Every publish names
// the stream sequence of the subject's previous message (Nats-Expected-Last-Subject-Sequence): a host
// whose view is stale because another host wrote since is refused by the server (fencing), and stops.
//
// A host's term on a camera starts with begin_term(): it reads the subject's last message and seals
// the subject with an owner record (`{"type": "cluster.owner", ...}`, no seq) published against it,
// so a previous owner that wakes up can no longer write. Every message carries headers with the
// camera's state after it: Actiond-Host, Actiond-Seq, Actiond-Epoch, Actiond-Pts, Actiond-Time and,
// while a segment is open, Actiond-Open (its latest segment.start/update event): a new owner
// continues seq and ends that segment from the last message alone.
//
// Delivery: push() queues (bounded: `max_queued` events; beyond it the oldest are dropped and
// counted); while JetStream is unreachable the thread retries the same event (with Nats-Msg-Id =
// event_id, so a retry after a lost acknowledgement is not stored twice); while the host's lease is
// in doubt (`lease_valid` false) nothing is published. Events of a camera without a term (never
// begun, ended, or fenced) are dropped and counted as stale.
//
// Thread-safety: push() from the publisher thread; begin_term/end_term/wait_delivered from the
// cluster manager thread; counters() from any thread. Callbacks run on the log's thread.
#include "actiond/config/enum_names.hpp"
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace actiond::daemon::cluster {

struct LogError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A camera's state as its last message in the log left it.
// How a host came to own a camera: the first owner, after a clean hand-over, or after its previous
// owner died (no release in the log).
enum class Takeover { start, handoff, failover };
inline constexpr config::EnumNames<Takeover, 3> kTakeoverNames{
    {{Takeover::start, "start"}, {Takeover::handoff, "handoff"}, {Takeover::failover, "failover"}}};
inline std::string to_string(Takeover t) { return std::string(config::name_of(kTakeoverNames, t)); }

struct LogState {
  bool found = false;            // the subject has messages
  std::uint64_t stream_seq = 0;  // of that message
  std::uint64_t seq = 0;         // the camera's last event seq
  std::uint64_t epoch = 0;
  double pts = 0.0;
  std::string time;
  std::string host;               // who wrote it
  std::string kind;               // "event", "owner" (a term began) or "release" (a term ended cleanly)
  Takeover takeover = Takeover::start;  // begin_term()'s
  nlohmann::json open_segment_event;  // null: no segment open
};

struct LogCounters {
  std::uint64_t published = 0;
  std::uint64_t fenced = 0;        // refused: another host wrote since
  std::uint64_t stale = 0;         // events of a camera this host does not own (any more)
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t failures = 0;      // failed publishes (retried)
  std::uint64_t queued = 0;
};

class ClusterLog {
 public:
  struct Options {
    std::string url;     // nats://HOST:PORT
    std::string stream;
    std::string prefix;
    std::string host;
    double timeout_s = 2.0;
    std::size_t max_queued = 100000;
  };
  using LeaseValid = std::function<bool()>;
  using Fenced = std::function<void(const std::string& camera, const std::string& why)>;

  // Connects and creates the stream (subjects <prefix>.events.>) when missing; throws LogError.
  ClusterLog(Options opt, LeaseValid lease_valid, Fenced fenced);
  ~ClusterLog();
  ClusterLog(const ClusterLog&) = delete;
  ClusterLog& operator=(const ClusterLog&) = delete;

  std::string subject(const std::string& camera) const { return opt_.prefix + ".events." + camera; }
  // Reads the camera's last message and seals the subject; events with seq > state.seq are then
  // published. `handoff`: the previous owner handed it to this host. Throws LogError.
  LogState begin_term(const std::string& camera, bool handoff);
  void end_term(const std::string& camera);
  // Ends the term cleanly: a release record (`cluster.release`, `reason`) carrying the camera's state,
  // so the next owner knows no host died holding it. Throws LogError (the term is ended anyway).
  void release_term(const std::string& camera, const std::string& reason);
  // True once every event of `camera` up to `seq` is in the log (or dropped), within `timeout`.
  bool wait_delivered(const std::string& camera, std::uint64_t seq, std::chrono::milliseconds timeout);
  void push(const std::string& camera, std::uint64_t seq, const std::string& body);
  LogCounters counters() const;

  // Tools: the camera's last message, and every message of the stream (or of one camera) in order.
  LogState last(const std::string& camera);
  std::vector<nlohmann::json> read_all(const std::string& camera);  // {"stream_seq", "subject", "host", "body"}

 private:
  struct Item {
    std::string camera;
    std::uint64_t seq = 0;
    std::string body;
  };
  struct Term {
    std::uint64_t last_stream_seq = 0;
    std::uint64_t min_seq = 1;       // events before it belong to an earlier term
    std::uint64_t delivered = 0;     // last seq handled
    nlohmann::json open;             // the open segment's latest event
    std::map<std::string, std::string> state;  // the state headers of the last message
    bool fenced = false;
  };
  void run();
  bool publish(Item& item);  // false: not published (retry later)
  std::uint64_t send(const std::string& camera, const std::string& body, const std::map<std::string, std::string>& headers,
                     std::uint64_t expected, const std::string& msg_id, int* js_error);

  const Options opt_;
  LeaseValid lease_valid_;
  Fenced fenced_;
  struct Nats;
  std::unique_ptr<Nats> nats_;  // thread-safe connection (libnats)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::map<std::string, Term> terms_;
  LogCounters counters_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace actiond::daemon::cluster
