// Backbone, segmenter and recognizer on LibTorch (torch headers stay inside models/src).
#include "actiond/models/models.hpp"
#include "torch_module.hpp"

#include <ATen/Parallel.h>
#include <caffe2/serialize/inline_container.h>

namespace actiond::models {

namespace fs = std::filesystem;

namespace {

using detail::LoadedModel;
using detail::shape_of;

class TorchBackbone final : public Backbone {
 public:
  explicit TorchBackbone(const fs::path& path) : m_(path, ModelKind::backbone) {
    // Verify the output contract once on a black frame.
    std::vector<std::uint8_t> zeros(static_cast<std::size_t>(m_.manifest.input_width) * m_.manifest.input_height * 3, 0);
    std::vector<float> out;
    infer({ImageView{zeros.data(), m_.manifest.input_width, m_.manifest.input_height, m_.manifest.input_width * 3}}, out);
  }

  const Manifest& manifest() const override { return m_.manifest; }
  const fs::path& path() const override { return m_.path; }

  void infer(const std::vector<ImageView>& images, std::vector<float>& features) override {
    const auto n = static_cast<int64_t>(images.size());
    if (n == 0) {
      features.clear();
      return;
    }
    const int64_t h = m_.manifest.input_height;
    const int64_t w = m_.manifest.input_width;
    try {
      c10::InferenceMode guard;
      at::Tensor batch = torch::empty({n, h, w, 3}, torch::kUInt8);
      for (int64_t i = 0; i < n; ++i) {
        const ImageView& im = images[static_cast<std::size_t>(i)];
        if (im.width != w || im.height != h) {
          throw ModelError(m_.path.string() + ": frame is " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                           ", model input is " + std::to_string(w) + "x" + std::to_string(h));
        }
        // Wraps the mapped GStreamer buffer (row stride may exceed 3*w) without copying it first.
        at::Tensor view = torch::from_blob(const_cast<std::uint8_t*>(im.data), {h, w, 3}, {im.stride, 3, 1}, torch::kUInt8);
        batch[i].copy_(view);
      }
      at::Tensor out = m_.module.forward({batch}).toTensor();
      if (out.dim() != 2 || out.size(0) != n || out.size(1) != m_.manifest.feature_dim) {
        throw ModelError(m_.path.string() + ": output shape " + shape_of(out) + " does not match manifest [" +
                         std::to_string(n) + "," + std::to_string(m_.manifest.feature_dim) + "]");
      }
      out = out.to(torch::kFloat32).contiguous();
      features.assign(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
    } catch (const c10::Error& e) {
      m_.inference_failed(e);
    }
  }

 private:
  LoadedModel m_;
};

class TorchSegmenter final : public Segmenter {
 public:
  explicit TorchSegmenter(const fs::path& path) : m_(path, ModelKind::segmenter) {
    SegmenterOutput out;
    run(m_.zero_window().data(), m_.manifest.window, out);
  }

  const Manifest& manifest() const override { return m_.manifest; }
  const fs::path& path() const override { return m_.path; }

  void run(const float* features, int frames, SegmenterOutput& out) override {
    std::vector<SegmenterOutput> outs;
    run_batch(features, 1, frames, outs);
    out = std::move(outs.front());
  }

