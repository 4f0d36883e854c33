#include "actiond/daemon/eval_command.hpp"

#include "actiond/daemon/online_decoder.hpp"
#include "actiond/daemon/segmentation_metrics.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>

namespace actiond::daemon {

using nlohmann::json;

namespace {

json row(const std::string& decoding, const SegmentationResult& r, bool online) {
  auto r1 = [](double v) { return std::round(v * 10.0) / 10.0; };
  json j{{"decoding", decoding}, {"acc", r1(r.accuracy)},   {"edit", r1(r.edit)},
         {"f1@10", r1(r.f1_10)},  {"f1@25", r1(r.f1_25)},   {"f1@50", r1(r.f1_50)},
         {"switches_per_min", r1(r.switches_per_minute)}};
  if (online) {
    j["boundary_latency_s"] = std::round(r.boundary_latency_s * 100.0) / 100.0;
    j["boundaries_matched"] = r.boundaries_matched;
  }
  return j;
}

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
    }
  }
  json out{{"file", opt.scores_file}, {"videos", videos}, {"fps", opt.fps}, {"rows", json::array()}};
  if (has_pred) out["rows"].push_back(row("offline: file's predictions", given.result(), false));
  if (has_scores) {
    out["rows"].push_back(row("offline: frame-wise argmax", argmax.result(), false));
    char name[160];
    std::snprintf(name, sizeof(name), "online: look-ahead %d, history %d, confirm %d, min %d (frames)",
                  opt.lookahead_frames, opt.history_frames, opt.confirm_frames, opt.min_frames);
    out["rows"].push_back(row(name, online.result(), true));
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
  char line[256];
  std::snprintf(line, sizeof(line), "%-64s %6s %6s %6s %6s %6s %8s %9s\n", "decoding", "Acc", "Edit", "F1@10", "F1@25",
                "F1@50", "sw/min", "latency");
  out << line;
  for (const auto& r : result["rows"]) {
    std::string latency = r.contains("boundary_latency_s")
                              ? std::to_string(r["boundary_latency_s"].get<double>()).substr(0, 4) + " s"
                              : "-";
    std::snprintf(line, sizeof(line), "%-64s %6.1f %6.1f %6.1f %6.1f %6.1f %8.1f %9s\n",
                  r["decoding"].get<std::string>().c_str(), r["acc"].get<double>(), r["edit"].get<double>(),
                  r["f1@10"].get<double>(), r["f1@25"].get<double>(), r["f1@50"].get<double>(),
                  r["switches_per_min"].get<double>(), latency.c_str());
    out << line;
  }
  return 0;
}

}  // namespace actiond::daemon
