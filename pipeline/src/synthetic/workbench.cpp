#include "actiond/pipeline/synthetic/workbench.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace actiond::pipeline {

namespace {

constexpr double kPi = 3.14159265358979323846;

enum Label : int {
  kBackground = 0,
  kTakeBottle,
  kPour,
  kPutBackBottle,
  kTakeSpoon,
  kStir,
  kPutBackSpoon,
  kWipe,
  kOpenBox,
  kCloseBox,
  kCut,
};

using Rgb = std::array<double, 3>;

double ease(double p) { return p * p * (3 - 2 * p); }  // smoothstep: hands accelerate and slow down

}  // namespace

struct WorkbenchWorld::Scene {
  Vec bottle, cup, spoon, cloth, box, board, rest;
  Vec lid_offset;
  Rgb table, bottle_c, cup_c, spoon_c, cloth_c, box_c, lid_c, board_c, knife_c, skin, liquid;
  double light_base = 1.0;
  double light_period = 8.0;
  double shake = 1.0;    // pixels
  double noise = 4.0;    // sigma, 0..255
  double speed = 1.0;
  bool lid_open = false;
  double cup_fill = 0.0;
  std::vector<float> noise_table;
  // A passing occluder (someone's arm), in frames.
  long occluder_start = -1;
  long occluder_frames = 0;
  Vec occluder_from, occluder_to;
};

const std::vector<std::string>& WorkbenchWorld::labels() {
  static const std::vector<std::string> names = {"background", "take_bottle", "pour",     "put_back_bottle",
                                                 "take_spoon", "stir",        "put_back_spoon", "wipe",
                                                 "open_box",   "close_box",   "cut"};
  return names;
}

double WorkbenchWorld::uniform(double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0));
}

WorkbenchWorld::WorkbenchWorld(WorkbenchOptions options) : opt_(options), rng_(options.seed * 0x9E3779B97F4A7C15ULL + 1) {
  auto s = std::make_shared<Scene>();
  auto jitter = [&](double x, double y) { return Vec{x + uniform(-0.05, 0.05), y + uniform(-0.05, 0.05)}; };
  auto colour = [&](double r, double g, double b, double spread) {
    return Rgb{std::clamp(r + uniform(-spread, spread), 0.0, 255.0), std::clamp(g + uniform(-spread, spread), 0.0, 255.0),
               std::clamp(b + uniform(-spread, spread), 0.0, 255.0)};
  };
  s->bottle = jitter(0.18, 0.25);
  s->cup = jitter(0.48, 0.42);
  s->spoon = jitter(0.70, 0.50);
  s->cloth = jitter(0.22, 0.72);
  s->box = jitter(0.78, 0.20);
  s->board = jitter(0.74, 0.76);
  s->rest = jitter(0.50, 0.88);
  s->lid_offset = Vec{uniform(-0.18, -0.12), uniform(0.08, 0.14)};
  s->table = colour(150, 120, 90, 35);
  s->bottle_c = colour(40, 120, 60, 40);
  s->cup_c = colour(230, 230, 235, 20);
  s->spoon_c = colour(180, 180, 190, 25);
  s->cloth_c = colour(200, 80, 80, 50);
  s->box_c = colour(90, 70, 160, 40);
  s->lid_c = colour(120, 100, 190, 40);
  s->board_c = colour(200, 170, 120, 30);
  s->knife_c = colour(60, 60, 70, 20);
  s->skin = colour(225, 175, 140, 25);
  s->liquid = colour(120, 60, 30, 30);
  s->light_base = uniform(0.75, 1.2);
  s->light_period = uniform(5.0, 15.0);
  s->shake = uniform(0.0, 2.5);
  s->noise = uniform(1.0, 8.0);
  s->speed = uniform(0.8, 1.25);
  s->noise_table.resize(std::max<std::size_t>(1 << 18, static_cast<std::size_t>(opt_.width) * opt_.height * 3 * 2));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& v : s->noise_table) v = nd(rng_);
  scene_ = s;
  hand_ = s->rest;
  current_ = Step{kBackground, static_cast<int>(opt_.fps * uniform(0.5, 1.5)), hand_, hand_};
}

bool WorkbenchWorld::finished() const {
  return opt_.activities > 0 && activities_done_ >= opt_.activities && steps_.empty() &&
         frame_in_step_ >= current_.frames;
}

void WorkbenchWorld::add_move(const Vec& to, double seconds) {
  const Vec from = steps_.empty() ? hand_ : steps_.back().to;
  steps_.push_back(Step{kBackground, std::max(1, static_cast<int>(seconds * opt_.fps)), from, to});
}

