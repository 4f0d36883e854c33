#pragma once
// What every TorchScript model of ours holds (internal to models/src): the file, the loaded module
// and its manifest, checked against the kind the caller expects. Includes LibTorch: never include it
// outside models/src. Thread-safety: owned by one model object, used by one thread.
#include "actiond/models/manifest.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <glib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace actiond::models::detail {

namespace fs = std::filesystem;

struct Loaded {
  torch::jit::script::Module module;
  Manifest manifest;
};

inline Loaded load_module(const fs::path& path, ModelKind expected) {
  if (!fs::exists(path)) throw ModelError(path.string() + ": model file does not exist");
  torch::jit::ExtraFilesMap extra{{"manifest.json", ""}};
  Loaded out;
  try {
    out.module = torch::jit::load(path.string(), torch::kCPU, extra);
  } catch (const c10::Error& e) {
    throw ModelError(path.string() + ": not a loadable TorchScript model: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw ModelError(path.string() + ": not a loadable TorchScript model: " + e.what());
  }
  if (extra["manifest.json"].empty()) {
    throw ModelError(path.string() + ": manifest.json is missing (save it with torch.jit.save(..., _extra_files=...))");
  }
  out.manifest = parse_manifest(extra["manifest.json"], path);
  if (out.manifest.kind != expected) {
    throw ModelError(path.string() + ": manifest kind is \"" + to_string(out.manifest.kind) + "\", expected \"" +
                     to_string(expected) + "\"");
  }
  out.module.eval();
  // Events name the exact model that produced them.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gchar* digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(bytes.data()), bytes.size());
  out.manifest.file_sha256 = digest;
  g_free(digest);
  return out;
}

// What every TorchScript model of ours holds: its file, the loaded module and the manifest.
struct LoadedModel {
  LoadedModel(const fs::path& p, ModelKind kind) : path(p) {
    Loaded l = load_module(p, kind);
    module = std::move(l.module);
    manifest = std::move(l.manifest);
  }
  // forward() on `batch` windows of `frames` feature rows viewed as float [batch, frames, feature_dim] (no copy).
  c10::IValue forward_window(const float* features, int frames, int batch = 1) {
    at::Tensor x =
        torch::from_blob(const_cast<float*>(features), {batch, frames, manifest.feature_dim}, torch::kFloat32);
    return module.forward({x});
  }
  // A window of zeros, to check a model's output contract once at load time.
  std::vector<float> zero_window() const {
    return std::vector<float>(static_cast<std::size_t>(manifest.window) * manifest.feature_dim, 0.0f);
  }
  [[noreturn]] void inference_failed(const c10::Error& e) const {
    throw ModelError(path.string() + ": inference failed: " + e.what_without_backtrace());
  }
  fs::path path;
  torch::jit::script::Module module;
  Manifest manifest;
};

inline std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace actiond::models::detail
