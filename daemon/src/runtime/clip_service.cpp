#include "runtime/clip_service.hpp"

#include "actiond/config/log.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

namespace actiond::daemon::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

spdlog::logger& logger() { return config::module_log("clips"); }

constexpr std::size_t kMaxNotices = 1024;

pipeline::SnapshotOverlay overlay_of(const models::PoseDetection& pose) {
  pipeline::SnapshotOverlay o;
  o.box = pose.box;
  for (const auto& k : pose.keypoints) o.keypoints.push_back({k.x, k.y, k.score});
  return o;
}

// Seconds since the Unix epoch.
double wall_seconds(WallTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

}  // namespace

ClipService::ClipService(config::ClipStoreSettings settings, Ready ready)
    : settings_(std::move(settings)), ready_(std::move(ready)) {
  thread_ = std::thread([this] { run(); });  // the folder is made with the first clip
}

ClipService::~ClipService() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ClipService::add_camera(const std::string& id, std::shared_ptr<pipeline::ClipRecorder> recorder,
                             const config::ClipConfig& cfg) {
  std::lock_guard lock(mu_);
  cameras_[id] = Camera{std::move(recorder), cfg, false};
}

void ClipService::remove_camera(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = cameras_.find(id);
    if (it == cameras_.end()) return;
    it->second.removed = true;  // its pending jobs are written now; then it goes
  }
  cv_.notify_all();
}

void ClipService::notify(const Event& event) {
  using config::EventType;
  if ((event.type != EventType::segment_start && event.type != EventType::segment_end) || !event.segment) return;
  {
    std::lock_guard lock(mu_);
    if (cameras_.count(event.camera) == 0) return;
    if (notices_.size() >= kMaxNotices) {
      ++counters_.dropped;
      return;
    }
    notices_.push_back(Notice{event.camera, event.type == EventType::segment_start, event.segment->info, event.peak_pose});
  }
  cv_.notify_all();
}

ClipService::Counters ClipService::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  c.ring_bytes = 0;
  for (const auto& [id, cam] : cameras_) c.ring_bytes += cam.recorder->bytes();
  return c;
}

void ClipService::run() {
  std::vector<Job> jobs;
  auto last_bound = std::chrono::steady_clock::time_point{};
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    // Notices: pins and jobs.
    while (!notices_.empty()) {
      Notice n = std::move(notices_.front());
      notices_.pop_front();
      const auto found = cameras_.find(n.camera);
      if (found == cameras_.end()) {  // removed (a reload) between its event and now: no ring to cut from
        ++counters_.dropped;
        continue;
      }
      auto& cam = found->second;
      const SegmentInfo& seg = n.segment;
      // The ring's clock: the camera's pts, or (record_uri) the wall clock of the frames' `time`.
      const bool wall = !cam.cfg.record_uri.empty();
      const double offset = wall ? wall_seconds(seg.start.time) - seg.start.pts : 0.0;
      const double start = seg.start.pts + offset;
      if (n.start) {
        cam.recorder->pin(seg.id, start - cam.cfg.pre_s);
        continue;
      }
      const double end = (seg.end ? seg.end->pts : seg.start.pts) + offset;
      Job job{n.camera, seg.id, start - cam.cfg.pre_s, end + cam.cfg.post_s, std::nullopt, std::nullopt, offset,
              std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>((cam.cfg.post_s + 5.0) * 1000))};
      // The stream ended or went away: nothing more will come, write with what the ring has.
      if (!seg.end_reason || !config::stream_goes_on(*seg.end_reason)) job.deadline = std::chrono::steady_clock::now();
      if (seg.peak) {
        job.peak = {{seg.peak->pts + offset, seg.peak_confidence}};
        if (n.peak_pose) job.pose = overlay_of(*n.peak_pose);
      }
      jobs.push_back(std::move(job));
    }
    // Jobs whose end is in the ring (or whose time is up), in order.
    for (auto it = jobs.begin(); it != jobs.end() && !stop_;) {
      const auto found = cameras_.find(it->camera);
      if (found == cameras_.end()) {
        ++counters_.failed;
        it = jobs.erase(it);
        continue;
      }
      const Camera& cam = found->second;
      const auto newest = cam.recorder->newest_pts();
      if (!cam.removed && std::chrono::steady_clock::now() < it->deadline && (!newest || *newest < it->to)) {
        ++it;
        continue;
      }
      const Job job = *it;
      it = jobs.erase(it);
      const auto recorder = cam.recorder;
      const config::ClipConfig cfg = cam.cfg;
      lock.unlock();  // the muxing takes a moment: notices keep coming
      write(job, Camera{recorder, cfg, false});
      recorder->unpin(job.segment);
      lock.lock();
    }
    // Removed cameras without jobs left go.
    for (auto it = cameras_.begin(); it != cameras_.end();) {
      const bool pending = std::any_of(jobs.begin(), jobs.end(), [&](const Job& j) { return j.camera == it->first; });
      it = it->second.removed && !pending ? cameras_.erase(it) : std::next(it);
    }
    if (std::chrono::steady_clock::now() - last_bound > std::chrono::seconds(30)) {
      lock.unlock();
      enforce_bound();
      lock.lock();
      last_bound = std::chrono::steady_clock::now();
    }
  }
  counters_.dropped += jobs.size();
}

