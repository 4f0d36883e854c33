#include "eval_streams.hpp"

#include "actiond/daemon/analysis/repetition_counter.hpp"
#include "actiond/pipeline/files/npy_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace actiond::tools {

using namespace actiond::daemon;
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

// Each person's frames (track id > 0), by first appearance: as in the daemon, a frame where the model
// missed the person is skipped, not the start of a new person.
std::vector<std::vector<int>> runs_of(const std::vector<double>& track) {
  std::vector<std::vector<int>> out;
  std::map<double, std::size_t> index;
  for (std::size_t t = 0; t < track.size(); ++t) {
    if (track[t] <= 0) continue;
    auto [it, fresh] = index.emplace(track[t], out.size());
    if (fresh) out.emplace_back();
    out[it->second].push_back(static_cast<int>(t));
  }
  return out;
}

// Online scores of one person's frames, as the daemon decides them; and all of them as one window.
void score_run(models::Segmenter& seg, const EvalContext& ctx, const std::vector<float>& feats, int d,
               const std::vector<int>& idx, EvalStream& s) {
  const int b = static_cast<int>(idx.size());
  std::vector<float> rows;
  rows.reserve(idx.size() * static_cast<std::size_t>(d));
  for (int t : idx) {
    rows.insert(rows.end(), feats.begin() + static_cast<std::ptrdiff_t>(t) * d, feats.begin() + static_cast<std::ptrdiff_t>(t + 1) * d);
  }
  models::SegmenterOutput out;
  for (int t = 0; t < b; ++t) {
    const int end = std::min(b - 1, t + ctx.lookahead);
    const int start = std::max(0, end - ctx.window + 1);
    seg.run(rows.data() + static_cast<std::size_t>(start) * static_cast<std::size_t>(d), end - start + 1, out);
    const int p = t - start;
    const auto frame = static_cast<std::size_t>(idx[static_cast<std::size_t>(t)]);
    s.online[frame].assign(out.probs.begin() + p * out.classes, out.probs.begin() + (p + 1) * out.classes);
    if (ctx.repetitions) s.repetition[frame] = out.repetition[static_cast<std::size_t>(p)];
  }
  seg.run(rows.data(), b, out);
  for (int t = 0; t < b; ++t) {
    s.whole[static_cast<std::size_t>(idx[static_cast<std::size_t>(t)])].assign(out.probs.begin() + t * out.classes,
                                                                               out.probs.begin() + (t + 1) * out.classes);
  }
}

// The stream decoded by the tracker, person by person (each person's tracker on their own frames,
// with their times); a segment covers the frames between its first and its end.
DecodedVideo decode_stream(const EvalStream& s, const std::vector<std::vector<float>>& probs, const EvalContext& ctx,
                           const config::TrackerConfig& tracker, int lookahead) {
  const int n = static_cast<int>(s.gt.size());
  DecodedVideo all;
  all.labels.assign(static_cast<std::size_t>(n), ctx.background);
  all.decided_at.resize(static_cast<std::size_t>(n));
  for (int t = 0; t < n; ++t) all.decided_at[static_cast<std::size_t>(t)] = t;
  OnlineDecodeOptions dec;
  dec.tracker = tracker;
  dec.fps = ctx.fps;
  dec.background = ctx.background;
  dec.softmax = false;
  for (const auto& idx : s.runs) {
    const int m = static_cast<int>(idx.size());
    std::vector<std::vector<float>> run;
    std::vector<float> reps;
    std::vector<double> pts;
    std::vector<std::vector<float>> pose;
    const bool pose_rows = tracker.repetition_source == config::RepetitionSource::pose && !s.feats.empty();
    const std::size_t d = pose_rows ? s.feats.size() / s.gt.size() : 0;
    for (int t : idx) {
      if (pose_rows) pose.emplace_back(s.feats.begin() + static_cast<std::ptrdiff_t>(t * d), s.feats.begin() + static_cast<std::ptrdiff_t>((t + 1) * d));
      run.push_back(probs[static_cast<std::size_t>(t)]);
      if (!s.repetition.empty()) reps.push_back(s.repetition[static_cast<std::size_t>(t)]);
      pts.push_back(t / ctx.fps);
    }
    const DecodedVideo dv = decode_online(run, dec, reps, pts, pose);
    // Decisions wait for the model's look-ahead, in the person's frames.
    auto when = [&](int at) { return idx[static_cast<std::size_t>(std::min(m - 1, at + lookahead))]; };
    for (int t = 0; t < m; ++t) {
      const int label = dv.labels[static_cast<std::size_t>(t)];
      const int next = t + 1 < m ? idx[static_cast<std::size_t>(t + 1)] : idx[static_cast<std::size_t>(t)] + 1;
      const bool spans = t + 1 < m && dv.labels[static_cast<std::size_t>(t + 1)] == label;
      for (int f = idx[static_cast<std::size_t>(t)]; f < (spans ? next : idx[static_cast<std::size_t>(t)] + 1); ++f) {
        all.labels[static_cast<std::size_t>(f)] = label;
        all.decided_at[static_cast<std::size_t>(f)] = when(dv.decided_at[static_cast<std::size_t>(t)]);
      }
    }
    for (auto r : dv.repetitions) {
      r.frame = idx[static_cast<std::size_t>(r.frame)];
      r.decided_at = when(r.decided_at);
      all.repetitions.push_back(r);
    }
  }
  return all;
}

