// Pose models on LibTorch: a batch of letterboxed RGB images in, persons in picture fractions out.
#include "actiond/models/models.hpp"
#include "frame_workers.hpp"
#include "torch_module.hpp"

#include <torch/csrc/jit/passes/xnnpack_rewrite.h>

#include <omp.h>

#include <algorithm>

// LibTorch's switch for running XNNPACK operators on the calling thread instead of its own thread pool
// (exported by libtorch_cpu; its header, caffe2/utils/threadpool/pthreadpool-cpp.h, is not installed).
namespace caffe2 {
class _NoPThreadPoolGuard {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};
}  // namespace caffe2

namespace actiond::models {

namespace {

constexpr int64_t kPersonFloats = kPoseKeypoints * 3 + 5;  // 17 x (y, x, score), box, score

// Runs XNNPACK operators on this thread for its scope. XNNPACK's pool spin-waits like OpenMP's, and
// the two pools on the same cores slow a pose model 30-fold; one thread is also the cheapest per frame.
class XnnpackOnThisThread {
 public:
  XnnpackOnThisThread() : previous_(caffe2::_NoPThreadPoolGuard::is_enabled()) {
    caffe2::_NoPThreadPoolGuard::set_enabled(true);
  }
  ~XnnpackOnThisThread() { caffe2::_NoPThreadPoolGuard::set_enabled(previous_); }
  XnnpackOnThisThread(const XnnpackOnThisThread&) = delete;
  XnnpackOnThisThread& operator=(const XnnpackOnThisThread&) = delete;

 private:
  bool previous_;
};

// No OpenMP team for this thread's operators for its scope: the frames run in parallel instead.
// at::get_num_threads() first: it applies LibTorch's setting to a new thread, which would undo ours.
class OneOpenMpThread {
 public:
  OneOpenMpThread() : previous_(at::get_num_threads()) { omp_set_num_threads(1); }
  ~OneOpenMpThread() { omp_set_num_threads(previous_); }
  OneOpenMpThread(const OneOpenMpThread&) = delete;
  OneOpenMpThread& operator=(const OneOpenMpThread&) = delete;

 private:
  int previous_;
};

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
    const std::vector<PoseInput> probe{
        PoseInput{ImageView{zeros.data(), man.input_width, man.input_height, man.input_width * 3}, {0, 0, 1, 1}}};
    std::vector<std::vector<PoseDetection>> persons;
    // Convolutions on XNNPACK (prepacked weights, fused clamps): ~10 instead of 30 CPU-ms per frame for
    // movenet-lightning here. A model the rewrite cannot take runs as it was saved.
    torch::jit::script::Module original = m_.module;
    try {
      m_.module = torch::jit::optimizeForMobile(original);
      xnnpack_ = true;
      infer(probe, 0.0f, persons);
      return;
    } catch (const c10::Error&) {
    } catch (const ModelError&) {
    }
    xnnpack_ = false;
    m_.module = original;
    infer(probe, 0.0f, persons);
  }

  const Manifest& manifest() const override { return m_.manifest; }
  const std::filesystem::path& path() const override { return m_.path; }
  const char* engine() const override { return xnnpack_ ? "xnnpack" : "torchscript"; }

  void infer(const std::vector<PoseInput>& images, float min_score,
             std::vector<std::vector<PoseDetection>>& persons) override {
    const auto n = static_cast<int64_t>(images.size());
    persons.assign(images.size(), {});
    if (n == 0) return;
    const int64_t h = m_.manifest.input_height;
    const int64_t w = m_.manifest.input_width;
    try {
      at::Tensor input = torch::empty({n, h, w, 3}, torch::kUInt8);
      // XNNPACK: one frame per call (9 ms a frame here, 14 in batches of 4), frames spread over up to
      // the intra-op thread count, each frame's operators on its thread. As saved: one call for the
      // batch, LibTorch's intra-op threads inside the operators.
      const int parts = xnnpack_ ? static_cast<int>(std::min<int64_t>(n, at::get_num_threads())) : 1;
      std::vector<at::Tensor> outputs(static_cast<std::size_t>(xnnpack_ ? n : 1));
      workers_.run(parts, [&](int part) {
        c10::InferenceMode guard;
        const int64_t from = n * part / parts;
        const int64_t to = n * (part + 1) / parts;
        for (int64_t i = from; i < to; ++i) fill_input(images[static_cast<std::size_t>(i)], input[i]);
        if (!xnnpack_) {
          outputs[0] = m_.module.forward({input}).toTensor();
          return;
        }
        XnnpackOnThisThread one_pool;
        OneOpenMpThread one_team;
        for (int64_t i = from; i < to; ++i) {
          outputs[static_cast<std::size_t>(i)] = m_.module.forward({input.slice(0, i, i + 1)}).toTensor();
        }
      });
      c10::InferenceMode guard;
      output_ = (outputs.size() == 1 ? outputs[0] : torch::cat(outputs, 0)).to(torch::kFloat32).contiguous();
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
  // `in` letterboxed and cropped into `slot` (uint8 [h, w, 3]).
  void fill_input(const PoseInput& in, at::Tensor slot) const {
    const ImageView& im = in.image;
    at::Tensor view =
        torch::from_blob(const_cast<std::uint8_t*>(im.data), {im.height, im.width, 3}, {im.stride, 3, 1}, torch::kUInt8);
    const bool whole = in.crop == std::array<float, 4>{0.0f, 0.0f, 1.0f, 1.0f};
    if (whole && im.width == slot.size(1) && im.height == slot.size(0)) {
      slot.copy_(view);
    } else {
      slot.copy_(crop_resize(view, in.crop, slot.size(0), slot.size(1)));
    }
  }

  detail::LoadedModel m_;
  at::Tensor output_;
  bool xnnpack_ = false;
  detail::FrameWorkers workers_;  // declared last: joined before the module goes
};

}  // namespace

std::unique_ptr<PoseModel> PoseModel::load(const std::filesystem::path& path) { return std::make_unique<TorchPose>(path); }

}  // namespace actiond::models
