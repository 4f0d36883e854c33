#include "timeline_image.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>

namespace actiond::tools {

namespace {

using Rgb = std::array<std::uint8_t, 3>;

Rgb class_colour(int c, int background) {
  if (c == background) return {48, 52, 58};
  const double h = std::fmod(c * 137.508 + 200.0, 360.0) / 60.0;  // golden-angle hues
  const double s = 0.65;
  const double v = 0.9;
  const double f = h - std::floor(h);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = v, g = t, b = p;
  switch (static_cast<int>(h) % 6) {
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    case 5: r = v; g = p; b = q; break;
    default: break;
  }
  return {static_cast<std::uint8_t>(r * 255), static_cast<std::uint8_t>(g * 255), static_cast<std::uint8_t>(b * 255)};
}

void chunk(std::ofstream& out, const char* type, const std::vector<std::uint8_t>& data) {
  const auto n = static_cast<std::uint32_t>(data.size());
  const std::uint8_t len[4] = {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                               static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  out.write(reinterpret_cast<const char*>(len), 4);
  out.write(type, 4);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(type), 4);
  crc = crc32(crc, data.data(), static_cast<uInt>(data.size()));
  const std::uint8_t c[4] = {static_cast<std::uint8_t>(crc >> 24), static_cast<std::uint8_t>(crc >> 16),
                             static_cast<std::uint8_t>(crc >> 8), static_cast<std::uint8_t>(crc)};
  out.write(reinterpret_cast<const char*>(c), 4);
}

}  // namespace

void write_timeline_png(const std::filesystem::path& file, const std::vector<TimelineRow>& videos, int background,
                        int width) {
  constexpr int kRow = 12, kGap = 2, kSpace = 10, kMargin = 8;
  const int height = kMargin * 2 + static_cast<int>(videos.size()) * (2 * kRow + kGap + kSpace) - (videos.empty() ? 0 : kSpace);
  const int inner = width - 2 * kMargin;
  std::vector<Rgb> px(static_cast<std::size_t>(width) * std::max(height, 1), Rgb{20, 24, 28});
  int y = kMargin;
  for (const auto& v : videos) {
    for (const auto* labels : {&v.truth, &v.predicted}) {
      const std::size_t n = labels->size();
      for (int x = 0; x < inner && n > 0; ++x) {
        const std::size_t frame = std::min(n - 1, static_cast<std::size_t>(x) * n / static_cast<std::size_t>(inner));
        const Rgb c = class_colour((*labels)[frame], background);
        for (int r = 0; r < kRow; ++r) px[static_cast<std::size_t>(y + r) * width + kMargin + x] = c;
      }
      y += kRow + kGap;
    }
    y += kSpace - kGap;
  }
  std::vector<std::uint8_t> raw;  // filter byte 0 + RGB per row
  raw.reserve(static_cast<std::size_t>(height) * (1 + 3 * width));
  for (int r = 0; r < height; ++r) {
    raw.push_back(0);
    for (int x = 0; x < width; ++x) {
      const Rgb& c = px[static_cast<std::size_t>(r) * width + x];
      raw.insert(raw.end(), c.begin(), c.end());
    }
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> z(size);
  if (compress2(z.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK) {
    throw std::runtime_error(file.string() + ": cannot compress the image");
  }
  z.resize(size);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(file.string() + ": cannot write file");
  const char sig[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
  out.write(sig, 8);
  const auto w = static_cast<std::uint32_t>(width), h = static_cast<std::uint32_t>(height);
  chunk(out, "IHDR", {static_cast<std::uint8_t>(w >> 24), static_cast<std::uint8_t>(w >> 16), static_cast<std::uint8_t>(w >> 8),
                      static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(h >> 24), static_cast<std::uint8_t>(h >> 16),
                      static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h), 8, 2, 0, 0, 0});
  chunk(out, "IDAT", z);
  chunk(out, "IEND", {});
  if (!out) throw std::runtime_error(file.string() + ": cannot write file");
}

}  // namespace actiond::tools
