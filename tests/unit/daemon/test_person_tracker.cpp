#include "actiond/daemon/analysis/person_tracker.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace actiond;
using daemon::PersonTracker;
using daemon::TrackChanges;

namespace {

// A standing person whose box is (cx - w/2, top) .. (cx + w/2, top + h), keypoints spread over it.
models::PoseDetection person(float cx, float top, float w, float h, float score = 0.8f) {
  models::PoseDetection d;
  d.box = {cx - w / 2, top, cx + w / 2, top + h};
  d.score = score;
  for (int k = 0; k < models::kPoseKeypoints; ++k) {
    const float side = (k % 2 == 0) ? -0.25f : 0.25f;
    d.keypoints[static_cast<std::size_t>(k)] = {cx + side * w, top + h * (0.05f + 0.9f * static_cast<float>(k) / 16.0f), 0.9f};
  }
  return d;
}

config::PersonTrackingConfig cfg(int birth = 3, int death = 10, int max_tracks = 10) {
  config::PersonTrackingConfig c;
  c.birth_frames = birth;
  c.death_frames = death;
  c.max_tracks = max_tracks;
  return c;
}

// The id of the confirmed track whose box centre is nearest x.
std::uint64_t id_near(const PersonTracker& t, float x) {
  std::uint64_t best = 0;
  float dist = 1e9f;
  for (const auto& tr : t.tracks()) {
    const float c = (tr.pose.box[0] + tr.pose.box[2]) / 2;
    if (tr.confirmed && std::abs(c - x) < dist) {
      dist = std::abs(c - x);
      best = tr.id;
    }
  }
  return best;
}

}  // namespace

TEST_CASE("assignment is optimal, not greedy by order", "[person_tracker]") {
  // Greedy row by row takes (0,0),(1,1),(2,2) = 14; the optimum is (0,2),(1,1),(2,0) = 10.
  const std::vector<double> cost = {1, 2, 3, 2, 4, 6, 3, 6, 9};
  CHECK(daemon::assign_min_cost(cost, 3, 3, 100) == std::vector<int>{2, 1, 0});
  // Pairs above max_cost stay unassigned; rectangular matrices work both ways.
  CHECK(daemon::assign_min_cost({0.1, 0.95, 0.9, 0.97}, 2, 2, 0.5) == std::vector<int>{0, -1});
  CHECK(daemon::assign_min_cost({0.5, 0.1, 0.3}, 1, 3, 1.0) == std::vector<int>{1});
  CHECK(daemon::assign_min_cost({0.5, 0.1, 0.3}, 3, 1, 1.0) == std::vector<int>{-1, 0, -1});
  CHECK(daemon::assign_min_cost({}, 0, 4, 1.0).empty());
}

TEST_CASE("two people crossing keep their ids", "[person_tracker]") {
  PersonTracker t(cfg());
  TrackChanges ch;
  std::uint64_t left_walker = 0;
  std::uint64_t right_walker = 0;
  std::set<std::uint64_t> started;
  for (int f = 0; f <= 30; ++f) {
    const float a = 0.1f + 0.027f * static_cast<float>(f);  // walks right
    const float b = 0.9f - 0.027f * static_cast<float>(f);  // walks left
    ch = {};
    t.update({person(a, 0.20f, 0.12f, 0.6f), person(b, 0.25f, 0.10f, 0.5f)}, f * 0.2, ch);
    for (const auto& s : ch.started) started.insert(s.id);
    CHECK(ch.ended.empty());
    if (f == 3) {
      left_walker = id_near(t, a);
      right_walker = id_near(t, b);
    }
    if (f > 3 && std::abs(a - b) > 0.05f) {
      CHECK(id_near(t, a) == left_walker);
      CHECK(id_near(t, b) == right_walker);
    }
  }
  CHECK(started.size() == 2);
  CHECK(left_walker != right_walker);
  CHECK(left_walker != 0);
}

