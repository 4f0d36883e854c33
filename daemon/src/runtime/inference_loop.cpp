#include "actiond/daemon/runtime/inference_loop.hpp"

#include "actiond/config/log.hpp"

#include "runtime/loop_camera.hpp"

#include <algorithm>
#include <cmath>
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


InferenceLoop::InferenceLoop(const config::InferenceConfig& cfg, pipeline::FrameHub& hub, Publisher& publisher,
                             ModelSet models, double heartbeat_s, Metrics* metrics)
    : cfg_(cfg), heartbeat_s_(heartbeat_s), hub_(hub), publisher_(publisher), metrics_(metrics),
      models_(std::move(models)) {
  last_iteration_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
}

std::chrono::steady_clock::time_point InferenceLoop::last_iteration() const {
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_iteration_ns_.load()));
}

void InferenceLoop::heartbeats() {
  if (heartbeat_s_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [h, cam] : cameras_) {
    if (now - cam->last_event < std::chrono::duration<double>(heartbeat_s_)) continue;
    emit(*cam, cam->events.heartbeat(pipeline::to_string(cam->last_status.state)));
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

void InferenceLoop::add_camera(pipeline::CameraHandle handle, const config::CameraConfig& camera, Numbering from,
                               std::optional<Unfinished> unfinished, const std::string& takeover) {
  post([this, handle, camera, from, unfinished = std::move(unfinished), takeover] {
    auto* bb = camera.models.backbone.empty() ? nullptr : models_.backbones.at(camera.models.backbone).get();
    auto* pm = camera.models.pose.empty() ? nullptr : models_.poses.at(camera.models.pose).get();
    auto* seg = camera.models.segmenter.empty() ? nullptr : models_.segmenters.at(camera.models.segmenter).get();
    auto* rec = camera.models.recognizer.empty() ? nullptr : models_.recognizers.at(camera.models.recognizer).get();
    auto& cam = cameras_[handle];
    cam = std::make_unique<Camera>(handle, camera, bb, pm, seg, rec, from.seq, from.epoch);
    if (!takeover.empty()) {
      pipeline::StreamStatus st;
      st.state = pipeline::StreamState::starting;
      st.reason = takeover;
      emit_status(*cam, st);
    }
    if (unfinished) {
      logger().warn("camera {}: segment {} was left open by the previous run; ending it ({})", camera.id,
                    unfinished->segment_event["segment"].value("id", "?"), unfinished->reason);
      emit(*cam, cam->events.unfinished_end(unfinished->segment_event, unfinished->last_pts, unfinished->last_time,
                                            unfinished->reason));
    }
  }, true);
}

void InferenceLoop::add_failed_camera(pipeline::CameraHandle handle, const config::CameraConfig& camera, Numbering from,
                                      const std::string& reason) {
  post([this, handle, camera, from, reason] {
    auto& cam = cameras_[handle];
    cam = std::make_unique<Camera>(handle, camera, nullptr, nullptr, nullptr, nullptr, from.seq, from.epoch);
    pipeline::StreamStatus st;
    st.state = pipeline::StreamState::failed;
    st.reason = reason;
    emit_status(*cam, st);
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
    adopt(models_.poses, shared->poses);
  }, true);
}

void InferenceLoop::post_status(pipeline::CameraHandle handle, const pipeline::StreamStatus& status) {
  post([this, handle, status] {
    auto it = cameras_.find(handle);
    if (it != cameras_.end()) on_status(*it->second, status);
  }, false);
}

void InferenceLoop::post_clip_ready(const std::string& camera, const std::string& segment_id, nlohmann::json fields,
                                    double pts) {
  post([this, camera, segment_id, fields = std::move(fields), pts] {
    for (auto& [handle, cam] : cameras_) {
      if (cam->config.id == camera) emit(*cam, cam->events.clip_ready(segment_id, fields, pts));
    }
  }, false);
}

void InferenceLoop::stop_camera(Camera& cam, const std::string& reason) {
  pipeline::StreamStatus st = cam.last_status;
  st.state = pipeline::StreamState::stopped;
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
    if (hub_.wait(std::chrono::milliseconds(20)) == pipeline::FrameHub::WaitResult::closed) break;
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

void InferenceLoop::close_subject(Camera& cam, Subject& subj, const std::string& end_reason) {
  if (subj.streaming) decide(cam, subj, true);
  std::vector<TrackerEvent> events;
  subj.tracker.close(end_reason, events);
  for (const auto& ev : events) emit_for(cam, subj, cam.events.from_tracker(ev));
  subj.ring.clear();
  subj.next_decide = subj.ring.total_pushed();
  subj.last_recognition_pts.reset();
  subj.streaming = false;
}

void InferenceLoop::close_segment(Camera& cam, const std::string& end_reason) {
  if (cam.frame_subject) close_subject(cam, *cam.frame_subject, end_reason);
  if (!cam.persons) return;
  // Every person's segment ends, then the person's track, with the same reason.
  for (auto& [id, subj] : cam.people) close_subject(cam, *subj, end_reason);
  cam.people.clear();
  cam.gate->reset();
  TrackChanges ended;
  cam.persons->end_all(end_reason, ended);
  const FramePoint at{cam.last_pts, std::chrono::system_clock::now()};
  for (const auto& t : ended.ended) emit(cam, cam.events.track(t, at, end_reason));
}

void InferenceLoop::emit_for(Camera& cam, const Subject& subj, nlohmann::json event) {
  if (subj.track_id != 0) {
    event["subject"] = EventFactory::subject(subj.person);
    // segment.end: the person's pose at the segment's peak (the frame nearest to it), for snapshots.
    if (event.value("type", "") == "segment.end" && event["segment"].contains("peak") && !subj.poses.empty()) {
      auto& seg = event["segment"];
      const double at = seg["peak"].value("pts", 0.0);
      const auto near = std::min_element(subj.poses.begin(), subj.poses.end(), [at](const auto& a, const auto& b) {
        return std::abs(a.first - at) < std::abs(b.first - at);
      });
      if (std::abs(near->first - at) <= 1.0 / cam.config.fps + 1e-6) seg["peak"]["pose"] = EventFactory::pose(near->second);
    }
  }
  emit(cam, event);
}

void InferenceLoop::on_status(Camera& cam, const pipeline::StreamStatus& status) {
  using pipeline::StreamState;
  const StreamState s = status.state;
  if (s == StreamState::eos) {
    close_segment(cam, "eos");
  } else if (s == StreamState::reconnecting || s == StreamState::stalled || s == StreamState::failed) {
    close_segment(cam, "source_lost");
  } else if (s == StreamState::running) {
    cam.events.set_epoch(status.epoch);
    cam.events.set_clock(pipeline::to_string(status.clock));
  }
  emit_status(cam, status);
}

void InferenceLoop::emit_status(Camera& cam, const pipeline::StreamStatus& status) {
  cam.last_status = status;
  StatusInfo info;
  info.state = pipeline::to_string(status.state);
  info.reason = status.reason;
  info.attempt = status.attempt;
  info.fps_in = status.fps_in;
  info.fps_processed = cam.fps_processed();
  info.clock = pipeline::to_string(status.clock);
  info.dropped["rate_limit"] = status.dropped_rate_limit;
  // The hub forgets a camera once its source stops; keep the last count seen.
  cam.queue_full = std::max(cam.queue_full, hub_.counters(cam.handle).dropped_queue_full);
  info.dropped["queue_full"] = cam.queue_full;
  info.dropped["undecided"] = cam.skipped;
  if (cam.persons) info.dropped["tracks_over_limit"] = cam.persons->tracker().counters().dropped_over_limit;
  emit(cam, cam.events.stream_status(info, cam.last_pts));
  if (metrics_) {
    const std::string& id = cam.config.id;
    for (const auto& [reason, n] : info.dropped) {
      metrics_->set("actiond_frames_dropped_total", {{"camera", id}, {"reason", reason}}, static_cast<double>(n));
    }
    metrics_->set("actiond_frames_in_per_second", {{"camera", id}}, status.fps_in);
    for (const auto s : pipeline::kAllStreamStates) {
      metrics_->set("actiond_camera_state", {{"camera", id}, {"state", pipeline::to_string(s)}},
                    status.state == s ? 1.0 : 0.0);
    }
    if (status.state == pipeline::StreamState::reconnecting) metrics_->add("actiond_camera_reconnects_total", {{"camera", id}});
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
    const auto open = cam.open_segment();
    std::lock_guard lock(summary_mu_);
    auto& entry = summary_[cam.config.id];
    entry = {{"seq", event.at("seq")},
             {"epoch", cam.events.epoch()},
             {"state", pipeline::to_string(cam.last_status.state)},
             {"reason", cam.last_status.reason},
             {"open_segment", open ? cam.events.segment(*open) : nlohmann::json(nullptr)}};
    if (cam.persons) {
      std::size_t confirmed = 0;
      for (const auto& t : cam.persons->tracker().tracks()) confirmed += t.confirmed ? 1 : 0;
      entry["tracks"] = confirmed;
    }
  }
  if (metrics_) {
    const std::string type = event.at("type").get<std::string>();
    metrics_->add("actiond_events_total", {{"camera", cam.config.id}, {"type", type}});
    if (type == "segment.end") {
      metrics_->add("actiond_segment_ends_total",
                    {{"camera", cam.config.id}, {"reason", event.at("segment").at("end_reason").get<std::string>()}});
    }
  }
  if (observer_) observer_(cam.config.id, event);
  publisher_.publish(cam.config.id, event.at("seq").get<std::uint64_t>(),
                     cam.config.id + "/" + event.at("type").get<std::string>(), event.dump());
  std::lock_guard lock(counters_mu_);
  ++counters_.events;
}

}  // namespace actiond::daemon
