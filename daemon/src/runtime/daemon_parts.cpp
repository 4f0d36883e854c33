// The Daemon's parts that do not depend on its life cycle: starting one camera, the metrics page.
#include "actiond/config/log.hpp"
#include "actiond/pipeline/clips/clip_recorder.hpp"
#include "runtime/daemon_impl.hpp"

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("daemon"); }
}  // namespace

std::optional<InferenceLoop::Unfinished> unfinished_of(const std::string& camera, const nlohmann::json& open_event,
                                                       double last_pts, const std::string& last_time,
                                                       config::EndReason reason) {
  if (!open_event.is_object()) return std::nullopt;
  const auto segment = segment_from_json(open_event.value("segment", nlohmann::json()));
  const auto time = parse_iso_time(last_time);
  if (!segment || !time) {
    logger().warn("camera {}: the open segment the journal ends with cannot be read; it is not ended", camera);
    return std::nullopt;
  }
  const auto clock = config::value_of(pipeline::kClockSourceNames, open_event.value("clock", "arrival"));
  return InferenceLoop::Unfinished{*segment, clock.value_or(pipeline::ClockSource::arrival), FramePoint{last_pts, *time},
                                   reason};
}

void Daemon::Impl::set_labels(const config::CameraConfig& cam, const ModelSet& models) {
  std::vector<std::string> names;
  if (const auto seg = models.segmenters.find(cam.models.segmenter); seg != models.segmenters.end()) {
    const auto& m = seg->second->manifest();
    for (std::size_t k = 0; k < m.labels.size(); ++k) {
      if (static_cast<int>(k) != m.background) names.push_back(m.labels[k]);
    }
  }
  labels[cam.id] = std::move(names);
}

std::vector<std::string> Daemon::Impl::labels_of(const std::string& camera) const {
  const auto v = view();
  const auto it = v->labels.find(camera);
  return it == v->labels.end() ? std::vector<std::string>{} : it->second;
}

void Daemon::Impl::publish_view() {
  auto v = std::make_shared<DaemonView>();
  v->cfg = cfg;
  v->started = started;
  for (const auto& [id, r] : running) v->cameras[id] = DaemonView::Camera{r.handle, r.source};
  v->labels = labels;
  v->reloads = reloads;
  v->reloads_rejected = reloads_rejected;
  std::lock_guard lock(view_mu);
  view_ = std::move(v);
}

InferenceLoop::Numbering Daemon::Impl::stop_camera(const std::string& id, config::EndReason reason) {
  auto it = running.find(id);
  if (it == running.end()) return {};
  if (it->second.source) it->second.source->stop();
  if (it->second.record) it->second.record->stop();
  const InferenceLoop::Numbering n = loop->remove_camera(it->second.handle, reason);
  clips->remove_camera(id);
  running.erase(it);
  return n;
}

void Daemon::Impl::start_cluster_camera(const config::CameraConfig& cam, const cluster::LogState& from) {
  using cluster::Takeover;
  config::Config one = *cfg;
  one.cameras = {cam};
  const std::set<std::string> only{cam.id};
  model_stamps[cam.id] = model_stamps_of(one, cam);
  std::map<std::string, std::string> failures;
  ModelSet fresh = load_models(one, &only, &failures);
  if (const auto f = failures.find(cam.id); f != failures.end()) {
    model_failures[cam.id] = f->second;
    logger().error("camera {}: not started: {}", cam.id, f->second);
  } else {
    model_failures.erase(cam.id);
    inputs[cam.id] = input_spec(fresh, cam);
  }
  loop->adopt_models(std::move(fresh));
  // A host that died (failover) lost its source; a camera handed over or restarted: restart.
  auto unfinished = unfinished_of(cam.id, from.open_segment_event, from.pts, from.time,
                                  from.takeover == Takeover::failover ? config::EndReason::source_lost : config::EndReason::restart);
  // Its first event says how it came here (a first start says nothing).
  start_camera(cam, InferenceLoop::Numbering{from.seq, from.epoch}, std::move(unfinished),
               from.takeover == Takeover::start ? "" : to_string(from.takeover));
}

void Daemon::Impl::start_camera(const config::CameraConfig& cam, InferenceLoop::Numbering from,
                                 std::optional<InferenceLoop::Unfinished> unfinished, const std::string& takeover) {
  const pipeline::CameraHandle handle = next_handle++;
  if (auto failed = model_failures.find(cam.id); failed != model_failures.end()) {
    loop->add_failed_camera(handle, cam, from, failed->second);
    running[cam.id] = Running{handle, nullptr, nullptr};
    return;
  }
  pipeline::SourceOptions opt;
  opt.handle = handle;
  opt.camera = cam;
  const InputSpec& in = inputs.at(cam.id);
  opt.width = in.width;
  opt.height = in.height;
  opt.letterbox = in.letterbox;
  opt.decoder_nice = cfg->daemon.inference.decoder_nice;
  opt.last_epoch = from.epoch;
  std::unique_ptr<pipeline::RecordSource> record;
  if (cam.clips.enabled && clips) {
    pipeline::ClipSettings cs;
    cs.keep_s = cam.clips.pre_s + 15.0;  // the pre-roll, and the tracker's delay before segment.start
    cs.max_bytes = static_cast<std::size_t>(cam.clips.buffer_mb) << 20;
    auto recorder = std::make_shared<pipeline::ClipRecorder>(cs);
    if (cam.clips.record_uri.empty()) {
      opt.clips = recorder;  // the analysed stream's own packets
    } else {
      record = std::make_unique<pipeline::RecordSource>(cam.id, cam.clips.record_uri, cam.latency_ms, cam.reconnect,
                                                        recorder);
    }
    clips->add_camera(cam.id, recorder, cam.clips);
  }
  loop->add_camera(handle, cam, from, std::move(unfinished), takeover);
  std::shared_ptr<pipeline::CameraSource> source;
  try {
    source = std::make_shared<pipeline::CameraSource>(opt, hub);
    source->start();
  } catch (const std::exception& e) {
    // One camera that cannot even be built never stops the others.
    logger().error("camera {}: cannot start: {}", cam.id, e.what());
    source.reset();
    pipeline::StreamStatus st;
    st.state = pipeline::StreamState::failed;
    st.reason = e.what();
    loop->post_status(handle, st);
  }
  if (record) record->start();
  running[cam.id] = Running{handle, std::move(source), std::move(record)};
}

