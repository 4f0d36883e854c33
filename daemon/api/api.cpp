#include "actiond/daemon/api/api.hpp"

#include "actiond/config/event_kinds.hpp"
#include "actiond/config/log.hpp"
#include "api_util.hpp"
#include "query_params.hpp"
#include "web_assets.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <thread>

namespace actiond::daemon {

using detail::error;
using detail::newest_of;
using detail::parse_body;
using detail::QueryParams;
using detail::reply;
using nlohmann::json;

namespace {

spdlog::logger& logger() { return config::module_log("api"); }

bool same(const std::string& a, const std::string& b) {  // constant time in the secret's length
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A segment as its latest segment.* event has it, with where it stands and its clip (if written).
json segment_summary(const json& latest, const json& clip_ready) {
  json s = latest.value("segment", json::object());
  s["camera"] = latest.value("camera", "");
  s["open"] = config::event_type_of(latest) != config::EventType::segment_end;
  s["last_seq"] = latest.value("seq", 0);
  s["clip"] = clip_ready.is_object() ? clip_ready.value("clip", json(nullptr)) : json(nullptr);
  s["snapshot"] = clip_ready.is_object() ? clip_ready.value("snapshot", json(nullptr)) : json(nullptr);
  return s;
}

}  // namespace

// The routes: a path pattern and its handler; `index`: answers 503 without the event index.
struct Api::Route {
  const char* pattern;
  void (Api::*handler)(const httplib::Request&, httplib::Response&);
  bool index;
};

const std::vector<Api::Route>& Api::routes() {
  static const std::vector<Route> table = {
      {"/api/cameras", &Api::list_cameras, false},
      {R"(/api/cameras/([^/]+))", &Api::one_camera, false},
      {"/api/events", &Api::list_events, true},
      {"/api/segments", &Api::list_segments, true},
      {R"(/api/segments/([^/]+))", &Api::one_segment, true},
      {"/api/events/stream", &Api::live_events, true},
      {R"(/api/clips/([A-Za-z0-9][A-Za-z0-9_.-]*)/([A-Za-z0-9][A-Za-z0-9_.-]*\.mp4))", &Api::clip_file, false},
      {R"(/api/snapshots/([A-Za-z0-9][A-Za-z0-9_.-]*)/([A-Za-z0-9][A-Za-z0-9_.-]*\.jpg))", &Api::snapshot_file, false},
      {"/api/models", &Api::list_models, false},
      {R"(/api/cameras/([A-Za-z0-9][A-Za-z0-9_.-]*)/shadow)", &Api::shadow_events, false},
  };
  return table;
}

void Api::install(httplib::Server& server) {
  server.set_payload_max_length(16u << 20);  // a dataset's segment list; Debian's library defaults to 8 KiB
  // Authentication and the error shape of every /api/ path.
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return refused(req, res) ? httplib::Server::HandlerResponse::Handled : httplib::Server::HandlerResponse::Unhandled;
  });
  for (const Route& r : routes()) {
    server.Get(r.pattern, [this, r](const httplib::Request& req, httplib::Response& res) {
      if (r.index && !has_index(res)) return;
      (this->*r.handler)(req, res);
    });
  }
  server.Post(R"(/api/models/([A-Za-z0-9][A-Za-z0-9_.-]*)/(promote|rollback))",
              [this](const httplib::Request& req, httplib::Response& res) { change_model(req, res); });
  const char* shadow_path = R"(/api/cameras/([A-Za-z0-9][A-Za-z0-9_.-]*)/shadow)";
  server.Post(shadow_path, [this](const httplib::Request& req, httplib::Response& res) { change_shadow(req, res); });
  server.Delete(shadow_path, [this](const httplib::Request& req, httplib::Response& res) { change_shadow(req, res); });
  install_teach(server);
  if (opt_.web) {
    for (const auto& asset : detail::web_assets()) {
      const std::string path = asset.path == "index.html" ? "/" : asset.path == "label.html" ? "/label" : "/" + asset.path;
      server.Get(path, [asset](const httplib::Request&, httplib::Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_content(asset.data, asset.content_type);
      });
    }
  }
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    logger().error("{} {}: {}", req.method, req.path, what);
    error(res, 500, what);
  });
}

bool Api::refused(const httplib::Request& req, httplib::Response& res) const {
  // The pages and their scripts hold no data (they ask /api/ with the token from the URL's #token=).
  if ((opt_.token.empty() && opt_.read_token.empty()) || req.path.rfind("/api/", 0) != 0) return false;
  std::string given = req.get_param_value("token");
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
  // Both compared, always: the time taken says nothing about which (if any) matched.
  const bool writer = !opt_.token.empty() && same(given, opt_.token);
  const bool reader = !opt_.read_token.empty() && same(given, opt_.read_token);
  if (writer) return false;
  if (reader) {
    if (req.method == "GET" || req.method == "HEAD") return false;
    error(res, 403, "this token may only read (actiond.json /api/read_token_file)");
    return true;
  }
  res.set_header("WWW-Authenticate", "Bearer");
  error(res, 401, given.empty() ? "a bearer token is required" : "wrong token");
  return true;
}

