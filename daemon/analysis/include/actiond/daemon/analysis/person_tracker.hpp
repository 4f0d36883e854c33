#pragma once
// Person tracks of one camera from per-frame pose detections.
//
//   PersonTracker tracks(cfg);
//   tracks.update(detections, pts, out);   // out.started / out.ended: tracks born / ended this frame
//   for (const auto& t : tracks.tracks()) if (t.confirmed) ...;
//   tracks.end_all(EndReason::eos, out);            // every confirmed track that started ends
//
// Matching is a minimum-cost assignment (Hungarian method) on 1 - similarity between each track's
// predicted pose (constant velocity) and each detection, where similarity is the mean of box IoU and
// object keypoint similarity (COCO's OKS); pairs below `min_similarity` never match. A detection
// nobody matches starts a tentative track; `birth_frames` hits in a row confirm it (track.start);
// a confirmed track missed for more than `death_frames` frames ends ("lost"). Tracks per camera are
// bounded by `max_tracks`: a detection that would exceed it is dropped and counted.
//
// Thread-safety: none; owned by the inference loop thread (one per camera).
#include "actiond/config/config.hpp"
#include "actiond/config/event_kinds.hpp"
#include "actiond/models/models.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace actiond::daemon {

struct PersonTrack {
  std::uint64_t id = 0;              // per camera from 1 when confirmed (0 while tentative), never reused
  bool confirmed = false;
  int hits = 0;                      // frames matched in a row (tentative) or in total (confirmed)
  int misses = 0;                    // frames missed in a row
  double first_pts = 0.0;            // first detection
  double last_pts = 0.0;             // last matched detection
  models::PoseDetection pose;        // latest pose: the last detection, moved by `velocity` when coasting
  models::PoseDetection detected;    // last matched detection
  int coasted = 0;                   // frames since it that the model did not see (coast())
  double score_sum = 0.0;            // of the matched detections' scores (mean = score_sum / hits)
  std::array<float, 2> velocity{};   // box centre motion per analysed frame (x, y)
  bool matched_now = false;          // matched in the latest update
};

struct TrackChanges {
  std::vector<PersonTrack> started;  // confirmed in this update
  std::vector<PersonTrack> ended;    // ended in this update (copy of the final state)
  config::EndReason end_reason = config::EndReason::lost;  // lost from update(); the caller's from end_all()
};

struct PersonTrackerCounters {
  std::uint64_t dropped_over_limit = 0;  // detections not tracked because max_tracks were in use
  std::uint64_t tentative_discarded = 0; // tentative tracks missed before confirmation
};

class PersonTracker {
 public:
  explicit PersonTracker(config::PersonTrackingConfig cfg) : cfg_(cfg) {}

  void update(const std::vector<models::PoseDetection>& detections, double pts, TrackChanges& out);
  // A frame the pose model did not see (the motion gate skipped it): every track moves on by its
  // velocity; nothing is born, missed or ends. The next update() predicts from the last detection.
  void coast();
  // Ends every confirmed track (source lost, shutdown, reload); forgets tentative ones.
  void end_all(config::EndReason reason, TrackChanges& out);

  const std::vector<PersonTrack>& tracks() const { return tracks_; }
  const PersonTrackerCounters& counters() const { return counters_; }

 private:
  config::PersonTrackingConfig cfg_;
  std::vector<PersonTrack> tracks_;
  std::uint64_t next_id_ = 1;
  PersonTrackerCounters counters_;
};

// Similarity (0..1) of two poses: mean of box IoU and OKS over keypoints both see with score >= min_kp.
double pose_similarity(const models::PoseDetection& a, const models::PoseDetection& b, float min_kp);

// Minimum-cost assignment of rows to columns of a rows x cols matrix (row-major); result[r] is the
// column of row r or -1. Pairs with cost > max_cost are never assigned.
std::vector<int> assign_min_cost(const std::vector<double>& cost, int rows, int cols, double max_cost);

}  // namespace actiond::daemon
