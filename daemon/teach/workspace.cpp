#include "actiond/daemon/teach/workspace.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace actiond::daemon::teach {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::set<std::string> kVideoExtensions = {".mp4", ".mkv", ".webm", ".mov", ".m4v", ".avi", ".ts"};

bool is_video(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kVideoExtensions.count(ext) > 0;
}

double modified_s(const fs::path& p) {
  std::error_code ec;
  const auto t = fs::last_write_time(p, ec);
  if (ec) return 0.0;
  const auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration<double>(sys.time_since_epoch()).count();
}

// `child` (normalised, symlinks followed) is `root` or inside it.
bool inside(const fs::path& root, const fs::path& child) {
  std::error_code ec;
  const fs::path r = fs::weakly_canonical(root, ec);
  const fs::path c = fs::weakly_canonical(child, ec);
  if (ec) return false;
  const auto [end, _] = std::mismatch(r.begin(), r.end(), c.begin(), c.end());
  return end == r.end();
}

json read_json(const fs::path& p, const json& fallback) {
  std::ifstream in(p);
  if (!in) return fallback;
  json j = json::parse(in, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

void write_json(const fs::path& p, const json& j) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(1) << "\n";
    if (!out) throw TeachError(500, "cannot write " + tmp.string());
  }
  fs::rename(tmp, p);
}

bool valid_label(const std::string& s) {
  if (s.empty() || s.size() > 40 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == ' ' || c == '.'; });
}

std::string fmt(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// CSV fields of one line (quotes as RFC 4180 writes them).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

// The segment list of an import: JSON (a list, or {"segments": [...]}) or CSV with a header row.
json parse_segment_list(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw TeachError(400, "the segment list is empty");
  if (text[first] == '[' || text[first] == '{') {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw TeachError(400, "the segment list is neither CSV nor valid JSON");
    if (j.is_object() && j.contains("segments")) j = j["segments"];
    if (!j.is_array()) throw TeachError(400, "a JSON segment list is a list of {\"video\", \"label\", \"start\", \"end\"}");
    return j;
  }
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  const auto header = csv_fields(line);
  if (header != std::vector<std::string>{"video", "label", "start", "end"}) {
    throw TeachError(400, "line 1: the header must be video,label,start,end");
  }
  json out = json::array();
  for (int no = 2; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto f = csv_fields(line);
    if (f.size() != 4) throw TeachError(400, "line " + std::to_string(no) + ": expected 4 fields, got " + std::to_string(f.size()));
    json seg = {{"video", f[0]}, {"label", f[1]}};
    for (int k : {2, 3}) {
      char* end = nullptr;
      const double v = std::strtod(f[k].c_str(), &end);
      if (f[k].empty() || end != f[k].c_str() + f[k].size()) {
        throw TeachError(400, "line " + std::to_string(no) + ": " + header[k] + " \"" + f[k] + "\" is not a number of seconds");
      }
      seg[header[k]] = v;
    }
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

std::string video_stem(const std::string& recording_id) {
  std::string s = fs::path(recording_id).replace_extension().string();
  std::string out;
  for (char c : s) out += c == '/' ? std::string("__") : std::string(1, c);
  return out;
}

Workspace::Workspace(WorkspacePaths paths) : paths_(std::move(paths)) {}

json Workspace::recordings() const {
  json out = json::array();
  const auto add = [&](const std::string& source, const fs::path& root, bool by_camera) {
    std::error_code ec;
    if (root.empty() || !fs::is_directory(root, ec)) return;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec) || !is_video(it->path()) || it->path().filename().string().starts_with(".")) continue;
      const std::string rel = fs::relative(it->path(), root, ec).generic_string();
      json r = {{"id", source + "/" + rel}, {"source", source}, {"bytes", it->file_size(ec)},
                {"modified", modified_s(it->path())}};
      if (by_camera) r["camera"] = rel.substr(0, rel.find('/'));
      out.push_back(std::move(r));
    }
  };
  add("clips", paths_.clips_dir, true);
  add("media", paths_.media_dir, false);
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["modified"] > b["modified"]; });
  return out;
}

