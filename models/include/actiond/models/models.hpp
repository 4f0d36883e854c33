#pragma once
// TorchScript models behind a small interface, so LibTorch headers never leave models/.
//
//   models::set_threads(2, 1);
//   auto bb  = models::Backbone::load("backbone.pt");     // throws ModelError naming the file
//   auto seg = models::Segmenter::load("segmenter.pt");
//   models::check_compatible(bb->manifest(), bb->path(), seg->manifest(), seg->path());
//   bb->infer(images, features);                           // [N, D] row-major
//   seg->run(features.data(), T, D, out);                  // per-frame probs + boundary
//   auto pose = models::PoseModel::load("movenet-lightning.pt");
//   pose->infer({{image, content}}, 0.2f, persons);        // persons per image, keypoints + box
//
// Loading checks the manifest and runs the model once on zeros to verify its output shapes.
// Thread-safety: a model instance is owned by one thread (the inference loop); do not share calls.
#include "actiond/models/manifest.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace actiond::models {

// The manifest of a model file, read without loading the model. Throws ModelError naming the file.
Manifest read_manifest(const std::filesystem::path& path);

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
  std::vector<float> repetition;  // [T] repetition-start score (manifest "repetitions"), else empty
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

struct PoseKeypoint {
  float x = 0.0f;  // fraction of the picture's width (0 left .. 1 right)
  float y = 0.0f;  // fraction of its height
  float score = 0.0f;
};

// One person found by a pose model, in fractions of the picture (not of the letterboxed input).
struct PoseDetection {
  std::array<PoseKeypoint, kPoseKeypoints> keypoints;
  std::array<float, 4> box{};  // x0, y0, x1, y1
  float score = 0.0f;
};

// A model input image: the picture fills `content` of `image` (x, y, w, h as fractions of the image;
// the rest is letterbox border). The model reads `crop` of the image (fractions; the whole image by
// default), resized to its input size when it is not exactly that already.
struct PoseInput {
  ImageView image;
  std::array<float, 4> content{0.0f, 0.0f, 1.0f, 1.0f};
  std::array<float, 4> crop{0.0f, 0.0f, 1.0f, 1.0f};
};

// Pose estimation (imported MoveNet models, models/import/import_tfjs.py).
class PoseModel {
 public:
  static std::unique_ptr<PoseModel> load(const std::filesystem::path& path);
  virtual ~PoseModel() = default;
  virtual const Manifest& manifest() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  // One batch; `persons[i]` gets image i's persons scoring >= min_score, best first. Throws ModelError.
  virtual void infer(const std::vector<PoseInput>& images, float min_score,
                     std::vector<std::vector<PoseDetection>>& persons) = 0;
  // The last batch's raw output (float [N,P,56], fractions of the model input): for fidelity checks.
  virtual void last_output(std::vector<float>& output) const = 0;
  // How the model runs: "xnnpack" (convolutions rewritten for XNNPACK at load) or "torchscript" (as saved).
  virtual const char* engine() const = 0;
};

}  // namespace actiond::models
