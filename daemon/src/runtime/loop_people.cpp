// The inference loop's steps for pose cameras (loop thread only): one pose-model call per model for
// all its cameras' frames, person tracks per camera, and each confirmed person's pose features into
// that person's ring (their segmenter windows are then batched with everyone else's).
#include "actiond/daemon/runtime/inference_loop.hpp"

#include "runtime/loop_camera.hpp"

namespace actiond::daemon {

using pipeline::SourceItem;

void InferenceLoop::analyse_poses(models::PoseModel& model, const std::vector<SourceItem*>& group, Touched& touched) {
  // The gate picks the frames that run the model; on the others the camera's tracks coast.
  std::vector<models::PoseInput> inputs;
  std::vector<int> slot(group.size(), -1);  // index into inputs, -1: skipped by the gate
  for (std::size_t i = 0; i < group.size(); ++i) {
    const auto& fr = group[i]->frame;
    Camera& cam = *cameras_.at(group[i]->camera);
    const bool run = cam.gate->admit(fr.data, fr.width, fr.height, fr.stride);
    if (metrics_) metrics_->add("actiond_pose_frames_total", {{"camera", cam.config.id}, {"result", run ? "ran" : "skipped"}});
    if (!run) continue;
    slot[i] = static_cast<int>(inputs.size());
    inputs.push_back({{fr.data, fr.width, fr.height, fr.stride}, fr.content, cam.crop});
  }
  std::vector<std::vector<models::PoseDetection>> found;
  const auto began = std::chrono::steady_clock::now();
  try {
    model.infer(inputs, 0.0f, found);
  } catch (const models::ModelError& e) {
    count_inference_error("pose", e.what());
    return;
  }
  if (metrics_ && !inputs.empty()) {
    metrics_->observe("actiond_model_inference_seconds", {{"model", model.manifest().name}}, seconds_since(began));
    metrics_->observe("actiond_model_batch_size", {{"model", model.manifest().name}}, static_cast<double>(inputs.size()));
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    Camera& cam = *cameras_.at(group[i]->camera);
    const auto& fr = group[i]->frame;
    frame_analysed(cam, fr);
    if (slot[i] < 0) {
      coast_people(cam);
      continue;
    }
    const auto& persons = found[static_cast<std::size_t>(slot[i])];
    if (cam.config.persons.follow) {
      const bool seen = !persons.empty() && persons.front().score >= cam.config.persons.min_score;
      cam.crop = follow_crop(seen ? &persons.front() : nullptr, fr.content, fr.width, fr.height,
                             static_cast<float>(cam.config.persons.min_keypoint_score));
    }
    track_people(cam, fr, persons, touched);
  }
  std::lock_guard lock(counters_mu_);
  counters_.frames += group.size();
  ++counters_.batches;
}

void InferenceLoop::track_people(Camera& cam, const pipeline::Frame& fr, const std::vector<models::PoseDetection>& found,
                                 Touched& touched) {
  const FramePoint at{fr.pts, fr.time};
  TrackChanges changes;
  const auto dropped_before = cam.persons->counters().dropped_over_limit;
  cam.persons->update(found, fr.pts, changes);
  if (metrics_) {
    const auto& id = cam.config.id;
    const auto dropped = cam.persons->counters().dropped_over_limit - dropped_before;
    if (dropped > 0) {
      metrics_->add("actiond_person_detections_dropped_total", {{"camera", id}, {"reason", "max_tracks"}},
                    static_cast<double>(dropped));
    }
    metrics_->set("actiond_person_tracks", {{"camera", id}}, static_cast<double>(cam.persons->tracks().size()));
  }
  // Ended tracks first: their segments end, then the track (a new track may take their place).
  for (const auto& t : changes.ended) {
    auto it = cam.people.find(t.id);
    if (it != cam.people.end()) {
      touched.erase({&cam, it->second.get()});
      close_subject(cam, *it->second, "track_lost");
      cam.people.erase(it);
    }
    emit(cam, cam.events.track(t, at, changes.end_reason));
  }
  for (const auto& t : changes.started) {
    emit(cam, cam.events.track(t, at));
    if (cam.segmenter != nullptr) cam.people[t.id] = std::make_unique<Subject>(cam.config, cam.segmenter, nullptr, t.id);
  }
  store_people(cam, fr, touched);
}

// A frame the gate skipped: tracks move on by their velocity (so the next detections match), but no
// features are stored: a person's segmenter reads only poses the model saw.
void InferenceLoop::coast_people(Camera& cam) { cam.persons->coast(); }

void InferenceLoop::store_people(Camera& cam, const pipeline::Frame& fr, Touched& touched) {
  if (cam.segmenter == nullptr) return;
  // Pixel aspect of the picture inside the letterboxed input: keypoints in square units.
  const float aspect = fr.content[3] > 0 && fr.height > 0
                           ? (fr.content[2] * static_cast<float>(fr.width)) / (fr.content[3] * static_cast<float>(fr.height))
                           : 1.0f;
  for (const auto& t : cam.persons->tracks()) {
    if (!t.confirmed || !t.matched_now) continue;
    auto it = cam.people.find(t.id);
    if (it == cam.people.end()) continue;
    Subject& subj = *it->second;
    subj.person = t;
    const PoseFeatureRow row = pose_features(t.pose, aspect, static_cast<float>(cam.config.persons.min_keypoint_score),
                                             subj.last_row ? &*subj.last_row : nullptr);
    store_features(subj, fr, row.data());
    subj.last_row = row;
    touched.insert({&cam, &subj});
  }
}

}  // namespace actiond::daemon
