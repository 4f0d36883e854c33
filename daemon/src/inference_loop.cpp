#include "actiond/daemon/inference_loop.hpp"

#include "actiond/config/log.hpp"

#include "actiond/daemon/events.hpp"
#include "actiond/daemon/segment_tracker.hpp"
#include "actiond/models/feature_ring.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <optional>
#include <random>
#include <set>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("loop"); }
}  // namespace

using pipeline::SourceItem;

struct InferenceLoop::Camera {
  pipeline::CameraHandle handle;
  config::CameraConfig config;
  models::Backbone* backbone;
  models::Segmenter* segmenter;
  models::Recognizer* recognizer;  // optional
  models::FeatureRing ring;
  SegmentTracker tracker;
  EventFactory events;
  std::uint64_t next_decide = 0;  // ring index of the next frame to decide
  std::uint64_t skipped = 0;      // frames that left the window before being decided
  std::uint64_t queue_full = 0;   // FrameHub drops, as last seen
  std::optional<double> last_update_pts;  // stream time of the open segment's last update
  std::string updated_segment;            // id of the segment those updates are about
  std::optional<double> last_recognition_pts;  // stream time of the last recognition
  std::chrono::steady_clock::time_point last_event = std::chrono::steady_clock::now();
  bool streaming = false;         // frames seen since the last end of stream
  std::deque<std::chrono::steady_clock::time_point> analysed;  // recent analysis times (fps_processed)
  pipeline::StreamStatus last_status;

  double fps_processed() const {
    if (analysed.size() < 2) return 0.0;
    const double span = std::chrono::duration<double>(analysed.back() - analysed.front()).count();
    return span > 0 ? static_cast<double>(analysed.size() - 1) / span : 0.0;
  }
  void note_analysed() {
    analysed.push_back(std::chrono::steady_clock::now());
    while (analysed.size() > 2 && analysed.back() - analysed.front() > std::chrono::seconds(3)) analysed.pop_front();
  }

  Camera(pipeline::CameraHandle h, const config::CameraConfig& c, models::Backbone* bb, models::Segmenter* seg,
         models::Recognizer* rec, std::uint64_t last_seq, std::uint64_t last_epoch)
      : handle(h),
        config(c),
        backbone(bb),
        segmenter(seg),
        recognizer(rec),
        ring(std::max<std::size_t>({static_cast<std::size_t>(seg->manifest().window) * 2,
                                    rec ? static_cast<std::size_t>(rec->manifest().window) : 0, 64}),
             static_cast<std::size_t>(seg->manifest().feature_dim)),
        tracker(c.tracker, seg->manifest().background, 1.0 / c.fps, make_ids(c.id)),
        events(c.id, seg->manifest().labels, last_seq, last_epoch, models_json(bb, seg, rec)) {}

  static nlohmann::json models_json(const models::Backbone* bb, const models::Segmenter* seg,
                                    const models::Recognizer* rec) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto* m : {bb ? &bb->manifest() : nullptr, &seg->manifest(), rec ? &rec->manifest() : nullptr}) {
      if (m != nullptr) out.push_back({{"name", m->name}, {"version", m->version}, {"sha256", m->file_sha256}});
    }
    return out;
  }

  static SegmentTracker::IdGenerator make_ids(const std::string& camera) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [rng, camera] {
      char buf[17];
      std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>((*rng)()));
      return camera + "-" + buf;
    };
  }
};

InferenceLoop::InferenceLoop(const config::InferenceConfig& cfg, pipeline::FrameHub& hub, Publisher& publisher,
                             ModelSet models, double heartbeat_s, Metrics* metrics)
    : cfg_(cfg), heartbeat_s_(heartbeat_s), hub_(hub), publisher_(publisher), metrics_(metrics),
      models_(std::move(models)) {
  last_iteration_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
}

std::chrono::steady_clock::time_point InferenceLoop::last_iteration() const {
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_iteration_ns_.load()));
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

