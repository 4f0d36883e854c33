// Hot reload on a running daemon: cameras added, changed and removed through files in cameras/
// (inotify) and through the control socket's reload; an invalid file is refused.
#include "actiond/daemon/io/control_server.hpp"
#include "actiond/daemon/runtime/daemon.hpp"

#include "daemon_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include <filesystem>

using namespace actiond;
using namespace actiond::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kRed = "test://pattern?cycle=red&width=160&height=120&fps=10";
const std::string kGreen = "test://pattern?cycle=green&width=160&height=120&fps=10";
const std::string kFast = R"("tracker": {"min_duration_s": 0.4}, )";

std::vector<json> of_camera(const std::vector<json>& events, const std::string& camera) {
  std::vector<json> out;
  for (const auto& e : events) {
    if (e["camera"] == camera) out.push_back(e);
  }
  return out;
}

json control(const std::string& endpoint, const json& request) {
  zmq::context_t ctx(1);
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::rcvtimeo, 30000);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  req.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  REQUIRE(req.recv(reply));
  return json::parse(reply.to_string());
}

bool segment_open(const std::vector<json>& events, const std::string& camera) {
  return !of_type(of_camera(events, camera), "segment.start").empty();
}

}  // namespace

TEST_CASE("reload: add, change and delete camera files while running, untouched cameras run on",
          "[integration][reload]") {
  TempDir dir;
  std::string daemon = daemon_json();
  daemon.insert(1, R"("reload": {"debounce_ms": 200}, )");
  dir.write("actiond.json", daemon);
  dir.write("cameras/keep.json", camera_json("keep", kRed, kFast));
  dir.write("cameras/change.json", camera_json("change", kRed, kFast));
  dir.write("cameras/gone.json", camera_json("gone", kRed, kFast));
  daemon::Daemon d(load(dir));
  EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const auto& ev) {
    return segment_open(ev, "keep") && segment_open(ev, "change") && segment_open(ev, "gone");
  }, 30s));

  // Through the files alone (inotify): add one, change one, delete one.
  dir.write("cameras/new.json", camera_json("new", kGreen, kFast));
  dir.write("cameras/change.json", camera_json("change", kGreen, kFast));
  std::filesystem::remove(dir.path() / "cameras/gone.json");
  REQUIRE(sub.wait_for([](const auto& ev) {
    return segment_open(ev, "new") && has_status(ev, "gone", "stopped") &&
           of_type(of_camera(ev, "change"), "segment.start").size() >= 2;
  }, 30s));

  // An invalid file is refused; the running configuration stays.
  dir.write("cameras/broken.json", R"({"id": "broken", "uri": "test://pattern", "fps": 0, "models": {}})");
  const json refused = control(d.control_endpoint(), {{"cmd", "reload"}});
  CHECK(refused["ok"] == false);
  CHECK(refused["error"] == "cameras/broken.json: /fps: must be > 0, got 0");
  std::filesystem::remove(dir.path() / "cameras/broken.json");
  const json again = control(d.control_endpoint(), {{"cmd", "reload"}});
  CHECK(again["ok"] == true);
  CHECK(again["unchanged"] == json::array({"change", "keep", "new"}));
  CHECK(again["added"].empty());

  std::this_thread::sleep_for(500ms);
  d.stop();
  REQUIRE(sub.wait_for([](const auto& ev) {
    return has_status(ev, "keep", "stopped") && has_status(ev, "new", "stopped") && has_status(ev, "change", "stopped", 2);
  }, 10s));
  const auto events = sub.events();
  check_stream_invariants(events);  // seq contiguous per camera, every start has one end

  // The removed camera's segment ended "reconfigured", then it reported "stopped".
  const auto gone = of_camera(events, "gone");
  const auto gone_ends = of_type(gone, "segment.end");
  REQUIRE(gone_ends.size() == 1);
  CHECK(gone_ends[0]["segment"]["end_reason"] == "reconfigured");
  CHECK(gone.back()["type"] == "stream.status");
  CHECK(gone.back()["state"] == "stopped");
  CHECK(gone.back()["reason"] == "reconfigured");

  // The changed camera: red ended "reconfigured", then green; seq ran on, epoch went up by one.
  const auto change = of_camera(events, "change");
  const auto change_ends = of_type(change, "segment.end");
  REQUIRE(change_ends.size() == 2);
  CHECK(change_ends[0]["segment"]["label"] == "red");
  CHECK(change_ends[0]["segment"]["end_reason"] == "reconfigured");
  CHECK(change_ends[1]["segment"]["label"] == "green");
  const auto change_starts = of_type(change, "segment.start");
  CHECK(change_starts.front()["epoch"] == 1);
  CHECK(change_starts.back()["epoch"] == 2);

  // The untouched camera: one epoch throughout, one segment that ended only at shutdown.
  const auto keep = of_camera(events, "keep");
  for (const auto& e : keep) {
    if (e["type"] != "stream.status" || e["state"] != "starting") CHECK(e["epoch"] == 1);  // "starting" precedes it
  }
  const auto keep_ends = of_type(keep, "segment.end");
  REQUIRE(keep_ends.size() == 1);
  CHECK(keep_ends[0]["segment"]["end_reason"] == "shutdown");
  CHECK(of_type(of_camera(events, "new"), "segment.start").front()["segment"]["label"] == "green");
}
