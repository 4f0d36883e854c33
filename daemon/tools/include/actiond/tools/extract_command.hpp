#pragma once
// `actiond extract`: runs videos through the daemon's own ingest path (GStreamer decode, videorate to
// the analysis fps, scale to the model's input, RGB) and, with a backbone, the same TorchScript
// inference, so training sees exactly what serving sees. Per video it writes
//   OUT/<video>.features.npy   float32 [T, D]            (with --model, a backbone)
//   OUT/<video>.pose.npy       float32 [T, P, 56]        (with --model, a pose model: its raw output,
//                                                          fractions of the letterboxed input)
//   OUT/<video>.content.npy    float32 [T, 4]            (pose: x, y, w, h of the picture in the input)
//   OUT/<video>.features.npy   float32 [T, 85]           (pose: the tracked subject's pose features, as
//                                                          the daemon feeds a person's segmenter; zeros
//                                                          on frames without a confirmed person)
//   OUT/<video>.track.npy      int64   [T]               (pose: the subject's track id, 0 = nobody)
//   OUT/<video>.frames.npy     uint8   [T, H, W, 3]       (with --frames WxH)
//   OUT/<video>.pts.npy        float64 [T]   stream time of each analysed frame, seconds
//
// Thread-safety: run from one thread (it starts the usual pipeline threads internally).
#include "actiond/config/config.hpp"

#include <ostream>
#include <vector>
#include <string>

namespace actiond::tools {

struct ExtractOptions {
  std::string model;       // backbone or pose .pt (optional if frames_size is set)
  std::string videos;      // directory of videos (or a single file)
  std::string out;
  double fps = 5.0;
  std::string frames_size; // "WxH": also dump the model-input frames (uint8), e.g. for backbone training
  int batch = 16;
  int threads = 2;
  config::DecoderPath decoder = config::DecoderPath::gstreamer;  // as the camera key "decoder"
  // Pose models: the camera's `persons` settings (tracking, follow crop) the features are made with.
  // The subject is the person followed: kept while their track lives, then the longest-tracked
  // person seen. The motion gate does not apply: every analysed frame runs the model.
  config::PersonTrackingConfig persons;
};

int run_extract(const ExtractOptions& options, std::ostream& progress);


}  // namespace actiond::tools