void InferenceLoop::heartbeats() {
  if (heartbeat_s_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [h, cam] : cameras_) {
    if (now - cam->last_event < std::chrono::duration<double>(heartbeat_s_)) continue;
    emit(*cam, cam->events.heartbeat(cam->last_status.state.empty() ? "starting" : cam->last_status.state));
  }
}

InferenceLoop::~InferenceLoop() { stop("shutdown"); }

void InferenceLoop::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { run(); });
}

void InferenceLoop::stop(const std::string& reason) {
  if (!running_.load()) return;
  post([this, reason] {
    for (auto& [h, cam] : cameras_) stop_camera(*cam, reason);
    cameras_.clear();
    running_.store(false);
  }, true);
  if (thread_.joinable()) thread_.join();
}

void InferenceLoop::post(std::function<void()> fn, bool wait) {
  if (!running_.load()) {
    fn();  // loop not running: the caller is the only thread touching the state
    return;
  }
  if (!wait) {
    std::lock_guard lock(cmd_mu_);
    commands_.push_back(std::move(fn));
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  {
    std::lock_guard lock(cmd_mu_);
    commands_.push_back([fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
  }
  fut.wait();
}

void InferenceLoop::add_camera(pipeline::CameraHandle handle, const config::CameraConfig& camera,
                               std::uint64_t last_seq, std::uint64_t last_epoch) {
  post([this, handle, camera, last_seq, last_epoch] {
    auto* bb = camera.models.backbone.empty() ? nullptr : models_.backbones.at(camera.models.backbone).get();
    auto* seg = models_.segmenters.at(camera.models.segmenter).get();
    auto* rec = camera.models.recognizer.empty() ? nullptr : models_.recognizers.at(camera.models.recognizer).get();
    cameras_[handle] = std::make_unique<Camera>(handle, camera, bb, seg, rec, last_seq, last_epoch);
  }, true);
}

InferenceLoop::Numbering InferenceLoop::remove_camera(pipeline::CameraHandle handle, const std::string& reason) {
  Numbering out;
  post([this, handle, reason, &out] {
    auto it = cameras_.find(handle);
    if (it == cameras_.end()) return;
    stop_camera(*it->second, reason);
    out = Numbering{it->second->events.last_seq(), it->second->events.epoch()};
    {
      std::lock_guard lock(summary_mu_);
      summary_.erase(it->second->config.id);
    }
    cameras_.erase(it);
  }, true);
  return out;
}

namespace {
template <typename Model>
void adopt(std::map<std::string, std::unique_ptr<Model>>& into, std::map<std::string, std::unique_ptr<Model>>& from) {
  for (auto& [name, model] : from) {
    auto& slot = into[name];
    if (!slot || slot->path() != model->path()) slot = std::move(model);
  }
}
}  // namespace

void InferenceLoop::adopt_models(ModelSet models) {
  auto shared = std::make_shared<ModelSet>(std::move(models));
  post([this, shared] {
    adopt(models_.backbones, shared->backbones);
    adopt(models_.segmenters, shared->segmenters);
    adopt(models_.recognizers, shared->recognizers);
  }, true);
}

void InferenceLoop::post_status(pipeline::CameraHandle handle, const pipeline::StreamStatus& status) {
  post([this, handle, status] {
    auto it = cameras_.find(handle);
    if (it != cameras_.end()) on_status(*it->second, status);
  }, false);
}

void InferenceLoop::stop_camera(Camera& cam, const std::string& reason) {
  pipeline::StreamStatus st = cam.last_status;
  st.state = "stopped";
  st.reason = reason;
  close_segment(cam, reason);
  emit_status(cam, st);
}

LoopCounters InferenceLoop::counters() const {
  std::lock_guard lock(counters_mu_);
  return counters_;
}

void InferenceLoop::count_inference_error(const char* stage, const std::string& what) {
  std::lock_guard lock(counters_mu_);
  const std::uint64_t n = ++counters_.inference_errors;
  if (metrics_) metrics_->add("actiond_inference_errors_total", {{"stage", stage}});
  if ((n & (n - 1)) == 0) logger().error("{}: {} ({} failures so far)", stage, what, n);  // rate-limited: 1,2,4,8...
}

void InferenceLoop::run_commands() {
  std::vector<std::function<void()>> cmds;
  {
    std::lock_guard lock(cmd_mu_);
    cmds.swap(commands_);
  }
  for (auto& c : cmds) c();
}

void InferenceLoop::run() {
  logger().debug("inference loop started");
  std::vector<SourceItem> items;
  while (running_.load()) {
    last_iteration_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
    run_commands();
    if (!running_.load()) break;
    if (!hub_.wait(std::chrono::milliseconds(20))) break;
    // A frame is ready: give other cameras up to max_wait_ms to fill the batch (less when it fills).
    if (cfg_.max_wait_ms > 0 && hub_.pending_frames() > 0) {
      hub_.wait_frames(static_cast<std::size_t>(cfg_.max_batch), std::chrono::milliseconds(cfg_.max_wait_ms));
    }
    items.clear();
    hub_.take(static_cast<std::size_t>(cfg_.max_batch), items);
    if (!items.empty()) process(items);
    heartbeats();
  }
  run_commands();
  logger().debug("inference loop stopped");
}

void InferenceLoop::process(std::vector<SourceItem>& items) {
  std::vector<SourceItem*> frames;
  for (auto& item : items) {
    auto it = cameras_.find(item.camera);
    if (it == cameras_.end()) continue;  // camera removed meanwhile
    if (item.kind == SourceItem::Kind::frame) {
      frames.push_back(&item);
      continue;
    }
    // A status marker: analyse the frames before it first, so a loss comes after the last frame.
    analyse_frames(frames);
    frames.clear();
    on_status(*it->second, item.status);
  }
  analyse_frames(frames);
}

void InferenceLoop::analyse_frames(std::vector<SourceItem*>& frames) {
  if (frames.empty()) return;
  // One backbone call per model over all cameras that use it.
  std::map<models::Backbone*, std::vector<SourceItem*>> by_model;
  for (auto* f : frames) by_model[cameras_.at(f->camera)->backbone].push_back(f);
  std::set<Camera*> touched;
  std::vector<models::ImageView> images;
  std::vector<float> features;
  for (auto& [bb, group] : by_model) {
    if (bb == nullptr) {  // features:// cameras: the frame is the feature row
      for (auto* f : group) {
        Camera& cam = *cameras_.at(f->camera);
        if (f->frame.feature_dim != static_cast<int>(cam.ring.dim())) {
          count_inference_error("features", cam.config.uri + ": row of " + std::to_string(f->frame.feature_dim) +
                                                " values, the camera's models read " + std::to_string(cam.ring.dim()));
          continue;
        }
        store_features(cam, f->frame, f->frame.features);
        touched.insert(&cam);
      }
      continue;
    }
    images.clear();
    for (auto* f : group) images.push_back({f->frame.data, f->frame.width, f->frame.height, f->frame.stride});
    const auto began = std::chrono::steady_clock::now();
    try {
      bb->infer(images, features);
    } catch (const models::ModelError& e) {
      count_inference_error("backbone", e.what());
      continue;
    }
    if (metrics_) {
      metrics_->observe("actiond_model_inference_seconds", {{"model", bb->manifest().name}}, seconds_since(began));
      metrics_->observe("actiond_model_batch_size", {{"model", bb->manifest().name}}, static_cast<double>(group.size()));
    }
    const std::size_t dim = static_cast<std::size_t>(bb->manifest().feature_dim);
    for (std::size_t i = 0; i < group.size(); ++i) {
      Camera& cam = *cameras_.at(group[i]->camera);
      store_features(cam, group[i]->frame, features.data() + i * dim);
      touched.insert(&cam);
    }
    std::lock_guard lock(counters_mu_);
    counters_.frames += group.size();
    ++counters_.batches;
  }
  decide_batched(touched);
}

void InferenceLoop::store_features(Camera& cam, const pipeline::Frame& fr, const float* feature) {
  cam.ring.push(models::FeatureMeta{fr.pts, fr.time, fr.arrival}, feature);
  cam.streaming = true;
  cam.note_analysed();
  if (metrics_) metrics_->add("actiond_frames_analysed_total", {{"camera", cam.config.id}});
  recognize(cam);  // per frame, so clips end exactly at the cadence
}

void InferenceLoop::recognize(Camera& cam) {
  if (cam.recognizer == nullptr) return;
  const auto& m = cam.recognizer->manifest();
  const auto newest = cam.ring.meta_at(cam.ring.total_pushed() - 1);
  if (!newest) return;
  const auto& rc = cam.config.recognition;
  if (cam.last_recognition_pts && newest->pts - *cam.last_recognition_pts < rc.interval_s - 1e-9) return;
  std::vector<float> feats;
  std::vector<models::FeatureMeta> meta;
  cam.ring.latest(static_cast<std::size_t>(m.window), feats, &meta);
  if (meta.size() < static_cast<std::size_t>(m.window)) return;  // a full clip since the stream (re)started
  Recognition r;
  const auto began = std::chrono::steady_clock::now();
  try {
    cam.recognizer->run(feats.data(), static_cast<int>(meta.size()), r.probs);
  } catch (const models::ModelError& e) {
    count_inference_error("recognizer", e.what());
    return;
  }
  if (metrics_) metrics_->observe("actiond_model_inference_seconds", {{"model", m.name}}, seconds_since(began));
  cam.last_recognition_pts = newest->pts;
  if (*std::max_element(r.probs.begin(), r.probs.end()) < rc.min_confidence) return;
  r.start = FramePoint{meta.front().pts, meta.front().time};
  r.end = FramePoint{meta.back().pts, meta.back().time};
  r.frames = static_cast<int>(meta.size());
  r.labels = m.labels;
  r.model = m.name;
  r.top_k = rc.top_k;
  emit(cam, cam.events.recognition(r));
}

std::optional<InferenceLoop::Decision> InferenceLoop::prepare(Camera& cam, bool final) {
  const auto& m = cam.segmenter->manifest();
  Decision d;
  d.cam = &cam;
  d.start = cam.ring.latest(static_cast<std::size_t>(m.window), d.feats, &d.meta);
  if (d.meta.empty()) return std::nullopt;
  const std::uint64_t newest = d.start + d.meta.size() - 1;
  if (!final && newest < static_cast<std::uint64_t>(m.lookahead)) return std::nullopt;
  d.upto = final ? newest : newest - static_cast<std::uint64_t>(m.lookahead);
  if (cam.next_decide > d.upto) return std::nullopt;
  if (cam.next_decide < d.start) {
    std::lock_guard lock(counters_mu_);
    counters_.frames_skipped += d.start - cam.next_decide;
    cam.skipped += d.start - cam.next_decide;
    cam.next_decide = d.start;
  }
  return d;
}

void InferenceLoop::decide(Camera& cam, bool final) {
  auto d = prepare(cam, final);
  if (!d) return;
  models::SegmenterOutput out;
  const auto began = std::chrono::steady_clock::now();
  try {
    cam.segmenter->run(d->feats.data(), static_cast<int>(d->meta.size()), out);
  } catch (const models::ModelError& e) {
    count_inference_error("segmenter", e.what());
    return;
  }
  if (metrics_) {
    metrics_->observe("actiond_model_inference_seconds", {{"model", cam.segmenter->manifest().name}},
                      seconds_since(began));
  }
  apply(*d, out);
}

void InferenceLoop::decide_batched(const std::set<Camera*>& cams) {
  // Cameras sharing a segmenter whose windows are full run as one batch; the rest one by one.
  std::map<models::Segmenter*, std::vector<Camera*>> by_model;
  for (Camera* cam : cams) by_model[cam->segmenter].push_back(cam);
  for (auto& [seg, group] : by_model) {
    const auto& m = seg->manifest();
    std::vector<Decision> decisions;
    for (Camera* cam : group) {
      if (group.size() < 2 || cam->ring.size() < static_cast<std::size_t>(m.window)) {
        decide(*cam, false);
      } else if (auto d = prepare(*cam, false)) {
        decisions.push_back(std::move(*d));
      }
    }
    if (decisions.empty()) continue;
    const std::size_t row = static_cast<std::size_t>(m.window) * static_cast<std::size_t>(m.feature_dim);
    std::vector<float> batch(row * decisions.size());
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      std::copy(decisions[i].feats.begin(), decisions[i].feats.end(), batch.begin() + static_cast<std::ptrdiff_t>(i * row));
    }
    std::vector<models::SegmenterOutput> outs;
    const auto began = std::chrono::steady_clock::now();
    try {
      seg->run_batch(batch.data(), static_cast<int>(decisions.size()), m.window, outs);
    } catch (const models::ModelError& e) {
      count_inference_error("segmenter", e.what());
      continue;
    }
    if (metrics_) metrics_->observe("actiond_model_inference_seconds", {{"model", m.name}}, seconds_since(began));
    for (std::size_t i = 0; i < decisions.size(); ++i) apply(decisions[i], outs[i]);
  }
}

void InferenceLoop::apply(Decision& d, const models::SegmenterOutput& out) {
  Camera& cam = *d.cam;
  const std::uint64_t start = d.start;
  const std::uint64_t upto = d.upto;
  const auto& meta = d.meta;
  std::vector<TrackerEvent> events;
  std::vector<float> last_probs;
  FramePoint last_at;
  for (std::uint64_t i = cam.next_decide; i <= upto; ++i) {
    const std::size_t p = static_cast<std::size_t>(i - start);
    DecidedFrame df;
    df.at = FramePoint{meta[p].pts, meta[p].time};
    df.probs.assign(out.probs.begin() + static_cast<std::ptrdiff_t>(p * out.classes),
                    out.probs.begin() + static_cast<std::ptrdiff_t>((p + 1) * out.classes));
    df.boundary = out.boundary[p];
    cam.tracker.push(df, events);
    last_probs.swap(df.probs);
    last_at = df.at;
  }
  cam.next_decide = upto + 1;
  for (const auto& ev : events) emit(cam, cam.events.from_tracker(ev));
  // Processing latency: from the arrival of the frame that completed these decisions (the newest in
  // the window; the look-ahead wait before it is the model's, not the daemon's) to their events.
  if (metrics_) {
    metrics_->observe("actiond_frame_latency_seconds", {{"camera", cam.config.id}},
                      seconds_since(meta.back().arrival));
  }
  // Running confidence of an open segment, every update_interval_s of stream time.
  const auto open = cam.tracker.open_segment();
  const double every = cam.config.tracker.update_interval_s;
  if (!open || every <= 0) {
    cam.last_update_pts.reset();
  } else if (!cam.last_update_pts || open->id != cam.updated_segment) {
    cam.last_update_pts = last_at.pts;  // the segment was just published: its start is the first news
    cam.updated_segment = open->id;
  } else if (last_at.pts - *cam.last_update_pts >= every - 1e-9) {
    emit(cam, cam.events.segment_update(*open, last_at, last_probs));
    cam.last_update_pts = last_at.pts;
  }
}

void InferenceLoop::close_segment(Camera& cam, const std::string& end_reason) {
  if (cam.streaming) decide(cam, true);
  std::vector<TrackerEvent> events;
  cam.tracker.close(end_reason, events);
  for (const auto& ev : events) emit(cam, cam.events.from_tracker(ev));
  cam.ring.clear();
  cam.next_decide = cam.ring.total_pushed();
  cam.last_recognition_pts.reset();
  cam.streaming = false;
}

void InferenceLoop::on_status(Camera& cam, const pipeline::StreamStatus& status) {
  const std::string& s = status.state;
  if (s == "eos") {
    close_segment(cam, "eos");
  } else if (s == "reconnecting" || s == "stalled" || s == "failed") {
    close_segment(cam, "source_lost");
  } else if (s == "running") {
    cam.events.set_epoch(status.epoch);
    cam.events.set_clock(status.clock);
  }
  emit_status(cam, status);
}

void InferenceLoop::emit_status(Camera& cam, const pipeline::StreamStatus& status) {
  cam.last_status = status;
  StatusInfo info;
  info.state = status.state;
  info.reason = status.reason;
  info.attempt = status.attempt;
  info.fps_in = status.fps_in;
  info.fps_processed = cam.fps_processed();
  info.clock = status.clock;
  info.dropped["rate_limit"] = status.dropped_rate_limit;
  // The hub forgets a camera once its source stops; keep the last count seen.
  cam.queue_full = std::max(cam.queue_full, hub_.counters(cam.handle).dropped_queue_full);
  info.dropped["queue_full"] = cam.queue_full;
  info.dropped["undecided"] = cam.skipped;
  auto last = cam.ring.meta_at(cam.ring.total_pushed() - 1);
  emit(cam, cam.events.stream_status(info, last ? last->pts : 0.0));
  if (metrics_) {
    const std::string& id = cam.config.id;
    for (const auto& [reason, n] : info.dropped) {
      metrics_->set("actiond_frames_dropped_total", {{"camera", id}, {"reason", reason}}, static_cast<double>(n));
    }
    metrics_->set("actiond_frames_in_per_second", {{"camera", id}}, status.fps_in);
    for (const char* s : {"starting", "running", "reconnecting", "stalled", "blocked", "eos", "stopped", "failed"}) {
      metrics_->set("actiond_camera_state", {{"camera", id}, {"state", s}}, status.state == s ? 1.0 : 0.0);
    }
    if (status.state == "reconnecting") metrics_->add("actiond_camera_reconnects_total", {{"camera", id}});
  }
}

nlohmann::json InferenceLoop::snapshot() const {
  std::lock_guard lock(summary_mu_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [id, entry] : summary_) out[id] = entry;
  return out;
}

void InferenceLoop::emit(Camera& cam, const nlohmann::json& event) {
  cam.last_event = std::chrono::steady_clock::now();
  {
    const auto open = cam.tracker.open_segment();
    std::lock_guard lock(summary_mu_);
    summary_[cam.config.id] = {{"seq", event.at("seq")},
                               {"epoch", cam.events.epoch()},
                               {"state", cam.last_status.state.empty() ? "starting" : cam.last_status.state},
                               {"reason", cam.last_status.reason},
                               {"open_segment", open ? cam.events.segment(*open) : nlohmann::json(nullptr)}};
  }
  if (metrics_) {
    const std::string type = event.at("type").get<std::string>();
    metrics_->add("actiond_events_total", {{"camera", cam.config.id}, {"type", type}});
    if (type == "segment.end") {
      metrics_->add("actiond_segment_ends_total",
                    {{"camera", cam.config.id}, {"reason", event.at("segment").at("end_reason").get<std::string>()}});
    }
  }
  publisher_.publish(cam.config.id, event.at("seq").get<std::uint64_t>(),
                     cam.config.id + "/" + event.at("type").get<std::string>(), event.dump());
  std::lock_guard lock(counters_mu_);
  ++counters_.events;
}

}  // namespace actiond::daemon