// Alarms of one stream (see StreamScores).
void add_alarms(const std::vector<int>& gt, const std::vector<int>& labels, int background, StreamScores& out) {
  const auto n = static_cast<int>(gt.size());
  bool has_event = false;
  bool found = false;
  for (int t = 0; t < n;) {
    has_event = has_event || gt[static_cast<std::size_t>(t)] != background;
    if (labels[static_cast<std::size_t>(t)] == background) {
      ++t;
      continue;
    }
    bool hit = false;
    for (; t < n && labels[static_cast<std::size_t>(t)] != background; ++t) {
      hit = hit || gt[static_cast<std::size_t>(t)] != background;
      has_event = has_event || gt[static_cast<std::size_t>(t)] != background;
    }
    found = found || hit;
    out.false_alarms += hit ? 0 : 1;
  }
  out.alarm_streams += has_event ? 1 : 0;
  out.alarms_found += has_event && found ? 1 : 0;
}

void add_repetitions(const EvalStream& s, const DecodedVideo& dv, const EvalContext& ctx, RepetitionResult& r,
                     std::vector<double>& latencies, double& obo_sum, double& mnae_sum, double& exact_sum) {
  for (const auto& p : s.pieces) {
    if (!p.video) continue;
    int pred = 0;
    for (const auto& m : dv.repetitions) pred += m.frame >= p.start && m.frame < p.end ? 1 : 0;
    if (p.reps == 0) {
      ++r.zero_videos;
      r.zero_videos_counted += pred > 0 ? 1 : 0;
    } else {
      ++r.videos;
      obo_sum += std::abs(pred - p.reps) <= 1 ? 1.0 : 0.0;
      exact_sum += pred == p.reps ? 1.0 : 0.0;
      mnae_sum += std::abs(pred - p.reps) / static_cast<double>(p.reps);
    }
    r.per_video.push_back({{"video", p.name}, {"label", ctx.names[static_cast<std::size_t>(p.label)]}, {"true", p.reps},
                           {"counted", pred}});
  }
  // Latency: each true start matched to the nearest unused published repetition within 1 s.
  const int tolerance = std::max(1, static_cast<int>(std::lround(ctx.fps)));
  std::vector<bool> used(dv.repetitions.size(), false);
  for (int t : s.true_reps) {
    ++r.true_total;
    int best = -1;
    for (std::size_t i = 0; i < dv.repetitions.size(); ++i) {
      const int dist = std::abs(dv.repetitions[i].frame - t);
      if (used[i] || dist > tolerance) continue;
      if (best < 0 || dist < std::abs(dv.repetitions[static_cast<std::size_t>(best)].frame - t)) best = static_cast<int>(i);
    }
    if (best < 0) continue;
    used[static_cast<std::size_t>(best)] = true;
    ++r.matched;
    latencies.push_back((dv.repetitions[static_cast<std::size_t>(best)].decided_at - t) / ctx.fps);
  }
}

}  // namespace

std::unique_ptr<models::Segmenter> load_context(const WorkbenchEvalOptions& opt, EvalContext& ctx) {
  const fs::path world = opt.world;
  for (const auto& line : read_lines(world / "mapping.txt")) ctx.names.push_back(line.substr(line.find(' ') + 1));
  auto seg = models::Segmenter::load(opt.segmenter);
  const auto& man = seg->manifest();
  if (man.labels != ctx.names) throw std::runtime_error(opt.segmenter + ": labels differ from " + (world / "mapping.txt").string());
  ctx.background = man.background;
  ctx.window = man.window;
  ctx.lookahead = man.lookahead;
  ctx.fps = opt.fps;
  ctx.pose = man.feature_layout == kPoseFeatureLayout;
  ctx.repetitions = man.repetitions;
  ctx.pieces = fs::exists(world / "pieces.json");
  return seg;
}

