#pragma once
// The latest shadow events (docs/MODELS.md: shadow mode), for the label page: shadow events are
// never journaled, so the page reads them here. Bounded: the oldest are dropped first (counted).
//
// Thread-safety: every member may be called from any thread.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace actiond::daemon {

class ShadowFeed {
 public:
  explicit ShadowFeed(std::size_t capacity = 2000) : capacity_(capacity) {}

  void push(const std::string& camera, const nlohmann::json& event) {
    std::lock_guard lock(mu_);
    events_.push_back({++last_id_, camera, event});
    if (events_.size() > capacity_) {
      events_.pop_front();
      ++dropped_;
    }
  }
  // {events: [event + "feed_id"], next: the id to ask after next, dropped}
  nlohmann::json since(const std::string& camera, std::uint64_t after) const {
    std::lock_guard lock(mu_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : events_) {
      if (e.id <= after || e.camera != camera) continue;
      nlohmann::json j = e.event;
      j["feed_id"] = e.id;
      out.push_back(std::move(j));
    }
    return {{"events", out}, {"next", last_id_}, {"dropped", dropped_}};
  }

 private:
  struct Entry {
    std::uint64_t id;
    std::string camera;
    nlohmann::json event;
  };
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Entry> events_;
  std::uint64_t last_id_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace actiond::daemon
