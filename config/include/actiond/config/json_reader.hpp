#pragma once
// Strict reading of one JSON object of a config file: typed getters with defaults, every key a
// getter did not ask for is an error, and every error names the file and the JSON pointer of the
// key ("cameras/door.json: /fps: must be > 0, got 0").
//
// Thread-safety: none needed; a reader lives on one thread while a file is parsed.
#include "actiond/config/enum_names.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace actiond::config {

// Every error of config loading is one of these; what() is the full, user-facing message.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a file into JSON; errors name the file (`label`) and, for syntax errors, line and column.
nlohmann::json read_json_file(const std::string& path, const std::string& label);
nlohmann::json read_json_text(const std::string& text, const std::string& label);  // the same, for text from elsewhere

class ObjectReader {
 public:
  // `file` is the label used in messages, `pointer` the JSON pointer of `object` ("" for the root).
  ObjectReader(const nlohmann::json& object, std::string file, std::string pointer);

  std::string required_string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  double number(const std::string& key, double fallback);
  int integer(const std::string& key, int fallback);
  bool boolean(const std::string& key, bool fallback);
  // Read and range-check in one step ("must be between lo and hi, got v").
  int integer_in(const std::string& key, int fallback, int lo, int hi);
  double number_in(const std::string& key, double fallback, double lo, double hi);
  // One of a fixed set of names, as its enum value ("must be \"a\" or \"b\", got \"c\"").
  template <typename E, std::size_t N>
  E choice(const std::string& key, E fallback, const EnumNames<E, N>& names) {
    const std::string got = string(key, std::string(name_of(names, fallback)));
    if (const auto v = value_of(names, got)) return *v;
    fail(key, "must be " + names_text(names) + ", got \"" + got + "\"");
  }
  // An array of non-empty strings (absent: `fallback`).
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback = {});
  // An object whose values are all strings (absent: empty).
  std::map<std::string, std::string> string_map(const std::string& key);
  // The first line of the file named at `key` (relative to `dir`), trailing spaces and CR removed;
  // "" when the key is absent. For secrets: the message names the file, never its content.
  std::string secret_file(const std::string& key, const std::filesystem::path& dir);
  // A ZeroMQ endpoint that must start with tcp:// or ipc://.
  std::string endpoint(const std::string& key, const std::string& fallback);
  // Nested object; absent means an empty object (all defaults).
  ObjectReader object(const std::string& key);
  // Calls `fn(name, reader)` for each member of the object at `key` (absent = none).
  void each_object(const std::string& key, const std::function<void(const std::string&, ObjectReader&)>& fn);
  bool has(const std::string& key) const;
  // The raw value at `key` (nullptr when absent), marked as known; for values with custom checks.
  const nlohmann::json* raw(const std::string& key) { return find(key); }

  // A file's root may name the JSON Schema it follows ("$schema", for editors): accepted when it is a
  // string, otherwise ignored, and never listed among the expected keys.
  void accept_schema_key();
  // Throws for the first key no getter asked for.
  void finish() const;

  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  std::string pointer_of(const std::string& key) const;
  const std::string& file() const { return file_; }

 private:
  const nlohmann::json* find(const std::string& key);
  const nlohmann::json& object_;
  std::string file_;
  std::string pointer_;
  std::set<std::string> known_;
  bool schema_key_ = false;  // accept_schema_key() was called
};

// Range checks that produce the project's standard messages.
void require_greater(ObjectReader& r, const std::string& key, double value, double bound);
void require_range(ObjectReader& r, const std::string& key, double value, double lo, double hi);

// Human-readable number for messages: 0, 2.5, 1e-06.
std::string format_number(double v);

}  // namespace actiond::config