bool Api::has_index(httplib::Response& res) const {
  if (opt_.index != nullptr) return true;
  error(res, 503, opt_.index_error.empty()
                      ? "events are served from the journal, which is disabled (actiond.json /journal/enabled)"
                      : "the event index is unavailable: " + opt_.index_error);
  return false;
}

void Api::list_cameras(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {});
  if (!p.ok()) return error(res, 400, p.error());
  json out = json::array();
  const json all = opt_.cameras();
  for (const auto& [id, state] : all.items()) {
    json c = state;
    c["id"] = id;
    out.push_back(std::move(c));
  }
  reply(res, 200, {{"cameras", out}});
}

void Api::one_camera(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  const json all = opt_.cameras();
  if (!all.contains(id)) return error(res, 404, "no camera '" + id + "'");
  json c = all.at(id);
  c["id"] = id;
  reply(res, 200, c);
}

void Api::list_events(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {"camera", "type", "label", "segment", "since", "until", "after", "limit", "order"});
  EventQuery q = p.event_query(100);
  if (!p.ok()) return error(res, 400, p.error());
  json events = json::array();
  for (const auto& e : opt_.index->query(q)) {
    json body = parse_body(e);
    if (!body.is_discarded()) events.push_back(std::move(body));
  }
  reply(res, 200, {{"events", events}, {"count", events.size()}});
}

void Api::list_segments(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {"camera", "label", "since", "until", "limit"});
  EventQuery q = p.event_query(50);
  if (!p.ok()) return error(res, 400, p.error());
  // Segments with an event (start, update or end) in [since, until): those overlapping it, also one
  // that started before `since` and is still open (its updates) or ended after it.
  const std::size_t limit = static_cast<std::size_t>(q.limit);
  q.type = "segment.";
  q.limit = 1000;
  std::vector<std::string> ids;
  while (ids.size() < limit) {
    const auto rows = opt_.index->query(q);
    for (const auto& row : rows) {
      const json e = parse_body(row);
      const std::string id = e.is_object() ? e.value("segment", json::object()).value("id", "") : "";
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end() && ids.size() < limit) ids.push_back(id);
    }
    if (rows.size() < static_cast<std::size_t>(q.limit)) break;
    q.until_id = rows.back().id;  // the next (older) page
  }
  json segments = json::array();
  for (const auto& id : ids) {
    const json last = newest_of(*opt_.index, id, "segment.");
    const json clip = newest_of(*opt_.index, id, config::to_string(config::EventType::clip_ready));
    if (last.is_object()) segments.push_back(segment_summary(last, clip));
  }
  reply(res, 200, {{"segments", segments}, {"count", segments.size()}});
}

void Api::one_segment(const httplib::Request& req, httplib::Response& res) {
  EventQuery q;
  q.segment = std::string(req.matches[1]);
  q.newest_first = false;
  q.limit = 10000;
  json events = json::array();
  for (const auto& e : opt_.index->query(q)) events.push_back(parse_body(e));
  if (events.empty()) return error(res, 404, "no segment '" + *q.segment + "'");
  json latest = events.front();  // the latest segment.* event (repetitions carry no segment body)
  json clip;
  for (const auto& e : events) {
    const auto type = config::event_type_of(e);
    if (type && config::is_segment_event(*type)) latest = e;
    if (type == config::EventType::clip_ready) clip = e;
  }
  reply(res, 200, {{"segment", segment_summary(latest, clip)}, {"events", events}});
}

void Api::live_events(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {"camera", "type", "label", "after"});
  EventQuery q = p.event_query(200);
  if (!p.ok()) return error(res, 400, p.error());
  if (req.has_header("Last-Event-ID")) {
    const auto id = detail::parse_int(req.get_header_value("Last-Event-ID"));
    if (!id) return error(res, 400, "header 'Last-Event-ID': must be an event id (an integer)");
    q.after_id = *id;
  }
  if (!q.after_id) q.after_id = opt_.index->newest_id();  // from now on
  if (streams_.fetch_add(1) >= opt_.max_streams) {
    streams_.fetch_sub(1);
    return error(res, 503, "too many live streams (api.max_streams " + std::to_string(opt_.max_streams) + ")");
  }
  q.newest_first = false;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, q](std::size_t, httplib::DataSink& sink) mutable {
        auto last_write = std::chrono::steady_clock::now();
        const std::string hello = "retry: 1000\n: actiond live events\n\n";
        if (!sink.write(hello.data(), hello.size())) return false;
        while (!stopping_ && sink.is_writable()) {
          std::vector<IndexedEvent> batch;
          try {
            batch = opt_.index->query(q);
          } catch (const std::exception& e) {
            logger().warn("live stream: {}", e.what());
          }
          for (const auto& e : batch) {
            q.after_id = e.id;
            const json body = parse_body(e);
            const std::string msg = "id: " + std::to_string(e.id) + "\nevent: " + body.value("type", "event") +
                                    "\ndata: " + e.body + "\n\n";
            if (!sink.write(msg.data(), msg.size())) return false;
            last_write = std::chrono::steady_clock::now();
          }
          if (batch.empty() && std::chrono::steady_clock::now() - last_write > std::chrono::seconds(15)) {
            const std::string ping = ": ping\n\n";
            if (!sink.write(ping.data(), ping.size())) return false;
            last_write = std::chrono::steady_clock::now();
          }
          if (batch.size() < static_cast<std::size_t>(q.limit)) std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
        sink.done();
        return false;
      },
      [this](bool) { streams_.fetch_sub(1); });
}

