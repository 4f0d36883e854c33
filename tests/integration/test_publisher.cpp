// The publisher on real ZeroMQ sockets: a subscriber that never reads does not slow the others, and
// what it misses is counted.
#include "actiond/daemon/io/publisher.hpp"

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include <atomic>
#include <thread>

using namespace actiond;
using namespace std::chrono_literals;

TEST_CASE("a stalled subscriber misses events (its stall counted) while a reading one gets every event in order",
          "[integration][publisher]") {
  config::PublishConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:*";
  cfg.sndhwm = 200;
  daemon::Publisher pub(cfg, nullptr);

  zmq::context_t ctx(1);
  zmq::socket_t stalled(ctx, zmq::socket_type::sub);
  stalled.set(zmq::sockopt::rcvhwm, 1);
  stalled.set(zmq::sockopt::rcvbuf, 4096);
  stalled.set(zmq::sockopt::subscribe, "");
  stalled.set(zmq::sockopt::linger, 0);
  stalled.connect(pub.endpoint());

#if defined(__SANITIZE_THREAD__)
  constexpr int kEvents = 1500;  // 6 MB still overflow the stalled peer; ThreadSanitizer reads slowly
#else
  constexpr int kEvents = 6000;
#endif
  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  std::atomic<bool> ready{false};
  std::thread reader([&] {
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::rcvtimeo, 5000);
    sub.set(zmq::sockopt::linger, 0);
    sub.connect(pub.endpoint());
    ready = true;
    zmq::message_t topic;
    zmq::message_t body;
    while (received < kEvents) {
      if (!sub.recv(topic) || !sub.recv(body)) break;
      if (std::stoi(body.to_string().substr(0, 8)) != received) in_order = false;
      ++received;
    }
  });
  while (!ready) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(300ms);  // both subscriptions in place
  const std::string payload(4000, 'x');
  for (int i = 0; i < kEvents; ++i) {
    char seq[9];
    std::snprintf(seq, sizeof(seq), "%08d", i);
    REQUIRE(pub.publish("cam", static_cast<std::uint64_t>(i + 1), "cam/test", seq + payload));
    if (i % 20 == 19) {
      REQUIRE(pub.flush(5s));
      // Let the reading subscriber keep up; the stalled one never reads.
      // (up to 10 s: a sanitizer build reads slowly).
      for (int w = 0; w < 10000 && received < i - 20; ++w) std::this_thread::sleep_for(1ms);
    }
  }
  REQUIRE(pub.flush(5s));
  reader.join();
  CHECK(received == kEvents);
  CHECK(in_order);
  CHECK(pub.sent() == static_cast<std::uint64_t>(kEvents));
  CHECK(pub.slow_subscriber_stalls() >= 1);
  CHECK(pub.dropped_queue_full() == 0);
}
