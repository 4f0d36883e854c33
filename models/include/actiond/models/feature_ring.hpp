#pragma once
// FeatureRing: a camera's bounded history of backbone features with their timestamps.
// Fixed capacity; pushing into a full ring overwrites the oldest entry. Entries are numbered by a
// monotonically increasing index (0 = first ever pushed), so readers can tell what they missed.
//
// Thread-safety: one writer (the inference loop) and any number of concurrent readers; every method
// takes an internal mutex, and readers get copies, never references into the ring.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace actiond::models {

struct FeatureMeta {
  double pts = 0.0;
  std::chrono::system_clock::time_point time;
  std::chrono::steady_clock::time_point arrival;
};

class FeatureRing {
 public:
  FeatureRing(std::size_t capacity, std::size_t dim);

  void push(const FeatureMeta& meta, const float* feature);

  std::size_t capacity() const { return capacity_; }
  std::size_t dim() const { return dim_; }
  std::size_t size() const;
  std::uint64_t total_pushed() const;  // index of the next entry to be pushed

  // Copies the newest min(n, size()) entries, oldest first: features row-major [count, dim] into
  // `features`, metadata into `meta` (if not null). Returns the index of the first copied entry.
  std::uint64_t latest(std::size_t n, std::vector<float>& features, std::vector<FeatureMeta>* meta) const;
  // Metadata of entry `index` if it is still held.
  std::optional<FeatureMeta> meta_at(std::uint64_t index) const;
  void clear();

 private:
  const std::size_t capacity_;
  const std::size_t dim_;
  mutable std::mutex mu_;
  std::vector<float> features_;     // capacity_ * dim_
  std::vector<FeatureMeta> meta_;   // capacity_
  std::uint64_t next_ = 0;          // total pushed
  std::uint64_t first_ = 0;         // index of the oldest held entry
};

}  // namespace actiond::models
