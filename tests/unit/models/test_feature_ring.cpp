#include "actiond/models/feature_ring.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using actiond::models::FeatureMeta;
using actiond::models::FeatureRing;

namespace {
void push_n(FeatureRing& ring, int from, int to) {
  for (int i = from; i < to; ++i) {
    std::vector<float> f(ring.dim(), static_cast<float>(i));
    ring.push(FeatureMeta{static_cast<double>(i), {}, {}}, f.data());
  }
}
}  // namespace

TEST_CASE("ring keeps the newest entries and wraps", "[ring]") {
  FeatureRing ring(4, 3);
  CHECK(ring.size() == 0);
  push_n(ring, 0, 3);
  CHECK(ring.size() == 3);
  push_n(ring, 3, 10);
  CHECK(ring.size() == 4);
  CHECK(ring.total_pushed() == 10);

  std::vector<float> f;
  std::vector<FeatureMeta> meta;
  const auto first = ring.latest(4, f, &meta);
  CHECK(first == 6);
  REQUIRE(meta.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(meta[static_cast<std::size_t>(i)].pts == 6 + i);
    for (int d = 0; d < 3; ++d) CHECK(f[static_cast<std::size_t>(i * 3 + d)] == static_cast<float>(6 + i));
  }
}

TEST_CASE("ring bounds: asking for more than held, index lookups, clear", "[ring]") {
  FeatureRing ring(5, 2);
  push_n(ring, 0, 2);
  std::vector<float> f;
  CHECK(ring.latest(100, f, nullptr) == 0);
  CHECK(f.size() == 4);
  CHECK(ring.latest(0, f, nullptr) == 2);
  CHECK(f.empty());
  push_n(ring, 2, 8);
  CHECK_FALSE(ring.meta_at(2).has_value());  // overwritten
  REQUIRE(ring.meta_at(3).has_value());
  CHECK(ring.meta_at(3)->pts == 3);
  CHECK_FALSE(ring.meta_at(8).has_value());  // not yet pushed
  ring.clear();
  CHECK(ring.size() == 0);
  CHECK(ring.total_pushed() == 8);
  CHECK_THROWS_AS(FeatureRing(0, 1), std::invalid_argument);
}

TEST_CASE("concurrent reader always sees a consistent, contiguous window", "[ring][concurrency]") {
  FeatureRing ring(16, 32);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    std::vector<float> f;
    std::vector<FeatureMeta> meta;
    while (!done.load()) {
      const auto first = ring.latest(8, f, &meta);
      for (std::size_t i = 0; i < meta.size(); ++i) {
        const double expect = static_cast<double>(first + i);
        if (meta[i].pts != expect) ++bad;
        for (std::size_t d = 0; d < ring.dim(); ++d) {
          if (f[i * ring.dim() + d] != static_cast<float>(expect)) ++bad;
        }
      }
      ++reads;
    }
  });
  push_n(ring, 0, 20000);
  // Watchdog: the reader must have made progress and stop promptly.
  while (reads.load() == 0) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(ring.total_pushed() == 20000);
}
