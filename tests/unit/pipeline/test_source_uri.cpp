#include "actiond/pipeline/sources/source_uri.hpp"

#include <catch2/catch.hpp>

using namespace actiond::pipeline;

TEST_CASE("test camera URIs", "[uri]") {
  auto s = parse_source_uri("test://pattern?cycle=black,red&period=2.5&width=320&height=240&fps=10");
  CHECK(s.kind == SourceSpec::Kind::test_pattern);
  CHECK(s.live);
  CHECK(s.pattern.cycle == std::vector<std::string>{"black", "red"});
  CHECK(s.pattern.period_s == 2.5);
  CHECK(s.pattern.width == 320);
  CHECK(s.pattern.fps == 10);
  CHECK(parse_source_uri("test://pattern").pattern.cycle == std::vector<std::string>{"smpte"});

  CHECK_THROWS_WITH(parse_source_uri("test://pattern?cycle=black,purple"),
                    "test://pattern?cycle=black,purple: unknown pattern \"purple\" (see gst-inspect-1.0 videotestsrc)");
  CHECK_THROWS_WITH(parse_source_uri("test://pattern?fps=0"),
                    "test://pattern?fps=0: fps must be a number between 1 and 240, got \"0\"");
  CHECK_THROWS_WITH(parse_source_uri("test://pattern?colour=red"),
                    "test://pattern?colour=red: unknown parameter \"colour\" (known: cycle, period, width, height, fps)");
  CHECK_THROWS_WITH(parse_source_uri("test://ball"), "test://ball: unknown test camera \"ball\" (known: pattern)");
  // The query is split and percent-decoded by GLib.
  CHECK(parse_source_uri("test://pattern?cycle=black%2Cred&fps=%35").pattern.cycle ==
        std::vector<std::string>{"black", "red"});
  CHECK(parse_source_uri("test://pattern?cycle=black%2Cred&fps=%35").pattern.fps == 5);
  CHECK_THROWS_WITH(parse_source_uri("test://pattern?fps"), "test://pattern?fps: every query item must be key=value");
  // GLib's reason follows (in the user's language).
  CHECK_THROWS_WITH(parse_source_uri("test://pattern?fps=%zz"), Catch::StartsWith("test://pattern?fps=%zz: not a valid URI ("));
}

TEST_CASE("decoded URIs", "[uri]") {
  auto f = parse_source_uri("file:///videos/a.mp4");
  CHECK(f.kind == SourceSpec::Kind::decode);
  CHECK_FALSE(f.live);
  CHECK(parse_source_uri("rtsp://cam/stream").live);
  CHECK_THROWS_WITH(parse_source_uri("file://videos/a.mp4"),
                    "file://videos/a.mp4: file URIs need an absolute path (file:///path/to/video.mp4)");
  CHECK_THROWS_WITH(parse_source_uri("rtmp://admin:secret@cam/live"), "rtmp://***@cam/live: unsupported scheme \"rtmp\"");
}

TEST_CASE("feature replay URIs", "[uri]") {
  auto f = parse_source_uri("features:///data/s02_0.features.npy");
  CHECK(f.kind == SourceSpec::Kind::features);
  CHECK(f.device == "/data/s02_0.features.npy");
  CHECK_FALSE(f.live);
  CHECK_THROWS_WITH(parse_source_uri("features://f.npy"), "features://f.npy: expected features:///path/to/features.npy");
}

TEST_CASE("credentials are redacted", "[uri]") {
  CHECK(redact_uri("rtsp://admin:secret@10.0.0.2:554/live") == "rtsp://***@10.0.0.2:554/live");
  CHECK(redact_uri("rtsp://10.0.0.2/live") == "rtsp://10.0.0.2/live");
  CHECK(redact_uri("http://u@h/x?a=b@c") == "http://***@h/x?a=b@c");
  CHECK(redact_uri("connecting to rtsp://a:b@h/x and http://c:d@k/") == "connecting to rtsp://***@h/x and http://***@k/");
}
