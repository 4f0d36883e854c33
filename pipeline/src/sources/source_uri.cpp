#include "actiond/pipeline/sources/source_uri.hpp"

#include "gst/gst_util.hpp"

#include <charconv>
#include <regex>

namespace actiond::pipeline {

namespace {

// A comma-separated value list (cycle=black,red).
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool is_pattern_name(const std::string& name) {
  detail::ensure_gst_initialized();
  detail::ElementPtr probe(gst_element_factory_make("videotestsrc", nullptr));
  if (!probe) throw UriError("GStreamer element videotestsrc is missing (install gstreamer1.0-plugins-base)");
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(probe.get()), "pattern");
  auto* klass = G_PARAM_SPEC_ENUM(spec)->enum_class;
  return g_enum_get_value_by_nick(klass, name.c_str()) != nullptr;
}

template <typename T>
T parse_num(const std::string& uri, const std::string& key, const std::string& value, T lo, T hi) {
  T out{};
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || p != value.data() + value.size() || out < lo || out > hi) {
    throw UriError(uri + ": " + key + " must be a number between " + std::to_string(lo) + " and " +
                   std::to_string(hi) + ", got \"" + value + "\"");
  }
  return out;
}

// Built-in cameras: "<scheme>://<name>?key=value&...". `known` lists the keys the camera accepts.
SourceSpec parse_builtin_uri(const std::string& uri, const std::string& scheme, const std::string& name,
                             const std::string& known) {
  SourceSpec spec;
  spec.kind = scheme == "test" ? SourceSpec::Kind::test_pattern : SourceSpec::Kind::synthetic;
  spec.live = true;
  if (spec.kind == SourceSpec::Kind::synthetic) {
    spec.pattern.width = 320;
    spec.pattern.height = 240;
  }
  // GLib splits the URI and its query (in order, percent-decoded); we check the names and values.
  GError* raw_error = nullptr;
  char* raw_host = nullptr;
  char* raw_path = nullptr;
  char* raw_query = nullptr;
  const bool split_ok = g_uri_split(uri.c_str(), G_URI_FLAGS_ENCODED_QUERY, nullptr, nullptr, &raw_host, nullptr,
                                    &raw_path, &raw_query, nullptr, &raw_error);
  const detail::CharPtr host(raw_host), path(raw_path), query(raw_query);
  const detail::ErrorPtr split_error(raw_error);
  if (!split_ok) throw UriError(uri + ": not a valid URI (" + split_error->message + ")");
  const std::string where = std::string(host ? host.get() : "") + (path ? path.get() : "");
  if (where != name) {
    throw UriError(uri + ": unknown " + (scheme == "test" ? "test" : "synthetic") + " camera \"" + where +
                   "\" (known: " + name + ")");
  }
  if (!query || *query == '\0') return spec;
  GUriParamsIter items;
  g_uri_params_iter_init(&items, query.get(), -1, "&", G_URI_PARAMS_NONE);
  for (;;) {
    char* raw_key = nullptr;
    char* raw_value = nullptr;
    raw_error = nullptr;
    const bool more = g_uri_params_iter_next(&items, &raw_key, &raw_value, &raw_error);
    const detail::CharPtr key_text(raw_key), value_text(raw_value);
    const detail::ErrorPtr item_error(raw_error);
    if (item_error) throw UriError(uri + ": every query item must be key=value");
    if (!more) break;
    const std::string key = key_text.get();
    const std::string value = value_text.get();
    if ((key == "cycle" || key == "pattern" || key == "period") && spec.kind != SourceSpec::Kind::test_pattern) {
      throw UriError(uri + ": unknown parameter \"" + key + "\" (known: " + known + ")");
    }
    if (key == "seed" && spec.kind == SourceSpec::Kind::synthetic) {
      spec.seed = parse_num<std::uint64_t>(uri, key, value, 0, 1000000000000ULL);
    } else if (key == "cycle" || key == "pattern") {
      spec.pattern.cycle = split(value, ',');
      for (const auto& pattern : spec.pattern.cycle) {
        if (!is_pattern_name(pattern)) {
          throw UriError(uri + ": unknown pattern \"" + pattern + "\" (see gst-inspect-1.0 videotestsrc)");
        }
      }
    } else if (key == "period") {
      spec.pattern.period_s = parse_num<double>(uri, key, value, 0.04, 86400.0);
    } else if (key == "width") {
      spec.pattern.width = parse_num<int>(uri, key, value, 16, 7680);
    } else if (key == "height") {
      spec.pattern.height = parse_num<int>(uri, key, value, 16, 4320);
    } else if (key == "fps") {
      spec.pattern.fps = parse_num<int>(uri, key, value, 1, 240);
    } else {
      throw UriError(uri + ": unknown parameter \"" + key + "\" (known: " + known + ")");
    }
  }
  return spec;
}

}  // namespace

SourceSpec parse_source_uri(const std::string& uri) {
  static const std::regex scheme_re("^([a-z][a-z0-9+.-]*)://(.*)$");
  std::smatch m;
  if (!std::regex_match(uri, m, scheme_re)) throw UriError("\"" + redact_uri(uri) + "\" is not a URI");
  const std::string scheme = m[1];
  if (scheme == "test") return parse_builtin_uri(uri, scheme, "pattern", "cycle, period, width, height, fps");
  if (scheme == "synthetic") return parse_builtin_uri(uri, scheme, "workbench", "seed, width, height, fps");
  SourceSpec spec;
  spec.uri = uri;
  if (scheme == "file") {
    if (m[2].str().empty() || m[2].str()[0] != '/') {
      throw UriError(uri + ": file URIs need an absolute path (file:///path/to/video.mp4)");
    }
    spec.live = false;
  } else if (scheme == "features") {
    if (m[2].str().empty() || m[2].str()[0] != '/') throw UriError(uri + ": expected features:///path/to/features.npy");
    spec.kind = SourceSpec::Kind::features;
    spec.device = m[2].str();
    spec.live = false;
  } else if (scheme == "v4l2") {
    if (m[2].str().empty() || m[2].str()[0] != '/') throw UriError(uri + ": expected v4l2:///dev/videoN");
    spec.kind = SourceSpec::Kind::v4l2;
    spec.device = m[2].str();
    spec.live = true;
  } else if (scheme == "rtsp" || scheme == "rtsps" || scheme == "http" || scheme == "https") {
    spec.live = true;
  } else {
    throw UriError(redact_uri(uri) + ": unsupported scheme \"" + scheme + "\"");
  }
  return spec;
}

std::string redact_uri(const std::string& uri) {
  // Any URI inside the text (messages quote them too), not only at its start.
  static const std::regex cred_re("([A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s]*@");
  return std::regex_replace(uri, cred_re, "$1***@");
}

}  // namespace actiond::pipeline
