// actionctl: command-line client of actiond.
//   actionctl events [--endpoint tcp://127.0.0.1:7700] [--topic door/] [--seconds 30] [--count 10]
//       prints every event as one JSON line on stdout;
//   actionctl tail [--camera C] [--type T] [--json]    the same, one readable line per event;
//   actionctl status | cameras | snapshot | reload | models [--control tcp://127.0.0.1:7701]
//   actionctl promote MODEL FILE | rollback MODEL | shadow CAMERA FILE | shadow CAMERA --stop
//   actionctl replay --camera C --from N [--max M]      journaled events, one JSON line each.
//   actionctl datasets | dataset NAME [--csv] | import NAME FILE [--replace]   labelled datasets (docs/TEACH.md)
//   actionctl train DATASET [--camera C] [--follow] | jobs | job ID [--follow] | cancel   training jobs
//   actionctl cluster put|rm|ls|status|events [--config /etc/actiond]   cluster mode (actionctl_cluster.hpp)
// With CURVE on the daemon: --server-key KEY|@FILE (its public key) and --client-key FILE (our secret key).
#include "actionctl_cluster.hpp"
#include "actiond/config/event_kinds.hpp"
#include "actiond/config/version.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// CURVE client settings, empty when the daemon's sockets are plain.
struct Curve {
  std::string server_public;  // Z85
  std::string client_secret;  // Z85
  std::string client_public;  // Z85, derived from the secret

  void apply(zmq::socket_t& sock) const {
    if (server_public.empty()) return;
    sock.set(zmq::sockopt::curve_serverkey, server_public);
    sock.set(zmq::sockopt::curve_publickey, client_public);
    sock.set(zmq::sockopt::curve_secretkey, client_secret);
  }
};

// A key given inline or as @FILE (first line that is not a comment).
std::string read_key(const std::string& value, const std::string& what) {
  std::string key = value;
  if (!value.empty() && value[0] == '@') {
    std::ifstream in(value.substr(1));
    if (!in) throw std::runtime_error(what + ": cannot read " + value.substr(1));
    std::string line;
    key.clear();
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && line[0] != '#') {
        key = line;
        break;
      }
    }
  }
  if (key.size() != 40) throw std::runtime_error(what + ": expected a 40-character Z85 key");
  return key;
}

Curve make_curve(const std::string& server_key, const std::string& client_key) {
  Curve c;
  if (server_key.empty() && client_key.empty()) return c;
  if (server_key.empty() || client_key.empty()) {
    throw std::runtime_error("CURVE needs both --server-key and --client-key");
  }
  c.server_public = read_key(server_key, "--server-key");
  c.client_secret = read_key("@" + client_key, "--client-key");
  char pub[41] = {};
  if (zmq_curve_public(pub, c.client_secret.c_str()) != 0) throw std::runtime_error("--client-key: not a valid secret key");
  c.client_public = pub;
  return c;
}

