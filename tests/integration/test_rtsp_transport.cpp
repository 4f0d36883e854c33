// RTSP lower transports against real servers (gst-rtsp-server in the test process) that accept only
// one of them, as VLC's (UDP only) or some NVRs (TCP only) do: the default camera config connects to
// both, and a forced transport that the server refuses is named as such. (VLC itself:
// test_vlc_rtsp.py.)
#include "actiond/config/config.hpp"
#include "actiond/daemon/runtime/daemon.hpp"

#include "daemon_fixtures.hpp"
#include "rtsp_server.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace actiond;
using namespace std::chrono_literals;
using nlohmann::json;
using test::camera_json;
using test::daemon_json;
using test::load;
using test::of_type;
using test::statuses;
using test::TempDir;
using Transports = test::RtspTestServer::Options::Transports;

namespace {

test::RtspTestServer server_with(Transports transports) {
  test::RtspTestServer::Options o;
  o.transports = transports;
  return test::RtspTestServer(o);
}

bool any_reason_contains(const std::vector<json>& events, const std::string& text) {
  for (const auto& s : of_type(events, "stream.status")) {
    if (s["reason"].get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

// Runs one camera on `uri` with `extra` camera settings until `done` holds (or 30 s pass).
std::vector<json> run_camera(const std::string& uri, const std::string& extra,
                             const std::function<bool(const std::vector<json>&)>& done) {
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/cam.json", camera_json("cam", uri, R"("reconnect": {"initial_s": 0.2, "max_s": 0.5}, )" + extra));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  const bool reached = sub.wait_for(done, 30s);
  d.stop();
  // Everything up to the camera's last event (its "stopped" status) has reached the subscriber.
  CHECK(sub.wait_for([](const auto& ev) { return !statuses(ev, "cam", "stopped").empty(); }, 10s));
  const auto events = sub.events();
  std::string seen;
  for (const auto& s : of_type(events, "stream.status")) seen += s["state"].get<std::string>() + ": " + s["reason"].get<std::string>() + "\n";
  INFO(seen);
  CHECK(reached);
  test::check_stream_invariants(events);
  return events;
}

auto frames_analysed = [](const std::vector<json>& ev) { return !of_type(ev, "segment.start").empty(); };

}  // namespace

TEST_CASE("rtsp transport: the default config connects to a UDP-only server, saying once that TCP was refused",
          "[integration][rtsp][transport]") {
  auto server = server_with(Transports::udp_only);
  const auto events = run_camera(server.uri(), "", frames_analysed);
  const auto running = statuses(events, "cam", "running");
  REQUIRE_FALSE(running.empty());
  CHECK(running[0]["reason"] == "connected");
  int refusals = 0;
  for (const auto& s : of_type(events, "stream.status")) {
    if (s["reason"] == "RTSP server refused TCP transport (461); trying UDP") ++refusals;
  }
  CHECK(refusals == 1);
  CHECK(statuses(events, "cam", "reconnecting").empty());  // the fallback is not a lost connection
  CHECK_FALSE(any_reason_contains(events, "plug-in"));
}

TEST_CASE("rtsp transport: the default config connects to a TCP-only server over TCP",
          "[integration][rtsp][transport]") {
  auto server = server_with(Transports::tcp_only);
  const auto events = run_camera(server.uri(), "", frames_analysed);
  CHECK(statuses(events, "cam", "running").at(0)["reason"] == "connected");
  CHECK_FALSE(any_reason_contains(events, "refused"));
}

TEST_CASE("rtsp transport: a forced transport the server refuses is named, never a missing plug-in",
          "[integration][rtsp][transport]") {
  struct Case {
    Transports server;
    std::string forced;
    std::string reason;
  };
  for (const auto& c : {Case{Transports::udp_only, "tcp", "RTSP server refused TCP transport (461)"},
                        Case{Transports::tcp_only, "udp", "RTSP server refused UDP transport (461)"}}) {
    SECTION(c.forced + " against a server without it") {
      auto server = server_with(c.server);
      const auto events = run_camera(server.uri(), R"("transport": ")" + c.forced + R"(", )", [](const auto& ev) {
        return statuses(ev, "cam", "reconnecting").size() >= 2;
      });
      for (const auto& s : statuses(events, "cam", "reconnecting")) CHECK(s["reason"] == c.reason);
      CHECK(statuses(events, "cam", "running").empty());
      CHECK_FALSE(any_reason_contains(events, "plug-in"));
    }
  }
}

