#include "actiond/pipeline/files/npy_file.hpp"

#include <cstring>
#include <fstream>
#include <regex>
#include <string>

namespace actiond::pipeline {

namespace {

struct Header {
  std::vector<long> shape;
  std::string type;  // f4, f8, i8 or u1
  long count = 1;
  long item() const { return type == "u1" ? 1 : type == "f4" ? 4 : 8; }
};

std::string truncated_text(const Header& h) {
  std::string shape;
  for (long d : h.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
  return "truncated: the header says " + shape + " values";
}

// Reads the header; `in` is left at the first data byte.
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
  std::smatch m;
  if (!std::regex_search(dict, m, std::regex("'descr':\\s*'([<>|=]?)([a-z])(\\d+)'"))) throw fail("no dtype in the header");
  const std::string type = m[2].str() + m[3].str();
  if (m[1] == ">" || (type != "f4" && type != "f8" && type != "i8" && type != "u1")) {
    throw fail("dtype must be '<f4', '<f8', '<i8' or '|u1' (little-endian float32/float64/int64, uint8), got '" +
               m[1].str() + type + "'");
  }
  h.type = type;
  if (std::regex_search(dict, std::regex("'fortran_order':\\s*True"))) throw fail("Fortran-ordered arrays are not supported");
  if (!std::regex_search(dict, m, std::regex("'shape':\\s*\\(([0-9, ]*)\\)"))) throw fail("no shape in the header");
  const std::string dims = m[1].str();
  static const std::regex number("\\d+");
  constexpr long kMaxValues = 1L << 40;  // far beyond any real file; keeps the arithmetic exact
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    const std::string digits = it->str();
    const long d = digits.size() > 13 ? kMaxValues + 1 : std::stol(digits);
    if (d > kMaxValues || (d > 0 && h.count > kMaxValues / d)) throw fail("shape (" + dims + ") is too large");
    h.shape.push_back(d);
    h.count *= d;
  }
  if (h.shape.empty() || h.shape.size() > 2) throw fail("expected a 1-D or 2-D array");
  // The data must be there before anything is allocated for it.
  const auto data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto file_end = in.tellg();
  in.seekg(data_start);
  const long item = h.item();
  if (!in || file_end - data_start < h.count * item) {
    throw fail(truncated_text(h));
  }
  return h;
}

std::vector<double> read_values(std::ifstream& in, const Header& h, const std::filesystem::path& path) {
  const auto n = static_cast<std::size_t>(h.count);
  std::vector<double> out(n);
  auto convert = [&](auto sample) {
    std::vector<decltype(sample)> tmp(n);
    in.read(reinterpret_cast<char*>(tmp.data()), static_cast<std::streamsize>(n * sizeof(sample)));
    std::copy(tmp.begin(), tmp.end(), out.begin());
  };
  if (h.type == "f8") {
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n * sizeof(double)));
  } else if (h.type == "f4") {
    convert(float{});
  } else if (h.type == "i8") {
    convert(std::int64_t{});
  } else {
    convert(std::uint8_t{});
  }
  if (!in) throw std::runtime_error(path.string() + ": " + truncated_text(h));
  return out;
}

FeatureFile shape_of(const Header& h, const std::filesystem::path& path) {
  if (h.shape.size() != 2 || h.shape[0] < 1 || h.shape[1] < 1) {
    throw std::runtime_error(path.string() + ": shape must be 2-D [frames, dim] and not empty");
  }
  FeatureFile f;
  f.frames = h.shape[0];
  f.dim = h.shape[1];
  return f;
}

}  // namespace

FeatureFile read_feature_header(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return shape_of(parse_header(in, path), path);
}

FeatureFile read_feature_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const Header h = parse_header(in, path);
  FeatureFile out = shape_of(h, path);
  const auto values = read_values(in, h, path);
  out.data.assign(values.begin(), values.end());
  return out;
}

std::vector<double> read_npy(const std::filesystem::path& path, std::vector<long>& shape) {
  std::ifstream in(path, std::ios::binary);
  const Header h = parse_header(in, path);
  shape = h.shape;
  return read_values(in, h, path);
}

void write_npy(const std::string& path, const std::string& descr, const std::vector<long>& shape, const void* data,
               std::size_t bytes) {
  std::string dims;
  for (long d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error(path + ": cannot write");
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char lenb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lenb, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace actiond::pipeline
