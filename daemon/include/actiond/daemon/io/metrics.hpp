#pragma once
// Metrics: counters, gauges and histograms with labels, rendered in the Prometheus text exposition
// format (version 0.0.4) for `GET /metrics`.
//
//   metrics.add("actiond_frames_analysed_total", {{"camera", "door"}});
//   metrics.observe("actiond_frame_latency_seconds", {{"camera", "door"}}, 0.012);
//   std::string text = metrics.render();
//
// Families are declared once in the constructor (name, type, help, histogram buckets); using an
// undeclared name is a programming error (std::logic_error).
// Thread-safety: every method may be called from any thread (one mutex).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace actiond::daemon {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  Metrics();

  void add(const std::string& name, const Labels& labels, double v = 1.0);  // counter
  void set(const std::string& name, const Labels& labels, double v);        // gauge (or mirrored counter)
  void observe(const std::string& name, const Labels& labels, double v);    // histogram
  // Forgets every series that carries label camera=`camera` (a camera removed by a reload).
  void forget_camera(const std::string& camera);
  // Prometheus text; adds process_* gauges (RSS, threads, open fds) read from /proc.
  std::string render() const;

 private:
  struct Family {
    std::string type;  // counter | gauge | histogram
    std::string help;
    std::vector<double> buckets;
  };
  struct Series {
    double value = 0.0;                 // counter / gauge; histogram sum
    std::uint64_t count = 0;            // histogram
    std::vector<std::uint64_t> bucket;  // histogram, non-cumulative
  };
  void declare(const std::string& name, const std::string& type, const std::string& help,
               std::vector<double> buckets = {});
  const Family& family(const std::string& name) const;

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<std::string, std::map<Labels, Series>> series_;  // by family name
};

}  // namespace actiond::daemon
