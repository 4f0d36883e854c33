#include "actiond/tools/extract_command.hpp"

#include "progress.hpp"

#include "actiond/daemon/analysis/person_analysis.hpp"
#include "actiond/daemon/analysis/scene_cut.hpp"
#include "actiond/models/models.hpp"
#include "actiond/pipeline/files/npy_file.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace actiond::tools {

namespace fs = std::filesystem;

namespace {

std::string progress_line(std::size_t done, std::size_t total, const std::string& name, long frames) {
  return "extract " + detail::bar(done, total) + " " + std::to_string(done) + "/" + std::to_string(total) + " " + name +
         " (" + std::to_string(frames) + " frames)";
}

// The tracked subject of a pose video: the daemon's person analysis, frame by frame; one row per frame.
class SubjectRecorder {
 public:
  explicit SubjectRecorder(const config::PersonTrackingConfig& cfg) : people_(cfg), cuts_(cfg.scene_cut) {}

  const std::array<float, 4>& crop() const { return people_.crop(); }

  // Whether frame f starts a new scene (a cut of the whole picture): add() then ends every track
  // first, as the daemon does. Called on every frame in order, before add() of that frame.
  bool cut(const pipeline::Frame& f) { return cuts_.cut(f.data, f.width, f.height, f.stride); }

  void add(const std::vector<models::PoseDetection>& found, const pipeline::Frame& f, bool cut) {
    daemon::TrackChanges changes;
    if (cut) {
      people_.end_all(config::EndReason::scene_change, changes);
      changes = {};
      subject_ = 0;
    }
    std::vector<daemon::PersonRow> rows;
    people_.update(found, {f.pts, f.width, f.height, f.content}, changes, rows);
    const daemon::PersonRow* pick = nullptr;
    for (const auto& r : rows) {
      if (r.track_id == subject_) pick = &r;
    }
    if (pick == nullptr) {  // the subject was not seen: the longest-tracked person seen instead
      int best = -1;
      for (const auto& r : rows) {
        const auto* t = people_.track(r.track_id);
        if (t != nullptr && t->hits > best) {
          best = t->hits;
          pick = &r;
        }
      }
    }
    if (pick != nullptr) subject_ = pick->track_id;
    tracks_.push_back(pick != nullptr ? static_cast<std::int64_t>(pick->track_id) : 0);
    if (pick != nullptr) {
      features_.insert(features_.end(), pick->row.begin(), pick->row.end());
    } else {
      features_.insert(features_.end(), models::kPoseFeatureDim, 0.0f);
    }
  }

  void write(const std::string& stem) const {
    const long n = static_cast<long>(tracks_.size());
    pipeline::write_npy(stem + ".features.npy", "<f4", {n, models::kPoseFeatureDim}, features_.data(),
                        features_.size() * sizeof(float));
    pipeline::write_npy(stem + ".track.npy", "<i8", {n}, tracks_.data(), tracks_.size() * sizeof(std::int64_t));
  }

 private:
  daemon::PersonAnalysis people_;
  daemon::SceneCut cuts_;
  std::uint64_t subject_ = 0;
  std::vector<float> features_;
  std::vector<std::int64_t> tracks_;
};

}  // namespace

