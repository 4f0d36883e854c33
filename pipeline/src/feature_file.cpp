#include "actiond/pipeline/feature_file.hpp"

#include <cstring>
#include <fstream>
#include <regex>
#include <string>

namespace actiond::pipeline {

namespace {

struct Header {
  FeatureFile shape;
  bool f64 = false;
  std::streamoff data_offset = 0;
};

Header parse_header(std::ifstream& in, const std::filesystem::path& path) {
  const std::string name = path.string();
  auto fail = [&](const std::string& what) { return std::runtime_error(name + ": " + what); };
  if (!in) throw fail("cannot open file");
  char magic[8] = {};
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw fail("not a NumPy .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint32_t len = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
  } else {
    throw fail("unsupported .npy version " + std::to_string(major));
  }
  if (!in || len > 65536) throw fail("truncated or oversized .npy header");
  std::string dict(len, '\0');
  in.read(dict.data(), len);
  if (!in) throw fail("truncated .npy header");
  Header h;
  h.data_offset = in.tellg();
  std::smatch m;
  if (!std::regex_search(dict, m, std::regex("'descr':\\s*'([<>|=]?)([a-z])(\\d+)'"))) throw fail("no dtype in the header");
  const std::string type = m[2].str() + m[3].str();
  if (m[1] == ">" || (type != "f4" && type != "f8")) {
    throw fail("dtype must be '<f4' or '<f8' (little-endian float32/float64), got '" + m[1].str() + type + "'");
  }
  h.f64 = type == "f8";
  if (std::regex_search(dict, std::regex("'fortran_order':\\s*True"))) throw fail("Fortran-ordered arrays are not supported");
  if (!std::regex_search(dict, m, std::regex("'shape':\\s*\\((\\d+),\\s*(\\d+),?\\s*\\)"))) {
    throw fail("shape must be 2-D [frames, dim]");
  }
  h.shape.frames = std::stoll(m[1].str());
  h.shape.dim = std::stoll(m[2].str());
  if (h.shape.frames < 1 || h.shape.dim < 1) throw fail("empty array");
  return h;
}

}  // namespace

FeatureFile read_feature_header(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return parse_header(in, path).shape;
}

FeatureFile read_feature_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  Header h = parse_header(in, path);
  const auto n = static_cast<std::size_t>(h.shape.frames * h.shape.dim);
  FeatureFile out = h.shape;
  out.data.resize(n);
  if (h.f64) {
    std::vector<double> tmp(n);
    in.read(reinterpret_cast<char*>(tmp.data()), static_cast<std::streamsize>(n * sizeof(double)));
    for (std::size_t i = 0; i < n; ++i) out.data[i] = static_cast<float>(tmp[i]);
  } else {
    in.read(reinterpret_cast<char*>(out.data.data()), static_cast<std::streamsize>(n * sizeof(float)));
  }
  if (!in) {
    throw std::runtime_error(path.string() + ": truncated: the header says " + std::to_string(h.shape.frames) + "x" +
                             std::to_string(h.shape.dim) + " values");
  }
  return out;
}

}  // namespace actiond::pipeline
