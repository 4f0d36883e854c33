#include "actiond/config/config.hpp"

#include "config_errors.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using actiond::config::ConfigError;
using actiond::config::load_config;
using actiond::test::TempDir;

namespace {

const char* kDaemon = R"({"models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}})";
const char* kModels = R"("models": {"backbone": "bb", "segmenter": "seg"})";

std::string camera(const std::string& fields, bool with_models = true) {
  return "{" + fields + (with_models ? std::string(", ") + kModels : "") + "}";
}

std::string load_error(const std::string& daemon, const std::vector<std::pair<std::string, std::string>>& cameras) {
  std::map<std::string, std::string> files = {{"actiond.json", daemon}};
  for (const auto& [name, content] : cameras) files["cameras/" + name] = content;
  return actiond::test::config_load_error(files);
}

}  // namespace

TEST_CASE("a valid configuration loads with defaults filled in", "[config]") {
  TempDir dir;
  dir.write("actiond.json", kDaemon);
  dir.write("cameras/door.json", camera(R"("id": "door", "uri": "file:///tmp/door.mp4", "fps": 2.5)"));
  dir.write("cameras/yard.json", camera(R"("id": "yard", "uri": "test://pattern")"));
  dir.write("cameras/notes.txt", "not a camera");
  auto cfg = load_config(dir.path());
  REQUIRE(cfg->cameras.size() == 2);
  CHECK(cfg->cameras[0].id == "door");
  CHECK(cfg->cameras[0].file == "cameras/door.json");
  CHECK(cfg->cameras[0].fps == 2.5);
  CHECK(cfg->cameras[1].fps == 5.0);
  CHECK(cfg->cameras[1].tracker.confirm_frames == 3);
  // Every socket binds loopback unless configured otherwise.
  CHECK(cfg->daemon.publish.endpoint == "tcp://127.0.0.1:7700");
  CHECK(cfg->daemon.control_endpoint == "tcp://127.0.0.1:7701");
  CHECK(cfg->daemon.metrics_host == "127.0.0.1");
  CHECK(cfg->daemon.inference.max_batch == 8);
  CHECK(cfg->daemon.models.at("bb").path == dir.path() / "models" / "backbone.pt");
  CHECK(cfg->find_camera("yard") != nullptr);
  CHECK(cfg->find_camera("gate") == nullptr);
}

TEST_CASE("config files may name their JSON Schema for editors, at the root only", "[config]") {
  TempDir dir;
  dir.write("actiond.json", R"({"$schema": "../../schema/actiond.schema.json",)" + std::string(kDaemon).substr(1));
  dir.write("cameras/door.json",
            camera(R"("$schema": "/usr/share/actiond/schema/camera.schema.json", "id": "door", "uri": "test://pattern")"));
  auto cfg = load_config(dir.path());
  CHECK(cfg->cameras.at(0).id == "door");
  CHECK(load_error(R"({"$schema": 7})", {}) ==
        "actiond.json: /$schema: must be a string (the URI or path of the JSON Schema this file follows)");
  CHECK(load_error(kDaemon, {{"door.json", camera(R"("$schema": ["x"], "id": "door", "uri": "test://pattern")")}}) ==
        "cameras/door.json: /$schema: must be a string (the URI or path of the JSON Schema this file follows)");
  // Only at the root, and not listed among the keys a misspelt one could have meant.
  CHECK(load_error(R"({"publish": {"$schema": "x"}})", {}) ==
        "actiond.json: /publish/$schema: unknown key (expected one of: endpoint, heartbeat_s, queue_capacity, sndhwm, startup_grace_ms)");
}

TEST_CASE("model_dir override is relative to the working directory", "[config]") {
  TempDir dir;
  dir.write("actiond.json", kDaemon);
  actiond::config::LoadOptions opts;
  opts.model_dir_override = "/opt/models";
  auto cfg = load_config(dir.path(), opts);
  CHECK(cfg->daemon.models.at("seg").path == "/opt/models/segmenter.pt");
  CHECK(cfg->cameras.empty());
}

TEST_CASE("config errors name the file and key path", "[config]") {
  struct Case {
    std::string daemon;
    std::string camera;
    std::string message;
  };
  const std::vector<Case> cases = {
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "fps": 0)"),
       "cameras/door.json: /fps: must be > 0, got 0"},
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "fps": "fast")"),
       "cameras/door.json: /fps: must be a number, got string"},
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "fps": 500)"),
       "cameras/door.json: /fps: must be between 0 and 120, got 500"},
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "fsp": 5)"),
       "cameras/door.json: /fsp: unknown key (expected one of: clips, decoder, decoder_threads, fps, id, latency_ms, loop, models, "
       "password_file, persons, queue_frames, realtime, recognition, reconnect, roi, skip_frames, stall_timeout_s, tracker, transport, uri, "
       "username)"},
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "skip_frames": "all")"),
       "cameras/door.json: /skip_frames: must be \"none\" or \"non_key\", got \"all\""},
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "decoder": "fast")"),
       "cameras/door.json: /decoder: must be \"gstreamer\" or \"analysis\", got \"fast\""},
      {kDaemon, camera(R"("uri": "file:///a.mp4")"), "cameras/door.json: /id: is required"},
      {kDaemon, camera(R"("id": "front door", "uri": "file:///a.mp4")"),
       "cameras/door.json: /id: must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, got \"front door\""},
      {kDaemon, camera(R"("id": "door", "uri": "ftp://host/a.mp4")"),
       "cameras/door.json: /uri: unsupported scheme \"ftp\" (supported: features, file, http, https, rtsp, rtsps, synthetic, test, v4l2)"},
      {kDaemon, camera(R"("id": "door", "uri": "features:///f.npy", "models": {"backbone": "bb", "segmenter": "seg"})", false),
       "cameras/door.json: /models/backbone: features:// cameras replay features and use no backbone"},
      {kDaemon, camera(R"("id": "door", "uri": "file:///a.mp4", "models": {"segmenter": "seg"})", false),
       "cameras/door.json: /models/backbone: is required"},
      {kDaemon, camera(R"("id": "door", "uri": "/videos/a.mp4")"),
       "cameras/door.json: /uri: must be a URI such as file:///path/video.mp4 or test://pattern, got \"/videos/a.mp4\""},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"confirm_frames": 0})"),
       "cameras/door.json: /tracker/confirm_frames: must be between 1 and 1000, got 0"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"threshold": 1.5})"),
       "cameras/door.json: /tracker/threshold: must be between 0 and 1, got 1.5"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"min_duration": 1})"),
       "cameras/door.json: /tracker/min_duration: unknown key (expected one of: boundary_confirm_frames, "
       "boundary_threshold, confirm_frames, max_duration_s, min_duration_s, onset_threshold, "
       "repetition_hysteresis, repetition_lookback_s, repetition_min_amplitude, repetition_min_interval_s, "
       "repetition_smooth_frames, repetition_source, repetition_threshold, threshold, update_interval_s)"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"repetition_source": "imu"})"),
       "cameras/door.json: /tracker/repetition_source: must be \"model\" or \"pose\", got \"imu\""},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"repetition_smooth_frames": 4})"),
       "cameras/door.json: /tracker/repetition_smooth_frames: must be odd (a centred average), got 4"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"repetition_hysteresis": 0})"),
       "cameras/door.json: /tracker/repetition_hysteresis: must be between 0.01 and 0.9, got 0"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"onset_threshold": -0.1})"),
       "cameras/door.json: /tracker/onset_threshold: must be between 0 and 1, got -0.1"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "tracker": {"min_duration_s": 2, "max_duration_s": 1})"),
       "cameras/door.json: /tracker/max_duration_s: must be 0 (no limit) or at least min_duration_s (2)"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "recognition": {"interval_s": 1})"),
       "cameras/door.json: /recognition: needs /models/recognizer"},
      {kDaemon,
       R"({"id": "door", "uri": "test://pattern", "models": {"backbone": "bb", "segmenter": "seg", "recognizer": "rec"}})",
       "cameras/door.json: /models/recognizer: unknown model \"rec\" (actiond.json /models has: bb, seg)"},
      {kDaemon,
       R"({"id": "door", "uri": "test://pattern", "models": {"backbone": "bb", "segmenter": "seg", "recognizer": "seg"},
           "recognition": {"top_k": 0}})",
       "cameras/door.json: /recognition/top_k: must be between 1 and 100, got 0"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "reconnect": {"initial_s": 5, "max_s": 1})"),
       "cameras/door.json: /reconnect/max_s: must be between 5 and 86400, got 1"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "roi": {"width": 10})"),
       "cameras/door.json: /roi/width: roi needs both width and height (or neither)"},
      {kDaemon, camera(R"("id": "door", "uri": "rtsp://cam/x", "transport": "sctp")"),
       "cameras/door.json: /transport: must be one of \"auto\", \"tcp\", or \"udp\", got \"sctp\""},
      {kDaemon, camera(R"("id": "door", "uri": "rtsp://cam/x", "password_file": "/nonexistent")"),
       "cameras/door.json: /password_file: needs \"username\" as well"},
      {kDaemon, camera(R"("id": "door", "uri": "rtsp://cam/x", "username": "u", "password_file": "/nonexistent/pw")"),
       "cameras/door.json: /password_file: cannot read \"/nonexistent/pw\""},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "queue_frames": 0)"),
       "cameras/door.json: /queue_frames: must be between 1 and 1024, got 0"},
      {kDaemon, camera(R"("id": "door", "uri": "test://pattern", "loop": "yes")"),
       "cameras/door.json: /loop: must be true or false, got string"},
      {kDaemon, R"({"id": "door", "uri": "test://pattern", "models": {"backbone": "big", "segmenter": "seg"}})",
       "cameras/door.json: /models/backbone: unknown model \"big\" (actiond.json /models has: bb, seg)"},
      {kDaemon, R"({"id": "door", "uri": "test://pattern"})", "cameras/door.json: /models: is required"},
      {kDaemon, R"({"id": "door", "uri": "test://pattern", "models": {"backbone": "bb"}})",
       "cameras/door.json: /models/segmenter: is required"},
      {kDaemon, "[1, 2]", "cameras/door.json: /: must be an object, got array"},
      {kDaemon, R"({"id": "door",)",
       "cameras/door.json: invalid JSON: parse error at line 1, column 15: syntax error while parsing object key - "
       "unexpected end of input; expected string literal"},
      {R"({"publish": {"endpoint": "udp://1.2.3.4:5"}})", "",
       "actiond.json: /publish/endpoint: must start with tcp:// or ipc://, got \"udp://1.2.3.4:5\""},
      {R"({"inference": {"max_batch": 0}})", "", "actiond.json: /inference/max_batch: must be between 1 and 256, got 0"},
      {R"({"inference": {"intra_op_threads": 1.5}})", "",
       "actiond.json: /inference/intra_op_threads: must be an integer, got 1.5"},
      {R"({"log": {"level": "loud"}})", "",
       "actiond.json: /log/level: must be one of trace, debug, info, warn, error, critical, off, got \"loud\""},
      {R"({"models": {"bb": {"file": "x.pt"}}})", "", "actiond.json: /models/bb/path: is required"},
      {R"({"modelz": {}})", "", "actiond.json: /modelz: unknown key (expected one of: api, clips, control, inference, journal, "
                                "log, metrics, model_dir, models, publish, reload, security, sinks, teach)"},
      {R"({"metrics": {"listen": "7702"}})", "",
       "actiond.json: /metrics/listen: must be HOST:PORT such as 127.0.0.1:7702, got \"7702\""},
      {R"({"metrics": {"listen": "localhost:99999"}})", "",
       "actiond.json: /metrics/listen: must be HOST:PORT such as 127.0.0.1:7702, got \"localhost:99999\""},
      {R"({"reload": {"debounce_ms": -1}})", "",
       "actiond.json: /reload/debounce_ms: must be between 0 and 60000, got -1"},
      {R"({"control": {"allow_reload": 1}})", "", "actiond.json: /control/allow_reload: must be true or false, got number"},
      {R"({"publish": {"sndhwm": 0}})", "", "actiond.json: /publish/sndhwm: must be between 1 and 10000000, got 0"},
      {R"({"journal": {"fsync": "sometimes"}})", "",
       "actiond.json: /journal/fsync: must be one of \"always\", \"batch\", or \"none\", got \"sometimes\""},
  };
  for (const auto& c : cases) {
    std::vector<std::pair<std::string, std::string>> cams;
    if (!c.camera.empty()) cams.emplace_back("door.json", c.camera);
    CHECK(load_error(c.daemon, cams) == c.message);
  }
}

TEST_CASE("duplicate camera ids are rejected naming both files", "[config]") {
  CHECK(load_error(kDaemon, {{"a.json", camera(R"("id": "door", "uri": "test://pattern")")},
                             {"b.json", camera(R"("id": "door", "uri": "test://pattern")")}}) ==
        "cameras/b.json: /id: duplicate camera id \"door\" (also in cameras/a.json)");
}

TEST_CASE("missing daemon file and directory", "[config]") {
  TempDir dir;
  CHECK_THROWS_WITH(load_config(dir.path()), Catch::StartsWith("actiond.json: cannot open file ("));
  CHECK_THROWS_WITH(load_config(dir.path() / "nope"), Catch::EndsWith("nope: not a directory"));
}

TEST_CASE("a relative file: URI is relative to the camera file's folder", "[config]") {
  TempDir dir;
  dir.write("actiond.json", kDaemon);
  dir.write("cameras/door.json", camera(R"("id": "door", "uri": "file:../videos/door.mp4")"));
  auto cfg = load_config(dir.path());
  CHECK(cfg->cameras[0].uri == "file://" + (std::filesystem::absolute(dir.path()) / "videos" / "door.mp4").lexically_normal().string());
}

TEST_CASE("tracker settings a camera does not set come from the segmenter's decoding", "[config]") {
  using actiond::config::parse_tracker_config;
  const auto camera_t = parse_tracker_config(nlohmann::json::parse(R"({"threshold": 0.8})"), "cameras/door.json", "/tracker");
  const auto model_t = parse_tracker_config(
      nlohmann::json::parse(R"({"threshold": 0.3, "confirm_frames": 5, "repetition_threshold": 0.4,
                                "repetition_source": "pose", "repetition_hysteresis": 0.3})"), "seg.pt", "/decoding");
  CHECK(camera_t.from_file == std::set<std::string>{"threshold"});
  const auto t = actiond::config::with_model_defaults(camera_t, model_t);
  CHECK(t.threshold == 0.8);                 // the camera's own
  CHECK(t.confirm_frames == 5);              // the model's
  CHECK(t.repetition_threshold == 0.4);      // the model's
  CHECK(t.min_duration_s == 1.0);            // neither: the default
  CHECK(t.repetition_source == actiond::config::RepetitionSource::pose);  // the model's
  CHECK(t.repetition_hysteresis == 0.3);
  CHECK(t.repetition_smooth_frames == 3);
  try {
    parse_tracker_config(nlohmann::json::parse(R"({"confirm": 2})"), "seg.pt: manifest.json", "/decoding");
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).rfind("seg.pt: manifest.json: /decoding/confirm: unknown key", 0) == 0);
  }
}

TEST_CASE("api and clips settings: defaults, values, exact errors", "[config][api]") {
  TempDir dir;
  dir.write("actiond.json", R"({"api": {"token_file": "tok", "read_token_file": "viewer", "max_streams": 3, "web": false},
                               "clips": {"dir": "/var/clips", "max_total_mb": 10, "max_age_h": 0.5},
                               "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}})");
  dir.write("tok", "abc \n");
  dir.write("viewer", "look\n");
  dir.write("cameras/door.json", camera(R"("id": "door", "uri": "test://pattern", "clips": {"enabled": true, "pre_s": 2})"));
  dir.write("cameras/yard.json", camera(R"("id": "yard", "uri": "test://pattern")"));
  const auto cfg = load_config(dir.path());
  CHECK(cfg->daemon.api.enabled);
  CHECK_FALSE(cfg->daemon.api.web);
  CHECK(cfg->daemon.api.token == "abc");
  CHECK(cfg->daemon.api.read_token == "look");
  CHECK(cfg->daemon.api.max_streams == 3);
  CHECK(cfg->daemon.clips.dir == "/var/clips");
  CHECK(cfg->daemon.clips.max_total_mb == 10);
  CHECK(cfg->daemon.clips.max_age_h == 0.5);
  CHECK(cfg->cameras[0].clips.enabled);
  CHECK(cfg->cameras[0].clips.pre_s == 2.0);
  CHECK(cfg->cameras[0].clips.post_s == 3.0);
  CHECK(cfg->cameras[0].clips.buffer_mb == 64);
  CHECK_FALSE(cfg->cameras[1].clips.enabled);

  TempDir plain;
  plain.write("actiond.json", kDaemon);
  const auto defaults = load_config(plain.path());
  CHECK(defaults->daemon.api.enabled);
  CHECK(defaults->daemon.api.token.empty());
  CHECK(defaults->daemon.clips.dir == plain.path() / "clips");
  CHECK(defaults->daemon.teach.dir == plain.path() / "teach");
  CHECK(defaults->daemon.teach.media_dir.empty());
  CHECK(defaults->daemon.teach.train_command.empty());

  TempDir teach;
  teach.write("actiond.json", R"({"teach": {"dir": "/var/teach", "media_dir": "videos", "train_command": "/opt/t"}})");
  teach.write("videos/a.mp4", "");
  const auto taught = load_config(teach.path());
  CHECK(taught->daemon.teach.dir == "/var/teach");
  CHECK(taught->daemon.teach.media_dir == teach.path() / "videos");
  CHECK(taught->daemon.teach.train_command == "/opt/t");

  TempDir same;
  same.write("actiond.json", R"({"api": {"token_file": "t", "read_token_file": "t"}})");
  same.write("t", "abc\n");
  CHECK_THROWS_WITH(load_config(same.path()), "actiond.json: /api/read_token_file: holds the same token as token_file "
                                              "(a read-only token must differ)");

  const std::vector<std::pair<std::string, std::string>> daemon_cases = {
      {R"({"api": {"max_streams": 0}})", "actiond.json: /api/max_streams: must be between 1 and 64, got 0"},
      {R"({"api": {"token": "x"}})", "actiond.json: /api/token: unknown key (expected one of: enabled, max_streams, read_token_file, token_file, web)"},
      {R"({"api": {"token_file": "missing"}})", "actiond.json: /api/token_file: cannot read \"DIR/missing\""},
      {R"({"clips": {"max_total_mb": 0}})", "actiond.json: /clips/max_total_mb: must be between 1 and 104857600, got 0"},
      {R"({"clips": {"keep": 1}})", "actiond.json: /clips/keep: unknown key (expected one of: dir, max_age_h, max_total_mb)"},
      {R"({"teach": {"media": "x"}})", "actiond.json: /teach/media: unknown key (expected one of: dir, media_dir, train_command)"},
      {R"({"teach": {"media_dir": "/nonexistent/videos"}})",
       "actiond.json: /teach/media_dir: no such directory: /nonexistent/videos"},
  };
  for (const auto& [daemon, message] : daemon_cases) {
    INFO(daemon);
    std::string got = load_error(daemon, {});
    const auto dir_at = got.find(std::filesystem::temp_directory_path().string());
    if (dir_at != std::string::npos) got.replace(dir_at, got.find("/missing") - dir_at, "DIR");
    CHECK(got == message);
  }
  const std::vector<std::pair<std::string, std::string>> camera_cases = {
      {camera(R"("id": "door", "uri": "test://pattern", "clips": {"pre_s": 61})"),
       "cameras/door.json: /clips/pre_s: must be between 0 and 60, got 61"},
      {camera(R"("id": "door", "uri": "test://pattern", "clips": {"buffer_mb": 0})"),
       "cameras/door.json: /clips/buffer_mb: must be between 1 and 1024, got 0"},
      {camera(R"("id": "door", "uri": "test://pattern", "clips": {"main_uri": "rtsp://x"})"),
       "cameras/door.json: /clips/main_uri: unknown key (expected one of: buffer_mb, enabled, post_s, pre_s, record_uri)"},
      {camera(R"("id": "door", "uri": "test://pattern", "clips": {"record_uri": "ftp://x/y"})"),
       "cameras/door.json: /clips/record_uri: must be an rtsp://, rtsps://, http(s):// or file:// URI, got \"ftp://x/y\""},
  };
  for (const auto& [cam, message] : camera_cases) {
    INFO(cam);
    CHECK(load_error(kDaemon, {{"door.json", cam}}) == message);
  }
}
