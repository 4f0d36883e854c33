#include "actiond/pipeline/frame_hub.hpp"

namespace actiond::pipeline {

void FrameHub::add_camera(CameraHandle camera, std::size_t capacity, bool blocking) {
  std::lock_guard lock(mu_);
  Slot& s = slots_[camera];
  s.capacity = capacity == 0 ? 1 : capacity;
  s.blocking = blocking;
}

void FrameHub::remove_camera(CameraHandle camera) {
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(camera);
    if (it == slots_.end()) return;
    total_items_ -= it->second.items.size();
    slots_.erase(it);
  }
  space_.notify_all();
}

bool FrameHub::push(SourceItem item) {
  std::unique_lock lock(mu_);
  auto it = slots_.find(item.camera);
  if (closed_ || it == slots_.end()) return false;
  const bool is_frame = item.kind == SourceItem::Kind::frame;
  if (is_frame && it->second.frames >= it->second.capacity) {
    if (it->second.blocking) {
      const CameraHandle cam = item.camera;
      ++it->second.counters.producer_waits;
      space_.wait(lock, [&] {
        auto cur = slots_.find(cam);
        return closed_ || cur == slots_.end() || cur->second.frames < cur->second.capacity;
      });
      it = slots_.find(cam);
      if (closed_ || it == slots_.end()) return false;
    } else {
      // Drop the oldest frame; markers stay.
      auto& q = it->second.items;
      for (auto f = q.begin(); f != q.end(); ++f) {
        if (f->kind == SourceItem::Kind::frame) {
          q.erase(f);
          --it->second.frames;
          --total_items_;
          ++it->second.counters.dropped_queue_full;
          break;
        }
      }
    }
  }
  Slot& s = it->second;
  if (is_frame) {
    ++s.frames;
    ++s.counters.pushed;
  }
  s.items.push_back(std::move(item));
  ++total_items_;
  lock.unlock();
  ready_.notify_one();
  return true;
}

FrameHub::WaitResult FrameHub::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  ready_.wait_for(lock, timeout, [&] { return closed_ || total_items_ > 0; });
  if (total_items_ > 0) return WaitResult::ready;
  return closed_ ? WaitResult::closed : WaitResult::timeout;
}

bool FrameHub::wait_frames(std::size_t frames, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto pending = [&] {
    std::size_t n = 0;
    for (const auto& [cam, s] : slots_) n += s.frames;
    return n;
  };
  ready_.wait_for(lock, timeout, [&] { return closed_ || pending() >= frames; });
  return pending() >= frames;
}

std::size_t FrameHub::take(std::size_t max_frames, std::vector<SourceItem>& out) {
  std::size_t frames = 0;
  {
    std::lock_guard lock(mu_);
    bool progress = true;
    while (progress && frames < max_frames) {
      progress = false;
      for (auto& [cam, s] : slots_) {
        if (frames >= max_frames) break;
        // Markers in front of the next frame travel with it.
        while (!s.items.empty() && s.items.front().kind != SourceItem::Kind::frame) {
          out.push_back(std::move(s.items.front()));
          s.items.pop_front();
          --total_items_;
          progress = true;
        }
        if (!s.items.empty()) {
          out.push_back(std::move(s.items.front()));
          s.items.pop_front();
          --total_items_;
          --s.frames;
          ++frames;
          progress = true;
        }
      }
    }
  }
  space_.notify_all();
  return frames;
}

std::size_t FrameHub::pending_frames() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [cam, s] : slots_) n += s.frames;
  return n;
}

HubCounters FrameHub::counters(CameraHandle camera) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(camera);
  return it == slots_.end() ? HubCounters{} : it->second.counters;
}

void FrameHub::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
  space_.notify_all();
}

}  // namespace actiond::pipeline
