#pragma once
// The HTTP API and the live web timeline, served on the daemon's HTTP listener beside /metrics
// (docs/API.md):
//   GET /api/cameras, /api/cameras/{id}           cameras and their state
//   GET /api/events?camera&type&label&segment&since&until&after&limit&order
//   GET /api/segments?camera&label&since&until&limit, /api/segments/{id}
//   GET /api/events/stream?camera&type&label&after  Server-Sent Events (Last-Event-ID resumes)
//   GET /api/clips/{camera}/{file}.mp4              a clip (HTTP Range supported)
//   GET /api/snapshots/{camera}/{file}.jpg          a segment's snapshot
//   GET /api/models                                 the models, their versions, the previous kept
//   POST /api/models/{name}/promote {"candidate": FILE}   install FILE as the model, reload (write)
//   POST /api/models/{name}/rollback                      bring the previous file back, reload (write)
//   POST /api/cameras/{id}/shadow {"candidate": FILE}     try FILE beside the camera's model (write)
//   DELETE /api/cameras/{id}/shadow                       stop trying it (write)
//   GET /api/cameras/{id}/shadow?after=N                  the shadow events of the camera (the page)
//   Teach your own actions (api_teach.cpp, docs/API.md): /api/recordings, /api/datasets, /api/train
//   GET /, /app.js, /style.css, /label             the web timeline and the label page (built in)
// Bad parameters get 400 with {"error": "parameter 'NAME': ..."}; with a token every /api/ path
// needs `Authorization: Bearer TOKEN` (or `?token=TOKEN`, for EventSource and video); the pages and
// their scripts hold no data and are served to anyone (they take the token from `#token=` in the URL).
// Writes (POST, DELETE) need the token of api.token_file: without one configured, or with the
// read-only token of api.read_token_file, they answer 403.
//
// Ownership: the daemon owns the Api and the HTTP server; install() captures `this`, so the Api
// outlives the server (stop() first ends the live streams, whose handlers would otherwise hold the
// server's worker threads).
// Thread-safety: handlers run on the server's worker threads; everything they use is thread-safe.
#include "actiond/daemon/api/event_index.hpp"
#include "actiond/daemon/api/shadow_feed.hpp"
#include "actiond/daemon/teach/train_jobs.hpp"
#include "actiond/daemon/teach/workspace.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace actiond::daemon {

struct ApiOptions {
  const EventIndex* index = nullptr;         // null: no journal (the event endpoints answer 503)
  std::string index_error;                   // why there is no index, when the journal is enabled
  std::function<nlohmann::json()> cameras;   // {id: state} as the control socket's status has it
  std::string token;                         // may read and write; empty (and no read_token): no authentication
  std::string read_token;                    // may only read (GET)
  int max_streams = 8;                       // concurrent live streams; more get 503
  bool web = true;                           // serve the timeline at /
  std::filesystem::path clips_dir;           // where clips are (empty: none)
  // Model changes (Daemon::models/promote/rollback, as JSON); empty: the routes answer 404.
  std::function<nlohmann::json()> models;
  std::function<nlohmann::json(const std::string& model, const std::string& candidate)> promote;
  std::function<nlohmann::json(const std::string& model)> rollback;
  std::function<nlohmann::json(const std::string& camera, const std::string& candidate)> shadow;  // "" stops
  const ShadowFeed* shadow_feed = nullptr;   // the shadow events (null: 404)
  teach::Workspace* workspace = nullptr;     // recordings and datasets (null: 404)
  teach::TrainJobs* jobs = nullptr;          // training jobs (null: 404)
};

class Api {
 public:
  explicit Api(ApiOptions options) : opt_(std::move(options)) {}
  void install(httplib::Server& server);
  void stop() { stopping_ = true; }
  // Worker threads the HTTP server needs: every live stream holds one.
  int threads() const { return opt_.max_streams + 4; }
  int streams() const { return streams_.load(); }

 private:
  struct Route;
  static const std::vector<Route>& routes();
  bool refused(const httplib::Request& req, httplib::Response& res) const;  // authentication (401 answered)
  bool has_index(httplib::Response& res) const;                           // else 503 answered
  void list_cameras(const httplib::Request& req, httplib::Response& res);
  void one_camera(const httplib::Request& req, httplib::Response& res);
  void list_events(const httplib::Request& req, httplib::Response& res);
  void list_segments(const httplib::Request& req, httplib::Response& res);
  void one_segment(const httplib::Request& req, httplib::Response& res);
  void live_events(const httplib::Request& req, httplib::Response& res);
  void clip_file(const httplib::Request& req, httplib::Response& res);
  void snapshot_file(const httplib::Request& req, httplib::Response& res);
  void list_models(const httplib::Request& req, httplib::Response& res);
  void change_model(const httplib::Request& req, httplib::Response& res);  // promote or rollback
  void change_shadow(const httplib::Request& req, httplib::Response& res);  // POST tries, DELETE stops
  void shadow_events(const httplib::Request& req, httplib::Response& res);
  bool may_write(httplib::Response& res) const;                           // else 403/404 answered
  // Teach your own actions (api_teach.cpp).
  void install_teach(httplib::Server& server);
  bool may_teach(const httplib::Request& req, httplib::Response& res) const;  // else 404/403 answered
  void recording_segments(const httplib::Request& req, httplib::Response& res);
  void train_stream(const httplib::Request& req, httplib::Response& res);
  void start_training(const httplib::Request& req, httplib::Response& res);
  void serve_file(const httplib::Request& req, httplib::Response& res, const char* kind, const char* type) const;
  static void send_file(httplib::Response& res, const std::filesystem::path& file, std::uintmax_t size,
                        const char* type);

  ApiOptions opt_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_{0};
};

}  // namespace actiond::daemon
