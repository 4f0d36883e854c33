#pragma once
// The offline tools of the `actiond` executable (not the service): `eval`, `world`, `extract` and
// `keygen`. Each registers its own subcommand and options, so the executable's main only asks
// whether one of them was chosen.
//
//   CLI::App app{...};
//   actiond::tools::Tools tools(app);      // adds the subcommands
//   CLI11_PARSE(app, argc, argv);
//   if (auto rc = tools.run()) return *rc;  // a tool was chosen and ran
//
// Thread-safety: none needed (main thread only). run() throws what the tool throws.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

namespace actiond::tools {

class Tools {
 public:
  explicit Tools(CLI::App& app);
  ~Tools();
  Tools(const Tools&) = delete;
  Tools& operator=(const Tools&) = delete;

  // The exit code of the chosen tool; nothing when the command line chose none.
  std::optional<int> run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actiond::tools
