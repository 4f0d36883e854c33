// A CameraSource's supervisor thread and its pipeline's streaming threads share state: statuses
// pushed from a streaming thread (a resolution change) carry the fps the supervisor measures.
// Under ThreadSanitizer (scripts/test.sh --sanitize thread) this is the test that caught the fps
// window being written by the supervisor and read by a streaming thread without synchronisation.
#include "actiond/pipeline/frame_hub.hpp"

#include "source_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace actiond;
using namespace std::chrono_literals;

TEST_CASE("statuses from streaming threads carry the supervisor's fps measurement", "[integration][file][threads]") {
  test::TempDir dir;
  const auto video = dir.path() / "resizing.ts";
  // Each part lasts longer than the 1 s fps window, so every change is announced after a window closed.
  std::vector<test::VideoPart> parts;
  for (int i = 0; i < 8; ++i) parts.push_back(i % 2 ? test::VideoPart{"white", 1.2, 640, 480} : test::VideoPart{"black", 1.2, 320, 240});
  test::make_h264_video(video, parts);
  pipeline::FrameHub hub;
  // One analysed frame a second: between the supervisor closing a window and a change, a streaming
  // thread rarely takes the hub's mutex, so ThreadSanitizer sees an unsynchronised fps read. Real
  // time: decoded at 25 fps, which the supervisor's windows measure.
  auto opt = test::file_source(video, 1, true);
  // Both decode paths announce the change (the analysis path from its own decoder).
  opt.camera.decoder = GENERATE(config::DecoderPath::gstreamer, config::DecoderPath::analysis);
  INFO("decoder " << config::to_string(opt.camera.decoder));
  pipeline::CameraSource source(opt, hub);
  source.start();

  std::vector<pipeline::StreamStatus> changes;
  const bool ended = test::drain_until_end(hub, [&](const pipeline::SourceItem& it) {
    if (it.kind == pipeline::SourceItem::Kind::status && it.status.reason.rfind("resolution changed", 0) == 0) {
      changes.push_back(it.status);
    }
  });
  source.stop();
  REQUIRE(ended);
  REQUIRE(changes.size() == 7);
  CHECK(changes[0].reason == "resolution changed from 320x240 to 640x480");
  CHECK(changes[1].reason == "resolution changed from 640x480 to 320x240");
  for (const auto& c : changes) {
    INFO(c.reason << " at " << c.fps_in << " fps");
    CHECK(c.state == pipeline::StreamState::running);
    CHECK(c.fps_in > 5.0);     // measured, not a reset window; the first window may hold the
    CHECK(c.fps_in < 100.0);   // start-up burst of frames the demuxer queued ahead
  }
  INFO("last change at " << changes.back().fps_in << " fps");
  CHECK(changes.back().fps_in > 15.0);  // well into the stream: the file's 25 fps
  CHECK(changes.back().fps_in < 35.0);
}

TEST_CASE("every connection of a looping file announces itself from its streaming thread, with the epoch and fps",
          "[integration][file][threads]") {
  // Before SourceState, the supervisor reset the fps window right after starting each connection
  // while the connection's first frame read it from a streaming thread: ThreadSanitizer reported
  // that race here on every loop (docs/RELIABILITY.md).
  test::TempDir dir;
  const auto video = dir.path() / "short.mp4";
  test::make_h264_video(video, {{"black", 0.4, 320, 240}});
  pipeline::FrameHub hub;
  auto opt = test::file_source(video, 1, true);
  opt.camera.loop = true;
  pipeline::CameraSource source(opt, hub);
  source.start();
  std::vector<pipeline::StreamStatus> running;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::vector<pipeline::SourceItem> items;
  while (running.size() < 8 && std::chrono::steady_clock::now() < deadline) {
    hub.wait(100ms);
    items.clear();
    hub.take(64, items);
    for (const auto& it : items) {
      if (it.kind == pipeline::SourceItem::Kind::status && it.status.state == pipeline::StreamState::running) {
        running.push_back(it.status);
      }
    }
  }
  source.stop();
  REQUIRE(running.size() >= 8);
  for (std::size_t i = 0; i < running.size(); ++i) {
    INFO("connection " << i + 1);
    CHECK(running[i].epoch == i + 1);
    CHECK(running[i].reason == "connected");
    CHECK(running[i].fps_in >= 0.0);
  }
}
