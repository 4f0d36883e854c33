// The inference loop's analysis steps (loop thread only): batched backbone calls, the features
// ring, segmenter windows (batched across cameras where full), tracker decisions and recognitions.
#include "actiond/daemon/runtime/inference_loop.hpp"

#include "runtime/loop_camera.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace actiond::daemon {

using pipeline::SourceItem;

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

}  // namespace actiond::daemon