void ClipService::write(const Job& job, const Camera& cam) {
  std::error_code ec;
  const fs::path dir = settings_.dir / job.camera;
  fs::create_directories(dir, ec);
  auto failed = [&](const std::string& why) {
    logger().warn("camera {}: no clip for segment {}: {}", job.camera, job.segment, why);
    std::lock_guard lock(mu_);
    ++counters_.failed;
  };
  if (ec) return failed("cannot create " + dir.string() + ": " + ec.message());
  const fs::path file = dir / (job.segment + ".mp4");
  const auto result = cam.recorder->write(job.from, job.to, file);
  if (const auto* err = std::get_if<std::string>(&result)) return failed(*err);
  const auto& c = std::get<pipeline::ClipFile>(result);
  json fields;
  json& clip = fields["clip"];
  clip = {{"file", job.camera + "/" + c.file.filename().string()},
               {"url", "/api/clips/" + job.camera + "/" + c.file.filename().string()},
               {"start_pts", c.start_pts - job.wall_offset},
               {"end_pts", c.end_pts - job.wall_offset},
               {"duration_s", c.duration_s},
               {"bytes", c.bytes},
               {"codec", c.codec},
               {"width", c.width},
               {"height", c.height},
               {"encoded", c.encoded},
               {"truncated", c.truncated}};
  if (job.peak) {
    const fs::path jpeg = dir / (job.segment + ".jpg");
    const double at = std::clamp(job.peak->first, c.start_pts, c.end_pts);
    if (const auto err = pipeline::write_snapshot(file, at - c.start_pts, jpeg, job.pose)) {
      logger().warn("camera {}: no snapshot for segment {}: {}", job.camera, job.segment, *err);
    } else {
      fields["snapshot"] = {{"file", job.camera + "/" + jpeg.filename().string()},
                            {"url", "/api/snapshots/" + job.camera + "/" + jpeg.filename().string()},
                            {"pts", at - job.wall_offset},
                            {"confidence", job.peak->second}};
    }
  }
  {
    std::lock_guard lock(mu_);
    ++counters_.written;
  }
  ready_(job.camera, job.segment, std::move(fields), c.end_pts - job.wall_offset);
  enforce_bound();
}

void ClipService::enforce_bound() {
  struct Entry {
    fs::path path;
    fs::file_time_type time;
    std::uint64_t bytes = 0;
  };
  std::vector<Entry> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(settings_.dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const auto ext = it->path().extension();
    if (it->is_regular_file(ec) && (ext == ".mp4" || ext == ".jpg")) {
      files.push_back({it->path(), it->last_write_time(ec), it->file_size(ec)});
    }
  }
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) { return a.time < b.time; });
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.bytes;
  const std::uint64_t max_bytes = static_cast<std::uint64_t>(settings_.max_total_mb) << 20;
  const auto oldest_allowed = fs::file_time_type::clock::now() -
                              std::chrono::duration_cast<fs::file_time_type::duration>(std::chrono::duration<double>(settings_.max_age_h * 3600.0));
  std::uint64_t deleted = 0;
  for (const auto& f : files) {
    if (total <= max_bytes && f.time >= oldest_allowed) break;
    if (fs::remove(f.path, ec)) {
      total -= f.bytes;
      if (f.path.extension() == ".mp4") ++deleted;  // snapshots go with them, not counted
      logger().info("clip {} deleted ({})", f.path.string(), total > max_bytes ? "clips.max_total_mb" : "clips.max_age_h");
    }
  }
  std::lock_guard lock(mu_);
  counters_.deleted += deleted;
  counters_.bytes_on_disk = total;
}

}  // namespace actiond::daemon::detail
