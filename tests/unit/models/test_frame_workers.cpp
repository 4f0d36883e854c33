// FrameWorkers: parts of one batch on the caller and on worker threads, all at once.
#include "frame_workers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using actiond::models::detail::FrameWorkers;

TEST_CASE("frame workers run every part at once, part 0 on the caller", "[models][workers]") {
  FrameWorkers workers;
  for (int parts : {3, 2, 3}) {
    std::atomic<int> arrived{0};
    std::mutex m;
    std::set<std::thread::id> threads;
    std::thread::id first;
    workers.run(parts, [&](int part) {
      {
        std::lock_guard<std::mutex> lock(m);
        threads.insert(std::this_thread::get_id());
        if (part == 0) first = std::this_thread::get_id();
      }
      // Every part waits for all others: run() would never return if parts ran one after another.
      ++arrived;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (arrived.load() < parts) {
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("parts did not run at once");
        std::this_thread::yield();
      }
    });
    CHECK(threads.size() == static_cast<std::size_t>(parts));
    CHECK(first == std::this_thread::get_id());
  }
}

TEST_CASE("frame workers cover each part exactly once over many batches", "[models][workers]") {
  FrameWorkers workers;
  for (int round = 0; round < 500; ++round) {
    const int parts = 1 + round % 4;
    std::atomic<int> seen[4] = {0, 0, 0, 0};
    workers.run(parts, [&](int part) { ++seen[part]; });
    for (int k = 0; k < 4; ++k) REQUIRE(seen[k].load() == (k < parts ? 1 : 0));
  }
}

TEST_CASE("a part's exception reaches the caller after every part finished", "[models][workers]") {
  FrameWorkers workers;
  std::atomic<int> finished{0};
  CHECK_THROWS_WITH(workers.run(3,
                                [&](int part) {
                                  if (part == 2) throw std::runtime_error("part 2 failed");
                                  std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                  ++finished;
                                }),
                    "part 2 failed");
  CHECK(finished.load() == 2);
  std::atomic<int> again{0};
  workers.run(3, [&](int) { ++again; });
  CHECK(again.load() == 3);
}
