#pragma once
// actionctl cluster put|rm|ls|status|events: camera configs in etcd and the cluster's state
// (docs/SCALING.md). The cluster settings come from actiond.json in --config (default /etc/actiond).
#include <CLI/CLI.hpp>

#include <functional>

// Adds `cluster` and its subcommands to `app`; the returned function runs the one given (exit code).
std::function<int()> add_cluster_commands(CLI::App& app);