void WorkbenchWorld::add_action(int label, const Vec& from, const Vec& to, double seconds) {
  add_move(from, uniform(0.4, 1.0) / scene_->speed);
  steps_.push_back(Step{label, std::max(2, static_cast<int>(seconds / scene_->speed * opt_.fps)), from, to});
}

void WorkbenchWorld::plan_activity() {
  const Scene& s = *scene_;
  const Vec pour_at{s.cup.x - 0.09, s.cup.y - 0.06};
  auto act = [&](int label) {
    switch (label) {
      case kTakeBottle: add_action(label, s.bottle, pour_at, uniform(1.5, 3.0)); break;
      case kPour: add_action(label, pour_at, pour_at, uniform(2.0, 4.0)); break;
      case kPutBackBottle: add_action(label, pour_at, s.bottle, uniform(1.5, 3.0)); break;
      case kTakeSpoon: add_action(label, s.spoon, s.cup, uniform(1.2, 2.5)); break;
      case kStir: add_action(label, s.cup, s.cup, uniform(2.0, 4.0)); break;
      case kPutBackSpoon: add_action(label, s.cup, s.spoon, uniform(1.2, 2.5)); break;
      case kWipe: add_action(label, s.cloth, s.cloth, uniform(2.0, 4.5)); break;
      case kOpenBox: add_action(label, s.box, Vec{s.box.x + s.lid_offset.x, s.box.y + s.lid_offset.y}, uniform(1.5, 3.0)); break;
      case kCloseBox: add_action(label, Vec{s.box.x + s.lid_offset.x, s.box.y + s.lid_offset.y}, s.box, uniform(1.5, 3.0)); break;
      case kCut: add_action(label, s.board, s.board, uniform(2.0, 4.0)); break;
      default: break;
    }
  };
  std::vector<int> seq;
  const double pick = uniform(0, 1);
  const bool with_box = uniform(0, 1) < 0.5;
  if (pick < 0.5) {  // make a drink
    std::vector<int> drink = {kTakeBottle, kPour, kPutBackBottle};
    std::vector<int> spoon = {kTakeSpoon, kStir, kPutBackSpoon};
    if (with_box && uniform(0, 1) < 0.5) seq.insert(seq.end(), {kOpenBox, kCloseBox});
    if (uniform(0, 1) < 0.3) std::swap(drink, spoon);  // reordered steps
    seq.insert(seq.end(), drink.begin(), drink.end());
    if (with_box && seq.front() != kOpenBox) seq.insert(seq.end(), {kOpenBox, kCloseBox});
    seq.insert(seq.end(), spoon.begin(), spoon.end());
    if (uniform(0, 1) < 0.4) seq.push_back(kWipe);  // optional
  } else if (pick < 0.75) {  // clean up
    seq.push_back(kWipe);
    if (with_box) seq.insert(uniform(0, 1) < 0.5 ? seq.begin() : seq.end(), {kOpenBox, kCloseBox});
    if (uniform(0, 1) < 0.3) seq.push_back(kWipe);
  } else {  // prepare
    if (with_box) seq.insert(seq.end(), {kOpenBox, kCut, kCloseBox});
    else seq.push_back(kCut);
    if (uniform(0, 1) < 0.5) seq.push_back(kWipe);
  }
  for (int label : seq) act(label);
  add_move(s.rest, uniform(0.5, 1.2));
  const Vec rest = steps_.back().to;
  steps_.push_back(Step{kBackground, static_cast<int>(uniform(0.5, 2.5) * opt_.fps), rest, rest});
  ++activities_done_;
}

int WorkbenchWorld::next_frame(std::uint8_t* rgb) {
  if (frame_in_step_ >= current_.frames) {
    if (steps_.empty() && (opt_.activities == 0 || activities_done_ < opt_.activities)) plan_activity();
    if (!steps_.empty()) {
      // State changes that outlive the step that made them.
      if (current_.label == kOpenBox) scene_->lid_open = true;
      if (current_.label == kCloseBox) scene_->lid_open = false;
      current_ = steps_.front();
      steps_.pop_front();
    } else {
      current_ = Step{kBackground, 1 << 30, hand_, hand_};  // finished: rest
    }
    frame_in_step_ = 0;
  }
  const double p = current_.frames > 1 ? static_cast<double>(frame_in_step_) / (current_.frames - 1) : 1.0;
  render(rgb, current_, p);
  ++frame_in_step_;
  ++frame_;
  return current_.label;
}

