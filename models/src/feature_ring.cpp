#include "actiond/models/feature_ring.hpp"

#include <algorithm>
#include <stdexcept>

namespace actiond::models {

FeatureRing::FeatureRing(std::size_t capacity, std::size_t dim)
    : capacity_(capacity), dim_(dim), features_(capacity * dim), meta_(capacity) {
  if (capacity == 0 || dim == 0) throw std::invalid_argument("FeatureRing needs capacity > 0 and dim > 0");
}

void FeatureRing::push(const FeatureMeta& meta, const float* feature) {
  std::lock_guard lock(mu_);
  const std::size_t slot = next_ % capacity_;
  std::copy(feature, feature + dim_, features_.begin() + static_cast<std::ptrdiff_t>(slot * dim_));
  meta_[slot] = meta;
  ++next_;
  if (next_ - first_ > capacity_) first_ = next_ - capacity_;
}

std::size_t FeatureRing::size() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(next_ - first_);
}

std::uint64_t FeatureRing::total_pushed() const {
  std::lock_guard lock(mu_);
  return next_;
}

std::uint64_t FeatureRing::latest(std::size_t n, std::vector<float>& features, std::vector<FeatureMeta>* meta) const {
  std::lock_guard lock(mu_);
  const std::size_t held = static_cast<std::size_t>(next_ - first_);
  const std::size_t count = std::min(n, held);
  const std::uint64_t start = next_ - count;
  features.resize(count * dim_);
  if (meta != nullptr) meta->resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t slot = (start + i) % capacity_;
    std::copy_n(features_.begin() + static_cast<std::ptrdiff_t>(slot * dim_), dim_,
                features.begin() + static_cast<std::ptrdiff_t>(i * dim_));
    if (meta != nullptr) (*meta)[i] = meta_[slot];
  }
  return start;
}

std::optional<FeatureMeta> FeatureRing::meta_at(std::uint64_t index) const {
  std::lock_guard lock(mu_);
  if (index < first_ || index >= next_) return std::nullopt;
  return meta_[index % capacity_];
}

void FeatureRing::clear() {
  std::lock_guard lock(mu_);
  first_ = next_;
}

}  // namespace actiond::models
