#pragma once
// Private: what api.cpp and api_teach.cpp share: the reply shapes and event index lookups.
#include "actiond/daemon/api/event_index.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <string>

namespace actiond::daemon::detail {

inline void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

inline void error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, {{"error", message}});
}

inline nlohmann::json parse_body(const IndexedEvent& e) { return nlohmann::json::parse(e.body, nullptr, false); }

// The newest event of `type` about segment `id` (null when none).
inline nlohmann::json newest_of(const EventIndex& index, const std::string& id, const std::string& type) {
  EventQuery q;
  q.segment = id;
  q.type = type;
  q.limit = 1;
  const auto rows = index.query(q);
  return rows.empty() ? nlohmann::json(nullptr) : parse_body(rows.front());
}

}  // namespace actiond::daemon::detail
