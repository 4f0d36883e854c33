// A C++ subscriber that never misses an actiond event (cppzmq + nlohmann-json).
//
// Protocol (docs/EVENTS.md), the same as subscriber.py:
//   1. subscribe to the PUB socket (events start queueing at once);
//   2. take a `snapshot` on the control socket: last seq per camera;
//   3. for every event: if its seq is not last + 1 for its camera, `replay` the gap from the journal
//      first (events already seen are skipped, so nothing is handled twice);
//   4. heartbeats carry seq too, so a gap is noticed even when nothing happens.
//
// Usage: subscriber [--events tcp://127.0.0.1:7700] [--control tcp://127.0.0.1:7701] [--seconds N]
// Prints one JSON line per event, in seq order per camera, each exactly once.
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

using nlohmann::json;

namespace {

json request(zmq::context_t& ctx, const std::string& endpoint, const json& req) {
  zmq::socket_t sock(ctx, zmq::socket_type::req);
  sock.set(zmq::sockopt::linger, 0);
  sock.set(zmq::sockopt::rcvtimeo, 5000);
  sock.connect(endpoint);
  sock.send(zmq::buffer(req.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!sock.recv(reply)) throw std::runtime_error("control " + req["cmd"].get<std::string>() + ": no reply");
  json r = json::parse(reply.to_string());
  if (!r.value("ok", false)) throw std::runtime_error("control: " + r.value("error", std::string("failed")));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string events = "tcp://127.0.0.1:7700";
  std::string control = "tcp://127.0.0.1:7701";
  double seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--events") events = argv[i + 1];
    else if (k == "--control") control = argv[i + 1];
    else if (k == "--seconds") seconds = std::stod(argv[i + 1]);
    else {
      std::cerr << "usage: subscriber [--events EP] [--control EP] [--seconds N]\n";
      return 2;
    }
  }
  try {
    zmq::context_t ctx(1);
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::rcvtimeo, 200);
    sub.connect(events);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscription reaches the daemon
    std::map<std::string, std::uint64_t> last;
    // Keep the reply alive for the loop (a range-for over a temporary's member is use-after-free).
    const json snapshot = request(ctx, control, {{"cmd", "snapshot"}});
    for (const auto& [cam, state] : snapshot["cameras"].items()) {
      last[cam] = state.value("seq", std::uint64_t{0});
    }
    auto deliver = [&last](const json& e) {
      last[e["camera"].get<std::string>()] = e["seq"].get<std::uint64_t>();
      std::cout << e.dump() << std::endl;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (seconds <= 0 || std::chrono::steady_clock::now() < deadline) {
      zmq::message_t topic;
      zmq::message_t body;
      if (!sub.recv(topic)) continue;
      if (!topic.more() || !sub.recv(body)) continue;
      const json e = json::parse(body.to_string(), nullptr, false);
      if (!e.is_object()) continue;
      const std::string cam = e["camera"];
      const std::uint64_t seq = e["seq"];
      const std::uint64_t expected = last[cam] + 1;
      if (seq < expected) continue;  // already delivered (from a replay)
      if (seq > expected) {
        std::cerr << "gap on " << cam << ": expected " << expected << ", got " << seq << "; replaying\n";
        const json r = request(ctx, control, {{"cmd", "replay"}, {"camera", cam}, {"from", expected},
                                              {"max", seq - expected}});
        for (const auto& missed : r["events"]) {
          if (missed["seq"].get<std::uint64_t>() == last[cam] + 1) deliver(missed);
        }
      }
      deliver(e);
    }
  } catch (const std::exception& e) {
    std::cerr << "subscriber: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
