// Teach your own actions over HTTP (docs/API.md): recordings, labelled datasets, training jobs.
#include "actiond/daemon/api/api.hpp"

#include "actiond/config/log.hpp"
#include "actiond/daemon/teach/train_request.hpp"
#include "api_util.hpp"
#include "query_params.hpp"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace actiond::daemon {

using detail::error;
using detail::newest_of;
using detail::parse_body;
using detail::QueryParams;
using detail::reply;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* video_type(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".mp4" || ext == ".m4v" || ext == ".mov") return "video/mp4";
  if (ext == ".webm") return "video/webm";
  if (ext == ".mkv") return "video/x-matroska";
  return "application/octet-stream";
}

// Runs `fn`, answering a TeachError with its status and message.
template <typename Fn>
void answer(httplib::Response& res, Fn&& fn) {
  try {
    fn();
  } catch (const teach::TeachError& e) {
    error(res, e.status(), e.what());
  }
}

const char* kName = "([A-Za-z0-9][A-Za-z0-9_.-]*)";

}  // namespace

bool Api::may_teach(const httplib::Request& req, httplib::Response& res) const {
  if (opt_.workspace == nullptr || opt_.jobs == nullptr) {
    error(res, 404, "teaching is not served here");
    return false;
  }
  if (req.method != "GET" && opt_.token.empty()) {
    error(res, 403, "labelling and training over HTTP need a token (actiond.json /api/token_file)");
    return false;
  }
  return true;
}

void Api::install_teach(httplib::Server& server) {
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  const auto route = [this](Handler fn) {
    return [this, fn](const httplib::Request& req, httplib::Response& res) {
      if (may_teach(req, res)) answer(res, [&] { fn(req, res); });
    };
  };
  const std::string dataset = std::string("/api/datasets/") + kName;
  const std::string job = std::string("/api/train/") + kName;

  server.Get("/api/recordings", route([this](const httplib::Request& req, httplib::Response& res) {
    QueryParams p(req, {});
    if (!p.ok()) return error(res, 400, p.error());
    reply(res, 200, {{"recordings", opt_.workspace->recordings()}});
  }));
  server.Get(R"(/api/recordings/((?:clips|media)/.+))", route([this](const httplib::Request& req, httplib::Response& res) {
    const fs::path file = opt_.workspace->recording_file(req.matches[1]);
    send_file(res, file, fs::file_size(file), video_type(file));
  }));
  server.Get("/api/recording-segments", route([this](const httplib::Request& req, httplib::Response& res) {
    recording_segments(req, res);
  }));
  server.Get("/api/datasets", route([this](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"datasets", opt_.workspace->datasets()}});
  }));
  server.Get(dataset, route([this](const httplib::Request& req, httplib::Response& res) {
    reply(res, 200, opt_.workspace->dataset(req.matches[1]));
  }));
  server.Put(dataset, route([this](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return error(res, 400, "the body is not JSON");
    reply(res, 200, opt_.workspace->save(req.matches[1], body));
  }));
  server.Get(dataset + "/export", route([this](const httplib::Request& req, httplib::Response& res) {
    QueryParams p(req, {"format"});
    const std::string format = p.text("format").value_or("csv");
    if (!p.ok()) return error(res, 400, p.error());
    if (format != "csv" && format != "json") return error(res, 400, "parameter 'format': must be csv or json");
    const std::string name = req.matches[1];
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "." + format + "\"");
    if (format == "csv") return res.set_content(opt_.workspace->export_csv(name), "text/csv");
    res.set_content(opt_.workspace->dataset(name).dump(1), "application/json");
  }));
  server.Post(dataset + "/import", route([this](const httplib::Request& req, httplib::Response& res) {
    QueryParams p(req, {"mode"});
    const std::string mode = p.text("mode").value_or("merge");
    if (!p.ok()) return error(res, 400, p.error());
    if (mode != "merge" && mode != "replace") return error(res, 400, "parameter 'mode': must be merge or replace");
    reply(res, 200, opt_.workspace->import(req.matches[1], req.body, mode == "replace"));
  }));
  server.Get("/api/train", route([this](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, opt_.jobs->status());
  }));
  server.Post("/api/train", route([this](const httplib::Request& req, httplib::Response& res) { start_training(req, res); }));
  server.Delete("/api/train", route([this](const httplib::Request&, httplib::Response& res) {
    if (!opt_.jobs->cancel()) return error(res, 409, "no training job is running");
    reply(res, 200, opt_.jobs->status());
  }));
  server.Get(job, route([this](const httplib::Request& req, httplib::Response& res) {
    QueryParams p(req, {"from"});
    const auto from = p.integer("from", 0, std::numeric_limits<std::int32_t>::max());
    if (!p.ok()) return error(res, 400, p.error());
    reply(res, 200, opt_.jobs->job(req.matches[1], static_cast<std::size_t>(from.value_or(0))));
  }));
  server.Get(job + "/stream", route([this](const httplib::Request& req, httplib::Response& res) { train_stream(req, res); }));
  server.Get(job + R"(/files/([A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?))",
             route([this](const httplib::Request& req, httplib::Response& res) {
               const fs::path file = opt_.jobs->file(req.matches[1], req.matches[2]);
               const std::string ext = file.extension().string();
               send_file(res, file, fs::file_size(file),
                         ext == ".html" ? "text/html; charset=utf-8" : ext == ".json" ? "application/json"
                                                                                      : "application/octet-stream");
             }));
}

