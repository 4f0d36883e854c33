#pragma once
// Publisher: the thread that owns the ZeroMQ PUB socket and writes the Journal it is given (the
// Daemon owns the Journal; only this thread appends to it). Other threads hand it events through a
// bounded queue (policy when full: drop the NEWEST event and count it; with the default capacity
// this only happens if the process cannot send at all). Each event goes out as two frames:
// topic "<camera>/<type>" and the JSON body. With a journal, each event is appended to it first.
//
// Slow subscribers never block it: a subscriber whose queue holds `sndhwm` messages misses events
// until it has caught up (it sees a seq gap and recovers them with the control socket's `replay`).
// Each time that happens is counted in slow_subscriber_stalls() (libzmq does not tell how many
// events the subscriber then missed). The socket is an XPUB, which a ZeroMQ SUB cannot tell from a PUB.
//
// The socket is created and bound on the publisher thread; the constructor waits for the bind and
// throws std::runtime_error naming the endpoint if it fails (e.g. address in use).
//
// Thread-safety: publish() and the counters may be called from any thread.
#include "actiond/config/config.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace zmq {
class socket_t;
}

namespace actiond::daemon {

class Publisher {
 public:
  // `journal` (optional) is used only by the publisher thread and must outlive the Publisher.
  // With `security` enabled the socket is a CURVE server (and checks the client allow-list).
  Publisher(const config::PublishConfig& cfg, class Journal* journal, const config::SecurityConfig& security = {});
  ~Publisher();  // sends what is queued, then closes the socket (bounded linger)
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Queues one event. Returns false (and counts a drop) when the queue is full or stopped.
  bool publish(std::string camera, std::uint64_t seq, std::string topic, std::string body);
  // Queues an event for the socket only: never journaled, so never delivered to sinks, the index or
  // the cluster log (a shadow model's events). Same queue and drop policy.
  bool publish_unjournaled(std::string topic, std::string body);
  // Blocks until everything queued so far has been handed to ZeroMQ (or `timeout` passes).
  bool flush(std::chrono::milliseconds timeout);

  // Also hands each event, once journaled, to `tap` (on the publisher thread; cluster mode: the
  // JetStream log). Set before the first publish().
  using Tap = std::function<void(const std::string& camera, std::uint64_t seq, const std::string& body)>;
  void set_tap(Tap tap) { tap_ = std::move(tap); }

  const std::string& endpoint() const { return endpoint_; }  // as bound (wildcard port resolved)
  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t dropped_queue_full() const { return dropped_.load(); }
  std::uint64_t slow_subscriber_stalls() const { return slow_stalls_.load(); }
  std::uint64_t subscriptions() const { return subscriptions_.load(); }  // topic subscriptions now active

 private:
  struct Message {
    std::string camera;
    std::uint64_t seq = 0;
    std::string topic;
    std::string body;
    bool journaled = true;
  };
  bool enqueue(Message m);
  void send_event(zmq::socket_t& sock, const Message& m);
  void drain_subscriptions(zmq::socket_t& sock);

  class Journal* journal_;
  Tap tap_;
  std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<Message> queue_;
  bool stopping_ = false;
  bool in_flight_ = false;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> slow_stalls_{0};
  std::atomic<std::uint64_t> subscriptions_{0};
};

}  // namespace actiond::daemon
