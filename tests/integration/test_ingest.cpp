// Ingest under real failures: a real RTSP server (gst-rtsp-server) stopped and restarted, a camera
// that connects and then says nothing, a model slower than its camera, and bad inputs of every kind.
#include "actiond/config/config.hpp"
#include "actiond/daemon/runtime/daemon.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"

#include "rtsp_server.hpp"
#include "daemon_fixtures.hpp"
#include "source_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>

#include <fstream>

using namespace actiond;
using namespace std::chrono_literals;
using nlohmann::json;
using test::of_type;
using test::TempDir;

using test::camera_json;
using test::daemon_json;
using test::load;
using test::statuses;

namespace {

// A predicate for EventCollector::wait_for.
auto has_status(const std::string& camera, const std::string& state, std::size_t n = 1) {
  return [=](const std::vector<json>& ev) { return test::has_status(ev, camera, state, n); };
}

}  // namespace

TEST_CASE("rtsp: running, server lost -> reconnecting and source_lost, server back -> running with epoch+1",
          "[integration][rtsp]") {
  test::RtspTestServer server;
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/cam.json",
            camera_json("cam", server.uri(),
                        R"("stall_timeout_s": 2, "reconnect": {"initial_s": 0.2, "max_s": 1}, )"
                        R"("tracker": {"min_duration_s": 0.4}, )"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();

  REQUIRE(sub.wait_for(has_status("cam", "running"), 30s));
  REQUIRE(sub.wait_for([](const auto& ev) { return !of_type(ev, "segment.start").empty(); }, 30s));
  CHECK(statuses(sub.events(), "cam", "running")[0]["epoch"] == 1);

  server.stop();
  REQUIRE(sub.wait_for(has_status("cam", "reconnecting"), 30s));
  REQUIRE(sub.wait_for([](const auto& ev) { return !of_type(ev, "segment.end").empty(); }, 10s));
  const auto end = of_type(sub.events(), "segment.end").at(0);
  CHECK(end["segment"]["end_reason"] == "source_lost");
  CHECK(end["epoch"] == 1);

  std::this_thread::sleep_for(1500ms);  // a few attempts fail while the server is away
  const auto restarted = std::chrono::steady_clock::now();
  server.start();
  REQUIRE(sub.wait_for(has_status("cam", "running", 2), 30s));
  // Backoff is capped at max_s = 1 s: the camera is back well within a few seconds of the server.
  CHECK(std::chrono::steady_clock::now() - restarted < 15s);
  const auto back = statuses(sub.events(), "cam", "running").at(1);
  CHECK(back["epoch"] == 2);
  CHECK(back["reason"].get<std::string>().rfind("reconnected after", 0) == 0);
  REQUIRE(sub.wait_for([](const auto& ev) { return of_type(ev, "segment.start").size() >= 2; }, 30s));
  CHECK(of_type(sub.events(), "segment.start").at(1)["epoch"] == 2);

  // Every reconnecting status counts attempts upwards.
  int last_attempt = 0;
  for (const auto& s : statuses(sub.events(), "cam", "reconnecting")) {
    CHECK(s["attempt"].get<int>() == last_attempt + 1);
    last_attempt = s["attempt"].get<int>();
    CHECK_FALSE(s["reason"].get<std::string>().empty());
  }
  d.stop();
  REQUIRE(sub.wait_for(has_status("cam", "stopped"), 10s));
  test::check_stream_invariants(sub.events());  // seq continues across the reconnect, every start ended
}

TEST_CASE("rtsp: the server killed and restarted 10 times while a segment is open, another camera unaffected",
          "[integration][rtsp][fault]") {
  test::RtspTestServer server;
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/cam.json",
            camera_json("cam", server.uri(),
                        R"("stall_timeout_s": 2, "reconnect": {"initial_s": 0.1, "max_s": 0.3}, )"
                        R"("tracker": {"min_duration_s": 0.4}, )"));
  dir.write("cameras/live.json", camera_json("live", "test://pattern?cycle=black,red&period=1&width=160&height=120"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  auto starts_of = [](const std::vector<json>& ev, const std::string& cam) {
    std::size_t n = 0;
    for (const auto& e : of_type(ev, "segment.start")) n += e["camera"] == cam;
    return n;
  };
  for (std::size_t i = 1; i <= 10; ++i) {
    INFO("cycle " << i);
    // Running with a segment open (the server shows red), then the server dies.
    REQUIRE(sub.wait_for([&](const auto& ev) { return starts_of(ev, "cam") >= i; }, 30s));
    server.stop();
    REQUIRE(sub.wait_for(has_status("cam", "reconnecting", i), 30s));
    server.start();
    REQUIRE(sub.wait_for(has_status("cam", "running", i + 1), 30s));
  }
  REQUIRE(sub.wait_for([&](const auto& ev) { return starts_of(ev, "cam") >= 11; }, 30s));
  d.stop();
  REQUIRE(sub.wait_for([](const auto& ev) { return statuses(ev, "", "stopped").size() >= 2; }, 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);  // seq contiguous per camera, every start ended exactly once
  std::size_t lost = 0;
  for (const auto& e : of_type(events, "segment.end")) {
    lost += e["camera"] == "cam" && e["segment"]["end_reason"] == "source_lost";
  }
  CHECK(lost == 10);
  CHECK(statuses(events, "cam", "running").back()["epoch"] == 11);
  // The other camera never left "running" and kept segmenting.
  CHECK(statuses(events, "live", "running").size() == 1);
  CHECK(statuses(events, "live", "reconnecting").empty());
  CHECK(starts_of(events, "live") >= 3);  // a red segment every 2 s for the ~10 s of the test
}

TEST_CASE("stall: a camera that connects and sends nothing is stalled, restarted, then given up on",
          "[integration][stall]") {
  test::SilentTcpServer silent;
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/quiet.json",
            camera_json("quiet", "rtsp://127.0.0.1:" + std::to_string(silent.port()) + "/live",
                        R"("stall_timeout_s": 1, "reconnect": {"initial_s": 0.1, "max_s": 0.2, "max_attempts": 2}, )"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for(has_status("quiet", "failed"), 30s));
  const auto events = sub.events();
  const auto stalled = statuses(events, "quiet", "stalled");
  REQUIRE(stalled.size() == 3);  // first connection + 2 attempts
  CHECK(stalled[0]["reason"] == "no frames from the source for 1 s");
  CHECK(statuses(events, "quiet", "reconnecting").size() == 2);
  CHECK(statuses(events, "quiet", "failed")[0]["reason"] ==
        "gave up after 2 attempt(s): no frames from the source for 1 s");
  CHECK(silent.accepted() >= 3);
  CHECK(statuses(events, "quiet", "running").empty());
  d.stop();
}

TEST_CASE("backpressure: a slow model makes the camera blocked, drops the oldest frames, never restarts",
          "[integration][backpressure]") {
  TempDir dir;
  dir.write("actiond.json", daemon_json("slow_backbone.pt"));
  // 25 fps source analysed at 20 fps by a model that manages about 8-12 (it is slow by computing:
  // how slow depends on the machine; at 10 fps a quiet machine kept up).
  dir.write("cameras/busy.json",
            R"({"id": "busy", "uri": "test://pattern?cycle=black,red&period=1&width=160&height=120&fps=25",
                "fps": 20, "queue_frames": 2, "models": {"backbone": "bb", "segmenter": "seg"},
                "tracker": {"min_duration_s": 0.2, "confirm_frames": 1}})");
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for(has_status("busy", "blocked"), 30s));
  std::this_thread::sleep_for(4s);
  // The colour changes every period; a sanitizer build may need longer than 4 s to report two changes.
  const auto two_boundaries = [](const std::vector<nlohmann::json>& evs) { return of_type(evs, "boundary").size() >= 2; };
  REQUIRE(sub.wait_for(two_boundaries, 20s));
  d.stop();
  REQUIRE(sub.wait_for(has_status("busy", "stopped"), 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);
  const auto blocked = statuses(events, "busy", "blocked").at(0);
  CHECK(blocked["reason"] == "analysis slower than the source; dropping oldest frames");
  CHECK(blocked["dropped"]["queue_full"].get<std::uint64_t>() > 0);
  // The source kept its 25 fps (ThreadSanitizer slows the whole pipeline several-fold).
#if defined(__SANITIZE_THREAD__)
  CHECK(blocked["fps_in"].get<double>() > 5);
#else
  CHECK(blocked["fps_in"].get<double>() > 20);
#endif
  const auto last = statuses(events, "busy", "stopped").at(0);
  CHECK(last["dropped"]["queue_full"].get<std::uint64_t>() >= blocked["dropped"]["queue_full"].get<std::uint64_t>());
  CHECK(last["fps_processed"].get<double>() > 0);
  CHECK(last["fps_processed"].get<double>() < 20);  // the model is what limits it
  CHECK(statuses(events, "busy", "reconnecting").empty());
  CHECK(statuses(events, "busy", "stalled").empty());
  // Latency stays bounded: boundaries are reported from fresh frames, not from a growing backlog.
  const auto boundaries = of_type(events, "boundary");
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  const double latency_bound_ms = 5000;  // a sanitizer build is several times slower end to end (ASan: 1.3-2.5 s here)
#else
  const double latency_bound_ms = 2500;  // 0.5-0.7 s here
#endif
  for (const auto& b : boundaries) CHECK(b["latency_ms"].get<double>() < latency_bound_ms);
}

TEST_CASE("bad inputs: each gives a clear status and leaves the other cameras running", "[integration][bad]") {
  test::RtspTestServer server;
  test::RtspTestServer locked(test::RtspTestServer::Options{"red", "/test", "admin", "s3cret"});
  TempDir dir;
  const auto junk = dir.write("junk.mp4", std::string(4096, 'x'));
  const auto good = dir.path() / "good.mp4";
  test::make_h264_video(good, {{"black", 1}, {"red", 2}});
  const auto truncated = dir.path() / "truncated.mp4";
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const auto resized = dir.path() / "resized.ts";
  test::make_h264_video(resized, {{"black", 1, 320, 240}, {"black", 1, 640, 480}});
  // Corrupt bytes spliced into an H.264 stream: 3 KB of noise at 30 %, 50 % and 70 % of an MPEG-TS file.
  const auto corrupt = dir.path() / "corrupt.ts";
  test::make_h264_video(corrupt, {{"ball", 2}, {"red", 2}});
  {
    std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(f.tellg());
    std::uint32_t x = 12345;
    for (double at : {0.3, 0.5, 0.7}) {
      f.seekp(static_cast<std::streamoff>(size * at));
      for (int i = 0; i < 3072; ++i) {
        x = x * 1664525u + 1013904223u;
        f.put(static_cast<char>(x >> 24));
      }
    }
  }
  dir.write("password.txt", "s3cret\n");
  const std::string retry = R"("reconnect": {"initial_s": 0.2, "max_s": 0.5}, "stall_timeout_s": 3, )";

  dir.write("actiond.json", daemon_json());
  dir.write("cameras/live.json", camera_json("live", "test://pattern?cycle=black,red&period=1&width=160&height=120"));
  dir.write("cameras/refused.json",
            camera_json("refused", "rtsp://127.0.0.1:" + std::to_string(test::closed_port()) + "/x", retry));
  dir.write("cameras/nopath.json", camera_json("nopath", "rtsp://127.0.0.1:" + std::to_string(server.port()) + "/nope", retry));
  dir.write("cameras/noauth.json", camera_json("noauth", locked.uri("admin:wrong@"), retry));
  dir.write("cameras/auth.json", camera_json("auth", locked.uri(), R"("username": "admin", "password_file": ")" +
                                                                      (dir.path() / "password.txt").string() + "\", "));
  dir.write("cameras/junk.json", camera_json("junk", "file://" + junk.string()));
  dir.write("cameras/truncated.json",
            camera_json("truncated", "file://" + truncated.string(), R"("realtime": false, "stall_timeout_s": 3, )"));
  dir.write("cameras/resized.json", camera_json("resized", "file://" + resized.string(), R"("realtime": false, )"));
  dir.write("cameras/corrupt.json", camera_json("corrupt", "file://" + corrupt.string(), R"("realtime": false, )"));

  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for(has_status("refused", "reconnecting", 2), 30s));
  REQUIRE(sub.wait_for(has_status("nopath", "reconnecting"), 30s));
  REQUIRE(sub.wait_for(has_status("noauth", "reconnecting"), 30s));
  REQUIRE(sub.wait_for(has_status("auth", "running"), 30s));
  REQUIRE(sub.wait_for(has_status("junk", "failed"), 30s));
  REQUIRE(sub.wait_for([](const auto& ev) {
    return !statuses(ev, "truncated", "failed").empty() || !statuses(ev, "truncated", "eos").empty();
  }, 30s));
  REQUIRE(sub.wait_for(has_status("resized", "eos"), 30s));
  // The corrupt stream is decoded through the damage (frames analysed) and ends, or fails visibly.
  REQUIRE(sub.wait_for([](const auto& ev) {
    return !statuses(ev, "corrupt", "failed").empty() || !statuses(ev, "corrupt", "eos").empty();
  }, 30s));
  // Meanwhile the healthy camera kept producing segments.
  REQUIRE(sub.wait_for([](const auto& ev) {
    int n = 0;
    for (const auto& e : of_type(ev, "segment.end")) n += e["camera"] == "live";
    return n >= 2;
  }, 30s));
  d.stop();
  REQUIRE(sub.wait_for([](const auto& ev) { return statuses(ev, "", "stopped").size() >= 9; }, 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);

  auto reason_of = [&](const std::string& cam, const std::string& state) {
    return statuses(events, cam, state).at(0)["reason"].get<std::string>();
  };
  CHECK_THAT(reason_of("refused", "reconnecting"), Catch::Contains("Could not open resource", Catch::CaseSensitive::No) ||
                                                       Catch::Contains("connection refused", Catch::CaseSensitive::No));
  CHECK_THAT(reason_of("nopath", "reconnecting"), Catch::Contains("Not Found", Catch::CaseSensitive::No));
  CHECK_THAT(reason_of("noauth", "reconnecting"), Catch::Contains("Unauthorized", Catch::CaseSensitive::No));
  CHECK_FALSE(reason_of("junk", "failed").empty());
  CHECK_FALSE(statuses(events, "corrupt", "running").empty());  // it was decoded before it ended
  CHECK(statuses(events, "corrupt", "reconnecting").empty());   // a file is not retried
  bool announced = false;
  for (const auto& s : statuses(events, "resized", "running")) {
    announced |= s["reason"] == "resolution changed from 320x240 to 640x480";
  }
  CHECK(announced);
  // Secrets never leave the process.
  for (const auto& e : events) {
    INFO(e.dump());
    CHECK(e.dump().find("s3cret") == std::string::npos);
    CHECK(e.dump().find("wrong") == std::string::npos);
  }
}

TEST_CASE("a looping file starts again after its end with a new epoch", "[integration][file]") {
  TempDir dir;
  const auto video = dir.path() / "short.mp4";
  test::make_h264_video(video, {{"black", 0.6}, {"red", 1.4}});
  dir.write("actiond.json", daemon_json());
  dir.write("cameras/loop.json", camera_json("loop", "file://" + video.string(),
                                             R"("realtime": false, "loop": true, "tracker": {"min_duration_s": 0.4}, )"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for(has_status("loop", "running", 3), 30s));
  d.stop();
  REQUIRE(sub.wait_for(has_status("loop", "stopped"), 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);
  CHECK(statuses(events, "loop", "running")[2]["epoch"] == 3);
  const auto ends = of_type(events, "segment.end");
  REQUIRE(ends.size() >= 2);
  CHECK(ends[0]["segment"]["end_reason"] == "eos");
}

TEST_CASE("http: a stream served over HTTP is decoded, its end reported and retried", "[integration][http]") {
  TempDir dir;
  const auto video = dir.path() / "clip.ts";
  test::make_h264_video(video, {{"black", 0.6}, {"green", 2}});
  std::string bytes;
  {
    std::ifstream in(video, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  httplib::Server http;
  http.Get("/clip.ts", [&](const httplib::Request&, httplib::Response& res) { res.set_content(bytes, "video/mp2t"); });
  const int port = http.bind_to_any_port("127.0.0.1");
  std::thread server([&] { http.listen_after_bind(); });

  dir.write("actiond.json", daemon_json());
  dir.write("cameras/web.json", camera_json("web", "http://127.0.0.1:" + std::to_string(port) + "/clip.ts",
                                            R"("reconnect": {"initial_s": 0.2, "max_s": 0.5}, )"
                                            R"("tracker": {"min_duration_s": 0.4}, )"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for(has_status("web", "running", 2), 30s));  // played, ended, reconnected
  d.stop();
  http.stop();
  server.join();
  REQUIRE(sub.wait_for(has_status("web", "stopped"), 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);
  CHECK(statuses(events, "web", "eos").size() >= 1);
  CHECK(statuses(events, "web", "running")[1]["epoch"] == 2);
  const auto starts = of_type(events, "segment.start");
  REQUIRE_FALSE(starts.empty());
  CHECK(starts[0]["segment"]["label"] == "green");
}

TEST_CASE("roi: only the region of interest is analysed", "[integration][roi]") {
  TempDir dir;
  dir.write("actiond.json", daemon_json());
  // SMPTE bars, 7 bars of 100 px: the 6th (x 500..600, upper part) is red; the whole frame is not.
  const std::string uri = "test://pattern?cycle=smpte&width=700&height=480&fps=10";
  dir.write("cameras/bars.json", camera_json("bars", uri, R"("tracker": {"min_duration_s": 0.4}, )"));
  dir.write("cameras/red.json", camera_json("red", uri, R"("roi": {"x": 510, "y": 10, "width": 80, "height": 280}, )"
                                                          R"("tracker": {"min_duration_s": 0.4}, )"));
  daemon::Daemon d(load(dir));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for([](const auto& ev) { return !of_type(ev, "segment.start").empty(); }, 30s));
  std::this_thread::sleep_for(1500ms);
  d.stop();
  REQUIRE(sub.wait_for([](const auto& ev) { return statuses(ev, "", "stopped").size() >= 2; }, 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);
  for (const auto& s : of_type(events, "segment.start")) {
    CHECK(s["camera"] == "red");
    CHECK(s["segment"]["label"] == "red");
  }
}

namespace {

// Decodes `video` once (as fast as possible) and returns the decoder's frame count and the frames analysed.
std::pair<std::uint64_t, int> decode_file(const std::filesystem::path& video, const std::string& skip_frames) {
  pipeline::FrameHub hub;
  auto opt = test::file_source(video, 5, false);
  opt.camera.skip_frames = skip_frames == "non_key" ? config::SkipFrames::non_key : config::SkipFrames::none;
  pipeline::CameraSource source(opt, hub);
  source.start();
  int frames = 0;
  const bool ended = test::drain_until_end(hub, [&](const pipeline::SourceItem& it) {
    frames += it.kind == pipeline::SourceItem::Kind::frame ? 1 : 0;
  });
  source.stop();
  REQUIRE(ended);
  return {source.frames_decoded(), frames};
}

}  // namespace

TEST_CASE("skip_frames non_key: only key frames are decoded and analysed", "[integration][file]") {
  TempDir dir;
  const auto video = dir.path() / "gop.mp4";
  // 4 s at 25 fps, a key frame every second.
  const std::string cmd = "gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=100 ! video/x-raw,width=160,height=120,"
                          "framerate=25/1 ! x264enc key-int-max=25 ! h264parse ! mp4mux ! filesink location='" +
                          video.string() + "'";
  REQUIRE(test::run_command(cmd) == 0);
  const auto [all_decoded, all_frames] = decode_file(video, "none");
  const auto [key_decoded, key_frames] = decode_file(video, "non_key");
  CHECK(all_decoded == 100);
  CHECK(all_frames >= 19);  // sampled to 5 fps
  CHECK(key_decoded == 4);
  CHECK(key_frames == 4);  // the key-frame rate (1 fps) is below the analysis rate
}
