#include "actiond/config/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

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

}  // namespace

void setup_logging() {
  std::lock_guard lock(g_mu);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    formatter->add_flag<PriorityFlag>('*').set_pattern("%*%l [%n] %v");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  auto logger = std::make_shared<spdlog::logger>("actiond", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
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
