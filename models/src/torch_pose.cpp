// Pose models on LibTorch: a batch of letterboxed RGB images in, persons in picture fractions out.
#include "actiond/models/models.hpp"
#include "torch_module.hpp"

#include <algorithm>

namespace actiond::models {

namespace {

constexpr int64_t kPersonFloats = kPoseKeypoints * 3 + 5;  // 17 x (y, x, score), box, score

// `crop` (fractions) of an HWC uint8 image, bilinearly resized to h x w (HWC uint8).
at::Tensor crop_resize(const at::Tensor& image, const std::array<float, 4>& crop, int64_t h, int64_t w) {
  const int64_t ih = image.size(0);
  const int64_t iw = image.size(1);
  const int64_t x0 = std::clamp<int64_t>(static_cast<int64_t>(std::lround(crop[0] * static_cast<float>(iw))), 0, iw - 1);
  const int64_t y0 = std::clamp<int64_t>(static_cast<int64_t>(std::lround(crop[1] * static_cast<float>(ih))), 0, ih - 1);
  const int64_t cw = std::clamp<int64_t>(static_cast<int64_t>(std::lround(crop[2] * static_cast<float>(iw))), 1, iw - x0);
  const int64_t ch = std::clamp<int64_t>(static_cast<int64_t>(std::lround(crop[3] * static_cast<float>(ih))), 1, ih - y0);
  at::Tensor part = image.slice(0, y0, y0 + ch).slice(1, x0, x0 + cw).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
  at::Tensor out = torch::nn::functional::interpolate(
      part, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false));
  return out.squeeze(0).permute({1, 2, 0}).round().clamp(0, 255).to(torch::kUInt8);
}

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
      at::Tensor input = torch::empty({n, h, w, 3}, torch::kUInt8);
      for (int64_t i = 0; i < n; ++i) {
        const PoseInput& in = images[static_cast<std::size_t>(i)];
        const ImageView& im = in.image;
        at::Tensor view = torch::from_blob(const_cast<std::uint8_t*>(im.data), {im.height, im.width, 3}, {im.stride, 3, 1},
                                           torch::kUInt8);
        const bool whole = in.crop == std::array<float, 4>{0.0f, 0.0f, 1.0f, 1.0f};
        if (whole && im.width == w && im.height == h) {
          input[i].copy_(view);
        } else {
          input[i].copy_(crop_resize(view, in.crop, h, w));
        }
      }
      output_ = m_.module.forward({input}).toTensor().to(torch::kFloat32).contiguous();
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
      const auto& crop = images[static_cast<std::size_t>(i)].crop;
      // Input fractions -> image fractions (undo the crop) -> picture fractions (undo the letterbox).
      auto px = [&](float x) {
        x = crop[0] + x * crop[2];
        return c[2] > 0 ? (x - c[0]) / c[2] : x;
      };
      auto py = [&](float y) {
        y = crop[1] + y * crop[3];
        return c[3] > 0 ? (y - c[1]) / c[3] : y;
      };
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

  void last_output(std::vector<float>& output) const override {
    output.assign(output_.data_ptr<float>(), output_.data_ptr<float>() + output_.numel());
  }

 private:
  detail::LoadedModel m_;
  at::Tensor output_;
};

}  // namespace

std::unique_ptr<PoseModel> PoseModel::load(const std::filesystem::path& path) { return std::make_unique<TorchPose>(path); }

}  // namespace actiond::models