fs::path Workspace::recording_file(const std::string& id) const {
  const auto slash = id.find('/');
  const std::string source = id.substr(0, slash);
  const fs::path root = source == "clips" ? paths_.clips_dir : source == "media" ? paths_.media_dir : fs::path();
  if (slash == std::string::npos || root.empty()) {
    throw TeachError(404, "no recording '" + id + "' (recordings are clips/CAMERA/FILE or media/PATH)");
  }
  const fs::path rel(id.substr(slash + 1));
  const fs::path file = (root / rel).lexically_normal();
  if (rel.empty() || rel.is_absolute() || !inside(root, file)) {
    throw TeachError(403, "recording '" + id + "' is outside the " + source + " folder");
  }
  std::error_code ec;
  if (!fs::is_regular_file(file, ec) || !is_video(file)) throw TeachError(404, "no recording '" + id + "'");
  return file;
}

fs::path Workspace::folder(const std::string& name) const {
  if (!valid_name(name)) {
    throw TeachError(400, "dataset name '" + name + "': 1-64 letters, digits, '_', '-', '.', starting with a letter or digit");
  }
  return paths_.dir / "datasets" / name;
}

json Workspace::datasets() const {
  json out = json::array();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.dir / "datasets", ec)) {
    if (!e.is_directory() || !valid_name(e.path().filename().string())) continue;
    const json d = dataset(e.path().filename().string());
    std::set<std::string> videos;
    for (const auto& s : d["segments"]) videos.insert(s["video"].get<std::string>());
    out.push_back({{"name", d["name"]}, {"labels", d["labels"]}, {"segments", d["segments"].size()},
                   {"videos", videos.size()}, {"modified", modified_s(e.path() / "segments.json")}});
  }
  return out;
}

json Workspace::dataset(const std::string& name) const {
  const fs::path dir = folder(name);
  if (!fs::is_directory(dir)) throw TeachError(404, "no dataset '" + name + "'");
  const json meta = read_json(dir / "labels.json", json::object());
  const json recordings = meta.value("recordings", json::object());
  json segments = json::array();
  for (const auto& s : read_json(dir / "segments.json", json::array())) {
    json seg = s;
    seg["video"] = recordings.value(s.value("video", ""), s.value("video", ""));
    segments.push_back(std::move(seg));
  }
  return {{"name", name}, {"labels", meta.value("labels", json::array())}, {"segments", segments}};
}

void Workspace::link_video(const fs::path& dir, const std::string& id) const {
  const fs::path src = recording_file(id);
  const fs::path dst = dir / "videos" / (video_stem(id) + src.extension().string());
  std::error_code ec;
  if (fs::exists(dst, ec)) return;
  fs::create_hard_link(src, dst, ec);  // another file system: a copy
  if (ec) fs::copy_file(src, dst, ec);
  if (ec) throw TeachError(500, "cannot add " + id + " to the dataset: " + ec.message());
}

