#pragma once
// One table per enum of its names as they appear in JSON (config files, events, metrics labels):
//
//   inline constexpr EnumNames<Mode, 2> kModeNames{{{Mode::fast, "fast"}, {Mode::exact, "exact"}}};
//   name_of(kModeNames, Mode::fast) == "fast";  value_of(kModeNames, "exact") == Mode::exact;
//
// Thread-safety: constant tables and pure functions.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace actiond::config {

template <typename E, std::size_t N>
using EnumNames = std::array<std::pair<E, std::string_view>, N>;

// The name of `value` ("?" for a value the table lacks, which a complete table never does).
template <typename E, std::size_t N>
constexpr std::string_view name_of(const EnumNames<E, N>& names, E value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "?";
}

template <typename E, std::size_t N>
constexpr std::optional<E> value_of(const EnumNames<E, N>& names, std::string_view name) {
  for (const auto& [v, n] : names) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// "\"a\" or \"b\"", "one of \"a\", \"b\", or \"c\"": for error messages.
template <typename E, std::size_t N>
std::string names_text(const EnumNames<E, N>& names) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    out += i == 0 ? "" : (i + 1 == N ? (N == 2 ? " or " : ", or ") : ", ");
    out += "\"" + std::string(names[i].second) + "\"";
  }
  return N > 2 ? "one of " + out : out;
}

}  // namespace actiond::config