void WorkbenchWorld::render(std::uint8_t* rgb, const Step& step, double p) {
  Scene& s = *scene_;
  const int w = opt_.width;
  const int h = opt_.height;
  const double t = static_cast<double>(frame_) / opt_.fps;
  const double unit = std::min(w, h);

  // Hand position for this frame.
  Vec hand{step.from.x + (step.to.x - step.from.x) * ease(p), step.from.y + (step.to.y - step.from.y) * ease(p)};
  double tilt = 0.0;
  double knife_lift = 0.0;
  if (step.label == kStir) {
    const double a = 2 * kPi * p * std::max(2.0, step.frames / opt_.fps * 1.2);
    hand = Vec{s.cup.x + 0.035 * std::cos(a), s.cup.y + 0.035 * std::sin(a)};
  } else if (step.label == kWipe) {
    const double a = 2 * kPi * p * std::max(2.0, step.frames / opt_.fps);
    hand = Vec{s.cloth.x + 0.07 * std::sin(a), s.cloth.y + 0.01 * std::sin(2 * a)};
  } else if (step.label == kCut) {
    knife_lift = std::fabs(std::sin(kPi * p * std::max(3.0, step.frames / opt_.fps * 2)));
    hand = Vec{s.board.x + 0.02 * (p - 0.5), s.board.y - 0.03 * knife_lift};
  } else if (step.label == kPour) {
    tilt = 1.1 * std::sin(kPi * std::min(1.0, p * 1.1));
    s.cup_fill = std::min(1.0, s.cup_fill + 1.0 / step.frames);
  }
  hand_ = hand;

  // Camera shake and lighting for this frame.
  const double sx = s.shake * std::sin(t * 7.3 + 1.1) * std::cos(t * 3.1);
  const double sy = s.shake * std::cos(t * 6.7 + 0.3) * std::sin(t * 2.3);
  const double light = s.light_base * (1.0 + 0.12 * std::sin(2 * kPi * t / s.light_period));

  std::vector<double> img(static_cast<std::size_t>(w * h * 3));
  for (int y = 0; y < h; ++y) {
    const double stripe = 6.0 * std::sin((y + sy) * 0.21);  // wood grain
    for (int x = 0; x < w; ++x) {
      double* px = &img[static_cast<std::size_t>((y * w + x) * 3)];
      for (int c = 0; c < 3; ++c) px[c] = s.table[static_cast<std::size_t>(c)] + stripe;
    }
  }
  auto to_px = [&](const Vec& v) { return Vec{v.x * w + sx, v.y * h + sy}; };
  // Filled, rotated rectangle (centre, size in table units, angle in radians).
  auto rect = [&](const Vec& c, double rw, double rh, double angle, const Rgb& col) {
    const Vec pc = to_px(c);
    const double hw = rw * unit / 2;
    const double hh = rh * unit / 2;
    const double r = std::sqrt(hw * hw + hh * hh) + 1;
    const double ca = std::cos(angle);
    const double sa = std::sin(angle);
    for (int y = std::max(0, static_cast<int>(pc.y - r)); y < std::min(h, static_cast<int>(pc.y + r) + 1); ++y) {
      for (int x = std::max(0, static_cast<int>(pc.x - r)); x < std::min(w, static_cast<int>(pc.x + r) + 1); ++x) {
        const double dx = x - pc.x;
        const double dy = y - pc.y;
        if (std::fabs(dx * ca + dy * sa) <= hw && std::fabs(-dx * sa + dy * ca) <= hh) {
          double* px = &img[static_cast<std::size_t>((y * w + x) * 3)];
          for (int k = 0; k < 3; ++k) px[k] = col[static_cast<std::size_t>(k)];
        }
      }
    }
  };
  auto disc = [&](const Vec& c, double radius, double inner, const Rgb& col) {
    const Vec pc = to_px(c);
    const double r = radius * unit;
    const double ri = inner * unit;
    for (int y = std::max(0, static_cast<int>(pc.y - r)); y < std::min(h, static_cast<int>(pc.y + r) + 1); ++y) {
      for (int x = std::max(0, static_cast<int>(pc.x - r)); x < std::min(w, static_cast<int>(pc.x + r) + 1); ++x) {
        const double d = std::hypot(x - pc.x, y - pc.y);
        if (d <= r && d >= ri) {
          double* px = &img[static_cast<std::size_t>((y * w + x) * 3)];
          for (int k = 0; k < 3; ++k) px[k] = col[static_cast<std::size_t>(k)];
        }
      }
    }
  };
  auto segment = [&](const Vec& a, const Vec& b, double thick, const Rgb& col) {
    const double len = std::hypot((b.x - a.x) * w, (b.y - a.y) * h);
    const int n = std::max(2, static_cast<int>(len / 2));
    for (int i = 0; i <= n; ++i) {
      const double f = static_cast<double>(i) / n;
      disc(Vec{a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f}, thick, 0, col);
    }
  };

  const int label = step.label;
  // Static furniture.
  rect(s.board, 0.22, 0.14, 0.0, s.board_c);
  rect(s.box, 0.16, 0.12, 0.0, s.box_c);
  disc(s.cup, 0.065, 0.0, s.cup_c);
  disc(s.cup, 0.05, 0.0, Rgb{s.cup_c[0] * 0.8, s.cup_c[1] * 0.8, s.cup_c[2] * 0.8});
  if (s.cup_fill > 0) disc(s.cup, 0.045 * std::sqrt(s.cup_fill), 0.0, s.liquid);
  // Objects: at home, or in the hand during the actions that carry them.
  const bool bottle_held = label == kTakeBottle || label == kPour || label == kPutBackBottle;
  const bool spoon_held = label == kTakeSpoon || label == kStir || label == kPutBackSpoon;
  const Vec bottle_at = bottle_held ? Vec{hand.x, hand.y - 0.02} : s.bottle;
  rect(bottle_at, 0.07, 0.16, tilt, s.bottle_c);
  rect(Vec{bottle_at.x + 0.07 * std::sin(tilt), bottle_at.y - 0.07 * std::cos(tilt)}, 0.03, 0.05, tilt,
       Rgb{s.bottle_c[0] * 0.6, s.bottle_c[1] * 0.6, s.bottle_c[2] * 0.6});
  if (label == kPour && tilt > 0.6) segment(Vec{bottle_at.x + 0.09, bottle_at.y - 0.02}, s.cup, 0.006, s.liquid);
  rect(spoon_held ? Vec{hand.x + 0.02, hand.y - 0.03} : s.spoon, 0.015, 0.11, spoon_held ? 0.4 : 0.0, s.spoon_c);
  rect(label == kWipe ? hand : s.cloth, 0.1, 0.08, 0.0, s.cloth_c);
  const double knife_y = label == kCut ? s.board.y - 0.02 - 0.04 * knife_lift : s.board.y;
  rect(Vec{s.board.x + 0.03, knife_y}, 0.12, 0.018, 0.0, s.knife_c);
  Vec lid = s.box;
  if (label == kOpenBox || label == kCloseBox) lid = hand;
  else if (s.lid_open) lid = Vec{s.box.x + s.lid_offset.x, s.box.y + s.lid_offset.y};
  rect(lid, 0.17, 0.13, 0.0, s.lid_c);
  // The arm comes in from the bottom edge; the hand is an ellipse-ish pair of discs.
  segment(Vec{0.5 + (hand.x - 0.5) * 0.4, 1.1}, hand, 0.035, Rgb{s.skin[0] * 0.85, s.skin[1] * 0.85, s.skin[2] * 0.85});
  disc(hand, 0.045, 0.0, s.skin);
  disc(Vec{hand.x, hand.y - 0.03}, 0.03, 0.0, s.skin);

  // Occasionally someone else's arm passes over the table.
  if (s.occluder_start < 0 && uniform(0, 1) < 0.004) {
    s.occluder_start = frame_;
    s.occluder_frames = static_cast<long>(uniform(1.0, 2.0) * opt_.fps);
    const bool left = uniform(0, 1) < 0.5;
    s.occluder_from = Vec{left ? -0.1 : 1.1, uniform(0.2, 0.8)};
    s.occluder_to = Vec{left ? 1.1 : -0.1, uniform(0.2, 0.8)};
  }
  if (s.occluder_start >= 0) {
    const double q = static_cast<double>(frame_ - s.occluder_start) / static_cast<double>(s.occluder_frames);
    if (q > 1) {
      s.occluder_start = -1;
    } else {
      const Vec c{s.occluder_from.x + (s.occluder_to.x - s.occluder_from.x) * q,
                  s.occluder_from.y + (s.occluder_to.y - s.occluder_from.y) * q};
      disc(c, 0.09, 0.0, Rgb{70, 70, 75});
    }
  }

  // Lighting, then sensor noise, then 8-bit.
  const std::size_t offset = static_cast<std::size_t>(rng_() % (s.noise_table.size() - img.size()));
  for (std::size_t i = 0; i < img.size(); ++i) {
    const double v = img[i] * light + s.noise * s.noise_table[offset + i];
    rgb[i] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
  }
}

}  // namespace actiond::pipeline
