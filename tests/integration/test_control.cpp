// The control socket on a real ROUTER socket: requests, malformed input, replay after a subscriber
// loses events.
#include "actiond/daemon/io/control_server.hpp"
#include "actiond/daemon/runtime/daemon.hpp"
#include "actiond/daemon/journal/journal.hpp"

#include "daemon_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <zmq.hpp>

using namespace actiond;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json request(const std::string& endpoint, const std::string& body) {
  zmq::context_t ctx(1);
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  req.send(zmq::buffer(body), zmq::send_flags::none);
  zmq::message_t reply;
  REQUIRE(req.recv(reply));
  return json::parse(reply.to_string());
}

}  // namespace

TEST_CASE("control requests: malformed and wrong-typed input gets a JSON error", "[control]") {
  test::TempDir dir;
  daemon::ControlContext ctx;
  ctx.status = [] { return json{{"daemon", {{"version", "x"}}}}; };
  ctx.snapshot = [] { return json{{"door", {{"seq", 3}}}}; };
  ctx.journal_dir = dir.path();
  daemon::ControlServer server("tcp://127.0.0.1:*", ctx);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "request is not JSON"},
      {"{\"cmd\":", "request is not JSON"},
      {"[1,2]", "request must be a JSON object"},
      {"{}", "request needs \"cmd\" (a string)"},
      {"{\"cmd\": 7}", "request needs \"cmd\" (a string)"},
      {"{\"cmd\": \"explode\"}", "unknown cmd \"explode\" (known: status, cameras, snapshot, replay, reload, models, promote, rollback, shadow, datasets, dataset, import, train, jobs, job, cancel)"},
      {"{\"cmd\": \"replay\"}", "replay needs \"camera\" (a string)"},
      {"{\"cmd\": \"replay\", \"camera\": 5}", "replay needs \"camera\" (a string)"},
      {"{\"cmd\": \"replay\", \"camera\": \"door\", \"from\": -1}", "replay: \"from\" must be a non-negative integer"},
      {"{\"cmd\": \"replay\", \"camera\": \"door\", \"from\": \"1\"}", "replay: \"from\" must be a non-negative integer"},
      {"{\"cmd\": \"replay\", \"camera\": \"door\", \"max\": 0}", "replay: \"max\" must be an integer between 1 and 100000"},
      {"{\"cmd\": \"replay\", \"camera\": \"../etc\"}", "replay: invalid camera id"},
      {"{\"cmd\": \"reload\"}", "reload: not allowed on this socket (actiond.json /control/allow_reload)"},
      {"{\"cmd\": \"promote\", \"model\": \"seg\", \"candidate\": \"/x.pt\"}",
       "promote: not allowed on this socket (actiond.json /control/allow_reload)"},
      {"{\"cmd\": \"rollback\", \"model\": \"seg\"}", "rollback: not allowed on this socket (actiond.json /control/allow_reload)"},
  };
  for (const auto& [body, message] : cases) {
    INFO(body);
    const json r = request(server.endpoint(), body);
    CHECK(r["ok"] == false);
    CHECK(r["error"] == message);
  }
  CHECK(request(server.endpoint(), R"({"cmd":"cameras"})")["cameras"] == json::array({"door"}));
  CHECK(request(server.endpoint(), R"({"cmd":"snapshot"})")["cameras"]["door"]["seq"] == 3);
  CHECK(request(server.endpoint(), R"({"cmd":"replay","camera":"door"})")["events"].empty());

  // 2 MiB of garbage: ZeroMQ drops that peer; the server keeps answering others.
  {
    zmq::context_t c(1);
    zmq::socket_t dealer(c, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(server.endpoint());
    std::string garbage(2 << 20, '\xff');
    dealer.send(zmq::buffer(garbage), zmq::send_flags::none);
    std::this_thread::sleep_for(200ms);
  }
  CHECK(request(server.endpoint(), R"({"cmd":"status"})")["ok"] == true);
}

