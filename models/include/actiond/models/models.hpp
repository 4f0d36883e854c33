#pragma once
// TorchScript models behind a small interface, so LibTorch headers never leave models/.
//
//   models::set_threads(2, 1);
//   auto bb  = models::Backbone::load("backbone.pt");     // throws ModelError naming the file
//   auto seg = models::Segmenter::load("segmenter.pt");
//   models::check_compatible(bb->manifest(), bb->path(), seg->manifest(), seg->path());
//   bb->infer(images, features);                           // [N, D] row-major
//   seg->run(features.data(), T, D, out);                  // per-frame probs + boundary
//
// Loading checks the manifest and runs the model once on zeros to verify its output shapes.
// Thread-safety: a model instance is owned by one thread (the inference loop); do not share calls.
#include "actiond/models/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace actiond::models {

// Sets LibTorch's intra-op and inter-op thread counts (process-wide; call once before loading).
void set_threads(int intra_op, int inter_op);

struct ImageView {
  const std::uint8_t* data = nullptr;  // RGB24
  int width = 0;
  int height = 0;
  int stride = 0;  // bytes per row
};

class Backbone {
 public:
  static std::unique_ptr<Backbone> load(const std::filesystem::path& path);
  virtual ~Backbone() = default;
  virtual const Manifest& manifest() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  // One feature vector per image into `features` ([N, feature_dim] row-major). Throws ModelError.
  virtual void infer(const std::vector<ImageView>& images, std::vector<float>& features) = 0;
};

struct SegmenterOutput {
  int frames = 0;                 // T
  int classes = 0;                // C
  std::vector<float> probs;       // [T, C] row-major
  std::vector<float> boundary;    // [T]
};

class Segmenter {
 public:
  static std::unique_ptr<Segmenter> load(const std::filesystem::path& path);
  virtual ~Segmenter() = default;
  virtual const Manifest& manifest() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  // Reads `frames` feature rows of manifest().feature_dim floats. Throws ModelError.
  virtual void run(const float* features, int frames, SegmenterOutput& out) = 0;
  // `batch` windows of `frames` rows each, back to back: one call, one output per window.
  virtual void run_batch(const float* features, int batch, int frames, std::vector<SegmenterOutput>& outs) = 0;
};

// Clip-level action recognition over the latest `window` features.
class Recognizer {
 public:
  static std::unique_ptr<Recognizer> load(const std::filesystem::path& path);
  virtual ~Recognizer() = default;
  virtual const Manifest& manifest() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  // Reads `frames` feature rows; `probs` gets one probability per label. Throws ModelError.
  virtual void run(const float* features, int frames, std::vector<float>& probs) = 0;
};

}  // namespace actiond::models
