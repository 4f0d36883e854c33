#include "actiond/daemon/teach/train_jobs.hpp"

#include "actiond/config/unique_fd.hpp"
#include "actiond/daemon/teach/workspace.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>

extern char** environ;

namespace actiond::daemon::teach {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxLines = 2000;

std::string utc_now(const char* format) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  json j = json::parse(in, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

void write_json(const fs::path& p, const json& j) {
  const fs::path tmp = p.string() + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << j.dump(1) << "\n";
  std::error_code ec;
  fs::rename(tmp, p, ec);
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

const char* to_string(JobState s) {
  switch (s) {
    case JobState::running: return "running";
    case JobState::succeeded: return "succeeded";
    case JobState::failed: return "failed";
    case JobState::cancelled: return "cancelled";
    case JobState::interrupted: return "interrupted";
  }
  return "?";
}

TrainJobs::TrainJobs(fs::path candidates, std::string command)
    : candidates_(std::move(candidates)), command_(std::move(command)) {}

TrainJobs::~TrainJobs() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cancel();
  if (reader_.joinable()) reader_.join();
}

fs::path TrainJobs::folder(const std::string& id) const {
  if (!valid_name(id)) throw TeachError(404, "no training job '" + id + "'");
  return candidates_ / id;
}

json TrainJobs::start(const TrainRequest& r) {
  std::lock_guard one(start_mu_);
  std::unique_lock lock(mu_);
  if (running_) throw TeachError(409, "a training job is running (" + live_.id + "); one runs at a time");
  if (reader_.joinable()) {
    lock.unlock();
    reader_.join();
    lock.lock();
  }
  std::string id = "job-" + utc_now("%Y%m%d-%H%M%S");
  for (int k = 2; fs::exists(candidates_ / id); ++k) id = "job-" + utc_now("%Y%m%d-%H%M%S") + "-" + std::to_string(k);
  const fs::path out = candidates_ / id;
  fs::create_directories(out);
  std::vector<std::string> argv = {command_, r.data_dir.string(), "--out", out.string(), "--name", id,
                                   "--features", r.features, "--steps-scale", fmt(r.steps_scale),
                                   "--min-examples", std::to_string(r.min_examples)};
  if (r.budget_min > 0) argv.insert(argv.end(), {"--budget-min", fmt(r.budget_min)});
  if (!r.backbone.empty()) argv.insert(argv.end(), {"--backbone", r.backbone.string()});
  if (!r.pose_model.empty()) argv.insert(argv.end(), {"--pose-model", r.pose_model.string()});

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw TeachError(500, std::string("pipe: ") + std::strerror(errno));
  config::UniqueFd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);      // the daemon blocks its signals; the job must not
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);           // its own process group: cancel stops every step
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.emplace_back("PYTHONUNBUFFERED=1");
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, command_.c_str(), &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    fs::remove_all(out);
    throw TeachError(500, "cannot start the training command '" + command_ + "': " + std::strerror(rc) +
                              " (actiond.json /teach/train_command)");
  }
  wr.reset();
  live_ = Live{};
  live_.id = id;
  live_.pid = pid;
  live_.record = {{"id", id},           {"state", to_string(JobState::running)}, {"dataset", r.dataset},
                  {"camera", r.camera}, {"features", r.features},                {"steps_scale", r.steps_scale},
                  {"budget_min", r.budget_min}, {"min_examples", r.min_examples}, {"started", utc_now("%Y-%m-%dT%H:%M:%SZ")}, {"ended", nullptr},
                  {"exit_code", nullptr}, {"command", argv}};
  write_json(out / "job.json", live_.record);
  running_ = true;
  const int fd = rd.get();
  reader_ = std::thread([this, fd, owned = std::make_shared<config::UniqueFd>(std::move(rd))] { read_output(fd); });
  return describe(live_.record);
}

void TrainJobs::read_output(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  pid_t pid;
  {
    std::lock_guard lock(mu_);
    pid = live_.pid;
  }
  int status = 0;
  char buf[4096];
  const auto drain = [&] {  // what is there; true at the end of the output
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return n == 0;
      std::lock_guard lock(mu_);
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n' || buf[i] == '\r') {
          take_line(live_.partial);
          live_.partial.clear();
        } else {
          live_.partial += buf[i];
        }
      }
      changed_.notify_all();
    }
  };
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 200);
    const bool eof = drain();
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      drain();  // a step it left behind may still hold the pipe: not waited for
      break;
    }
    if (eof) {  // closed its output, still running
      ::waitpid(pid, &status, 0);
      break;
    }
  }
  finish(status);
}

