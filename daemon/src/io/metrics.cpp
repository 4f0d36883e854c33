#include "actiond/daemon/io/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <malloc.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <vector>
#include <sstream>
#include <stdexcept>

namespace actiond::daemon {

namespace {

// Fine between 50 and 250 ms, where latency targets (100, 200 ms) are read off.
const std::vector<double> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5, 10};

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string format(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string label_text(const Labels& labels, const std::string& extra_key = "", const std::string& extra = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += (first ? "" : ",") + k + "=\"" + escape(v) + "\"";
    first = false;
  }
  if (!extra_key.empty()) out += (first ? "" : ",") + extra_key + "=\"" + extra + "\"";
  return out + "}";
}

// CPU seconds (user + system), start time (Unix seconds) and virtual memory from /proc/self/stat.
struct ProcStat {
  double cpu_s = 0, start_s = 0, virtual_bytes = 0;
};
ProcStat proc_stat() {
  ProcStat out;
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return out;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string w; fields >> w;) f.push_back(w);
  // Field numbers of proc(5) minus 3 (pid and comm are gone, the state is f[0]).
  if (f.size() < 21) return out;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  out.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / tick;
  out.virtual_bytes = std::stod(f[20]);
  std::ifstream st("/proc/stat");
  for (std::string line; std::getline(st, line);) {
    if (line.rfind("btime ", 0) == 0) out.start_s = std::stod(line.substr(6)) + std::stod(f[19]) / tick;
  }
  return out;
}

double max_fds() {
  struct rlimit r{};
  return ::getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<double>(r.rlim_cur) : 0;
}

// Resident memory in bytes and thread count from /proc/self/status.
std::pair<double, double> proc_status() {
  std::ifstream in("/proc/self/status");
  std::string line;
  double rss = 0;
  double threads = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) * 1024;
    if (line.rfind("Threads:", 0) == 0) threads = std::stod(line.substr(8));
  }
  return {rss, threads};
}

double open_fds() {
  double n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
    n -= 3;  // ".", ".." and the directory's own fd
  }
  return n;
}

}  // namespace

