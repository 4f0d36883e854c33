#include "actiond/config/json_reader.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

namespace actiond::config {

using nlohmann::json;

namespace {

std::string type_name(const json& v) {
  if (v.is_number()) return "number";
  return v.type_name();
}

std::string escape_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

}  // namespace

std::string format_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  std::ostringstream s;
  s << v;
  return s.str();
}

json read_json_file(const std::string& path, const std::string& label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(label + ": cannot open file");
  std::stringstream buf;
  buf << in.rdbuf();
  return read_json_text(buf.str(), label);
}

json read_json_text(const std::string& text, const std::string& label) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep "parse error at line L, column C: ...".
    std::string what = e.what();
    auto pos = what.find("] ");
    if (pos != std::string::npos) what = what.substr(pos + 2);
    throw ConfigError(label + ": invalid JSON: " + what);
  }
}

ObjectReader::ObjectReader(const json& object, std::string file, std::string pointer)
    : object_(object), file_(std::move(file)), pointer_(std::move(pointer)) {
  if (!object_.is_object()) {
    throw ConfigError(file_ + ": " + (pointer_.empty() ? "/" : pointer_) + ": must be an object, got " +
                      type_name(object_));
  }
}

std::string ObjectReader::pointer_of(const std::string& key) const {
  return pointer_ + "/" + escape_pointer_token(key);
}

void ObjectReader::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(file_ + ": " + pointer_of(key) + ": " + message);
}

bool ObjectReader::has(const std::string& key) const { return object_.contains(key); }

const json* ObjectReader::find(const std::string& key) {
  known_.insert(key);
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

std::string ObjectReader::required_string(const std::string& key) {
  const json* v = find(key);
  if (v == nullptr) fail(key, "is required");
  if (!v->is_string()) fail(key, "must be a string, got " + type_name(*v));
  auto s = v->get<std::string>();
  if (s.empty()) fail(key, "must not be empty");
  return s;
}

std::string ObjectReader::string(const std::string& key, const std::string& fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) fail(key, "must be a string, got " + type_name(*v));
  return v->get<std::string>();
}

double ObjectReader::number(const std::string& key, double fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) fail(key, "must be a number, got " + type_name(*v));
  return v->get<double>();
}

int ObjectReader::integer(const std::string& key, int fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) fail(key, "must be an integer, got " + (v->is_number() ? v->dump() : type_name(*v)));
  auto value = v->get<long long>();
  if (value < -2147483647LL || value > 2147483647LL) fail(key, "is out of range, got " + v->dump());
  return static_cast<int>(value);
}

bool ObjectReader::boolean(const std::string& key, bool fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(key, "must be true or false, got " + type_name(*v));
  return v->get<bool>();
}

int ObjectReader::integer_in(const std::string& key, int fallback, int lo, int hi) {
  const int v = integer(key, fallback);
  require_range(*this, key, v, lo, hi);
  return v;
}

double ObjectReader::number_in(const std::string& key, double fallback, double lo, double hi) {
  const double v = number(key, fallback);
  require_range(*this, key, v, lo, hi);
  return v;
}

std::vector<std::string> ObjectReader::strings(const std::string& key, const std::vector<std::string>& fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_array()) fail(key, "must be an array of strings, got " + type_name(*v));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (!e.is_string() || e.get<std::string>().empty()) {
      throw ConfigError(file_ + ": " + pointer_of(key) + "/" + std::to_string(i) + ": must be a non-empty string, got " +
                        (e.is_string() ? "\"\"" : type_name(e)));
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> ObjectReader::string_map(const std::string& key) {
  const json* v = find(key);
  std::map<std::string, std::string> out;
  if (v == nullptr) return out;
  if (!v->is_object()) fail(key, "must be an object of strings, got " + type_name(*v));
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) {
      throw ConfigError(file_ + ": " + pointer_of(key) + "/" + escape_pointer_token(k) + ": must be a string, got " +
                        type_name(e));
    }
    out.emplace(k, e.get<std::string>());
  }
  return out;
}

std::string ObjectReader::secret_file(const std::string& key, const std::filesystem::path& dir) {
  const std::string name = string(key, "");
  if (name.empty()) return "";
  const std::filesystem::path p = std::filesystem::path(name).is_absolute() ? std::filesystem::path(name) : dir / name;
  std::ifstream in(p);
  if (!in) fail(key, "cannot read \"" + p.string() + "\"");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) fail(key, "\"" + p.string() + "\" is empty");
  return line;
}

std::string ObjectReader::endpoint(const std::string& key, const std::string& fallback) {
  std::string v = string(key, fallback);
  if (v.rfind("tcp://", 0) != 0 && v.rfind("ipc://", 0) != 0) {
    fail(key, "must start with tcp:// or ipc://, got \"" + v + "\"");
  }
  return v;
}

ObjectReader ObjectReader::object(const std::string& key) {
  static const json empty = json::object();
  const json* v = find(key);
  if (v == nullptr) return ObjectReader(empty, file_, pointer_of(key));
  return ObjectReader(*v, file_, pointer_of(key));
}

void ObjectReader::each_object(const std::string& key,
                               const std::function<void(const std::string&, ObjectReader&)>& fn) {
  ObjectReader outer = object(key);
  for (const auto& [name, value] : outer.object_.items()) {
    ObjectReader inner(value, file_, outer.pointer_of(name));
    fn(name, inner);
    inner.finish();
  }
}

void ObjectReader::accept_schema_key() {
  schema_key_ = true;
  const auto it = object_.find("$schema");
  if (it != object_.end() && !it->is_string()) {
    fail("$schema", "must be a string (the URI or path of the JSON Schema this file follows)");
  }
}

void ObjectReader::finish() const {
  for (const auto& [key, value] : object_.items()) {
    if (known_.count(key) != 0 || (schema_key_ && key == "$schema")) continue;
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    fail(key, "unknown key (expected one of: " + list + ")");
  }
}

void require_greater(ObjectReader& r, const std::string& key, double value, double bound) {
  if (!(value > bound)) r.fail(key, "must be > " + format_number(bound) + ", got " + format_number(value));
}

void require_range(ObjectReader& r, const std::string& key, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {
    r.fail(key, "must be between " + format_number(lo) + " and " + format_number(hi) + ", got " +
                    format_number(value));
  }
}

}  // namespace actiond::config
