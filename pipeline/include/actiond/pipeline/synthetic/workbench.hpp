#pragma once
// The workbench world: a deterministic (by seed) top-down view of a work table where a hand performs
// scripted activities (make a drink, clean up, prepare a box), frame by frame, with the true action
// label of every frame. It feeds both the built-in live camera `synthetic://workbench?seed=N` and the
// offline benchmark written by `actiond world`.
//
//   WorkbenchWorld world({.seed = 7});
//   std::vector<uint8_t> rgb(world.width() * world.height() * 3);
//   int label = world.next_frame(rgb.data());   // index into WorkbenchWorld::labels()
//
// Look-alike actions differ by motion only: take_* vs put_back_* (same hand and object, opposite
// direction), open_box vs close_box (the lid slides one way or the other), stir vs wipe (circular vs
// back-and-forth strokes). Each video varies object positions and colours, durations and speeds,
// lighting, camera shake, sensor noise and passing occlusions.
//
// Thread-safety: an instance is used by one thread.
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace actiond::pipeline {

struct WorkbenchOptions {
  std::uint64_t seed = 1;
  int width = 320;
  int height = 240;
  double fps = 25.0;
  int activities = 0;  // 0 = endless (live camera); otherwise stop after this many activities
};

class WorkbenchWorld {
 public:
  explicit WorkbenchWorld(WorkbenchOptions options);

  static const std::vector<std::string>& labels();  // [0] = "background"
  int width() const { return opt_.width; }
  int height() const { return opt_.height; }
  double fps() const { return opt_.fps; }
  // True once a finite world has played all its activities (and a short final rest).
  bool finished() const;
  // Renders the next frame (RGB24, width*height*3 bytes, no padding) and returns its label.
  int next_frame(std::uint8_t* rgb);

 private:
  struct Vec {
    double x = 0;
    double y = 0;
  };
  struct Step {
    int label = 0;       // action, or 0 for a movement/rest of the empty hand
    int frames = 1;
    Vec from;            // hand path start and end (normalised 0..1 table coordinates)
    Vec to;
  };
  struct Scene;

  void plan_activity();
  void add_move(const Vec& to, double seconds);
  void add_action(int label, const Vec& from, const Vec& to, double seconds);
  void render(std::uint8_t* rgb, const Step& step, double progress);
  double uniform(double lo, double hi);

  WorkbenchOptions opt_;
  std::mt19937_64 rng_;
  std::deque<Step> steps_;
  Step current_;
  int frame_in_step_ = 0;
  int activities_done_ = 0;
  long frame_ = 0;
  Vec hand_;
  std::shared_ptr<Scene> scene_;
};

}  // namespace actiond::pipeline