// "12:30:01.123 door #41 segment.start pour 0.87 [door-9a1f...]"; events about a person end with
// "person <track id>"; track events show the track's box (picture fractions).
std::string pretty(const nlohmann::json& e) {
  using actiond::config::EventType;
  const std::string type = e.value("type", "?");
  const auto kind = actiond::config::event_type_of(e);
  const std::string at = e.value("emitted_at", "");
  std::string line = (at.size() >= 23 ? at.substr(11, 12) : at) + " " + e.value("camera", "?") + " #" +
                     std::to_string(e.value("seq", 0)) + " " + type;
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", v);
    return std::string(buf);
  };
  if (kind && actiond::config::is_segment_event(*kind) && e.contains("segment")) {
    const auto& s = e["segment"];
    line += " " + s.value("label", "?") + " " + num(s.value("confidence", 0.0)) + " [" + s.value("id", "") + "]";
    if (s.contains("repetitions")) line += " reps " + std::to_string(s.value("repetitions", 0));
    if (s.contains("duration_s") && s["duration_s"].is_number()) line += " for " + num(s["duration_s"].get<double>()) + " s";
    if (s.contains("end_reason") && s["end_reason"].is_string()) line += " " + s["end_reason"].get<std::string>();
  } else if (kind == EventType::repetition) {
    line += " " + e.value("label", "?") + " #" + std::to_string(e.value("count", 0)) + " " + num(e.value("score", 0.0));
  } else if (kind == EventType::boundary) {
    line += " " + e.value("from", "?") + " -> " + e.value("to", "?") + " " + num(e.value("score", 0.0));
  } else if (kind == EventType::recognition) {
    line += " " + e.value("label", "?") + " " + num(e.value("confidence", 0.0));
  } else if (kind == EventType::stream_status) {
    line += " " + e.value("state", "?");
    if (!e.value("reason", "").empty()) line += " (" + e.value("reason", "") + ")";
  } else if (kind == EventType::heartbeat) {
    line += " " + e.value("state", "?");
  } else if ((kind == EventType::track_start || kind == EventType::track_end) && e.contains("track")) {
    const auto& t = e["track"];
    line += " person " + std::to_string(t.value("track_id", 0)) + " score " + num(t.value("score", 0.0));
    if (t.contains("box") && t["box"].is_array() && t["box"].size() == 4) {
      line += " box [" + num(t["box"][0].get<double>()) + "," + num(t["box"][1].get<double>()) + "," +
              num(t["box"][2].get<double>()) + "," + num(t["box"][3].get<double>()) + "]";
    }
    if (t.contains("end_reason")) line += " " + t.value("end_reason", "") + " after " + std::to_string(t.value("frames", 0)) + " frames";
  }
  if (e.contains("subject") && e["subject"].is_object()) line += " person " + std::to_string(e["subject"].value("track_id", 0));
  return line + " pts " + num(e.value("pts", 0.0));
}

int run_events(const std::string& endpoint, const std::vector<std::string>& topics, double seconds, long count,
               bool raw, bool readable, const Curve& curve, const std::string& type_prefix = "") {
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  curve.apply(sub);
  sub.set(zmq::sockopt::rcvtimeo, 200);
  sub.set(zmq::sockopt::linger, 0);
  if (topics.empty()) {
    sub.set(zmq::sockopt::subscribe, "");
  } else {
    for (const auto& t : topics) sub.set(zmq::sockopt::subscribe, t);
  }
  sub.connect(endpoint);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long received = 0;
  while (g_stop == 0 && (seconds <= 0 || std::chrono::steady_clock::now() < deadline) &&
         (count <= 0 || received < count)) {
    zmq::message_t topic;
    zmq::message_t body;
    try {
      if (!sub.recv(topic)) continue;  // timeout
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;  // a signal: the loop condition decides
      throw;
    }
    if (!topic.more() || !sub.recv(body)) {
      std::cerr << "actionctl: malformed message (expected topic + body)\n";
      continue;
    }
    if (!type_prefix.empty()) {
      const std::string t = topic.to_string();
      const auto slash = t.find('/');
      if (slash == std::string::npos || t.compare(slash + 1, type_prefix.size(), type_prefix) != 0) continue;
    }
    if (raw) {
      std::cout << body.to_string() << "\n";
    } else if (readable) {
      auto j = nlohmann::json::parse(body.to_string(), nullptr, false);
      std::cout << (j.is_object() ? pretty(j) : topic.to_string() + " (not JSON)") << "\n";
    } else {
      auto j = nlohmann::json::parse(body.to_string(), nullptr, false);
      if (j.is_discarded()) {
        std::cerr << "actionctl: event on " << topic.to_string() << " is not JSON\n";
        continue;
      }
      std::cout << j.dump() << "\n";
    }
    std::cout.flush();
    ++received;
  }
  return 0;
}