void TrainJobs::take_line(const std::string& raw) {
  if (raw.find_first_not_of(" \t") == std::string::npos) return;
  std::string line = raw;
  if (line.rfind("actiond-train: ", 0) == 0) line = line.substr(15);
  static const std::regex stage(R"(^\[(\d+)/(\d+)\] ([A-Za-z_-]+)(?:, about (.+) left)?)");
  static const std::regex bar(R"(^(\S+) \[[# ]*\] (\d+)/(\d+))");
  std::smatch m;
  auto& p = live_.progress;
  if (std::regex_search(line, m, stage)) {
    p = {{"stage", m[3].str()}, {"stage_index", std::stoi(m[1])}, {"stages", std::stoi(m[2])},
         {"eta", m[4].matched ? json(m[4].str()) : json(nullptr)}, {"step", 0}, {"steps", 0}};
  } else if (std::regex_search(raw, m, bar) && p.contains("stages")) {
    p["step"] = std::stoll(m[2]);
    p["steps"] = std::stoll(m[3]);
  }
  if (p.contains("stages")) {
    const double sub = p["steps"].get<double>() > 0 ? p["step"].get<double>() / p["steps"].get<double>() : 0.0;
    p["fraction"] = (p["stage_index"].get<double>() - 1.0 + std::min(1.0, sub)) / p["stages"].get<double>();
  }
  live_.lines.push_back(raw);
  if (live_.lines.size() > kMaxLines) {
    live_.lines.pop_front();
    ++live_.first_line;
  }
}

void TrainJobs::finish(int wait_status) {
  {
    std::lock_guard lock(mu_);
    if (!live_.partial.empty()) take_line(live_.partial);
    live_.partial.clear();
    const bool ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
    const JobState state = closing_           ? JobState::interrupted
                           : live_.cancelling ? JobState::cancelled
                           : ok               ? JobState::succeeded
                                              : JobState::failed;
    live_.record["state"] = to_string(state);
    live_.record["ended"] = utc_now("%Y-%m-%dT%H:%M:%SZ");
    live_.record["exit_code"] = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    if (state == JobState::succeeded) live_.progress["fraction"] = 1.0;
    std::string tail;
    for (auto it = live_.lines.size() > 20 ? live_.lines.end() - 20 : live_.lines.begin(); it != live_.lines.end(); ++it) {
      tail += *it + "\n";
    }
    live_.record["output_tail"] = tail;
    write_json(candidates_ / live_.id / "job.json", live_.record);
    running_ = false;
    live_.pid = -1;
    changed_.notify_all();
  }
}

bool TrainJobs::cancel() {
  std::unique_lock lock(mu_);
  if (!running_) return false;
  live_.cancelling = true;
  ::kill(-live_.pid, SIGTERM);
  if (!changed_.wait_for(lock, std::chrono::seconds(10), [this] { return !running_; }) && live_.pid > 0) {
    ::kill(-live_.pid, SIGKILL);
    changed_.wait(lock, [this] { return !running_; });
  }
  return true;
}

json TrainJobs::describe(const json& record) const {
  json j = record;
  j.erase("output_tail");
  const std::string id = record.value("id", "");
  const bool live = id == live_.id;
  if (live) j["progress"] = live_.progress;
  if (!live && j.value("state", "") == to_string(JobState::running)) j["state"] = to_string(JobState::interrupted);
  const fs::path dir = candidates_ / id;
  j["folder"] = dir.string();
  j["report"] = fs::exists(dir / "report.html");
  j["result"] = read_json(dir / "result.json");
  return j;
}

json TrainJobs::status() const {
  std::lock_guard lock(mu_);
  json jobs = json::array();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(candidates_, ec)) {
    const std::string id = e.path().filename().string();
    const json record = id == live_.id ? live_.record : read_json(e.path() / "job.json");
    if (record.is_object()) jobs.push_back(describe(record));
  }
  std::sort(jobs.begin(), jobs.end(), [](const json& a, const json& b) { return a.value("started", "") > b.value("started", ""); });
  return {{"running", running_ ? json(live_.id) : json(nullptr)}, {"jobs", jobs}};
}

json TrainJobs::job(const std::string& id, std::size_t from) const {
  const fs::path dir = folder(id);
  std::lock_guard lock(mu_);
  json j;
  if (id == live_.id) {
    j = describe(live_.record);
    json lines = json::array();
    for (std::size_t k = std::max(from, live_.first_line); k < live_.first_line + live_.lines.size(); ++k) {
      lines.push_back(live_.lines[k - live_.first_line]);
    }
    j["output"] = lines;
    j["next"] = live_.first_line + live_.lines.size();
    j["dropped_lines"] = live_.first_line;
    return j;
  }
  const json record = read_json(dir / "job.json");
  if (!record.is_object()) throw TeachError(404, "no training job '" + id + "'");
  j = describe(record);
  j["output"] = json::array();
  std::istringstream tail(record.value("output_tail", ""));
  for (std::string line; std::getline(tail, line);) j["output"].push_back(line);
  j["next"] = j["output"].size();
  return j;
}

void TrainJobs::wait_output(const std::string& id, std::size_t from, int timeout_ms) const {
  std::unique_lock lock(mu_);
  if (id != live_.id) return;
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return !running_ || live_.first_line + live_.lines.size() > from; });
}

fs::path TrainJobs::file(const std::string& id, const std::string& name) const {
  const fs::path dir = folder(id);
  const fs::path f = (dir / name).lexically_normal();
  if (name.find("..") != std::string::npos || !fs::is_regular_file(f)) {
    throw TeachError(404, "no file '" + name + "' in training job '" + id + "'");
  }
  return f;
}

}  // namespace actiond::daemon::teach