json Workspace::save(const std::string& name, const json& body) {
  const fs::path dir = folder(name);
  if (!body.is_object()) throw TeachError(400, "a dataset is a JSON object {\"labels\": [...], \"segments\": [...]}");
  for (const auto& [key, _] : body.items()) {
    if (key != "labels" && key != "segments" && key != "name") throw TeachError(400, "unknown key '" + key + "'");
  }
  const json labels = body.value("labels", json::array());
  const json segments = body.value("segments", json::array());
  if (!labels.is_array()) throw TeachError(400, "labels: must be a list of names");
  if (!segments.is_array()) throw TeachError(400, "segments: must be a list of {video, label, start, end}");
  std::vector<std::string> names;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    const std::string where = "labels[" + std::to_string(k) + "]";
    if (!labels[k].is_string() || !valid_label(labels[k].get<std::string>())) {
      throw TeachError(400, where + ": 1-40 letters, digits, ' ', '_', '-', '.', starting with a letter or digit");
    }
    if (std::find(names.begin(), names.end(), labels[k].get<std::string>()) != names.end()) {
      throw TeachError(400, where + ": \"" + labels[k].get<std::string>() + "\" is listed twice");
    }
    names.push_back(labels[k]);
  }
  std::lock_guard lock(write_mu_);
  const json old_meta = read_json(dir / "labels.json", json::object());
  std::set<std::string> kept;  // videos already in the dataset (their recording may be gone)
  const json old_recordings = old_meta.contains("recordings") ? old_meta["recordings"] : json::object();
  for (const auto& [stem, id] : old_recordings.items()) kept.insert(id.get<std::string>());
  std::map<std::string, std::vector<std::pair<double, std::size_t>>> by_video;  // id -> (start, index)
  json rows = json::array();
  json recordings = json::object();
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const json& s = segments[k];
    const std::string where = "segments[" + std::to_string(k) + "]";
    if (!s.is_object() || !s.contains("video") || !s["video"].is_string() || !s.contains("label") ||
        !s["label"].is_string() || !s.contains("start") || !s["start"].is_number() || !s.contains("end") ||
        !s["end"].is_number()) {
      throw TeachError(400, where + ": must be {\"video\": ID, \"label\": NAME, \"start\": S, \"end\": S}");
    }
    const std::string video = s["video"], label = s["label"];
    const double start = s["start"], end = s["end"];
    if (std::find(names.begin(), names.end(), label) == names.end()) {
      throw TeachError(400, where + ".label: \"" + label + "\" is not one of the labels");
    }
    if (!(start >= 0.0) || !(end > start)) {
      throw TeachError(400, where + ": start " + fmt(start) + " s, end " + fmt(end) + " s (0 <= start < end)");
    }
    if (kept.count(video) == 0) {
      try {
        (void)recording_file(video);
      } catch (const TeachError& e) {
        throw TeachError(400, where + ".video: " + e.what());
      }
    }
    by_video[video].emplace_back(start, k);
    recordings[video_stem(video)] = video;
    rows.push_back({{"video", video_stem(video)}, {"label", label}, {"start", start}, {"end", end}});
  }
  for (auto& [video, starts] : by_video) {
    std::sort(starts.begin(), starts.end());
    for (std::size_t i = 1; i < starts.size(); ++i) {
      const auto& prev = segments[starts[i - 1].second];
      if (prev["end"].get<double>() > starts[i].first) {
        throw TeachError(400, "segments[" + std::to_string(starts[i].second) + "]: overlaps segments[" +
                                  std::to_string(starts[i - 1].second) + "] in " + video);
      }
    }
  }
  fs::create_directories(dir / "videos");
  for (const auto& [video, _] : by_video) link_video(dir, video);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "videos", ec)) {  // a video no segment names is not trained on
    if (!recordings.contains(e.path().stem().string())) fs::remove(e.path(), ec);
  }
  write_json(dir / "labels.json", {{"labels", names}, {"recordings", recordings}});
  write_json(dir / "segments.json", rows);
  return dataset(name);
}

json Workspace::import(const std::string& name, const std::string& text, bool replace) {
  const json incoming = parse_segment_list(text);
  json current = {{"labels", json::array()}, {"segments", json::array()}};
  if (fs::is_directory(folder(name))) current = dataset(name);
  if (replace) current["segments"] = json::array();
  for (std::size_t k = 0; k < incoming.size(); ++k) {
    const json& s = incoming[k];
    if (s.is_object() && s.contains("label") && s["label"].is_string()) {
      const auto& labels = current["labels"];
      if (std::find(labels.begin(), labels.end(), s["label"]) == labels.end()) current["labels"].push_back(s["label"]);
    }
    current["segments"].push_back(s);
  }
  current.erase("name");
  return save(name, current);
}

std::string Workspace::export_csv(const std::string& name) const {
  const json d = dataset(name);
  std::string out = "video,label,start,end\n";
  for (const auto& s : d["segments"]) {
    out += s.value("video", "") + "," + s.value("label", "") + "," + fmt(s.value("start", 0.0)) + "," +
           fmt(s.value("end", 0.0)) + "\n";
  }
  return out;
}

fs::path Workspace::dataset_dir(const std::string& name) const {
  const json d = dataset(name);
  if (d["segments"].empty()) throw TeachError(409, "dataset '" + name + "' has no labelled segment yet");
  return folder(name);
}

}  // namespace actiond::daemon::teach
