// The analysis-grade decode path ("decoder": "analysis") against GStreamer's full-quality path on
// the same real H.264 files: the same frames at the same times with the same colours, letterbox and
// region of interest; other codecs fall back to GStreamer; loops and key-frame-only decoding work.
#include "actiond/config/config.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"

#include "source_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <vector>

using namespace actiond;
using test::TempDir;

namespace {

struct Decoded {
  std::vector<pipeline::Frame> frames;
  std::uint64_t decoded = 0;
};

// Decodes `video` once, as fast as analysis allows, through the given path.
Decoded decode(const std::filesystem::path& video, config::DecoderPath path, int width, int height,
               bool letterbox = false, config::RoiConfig roi = {}) {
  pipeline::FrameHub hub;
  auto opt = test::file_source(video, 5, false);
  opt.camera.decoder = path;
  opt.camera.roi = roi;
  opt.width = width;
  opt.height = height;
  opt.letterbox = letterbox;
  pipeline::CameraSource source(opt, hub);
  source.start();
  Decoded out;
  const bool ended = test::drain_until_end(hub, [&](const pipeline::SourceItem& it) {
    if (it.kind == pipeline::SourceItem::Kind::frame) out.frames.push_back(it.frame);
  });
  source.stop();
  REQUIRE(ended);
  out.decoded = source.frames_decoded();
  return out;
}

// Mean absolute difference per channel value between two frames of the same size.
double mean_abs_diff(const pipeline::Frame& a, const pipeline::Frame& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  double sum = 0;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < a.width * 3; ++x) {
      sum += std::abs(int(a.data[y * a.stride + x]) - int(b.data[y * b.stride + x]));
    }
  }
  return sum / (a.width * a.height * 3.0);
}

std::array<double, 3> mean_rgb(const pipeline::Frame& f, int x0, int y0, int w, int h) {
  std::array<double, 3> m{0, 0, 0};
  for (int y = y0; y < y0 + h; ++y) {
    for (int x = x0; x < x0 + w; ++x) {
      for (int c = 0; c < 3; ++c) m[c] += f.data[y * f.stride + x * 3 + c];
    }
  }
  for (auto& v : m) v /= w * h;
  return m;
}

// Pairs frames of the two paths by presentation time.
std::vector<std::pair<const pipeline::Frame*, const pipeline::Frame*>> pairs(const Decoded& a, const Decoded& b) {
  std::map<long, const pipeline::Frame*> by_ms;
  for (const auto& f : b.frames) by_ms[std::lround(f.pts * 1000)] = &f;
  std::vector<std::pair<const pipeline::Frame*, const pipeline::Frame*>> out;
  for (const auto& f : a.frames) {
    auto it = by_ms.find(std::lround(f.pts * 1000));
    if (it != by_ms.end()) out.emplace_back(&f, it->second);
  }
  return out;
}

}  // namespace

TEST_CASE("analysis decoder: the frames GStreamer's path gives, at the same times, within a few levels",
          "[integration][decoder]") {
  TempDir dir;
  const auto video = dir.path() / "bars.mp4";
  test::make_h264_video(video, {{"smpte", 1.2, 320, 240}, {"ball", 1.2, 320, 240}});
  const auto full = decode(video, config::DecoderPath::gstreamer, 64, 48);
  const auto fast = decode(video, config::DecoderPath::analysis, 64, 48);
  INFO("gstreamer " << full.frames.size() << " frames, analysis " << fast.frames.size());
  REQUIRE(full.frames.size() >= 11);  // 2.4 s at 5 fps
  CHECK(fast.frames.size() == full.frames.size());
  CHECK(fast.decoded == 60);  // every unit of the 25 fps file reached the decoder
  const auto matched = pairs(fast, full);
  CHECK(matched.size() == full.frames.size());
  for (const auto& [a, b] : matched) {
    CHECK(a->width == 64);
    CHECK(a->height == 48);
    const double mad = mean_abs_diff(*a, *b);
    const auto ma = mean_rgb(*a, 0, 0, 64, 48);
    const auto mb = mean_rgb(*b, 0, 0, 64, 48);
    const auto wa = mean_rgb(*a, 1, 4, 6, 20);
    const auto wb = mean_rgb(*b, 1, 4, 6, 20);
    INFO("pts " << a->pts << " mean abs diff " << mad << " means " << ma[0] << "," << ma[1] << "," << ma[2] << " vs "
                << mb[0] << "," << mb[1] << "," << mb[2] << " white " << wa[0] << "," << wa[1] << "," << wa[2] << " vs " << wb[0] << "," << wb[1] << "," << wb[2]);
    // Different scalers (swscale's bilinear averages, videoscale samples) and no deblocking: sharp
    // colour edges differ by a few levels, a colour swap, shift or range error by far more.
    CHECK(mad < 14.0);
    for (int c = 0; c < 3; ++c) CHECK(std::abs(ma[c] - mb[c]) < 10.0);
  }
  // Colour order and range: SMPTE's first bar is grey-white (~190), the sixth red.
  const auto& first = fast.frames.front();
  const auto white = mean_rgb(first, 1, 4, 6, 20);
  const auto red = mean_rgb(first, 46, 4, 6, 20);
  INFO("white bar " << white[0] << "," << white[1] << "," << white[2] << " red bar " << red[0] << "," << red[1] << "," << red[2]);
  CHECK(white[0] > 160);
  CHECK(std::abs(white[0] - white[2]) < 20);
  CHECK(red[0] > 150);
  CHECK(red[1] < 60);
  CHECK(red[2] < 60);
}

