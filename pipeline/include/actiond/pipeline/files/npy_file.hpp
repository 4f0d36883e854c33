#pragma once
// NumPy .npy files: the one reader and the one writer of the project.
//
// Feature files for `features://` cameras: a float32 or float64 array, C order, shape [frames, dim]
// (np.save(path, features)). The camera replays one row per analysis frame at its `fps`, straight
// into the camera's ring buffer (no decoding, no backbone): deterministic input for regression tests
// and a way to run the daemon's models on features made elsewhere (skeletons). `actiond eval` reads
// feature and timestamp arrays of the same kind.
//
// Thread-safety: pure functions.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace actiond::pipeline {

struct FeatureFile {
  std::int64_t frames = 0;
  std::int64_t dim = 0;
  std::vector<float> data;  // [frames, dim] row-major (float64 files are converted)
};

// Shape only (reads the header). Throws std::runtime_error naming the file and what is wrong.
FeatureFile read_feature_header(const std::filesystem::path& path);
// Header and data.
FeatureFile read_feature_file(const std::filesystem::path& path);

// Any 1-D or 2-D float32/float64 array as doubles; `shape` receives its shape. Throws as above.
std::vector<double> read_npy(const std::filesystem::path& path, std::vector<long>& shape);

// Writes a little-endian .npy file (descr "<f4", "<f8" or "|u1"), C order. Throws naming the file.
void write_npy(const std::string& path, const std::string& descr, const std::vector<long>& shape, const void* data,
               std::size_t bytes);

}  // namespace actiond::pipeline
