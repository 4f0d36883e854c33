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
  std::vector<bool> cut(group.size(), false);  // the frame starts a new scene
  for (std::size_t i = 0; i < group.size(); ++i) {
    const auto& fr = group[i]->frame;
    Camera& cam = *cameras_.at(group[i]->camera);
    // One thumbnail of the frame for the scene cut and the gate (none when both are off).
    const Thumbnail thumb =
        cam.cuts->enabled() || cam.gate->enabled() ? grey_thumbnail(fr.data, fr.width, fr.height, fr.stride) : Thumbnail{};
    cut[i] = cam.cuts->cut(thumb, fr.data, fr.width, fr.height, fr.stride);  // in frame order, applied below
    const bool run = cam.gate->admit(thumb);
    if (metrics_) metrics_->add("actiond_pose_frames_total", {{"camera", cam.config.id}, {"result", run ? "ran" : "skipped"}});
    if (!run) continue;
    slot[i] = static_cast<int>(inputs.size());
    inputs.push_back({{fr.data, fr.width, fr.height, fr.stride}, fr.content, cam.persons->crop()});
  }
  std::vector<std::vector<models::PoseDetection>> found;
  const auto began = std::chrono::steady_clock::now();
  try {
    model.infer(inputs, 0.0f, found);
  } catch (const models::ModelError& e) {
    count_inference_error("pose", e.what());
    for (auto* item : group) end_people(*cameras_.at(item->camera), touched, config::EndReason::error);
    return;
  }
  if (metrics_ && !inputs.empty()) {
    metrics_->observe("actiond_model_inference_seconds", {{"model", model.manifest().name}}, seconds_since(began));
    metrics_->observe("actiond_model_batch_size", {{"model", model.manifest().name}}, static_cast<double>(inputs.size()));
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    Camera& cam = *cameras_.at(group[i]->camera);
    const auto& fr = group[i]->frame;
    if (cut[i]) end_scene(cam, touched);
    frame_analysed(cam, fr);
    if (slot[i] < 0) {
      coast_people(cam);
      continue;
    }
    const auto& persons = found[static_cast<std::size_t>(slot[i])];
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
  std::vector<PersonRow> rows;
  const auto dropped_before = cam.persons->tracker().counters().dropped_over_limit;
  cam.persons->update(found, {fr.pts, fr.width, fr.height, fr.content}, changes, rows);
  if (metrics_) {
    const auto& id = cam.config.id;
    const auto dropped = cam.persons->tracker().counters().dropped_over_limit - dropped_before;
    if (dropped > 0) {
      metrics_->add("actiond_person_detections_dropped_total", {{"camera", id}, {"reason", "max_tracks"}},
                    static_cast<double>(dropped));
    }
    metrics_->set("actiond_person_tracks", {{"camera", id}}, static_cast<double>(cam.persons->tracker().tracks().size()));
  }
  // Ended tracks first: their segments end, then the track (a new track may take their place).
  for (const auto& t : changes.ended) {
    auto it = cam.people.find(t.id);
    if (it != cam.people.end()) {
      touched.erase({&cam, it->second.get()});
      close_subject(cam, *it->second, config::EndReason::track_lost);
      cam.people.erase(it);
    }
    end_shadow_person(cam, t.id);
    emit(cam, cam.events.track_end(t, at, changes.end_reason));
  }
  for (const auto& t : changes.started) {
    emit(cam, cam.events.track_start(t, at));
    if (cam.segmenter != nullptr) cam.people[t.id] = std::make_unique<Subject>(cam.config, cam.segmenter, nullptr, t.id);
  }
  // Each person the model saw: their features into their ring.
  for (const auto& r : rows) {
    auto it = cam.people.find(r.track_id);
    const PersonTrack* t = cam.persons->track(r.track_id);
    if (it == cam.people.end() || t == nullptr) continue;
    Subject& subj = *it->second;
    subj.person = *t;
    subj.remember_pose(fr.pts, t->pose);
    store_features(subj, fr, r.row.data());
    touched.insert({&cam, &subj});
    if (Subject* shadow = shadow_person(cam, *t)) {  // the candidate on the same person's features
      shadow->remember_pose(fr.pts, t->pose);
      store_features(*shadow, fr, r.row.data());
      decide(cam, *shadow, false);
    }
  }
}

// A cut of the whole picture: nobody of the last scene is known to be here; their segments and tracks
// end where it ended (as `actiond extract` does), before this frame's detections are tracked.
void InferenceLoop::end_scene(Camera& cam, Touched& touched) {
  if (metrics_) metrics_->add("actiond_scene_cuts_total", {{"camera", cam.config.id}});
  end_people(cam, touched, config::EndReason::scene_change);
}

void InferenceLoop::end_people(Camera& cam, Touched& touched, config::EndReason reason) {
  for (auto it = touched.begin(); it != touched.end();) it = it->first == &cam ? touched.erase(it) : std::next(it);
  close_segment(cam, reason);
}

// A frame the gate skipped: tracks move on by their velocity (so the next detections match), but no
// features are stored: a person's segmenter reads only poses the model saw.
void InferenceLoop::coast_people(Camera& cam) { cam.persons->coast(); }

}  // namespace actiond::daemon
