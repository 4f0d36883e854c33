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
    emit(*cam, cam->events.heartbeat(cam->last_status.state));
  }
}

InferenceLoop::~InferenceLoop() { stop(config::EndReason::shutdown); }

void InferenceLoop::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { run(); });
}

void InferenceLoop::stop(config::EndReason reason) {
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
                    unfinished->segment.info.id, config::to_string(unfinished->reason));
      emit(*cam, cam->events.unfinished_end(unfinished->segment, unfinished->clock, unfinished->last, unfinished->reason));
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

InferenceLoop::Numbering InferenceLoop::remove_camera(pipeline::CameraHandle handle, config::EndReason reason) {
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
void adopt(std::map<std::string, std::unique_ptr<Model>>& into, std::map<std::string, std::unique_ptr<Model>>& from,
           const std::set<std::string>& replaced) {
  for (auto& [name, model] : from) {
    auto& slot = into[name];
    if (!slot || slot->path() != model->path() || replaced.count(model->path().string()) != 0) slot = std::move(model);
  }
}
}  // namespace

void InferenceLoop::adopt_models(ModelSet models, std::set<std::string> replaced) {
  auto shared = std::make_shared<ModelSet>(std::move(models));
  post([this, shared, replaced = std::move(replaced)] {
    adopt(models_.backbones, shared->backbones, replaced);
    adopt(models_.segmenters, shared->segmenters, replaced);
    adopt(models_.recognizers, shared->recognizers, replaced);
    adopt(models_.poses, shared->poses, replaced);
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

void InferenceLoop::stop_camera(Camera& cam, config::EndReason reason) {
  pipeline::StreamStatus st = cam.last_status;
  st.state = pipeline::StreamState::stopped;
  st.reason = config::to_string(reason);
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
    try {
      if (!items.empty()) process(items);
      heartbeats();
    } catch (const std::exception& e) {
      recover(items, e.what());
    } catch (...) {
      recover(items, "an exception that is no std::exception");
    }
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

void InferenceLoop::recover(const std::vector<SourceItem>& items, const char* what) {
  count_inference_error("loop", std::string(what) + " (the batch's cameras end their segments and tracks: error)");
  std::set<pipeline::CameraHandle> affected;
  for (const auto& item : items) affected.insert(item.camera);
  for (const auto handle : affected) {
    auto it = cameras_.find(handle);
    if (it == cameras_.end()) continue;
    Camera& cam = *it->second;
    try {
      cam.stop_streaming();  // no final decisions: the models may be what failed
      close_segment(cam, config::EndReason::error);
    } catch (const std::exception& e) {
      // Ending failed too: forget the camera's analysis state; it starts again from its next frame.
      logger().error("camera {}: ending its segments failed ({}); its analysis starts again", cam.config.id, e.what());
      cam.reset_analysis();
    }
  }
}

void InferenceLoop::close_subject(Camera& cam, Subject& subj, config::EndReason end_reason) {
  if (subj.streaming) decide(cam, subj, true);
  std::vector<TrackerEvent> events;
  subj.tracker.close(end_reason, events);
  for (const auto& ev : events) emit_for(cam, subj, cam.factory_of(subj).from_tracker(ev));
  subj.ring.clear();
  subj.next_decide = subj.ring.total_pushed();
  subj.last_recognition_pts.reset();
  subj.streaming = false;
}

void InferenceLoop::fail_subject(Camera& cam, Subject& subj) {
  subj.streaming = false;  // no final decision: the segmenter just failed
  close_subject(cam, subj, config::EndReason::error);
}

void InferenceLoop::close_segment(Camera& cam, config::EndReason end_reason) {
  if (cam.frame_subject) close_subject(cam, *cam.frame_subject, end_reason);
  if (cam.shadow) close_subject(cam, *cam.shadow, end_reason);
  if (!cam.persons) return;
  // Every person's segment ends, then the person's track, with the same reason.
  for (auto& [id, subj] : cam.people) close_subject(cam, *subj, end_reason);
  cam.people.clear();
  for (auto& [id, subj] : cam.shadow_people) close_subject(cam, *subj, end_reason);
  cam.shadow_people.clear();
  cam.gate->reset();
  TrackChanges ended;
  cam.persons->end_all(end_reason, ended);
  const FramePoint at{cam.last_pts, std::chrono::system_clock::now()};
  for (const auto& t : ended.ended) emit(cam, cam.events.track_end(t, at, end_reason));
}

void InferenceLoop::emit_for(Camera& cam, const Subject& subj, Event event) {
  if (subj.shadow) {
    if (subj.track_id != 0) event.subject = EventFactory::subject(subj.person);
    emit_shadow(cam, event);
    return;
  }
  if (subj.track_id != 0) {
    event.subject = EventFactory::subject(subj.person);
    // segment.end: the person's pose at the segment's peak (the frame nearest to it), for snapshots.
    const auto& peak = event.segment ? event.segment->info.peak : std::nullopt;
    if (event.type == config::EventType::segment_end && peak && !subj.poses.empty()) {
      const double at = peak->pts;
      const auto near = std::min_element(subj.poses.begin(), subj.poses.end(), [at](const auto& a, const auto& b) {
        return std::abs(a.first - at) < std::abs(b.first - at);
      });
      if (std::abs(near->first - at) <= 1.0 / cam.config.fps + 1e-6) event.peak_pose = near->second;
    }
  }
  emit(cam, event);
}

void InferenceLoop::on_status(Camera& cam, const pipeline::StreamStatus& status) {
  using pipeline::StreamState;
  const StreamState s = status.state;
  if (s == StreamState::eos) {
    close_segment(cam, config::EndReason::eos);
  } else if (s == StreamState::reconnecting || s == StreamState::stalled || s == StreamState::failed) {
    close_segment(cam, config::EndReason::source_lost);
  } else if (s == StreamState::running) {
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

InferenceLoop::Snapshot InferenceLoop::snapshot() const {
  std::lock_guard lock(summary_mu_);
  return summary_;
}

nlohmann::json InferenceLoop::to_json(const Snapshot& snapshot) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [id, s] : snapshot) {
    auto& entry = out[id];
    entry = {{"seq", s.seq},
             {"epoch", s.epoch},
             {"state", pipeline::to_string(s.state)},
             {"reason", s.reason},
             {"open_segment", s.open_segment ? daemon::to_json(*s.open_segment) : nlohmann::json(nullptr)}};
    if (s.tracks) entry["tracks"] = *s.tracks;
  }
  return out;
}

void InferenceLoop::emit(Camera& cam, const Event& event) {
  cam.last_event = std::chrono::steady_clock::now();
  {
    const auto open = cam.open_segment();
    CameraSummary entry{event.seq, cam.events.epoch(), cam.last_status.state, cam.last_status.reason,
                        open ? std::optional<SegmentView>(cam.events.segment(*open)) : std::nullopt, std::nullopt};
    if (cam.persons) {
      std::size_t confirmed = 0;
      for (const auto& t : cam.persons->tracker().tracks()) confirmed += t.confirmed ? 1 : 0;
      entry.tracks = confirmed;
    }
    std::lock_guard lock(summary_mu_);
    summary_[cam.config.id] = std::move(entry);
  }
  const std::string type(config::to_string(event.type));
  if (metrics_) {
    metrics_->add("actiond_events_total", {{"camera", cam.config.id}, {"type", type}});
    if (const auto reason = event.end_reason()) {
      metrics_->add("actiond_segment_ends_total", {{"camera", cam.config.id}, {"reason", std::string(config::to_string(*reason))}});
    }
  }
  if (observer_) observer_(event);
  publisher_.publish(cam.config.id, event.seq, cam.config.id + "/" + type, daemon::to_json(event).dump());
  std::lock_guard lock(counters_mu_);
  ++counters_.events;
}

}  // namespace actiond::daemon