TEST_CASE("analysis decoder: letterbox and region of interest as GStreamer's path does them", "[integration][decoder]") {
  TempDir dir;
  const auto video = dir.path() / "wide.mp4";
  test::make_h264_video(video, {{"smpte", 0.8, 320, 180}});
  // 16:9 into 64x64: picture rows 14..49, black borders above and below.
  const auto full = decode(video, config::DecoderPath::gstreamer, 64, 64, true);
  const auto fast = decode(video, config::DecoderPath::analysis, 64, 64, true);
  REQUIRE_FALSE(fast.frames.empty());
  REQUIRE_FALSE(full.frames.empty());
  const auto& a = fast.frames.front();
  const auto& b = full.frames.front();
  for (int i = 0; i < 4; ++i) CHECK(a.content[i] == Approx(b.content[i]).margin(0.02));
  CHECK(mean_rgb(a, 0, 0, 64, 10)[0] < 5);   // the border is black
  CHECK(mean_rgb(a, 0, 54, 64, 10)[1] < 5);
  CHECK(mean_abs_diff(a, b) < 10.0);

  // The red bar alone (SMPTE at 320 px: bars of ~45.7 px, the sixth at 228..274).
  config::RoiConfig roi;
  roi.x = 234;
  roi.y = 10;
  roi.width = 34;
  roi.height = 80;
  const auto red = decode(video, config::DecoderPath::analysis, 32, 32, false, roi);
  REQUIRE_FALSE(red.frames.empty());
  const auto m = mean_rgb(red.frames.front(), 0, 0, 32, 32);
  INFO("roi mean " << m[0] << "," << m[1] << "," << m[2]);
  CHECK(m[0] > 150);
  CHECK(m[1] < 60);
}

TEST_CASE("analysis decoder: a stream that is not H.264 is decoded by GStreamer", "[integration][decoder]") {
  TempDir dir;
  const auto video = dir.path() / "mjpeg.avi";
  REQUIRE(test::run_command("gst-launch-1.0 -q videotestsrc pattern=smpte num-buffers=25 ! video/x-raw,width=320,height=240,"
                            "framerate=25/1 ! jpegenc ! avimux ! filesink location='" + video.string() + "'") == 0);
  const auto out = decode(video, config::DecoderPath::analysis, 32, 32);
  CHECK(out.frames.size() >= 4);  // 1 s at 5 fps
  CHECK(out.decoded == 25);
}

TEST_CASE("analysis decoder: key frames only, and a looping file that starts again", "[integration][decoder]") {
  TempDir dir;
  const auto video = dir.path() / "gop.mp4";
  REQUIRE(test::run_command("gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=50 ! video/x-raw,width=160,height=120,"
                            "framerate=25/1 ! x264enc key-int-max=25 ! h264parse ! mp4mux ! filesink location='" +
                            video.string() + "'") == 0);
  {
    pipeline::FrameHub hub;
    auto opt = test::file_source(video, 5, false);
    opt.camera.decoder = config::DecoderPath::analysis;
    opt.camera.skip_frames = config::SkipFrames::non_key;
    pipeline::CameraSource source(opt, hub);
    source.start();
    int frames = 0;
    REQUIRE(test::drain_until_end(hub, [&](const pipeline::SourceItem& it) {
      frames += it.kind == pipeline::SourceItem::Kind::frame ? 1 : 0;
    }));
    source.stop();
    CHECK(source.frames_decoded() == 2);
    CHECK(frames == 2);
  }
  // Looping (real time): after the 2 s file ends the decoder starts again at its key frame.
  pipeline::FrameHub hub;
  auto opt = test::file_source(video, 5, true);
  opt.camera.decoder = config::DecoderPath::analysis;
  opt.camera.loop = true;
  pipeline::CameraSource source(opt, hub);
  source.start();
  std::vector<double> pts;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<pipeline::SourceItem> items;
  while (std::chrono::steady_clock::now() < deadline) {  // through end-of-file statuses
    hub.wait(std::chrono::milliseconds(100));
    items.clear();
    hub.take(64, items);
    for (const auto& it : items) {
      if (it.kind == pipeline::SourceItem::Kind::frame) pts.push_back(it.frame.pts);
    }
  }
  source.stop();
  INFO("frames in 5 s: " << pts.size());
  CHECK(pts.size() >= 20);  // 5 fps for 5 s (minus the start): the loop continued
  int restarts = 0;
  for (std::size_t i = 1; i < pts.size(); ++i) restarts += pts[i] < pts[i - 1] ? 1 : 0;
  CHECK(restarts >= 1);
}

TEST_CASE("analysis decoder: with B-frames, skipping the unneeded ones keeps the same frames and times",
          "[integration][decoder]") {
  TempDir dir;
  const auto video = dir.path() / "bframes.mp4";
  // I P B B P B B ...: two non-reference B-frames between references (b-adapt off forces them).
  REQUIRE(test::run_command("gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=75 ! video/x-raw,width=320,height=240,"
                            "framerate=25/1 ! x264enc key-int-max=25 bframes=2 b-adapt=false ! h264parse ! mp4mux ! "
                            "filesink location='" + video.string() + "'") == 0);
  const auto full = decode(video, config::DecoderPath::gstreamer, 64, 48);
  const auto fast = decode(video, config::DecoderPath::analysis, 64, 48);
  INFO("gstreamer " << full.frames.size() << " frames, analysis " << fast.frames.size());
  REQUIRE(full.frames.size() >= 14);  // 3 s at 5 fps
  CHECK(fast.frames.size() == full.frames.size());
  const auto matched = pairs(fast, full);
  CHECK(matched.size() == full.frames.size());
  for (const auto& [a, b] : matched) {
    INFO("pts " << a->pts);
    CHECK(mean_abs_diff(*a, *b) < 8.0);  // a skipped reference would smear every later picture
  }
}
