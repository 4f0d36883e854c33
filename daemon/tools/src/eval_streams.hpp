#pragma once
// Private to `actiond eval --workbench`: the split's streams scored once by the segmenter as the
// daemon runs it (per tracked person when the stream has S.track.npy), then decoded and measured for
// any tracker settings (so a grid search costs only decoding).
#include "actiond/daemon/analysis/online_decoder.hpp"
#include "actiond/models/models.hpp"
#include "actiond/tools/segmentation_metrics.hpp"
#include "actiond/tools/workbench_eval.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace actiond::tools {

struct EvalContext {
  std::vector<std::string> names;
  int background = 0;
  int window = 0;
  int lookahead = 0;
  double fps = 5.0;
  bool repetitions = false;  // the segmenter scores repetition starts
  bool pose = false;         // its rows are pose features (repetitions can be counted from the pose)
  bool counts() const { return repetitions || pose; }  // repetitions can be counted
  bool pieces = false;       // world/pieces.json: videos and non-exercise stretches of each stream
};

struct EvalPiece {
  bool video = false;  // a video of one exercise (else: non-exercise footage)
  int label = 0;
  int start = 0;
  int end = 0;         // [start, end) in analysed frames
  int reps = 0;        // true repetitions (videos)
  std::string name;    // videos: class/name; non-exercise footage: its source
};

struct EvalStream {
  std::string name;
  std::vector<int> gt;
  std::vector<std::vector<int>> runs;              // each person's frames (the whole stream without tracks)
  std::vector<std::vector<float>> online;          // per frame, daemon windows (background outside runs)
  std::vector<std::vector<float>> whole;           // per frame, each run as one window
  std::vector<float> repetition;                   // per frame (empty without a repetition output)
  std::vector<float> feats;                        // per frame, the feature row (pose segmenters only)
  std::vector<int> true_reps;                      // frames where a repetition starts (S.reps.npy)
  std::vector<EvalPiece> pieces;
};

struct RepetitionResult {
  int videos = 0;            // videos with at least one true repetition
  double obo = 0;            // share with |pred - true| <= 1
  double mnae = 0;           // mean |pred - true| / true
  double exact = 0;          // share with pred == true
  int zero_videos = 0;       // videos without a true repetition ...
  int zero_videos_counted = 0;  // ... in which some were counted
  int true_total = 0;
  int matched = 0;           // true starts with a published repetition within 1 s
  double latency_mean_s = 0; // from the true start to the event, over the matched
  double latency_p90_s = 0;
  nlohmann::json per_video = nlohmann::json::array();
};

struct StreamScores {
  SegmentationResult framewise, tracked, whole, whole_tracked;
  nlohmann::json per_class_f1_50 = nlohmann::json::object();
  std::vector<std::vector<long>> confusion;
  // Alarms: a run of published non-background frames (of any labels, back to back) is one alarm; it
  // finds a stream's event when it overlaps the stream's true non-background frames, else it is false.
  int alarm_streams = 0;  // streams with true non-background frames
  int alarms_found = 0;   // of them, streams with an alarm overlapping those frames
  int false_alarms = 0;
  int false_segments = 0;
  double filler_seconds = 0;
  std::map<std::string, std::pair<int, double>> false_by_source;  // source -> (false segments, seconds)
  RepetitionResult reps;
};

std::unique_ptr<models::Segmenter> load_context(const WorkbenchEvalOptions& opt, EvalContext& ctx);
std::vector<EvalStream> load_streams(const WorkbenchEvalOptions& opt, EvalContext& ctx, models::Segmenter& seg);
// `full`: also the offline rows, per-class figures and confusion (the grid search needs only the rest).
StreamScores score_streams(const std::vector<EvalStream>& streams, const EvalContext& ctx,
                           const config::TrackerConfig& tracker, bool full);
nlohmann::json repetition_json(const RepetitionResult& r);
// The tracker's decisions on every stream (see WorkbenchEvalOptions::decisions).
nlohmann::json decisions_json(const std::vector<EvalStream>& streams, const EvalContext& ctx,
                              const config::TrackerConfig& tracker);

}  // namespace actiond::tools
