// `prefixwall serve`: keeps the configured registries in force and serves
// /metrics and /healthz. Each source syncs on its own thread and interval
// (with jitter): it fetches without holding the pin-dir lock, so a slow or
// dead registry delays neither the other sources nor /metrics, and takes
// the lock only to apply. SIGHUP reloads the configuration (a bad one is
// refused and the old one kept); SIGTERM and SIGINT stop the daemon and
// leave the data plane filtering, unless detach_on_exit.
#pragma once

#include "app/config.hpp"
#include "session/controller.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace pw {

struct DaemonOptions {
    Paths paths;
    Capacity capacity;
    std::optional<std::filesystem::path> config_file;
    // Applied on top of the config file at every (re)load: flags win.
    std::function<void(Config&)> overrides;
    SyncOptions sync; // dry_run, strict
};

// Runs until SIGTERM/SIGINT; returns the exit code.
int run_daemon(const DaemonOptions& opts);

} // namespace pw
