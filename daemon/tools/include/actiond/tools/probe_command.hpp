#pragma once
// `actiond probe --videos DIR|FILE [--json]`: what GStreamer sees in each video, without decoding it
// all (GstDiscoverer: the container, the first frames decoded): frame rate, frame count (duration x
// rate), size, codec, or why it cannot be read. One JSON object per line with --json (the training
// command validates datasets with it), else a table. Exit status 0 even when some videos fail: the
// caller decides; 2 when the path does not exist or holds no video.
#include <ostream>
#include <string>

namespace actiond::tools {

struct ProbeOptions {
  std::string videos;  // a directory (its regular files, sorted) or one file
  bool json = false;
  double timeout_s = 20.0;  // per video
};

int run_probe(const ProbeOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace actiond::tools