int run_extract(const ExtractOptions& opt, std::ostream& progress) {
  if (opt.model.empty() && opt.frames_size.empty()) throw std::runtime_error("extract needs --model and/or --frames WxH");
  detail::Progress bar(progress);
  std::unique_ptr<models::Backbone> backbone;
  std::unique_ptr<models::PoseModel> pose;
  int width = 0;
  int height = 0;
  if (!opt.model.empty()) {
    models::set_threads(opt.threads, 1);
    if (models::read_manifest(opt.model).kind == models::ModelKind::pose) {
      pose = models::PoseModel::load(opt.model);
      progress << "pose model " << pose->manifest().name << ": engine " << pose->engine() << ", " << opt.threads
               << " thread(s)\n";
    } else {
      backbone = models::Backbone::load(opt.model);
    }
    const auto& man = pose ? pose->manifest() : backbone->manifest();
    const int scale = pose ? daemon::pose_frame_scale(opt.persons) : 1;
    width = man.input_width * scale;
    height = man.input_height * scale;
  }
  if (!opt.frames_size.empty()) {
    int w = 0;
    int h = 0;
    if (std::sscanf(opt.frames_size.c_str(), "%dx%d", &w, &h) != 2 || w < 8 || h < 8) {
      throw std::runtime_error("--frames must be WxH, got \"" + opt.frames_size + "\"");
    }
    if (!opt.model.empty() && (w != width || h != height)) {
      throw std::runtime_error("--frames " + opt.frames_size + " differs from the model input " + std::to_string(width) +
                               "x" + std::to_string(height));
    }
    width = w;
    height = h;
  }
  std::vector<fs::path> videos;
  if (fs::is_directory(opt.videos)) {
    for (const auto& e : fs::directory_iterator(opt.videos)) {
      if (e.is_regular_file()) videos.push_back(e.path());
    }
  } else if (fs::is_regular_file(opt.videos)) {
    videos.push_back(opt.videos);
  } else {
    throw std::runtime_error(opt.videos + ": no such file or directory");
  }
  std::sort(videos.begin(), videos.end());
  fs::create_directories(opt.out);

  for (std::size_t v = 0; v < videos.size(); ++v) {
    const fs::path& video = videos[v];
    pipeline::FrameHub hub;
    pipeline::SourceOptions so;
    so.handle = 1;
    so.camera.id = "extract";
    so.camera.uri = "file://" + fs::absolute(video).string();
    so.camera.fps = opt.fps;
    so.camera.decoder = opt.decoder;
    so.camera.realtime = false;  // as fast as we consume, no drops
    // A following pose model reads a crop that depends on the previous frame: one frame at a time.
    const int batch_size = pose && opt.persons.follow ? 1 : opt.batch;
    so.camera.queue_frames = batch_size * 2;
    so.width = width;
    so.height = height;
    so.letterbox = pose != nullptr;
    pipeline::CameraSource source(so, hub);
    source.start();

    std::vector<float> features;
    std::vector<float> pose_out;
    std::vector<float> content;
    std::vector<models::PoseInput> pose_batch;
    std::vector<bool> cuts;  // per frame of pose_batch: a new scene starts there
    std::vector<std::vector<models::PoseDetection>> persons;
    std::vector<std::uint8_t> frames;
    std::vector<double> pts;
    std::vector<pipeline::SourceItem> items;
    std::optional<SubjectRecorder> subject;
    if (pose) subject.emplace(opt.persons);
    std::vector<models::ImageView> batch;
    std::vector<float> out;
    bool done = false;
    std::string failure;
    auto last_report = std::chrono::steady_clock::now();
    while (!done) {
      hub.wait(std::chrono::milliseconds(100));
      items.clear();
      hub.take(static_cast<std::size_t>(batch_size), items);
      batch.clear();
      for (const auto& it : items) {
        if (it.kind == pipeline::SourceItem::Kind::status) {
          if (it.status.state == pipeline::StreamState::eos) done = true;
          if (it.status.state == pipeline::StreamState::failed) {
            done = true;
            failure = it.status.reason;
          }
          continue;
        }
        const auto& f = it.frame;
        pts.push_back(f.pts);
        if (!opt.frames_size.empty()) {
          for (int y = 0; y < f.height; ++y) frames.insert(frames.end(), f.data + y * f.stride, f.data + y * f.stride + f.width * 3);
        }
        batch.push_back({f.data, f.width, f.height, f.stride});
        if (pose) {
          cuts.push_back(subject->cut(f));
          pose_batch.push_back({batch.back(), f.content, subject->crop()});
          content.insert(content.end(), f.content.begin(), f.content.end());
        }
      }
      if (backbone && !batch.empty()) {
        backbone->infer(batch, out);
        features.insert(features.end(), out.begin(), out.end());
      }
      if (pose && !pose_batch.empty()) {
        pose->infer(pose_batch, 0.0f, persons);
        pose->last_output(out);
        pose_out.insert(pose_out.end(), out.begin(), out.end());
        std::size_t k = 0;
        for (const auto& it : items) {
          if (it.kind == pipeline::SourceItem::Kind::frame) {
            subject->add(persons[k], it.frame, cuts[k]);
            ++k;
          }
        }
      }
      pose_batch.clear();
      cuts.clear();
      const auto now = std::chrono::steady_clock::now();
      if (!batch.empty() && now - last_report > std::chrono::milliseconds(500)) {
        last_report = now;
        bar.update(progress_line(v, videos.size(), video.filename().string(), static_cast<long>(pts.size())));
      }
    }
    source.stop();
    if (!failure.empty()) throw std::runtime_error(video.string() + ": " + failure);
    const std::string stem = (fs::path(opt.out) / video.stem()).string();
    const long n = static_cast<long>(pts.size());
    pipeline::write_npy(stem + ".pts.npy", "<f8", {n}, pts.data(), pts.size() * sizeof(double));
    if (backbone) {
      const long d = backbone->manifest().feature_dim;
      pipeline::write_npy(stem + ".features.npy", "<f4", {n, d}, features.data(), features.size() * sizeof(float));
    }
    if (pose) {
      const long p = pose->manifest().max_persons;
      pipeline::write_npy(stem + ".pose.npy", "<f4", {n, p, 56}, pose_out.data(), pose_out.size() * sizeof(float));
      pipeline::write_npy(stem + ".content.npy", "<f4", {n, 4}, content.data(), content.size() * sizeof(float));
      subject->write(stem);
    }
    if (!opt.frames_size.empty()) pipeline::write_npy(stem + ".frames.npy", "|u1", {n, height, width, 3}, frames.data(), frames.size());
    bar.item_done(progress_line(v + 1, videos.size(), video.filename().string(), n));
  }
  return 0;
}

}  // namespace actiond::tools
