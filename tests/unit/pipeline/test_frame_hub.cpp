#include "actiond/pipeline/frame_hub.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace actiond::pipeline;
using namespace std::chrono_literals;

namespace {
SourceItem frame(CameraHandle cam, double pts) {
  SourceItem it;
  it.camera = cam;
  it.frame.pts = pts;
  return it;
}
SourceItem marker(CameraHandle cam, SourceItem::Kind kind) {
  SourceItem it;
  it.camera = cam;
  it.kind = kind;
  return it;
}
}  // namespace

TEST_CASE("a full live queue drops its oldest frame and counts it", "[hub]") {
  FrameHub hub;
  hub.add_camera(1, 2, false);
  for (int i = 0; i < 5; ++i) REQUIRE(hub.push(frame(1, i)));
  CHECK(hub.counters(1).dropped_queue_full == 3);
  CHECK(hub.counters(1).pushed == 5);
  std::vector<SourceItem> out;
  CHECK(hub.take(10, out) == 2);
  REQUIRE(out.size() == 2);
  CHECK(out[0].frame.pts == 3);  // newest frames survive
  CHECK(out[1].frame.pts == 4);
}

TEST_CASE("markers are never dropped and keep their order", "[hub]") {
  FrameHub hub;
  hub.add_camera(1, 1, false);
  hub.push(frame(1, 0));
  hub.push(marker(1, SourceItem::Kind::status));
  hub.push(frame(1, 1));  // drops frame 0, not the marker
  std::vector<SourceItem> out;
  hub.take(10, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].kind == SourceItem::Kind::status);
  CHECK(out[1].frame.pts == 1);
}

TEST_CASE("take is fair across cameras and bounded by max_frames", "[hub]") {
  FrameHub hub;
  hub.add_camera(1, 8, false);
  hub.add_camera(2, 8, false);
  for (int i = 0; i < 4; ++i) hub.push(frame(1, i));
  hub.push(frame(2, 100));
  std::vector<SourceItem> out;
  CHECK(hub.take(2, out) == 2);
  CHECK(out[0].camera == 1);
  CHECK(out[1].camera == 2);
  CHECK(hub.pending_frames() == 3);
}

// Waits (with a deadline) until `cond` holds; a hang fails the test instead of stalling CI.
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = 5s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A producer thread that pushes one frame; joined with a watchdog (closing the hub frees it).
struct Producer {
  Producer(FrameHub& h, SourceItem item) : hub(h), thread([this, item] { result = hub.push(item); done = true; }) {}
  ~Producer() {
    if (!eventually([&] { return done.load(); })) hub.close();  // a stuck push would hang the join
    thread.join();
  }
  FrameHub& hub;
  std::atomic<bool> done{false};
  std::atomic<bool> result{false};
  std::thread thread;
};

TEST_CASE("a blocking queue makes the producer wait instead of dropping", "[hub]") {
  FrameHub hub;
  hub.add_camera(1, 1, true);
  hub.push(frame(1, 0));
  Producer producer(hub, frame(1, 1));
  REQUIRE(eventually([&] { return hub.counters(1).producer_waits == 1; }));  // it is waiting for space
  CHECK_FALSE(producer.done.load());
  std::vector<SourceItem> out;
  CHECK(hub.take(1, out) == 1);
  REQUIRE(eventually([&] { return producer.done.load(); }));
  CHECK(producer.result.load());
  CHECK(hub.counters(1).dropped_queue_full == 0);
  out.clear();
  hub.take(1, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].frame.pts == 1);
}

TEST_CASE("removing a camera releases a blocked producer", "[hub]") {
  FrameHub hub;
  hub.add_camera(1, 1, true);
  hub.push(frame(1, 0));
  Producer producer(hub, frame(1, 1));
  REQUIRE(eventually([&] { return hub.counters(1).producer_waits == 1; }));
  hub.remove_camera(1);
  REQUIRE(eventually([&] { return producer.done.load(); }));
  CHECK_FALSE(producer.result.load());
  CHECK_FALSE(hub.push(frame(1, 2)));
}

TEST_CASE("wait wakes on push, times out when nothing comes, and reports close", "[hub]") {
  FrameHub hub;
  hub.add_camera(1, 4, false);
  CHECK(hub.wait(10ms) == FrameHub::WaitResult::timeout);
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    hub.push(frame(1, 0));
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(hub.wait(30s) == FrameHub::WaitResult::ready);
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);  // woken by the push, not the timeout
  producer.join();
  std::vector<SourceItem> out;
  hub.take(4, out);
  hub.close();
  CHECK(hub.wait(10ms) == FrameHub::WaitResult::closed);
}

TEST_CASE("wait_frames returns once the batch is full, not at its timeout", "[hub]") {
  FrameHub hub;
  for (CameraHandle c = 1; c <= 3; ++c) hub.add_camera(c, 4, false);
  std::thread producer([&] {
    for (CameraHandle c = 1; c <= 3; ++c) {
      std::this_thread::sleep_for(10ms);
      hub.push(frame(c, 0));
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(hub.wait_frames(3, 60s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  producer.join();
  CHECK(hub.pending_frames() == 3);
  CHECK(waited < 30s);  // far below the timeout: woken by the third frame
  // Markers do not count as frames: with 3 frames and a marker pending, waiting for 4 times out.
  hub.push(marker(1, SourceItem::Kind::status));
  CHECK_FALSE(hub.wait_frames(4, 50ms));
  CHECK(hub.pending_frames() == 3);
}
