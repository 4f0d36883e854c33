// Shadow mode (loop thread): a candidate segmenter tried beside a camera's own, never journaled.
#include "actiond/daemon/runtime/inference_loop.hpp"

#include "actiond/daemon/io/metrics.hpp"
#include "actiond/daemon/io/publisher.hpp"
#include "runtime/loop_camera.hpp"

#include <future>

namespace actiond::daemon {

std::string InferenceLoop::set_shadow(const std::string& camera, std::shared_ptr<models::Segmenter> candidate) {
  auto why = std::make_shared<std::string>();
  post([this, camera, candidate, why] {
    Camera* cam = nullptr;
    for (auto& [handle, c] : cameras_) {
      if (c->config.id == camera) cam = c.get();
    }
    if (cam == nullptr) {
      *why = "no running camera '" + camera + "'";
      return;
    }
    if (cam->segmenter == nullptr) {
      *why = "camera '" + camera + "' has no segmenter to try a candidate beside";
      return;
    }
    if (cam->shadow) close_subject(*cam, *cam->shadow, config::EndReason::reconfigured);
    for (auto& [id, subj] : cam->shadow_people) close_subject(*cam, *subj, config::EndReason::reconfigured);
    cam->shadow.reset();
    cam->shadow_people.clear();
    cam->shadow_events.reset();
    cam->shadow_model = candidate;
    if (!candidate) return;
    const auto& m = candidate->manifest();
    const int dim = cam->segmenter->manifest().feature_dim;
    if (m.feature_dim != dim) {
      *why = "the candidate reads features of dimension " + std::to_string(m.feature_dim) + ", camera '" + camera +
             "' gives " + std::to_string(dim);
      cam->shadow_model.reset();
      return;
    }
    if (cam->frame_subject) {  // pose cameras: a shadow subject per person, as their tracks come (shadow_person)
      cam->shadow = std::make_unique<Subject>(cam->config, candidate.get(), nullptr, 0);
      cam->shadow->shadow = true;
    }
    cam->shadow_events = std::make_unique<EventFactory>(
        cam->config.id, m.labels, 0, cam->events.epoch(), Camera::models_json({&m}));
  }, true);
  return *why;
}

void InferenceLoop::shadow_step(Camera& cam, const pipeline::Frame& frame, const float* feature) {
  if (!cam.shadow) return;
  store_features(*cam.shadow, frame, feature);
  decide(cam, *cam.shadow, false);
}

InferenceLoop::Subject* InferenceLoop::shadow_person(Camera& cam, const PersonTrack& track) {
  if (!cam.shadow_model) return nullptr;
  auto& subj = cam.shadow_people[track.id];
  if (!subj) {
    subj = std::make_unique<Subject>(cam.config, cam.shadow_model.get(), nullptr, track.id);
    subj->shadow = true;
  }
  subj->person = track;
  return subj.get();
}

void InferenceLoop::end_shadow_person(Camera& cam, std::uint64_t track_id) {
  auto it = cam.shadow_people.find(track_id);
  if (it == cam.shadow_people.end()) return;
  close_subject(cam, *it->second, config::EndReason::track_lost);
  cam.shadow_people.erase(it);
}

void InferenceLoop::emit_shadow(Camera& cam, const Event& event) {
  const std::string type(config::to_string(event.type));
  auto body = daemon::to_json(event);
  body["shadow"] = true;
  if (metrics_) metrics_->add("actiond_shadow_events_total", {{"camera", cam.config.id}, {"type", type}});
  publisher_.publish_unjournaled(cam.config.id + "/shadow." + type, body.dump());
  if (shadow_observer_) shadow_observer_(cam.config.id, body);
}

}  // namespace actiond::daemon
