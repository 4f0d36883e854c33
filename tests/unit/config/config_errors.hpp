#pragma once
// The message load_config() throws for a configuration directory made of `files` (name -> content),
// or "(no error)". For the config tests' tables of exact messages.
#include "actiond/config/config.hpp"

#include "test_support.hpp"

#include <map>
#include <string>

namespace actiond::test {

inline std::string config_load_error(const std::map<std::string, std::string>& files) {
  TempDir dir;
  for (const auto& [name, content] : files) dir.write(name, content);
  try {
    config::load_config(dir.path());
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace actiond::test
