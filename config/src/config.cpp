#include "actiond/config/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <type_traits>

namespace actiond::config {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSchemes = {"features", "file", "http", "https", "rtsp", "rtsps", "synthetic", "test", "v4l2"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Every tracker key, once: its field and its range (enum fields: their names). Parsing, the keys a
// file set, and the model's defaults all walk this one list.
template <typename F>
void for_each_tracker_field(F&& f) {
  using T = TrackerConfig;
  f("threshold", &T::threshold, 0.0, 1.0);
  f("confirm_frames", &T::confirm_frames, 1, 1000);
  f("boundary_confirm_frames", &T::boundary_confirm_frames, 1, 1000);
  f("min_duration_s", &T::min_duration_s, 0.0, 86400.0);
  f("boundary_threshold", &T::boundary_threshold, 0.0, 1.0);
  f("update_interval_s", &T::update_interval_s, 0.0, 3600.0);
  f("max_duration_s", &T::max_duration_s, 0.0, 604800.0);
  f("repetition_threshold", &T::repetition_threshold, 0.0, 1.0);
  f("repetition_min_interval_s", &T::repetition_min_interval_s, 0.0, 3600.0);
  f("onset_threshold", &T::onset_threshold, 0.0, 1.0);
  f("repetition_source", &T::repetition_source, 0, 0);
  f("repetition_smooth_frames", &T::repetition_smooth_frames, 1, 31);
  f("repetition_hysteresis", &T::repetition_hysteresis, 0.01, 0.9);
  f("repetition_min_amplitude", &T::repetition_min_amplitude, 0.0, 10.0);
  f("repetition_lookback_s", &T::repetition_lookback_s, 0.0, 10.0);
}

TrackerConfig parse_tracker(ObjectReader r) {
  TrackerConfig t;
  for_each_tracker_field([&](const char* key, auto TrackerConfig::*field, auto lo, auto hi) {
    using V = std::remove_reference_t<decltype(t.*field)>;
    if constexpr (std::is_same_v<V, double>) {
      t.*field = r.number_in(key, t.*field, lo, hi);
    } else if constexpr (std::is_same_v<V, int>) {
      t.*field = r.integer_in(key, t.*field, lo, hi);
    } else {
      t.*field = r.choice(key, t.*field, kRepetitionSourceNames);
    }
    if (r.has(key)) t.from_file.insert(key);
  });
  if (t.repetition_smooth_frames % 2 == 0) {
    r.fail("repetition_smooth_frames", "must be odd (a centred average), got " + std::to_string(t.repetition_smooth_frames));
  }
  if (t.max_duration_s > 0 && t.max_duration_s < t.min_duration_s) {
    r.fail("max_duration_s", "must be 0 (no limit) or at least min_duration_s (" + format_number(t.min_duration_s) + ")");
  }
  r.finish();
  return t;
}

std::string model_ref(ObjectReader& r, const std::string& key, const DaemonConfig& daemon) {
  std::string name = r.required_string(key);
  if (daemon.models.count(name) == 0) {
    std::vector<std::string> names;
    for (const auto& [n, m] : daemon.models) names.push_back(n);
    r.fail(key, "unknown model \"" + name + "\" (actiond.json /models has: " +
                    (names.empty() ? std::string("none") : join(names)) + ")");
  }
  return name;
}

}  // namespace

TrackerConfig parse_tracker_config(const nlohmann::json& j, const std::string& label, const std::string& pointer) {
  return parse_tracker(ObjectReader(j, label, pointer));
}

TrackerConfig with_model_defaults(const TrackerConfig& camera, const TrackerConfig& model) {
  TrackerConfig t = camera;
  for_each_tracker_field([&](const char* key, auto TrackerConfig::*field, auto, auto) {
    if (camera.from_file.count(key) == 0 && model.from_file.count(key) != 0) t.*field = model.*field;
  });
  return t;
}

double ReconnectConfig::backoff_s(int attempt, double unit_random, double jitter) const {
  const double capped = std::min(max_s, initial_s * std::pow(2.0, std::max(0, attempt - 1)));
  return std::min(max_s, capped * (1.0 - jitter + 2.0 * jitter * unit_random));
}

std::string uri_scheme(const std::string& uri) {
  static const std::regex re("^([A-Za-z][A-Za-z0-9+.-]*)://");
  std::smatch m;
  if (!std::regex_search(uri, m, re)) return "";
  std::string s = m[1];
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const CameraConfig* Config::find_camera(const std::string& id) const {
  for (const auto& c : cameras) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// Z85 keys, one per line ('#' comments and blank lines ignored). Fails via `r` naming `key` when
// the file cannot be read or a line is not a 40-character Z85 key.
static std::vector<std::string> read_z85_keys(ObjectReader& r, const std::string& key, const std::string& file,
                                       const fs::path& path) {
  std::ifstream in(path);
  if (!in) r.fail(key, "cannot read \"" + file + "\"");
  static const std::string alphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  std::vector<std::string> keys;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first);
    if (line.size() != 40 || line.find_first_not_of(alphabet) != std::string::npos) {
      r.fail(key, "\"" + file + "\" line " + std::to_string(number) + " is not a Z85 key (40 characters)");
    }
    keys.push_back(line);
  }
  return keys;
}

// One reader per section of actiond.json and of a camera file (each finishes its section).
namespace {

void read_publish(ObjectReader p, DaemonConfig& d, const fs::path& /*config_dir*/) {
  d.publish.endpoint = p.endpoint("endpoint", d.publish.endpoint);
  d.publish.sndhwm = p.integer_in("sndhwm", d.publish.sndhwm, 1, 10000000);
  d.publish.queue_capacity = p.integer_in("queue_capacity", d.publish.queue_capacity, 16, 10000000);
  d.publish.heartbeat_s = p.number_in("heartbeat_s", d.publish.heartbeat_s, 0, 3600);
  d.publish.startup_grace_ms = p.integer_in("startup_grace_ms", d.publish.startup_grace_ms, 0, 10000);
  p.finish();
}

void read_inference(ObjectReader inf, DaemonConfig& d, const fs::path& /*config_dir*/) {
  d.inference.intra_op_threads = inf.integer_in("intra_op_threads", d.inference.intra_op_threads, 1, 256);
  d.inference.inter_op_threads = inf.integer_in("inter_op_threads", d.inference.inter_op_threads, 1, 256);
  d.inference.max_batch = inf.integer_in("max_batch", d.inference.max_batch, 1, 256);
  d.inference.max_wait_ms = inf.integer_in("max_wait_ms", d.inference.max_wait_ms, 0, 1000);
  d.inference.decoder_nice = inf.integer_in("decoder_nice", d.inference.decoder_nice, 0, 19);
  inf.finish();
}

void read_control(ObjectReader c, DaemonConfig& d, const fs::path& /*config_dir*/) {
  d.control_endpoint = c.endpoint("endpoint", d.control_endpoint);
  d.control_allow_reload = c.boolean("allow_reload", d.control_allow_reload);
  c.finish();
}

void read_metrics(ObjectReader m, DaemonConfig& d, const fs::path& /*config_dir*/) {
  d.metrics_enabled = m.boolean("enabled", d.metrics_enabled);
  const std::string listen = m.string("listen", d.metrics_host + ":" + std::to_string(d.metrics_port));
  const auto colon = listen.rfind(':');
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    m.fail("listen", "must be HOST:PORT such as 127.0.0.1:7702, got \"" + listen + "\"");
  }
  d.metrics_host = listen.substr(0, colon);
  d.metrics_port = std::stoi(port);
  m.finish();
}

void read_clips(ObjectReader cs, DaemonConfig& d, const fs::path& config_dir) {
  const fs::path dir = cs.string("dir", "clips");
  d.clips.dir = fs::absolute(dir.is_absolute() ? dir : config_dir / dir).lexically_normal();
  d.clips.max_total_mb = cs.integer_in("max_total_mb", d.clips.max_total_mb, 1, 100 * 1024 * 1024);
  d.clips.max_age_h = cs.number_in("max_age_h", d.clips.max_age_h, 0.001, 100000.0);
  cs.finish();
}

void read_teach(ObjectReader t, DaemonConfig& d, const fs::path& config_dir) {
  const auto folder = [&](const fs::path& p) { return fs::absolute(p.is_absolute() ? p : config_dir / p).lexically_normal(); };
  d.teach.dir = folder(t.string("dir", "teach"));
  const std::string media = t.string("media_dir", "");
  if (!media.empty()) {
    d.teach.media_dir = folder(media);
    if (!fs::is_directory(d.teach.media_dir)) t.fail("media_dir", "no such directory: " + d.teach.media_dir.string());
  }
  d.teach.train_command = t.string("train_command", "");
  t.finish();
}

void read_api(ObjectReader a, DaemonConfig& d, const fs::path& config_dir) {
  d.api.enabled = a.boolean("enabled", d.api.enabled);
  d.api.web = a.boolean("web", d.api.web);
  d.api.token = a.secret_file("token_file", config_dir);
  d.api.read_token = a.secret_file("read_token_file", config_dir);
  if (!d.api.read_token.empty() && d.api.read_token == d.api.token) {
    a.fail("read_token_file", "holds the same token as token_file (a read-only token must differ)");
  }
  d.api.max_streams = a.integer_in("max_streams", d.api.max_streams, 1, 64);
  a.finish();
}

void read_reload(ObjectReader rl, DaemonConfig& d, const fs::path& /*config_dir*/) {
  d.reload_watch = rl.boolean("watch", d.reload_watch);
  d.reload_debounce_ms = rl.integer_in("debounce_ms", d.reload_debounce_ms, 0, 60000);
  rl.finish();
}

void read_security(ObjectReader s, DaemonConfig& d, const fs::path& config_dir) {
  auto resolve = [&](const std::string& f) {
    const fs::path p = f;
    return p.is_absolute() ? p : config_dir / p;
  };
  const std::string secret_file = s.string("curve_secret_key_file", "");
  const std::string clients_file = s.string("allowed_clients_file", "");
  if (!secret_file.empty()) {
    const auto keys = read_z85_keys(s, "curve_secret_key_file", secret_file, resolve(secret_file));
    if (keys.size() != 1) s.fail("curve_secret_key_file", "\"" + secret_file + "\" must hold exactly one key");
    d.security.curve_secret_key = keys.front();
  }
  if (!clients_file.empty()) {
    if (secret_file.empty()) s.fail("allowed_clients_file", "needs \"curve_secret_key_file\" as well");
    d.security.allowed_clients = read_z85_keys(s, "allowed_clients_file", clients_file, resolve(clients_file));
    if (d.security.allowed_clients.empty()) s.fail("allowed_clients_file", "\"" + clients_file + "\" lists no key");
  }
  s.finish();
}

void read_journal(ObjectReader jr, DaemonConfig& d, const fs::path& config_dir) {
  d.journal.enabled = jr.boolean("enabled", d.journal.enabled);
  const fs::path dir = jr.string("dir", "journal");
  d.journal.dir = fs::absolute(dir.is_absolute() ? dir : config_dir / dir).lexically_normal();
  d.journal.fsync = jr.choice("fsync", d.journal.fsync, kFsyncPolicyNames);
  d.journal.max_file_mb = jr.integer_in("max_file_mb", d.journal.max_file_mb, 1, 4096);
  d.journal.max_files = jr.integer_in("max_files", d.journal.max_files, 1, 100000);
  d.journal.sink_backlog_max_mb =
      jr.integer_in("sink_backlog_max_mb", d.journal.sink_backlog_max_mb, 1, 100 * 1024 * 1024);
  jr.finish();
}

void read_log(ObjectReader log, DaemonConfig& d, const fs::path& /*config_dir*/) {
  d.log_level = log.string("level", d.log_level);
  if (std::find(kLogLevels.begin(), kLogLevels.end(), d.log_level) == kLogLevels.end()) {
    log.fail("level", "must be one of " + join(kLogLevels) + ", got \"" + d.log_level + "\"");
  }
  log.finish();
}

void read_camera_roi(ObjectReader roi, CameraConfig& c, const DaemonConfig& /*daemon*/) {
  c.roi.x = roi.integer_in("x", 0, 0, 100000);
  c.roi.y = roi.integer_in("y", 0, 0, 100000);
  c.roi.width = roi.integer_in("width", 0, 0, 100000);
  c.roi.height = roi.integer_in("height", 0, 0, 100000);
  if ((c.roi.width == 0) != (c.roi.height == 0)) roi.fail("width", "roi needs both width and height (or neither)");
  roi.finish();
}

void read_camera_reconnect(ObjectReader rc, CameraConfig& c, const DaemonConfig& /*daemon*/) {
  c.reconnect.initial_s = rc.number_in("initial_s", c.reconnect.initial_s, 0.01, 3600);
  c.reconnect.max_s = rc.number_in("max_s", c.reconnect.max_s, c.reconnect.initial_s, 86400);
  c.reconnect.max_attempts = rc.integer_in("max_attempts", c.reconnect.max_attempts, 0, 1000000);
  rc.finish();
}

void read_camera_models(ObjectReader m, CameraConfig& c, const DaemonConfig& daemon) {
  if (uri_scheme(c.uri) == "features") {
    // Rows of the file go straight into the ring buffer.
    if (m.has("backbone")) m.fail("backbone", "features:// cameras replay features and use no backbone");
    if (m.has("pose")) m.fail("pose", "features:// cameras replay features and use no pose model");
  } else if (m.has("pose")) {
    if (m.has("backbone")) m.fail("backbone", "a camera uses a backbone or a pose model, not both");
    c.models.pose = model_ref(m, "pose", daemon);
  } else {
    c.models.backbone = model_ref(m, "backbone", daemon);
  }
  // With a pose model the segmenter is optional (tracks only) and reads per-person pose features.
  if (c.models.pose.empty() || m.has("segmenter")) c.models.segmenter = model_ref(m, "segmenter", daemon);
  if (m.has("recognizer")) {
    if (!c.models.pose.empty()) m.fail("recognizer", "per-person recognizers are not supported; use a segmenter");
    c.models.recognizer = model_ref(m, "recognizer", daemon);
  }
  m.finish();
}

void read_camera_persons(ObjectReader p, CameraConfig& c, const DaemonConfig& /*daemon*/) {
  auto& pc = c.persons;
  pc.birth_frames = p.integer_in("birth_frames", pc.birth_frames, 1, 1000);
  pc.death_frames = p.integer_in("death_frames", pc.death_frames, 0, 100000);
  pc.max_tracks = p.integer_in("max_tracks", pc.max_tracks, 1, 64);
  pc.min_score = p.number_in("min_score", pc.min_score, 0.0, 1.0);
  pc.min_keypoint_score = p.number_in("min_keypoint_score", pc.min_keypoint_score, 0.0, 1.0);
  pc.min_similarity = p.number_in("min_similarity", pc.min_similarity, 0.0, 1.0);
  pc.scene_cut = p.number_in("scene_cut", pc.scene_cut, 0.0, 255.0);
  pc.follow = p.boolean("follow", pc.follow);
  ObjectReader g = p.object("gate");
  pc.gate.enabled = g.boolean("enabled", pc.gate.enabled);
  pc.gate.threshold = g.number_in("threshold", pc.gate.threshold, 0.0, 255.0);
  pc.gate.max_skip = g.integer_in("max_skip", pc.gate.max_skip, 0, 1000);
  g.finish();
  p.finish();
}

void read_camera_recognition(ObjectReader rec, CameraConfig& c, const DaemonConfig& /*daemon*/) {
  c.recognition.interval_s = rec.number_in("interval_s", c.recognition.interval_s, 0.05, 3600);
  c.recognition.top_k = rec.integer_in("top_k", c.recognition.top_k, 1, 100);
  c.recognition.min_confidence = rec.number_in("min_confidence", c.recognition.min_confidence, 0.0, 1.0);
  rec.finish();
}

void read_camera_clips(ObjectReader cl, CameraConfig& c, const DaemonConfig& /*daemon*/) {
  c.clips.enabled = cl.boolean("enabled", c.clips.enabled);
  c.clips.pre_s = cl.number_in("pre_s", c.clips.pre_s, 0.0, 60.0);
  c.clips.post_s = cl.number_in("post_s", c.clips.post_s, 0.0, 60.0);
  c.clips.buffer_mb = cl.integer_in("buffer_mb", c.clips.buffer_mb, 1, 1024);
  c.clips.record_uri = cl.string("record_uri", "");
  if (!c.clips.record_uri.empty()) {
    const auto& u = c.clips.record_uri;
    const bool known = u.rfind("rtsp://", 0) == 0 || u.rfind("rtsps://", 0) == 0 || u.rfind("http://", 0) == 0 ||
                       u.rfind("https://", 0) == 0 || u.rfind("file://", 0) == 0;
    if (!known) cl.fail("record_uri", "must be an rtsp://, rtsps://, http(s):// or file:// URI, got \"" + u + "\"");
  }
  cl.finish();
}

}  // namespace

