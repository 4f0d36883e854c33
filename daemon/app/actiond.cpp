// actiond: the daemon's entry point. Parses the command line, then either runs the daemon until a
// signal or runs one of the offline tools (`actiond eval ...`, registered by actiond::tools).
#include "actiond/config/log.hpp"
#include "actiond/config/version.hpp"
#include "actiond/daemon/runtime/service.hpp"
#include "actiond/tools/tools.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"actiond: real-time video action analytics daemon"};
  app.set_version_flag("--version", std::string("actiond ") + actiond::kVersion);
  std::string config_dir;
  std::string model_dir;
  std::string log_level;
  bool check_only = false;
  app.add_option("-c,--config", config_dir, "configuration directory (actiond.json + cameras/*.json)");
  app.add_option("--model-dir", model_dir, "directory model paths are relative to (overrides actiond.json model_dir)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (overrides actiond.json log.level)");
  app.add_flag("--check-config", check_only, "validate the configuration and models, then exit 0 (valid) or 1");
  actiond::tools::Tools tools(app);
  CLI11_PARSE(app, argc, argv);

  actiond::config::setup_logging();
  try {
    if (auto rc = tools.run()) return *rc;
    if (config_dir.empty()) {
      std::cerr << "actiond: --config DIR is required (see --help)\n";
      return 1;
    }
    return actiond::daemon::run_service(config_dir, model_dir, log_level, check_only);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << "actiond: " << e.what() << "\n";
    return 1;
  }
}
