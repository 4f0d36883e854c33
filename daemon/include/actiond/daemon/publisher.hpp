#pragma once
// Publisher: the thread that owns the ZeroMQ PUB socket and the Journal. Other threads hand it events through a
// bounded queue (policy when full: drop the NEWEST event and count it; with the default capacity
// this only happens if the process cannot send at all). Each event goes out as two frames:
// topic "<camera>/<type>" and the JSON body. With a journal, each event is appended to it first.
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
#include <mutex>
#include <string>
#include <thread>

namespace actiond::daemon {

class Publisher {
 public:
  // `journal` (optional) is used only by the publisher thread and must outlive the Publisher.
  Publisher(const config::PublishConfig& cfg, class Journal* journal);
  ~Publisher();  // sends what is queued, then closes the socket (bounded linger)
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Queues one event. Returns false (and counts a drop) when the queue is full or stopped.
  bool publish(std::string camera, std::uint64_t seq, std::string topic, std::string body);
  // Blocks until everything queued so far has been handed to ZeroMQ (or `timeout` passes).
  bool flush(std::chrono::milliseconds timeout);

  const std::string& endpoint() const { return endpoint_; }  // as bound (wildcard port resolved)
  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t dropped_queue_full() const { return dropped_.load(); }

 private:
  void run(std::string bind_to, int sndhwm);

  struct Message {
    std::string camera;
    std::uint64_t seq = 0;
    std::string topic;
    std::string body;
  };

  class Journal* journal_;
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
};

}  // namespace actiond::daemon