  void run_batch(const float* features, int batch, int frames, std::vector<SegmenterOutput>& outs) override {
    const int64_t c = static_cast<int64_t>(m_.manifest.labels.size());
    try {
      c10::InferenceMode guard;
      c10::IValue result = m_.forward_window(features, frames, batch);
      const bool reps = m_.manifest.repetitions;
      // A third output (repetition) is read when the manifest says so, and ignored otherwise.
      const std::size_t outputs = result.isTuple() ? result.toTuple()->elements().size() : 0;
      if (outputs != (reps ? 3u : 2u) && !(outputs == 3 && !reps)) {
        throw ModelError(m_.path.string() + (reps ? ": segmenter must return a tuple (probs [B,T,C], boundary [B,T], "
                                                    "repetition [B,T]) (manifest: repetitions)"
                                                  : ": segmenter must return a tuple (probs [B,T,C], boundary [B,T])"));
      }
      at::Tensor probs = result.toTuple()->elements()[0].toTensor().to(torch::kFloat32).contiguous();
      at::Tensor boundary = result.toTuple()->elements()[1].toTensor().to(torch::kFloat32).contiguous();
      const std::string expected = "[" + std::to_string(batch) + "," + std::to_string(frames);
      if (probs.dim() != 3 || probs.size(0) != batch || probs.size(1) != frames || probs.size(2) != c) {
        throw ModelError(m_.path.string() + ": probs shape " + shape_of(probs) + " does not match " + expected + "," +
                         std::to_string(c) + "] (labels in manifest: " + std::to_string(c) + ")");
      }
      if (boundary.dim() != 2 || boundary.size(0) != batch || boundary.size(1) != frames) {
        throw ModelError(m_.path.string() + ": boundary shape " + shape_of(boundary) + " does not match " + expected + "]");
      }
      at::Tensor repetition;
      if (reps) {
        repetition = result.toTuple()->elements()[2].toTensor().to(torch::kFloat32).contiguous();
        if (repetition.dim() != 2 || repetition.size(0) != batch || repetition.size(1) != frames) {
          throw ModelError(m_.path.string() + ": repetition shape " + shape_of(repetition) + " does not match " + expected +
                           "]");
        }
      }
      outs.resize(static_cast<std::size_t>(batch));
      const float* p = probs.data_ptr<float>();
      const float* b = boundary.data_ptr<float>();
      const std::size_t per_probs = static_cast<std::size_t>(frames) * static_cast<std::size_t>(c);
      for (std::size_t i = 0; i < outs.size(); ++i) {
        outs[i].frames = frames;
        outs[i].classes = static_cast<int>(c);
        outs[i].probs.assign(p + i * per_probs, p + (i + 1) * per_probs);
        outs[i].boundary.assign(b + i * static_cast<std::size_t>(frames), b + (i + 1) * static_cast<std::size_t>(frames));
        if (reps) {
          const float* r = repetition.data_ptr<float>();
          outs[i].repetition.assign(r + i * static_cast<std::size_t>(frames), r + (i + 1) * static_cast<std::size_t>(frames));
        }
      }
    } catch (const c10::Error& e) {
      m_.inference_failed(e);
    }
  }

 private:
  LoadedModel m_;
};

class TorchRecognizer final : public Recognizer {
 public:
  explicit TorchRecognizer(const fs::path& path) : m_(path, ModelKind::recognizer) {
    std::vector<float> probs;
    run(m_.zero_window().data(), m_.manifest.window, probs);
  }

  const Manifest& manifest() const override { return m_.manifest; }
  const fs::path& path() const override { return m_.path; }

  void run(const float* features, int frames, std::vector<float>& probs) override {
    const int64_t c = static_cast<int64_t>(m_.manifest.labels.size());
    try {
      c10::InferenceMode guard;
      c10::IValue result = m_.forward_window(features, frames);
      if (!result.isTensor()) throw ModelError(m_.path.string() + ": recognizer must return probs [B,C]");
      at::Tensor p = result.toTensor().to(torch::kFloat32).contiguous();
      if (p.dim() != 2 || p.size(0) != 1 || p.size(1) != c) {
        throw ModelError(m_.path.string() + ": probs shape " + shape_of(p) + " does not match [1," + std::to_string(c) +
                         "] (labels in manifest: " + std::to_string(c) + ")");
      }
      probs.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    } catch (const c10::Error& e) {
      m_.inference_failed(e);
    }
  }

 private:
  LoadedModel m_;
};

}  // namespace

Manifest read_manifest(const fs::path& path) {
  if (!fs::exists(path)) throw ModelError(path.string() + ": model file does not exist");
  try {
    caffe2::serialize::PyTorchStreamReader reader(path.string());
    if (reader.hasRecord("extra/manifest.json")) {
      auto [data, size] = reader.getRecord("extra/manifest.json");
      return parse_manifest(std::string(static_cast<const char*>(data.get()), size), path);
    }
  } catch (const c10::Error& e) {
    throw ModelError(path.string() + ": not a TorchScript model file: " + e.what_without_backtrace());
  }
  throw ModelError(path.string() + ": manifest.json is missing (save it with torch.jit.save(..., _extra_files=...))");
}

void set_threads(int intra_op, int inter_op) {
  at::set_num_threads(intra_op);
  static bool inter_set = false;  // LibTorch allows setting inter-op threads once per process
  if (!inter_set) {
    try {
      at::set_num_interop_threads(inter_op);
    } catch (const c10::Error&) {
      // Already started (e.g. a second Daemon in one test process): keep the existing pool.
    }
    inter_set = true;
  }
}

std::unique_ptr<Backbone> Backbone::load(const fs::path& path) { return std::make_unique<TorchBackbone>(path); }
std::unique_ptr<Segmenter> Segmenter::load(const fs::path& path) { return std::make_unique<TorchSegmenter>(path); }
std::unique_ptr<Recognizer> Recognizer::load(const fs::path& path) { return std::make_unique<TorchRecognizer>(path); }

}  // namespace actiond::models