DaemonConfig parse_daemon_config(const nlohmann::json& j, const std::string& label, const fs::path& config_dir,
                                 const LoadOptions& options) {
  DaemonConfig d;
  ObjectReader root(j, label, "");
  root.accept_schema_key();

  read_publish(root.object("publish"), d, config_dir);
  read_inference(root.object("inference"), d, config_dir);
  read_control(root.object("control"), d, config_dir);
  read_metrics(root.object("metrics"), d, config_dir);
  read_clips(root.object("clips"), d, config_dir);
  read_api(root.object("api"), d, config_dir);
  read_teach(root.object("teach"), d, config_dir);
  read_reload(root.object("reload"), d, config_dir);
  read_security(root.object("security"), d, config_dir);
  read_journal(root.object("journal"), d, config_dir);
  d.sinks = parse_sinks(root, config_dir);
  d.cluster = parse_cluster(root);
  if (d.cluster.enabled && !d.sinks.empty()) {
    root.fail("cluster", "cannot be used with \"sinks\": in cluster mode events go to JetStream stream \"" +
                             d.cluster.stream + "\"; deliver onwards from there");
  }
  if (d.cluster.enabled && !d.journal.enabled) root.fail("cluster", "needs the journal (\"journal\": {\"enabled\": true})");
  if (!d.sinks.empty() && !d.journal.enabled) {
    root.fail("sinks", "need the journal (\"journal\": {\"enabled\": true}): sinks deliver from it");
  }
  read_log(root.object("log"), d, config_dir);

  // model_dir in the file is relative to the config directory; the override to the working directory.
  const fs::path model_dir = root.string("model_dir", "models");
  d.model_dir = options.model_dir_override.empty()
                    ? fs::absolute(model_dir.is_absolute() ? model_dir : config_dir / model_dir).lexically_normal()
                    : fs::absolute(options.model_dir_override).lexically_normal();

  root.each_object("models", [&](const std::string& name, ObjectReader& m) {
    static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
    if (!std::regex_match(name, name_re)) {
      throw ConfigError(label + ": /models/" + name + ": model name must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    }
    fs::path path = m.required_string("path");
    ModelEntry e{name, (path.is_absolute() ? path : d.model_dir / path).lexically_normal()};
    d.models.emplace(name, std::move(e));
  });

  root.finish();
  return d;
}

CameraConfig parse_camera_config(const nlohmann::json& j, const std::string& label, const DaemonConfig& daemon,
                                 const std::filesystem::path& folder) {
  CameraConfig c;
  c.file = label;
  ObjectReader r(j, label, "");
  r.accept_schema_key();

  c.id = r.required_string("id");
  static const std::regex id_re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
  if (!std::regex_match(c.id, id_re)) {
    r.fail("id", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, got \"" + c.id + "\"");
  }

  c.uri = r.required_string("uri");
  // file:relative/path (no "//"): relative to the camera file's folder, e.g. videos kept beside the config.
  if (c.uri.rfind("file:", 0) == 0 && c.uri.rfind("file://", 0) != 0 && c.uri.size() > 5 && c.uri[5] != '/') {
    const auto base = std::filesystem::absolute(folder);
    c.uri = "file://" + (base / c.uri.substr(5)).lexically_normal().string();
  }
  std::string scheme = uri_scheme(c.uri);
  if (scheme.empty()) r.fail("uri", "must be a URI such as file:///path/video.mp4 or test://pattern, got \"" + c.uri + "\"");
  if (std::find(kSchemes.begin(), kSchemes.end(), scheme) == kSchemes.end()) {
    r.fail("uri", "unsupported scheme \"" + scheme + "\" (supported: " + join(kSchemes) + ")");
  }

  c.fps = r.number("fps", c.fps);
  require_greater(r, "fps", c.fps, 0.0);
  require_range(r, "fps", c.fps, 0.0, 120.0);
  c.realtime = r.boolean("realtime", c.realtime);
  c.queue_frames = r.integer_in("queue_frames", c.queue_frames, 1, 1024);

  c.loop = r.boolean("loop", c.loop);
  c.transport = r.choice("transport", c.transport, kTransportNames);
  c.latency_ms = r.integer_in("latency_ms", c.latency_ms, 0, 60000);
  c.username = r.string("username", "");
  const std::string password_file = r.string("password_file", "");
  if (!password_file.empty()) {
    if (c.username.empty()) r.fail("password_file", "needs \"username\" as well");
    std::ifstream in(password_file);
    if (!in) r.fail("password_file", "cannot read \"" + password_file + "\"");
    std::getline(in, c.password);
    while (!c.password.empty() && (c.password.back() == '\r' || c.password.back() == ' ')) c.password.pop_back();
  }
  c.decoder_threads = r.integer_in("decoder_threads", c.decoder_threads, 0, 64);
  c.skip_frames = r.choice("skip_frames", c.skip_frames, kSkipFramesNames);
  c.decoder = r.choice("decoder", c.decoder, kDecoderPathNames);
  read_camera_roi(r.object("roi"), c, daemon);
  read_camera_reconnect(r.object("reconnect"), c, daemon);
  c.stall_timeout_s = r.number_in("stall_timeout_s", c.stall_timeout_s, 0.2, 3600);

  if (!r.has("models")) r.fail("models", "is required");
  read_camera_models(r.object("models"), c, daemon);
  if (r.has("persons") && c.models.pose.empty()) r.fail("persons", "needs /models/pose");
  read_camera_persons(r.object("persons"), c, daemon);
  if (r.has("recognition") && c.models.recognizer.empty()) r.fail("recognition", "needs /models/recognizer");
  read_camera_recognition(r.object("recognition"), c, daemon);
  read_camera_clips(r.object("clips"), c, daemon);
  c.tracker = parse_tracker(r.object("tracker"));
  r.finish();
  return c;
}

std::shared_ptr<const Config> load_config(const fs::path& dir, const LoadOptions& options) {
  auto cfg = std::make_shared<Config>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ConfigError(dir.string() + ": not a directory");
  cfg->dir = fs::absolute(dir).lexically_normal();
  cfg->options = options;

  const fs::path daemon_file = cfg->dir / "actiond.json";
  if (!fs::exists(daemon_file)) throw ConfigError("actiond.json: cannot open file (" + daemon_file.string() + " does not exist)");
  cfg->daemon = parse_daemon_config(read_json_file(daemon_file.string(), "actiond.json"), "actiond.json", cfg->dir, options);

  const fs::path cam_dir = cfg->dir / "cameras";
  std::vector<fs::path> files;
  if (fs::is_directory(cam_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(cam_dir)) {
      const auto& p = entry.path();
      if (p.extension() == ".json" && p.filename().string()[0] != '.' && entry.is_regular_file()) files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (cfg->daemon.cluster.enabled && !files.empty()) {
    throw ConfigError("actiond.json: /cluster: cameras come from etcd in cluster mode, but " + cam_dir.string() + " has " +
                      std::to_string(files.size()) + " camera file(s); add them with `actionctl cluster put`");
  }

  std::map<std::string, std::string> seen;  // id -> file
  for (const auto& p : files) {
    std::string label = "cameras/" + p.filename().string();
    CameraConfig cam = parse_camera_config(read_json_file(p.string(), label), label, cfg->daemon, p.parent_path());
    auto [it, inserted] = seen.emplace(cam.id, label);
    if (!inserted) throw ConfigError(label + ": /id: duplicate camera id \"" + cam.id + "\" (also in " + it->second + ")");
    cfg->cameras.push_back(std::move(cam));
  }
  return cfg;
}

}  // namespace actiond::config
