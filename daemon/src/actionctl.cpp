// actionctl: command-line client of actiond.
//   actionctl events [--endpoint tcp://127.0.0.1:7700] [--topic door/] [--seconds 30] [--count 10]
//       prints every event as one JSON line on stdout (alias: tail);
//   actionctl status | cameras | snapshot [--control tcp://127.0.0.1:7701]
//   actionctl replay --camera C --from N [--max M]      journaled events, one JSON line each.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <chrono>
#include <csignal>
#include <iostream>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int run_events(const std::string& endpoint, const std::vector<std::string>& topics, double seconds, long count,
               bool raw) {
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
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
    if (raw) {
      std::cout << body.to_string() << "\n";
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
int run_control(const std::string& endpoint, const nlohmann::json& request, bool events_as_lines) {
  zmq::context_t ctx(1);
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  req.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!req.recv(reply)) {
    std::cerr << "actionctl: no reply from " << endpoint << " within 5 s (is actiond running?)\n";
    return 1;
  }
  const auto j = nlohmann::json::parse(reply.to_string(), nullptr, false);
  if (j.is_discarded()) {
    std::cerr << "actionctl: reply is not JSON\n";
    return 1;
  }
  if (!j.value("ok", false)) {
    std::cerr << "actionctl: " << j.value("error", std::string("request failed")) << "\n";
    return 1;
  }
  if (events_as_lines) {
    for (const auto& e : j["events"]) std::cout << e.dump() << "\n";
  } else {
    std::cout << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"actionctl: client of the actiond daemon"};
  app.require_subcommand(1);
  auto* events = app.add_subcommand("events", "subscribe to events and print each as one JSON line");
  events->alias("tail");
  std::string control = "tcp://127.0.0.1:7701";
  auto* status = app.add_subcommand("status", "daemon and per-camera state");
  auto* cameras = app.add_subcommand("cameras", "camera ids");
  auto* snapshot = app.add_subcommand("snapshot", "last seq, epoch, state and open segment of every camera");
  auto* replay = app.add_subcommand("replay", "journaled events of a camera from a seq, one JSON line each");
  std::string camera;
  std::uint64_t from = 1;
  long max = 10000;
  replay->add_option("--camera", camera, "camera id")->required();
  replay->add_option("--from", from, "first seq")->capture_default_str();
  replay->add_option("--max", max, "at most this many events")->capture_default_str();
  for (auto* sub : {status, cameras, snapshot, replay}) {
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
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    if (app.got_subcommand(events)) return run_events(endpoint, topics, seconds, count, raw);
    if (app.got_subcommand(status)) return run_control(control, {{"cmd", "status"}}, false);
    if (app.got_subcommand(cameras)) return run_control(control, {{"cmd", "cameras"}}, false);
    if (app.got_subcommand(snapshot)) return run_control(control, {{"cmd", "snapshot"}}, false);
    if (app.got_subcommand(replay)) {
      return run_control(control, {{"cmd", "replay"}, {"camera", camera}, {"from", from}, {"max", max}}, true);
    }
  } catch (const zmq::error_t& e) {
    std::cerr << "actionctl: " << endpoint << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
