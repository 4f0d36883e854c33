// The supervisor thread that owns the daemon's changing state (daemon/src/runtime/supervisor.hpp).
#include "runtime/supervisor.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

using actiond::daemon::detail::Supervisor;
using actiond::daemon::detail::SupervisorClosed;

TEST_CASE("supervisor commands run one at a time on its thread, in order, each followed by the hook", "[supervisor]") {
  std::vector<int> order;  // touched by supervisor commands only
  std::atomic<int> published{0};
  Supervisor sup(8, [&] { ++published; });
  const auto caller = std::this_thread::get_id();
  CHECK(sup.call([&] { return std::this_thread::get_id(); }) != caller);
  for (int i = 0; i < 5; ++i) REQUIRE(sup.post([&order, i] { order.push_back(i); }));
  const auto seen = sup.call([&] { return order; });
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(published.load() == 7);  // after each of the 7 commands
}

TEST_CASE("a command's exception reaches its caller and the supervisor goes on", "[supervisor]") {
  Supervisor sup(8, [] {});
  CHECK_THROWS_WITH(sup.call([]() -> int { throw std::runtime_error("bad config"); }), "bad config");
  CHECK(sup.call([] { return 42; }) == 42);
  REQUIRE(sup.post([] { throw std::runtime_error("posted and failed"); }));  // logged, not fatal
  CHECK(sup.call([] { return 43; }) == 43);
}

TEST_CASE("a call from inside a command runs inline instead of waiting for itself", "[supervisor]") {
  int hooks = 0;
  Supervisor sup(1, [&] { ++hooks; });
  const int inner = sup.call([&] { return sup.call([] { return 7; }) + 1; });
  CHECK(inner == 8);
  CHECK(sup.call([&] { return hooks; }) == 2);  // the inline call's hook and the outer one's
}

TEST_CASE("post drops and counts when the queue is full and call waits for room", "[supervisor]") {
  std::promise<void> release;
  auto gate = release.get_future().share();
  Supervisor sup(2, [] {});
  std::promise<void> entered;
  REQUIRE(sup.post([&entered, gate] {
    entered.set_value();
    gate.wait();
  }));
  entered.get_future().wait();  // the first command runs and blocks: the queue is empty again
  CHECK(sup.post([] {}));
  CHECK(sup.post([] {}));
  CHECK_FALSE(sup.post([] {}));  // full
  CHECK(sup.dropped() == 1);
  auto waiting = std::async(std::launch::async, [&] { return sup.call([] { return 5; }); });
  CHECK(waiting.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  release.set_value();
  CHECK(waiting.get() == 5);
}

TEST_CASE("after close the queued commands have run and new ones are refused", "[supervisor]") {
  std::atomic<int> ran{0};
  Supervisor sup(8, [] {});
  for (int i = 0; i < 3; ++i) REQUIRE(sup.post([&] { ++ran; }));
  sup.close();
  CHECK(ran.load() == 3);
  CHECK_FALSE(sup.post([] {}));
  CHECK_THROWS_AS(sup.call([] { return 1; }), SupervisorClosed);
  sup.close();  // idempotent
}
