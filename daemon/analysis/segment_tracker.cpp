#include "actiond/daemon/analysis/segment_tracker.hpp"

#include <algorithm>

namespace actiond::daemon {

namespace {

// A local peak of a score at or above `threshold`: not below the frame before it (if any), above the
// frame after it (if any; a stream's last frame has none).
bool peak(const double* before, double s, const double* after, double threshold) {
  return s >= threshold && (before == nullptr || s >= *before) && (after == nullptr || s > *after);
}

}  // namespace

void SegmentTracker::Peak::add(const FramePoint& at, double c) {
  if (c > confidence + 1e-6) {
    first = last = at;
    confidence = c;
  } else if (c >= confidence - 1e-6) {
    last = at;
  }
}

FramePoint SegmentTracker::Peak::middle() const {
  return {(first.pts + last.pts) / 2.0, first.time + (last.time - first.time) / 2};
}

SegmentTracker::SegmentTracker(config::TrackerConfig cfg, int background, double frame_period_s, IdGenerator ids)
    : cfg_(cfg),
      background_(background),
      frame_period_s_(frame_period_s),
      ids_(std::move(ids)),
      repetitions_(cfg.repetition_source == config::RepetitionSource::pose) {}

std::optional<SegmentInfo> SegmentTracker::open_segment() const {
  if (!open_ || !open_->published) return std::nullopt;
  SegmentInfo info = open_->info;
  info.confidence = open_->confidence_sum / std::max(1, open_->frames);
  return info;
}

void SegmentTracker::end_open(const FramePoint& at, config::EndReason reason, std::vector<TrackerEvent>& out) {
  if (!open_) return;
  last_end_ = at;
  if (open_->published) {
    TrackerEvent ev;
    ev.type = TrackerEvent::Type::segment_end;
    ev.at = at;
    ev.segment = open_->info;
    ev.segment.confidence = open_->confidence_sum / std::max(1, open_->frames);
    ev.segment.end = at;
    ev.segment.end_reason = reason;
    out.push_back(std::move(ev));
  } else {
    ++counters_.segments_too_short;
    counters_.repetitions_outside += open_->unpublished.size();
  }
  open_.reset();
}

void SegmentTracker::maybe_publish(const FramePoint& now, std::vector<TrackerEvent>& out, bool force) {
  if (!open_ || open_->published) return;
  // Duration so far counts the current frame as lasting one period.
  if (!force && now.pts + frame_period_s_ - open_->info.start.pts + 1e-9 < cfg_.min_duration_s) return;
  open_->published = true;
  open_->info.id = ids_();
  open_->info.confidence = open_->confidence_sum / std::max(1, open_->frames);
  ++counters_.segments_published;
  TrackerEvent ev;
  ev.type = TrackerEvent::Type::segment_start;
  ev.at = open_->info.start;
  ev.segment = open_->info;
  ev.segment.repetitions = repetitions_ ? std::optional<int>(0) : std::nullopt;
  out.push_back(std::move(ev));
  // Repetitions counted while it was too short to publish, each with its running count.
  int k = 0;
  for (const auto& rep : open_->unpublished) {
    open_->info.repetitions = ++k;
    emit_repetition(rep, out);
  }
  open_->unpublished.clear();
}

void SegmentTracker::detect_boundary(const DecidedFrame& frame, int label, std::vector<TrackerEvent>& out) {
  b_scores_.push_back(frame.boundary);
  b_points_.push_back(frame.at);
  b_labels_.push_back(label);
  if (b_scores_.size() > 3) {
    b_scores_.erase(b_scores_.begin());
    b_points_.erase(b_points_.begin());
    b_labels_.erase(b_labels_.begin());
  }
  // Peak at the middle frame (or at the first frame ever, compared with its successor only).
  if (b_scores_.size() < 2) return;
  const std::size_t mid = b_scores_.size() - 2;
  const float s = b_scores_[mid];
  const double before = mid == 0 ? 0.0 : b_scores_[mid - 1];
  const double after = b_scores_[mid + 1];
  if (peak(mid == 0 ? nullptr : &before, s, &after, cfg_.boundary_threshold)) {
    const int from = mid == 0 ? background_ : b_labels_[mid - 1];
    const int to = b_labels_[mid + 1];
    if (from == to) {  // a score peak inside one label separates nothing a subscriber could use
      ++counters_.boundaries_same_label;
      return;
    }
    TrackerEvent ev;
    ev.type = TrackerEvent::Type::boundary;
    ev.at = b_points_[mid];
    ev.score = s;
    ev.from_label = from;
    ev.to_label = to;
    ++counters_.boundaries;
    out.push_back(std::move(ev));
  }
}

void SegmentTracker::emit_repetition(const Repetition& rep, std::vector<TrackerEvent>& out) {
  TrackerEvent ev;
  ev.type = TrackerEvent::Type::repetition;
  ev.at = rep.at;
  ev.score = rep.score;
  ev.segment = open_->info;
  ++counters_.repetitions;
  out.push_back(std::move(ev));
}

void SegmentTracker::add_repetition(const Repetition& rep, std::vector<TrackerEvent>& out, bool spaced) {
  if (spaced && open_->last_repetition_pts && rep.at.pts - *open_->last_repetition_pts < cfg_.repetition_min_interval_s - 1e-9) {
    ++counters_.repetitions_outside;
    return;
  }
  open_->last_repetition_pts = rep.at.pts;
  open_->info.repetitions = open_->info.repetitions.value_or(0) + 1;
  if (open_->published) {
    emit_repetition(rep, out);
  } else {
    open_->unpublished.push_back(rep);
  }
}

void SegmentTracker::count_pose(const FramePoint& at, const std::vector<float>& row, std::vector<TrackerEvent>& out) {
  if (row.size() < static_cast<std::size_t>(kPoseFeatureDim) || (open_->counted_pts && at.pts <= *open_->counted_pts + 1e-9)) return;
  open_->counted_pts = at.pts;
  // A repetition the look-back saw start before the segment is dated to the segment's start.
  for (const auto& started : open_->counter->push(row.data(), at)) {
    add_repetition({started.pts < open_->info.start.pts ? open_->info.start : started, 1.0}, out, false);
  }
}

void SegmentTracker::start_counter(std::vector<TrackerEvent>& out) {
  if (cfg_.repetition_source != config::RepetitionSource::pose) return;
  open_->counter.emplace(RepetitionCounterSettings{cfg_.repetition_smooth_frames, cfg_.repetition_hysteresis,
                                                   cfg_.repetition_min_amplitude});
  double from = open_->info.start.pts - cfg_.repetition_lookback_s;
  if (last_end_) from = std::max(from, last_end_->pts);
  for (const auto& p : pose_history_) {
    if (p.at.pts >= from - 1e-9) count_pose(p.at, p.row, out);
  }
}

void SegmentTracker::detect_repetition(const DecidedFrame& frame, std::vector<TrackerEvent>& out) {
  if (cfg_.repetition_source == config::RepetitionSource::pose) {
    if (open_ && open_->counter) count_pose(frame.at, frame.pose, out);
    return;
  }
  if (!frame.repetition) return;
  r_frames_.push_back({frame.at, *frame.repetition});
  if (r_frames_.size() > 3) r_frames_.erase(r_frames_.begin());
  if (r_frames_.size() < 2) return;
  const std::size_t mid = r_frames_.size() - 2;
  const double s = r_frames_[mid].score;
  const double* before = mid == 0 ? nullptr : &r_frames_[mid - 1].score;
  if (!peak(before, s, &r_frames_[mid + 1].score, cfg_.repetition_threshold)) return;
  const Repetition& rep = r_frames_[mid];
  if (open_ && rep.at.pts >= open_->info.start.pts - 1e-9) {
    add_repetition(rep, out);
    return;
  }
  // Not inside a segment (yet): a segment confirmed later may start before it.
  r_waiting_.push_back(rep);
  if (r_waiting_.size() > 64) {
    r_waiting_.erase(r_waiting_.begin());
    ++counters_.repetitions_outside;
  }
}

void SegmentTracker::push(const DecidedFrame& frame, std::vector<TrackerEvent>& out) {
  ++counters_.frames;
  if (frame.repetition) repetitions_ = true;
  int label = background_;
  double best = -1.0;
  for (std::size_t k = 0; k < frame.probs.size(); ++k) {
    if (frame.probs[k] > best) {
      best = frame.probs[k];
      label = static_cast<int>(k);
    }
  }
  if (label != background_ && best < cfg_.threshold) label = background_;
  const double confidence = frame.probs.empty() ? 0.0 : frame.probs[static_cast<std::size_t>(label)];
  last_ = frame.at;
  if (cfg_.repetition_source == config::RepetitionSource::pose && !frame.pose.empty()) {
    pose_history_.push_back({frame.at, frame.pose});
    if (pose_history_.size() > kPoseHistory) pose_history_.pop_front();
  }
  if (cfg_.onset_threshold > 0 && static_cast<std::size_t>(background_) < frame.probs.size()) {
    if (frame.probs[static_cast<std::size_t>(background_)] >= cfg_.onset_threshold) {
      onset_.reset();
    } else if (!onset_) {
      onset_ = frame.at;
    }
  }

  const int current = current_ < 0 ? background_ : current_;
  if (label == current) {
    candidate_ = Candidate{};
    if (open_ && open_->published && cfg_.max_duration_s > 0 &&
        frame.at.pts - open_->info.start.pts >= cfg_.max_duration_s - 1e-9) {
      // Too long: end it here and go on with a new segment of the same label (already long enough).
      const int same = open_->info.label_id;
      end_open(frame.at, config::EndReason::max_duration, out);
      Open o;
      o.info.label_id = same;
      o.info.start = frame.at;
      if (repetitions_) o.info.repetitions = 0;
      open_ = o;
      start_counter(out);
      maybe_publish(frame.at, out, true);
    }
    if (open_) {
      open_->confidence_sum += confidence;
      ++open_->frames;
      open_->peak.add(frame.at, confidence);
      open_->info.peak = open_->peak.middle();
      open_->info.peak_confidence = open_->peak.confidence;
      maybe_publish(frame.at, out);  // only frames of the segment's own label count towards its duration
    }
  } else {
    if (candidate_.label != label) candidate_ = Candidate{label, 0, frame.at, 0.0, frame.boundary, frame.at, -1.0};
    ++candidate_.count;
    candidate_.confidence_sum += confidence;
    if (confidence > candidate_.peak_confidence + 1e-6) {
      candidate_.peak = frame.at;
      candidate_.peak_confidence = confidence;
    }
    // Boundary-aware: a change that starts where the model sees a boundary needs less confirmation.
    const int need = candidate_.boundary >= cfg_.boundary_threshold
                         ? std::min(cfg_.confirm_frames, cfg_.boundary_confirm_frames)
                         : cfg_.confirm_frames;
    if (candidate_.count >= need) {
      end_open(candidate_.first, label == background_ ? config::EndReason::background : config::EndReason::action_changed, out);
      const bool from_background = current == background_;
      current_ = label;
      if (label != background_) {
        Open o;
        o.info.label_id = label;
        o.info.start = from_background ? onset_start(candidate_.first) : candidate_.first;
        o.confidence_sum = candidate_.confidence_sum;
        o.frames = candidate_.count;
        o.peak.add(candidate_.peak, candidate_.peak_confidence);
        o.info.peak = o.peak.middle();
        o.info.peak_confidence = o.peak.confidence;
        if (repetitions_) o.info.repetitions = 0;
        open_ = o;
        start_counter(out);
        // Peaks seen while the label was being confirmed belong to it when they lie inside it.
        std::vector<Repetition> waiting;
        waiting.swap(r_waiting_);
        for (const auto& rep : waiting) {
          if (rep.at.pts >= o.info.start.pts - 1e-9) {
            add_repetition(rep, out);
          } else {
            ++counters_.repetitions_outside;
          }
        }
        maybe_publish(frame.at, out);
      }
      candidate_ = Candidate{};
    }
  }
  detect_boundary(frame, label, out);
  detect_repetition(frame, out);
}

FramePoint SegmentTracker::onset_start(const FramePoint& first) const {
  if (!onset_ || onset_->pts >= first.pts) return first;
  if (last_end_ && onset_->pts < last_end_->pts) return last_end_->pts < first.pts ? *last_end_ : first;
  return *onset_;
}

void SegmentTracker::close(config::EndReason reason, std::vector<TrackerEvent>& out) {
  // The stream ends on a rising repetition score: the last frame is a peak (nothing follows it).
  if (open_ && !r_frames_.empty()) {
    const Repetition& last = r_frames_.back();
    const double* before = r_frames_.size() < 2 ? nullptr : &r_frames_[r_frames_.size() - 2].score;
    if (peak(before, last.score, nullptr, cfg_.repetition_threshold) && last.at.pts >= open_->info.start.pts - 1e-9) {
      add_repetition(last, out);
    }
  }
  if (open_ && last_) {
    FramePoint end = *last_;
    end.pts += frame_period_s_;
    end.time += std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(frame_period_s_));
    end_open(end, reason, out);
  }
  open_.reset();
  current_ = -1;
  candidate_ = Candidate{};
  onset_.reset();
  last_end_.reset();
  b_scores_.clear();
  b_points_.clear();
  b_labels_.clear();
  r_frames_.clear();
  pose_history_.clear();
  counters_.repetitions_outside += r_waiting_.size();
  r_waiting_.clear();
}

}  // namespace actiond::daemon