// Clips and snapshots: <clips dir>/<camera>/<name>, with HTTP Range.
void Api::clip_file(const httplib::Request& req, httplib::Response& res) { serve_file(req, res, "clip", "video/mp4"); }
void Api::snapshot_file(const httplib::Request& req, httplib::Response& res) {
  serve_file(req, res, "snapshot", "image/jpeg");
}

void Api::serve_file(const httplib::Request& req, httplib::Response& res, const char* kind, const char* type) const {
  const std::string name = std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
  const std::filesystem::path file = opt_.clips_dir / std::string(req.matches[1]) / std::string(req.matches[2]);
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (opt_.clips_dir.empty() || ec) return error(res, 404, std::string("no ") + kind + " '" + name + "'");
  send_file(res, file, size, type);
}

void Api::send_file(httplib::Response& res, const std::filesystem::path& file, std::uintmax_t size, const char* type) {
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  res.set_header("Cache-Control", "max-age=3600");
  res.set_content_provider(static_cast<std::size_t>(size), type,
                           [in](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             std::vector<char> buf(std::min<std::size_t>(length, 1u << 16));
                             in->seekg(static_cast<std::streamoff>(offset));
                             in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
                             const auto n = static_cast<std::size_t>(in->gcount());
                             return n > 0 && sink.write(buf.data(), n);
                           });
}

void Api::list_models(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {});
  if (!p.ok()) return error(res, 400, p.error());
  if (!opt_.models) return error(res, 404, "model changes are not served here");
  reply(res, 200, {{"models", opt_.models()}});
}

bool Api::may_write(httplib::Response& res) const {
  if (!opt_.promote || !opt_.rollback || !opt_.shadow) {
    error(res, 404, "model changes are not served here");
    return false;
  }
  if (opt_.token.empty()) {
    error(res, 403, "model changes over HTTP need a token (actiond.json /api/token_file)");
    return false;
  }
  return true;
}

void Api::shadow_events(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {"after"});
  const auto after = p.integer("after", 0, std::numeric_limits<std::int64_t>::max());
  if (!p.ok()) return error(res, 400, p.error());
  if (opt_.shadow_feed == nullptr) return error(res, 404, "shadow events are not served here");
  reply(res, 200, opt_.shadow_feed->since(req.matches[1], static_cast<std::uint64_t>(after.value_or(0))));
}

void Api::change_shadow(const httplib::Request& req, httplib::Response& res) {
  if (!may_write(res)) return;
  const std::string camera = req.matches[1];
  std::string candidate;
  if (req.method == "POST") {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("candidate") || !body["candidate"].is_string() ||
        body["candidate"].get<std::string>().empty()) {
      return error(res, 400, "shadow needs a JSON body {\"candidate\": \"FILE\"} (a segmenter in the model directory)");
    }
    candidate = body["candidate"];
  }
  const json result = opt_.shadow(camera, candidate);
  if (!result.value("ok", false)) {
    const std::string message = result.value("error", "refused");
    return error(res, message.rfind("shadow: no camera", 0) == 0 ? 404 : 409, message);
  }
  reply(res, 200, result);
}

void Api::change_model(const httplib::Request& req, httplib::Response& res) {
  if (!may_write(res)) return;
  const std::string model = req.matches[1];
  const std::string action = req.matches[2];
  const json all = opt_.models();
  const bool known = std::any_of(all.begin(), all.end(), [&](const json& m) { return m.value("name", "") == model; });
  if (!known) return error(res, 404, "no model '" + model + "'");
  json result;
  if (action == "promote") {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("candidate") || !body["candidate"].is_string()) {
      return error(res, 400, "promote needs a JSON body {\"candidate\": \"FILE\"} (a model file in the model directory)");
    }
    result = opt_.promote(model, body["candidate"]);
  } else {
    result = opt_.rollback(model);
  }
  logger().info("POST {}: {}", req.path, result.value("ok", false) ? "done" : result.value("error", ""));
  if (!result.value("ok", false)) return error(res, 409, result.value("error", "refused"));
  reply(res, 200, result);
}

}  // namespace actiond::daemon
