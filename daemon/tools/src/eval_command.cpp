#include "actiond/tools/eval_command.hpp"
#include "timeline_image.hpp"

#include "actiond/daemon/analysis/online_decoder.hpp"
#include "actiond/tools/segmentation_metrics.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>

namespace actiond::tools {

using namespace actiond::daemon;  // the serving path's tracker and online decoder

using nlohmann::json;

namespace {

std::vector<int> ints(const json& j, const std::string& where) {
  if (!j.is_array()) throw std::runtime_error(where + " must be an array of integers");
  return j.get<std::vector<int>>();
}

}  // namespace

json evaluate_score_file(const EvalOptions& opt) {
  std::ifstream in(opt.scores_file);
  if (!in) throw std::runtime_error(opt.scores_file + ": cannot open file");
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("splits")) {
    throw std::runtime_error(opt.scores_file + ": not a score file (expected an object with \"splits\")");
  }
  const int bg = doc.value("bg_class", 0);
  const std::set<int> background{bg};
  SegmentationMetrics given(background, opt.fps);
  SegmentationMetrics argmax(background, opt.fps);
  SegmentationMetrics online(background, opt.fps);
  bool has_pred = true;
  bool has_scores = true;
  int videos = 0;
  std::vector<TimelineRow> pictures;

  OnlineDecodeOptions dec;
  dec.tracker.threshold = opt.threshold;
  dec.tracker.confirm_frames = opt.confirm_frames;
  dec.tracker.min_duration_s = opt.min_frames / opt.fps;
  dec.fps = opt.fps;
  dec.background = bg;
  dec.lookahead = opt.lookahead_frames;
  dec.history = opt.history_frames;

  for (std::size_t s = 0; s < doc["splits"].size(); ++s) {
    for (std::size_t v = 0; v < doc["splits"][s].size(); ++v) {
      const json& video = doc["splits"][s][v];
      const std::string where = opt.scores_file + ": /splits/" + std::to_string(s) + "/" + std::to_string(v);
      const auto gt = ints(video.at("gt"), where + "/gt");
      ++videos;
      if (video.contains("pred") && video["pred"].is_array() && video["pred"].size() == gt.size()) {
        given.add(ints(video["pred"], where + "/pred"), gt);
      } else {
        has_pred = false;
      }
      if (!video.contains("scores") || !video["scores"].is_array() || video["scores"].size() != gt.size()) {
        has_scores = false;
        continue;
      }
      const auto scores = video["scores"].get<std::vector<std::vector<float>>>();
      argmax.add(argmax_labels(scores), gt);
      const DecodedVideo d = decode_online(scores, dec);
      online.add(d.labels, gt, d.decided_at);
      pictures.push_back({gt, d.labels});
    }
  }
  json out{{"file", opt.scores_file}, {"videos", videos}, {"fps", opt.fps}, {"rows", json::array()}};
  if (!opt.timeline.empty()) {
    write_timeline_png(opt.timeline, pictures, bg);
    out["timeline"] = opt.timeline;
  }
  if (has_pred) out["rows"].push_back(metrics_row("offline: file's predictions", given.result(), false));
  if (has_scores) {
    out["rows"].push_back(metrics_row("offline: frame-wise argmax", argmax.result(), false));
    char name[160];
    std::snprintf(name, sizeof(name), "online: look-ahead %d, history %d, confirm %d, min %d (frames)",
                  opt.lookahead_frames, opt.history_frames, opt.confirm_frames, opt.min_frames);
    out["rows"].push_back(metrics_row(name, online.result(), true));
  }
  return out;
}

int run_eval(const EvalOptions& opt, std::ostream& out) {
  const json result = evaluate_score_file(opt);
  if (opt.json) {
    out << result.dump(2) << "\n";
    return 0;
  }
  out << result["file"].get<std::string>() << " (" << result["videos"] << " videos)\n";
  print_metrics_table(result["rows"], out);
  return 0;
}

}  // namespace actiond::tools
