#pragma once
// Private: the API's query parameters, checked. The first problem found is kept as the reply's
// message ("parameter 'limit': must be an integer from 1 to 1000"); unknown parameters are errors.
//
// Thread-safety: one request per instance.
#include "actiond/daemon/api/event_index.hpp"

#include <httplib.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

namespace actiond::daemon::detail {

inline std::optional<std::int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

class QueryParams {
 public:
  QueryParams(const httplib::Request& req, std::set<std::string> allowed) : req_(req) {
    allowed.insert("token");
    for (const auto& [name, value] : req.params) {
      if (allowed.count(name) == 0) fail("unknown parameter '" + name + "'");
      if (req.get_param_value_count(name) > 1) fail("parameter '" + name + "': given more than once");
    }
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::optional<std::string> text(const char* name) {
    if (!req_.has_param(name)) return std::nullopt;
    std::string v = req_.get_param_value(name);
    if (v.empty()) fail(std::string("parameter '") + name + "': must not be empty");
    return v;
  }
  // ISO-8601 UTC ("2026-11-28T01:02:03Z", fraction optional) or Unix seconds (fraction optional).
  std::optional<std::int64_t> time_ms(const char* name) {
    const auto v = text(name);
    if (!v || v->empty()) return std::nullopt;
    if (auto ms = parse_utc_ms(*v)) return ms;
    char* end = nullptr;
    const double s = std::strtod(v->c_str(), &end);
    if (end == v->c_str() + v->size() && s >= 0 && s < 1e11) return static_cast<std::int64_t>(s * 1000.0);
    fail(std::string("parameter '") + name + "': must be a UTC time (2026-11-28T01:02:03Z) or Unix seconds");
    return std::nullopt;
  }
  std::optional<std::int64_t> integer(const char* name, std::int64_t lo, std::int64_t hi) {
    const auto v = text(name);
    if (!v || v->empty()) return std::nullopt;
    const auto n = parse_int(*v);
    if (!n || *n < lo || *n > hi) {
      fail(std::string("parameter '") + name + "': must be an integer from " + std::to_string(lo) + " to " +
           std::to_string(hi));
      return std::nullopt;
    }
    return n;
  }

  // The filters every event listing shares.
  EventQuery event_query(int default_limit) {
    EventQuery q;
    q.camera = text("camera");
    q.type = text("type");
    q.label = text("label");
    q.segment = text("segment");
    q.since_ms = time_ms("since");
    q.until_ms = time_ms("until");
    q.after_id = integer("after", 0, INT64_MAX / 2);
    q.limit = static_cast<int>(integer("limit", 1, 1000).value_or(default_limit));
    if (const auto order = text("order")) {
      if (*order != "asc" && *order != "desc") fail("parameter 'order': must be \"asc\" or \"desc\"");
      q.newest_first = *order != "asc";
    }
    if (q.since_ms && q.until_ms && *q.since_ms >= *q.until_ms) fail("parameter 'until': must be after 'since'");
    return q;
  }

 private:
  void fail(const std::string& message) {
    if (error_.empty()) error_ = message;
  }
  const httplib::Request& req_;
  std::string error_;
};

}  // namespace actiond::daemon::detail
