// End to end in one process: a generated H.264 file (or the test camera) through real GStreamer
// pipelines, real tiny TorchScript models and a real ZeroMQ PUB socket to a SUB socket.
#include "actiond/config/config.hpp"
#include "actiond/daemon/runtime/daemon.hpp"
#include "actiond/daemon/journal/journal.hpp"

#include "daemon_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace actiond;
using namespace std::chrono_literals;
using test::of_type;
using test::TempDir;

using test::camera_json;
using test::daemon_json;
using test::has_status;
using test::load;

TEST_CASE("H.264 file -> decode -> models -> segment events on a SUB socket", "[integration][file]") {
  TempDir dir;
  const auto video = dir.path() / "colours.mp4";
  test::make_h264_video(video, {{"black", 2}, {"red", 3}, {"black", 2}, {"green", 3}, {"black", 1.2}});
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/kitchen.json", camera_json("kitchen", "file://" + video.string(), R"("realtime": false, )"));

  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "kitchen", "eos"); }, 60s));
  d.stop();
  REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "kitchen", "stopped"); }, 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);

  const auto starts = of_type(events, "segment.start");
  const auto ends = of_type(events, "segment.end");
  REQUIRE(starts.size() == 2);
  REQUIRE(ends.size() == 2);
  CHECK(starts[0]["segment"]["label"] == "red");
  CHECK(starts[0]["segment"]["start"]["pts"].get<double>() == Approx(2.0).margin(0.25));
  CHECK(ends[0]["segment"]["end"]["pts"].get<double>() == Approx(5.0).margin(0.25));
  CHECK(ends[0]["segment"]["end_reason"] == "background");
  CHECK(starts[1]["segment"]["label"] == "green");
  CHECK(starts[1]["segment"]["start"]["pts"].get<double>() == Approx(7.0).margin(0.25));
  CHECK(ends[1]["segment"]["end"]["pts"].get<double>() == Approx(10.0).margin(0.25));
  CHECK(ends[1]["segment"]["confidence"].get<double>() > 0.9);

  // Boundaries at both ends of both coloured parts.
  const auto boundaries = of_type(events, "boundary");
  REQUIRE(boundaries.size() == 4);
  CHECK(boundaries[0]["to"] == "red");
  CHECK(boundaries[1]["from"] == "red");

  // Topics are "<camera>/<type>".
  for (const auto& t : sub.topics()) CHECK(t.rfind("kitchen/", 0) == 0);
  // The file ends: eos follows every segment event; stopping the daemon then reports "stopped".
  std::size_t eos_at = 0;
  std::size_t last_segment_at = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i]["type"] == "stream.status" && events[i]["state"] == "eos") eos_at = i;
    if (events[i]["type"].get<std::string>().rfind("segment.", 0) == 0) last_segment_at = i;
  }
  CHECK(eos_at > last_segment_at);
  CHECK(events.back()["state"] == "stopped");
}

TEST_CASE("a camera with a recognizer emits recognition events at its cadence", "[integration][file][recognition]") {
  TempDir dir;
  const auto video = dir.path() / "colours.mp4";
  test::make_h264_video(video, {{"black", 2}, {"red", 4}, {"black", 2}});
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/desk.json",
            camera_json("desk", "file://" + video.string(),
                        R"("realtime": false, "recognition": {"interval_s": 1.0, "top_k": 2}, )", true));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "desk", "eos"); }, 60s));
  d.stop();
  const auto events = sub.events();
  test::check_stream_invariants(events);
  const auto recs = of_type(events, "recognition");
  // 8 s at 5 fps; the first clip is full after 8 frames (1.4 s), then one per second of stream time.
  REQUIRE(recs.size() >= 6);
  REQUIRE(recs.size() <= 8);
  bool saw_red = false;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    CHECK(r["model"] == "tiny-colour-clip");
    CHECK(r["top_k"].size() == 2);
    CHECK(r["window"]["frames"] == 8);
    CHECK(r["label"] == r["top_k"][0]["label"]);
    if (i > 0) CHECK(r["pts"].get<double>() - recs[i - 1]["pts"].get<double>() == Approx(1.0).margin(0.01));
    // The clip ending at 5.4 s lies wholly in the red part.
    if (std::abs(r["window"]["end_pts"].get<double>() - 5.4) < 0.05) {
      CHECK(r["label"] == "red");
      saw_red = true;
    }
    CHECK(r["models"].size() == 3);
  }
  CHECK(saw_red);
}

TEST_CASE("file ending inside a segment closes it with eos", "[integration][file]") {
  TempDir dir;
  const auto video = dir.path() / "ends_red.mp4";
  test::make_h264_video(video, {{"black", 1}, {"blue", 3}});
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/a.json", camera_json("a", "file://" + video.string(), R"("realtime": false, )"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "a", "eos"); }, 60s));
  d.stop();
  const auto events = sub.events();
  test::check_stream_invariants(events);
  const auto ends = of_type(events, "segment.end");
  REQUIRE(ends.size() == 1);
  CHECK(ends[0]["segment"]["label"] == "blue");
  CHECK(ends[0]["segment"]["end_reason"] == "eos");
  CHECK(ends[0]["segment"]["end"]["pts"].get<double>() == Approx(4.0).margin(0.25));
}