std::vector<EvalStream> load_streams(const WorkbenchEvalOptions& opt, EvalContext& ctx, models::Segmenter& seg) {
  const fs::path world = opt.world;
  const int d = seg.manifest().feature_dim;
  json pieces;
  if (ctx.pieces) {
    std::ifstream in(world / "pieces.json");
    pieces = json::parse(in).at("streams");
  }
  std::vector<EvalStream> out;
  // One split, or several joined by '+' (e.g. train+val).
  std::vector<std::string> entries;
  for (std::size_t from = 0; from <= opt.split.size();) {
    const std::size_t plus = std::min(opt.split.find('+', from), opt.split.size());
    for (auto& e : read_lines(world / "splits" / (opt.split.substr(from, plus - from) + ".split1.bundle"))) entries.push_back(e);
    from = plus + 1;
  }
  for (const auto& entry : entries) {
    EvalStream s;
    s.name = fs::path(entry).stem().string();
    const fs::path base = fs::path(opt.features) / s.name;
    std::vector<long> fshape;
    std::vector<long> pshape;
    const auto feats64 = pipeline::read_npy(base.string() + ".features.npy", fshape);
    const auto pts = pipeline::read_npy(base.string() + ".pts.npy", pshape);
    if (fshape.size() != 2 || fshape[1] != d || pshape[0] != fshape[0]) {
      throw std::runtime_error(s.name + ": features do not fit the segmenter (feature_dim " + std::to_string(d) + ")");
    }
    const std::vector<float> feats(feats64.begin(), feats64.end());
    const int n = static_cast<int>(fshape[0]);
    std::vector<int> gt_frames;
    for (const auto& l : read_lines(world / "groundTruth" / (s.name + ".txt"))) {
      gt_frames.push_back(static_cast<int>(std::find(ctx.names.begin(), ctx.names.end(), l) - ctx.names.begin()));
    }
    s.gt.resize(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t) {
      const long idx = std::clamp(std::lround(pts[static_cast<std::size_t>(t)] * opt.video_fps), 0L,
                                  static_cast<long>(gt_frames.size()) - 1);
      s.gt[static_cast<std::size_t>(t)] = gt_frames[static_cast<std::size_t>(idx)];
    }
    std::vector<long> shape;
    if (fs::exists(base.string() + ".track.npy")) {
      s.runs = runs_of(pipeline::read_npy(base.string() + ".track.npy", shape));
    } else {
      s.runs.emplace_back();
      for (int t = 0; t < n; ++t) s.runs.back().push_back(t);
    }
    if (fs::exists(base.string() + ".reps.npy")) {
      const auto marks = pipeline::read_npy(base.string() + ".reps.npy", shape);
      for (int t = 0; t < n; ++t) {
        if (marks[static_cast<std::size_t>(t)] == 1.0) s.true_reps.push_back(t);  // 255: not labelled
      }
    }
    std::vector<float> bg(ctx.names.size(), 0.0f);
    bg[static_cast<std::size_t>(ctx.background)] = 1.0f;
    s.online.assign(static_cast<std::size_t>(n), bg);
    s.whole.assign(static_cast<std::size_t>(n), bg);
    if (ctx.repetitions) s.repetition.assign(static_cast<std::size_t>(n), 0.0f);
    for (const auto& idx : s.runs) score_run(seg, ctx, feats, d, idx, s);
    if (ctx.pose) s.feats = feats;
    if (ctx.pieces) {
      for (const auto& p : pieces.at(s.name)) {
        EvalPiece piece;
        piece.video = p.at("kind") == "video";
        piece.start = p.at("span")[0].get<int>();
        piece.end = p.at("span")[1].get<int>();
        if (piece.video) {
          piece.label = static_cast<int>(std::find(ctx.names.begin(), ctx.names.end(), p.at("class").get<std::string>()) -
                                         ctx.names.begin());
          piece.reps = p.at("reps").get<int>();
          piece.name = p.at("class").get<std::string>() + "/" + p.at("name").get<std::string>();
        } else {
          piece.name = p.value("source", "unknown");
        }
        s.pieces.push_back(piece);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

StreamScores score_streams(const std::vector<EvalStream>& streams, const EvalContext& ctx,
                           const config::TrackerConfig& tracker, bool full) {
  const std::set<int> background{ctx.background};
  SegmentationMetrics framewise(background, ctx.fps), tracked(background, ctx.fps), whole(background, ctx.fps),
      whole_tracked(background, ctx.fps);
  const std::size_t classes = ctx.names.size();
  std::vector<SegmentationMetrics> per_class;
  for (std::size_t c = 0; c < classes; ++c) {
    std::set<int> others;
    for (std::size_t k = 0; k < classes; ++k) {
      if (k != c) others.insert(static_cast<int>(k));
    }
    per_class.emplace_back(others, ctx.fps);
  }
  StreamScores out;
  out.confusion.assign(classes, std::vector<long>(classes, 0));
  std::vector<double> latencies;
  double obo = 0;
  double mnae = 0;
  double exact = 0;
  for (const auto& s : streams) {
    const DecodedVideo dv = decode_stream(s, s.online, ctx, tracker, ctx.lookahead);
    tracked.add(dv.labels, s.gt, dv.decided_at);
    add_alarms(s.gt, dv.labels, ctx.background, out);
    if (ctx.pieces) {
      // A predicted segment lying mostly on non-exercise footage is false (charged to the footage it overlaps most).
      for (const auto& run : label_runs(dv.labels, background)) {
        int in_filler = 0;
        int best = 0;
        const EvalPiece* where = nullptr;
        for (const auto& p : s.pieces) {
          const int overlap = std::max(0, std::min(run.end, p.end) - std::max(run.start, p.start));
          if (p.video || overlap == 0) continue;
          in_filler += overlap;
          if (overlap > best) {
            best = overlap;
            where = &p;
          }
        }
        if (where != nullptr && 2 * in_filler >= std::max(1, run.end - run.start)) {
          ++out.false_segments;
          ++out.false_by_source[where->name].first;
        }
      }
      for (const auto& p : s.pieces) {
        if (p.video) continue;
        out.filler_seconds += (p.end - p.start) / ctx.fps;
        out.false_by_source[p.name].second += (p.end - p.start) / ctx.fps;
      }
    }
    if (ctx.counts() && ctx.pieces) add_repetitions(s, dv, ctx, out.reps, latencies, obo, mnae, exact);
    if (!full) continue;
    framewise.add(argmax_labels(s.online), s.gt);
    whole.add(argmax_labels(s.whole), s.gt);
    whole_tracked.add(decode_stream(s, s.whole, ctx, tracker, 0).labels, s.gt);
    for (auto& m : per_class) m.add(dv.labels, s.gt);
    for (std::size_t t = 0; t < s.gt.size(); ++t) ++out.confusion[static_cast<std::size_t>(s.gt[t])][static_cast<std::size_t>(dv.labels[t])];
  }
  out.tracked = tracked.result();
  if (out.reps.videos > 0) {
    out.reps.obo = obo / out.reps.videos;
    out.reps.mnae = mnae / out.reps.videos;
    out.reps.exact = exact / out.reps.videos;
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    double sum = 0;
    for (double l : latencies) sum += l;
    out.reps.latency_mean_s = sum / static_cast<double>(latencies.size());
    out.reps.latency_p90_s = latencies[static_cast<std::size_t>(0.9 * static_cast<double>(latencies.size() - 1))];
  }
  if (!full) return out;
  out.framewise = framewise.result();
  out.whole = whole.result();
  out.whole_tracked = whole_tracked.result();
  for (std::size_t c = 0; c < classes; ++c) {
    if (static_cast<int>(c) == ctx.background) continue;
    out.per_class_f1_50[ctx.names[c]] = std::round(per_class[c].result().f1_50 * 10.0) / 10.0;
  }
  return out;
}

json decisions_json(const std::vector<EvalStream>& streams, const EvalContext& ctx, const config::TrackerConfig& tracker) {
  json out{{"fps", ctx.fps}, {"labels", ctx.names}, {"streams", json::object()}};
  for (const auto& s : streams) {
    const DecodedVideo dv = decode_stream(s, s.online, ctx, tracker, ctx.lookahead);
    out["streams"][s.name] = {{"truth", s.gt}, {"labels", dv.labels}, {"decided_at", dv.decided_at}};
  }
  return out;
}

json repetition_json(const RepetitionResult& r) {
  auto r3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  return json{{"videos_with_repetitions", r.videos},
              {"off_by_one_accuracy", r3(r.obo)},
              {"mean_normalised_abs_error", r3(r.mnae)},
              {"exact", r3(r.exact)},
              {"videos_without_repetitions", r.zero_videos},
              {"of_which_counted_some", r.zero_videos_counted},
              {"true_starts", r.true_total},
              {"starts_with_event_within_1s", r.matched},
              {"latency_mean_s", r3(r.latency_mean_s)},
              {"latency_p90_s", r3(r.latency_p90_s)},
              {"per_video", r.per_video}};
}

}  // namespace actiond::tools
