#include "actiond/daemon/analysis/person_analysis.hpp"

namespace actiond::daemon {

void PersonAnalysis::update(const std::vector<models::PoseDetection>& found, const PoseFrameInfo& frame,
                            TrackChanges& changes, std::vector<PersonRow>& rows) {
  tracker_.update(found, frame.pts, changes);
  for (const auto& t : changes.ended) last_rows_.erase(t.id);
  const auto min_kp = static_cast<float>(cfg_.min_keypoint_score);
  if (cfg_.follow) {
    const bool seen = !found.empty() && found.front().score >= cfg_.min_score;
    crop_ = follow_crop(seen ? &found.front() : nullptr, frame.content, frame.width, frame.height, min_kp);
  }
  // Pixel aspect of the picture inside the letterboxed input: keypoints in square units.
  const auto& c = frame.content;
  const float aspect = c[3] > 0 && frame.height > 0
                           ? (c[2] * static_cast<float>(frame.width)) / (c[3] * static_cast<float>(frame.height))
                           : 1.0f;
  for (const auto& t : tracker_.tracks()) {
    if (!t.confirmed || !t.matched_now) continue;
    auto prev = last_rows_.find(t.id);
    PersonRow r{t.id, pose_features(t.pose, aspect, min_kp, prev == last_rows_.end() ? nullptr : &prev->second)};
    last_rows_[t.id] = r.row;
    rows.push_back(r);
  }
}

void PersonAnalysis::end_all(config::EndReason reason, TrackChanges& changes) {
  tracker_.end_all(reason, changes);
  last_rows_.clear();
  crop_ = {0.0f, 0.0f, 1.0f, 1.0f};
}

const PersonTrack* PersonAnalysis::track(std::uint64_t id) const {
  for (const auto& t : tracker_.tracks()) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

}  // namespace actiond::daemon
