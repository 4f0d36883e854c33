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
    if (!cam->frame_subject) {
      *why = "camera '" + camera + "' decides per person (pose) or has no segmenter; shadow models run on "
             "whole-frame cameras";
      return;
    }
    if (cam->shadow) close_subject(*cam, *cam->shadow, config::EndReason::reconfigured);
    cam->shadow.reset();
    cam->shadow_events.reset();
    cam->shadow_model = candidate;
    if (!candidate) return;
    const auto& m = candidate->manifest();
    if (m.feature_dim != static_cast<int>(cam->frame_subject->ring.dim())) {
      *why = "the candidate reads features of dimension " + std::to_string(m.feature_dim) + ", camera '" + camera +
             "' gives " + std::to_string(cam->frame_subject->ring.dim());
      cam->shadow_model.reset();
      return;
    }
    cam->shadow = std::make_unique<Subject>(cam->config, candidate.get(), nullptr, 0);
    cam->shadow->shadow = true;
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

void InferenceLoop::emit_shadow(Camera& cam, const Event& event) {
  const std::string type(config::to_string(event.type));
  auto body = daemon::to_json(event);
  body["shadow"] = true;
  if (metrics_) metrics_->add("actiond_shadow_events_total", {{"camera", cam.config.id}, {"type", type}});
  publisher_.publish_unjournaled(cam.config.id + "/shadow." + type, body.dump());
  if (shadow_observer_) shadow_observer_(cam.config.id, body);
}

}  // namespace actiond::daemon