TEST_CASE("a subscriber that lost events recovers them with replay: none missing, none duplicated",
          "[control][journal][integration]") {
  test::TempDir dir;
  dir.write("actiond.json", test::daemon_json());
  dir.write("cameras/live.json",
            test::camera_json("live", "test://pattern?cycle=black,red,black,green&period=0.6&width=160&height=120&fps=10",
                              R"("tracker": {"min_duration_s": 0.2, "confirm_frames": 1}, )"));
  daemon::Daemon d(test::load(dir));
  std::vector<json> first;
  {
    test::EventCollector a(d.publish_endpoint());
    d.start();
    REQUIRE(a.wait_for([](const auto& ev) { return test::of_type(ev, "segment.end").size() >= 2; }, 30s));
    first = a.events();
  }  // subscriber A dies; the daemon keeps going
  std::this_thread::sleep_for(1500ms);
  test::EventCollector b(d.publish_endpoint());
  REQUIRE(b.wait_for([](const auto& ev) { return ev.size() >= 3; }, 30s));

  const auto snap = request(d.control_endpoint(), R"({"cmd":"snapshot"})");
  REQUIRE(snap["ok"] == true);
  CHECK(snap["cameras"]["live"]["seq"].get<std::uint64_t>() >= first.back()["seq"].get<std::uint64_t>());
  const auto status = request(d.control_endpoint(), R"({"cmd":"status"})");
  CHECK(status["daemon"]["events_sent"].get<std::uint64_t>() > 0);
  CHECK(status["cameras"]["live"]["state"] == "running");

  d.stop();
  REQUIRE(b.wait_for([](const auto& ev) { return test::has_status(ev, "live", "stopped"); }, 10s));
  // A gap between A's last seq and B's first: replay fills it from the journal.
  const auto last_a = first.back()["seq"].get<std::uint64_t>();
  const auto first_b = b.events().front()["seq"].get<std::uint64_t>();
  CHECK(first_b > last_a + 1);
  daemon::ControlContext journal_only;
  journal_only.status = [] { return json::object(); };
  journal_only.snapshot = [] { return json::object(); };
  journal_only.journal_dir = dir.path() / "journal";
  const auto replayed = daemon::ControlServer("tcp://127.0.0.1:*", journal_only)
                            .handle(json{{"cmd", "replay"}, {"camera", "live"}, {"from", last_a + 1}}.dump());
  REQUIRE(replayed["ok"] == true);
  std::vector<json> recovered = first;
  for (const auto& e : replayed["events"]) recovered.push_back(e);
  test::check_stream_invariants(recovered);  // contiguous seq from 1, every segment start ended
  // What B saw live is exactly the tail of the replay.
  const auto live_b = b.events();
  REQUIRE(recovered.size() >= live_b.size());
  for (std::size_t i = 0; i < live_b.size(); ++i) {
    CHECK(recovered[recovered.size() - live_b.size() + i] == live_b[i]);
  }
  const auto journal = daemon::Journal::read(dir.path() / "journal", "live", 0, 1000000);
  CHECK(journal.size() == recovered.size());
}

TEST_CASE("heartbeats carry the previous seq while nothing happens", "[integration][heartbeat]") {
  test::TempDir dir;
  dir.write("actiond.json", R"({"publish": {"endpoint": "tcp://127.0.0.1:*", "startup_grace_ms": 0, "heartbeat_s": 0.3},
                                 "control": {"endpoint": "tcp://127.0.0.1:*"},
                                 "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}})");
  dir.write("cameras/quiet.json", test::camera_json("quiet", "test://pattern?cycle=black&width=160&height=120"));
  daemon::Daemon d(test::load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  // Heartbeats after the camera reported running (a slow start may see "starting" ones before).
  const auto running_beats = [](const std::vector<json>& ev) {
    std::vector<json> out;
    bool running = false;
    for (const auto& e : ev) {
      running = running || (e["type"] == "stream.status" && e["state"] == "running");
      if (running && e["type"] == "heartbeat") out.push_back(e);
    }
    return out;
  };
  REQUIRE(sub.wait_for([&](const auto& ev) { return running_beats(ev).size() >= 3; }, 60s));
  d.stop();
  const auto events = sub.events();
  test::check_stream_invariants(events);
  for (const auto& h : test::of_type(events, "heartbeat")) {
    CHECK(h["last_seq"].get<std::uint64_t>() + 1 == h["seq"].get<std::uint64_t>());
  }
  for (const auto& h : running_beats(events)) CHECK(h["state"] == "running");
  CHECK(test::of_type(events, "segment.start").empty());
}
