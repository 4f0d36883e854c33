#pragma once
// Teach your own actions: the recordings a user may label and the datasets they label
// (docs/TEACH.md).
//   recordings  the camera clips (<clips dir>/<camera>/<file>.mp4, id "clips/<camera>/<file>") and the
//               video files under teach.media_dir (id "media/<path>"); nothing outside them is served
//   datasets    <teach dir>/datasets/<name>/ in the layout actiond-train reads: videos/ (a hard link, or
//               a copy, of each labelled recording, so a clip deleted by retention stays labelled),
//               segments.json (video, label, start, end in seconds), and labels.json (the label set,
//               which recording each video came from)
// Every problem is a TeachError with the HTTP status it answers and a message naming the field.
//
// Thread-safety: every member may be called from any thread; writes of one dataset are serialised.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace actiond::daemon::teach {

class TeachError : public std::runtime_error {
 public:
  TeachError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct WorkspacePaths {
  std::filesystem::path dir;        // teach.dir
  std::filesystem::path media_dir;  // teach.media_dir (empty: none)
  std::filesystem::path clips_dir;  // clips.dir (empty: none)
};

class Workspace {
 public:
  explicit Workspace(WorkspacePaths paths);

  // [{id, source: "clips"|"media", camera (clips), bytes, modified (Unix s)}], newest first.
  nlohmann::json recordings() const;
  // The file behind a recording id; TeachError 404 when there is none, 403 when it would leave its folder.
  std::filesystem::path recording_file(const std::string& id) const;

  // [{name, videos, segments, labels, modified}].
  nlohmann::json datasets() const;
  // {name, labels: [...], segments: [{video: recording id, label, start, end}]}; 404 when absent.
  nlohmann::json dataset(const std::string& name) const;
  // Replaces the dataset with `body` ({labels, segments}) after checking it all (400 naming the field).
  nlohmann::json save(const std::string& name, const nlohmann::json& body);
  // Adds (or with `replace`, sets) the segments of a segment list (CSV with a header video,label,
  // start,end, or JSON: a list of {video, label, start, end}); 400 naming the line or item.
  nlohmann::json import(const std::string& name, const std::string& text, bool replace);
  // The segment list as CSV (video,label,start,end; video = recording id).
  std::string export_csv(const std::string& name) const;
  // The folder actiond-train reads; 404 when the dataset has no segment yet.
  std::filesystem::path dataset_dir(const std::string& name) const;

  const WorkspacePaths& paths() const { return paths_; }

 private:
  std::filesystem::path folder(const std::string& name) const;  // 400 on a bad name
  void link_video(const std::filesystem::path& dir, const std::string& id) const;

  WorkspacePaths paths_;
  mutable std::mutex write_mu_;
};

// A dataset or job name: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit.
bool valid_name(const std::string& name);
// The file name stem of a recording in a dataset's videos/ ("clips/cam/a" -> "clips__cam__a").
std::string video_stem(const std::string& recording_id);

}  // namespace actiond::daemon::teach
