// ClipRecorder: the packet ring (fed from a camera pipeline's streaming thread) and the MP4 remux.
#include "clips/clip_ring.hpp"
#include "gst/gst_util.hpp"

#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <chrono>
#include <system_error>

namespace actiond::pipeline {

namespace {

double seconds(GstClockTime t) { return static_cast<double>(t) / GST_SECOND; }

}  // namespace

ClipRecorder::Ring::~Ring() {
  for (auto& p : packets) gst_buffer_unref(p.buffer);
  if (caps != nullptr) gst_caps_unref(caps);
}

void ClipRecorder::Ring::set_encoded(bool e) {
  std::lock_guard lock(mu);
  encoded = e;
}

void ClipRecorder::Ring::set_wall_clock(bool w) {
  std::lock_guard lock(mu);
  wall_clock = w;
}

void ClipRecorder::Ring::drop_all() {
  for (auto& p : packets) gst_buffer_unref(p.buffer);
  packets.clear();
  bytes = 0;
  ++restarts;
}

void ClipRecorder::Ring::restart() {
  std::lock_guard lock(mu);
  drop_all();
  lost_start = false;
  have_segment = false;
}

GstPadProbeReturn ClipRecorder::Ring::probe(GstPad*, GstPadProbeInfo* info, gpointer user) {
  auto* self = static_cast<Ring*>(user);
  if ((GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) != 0) {
    GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
      GstCaps* c = nullptr;
      gst_event_parse_caps(ev, &c);
      std::lock_guard lock(self->mu);
      if (self->caps == nullptr || !gst_caps_is_equal(self->caps, c)) {
        self->drop_all();
        if (self->caps != nullptr) gst_caps_unref(self->caps);
        self->caps = gst_caps_ref(c);
      }
    } else if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
      const GstSegment* seg = nullptr;
      gst_event_parse_segment(ev, &seg);
      std::lock_guard lock(self->mu);
      gst_segment_copy_into(seg, &self->segment);
      self->have_segment = seg->format == GST_FORMAT_TIME;
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (buf == nullptr || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
  GstClockTime t = GST_BUFFER_PTS(buf);
  {
    std::lock_guard lock(self->mu);
    if (self->wall_clock) {
      t = static_cast<GstClockTime>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch()).count());
    } else if (self->have_segment) {
      const guint64 st = gst_segment_to_stream_time(&self->segment, GST_FORMAT_TIME, t);
      if (GST_CLOCK_TIME_IS_VALID(st)) t = st;
    }
  }
  self->push(gst_buffer_ref(buf), seconds(t), !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT));
  return GST_PAD_PROBE_OK;
}

void ClipRecorder::Ring::push(GstBuffer* buffer, double pts, bool key) {
  std::lock_guard lock(mu);
  if (!packets.empty() && pts < packets.back().pts - 1.0) drop_all();  // the timeline went back (a looped file)
  if (packets.empty() && !key) {  // a ring starts at a key frame
    gst_buffer_unref(buffer);
    return;
  }
  packets.push_back({buffer, pts, key});
  bytes += gst_buffer_get_size(buffer);
  trim();
}

void ClipRecorder::Ring::trim() {
  double keep_from = packets.back().pts - settings.keep_s;
  for (const auto& [key, from] : pins) keep_from = std::min(keep_from, from);
  // Drop every group of pictures that ends before the last key frame at or before keep_from.
  std::size_t cut = 0;
  for (std::size_t i = 0; i < packets.size() && packets[i].pts <= keep_from; ++i) {
    if (packets[i].key) cut = i;
  }
  auto drop_front = [this](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      bytes -= gst_buffer_get_size(packets.front().buffer);
      gst_buffer_unref(packets.front().buffer);
      packets.pop_front();
    }
  };
  drop_front(cut);
  while (bytes > settings.max_bytes && packets.size() > 1) {  // the hard bound: a whole GOP at a time
    std::size_t next = 1;
    while (next < packets.size() && !packets[next].key) ++next;
    if (next == packets.size()) break;  // one GOP larger than the bound: keep it
    drop_front(next);
    if (!pins.empty()) lost_start = true;
  }
}

ClipRecorder::Ring::Span ClipRecorder::Ring::take(double from, double to) const {
  std::lock_guard lock(mu);
  Span s;
  s.encoded = encoded;
  if (caps == nullptr || packets.empty()) return s;
  std::size_t first = 0;
  // Events carry times rounded to the microsecond: a key frame at `from` itself must count.
  constexpr double kSlack = 1e-3;
  for (std::size_t i = 0; i < packets.size() && packets[i].pts <= from + kSlack; ++i) {
    if (packets[i].key) first = i;
  }
  s.truncated = packets[first].pts > from + 1e-6 && lost_start;
  for (std::size_t i = first; i < packets.size(); ++i) {
    if (packets[i].pts > to + 1e-6 && packets[i].key) break;  // the next GOP starts after the end
    if (packets[i].pts > to + 1e-6) continue;                  // B-frames after `to` in decode order
    s.packets.push_back({gst_buffer_ref(packets[i].buffer), packets[i].pts, packets[i].key});
  }
  s.caps = gst_caps_ref(caps);
  return s;
}

ClipRecorder::ClipRecorder(ClipSettings settings) : ring_(std::make_unique<Ring>(settings)) {}
ClipRecorder::~ClipRecorder() = default;

void ClipRecorder::pin(const std::string& key, double from_pts) {
  std::lock_guard lock(ring_->mu);
  ring_->pins[key] = from_pts;
}

void ClipRecorder::unpin(const std::string& key) {
  std::lock_guard lock(ring_->mu);
  ring_->pins.erase(key);
  if (ring_->pins.empty()) ring_->lost_start = false;
}

std::optional<double> ClipRecorder::newest_pts() const {
  std::lock_guard lock(ring_->mu);
  if (ring_->packets.empty()) return std::nullopt;
  return ring_->packets.back().pts;
}

std::size_t ClipRecorder::bytes() const {
  std::lock_guard lock(ring_->mu);
  return ring_->bytes;
}

std::uint64_t ClipRecorder::restarts() const {
  std::lock_guard lock(ring_->mu);
  return ring_->restarts;
}

}  // namespace actiond::pipeline