// One request on the control socket; prints the reply. Exit status 0 when the daemon answered ok.
// `timeout_s`: how long to wait for the reply (a reload loads models and restarts cameras first).
// One request on the control socket; its reply when "ok", else nothing (the error printed).
std::optional<nlohmann::json> ask(const std::string& endpoint, const nlohmann::json& request, const Curve& curve,
                                  int timeout_s = 5) {
  zmq::context_t ctx(1);
  zmq::socket_t req(ctx, zmq::socket_type::req);
  curve.apply(req);
  req.set(zmq::sockopt::rcvtimeo, timeout_s * 1000);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  req.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!req.recv(reply)) {
    std::cerr << "actionctl: no reply from " << endpoint << " within " << timeout_s << " s (is actiond running?)\n";
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(reply.to_string(), nullptr, false);
  if (j.is_discarded()) {
    std::cerr << "actionctl: reply is not JSON\n";
    return std::nullopt;
  }
  if (!j.value("ok", false)) {
    std::cerr << "actionctl: " << j.value("error", std::string("request failed")) << "\n";
    return std::nullopt;
  }
  return j;
}

int run_control(const std::string& endpoint, const nlohmann::json& request, bool events_as_lines, const Curve& curve,
                int timeout_s = 5) {
  const auto reply = ask(endpoint, request, curve, timeout_s);
  if (!reply) return 1;
  const nlohmann::json& j = *reply;
  if (events_as_lines) {
    for (const auto& e : j["events"]) std::cout << e.dump() << "\n";
  } else {
    std::cout << j.dump(2) << "\n";
  }
  return 0;
}

