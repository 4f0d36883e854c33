#include "actiond/config/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <mutex>
#include <regex>

namespace actiond::config {

namespace {

// "%*": the sd-daemon(3) priority prefix of the message's level.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static const char* prefixes[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};  // trace..critical, off
    const char* p = prefixes[static_cast<int>(msg.level)];
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return spdlog::details::make_unique<PriorityFlag>(); }
};

std::mutex g_mu;

// Under systemd: each line goes to journald with structured fields, so `journalctl ACTIOND_CAMERA=door`
// or `ACTIOND_MODULE=loop` selects it: ACTIOND_MODULE is the logger's name, ACTIOND_CAMERA the camera
// a message is about (messages name it as "camera ID: ..."). If journald does not take a line, it goes
// to stderr with its priority prefix, as before.
class JournaldSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    static const int priorities[] = {7, 7, 6, 4, 3, 2, 6};  // trace..critical, off
    const int priority = priorities[static_cast<int>(msg.level)];
    const std::string text(msg.payload.data(), msg.payload.size());
    const std::string module(msg.logger_name.data(), msg.logger_name.size());
    static const std::regex camera_re("(?:^|: )camera ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})[: ]");
    std::smatch m;
    const std::string camera = std::regex_search(text, m, camera_re) ? m[1].str() : "";
    const int r = camera.empty()
                      ? sd_journal_send("MESSAGE=[%s] %s", module.c_str(), text.c_str(), "PRIORITY=%d", priority,
                                        "SYSLOG_IDENTIFIER=actiond", "ACTIOND_MODULE=%s", module.c_str(), nullptr)
                      : sd_journal_send("MESSAGE=[%s] %s", module.c_str(), text.c_str(), "PRIORITY=%d", priority,
                                        "SYSLOG_IDENTIFIER=actiond", "ACTIOND_MODULE=%s", module.c_str(),
                                        "ACTIOND_CAMERA=%s", camera.c_str(), nullptr);
    if (r < 0) std::fprintf(stderr, "<%d>%s [%s] %s\n", priority, spdlog::level::to_string_view(msg.level).data(),
                            module.c_str(), text.c_str());
  }
  void flush_() override {}
};

}  // namespace

void setup_logging() {
  std::lock_guard lock(g_mu);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  if (journal) {
    formatter->add_flag<PriorityFlag>('*').set_pattern("%*%l [%n] %v");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  spdlog::sink_ptr sink = journal ? spdlog::sink_ptr(std::make_shared<JournaldSink>())
                                  : spdlog::sink_ptr(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>("actiond", std::move(sink));
  spdlog::set_default_logger(logger);
  spdlog::set_formatter(std::move(formatter));
}

spdlog::logger& module_log(const std::string& name) {
  std::lock_guard lock(g_mu);
  auto l = spdlog::get(name);
  if (!l) {
    const auto& sinks = spdlog::default_logger()->sinks();
    l = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    spdlog::initialize_logger(l);  // takes the global level and formatter, and registers it
  }
  return *l;
}

}  // namespace actiond::config