TEST_CASE("live test camera: shutdown closes the open segment and a bad file fails alone", "[integration][live]") {
  TempDir dir;
  const auto junk = dir.write("junk.mp4", std::string(4096, 'x'));
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/live.json", camera_json("live", "test://pattern?cycle=red&width=160&height=120&fps=10",
                                             R"("tracker": {"min_duration_s": 0.4}, )"));
  dir.write("cameras/junk.json", camera_json("junk", "file://" + junk.string()));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const auto& ev) { return !of_type(ev, "segment.start").empty(); }, 30s));
  REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "junk", "failed"); }, 30s));
  d.stop(actiond::config::EndReason::shutdown);
  REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "live", "stopped"); }, 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);
  const auto ends = of_type(events, "segment.end");
  REQUIRE(ends.size() == 1);
  CHECK(ends[0]["camera"] == "live");
  CHECK(ends[0]["segment"]["label"] == "red");
  CHECK(ends[0]["segment"]["end_reason"] == "shutdown");
  for (const auto& e : events) {
    if (e["type"] == "stream.status" && e["camera"] == "junk" && e["state"] == "failed") {
      CHECK_FALSE(e["reason"].get<std::string>().empty());
    }
  }
}

TEST_CASE("daemon start-up refuses what does not fit, naming the file", "[integration][config]") {
  TempDir dir;
  dir.write("actiond.json", R"({"publish": {"endpoint": "tcp://127.0.0.1:*", "startup_grace_ms": 0},
     "control": {"endpoint": "tcp://127.0.0.1:*"},
     "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter_dim16.pt"}, "bad": {"path": "no_manifest.pt"}}})");
  SECTION("segmenter that cannot read the backbone's features") {
    dir.write("cameras/door.json", camera_json("door", "test://pattern"));
    CHECK_THROWS_WITH(daemon::Daemon(load(dir)),
                      Catch::StartsWith("cameras/door.json: /models: ") && Catch::Contains("expects feature_dim 16"));
  }
  SECTION("model without manifest") {
    dir.write("cameras/door.json",
              R"({"id": "door", "uri": "test://pattern", "models": {"backbone": "bad", "segmenter": "seg"}})");
    CHECK_THROWS_WITH(daemon::Daemon(load(dir)), Catch::EndsWith("no_manifest.pt: manifest.json is missing (save it "
                                                                 "with torch.jit.save(..., _extra_files=...))"));
  }
  SECTION("bad test URI") {
    dir.write("cameras/door.json", camera_json("door", "test://pattern?cycle=plaid"));
    CHECK_THROWS_WITH(daemon::Daemon(load(dir)),
                      "cameras/door.json: /uri: test://pattern?cycle=plaid: unknown pattern \"plaid\" (see "
                      "gst-inspect-1.0 videotestsrc)");
  }
}

TEST_CASE("a publish endpoint already in use is a clear start-up error", "[integration][zmq]") {
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  daemon::Daemon first(load(dir));
  const std::string taken = first.publish_endpoint();
  TempDir dir2;
  dir2.write("actiond.json", R"({"publish": {"endpoint": ")" + taken + R"("}, "control": {"endpoint": "tcp://127.0.0.1:*"}})");
  CHECK_THROWS_WITH(daemon::Daemon(load(dir2)), "publish endpoint " + taken + ": Address already in use");
}

TEST_CASE("restart: seq and epoch continue from the journal, which holds exactly what was published",
          "[integration][journal]") {
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/live.json", camera_json("live", "test://pattern?cycle=red&width=160&height=120&fps=10",
                                             R"("tracker": {"min_duration_s": 0.4}, )"));
  std::vector<nlohmann::json> all;
  for (int run = 0; run < 2; ++run) {
    daemon::Daemon d(load(dir));
    test::EventCollector sub(d.publish_endpoint());
    d.start();
    REQUIRE(sub.wait_for([](const auto& ev) { return !of_type(ev, "segment.start").empty(); }, 30s));
    d.stop(actiond::config::EndReason::shutdown);
    REQUIRE(sub.wait_for([](const auto& ev) { return has_status(ev, "live", "stopped"); }, 10s));
    const auto events = sub.events();
    const auto ends = of_type(events, "segment.end");
    REQUIRE(ends.size() == 1);
    CHECK(ends[0]["segment"]["end_reason"] == "shutdown");
    CHECK(test::statuses(events, "live", "running").at(0)["epoch"] == run + 1);
    all.insert(all.end(), events.begin(), events.end());
  }
  test::check_stream_invariants(all);  // seq 1, 2, ... across both runs, every start ended
  const auto journal = daemon::Journal::read(dir.path() / "journal", "live", 0, 100000);
  REQUIRE(journal.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(nlohmann::json::parse(journal[i]) == all[i]);
  for (const auto& e : all) {
    CHECK(e["event_id"].get<std::string>().rfind("live-", 0) == 0);
    REQUIRE(e["models"].size() == 2);
    CHECK(e["models"][0]["sha256"].get<std::string>().size() == 64);
  }
}
