#pragma once
// Training jobs: actiond-train run on a dataset, one at a time, in its own process group (so cancel
// stops it and every step it started). Each job writes <teach dir>/candidates/<job>/: the models,
// report.html, result.json (actiond-train's), and job.json (what was asked, the state, the exit
// status), so jobs are listed after a restart (a job that was running when the daemon stopped is
// `interrupted`: the daemon's stop ends its training).
// Progress comes from actiond-train's output: its stage lines ("[3/10] segmenter, about 2 min left")
// and progress bars ("segmenter [###   ] 401/4000"); the last 2000 lines are kept (older ones dropped
// and counted).
//
// Thread-safety: every member may be called from any thread. One reader thread per running job
// (owned here, joined by cancel and the destructor) reads the job's output and reaps it.
#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace actiond::daemon::teach {

enum class JobState { running, succeeded, failed, cancelled, interrupted };
const char* to_string(JobState s);

struct TrainRequest {
  std::string dataset;
  std::filesystem::path data_dir;   // the dataset's folder
  std::string camera;               // trained for this camera ("" none): its features are used
  std::string features = "auto";    // auto, pose, frames
  std::filesystem::path backbone;   // the camera's backbone (frame features), or empty
  std::filesystem::path pose_model; // the camera's pose model (pose features), or empty
  double steps_scale = 1.0;         // (0, 1]: shorter training (tests, a first look)
  double budget_min = 0.0;          // 0: no budget
  int min_examples = 2;             // segments each class needs in the training videos
};

class TrainJobs {
 public:
  // `candidates`: where jobs write; `command`: the actiond-train program.
  TrainJobs(std::filesystem::path candidates, std::string command);
  ~TrainJobs();
  TrainJobs(const TrainJobs&) = delete;
  TrainJobs& operator=(const TrainJobs&) = delete;

  // Starts a job; TeachError 409 while one runs. Returns the job as status() lists it.
  nlohmann::json start(const TrainRequest& request);
  // Stops the running job (SIGTERM to its process group, SIGKILL after 10 s); false when none runs.
  bool cancel();
  // {running: job id or null, jobs: [newest first: {id, state, dataset, camera, started, ended,
  //  exit_code, progress: {stage, step, steps, fraction}, result (actiond-train's result.json)}]}
  nlohmann::json status() const;
  // One job (404 TeachError when unknown); with its output lines from `from` on and the next index.
  nlohmann::json job(const std::string& id, std::size_t from = 0) const;
  // Waits until the job's output grows past `from`, it ends, or `timeout_ms` passes.
  void wait_output(const std::string& id, std::size_t from, int timeout_ms) const;
  // A file of a job's folder (report.html, result.json, the models); 404 when absent.
  std::filesystem::path file(const std::string& id, const std::string& name) const;
  std::filesystem::path folder(const std::string& id) const;

 private:
  struct Live {
    std::string id;
    nlohmann::json record;            // job.json
    std::deque<std::string> lines;
    std::size_t first_line = 0;       // index of lines.front() (dropped lines before it)
    std::string partial;
    nlohmann::json progress = nlohmann::json::object();
    pid_t pid = -1;
    bool cancelling = false;
  };
  void read_output(int fd);           // the reader thread
  void take_line(const std::string& line);
  void finish(int wait_status);
  nlohmann::json describe(const nlohmann::json& record) const;

  std::filesystem::path candidates_;
  std::string command_;
  std::mutex start_mu_;               // one start() at a time (it may join the last job's reader)
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  Live live_;                         // the running job, or the last one (its output stays readable)
  bool running_ = false;
  bool closing_ = false;              // the destructor stops the job: it ends `interrupted`
  std::thread reader_;
};

}  // namespace actiond::daemon::teach
