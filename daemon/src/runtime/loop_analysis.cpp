// The inference loop's analysis steps (loop thread only): batched backbone calls, the features
// rings, segmenter windows (batched across subjects where full), tracker decisions and recognitions.
// Pose cameras' people: loop_people.cpp.
#include "actiond/daemon/runtime/inference_loop.hpp"

#include "runtime/loop_camera.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace actiond::daemon {

using pipeline::SourceItem;

void InferenceLoop::analyse_frames(std::vector<SourceItem*>& frames) {
  if (frames.empty()) return;
  // One model call per model over all cameras that use it.
  std::map<models::Backbone*, std::vector<SourceItem*>> by_model;
  std::map<models::PoseModel*, std::vector<SourceItem*>> by_pose;
  for (auto* f : frames) {
    Camera& cam = *cameras_.at(f->camera);
    if (cam.pose != nullptr) {
      by_pose[cam.pose].push_back(f);
    } else if (cam.frame_subject) {
      by_model[cam.backbone].push_back(f);
    }
  }
  Touched touched;
  for (auto& [pm, group] : by_pose) {
    // A camera following its person reads a crop that depends on its previous frame's result: one
    // frame per such camera in each model call (rounds in frame order); other cameras all at once.
    std::vector<SourceItem*> rest = group;
    while (!rest.empty()) {
      std::vector<SourceItem*> round;
      std::vector<SourceItem*> later;
      std::set<pipeline::CameraHandle> following;
      for (SourceItem* item : rest) {
        const Camera& cam = *cameras_.at(item->camera);
        if (cam.config.persons.follow && !following.insert(item->camera).second) {
          later.push_back(item);
        } else {
          round.push_back(item);
        }
      }
      analyse_poses(*pm, round, touched);
      rest.swap(later);
    }
  }
  std::vector<models::ImageView> images;
  std::vector<float> features;
  for (auto& [bb, group] : by_model) {
    if (bb == nullptr) {  // features:// cameras: the frame is the feature row
      for (auto* f : group) {
        Camera& cam = *cameras_.at(f->camera);
        Subject& subj = *cam.frame_subject;
        if (f->frame.feature_dim != static_cast<int>(subj.ring.dim())) {
          count_inference_error("features", cam.config.uri + ": row of " + std::to_string(f->frame.feature_dim) +
                                                " values, the camera's models read " + std::to_string(subj.ring.dim()));
          continue;
        }
        frame_analysed(cam, f->frame);
        store_features(subj, f->frame, f->frame.features);
        shadow_step(cam, f->frame, f->frame.features);
        recognize(cam, subj);
        touched.insert({&cam, &subj});
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
      for (auto* f : group) close_segment(*cameras_.at(f->camera), config::EndReason::error);
      continue;
    }
    if (metrics_) {
      metrics_->observe("actiond_model_inference_seconds", {{"model", bb->manifest().name}}, seconds_since(began));
      metrics_->observe("actiond_model_batch_size", {{"model", bb->manifest().name}}, static_cast<double>(group.size()));
    }
    const std::size_t dim = static_cast<std::size_t>(bb->manifest().feature_dim);
    for (std::size_t i = 0; i < group.size(); ++i) {
      Camera& cam = *cameras_.at(group[i]->camera);
      frame_analysed(cam, group[i]->frame);
      store_features(*cam.frame_subject, group[i]->frame, features.data() + i * dim);
      shadow_step(cam, group[i]->frame, features.data() + i * dim);
      recognize(cam, *cam.frame_subject);  // per frame, so clips end exactly at the cadence
      touched.insert({&cam, cam.frame_subject.get()});
    }
    std::lock_guard lock(counters_mu_);
    counters_.frames += group.size();
    ++counters_.batches;
  }
  decide_batched(touched);
}

void InferenceLoop::frame_analysed(Camera& cam, const pipeline::Frame& fr) {
  cam.note_analysed(fr.pts);
  if (metrics_) metrics_->add("actiond_frames_analysed_total", {{"camera", cam.config.id}});
}

void InferenceLoop::store_features(Subject& subj, const pipeline::Frame& fr, const float* feature) {
  subj.ring.push(models::FeatureMeta{fr.pts, fr.time, fr.arrival}, feature);
  subj.streaming = true;
}

void InferenceLoop::recognize(Camera& cam, Subject& subj) {
  if (subj.recognizer == nullptr) return;
  const auto& m = subj.recognizer->manifest();
  const auto newest = subj.ring.meta_at(subj.ring.total_pushed() - 1);
  if (!newest) return;
  const auto& rc = cam.config.recognition;
  if (subj.last_recognition_pts && newest->pts - *subj.last_recognition_pts < rc.interval_s - 1e-9) return;
  std::vector<float> feats;
  std::vector<models::FeatureMeta> meta;
  subj.ring.latest(static_cast<std::size_t>(m.window), feats, &meta);
  if (meta.size() < static_cast<std::size_t>(m.window)) return;  // a full clip since the stream (re)started
  Recognition r;
  const auto began = std::chrono::steady_clock::now();
  try {
    subj.recognizer->run(feats.data(), static_cast<int>(meta.size()), r.probs);
  } catch (const models::ModelError& e) {
    count_inference_error("recognizer", e.what());
    return;
  }
  if (metrics_) metrics_->observe("actiond_model_inference_seconds", {{"model", m.name}}, seconds_since(began));
  subj.last_recognition_pts = newest->pts;
  if (*std::max_element(r.probs.begin(), r.probs.end()) < rc.min_confidence) return;
  r.start = FramePoint{meta.front().pts, meta.front().time};
  r.end = FramePoint{meta.back().pts, meta.back().time};
  r.frames = static_cast<int>(meta.size());
  r.labels = m.labels;
  r.model = m.name;
  r.top_k = rc.top_k;
  emit(cam, cam.events.recognition(r));
}

std::optional<InferenceLoop::Decision> InferenceLoop::prepare(Camera& cam, Subject& subj, bool final) {
  const auto& m = subj.segmenter->manifest();
  Decision d;
  d.cam = &cam;
  d.subj = &subj;
  d.start = subj.ring.latest(static_cast<std::size_t>(m.window), d.feats, &d.meta);
  if (d.meta.empty()) return std::nullopt;
  const std::uint64_t newest = d.start + d.meta.size() - 1;
  if (!final && newest < static_cast<std::uint64_t>(m.lookahead)) return std::nullopt;
  d.upto = final ? newest : newest - static_cast<std::uint64_t>(m.lookahead);
  if (subj.next_decide > d.upto) return std::nullopt;
  if (subj.next_decide < d.start) {
    std::lock_guard lock(counters_mu_);
    counters_.frames_skipped += d.start - subj.next_decide;
    cam.skipped += d.start - subj.next_decide;
    subj.next_decide = d.start;
  }
  return d;
}

void InferenceLoop::decide(Camera& cam, Subject& subj, bool final) {
  auto d = prepare(cam, subj, final);
  if (!d) return;
  models::SegmenterOutput out;
  const auto began = std::chrono::steady_clock::now();
  try {
    subj.segmenter->run(d->feats.data(), static_cast<int>(d->meta.size()), out);
  } catch (const models::ModelError& e) {
    count_inference_error("segmenter", e.what());
    fail_subject(cam, subj);
    return;
  }
  if (metrics_) {
    metrics_->observe("actiond_model_inference_seconds", {{"model", subj.segmenter->manifest().name}},
                      seconds_since(began));
  }
  apply(*d, out);
}

void InferenceLoop::decide_batched(const Touched& subjects) {
  // Subjects (cameras, persons) sharing a segmenter whose windows are full run as one batch; the
  // rest one by one.
  std::map<models::Segmenter*, std::vector<std::pair<Camera*, Subject*>>> by_model;
  for (const auto& cs : subjects) by_model[cs.second->segmenter].push_back(cs);
  for (auto& [seg, group] : by_model) {
    const auto& m = seg->manifest();
    std::vector<Decision> decisions;
    for (auto [cam, subj] : group) {
      if (group.size() < 2 || subj->ring.size() < static_cast<std::size_t>(m.window)) {
        decide(*cam, *subj, false);
      } else if (auto d = prepare(*cam, *subj, false)) {
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
      for (auto& d : decisions) fail_subject(*d.cam, *d.subj);
      continue;
    }
    if (metrics_) metrics_->observe("actiond_model_inference_seconds", {{"model", m.name}}, seconds_since(began));
    for (std::size_t i = 0; i < decisions.size(); ++i) apply(decisions[i], outs[i]);
  }
}

void InferenceLoop::apply(Decision& d, const models::SegmenterOutput& out) {
  Camera& cam = *d.cam;
  Subject& subj = *d.subj;
  const std::uint64_t start = d.start;
  const std::uint64_t upto = d.upto;
  const auto& meta = d.meta;
  std::vector<TrackerEvent> events;
  std::vector<float> last_probs;
  FramePoint last_at;
  // Pose repetition counting reads each decided frame's feature row (checked to be pose rows at load).
  const bool pose_rows = subj.tracker.config().repetition_source == config::RepetitionSource::pose;
  const auto dim = static_cast<std::size_t>(subj.segmenter->manifest().feature_dim);
  for (std::uint64_t i = subj.next_decide; i <= upto; ++i) {
    const std::size_t p = static_cast<std::size_t>(i - start);
    DecidedFrame df;
    df.at = FramePoint{meta[p].pts, meta[p].time};
    df.probs.assign(out.probs.begin() + static_cast<std::ptrdiff_t>(p * out.classes),
                    out.probs.begin() + static_cast<std::ptrdiff_t>((p + 1) * out.classes));
    df.boundary = out.boundary[p];
    if (!out.repetition.empty()) df.repetition = out.repetition[p];
    if (pose_rows) df.pose.assign(d.feats.begin() + static_cast<std::ptrdiff_t>(p * dim), d.feats.begin() + static_cast<std::ptrdiff_t>((p + 1) * dim));
    subj.tracker.push(df, events);
    last_probs.swap(df.probs);
    last_at = df.at;
  }
  subj.next_decide = upto + 1;
  for (const auto& ev : events) emit_for(cam, subj, cam.factory_of(subj).from_tracker(ev));
  if (subj.shadow) return;  // the latency and updates below are the camera's own
  // Processing latency: from the arrival of the frame that completed these decisions (the newest in
  // the window; the look-ahead wait before it is the model's, not the daemon's) to their events.
  if (metrics_) {
    metrics_->observe("actiond_frame_latency_seconds", {{"camera", cam.config.id}},
                      seconds_since(meta.back().arrival));
  }
  // Running confidence of an open segment, every update_interval_s of stream time.
  const auto open = subj.tracker.open_segment();
  const double every = subj.tracker.config().update_interval_s;
  if (!open || every <= 0) {
    subj.last_update_pts.reset();
  } else if (!subj.last_update_pts || open->id != subj.updated_segment) {
    subj.last_update_pts = last_at.pts;  // the segment was just published: its start is the first news
    subj.updated_segment = open->id;
  } else if (last_at.pts - *subj.last_update_pts >= every - 1e-9) {
    emit_for(cam, subj, cam.events.segment_update(*open, last_at, last_probs));
    subj.last_update_pts = last_at.pts;
  }
}

}  // namespace actiond::daemon