// A training job's output as it comes, until it ends: 0 when it succeeded.
int follow_job(const std::string& endpoint, const std::string& id, const Curve& curve) {
  std::size_t from = 0;
  while (!g_stop) {
    const auto j = ask(endpoint, {{"cmd", "job"}, {"id", id}, {"from", from}}, curve);
    if (!j) return 1;
    for (const auto& line : (*j)["output"]) std::cout << line.get<std::string>() << "\n" << std::flush;
    from = (*j)["next"].get<std::size_t>();
    const std::string state = j->value("state", "");
    if (state != "running") {
      std::cout << "actionctl: job " << id << " " << state << "\n";
      return state == "succeeded" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return 130;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"actionctl: client of the actiond daemon"};
  app.set_version_flag("--version", std::string("actionctl ") + actiond::kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  std::string server_key;
  std::string client_key;
  app.add_option("--server-key", server_key, "CURVE: the daemon's public key (Z85) or @FILE holding it");
  app.add_option("--client-key", client_key, "CURVE: file holding this client's secret key (Z85)");
  auto* events = app.add_subcommand("events", "subscribe to events and print each as one JSON line");
  auto* tail = app.add_subcommand("tail", "subscribe to events and print one readable line each");
  std::string control = "tcp://127.0.0.1:7701";
  auto* status = app.add_subcommand("status", "daemon and per-camera state");
  auto* cameras = app.add_subcommand("cameras", "camera ids");
  auto* snapshot = app.add_subcommand("snapshot", "last seq, epoch, state and open segment of every camera");
  auto* replay = app.add_subcommand("replay", "journaled events of a camera from a seq, one JSON line each");
  auto* reload = app.add_subcommand("reload", "re-read the daemon's configuration (cameras added/changed/removed)");
  auto* models = app.add_subcommand("models", "the daemon's models: versions, cameras using them, previous kept");
  auto* promote = app.add_subcommand("promote", "install a model file as one of the daemon's models and reload "
                                                "(the replaced file is kept for rollback)");
  auto* rollback = app.add_subcommand("rollback", "bring a model's previous file back and reload");
  auto* shadow = app.add_subcommand("shadow", "try a segmenter beside a camera's model: its events go to "
                                              "<camera>/shadow.* only (actionctl events -t CAMERA/shadow.)");
  std::string model;
  std::string candidate;
  std::string shadow_camera;
  bool shadow_stop = false;
  shadow->add_option("camera", shadow_camera, "camera id")->required();
  shadow->add_option("candidate", candidate, "segmenter file inside the daemon's model directory");
  shadow->add_flag("--stop", shadow_stop, "stop trying (the shadow's open segment ends)");
  promote->add_option("model", model, "model name (actiond.json /models)")->required();
  promote->add_option("candidate", candidate, "model file inside the daemon's model directory")->required();
  rollback->add_option("model", model, "model name (actiond.json /models)")->required();
  // Teach your own actions (docs/TEACH.md).
  auto* datasets = app.add_subcommand("datasets", "the labelled datasets (under the daemon's teach.dir)");
  auto* dataset = app.add_subcommand("dataset", "one dataset's labels and segments");
  auto* import = app.add_subcommand("import", "add a segment list (CSV video,label,start,end or JSON) to a dataset");
  auto* train = app.add_subcommand("train", "train on a dataset (actiond-train, one job at a time)");
  auto* jobs = app.add_subcommand("jobs", "training jobs, newest first");
  auto* job = app.add_subcommand("job", "one training job with its output");
  auto* cancel = app.add_subcommand("cancel", "stop the running training job");
  std::string name;
  std::string file;
  bool csv = false;
  bool replace = false;
  bool follow = false;
  std::string train_camera;
  std::string train_features;
  double steps_scale = 1.0;
  double budget_min = 0.0;
  int min_examples = 2;
  dataset->add_option("name", name, "dataset name")->required();
  dataset->add_flag("--csv", csv, "print the segment list as CSV");
  import->add_option("name", name, "dataset name (created when new)")->required();
  import->add_option("file", file, "the segment list (.csv with a header row, or .json)")->required()->check(CLI::ExistingFile);
  import->add_flag("--replace", replace, "replace the dataset's segments instead of adding");
  train->add_option("dataset", name, "dataset name")->required();
  train->add_option("--camera", train_camera, "train on this camera's features (to try and promote on it)");
  train->add_option("--features", train_features, "auto, pose or frames (default: the camera's, else auto)");
  train->add_option("--steps-scale", steps_scale, "(0, 1]: shorter training")->capture_default_str();
  train->add_option("--budget-min", budget_min, "spread about this many minutes over the run (0: none)");
  train->add_option("--min-examples", min_examples, "segments each label needs in the training videos")->capture_default_str();
  train->add_flag("--follow", follow, "print its output until it ends (exit 0 when it succeeded)");
  job->add_option("id", name, "job id (actionctl jobs)")->required();
  job->add_flag("--follow", follow, "print its output until it ends");
  std::string camera;
  std::uint64_t from = 1;
  long max = 10000;
  replay->add_option("--camera", camera, "camera id")->required();
  replay->add_option("--from", from, "first seq")->capture_default_str();
  replay->add_option("--max", max, "at most this many events")->capture_default_str();
  for (auto* sub : {status, cameras, snapshot, replay, reload, models, promote, rollback, shadow, datasets, dataset, import,
                    train, jobs, job, cancel}) {
    sub->add_option("-c,--control", control, "control endpoint of actiond")->capture_default_str();
  }
  std::string endpoint = "tcp://127.0.0.1:7700";
  std::vector<std::string> topics;
  double seconds = 0;
  long count = 0;
  bool raw = false;
  events->add_option("-e,--endpoint", endpoint, "PUB endpoint of actiond")->capture_default_str();
  events->add_option("-t,--topic", topics, "topic prefix to subscribe to, e.g. door/ or door/segment. (repeatable)");
  events->add_option("-s,--seconds", seconds, "stop after this many seconds (0 = until interrupted)");
  events->add_option("-n,--count", count, "stop after this many events (0 = no limit)");
  events->add_flag("--raw", raw, "print bodies as received, without re-encoding");
  std::string tail_camera;
  std::string tail_type;
  bool tail_json = false;
  tail->add_option("-e,--endpoint", endpoint, "PUB endpoint of actiond")->capture_default_str();
  tail->add_option("--camera", tail_camera, "only this camera");
  tail->add_option("--type", tail_type, "only events whose type starts with this, e.g. segment or segment.end");
  tail->add_option("-s,--seconds", seconds, "stop after this many seconds (0 = until interrupted)");
  tail->add_option("-n,--count", count, "stop after this many events (0 = no limit)");
  tail->add_flag("--json", tail_json, "one JSON line per event instead of a readable line");
  const auto run_cluster = add_cluster_commands(app);
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    if (const int rc = run_cluster(); rc >= 0) return rc;
    const Curve curve = make_curve(server_key, client_key);
    if (app.got_subcommand(events)) return run_events(endpoint, topics, seconds, count, raw, false, curve);
    if (app.got_subcommand(tail)) {
      // Topics are "<camera>/<type>": a camera alone subscribes to "C/", a type alone needs every camera.
      const std::string prefix = tail_camera.empty() ? "" : tail_camera + "/" + tail_type;
      return run_events(endpoint, {prefix}, seconds, count, false, !tail_json, curve,
                        tail_camera.empty() ? tail_type : "");
    }
    if (app.got_subcommand(status)) return run_control(control, {{"cmd", "status"}}, false, curve);
    if (app.got_subcommand(cameras)) return run_control(control, {{"cmd", "cameras"}}, false, curve);
    if (app.got_subcommand(snapshot)) return run_control(control, {{"cmd", "snapshot"}}, false, curve);
    constexpr int kChangeTimeoutS = 120;
    if (app.got_subcommand(reload)) return run_control(control, {{"cmd", "reload"}}, false, curve, kChangeTimeoutS);
    if (app.got_subcommand(models)) return run_control(control, {{"cmd", "models"}}, false, curve);
    if (app.got_subcommand(promote)) {
      const std::string path = std::filesystem::absolute(candidate).lexically_normal().string();
      return run_control(control, {{"cmd", "promote"}, {"model", model}, {"candidate", path}}, false, curve,
                         kChangeTimeoutS);
    }
    if (app.got_subcommand(shadow)) {
      if (shadow_stop == !candidate.empty()) throw std::runtime_error("shadow: give a candidate file, or --stop");
      const std::string path = candidate.empty() ? "" : std::filesystem::absolute(candidate).lexically_normal().string();
      return run_control(control, {{"cmd", "shadow"}, {"camera", shadow_camera}, {"candidate", path}}, false, curve,
                         kChangeTimeoutS);
    }
    if (app.got_subcommand(rollback)) {
      return run_control(control, {{"cmd", "rollback"}, {"model", model}}, false, curve, kChangeTimeoutS);
    }
    if (app.got_subcommand(datasets)) return run_control(control, {{"cmd", "datasets"}}, false, curve);
    if (app.got_subcommand(dataset)) {
      if (!csv) return run_control(control, {{"cmd", "dataset"}, {"name", name}}, false, curve);
      const auto j = ask(control, {{"cmd", "dataset"}, {"name", name}, {"export", "csv"}}, curve);
      if (j) std::cout << (*j)["csv"].get<std::string>();
      return j ? 0 : 1;
    }
    if (app.got_subcommand(import)) {
      std::ifstream in(file);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return run_control(control, {{"cmd", "import"}, {"name", name}, {"text", text}, {"replace", replace}}, false, curve,
                         kChangeTimeoutS);
    }
    if (app.got_subcommand(train)) {
      nlohmann::json req = {{"cmd", "train"}, {"dataset", name}, {"steps_scale", steps_scale},
                            {"budget_min", budget_min}, {"min_examples", min_examples}};
      if (!train_camera.empty()) req["camera"] = train_camera;
      if (!train_features.empty()) req["features"] = train_features;
      if (!follow) return run_control(control, req, false, curve);
      const auto j = ask(control, req, curve);
      return j ? follow_job(control, j->value("id", ""), curve) : 1;
    }
    if (app.got_subcommand(jobs)) return run_control(control, {{"cmd", "jobs"}}, false, curve);
    if (app.got_subcommand(job)) {
      return follow ? follow_job(control, name, curve) : run_control(control, {{"cmd", "job"}, {"id", name}}, false, curve);
    }
    if (app.got_subcommand(cancel)) return run_control(control, {{"cmd", "cancel"}}, false, curve, 30);
    if (app.got_subcommand(replay)) {
      return run_control(control, {{"cmd", "replay"}, {"camera", camera}, {"from", from}, {"max", max}}, true, curve);
    }
  } catch (const zmq::error_t& e) {
    std::cerr << "actionctl: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "actionctl: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
