#pragma once
// One pose camera's person analysis, shared by the daemon's inference loop and `actiond extract`, so
// training reads exactly the features serving computes:
//
//   PersonAnalysis people(cfg);
//   const auto& input_crop = people.crop();           // where a following single-person model reads next
//   people.update(detections, frame_info, changes, rows);  // tracks born/ended, features of people seen
//   people.coast();                                    // a frame the gate skipped
//
// It owns the PersonTracker, the follow crop (`persons.follow`) and each confirmed person's previous
// feature row (for velocities). A person's rows are those of the frames where the model saw them.
//
// Thread-safety: none; owned by one thread (the loop thread, per camera; or the extract command).
#include "actiond/daemon/analysis/person_tracker.hpp"
#include "actiond/daemon/analysis/pose_features.hpp"

#include <array>
#include <map>
#include <vector>

namespace actiond::daemon {

// What of the analysed frame matters here: its time, size and where the picture lies inside it.
struct PoseFrameInfo {
  double pts = 0.0;
  int width = 0;
  int height = 0;
  std::array<float, 4> content{0.0f, 0.0f, 1.0f, 1.0f};
};

struct PersonRow {
  std::uint64_t track_id = 0;
  PoseFeatureRow row{};
};

// Pose cameras decode frames at the model input times this: following a person (persons.follow), the
// model reads a crop of frames at twice its input.
inline int pose_frame_scale(const config::PersonTrackingConfig& cfg) { return cfg.follow ? 2 : 1; }

class PersonAnalysis {
 public:
  explicit PersonAnalysis(config::PersonTrackingConfig cfg) : cfg_(cfg), tracker_(cfg) {}

  // Detections of a frame the model saw: updates the tracks (changes: started/ended), then the follow
  // crop, then appends the feature row of every confirmed track matched in this frame to `rows`.
  void update(const std::vector<models::PoseDetection>& found, const PoseFrameInfo& frame, TrackChanges& changes,
              std::vector<PersonRow>& rows);
  void coast() { tracker_.coast(); }
  // Ends every track (see PersonTracker::end_all) and forgets the crop and previous rows.
  void end_all(config::EndReason reason, TrackChanges& changes);

  const std::array<float, 4>& crop() const { return crop_; }
  const PersonTracker& tracker() const { return tracker_; }
  const PersonTrack* track(std::uint64_t id) const;

 private:
  config::PersonTrackingConfig cfg_;
  PersonTracker tracker_;
  std::array<float, 4> crop_{0.0f, 0.0f, 1.0f, 1.0f};
  std::map<std::uint64_t, PoseFeatureRow> last_rows_;
};

}  // namespace actiond::daemon
