#pragma once
// Camera URIs: what each scheme means and how it is shown in logs.
//   file:///abs/path.mp4           decoded by uridecodebin (gst-libav decoders)
//   rtsp://, http(s)://            decoded by uridecodebin (rtspsrc / souphttpsrc)
//   v4l2:///dev/video0             v4l2src -> decodebin
//   synthetic://workbench?seed=N&width=320&height=240&fps=25
//                                  built-in live camera rendering the workbench world (appsrc)
//   features:///abs/path.npy       replays a [frames, dim] feature array (see files/npy_file.hpp)
//   test://pattern?cycle=black,red&period=4&width=640&height=480&fps=25
//                                  built-in live camera over videotestsrc; switches pattern every
//                                  `period` seconds through `cycle` (videotestsrc pattern nicknames)
//
// Thread-safety: pure functions.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace actiond::pipeline {

struct TestPatternSpec {
  std::vector<std::string> cycle{"smpte"};
  double period_s = 4.0;
  int width = 640;
  int height = 480;
  int fps = 25;
};

struct SourceSpec {
  enum class Kind { decode, test_pattern, v4l2, synthetic, features };
  Kind kind = Kind::decode;
  std::string uri;         // for decode
  std::string device;      // for v4l2; the file for features
  bool live = false;       // true for network and test sources
  TestPatternSpec pattern; // for test_pattern and synthetic (width, height, fps)
  std::uint64_t seed = 1;  // for synthetic
};

class UriError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws UriError with a message meant to follow "<file>: /uri: ".
SourceSpec parse_source_uri(const std::string& uri);

// The text with the user:password of every URI in it replaced by *** (for logs, events, errors).
std::string redact_uri(const std::string& uri);

}  // namespace actiond::pipeline