TEST_CASE("a person occluded for a few frames keeps the id", "[person_tracker]") {
  PersonTracker t(cfg(3, 10));
  TrackChanges ch;
  std::uint64_t id = 0;
  for (int f = 0; f < 40; ++f) {
    const float x = 0.2f + 0.015f * static_cast<float>(f);
    std::vector<models::PoseDetection> dets;
    if (f < 15 || f >= 21) dets.push_back(person(x, 0.2f, 0.1f, 0.5f));  // hidden for 6 frames
    ch = {};
    t.update(dets, f * 0.2, ch);
    CHECK(ch.ended.empty());
    if (f == 5) id = t.tracks().at(0).id;
    if (f >= 21) {
      REQUIRE(t.tracks().size() == 1);
      CHECK(t.tracks()[0].id == id);
    }
  }
}

TEST_CASE("births need consecutive frames and deaths come after the missed frames", "[person_tracker]") {
  PersonTracker t(cfg(3, 4));
  TrackChanges ch;
  // A one-frame flicker never becomes a track.
  t.update({person(0.5f, 0.2f, 0.1f, 0.5f)}, 0.0, ch);
  t.update({}, 0.2, ch);
  CHECK(ch.started.empty());
  CHECK(t.tracks().empty());
  CHECK(t.counters().tentative_discarded == 1);
  // Three frames in a row: started on the third.
  for (int f = 0; f < 3; ++f) {
    ch = {};
    t.update({person(0.5f, 0.2f, 0.1f, 0.5f)}, 1.0 + f * 0.2, ch);
    CHECK(ch.started.size() == (f == 2 ? 1u : 0u));
  }
  const auto id = t.tracks().at(0).id;
  // Missed 4 frames: still there; the 5th miss ends it.
  for (int f = 0; f < 5; ++f) {
    ch = {};
    t.update({}, 2.0 + f * 0.2, ch);
    if (f < 4) {
      CHECK(ch.ended.empty());
    } else {
      REQUIRE(ch.ended.size() == 1);
      CHECK(ch.ended[0].id == id);
      CHECK(ch.end_reason == actiond::config::EndReason::lost);
    }
  }
  CHECK(t.tracks().empty());
  // Low-scoring detections are ignored.
  ch = {};
  for (int f = 0; f < 5; ++f) t.update({person(0.5f, 0.2f, 0.1f, 0.5f, 0.1f)}, 3.0 + f * 0.2, ch);
  CHECK(ch.started.empty());
}

TEST_CASE("tracks per camera are bounded and every started track ends", "[person_tracker]") {
  PersonTracker t(cfg(1, 10, 3));
  TrackChanges ch;
  std::vector<models::PoseDetection> five;
  for (int i = 0; i < 5; ++i) five.push_back(person(0.1f + 0.2f * static_cast<float>(i), 0.2f, 0.08f, 0.4f));
  t.update(five, 0.0, ch);
  CHECK(ch.started.size() == 3);
  CHECK(t.tracks().size() == 3);
  CHECK(t.counters().dropped_over_limit == 2);
  t.update(five, 0.2, ch);
  CHECK(t.counters().dropped_over_limit == 4);
  TrackChanges end;
  t.end_all(actiond::config::EndReason::source_lost, end);
  CHECK(end.ended.size() == 3);
  CHECK(end.end_reason == actiond::config::EndReason::source_lost);
  CHECK(t.tracks().empty());
}

TEST_CASE("tracks coast through frames the pose model skipped", "[person_tracker]") {
  // A fast walker seen in 1 frame of 5 (the motion gate's max_skip 4): each detection is 4 steps
  // from the last one, too far to match without moving the track on by its velocity meanwhile.
  PersonTracker t(cfg(2, 3));
  TrackChanges ch;
  std::set<std::uint64_t> ids;
  for (int f = 0; f < 40; ++f) {
    const float x = 0.1f + 0.02f * static_cast<float>(f);
    ch = {};
    if (f < 4 || f % 5 == 0) {
      t.update({person(x, 0.2f, 0.05f, 0.3f)}, f * 0.2, ch);
    } else {
      t.coast();
      REQUIRE(t.tracks().size() == 1);
      CHECK(std::abs((t.tracks()[0].pose.box[0] + t.tracks()[0].pose.box[2]) / 2 - x) < 0.01f);
    }
    CHECK(ch.ended.empty());
    for (const auto& s : ch.started) ids.insert(s.id);
  }
  CHECK(ids.size() == 1);
}
