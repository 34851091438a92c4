// The configuration file: sources, guards and fetch limits in an INI-like
// text (see examples/prefixwall.conf for every key, commented).
//
//   [source NAME]      from, format, action, interval, expire, rkn-block-types,
//                      proto, port, sport
//   [guards]           max-removal, min-prefix-len-v4/-v6, protect, allow-private,
//                      collateral, max-collateral, max-collateral-v6
//   [fetch]            timeout, connect-timeout, stall-timeout, max-bytes,
//                      max-entries, ca-file, insecure-tls
//   [daemon]           listen, attach, mode, match, engine, interval,
//                      metrics-top-k, detach-on-exit
//
// Keys may repeat where they are lists (from, protect, collateral). Every error names
// the file and line.
#pragma once

#include "registry/sync.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pw {

// The daemon's own settings ([daemon]); command-line flags win over them.
struct DaemonSettings {
    std::string listen = "127.0.0.1:9797";
    std::vector<std::string> attach; // interfaces
    XdpMode mode = XdpMode::native;
    Match match = Match::both;
    Engine engine = Engine::compiled;
    unsigned interval_s = 3600;      // for sources without their own
    size_t metrics_top_k = 50;
    bool detach_on_exit = false;
};

struct Config {
    std::vector<SourceSpec> sources;
    GuardOptions guards;
    FetchOptions fetch;
    DaemonSettings daemon;
};

// A source from the command line: NAME=LOCATION[,format=F][,action=A][,interval=S]
SourceSpec parse_source_flag(const std::string& text);

Config load_config(const std::filesystem::path& file);
// Every key the file knows, as (section, key); "source" for [source NAME].
std::vector<std::pair<std::string, std::string>> config_keys();
Config parse_config(const std::string& text, const std::string& name = "config");

// Source names become file names in the state directory: letters, digits,
// '.', '_' and '-', at most 64, not starting with '.'.
void check_source_name(const std::string& name);
std::set<std::string> parse_block_types(const std::string& list);

} // namespace pw