Metrics::Metrics() {
  declare("actiond_frames_decoded_total", "counter", "Frames decoded from the source (before rate limiting).");
  declare("actiond_frames_in_total", "counter", "Frames handed to the analysis queue (after rate limiting).");
  declare("actiond_frames_analysed_total", "counter", "Frames that went through the backbone or pose model, per camera.");
  declare("actiond_scene_cuts_total", "counter",
          "Pose cameras: cuts of the whole picture (a blank frame, an edit, a camera switch) that ended every track.");
  declare("actiond_pose_frames_total", "counter",
          "Analysed frames of pose cameras by result: ran (the pose model) or skipped (gated: tracks coasted).");
  declare("actiond_person_tracks", "gauge", "Person tracks (tentative and confirmed) per pose camera.");
  declare("actiond_person_detections_dropped_total", "counter",
          "Person detections not tracked, per camera and reason (max_tracks: the camera's bound was in use).");
  declare("actiond_frames_dropped_total", "counter",
          "Frames not analysed, per camera and reason (rate_limit: above the analysis rate, before scaling; "
          "queue_full: inference behind; undecided: left the segmenter window before being decided).");
  declare("actiond_frames_in_per_second", "gauge", "Decoded frames per second from the source, recent.");
  declare("actiond_camera_state", "gauge", "1 for the camera's current state, 0 for the others.");
  declare("actiond_camera_reconnects_total", "counter", "Reconnect attempts per camera.");
  declare("actiond_events_total", "counter", "Events emitted per camera and type.");
  declare("actiond_segment_ends_total", "counter", "Segments ended per camera and end_reason.");
  declare("actiond_frame_latency_seconds", "histogram",
          "Processing latency: arrival of the frame that completes a decision (the segmenter's look-ahead frame) "
          "to the decision's events being handed to the publisher.",
          kLatencyBuckets);
  declare("actiond_model_batch_size", "histogram", "Frames per backbone call.", {1, 2, 4, 8, 16, 32, 64});
  declare("actiond_model_inference_seconds", "histogram", "Time per model call, per model.", kLatencyBuckets);
  declare("actiond_inference_errors_total", "counter", "Failed model calls, per stage.");
  declare("actiond_events_sent_total", "counter", "Events handed to the PUB socket.");
  declare("actiond_events_dropped_total", "counter", "Events dropped because the publisher queue was full.");
  declare("actiond_slow_subscriber_stalls_total", "counter", "Times a subscriber's queue reached sndhwm.");
  declare("actiond_journal_failures_total", "counter", "Journal writes that failed.");
  declare("actiond_journal_sink_losses_total", "counter",
          "Events deleted from the journal before every sink delivered them (journal.sink_backlog_max_mb).");
  declare("actiond_sink_connected", "gauge", "1 while the sink is connected to its broker.");
  declare("actiond_sink_delivered_total", "counter", "Events the sink's broker acknowledged.");
  declare("actiond_sink_backlog", "gauge", "Events journaled but not yet delivered by the sink.");
  declare("actiond_sink_reconnects_total", "counter", "Connections of the sink after its first.");
  declare("actiond_sink_failures_total", "counter", "Failed connects and deliveries of the sink.");
  declare("actiond_sink_lost_total", "counter", "Events gone from the journal before the sink delivered them.");
  declare("actiond_clips_written_total", "counter", "Clips written (clip.ready published).");
  declare("actiond_clips_failed_total", "counter", "Segments whose clip could not be written (logged with the reason).");
  declare("actiond_clips_dropped_total", "counter", "Segment notices the clip queue refused (those segments get no clip).");
  declare("actiond_clips_deleted_total", "counter", "Clips deleted by the disk bound (clips.max_total_mb, clips.max_age_h).");
  declare("actiond_clips_disk_bytes", "gauge", "Bytes of the clips folder at the last check.");
  declare("actiond_clips_ring_bytes", "gauge", "Memory of the cameras' compressed-packet rings (clips.buffer_mb bounds each).");
  declare("actiond_api_index_failures_total", "counter", "Errors of the HTTP API's event index (logged).");
  declare("actiond_cluster_cameras", "gauge", "Cluster mode: cameras this host owns.");
  declare("actiond_cluster_lease_valid", "gauge", "Cluster mode: 1 while this host's etcd lease is known to be alive.");
  declare("actiond_cluster_etcd_requests_total", "counter", "Cluster mode: requests to etcd.");
  declare("actiond_cluster_ownership_changes_total", "counter",
          "Cluster mode: cameras taken (acquired), released (released), handed to another host (handoff), dropped "
          "because the lease was lost (lease_lost) or the log refused this host (fenced).");
  declare("actiond_cluster_log_events_total", "counter",
          "Cluster mode: events published to JetStream (published), refused as a stale owner's (fenced), dropped "
          "as not owned (stale) or because the queue was full (queue_full).");
  declare("actiond_cluster_log_queued", "gauge", "Cluster mode: events waiting for JetStream.");
  declare("actiond_reloads_total", "counter", "Configuration reloads, by result (applied|rejected).");
  declare("actiond_shadow_events_total", "counter",
          "Events of candidate models tried in shadow mode (published on <camera>/shadow.*, never journaled).");
  declare("actiond_supervisor_commands_dropped_total", "counter",
          "Commands posted to the daemon's supervisor (file-event reloads) dropped because its queue was full.");
  declare("actiond_up", "gauge", "1 while the daemon runs.");
  declare("process_resident_memory_bytes", "gauge", "Resident set size.");
  declare("process_threads", "gauge", "Threads of the process.");
  declare("actiond_heap_bytes", "gauge",
          "malloc heap (glibc mallinfo2), by state: in_use (allocated), free (held by malloc, not returned).");
  declare("process_open_fds", "gauge", "Open file descriptors.");
  declare("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  declare("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
  declare("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.");
  declare("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
}

void Metrics::declare(const std::string& name, const std::string& type, const std::string& help,
                      std::vector<double> buckets) {
  families_[name] = Family{type, help, std::move(buckets)};
  series_[name];
}

const Metrics::Family& Metrics::family(const std::string& name) const {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::logic_error("metrics: undeclared family " + name);
  return it->second;
}

void Metrics::add(const std::string& name, const Labels& labels, double v) {
  std::lock_guard lock(mu_);
  family(name);
  series_[name][labels].value += v;
}

void Metrics::set(const std::string& name, const Labels& labels, double v) {
  std::lock_guard lock(mu_);
  family(name);
  series_[name][labels].value = v;
}

void Metrics::observe(const std::string& name, const Labels& labels, double v) {
  std::lock_guard lock(mu_);
  const Family& f = family(name);
  Series& s = series_[name][labels];
  if (s.bucket.empty()) s.bucket.assign(f.buckets.size(), 0);
  s.value += v;
  ++s.count;
  for (std::size_t i = 0; i < f.buckets.size(); ++i) {
    if (v <= f.buckets[i]) {
      ++s.bucket[i];
      break;
    }
  }
}

void Metrics::forget_camera(const std::string& camera) {
  std::lock_guard lock(mu_);
  for (auto& [name, by_labels] : series_) {
    for (auto it = by_labels.begin(); it != by_labels.end();) {
      bool match = false;
      for (const auto& [k, v] : it->first) match = match || (k == "camera" && v == camera);
      it = match ? by_labels.erase(it) : std::next(it);
    }
  }
}

std::string Metrics::render() const {
  const auto [rss, threads] = proc_status();
  const double fds = open_fds();
  const ProcStat ps = proc_stat();
  const struct mallinfo2 heap = mallinfo2();
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << " " << f.help << "\n# TYPE " << name << " " << f.type << "\n";
    if (name == "process_resident_memory_bytes") out << name << " " << format(rss) << "\n";
    if (name == "process_threads") out << name << " " << format(threads) << "\n";
    if (name == "process_open_fds") out << name << " " << format(fds) << "\n";
    if (name == "process_max_fds") out << name << " " << format(max_fds()) << "\n";
    if (name == "process_cpu_seconds_total") out << name << " " << format(ps.cpu_s) << "\n";
    if (name == "process_start_time_seconds") out << name << " " << format(ps.start_s) << "\n";
    if (name == "process_virtual_memory_bytes") out << name << " " << format(ps.virtual_bytes) << "\n";
    if (name == "actiond_heap_bytes") {
      out << name << "{state=\"in_use\"} " << format(static_cast<double>(heap.uordblks + heap.hblkhd)) << "\n";
      out << name << "{state=\"free\"} " << format(static_cast<double>(heap.fordblks)) << "\n";
    }
    for (const auto& [labels, s] : series_.at(name)) {
      if (f.type != "histogram") {
        out << name << label_text(labels) << " " << format(s.value) << "\n";
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += i < s.bucket.size() ? s.bucket[i] : 0;
        out << name << "_bucket" << label_text(labels, "le", format(f.buckets[i])) << " " << cumulative << "\n";
      }
      out << name << "_bucket" << label_text(labels, "le", "+Inf") << " " << s.count << "\n";
      out << name << "_sum" << label_text(labels) << " " << format(s.value) << "\n";
      out << name << "_count" << label_text(labels) << " " << s.count << "\n";
    }
  }
  return out.str();
}

}  // namespace actiond::daemon
