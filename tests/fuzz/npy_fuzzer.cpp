// libFuzzer harness: the NumPy reader (scripts/fuzz.sh), which reads untrusted files (features://
// cameras, `actiond eval --workbench`). Input: the bytes of one .npy file. read_feature_header,
// read_feature_file and read_npy must either succeed with a consistent result or throw
// std::runtime_error naming the file; never crash, never allocate what the file does not hold.
#include "actiond/pipeline/files/npy_file.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace actiond::pipeline;

namespace {

// Runs `fn`; a std::runtime_error must name the file, anything else is a bug.
template <typename Fn>
void guarded(const fs::path& file, Fn fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind(file.string() + ": ", 0) != 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path file = [] {
    char tmpl[] = "/tmp/actiond-npy-fuzz-XXXXXX";
    return fs::path(::mkdtemp(tmpl)) / "input.npy";
  }();
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  guarded(file, [&] {
    const FeatureFile h = read_feature_header(file);
    if (h.frames < 1 || h.dim < 1 || !h.data.empty()) std::abort();
  });
  guarded(file, [&] {
    const FeatureFile f = read_feature_file(file);
    if (f.frames < 1 || f.dim < 1 || static_cast<std::size_t>(f.frames * f.dim) != f.data.size()) std::abort();
    if (f.data.size() * sizeof(float) > size) std::abort();  // at least 4 bytes per value were in the file
  });
  guarded(file, [&] {
    std::vector<long> shape;
    const auto values = read_npy(file, shape);
    std::size_t count = 1;
    for (long d : shape) {
      if (d < 0) std::abort();
      count *= static_cast<std::size_t>(d);
    }
    if (shape.empty() || shape.size() > 2 || count != values.size()) std::abort();
  });
  return 0;
}
