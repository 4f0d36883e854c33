#include "actiond/daemon/io/publisher.hpp"

#include "actiond/config/log.hpp"

#include "actiond/daemon/journal/journal.hpp"
#include "io/curve.hpp"
#include "io/zmq_bind.hpp"

#include <zmq.hpp>

#include <future>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("publisher"); }
}  // namespace

Publisher::Publisher(const config::PublishConfig& cfg, Journal* journal, const config::SecurityConfig& security)
    : journal_(journal), capacity_(static_cast<std::size_t>(cfg.queue_capacity)) {
  std::promise<std::string> bound;
  auto result = bound.get_future();
  thread_ = std::thread([this, ep = cfg.endpoint, hwm = cfg.sndhwm, security, p = std::move(bound)]() mutable {
    zmq::context_t ctx(1);
    detail::CurveServer curve(ctx, security);
    // XPUB rather than PUB only to learn when a subscriber is too slow (see send_event()).
    zmq::socket_t sock(ctx, zmq::socket_type::xpub);
    sock.set(zmq::sockopt::sndhwm, hwm);
    sock.set(zmq::sockopt::xpub_nodrop, 1);
    sock.set(zmq::sockopt::linger, 2000);
    curve.apply(sock);
    if (!detail::bind_and_report(sock, ep, "publish endpoint", p)) return;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      std::deque<Message> batch;
      batch.swap(queue_);
      in_flight_ = true;
      lock.unlock();
      for (auto& m : batch) {
        if (m.journaled && journal_ != nullptr) journal_->append(m.camera, m.seq, m.body);  // before it is published
        if (m.journaled && tap_) tap_(m.camera, m.seq, m.body);
        send_event(sock, m);
      }
      drain_subscriptions(sock);
      if (journal_ != nullptr) journal_->sync();
      lock.lock();
      in_flight_ = false;
      drained_.notify_all();
    }
    lock.unlock();
    sock.close();  // linger lets connected subscribers receive what was sent
  });
  try {
    endpoint_ = result.get();
  } catch (...) {
    thread_.join();
    throw;
  }
  logger().info("publishing events on {}", endpoint_);
}

// With ZMQ_XPUB_NODROP a send fails with EAGAIN, reaching nobody, when a subscriber's queue has just
// reached the high-water mark. That is our chance to count it; the event is then sent lossily (as a
// plain PUB would): subscribers with room get it, the full one misses it and every event after it
// until it has caught up (libzmq skips it silently meanwhile), and sees a seq gap.
void Publisher::send_event(zmq::socket_t& sock, const Message& m) {
  try {
    if (!sock.send(zmq::buffer(m.topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      const auto n = slow_stalls_.fetch_add(1) + 1;
      if ((n & (n - 1)) == 0) {
        logger().warn("publisher: a subscriber is not keeping up (sndhwm reached, it misses events until it catches "
                     "up); {} such stalls so far", n);
      }
      sock.set(zmq::sockopt::xpub_nodrop, 0);
      sock.send(zmq::buffer(m.topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      sock.send(zmq::buffer(m.body), zmq::send_flags::dontwait);
      sock.set(zmq::sockopt::xpub_nodrop, 1);
    } else {
      sock.send(zmq::buffer(m.body), zmq::send_flags::dontwait);  // same message: cannot hit the HWM
    }
    sent_.fetch_add(1);
  } catch (const zmq::error_t& e) {
    logger().error("publisher: send failed: {}", e.what());
  }
}

// Subscription messages queue up on an XPUB socket until read; they also tell us who listens.
void Publisher::drain_subscriptions(zmq::socket_t& sock) {
  zmq::message_t msg;
  while (sock.recv(msg, zmq::recv_flags::dontwait)) {
    const auto* d = static_cast<const unsigned char*>(msg.data());
    if (msg.size() > 0 && d[0] == 1) subscriptions_.fetch_add(1);
    if (msg.size() > 0 && d[0] == 0 && subscriptions_.load() > 0) subscriptions_.fetch_sub(1);
  }
}

Publisher::~Publisher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Publisher::publish(std::string camera, std::uint64_t seq, std::string topic, std::string body) {
  return enqueue(Message{std::move(camera), seq, std::move(topic), std::move(body), true});
}

bool Publisher::publish_unjournaled(std::string topic, std::string body) {
  return enqueue(Message{"", 0, std::move(topic), std::move(body), false});
}

bool Publisher::enqueue(Message m) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) {
      const auto n = dropped_.fetch_add(1) + 1;
      if ((n & (n - 1)) == 0) logger().error("publisher: queue full, {} events dropped so far", n);
      return false;
    }
    queue_.push_back(std::move(m));
  }
  cv_.notify_one();
  return true;
}

bool Publisher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return drained_.wait_for(lock, timeout, [&] { return queue_.empty() && !in_flight_; });
}

}  // namespace actiond::daemon
