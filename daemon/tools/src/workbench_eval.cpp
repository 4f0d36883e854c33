#include "actiond/tools/workbench_eval.hpp"

#include "actiond/daemon/analysis/online_decoder.hpp"
#include "actiond/daemon/analysis/segment_tracker.hpp"
#include "actiond/tools/segmentation_metrics.hpp"
#include "actiond/models/models.hpp"
#include "actiond/pipeline/files/npy_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace actiond::tools {

using namespace actiond::daemon;  // the serving path's tracker and online decoder

namespace fs = std::filesystem;
using nlohmann::json;


namespace {

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error(p.string() + ": cannot open file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

json evaluate_workbench(const WorkbenchEvalOptions& opt) {
  const fs::path world = opt.world;
  std::vector<std::string> names;
  for (const auto& line : read_lines(world / "mapping.txt")) names.push_back(line.substr(line.find(' ') + 1));
  auto seg = models::Segmenter::load(opt.segmenter);
  const auto& man = seg->manifest();
  if (man.labels != names) throw std::runtime_error(opt.segmenter + ": labels differ from " + (world / "mapping.txt").string());
  const int window = man.window;
  const int look = man.lookahead;
  const std::set<int> background{man.background};
  SegmentationMetrics framewise(background, opt.fps);
  SegmentationMetrics tracked(background, opt.fps);
  SegmentationMetrics whole(background, opt.fps);
  SegmentationMetrics whole_tracked(background, opt.fps);
  int videos = 0;
  for (const auto& entry : read_lines(world / "splits" / (opt.split + ".split1.bundle"))) {
    const std::string video = fs::path(entry).stem().string();
    std::vector<long> fshape;
    std::vector<long> pshape;
    const auto feats64 = pipeline::read_npy((fs::path(opt.features) / (video + ".features.npy")).string(), fshape);
    const auto pts = pipeline::read_npy((fs::path(opt.features) / (video + ".pts.npy")).string(), pshape);
    if (fshape.size() != 2 || fshape[1] != man.feature_dim || pshape[0] != fshape[0]) {
      throw std::runtime_error(video + ": features do not fit the segmenter (feature_dim " +
                               std::to_string(man.feature_dim) + ")");
    }
    const std::vector<float> feats(feats64.begin(), feats64.end());
    const int n = static_cast<int>(fshape[0]);
    const int d = static_cast<int>(fshape[1]);
    std::vector<int> gt_frames;
    for (const auto& l : read_lines(world / "groundTruth" / (video + ".txt"))) {
      gt_frames.push_back(static_cast<int>(std::find(names.begin(), names.end(), l) - names.begin()));
    }
    std::vector<int> gt(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t) {
      const long idx = std::clamp(std::lround(pts[static_cast<std::size_t>(t)] * opt.video_fps), 0L,
                                  static_cast<long>(gt_frames.size()) - 1);
      gt[static_cast<std::size_t>(t)] = gt_frames[static_cast<std::size_t>(idx)];
    }
    // As the daemon: frame t is decided when frame t + lookahead arrives, from the window ending there.
    std::vector<std::vector<float>> probs(static_cast<std::size_t>(n));
    models::SegmenterOutput out;
    for (int t = 0; t < n; ++t) {
      const int end = std::min(n - 1, t + look);
      const int start = std::max(0, end - window + 1);
      seg->run(feats.data() + static_cast<std::size_t>(start) * d, end - start + 1, out);
      const int p = t - start;
      probs[static_cast<std::size_t>(t)].assign(out.probs.begin() + p * out.classes,
                                                out.probs.begin() + (p + 1) * out.classes);
    }
    framewise.add(argmax_labels(probs), gt);
    OnlineDecodeOptions dec;
    dec.tracker = opt.tracker;
    dec.fps = opt.fps;
    dec.background = man.background;
    dec.softmax = false;
    dec.lookahead = 0;  // probabilities above already used the model's look-ahead
    dec.history = 0;
    DecodedVideo dv = decode_online(probs, dec);
    for (auto& at : dv.decided_at) at = std::min(n - 1, at + look);
    tracked.add(dv.labels, gt, dv.decided_at);
    // Reference: the whole video as one window (every frame sees everything before it + look-ahead).
    seg->run(feats.data(), n, out);
    std::vector<std::vector<float>> all(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t) all[static_cast<std::size_t>(t)].assign(out.probs.begin() + t * out.classes, out.probs.begin() + (t + 1) * out.classes);
    whole.add(argmax_labels(all), gt);
    // ... and smoothed by the same tracker, without any latency (the fair offline counterpart).
    whole_tracked.add(decode_online(all, dec).labels, gt);
    ++videos;
  }
  json result{{"world", opt.world}, {"split", opt.split}, {"videos", videos}, {"segmenter", opt.segmenter},
              {"window", window}, {"lookahead_frames", look}, {"lookahead_s", look / opt.fps}, {"rows", json::array()}};
  result["rows"].push_back(metrics_row("offline: whole video as one window, argmax", whole.result(), false));
  result["rows"].push_back(metrics_row("offline: whole video as one window + segment tracker", whole_tracked.result(),
                                       false));
  result["rows"].push_back(metrics_row("online: daemon windows, frame-wise argmax", framewise.result(), false));
  result["rows"].push_back(metrics_row("online: daemon windows + segment tracker", tracked.result(), true));
  return result;
}

int run_workbench_eval(const WorkbenchEvalOptions& opt, std::ostream& out) {
  const json r = evaluate_workbench(opt);
  if (opt.json) {
    out << r.dump(2) << "\n";
    return 0;
  }
  out << r["world"].get<std::string>() << " split " << opt.split << " (" << r["videos"] << " videos), window "
      << r["window"] << ", look-ahead " << r["lookahead_frames"] << " frames (" << r["lookahead_s"] << " s)\n";
  print_metrics_table(r["rows"], out);
  return 0;
}

}  // namespace actiond::tools