std::string Daemon::Impl::render_metrics() {
  auto& m = metrics;
  m.set("actiond_up", {}, 1);
  m.set("actiond_events_sent_total", {}, static_cast<double>(publisher->sent()));
  m.set("actiond_events_dropped_total", {}, static_cast<double>(publisher->dropped_queue_full()));
  m.set("actiond_slow_subscriber_stalls_total", {}, static_cast<double>(publisher->slow_subscriber_stalls()));
  m.set("actiond_journal_failures_total", {}, journal ? static_cast<double>(journal->failures()) : 0);
  m.set("actiond_journal_sink_losses_total", {}, journal ? static_cast<double>(journal->sink_losses()) : 0);
  for (const auto& sink : sinks) {
    const SinkStatus st = sink->status();
    const Labels l = {{"sink", st.name}, {"type", st.type}};
    m.set("actiond_sink_connected", l, st.connected ? 1 : 0);
    m.set("actiond_sink_delivered_total", l, static_cast<double>(st.delivered));
    m.set("actiond_sink_backlog", l, static_cast<double>(st.backlog));
    m.set("actiond_sink_reconnects_total", l, static_cast<double>(st.reconnects));
    m.set("actiond_sink_failures_total", l, static_cast<double>(st.failures));
    m.set("actiond_sink_lost_total", l, static_cast<double>(st.lost));
  }
  const auto v = view();
  m.set("actiond_reloads_total", {{"result", "applied"}}, static_cast<double>(v->reloads));
  m.set("actiond_reloads_total", {{"result", "rejected"}}, static_cast<double>(v->reloads_rejected));
  m.set("actiond_supervisor_commands_dropped_total", {}, supervisor ? static_cast<double>(supervisor->dropped()) : 0);
  for (const auto& [id, cam] : v->cameras) {
    if (!cam.source) continue;
    const auto c = hub.counters(cam.handle);
    m.set("actiond_frames_decoded_total", {{"camera", id}}, static_cast<double>(cam.source->frames_decoded()));
    m.set("actiond_frames_in_total", {{"camera", id}}, static_cast<double>(c.pushed));
    m.set("actiond_frames_dropped_total", {{"camera", id}, {"reason", "queue_full"}},
          static_cast<double>(c.dropped_queue_full));
  }
  if (clips) {
    const auto c = clips->counters();
    m.set("actiond_clips_written_total", {}, static_cast<double>(c.written));
    m.set("actiond_clips_failed_total", {}, static_cast<double>(c.failed));
    m.set("actiond_clips_dropped_total", {}, static_cast<double>(c.dropped));
    m.set("actiond_clips_deleted_total", {}, static_cast<double>(c.deleted));
    m.set("actiond_clips_disk_bytes", {}, static_cast<double>(c.bytes_on_disk));
    m.set("actiond_clips_ring_bytes", {}, static_cast<double>(c.ring_bytes));
  }
  if (index) m.set("actiond_api_index_failures_total", {}, static_cast<double>(index->failures()));
  if (cluster) {
    const auto c = cluster->counters();
    const auto l = cluster->log().counters();
    m.set("actiond_cluster_cameras", {}, static_cast<double>(cluster->cameras()));
    m.set("actiond_cluster_lease_valid", {}, cluster->lease_valid() ? 1 : 0);
    m.set("actiond_cluster_etcd_requests_total", {}, static_cast<double>(cluster->etcd_requests()));
    for (const auto& [what, n] : {std::pair{"acquired", c.acquired}, {"released", c.released}, {"handoff", c.handoffs_out},
                                  {"lease_lost", c.leases_lost}, {"fenced", c.fenced}}) {
      m.set("actiond_cluster_ownership_changes_total", {{"change", what}}, static_cast<double>(n));
    }
    for (const auto& [what, n] : {std::pair{"published", l.published}, {"fenced", l.fenced}, {"stale", l.stale},
                                  {"queue_full", l.dropped_queue_full}}) {
      m.set("actiond_cluster_log_events_total", {{"result", what}}, static_cast<double>(n));
    }
    m.set("actiond_cluster_log_queued", {}, static_cast<double>(l.queued));
  }
  return m.render();
}

}  // namespace actiond::daemon
