#pragma once
// `actiond world`: writes the workbench benchmark (pipeline/workbench.hpp) in the usual layout of
// action segmentation datasets (50Salads, GTEA, Breakfast):
//   DIR/videos/wb_NNN.mp4        H.264
//   DIR/groundTruth/wb_NNN.txt   one label name per video frame
//   DIR/mapping.txt              "<id> <label>" per line, 0 = background
//   DIR/splits/{train,val,test}.split1.bundle   video file names; val: training videos held out
//                                for choosing settings (calibration, decoding), never trained on
//
// Thread-safety: pure function of its options (deterministic by seed).
#include <cstdint>
#include <ostream>
#include <string>

namespace actiond::tools {

struct WorldOptions {
  std::string out;
  int videos = 24;
  std::uint64_t seed = 1;
  int activities = 3;       // per video
  int width = 320;
  int height = 240;
  double fps = 25.0;
  double test_fraction = 0.25;
  double val_fraction = 0.2;  // of all videos, taken from the non-test ones
};

// Returns the process exit status; progress goes to `progress`. Throws std::runtime_error naming files.
int run_world(const WorldOptions& options, std::ostream& progress);

}  // namespace actiond::tools