void Api::start_training(const httplib::Request& req, httplib::Response& res) {
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return error(res, 400, "training needs a JSON body {\"dataset\": NAME, \"camera\": ID}");
  const teach::TrainRequest r =
      teach::train_request(body, *opt_.workspace, opt_.cameras(), opt_.models ? opt_.models() : json::array());
  const json started = opt_.jobs->start(r);
  config::module_log("api").info("training job {} started on dataset {}", started.value("id", ""), r.dataset);
  reply(res, 202, started);
}

void Api::train_stream(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  (void)opt_.jobs->job(id);  // 404 for an unknown job
  if (streams_.fetch_add(1) >= opt_.max_streams) {
    streams_.fetch_sub(1);
    return error(res, 503, "too many live streams (api.max_streams " + std::to_string(opt_.max_streams) + ")");
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, id, from = std::size_t{0}](std::size_t, httplib::DataSink& sink) mutable {
        while (!stopping_ && sink.is_writable()) {
          json j = opt_.jobs->job(id, from);
          from = j["next"].get<std::size_t>();
          const bool running = j.value("state", "") == "running";
          const std::string msg = std::string("event: ") + (running ? "progress" : "end") + "\ndata: " + j.dump() + "\n\n";
          if (!sink.write(msg.data(), msg.size())) return false;
          if (!running) break;
          opt_.jobs->wait_output(id, from, 1000);
        }
        sink.done();
        return false;
      },
      [this](bool) { streams_.fetch_sub(1); });
}

// The camera's own segments over a clip, in the clip's seconds: the track to correct.
void Api::recording_segments(const httplib::Request& req, httplib::Response& res) {
  QueryParams p(req, {"id"});
  const auto id = p.text("id");
  if (!p.ok() || !id) return error(res, 400, p.ok() ? "parameter 'id': a recording id is required" : p.error());
  (void)opt_.workspace->recording_file(*id);
  json out = {{"recording", *id}, {"segments", json::array()}};
  if (id->rfind("clips/", 0) != 0 || opt_.index == nullptr) {
    out["note"] = "the camera's segments are shown for camera clips (with the journal on)";
    return reply(res, 200, out);
  }
  const fs::path rel(id->substr(6));
  const std::string camera = rel.begin()->string();
  const std::string segment = rel.stem().string();
  const json clip = newest_of(*opt_.index, segment, "clip.ready");
  const json own = newest_of(*opt_.index, segment, "segment.");
  if (!clip.is_object() || !own.is_object()) return reply(res, 200, out);
  const double clip_start = clip["clip"].value("start_pts", 0.0), duration = clip["clip"].value("duration_s", 0.0);
  const json& start = own["segment"]["start"];
  const auto start_ms = parse_utc_ms(start.value("time", ""));
  if (!start_ms) return reply(res, 200, out);
  const std::int64_t wall0 = *start_ms - static_cast<std::int64_t>((start.value("pts", 0.0) - clip_start) * 1000.0);
  EventQuery q;
  q.camera = camera;
  q.type = "segment.";
  q.since_ms = wall0 - 600000;  // a segment open for up to 10 minutes before the clip
  q.until_ms = wall0 + static_cast<std::int64_t>(duration * 1000.0) + 1000;
  q.limit = 1000;
  std::map<std::string, json> latest;  // newest first: the first seen is the latest
  for (const auto& row : opt_.index->query(q)) {
    const json e = parse_body(row);
    const std::string sid = e.is_object() ? e.value("segment", json::object()).value("id", "") : "";
    if (!sid.empty() && !latest.count(sid)) latest[sid] = e["segment"];
  }
  for (const auto& [sid, s] : latest) {
    const double a = s["start"].value("pts", 0.0) - clip_start;
    const double b = (s["end"].is_object() ? s["end"].value("pts", 0.0) : clip_start + duration) - clip_start;
    if (b <= 0.0 || a >= duration) continue;
    const auto ms = [](double v) { return std::round(v * 1000.0) / 1000.0; };
    out["segments"].push_back({{"id", sid}, {"label", s.value("label", "")}, {"start", ms(std::max(0.0, a))},
                               {"end", ms(std::min(duration, b))}, {"confidence", s.value("confidence", json(nullptr))}});
  }
  reply(res, 200, out);
}

}  // namespace actiond::daemon
