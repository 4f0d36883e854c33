// Pose models on LibTorch: a batch of letterboxed RGB images in, persons in picture fractions out.
#include "actiond/models/models.hpp"
#include "torch_module.hpp"

#include <algorithm>

namespace actiond::models {

namespace {

constexpr int64_t kPersonFloats = kPoseKeypoints * 3 + 5;  // 17 x (y, x, score), box, score

class TorchPose final : public PoseModel {
 public:
  explicit TorchPose(const std::filesystem::path& path) : m_(path, ModelKind::pose) {
    const auto& man = m_.manifest;
    std::vector<std::uint8_t> zeros(static_cast<std::size_t>(man.input_width) * man.input_height * 3, 0);
    std::vector<std::vector<PoseDetection>> persons;
    infer({PoseInput{ImageView{zeros.data(), man.input_width, man.input_height, man.input_width * 3}, {0, 0, 1, 1}}},
          0.0f, persons);
  }

  const Manifest& manifest() const override { return m_.manifest; }
  const std::filesystem::path& path() const override { return m_.path; }

  void infer(const std::vector<PoseInput>& images, float min_score,
             std::vector<std::vector<PoseDetection>>& persons) override {
    const auto n = static_cast<int64_t>(images.size());
    persons.assign(images.size(), {});
    if (n == 0) return;
    const int64_t h = m_.manifest.input_height;
    const int64_t w = m_.manifest.input_width;
    try {
      c10::InferenceMode guard;
      input_ = torch::empty({n, h, w, 3}, torch::kUInt8);
      for (int64_t i = 0; i < n; ++i) {
        const ImageView& im = images[static_cast<std::size_t>(i)].image;
        if (im.width != w || im.height != h) {
          throw ModelError(m_.path.string() + ": image is " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                           ", pose model input is " + std::to_string(w) + "x" + std::to_string(h));
        }
        input_[i].copy_(torch::from_blob(const_cast<std::uint8_t*>(im.data), {h, w, 3}, {im.stride, 3, 1}, torch::kUInt8));
      }
      output_ = m_.module.forward({input_}).toTensor().to(torch::kFloat32).contiguous();
      if (output_.dim() != 3 || output_.size(0) != n || output_.size(1) != m_.manifest.max_persons ||
          output_.size(2) != kPersonFloats) {
        throw ModelError(m_.path.string() + ": output shape " + detail::shape_of(output_) + " does not match [" +
                         std::to_string(n) + "," + std::to_string(m_.manifest.max_persons) + "," +
                         std::to_string(kPersonFloats) + "]");
      }
    } catch (const c10::Error& e) {
      m_.inference_failed(e);
    }
    const float* out = output_.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      const auto& c = images[static_cast<std::size_t>(i)].content;
      // Input fractions -> picture fractions (undo the letterbox).
      auto px = [&](float x) { return c[2] > 0 ? (x - c[0]) / c[2] : x; };
      auto py = [&](float y) { return c[3] > 0 ? (y - c[1]) / c[3] : y; };
      auto& found = persons[static_cast<std::size_t>(i)];
      for (int64_t p = 0; p < m_.manifest.max_persons; ++p) {
        const float* r = out + (i * m_.manifest.max_persons + p) * kPersonFloats;
        PoseDetection d;
        d.score = r[kPoseKeypoints * 3 + 4];
        if (d.score < min_score) continue;
        for (int k = 0; k < kPoseKeypoints; ++k) {
          d.keypoints[static_cast<std::size_t>(k)] = {px(r[k * 3 + 1]), py(r[k * 3]), r[k * 3 + 2]};
        }
        const float* b = r + kPoseKeypoints * 3;
        d.box = {px(b[1]), py(b[0]), px(b[3]), py(b[2])};
        found.push_back(d);
      }
      std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    }
  }

  void last_batch(std::vector<std::uint8_t>& input, std::vector<float>& output) const override {
    input.assign(input_.data_ptr<std::uint8_t>(), input_.data_ptr<std::uint8_t>() + input_.numel());
    output.assign(output_.data_ptr<float>(), output_.data_ptr<float>() + output_.numel());
  }

 private:
  detail::LoadedModel m_;
  at::Tensor input_;
  at::Tensor output_;
};

}  // namespace

std::unique_ptr<PoseModel> PoseModel::load(const std::filesystem::path& path) { return std::make_unique<TorchPose>(path); }

}  // namespace actiond::models
