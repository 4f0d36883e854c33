// A CameraSource's supervisor thread and its pipeline's streaming threads share state: statuses
// pushed from a streaming thread (a resolution change) carry the fps the supervisor measures.
// Under ThreadSanitizer (scripts/test.sh --sanitize thread) this is the test that caught the fps
// window being written by the supervisor and read by a streaming thread without synchronisation.
#include "actiond/pipeline/frame_hub.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"

#include "source_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace actiond;
using namespace std::chrono_literals;

TEST_CASE("statuses from streaming threads carry the supervisor's fps measurement", "[integration][file][threads]") {
  test::TempDir dir;
  const auto video = dir.path() / "resizing.ts";
  // Each part lasts longer than the 1 s fps window, so every change is announced after a window closed.
  test::make_h264_video(video, {{"black", 1.4, 320, 240}, {"white", 1.4, 640, 480}, {"black", 1.4, 320, 240},
                                {"white", 1.4, 640, 480}});
  pipeline::FrameHub hub;
  pipeline::SourceOptions opt;
  opt.handle = 1;
  opt.camera.id = "cam";
  opt.camera.uri = "file://" + video.string();
  opt.camera.fps = 5;
  opt.camera.realtime = true;  // decoded at 25 fps: the supervisor's windows measure that
  opt.width = opt.height = 32;
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
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].reason == "resolution changed from 320x240 to 640x480");
  CHECK(changes[1].reason == "resolution changed from 640x480 to 320x240");
  for (const auto& c : changes) {
    INFO(c.reason << " at " << c.fps_in << " fps");
    CHECK(c.state == pipeline::StreamState::running);
    CHECK(c.fps_in > 15.0);
    CHECK(c.fps_in < 35.0);
  }
}
