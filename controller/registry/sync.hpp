// Syncing one registry source: fetch, parse, guard, diff against what the
// source has in force, report the impact, and commit the new version (or
// nothing at all: a failed, partial or refused sync leaves the last good
// version in force).
#pragma once

#include "session/controller.hpp"
#include "registry/fetch.hpp"
#include "registry/guards.hpp"
#include "registry/parser.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pw {

struct SourceSpec {
    std::string name;
    std::vector<std::string> locations; // parts, concatenated in order
    std::optional<Format> format;       // nullopt: detect
    Action action = Action::block;
    Scope scope; // of every entry: proto=, port=, sport= (none: every packet)
    std::set<std::string> rkn_block_types{"ip"};
    unsigned interval_s = 0; // the daemon's refresh interval (0: none)
    // expire=: every claim lapses this long after the last sync that
    // listed it (0: never). For feeds whose entries must be renewed.
    unsigned expire_s = 0;
};

struct SyncOptions {
    bool dry_run = false;
    bool strict = false;   // any rejected line fails the sync
    bool progress = false; // progress on stderr (a terminal, not --json)
    FetchOptions fetch;
    GuardOptions guards;
    ParseOptions parse;
};

struct SyncReport {
    std::string source;
    Format format = Format::plain;
    bool not_modified = false; // HTTP 304: nothing to do
    bool applied = false;      // committed (false for dry runs and refusals)
    std::string refused;       // why the whole sync was refused, if it was
    std::string refused_guard; // which guard refused it: removal, collateral
    uint64_t bytes = 0;
    size_t lines = 0, parsed = 0, rejected = 0, duplicates = 0, masked = 0;
    std::vector<Rejection> rejections; // the first 100
    size_t added = 0, removed = 0, unchanged = 0; // this source's entries
    size_t renewed = 0; // claims whose deadline moved on (expire=)
    size_t rules_inserted = 0, rules_updated = 0, rules_erased = 0;
    std::vector<Refusal> refusals;         // entries the guards kept out
    std::map<std::string, size_t> refused_by_guard;
    std::vector<Prefix> broadest_added;    // the 5 broadest new blocks
    std::string v4_blocked_before, v4_blocked_after, v4_newly_blocked;
    std::string v6_64s_blocked_after, v6_64s_newly_blocked;
    std::optional<Collateral> collateral; // provider space newly blocked (--collateral given)
    double seconds = 0;
    std::vector<std::pair<std::string, double>> phases; // seconds per phase
    double in_force_seconds = 0; // commit start -> the new version in force
    std::chrono::steady_clock::time_point in_force_at{}; // the swap issued (applied syncs)
    std::vector<std::string> warnings; // e.g. TLS verification off
};

// One entry of a source: a prefix, the registry's reference for it, and
// the action its claim takes (a file's spec.action; a BGP route's by its
// communities).
struct SourceEntry {
    Prefix prefix;
    std::string ref;
    Action action = Action::block;
};
// A source's entries, sorted by prefix, one per prefix.
using SortedEntries = std::vector<SourceEntry>;

// A source fetched, parsed and guarded, not yet applied.
struct FetchedSource {
    SourceSpec spec;
    SyncReport report;
    SortedEntries accepted; // distinct prefixes, sorted, with their references
    std::string etag, last_modified;
    std::chrono::steady_clock::time_point started;
};

// Phase 1, without the controller (no lock held: a slow registry blocks
// nobody). `meta` is the source's last good sync, for conditional
// requests. Throws Error for a failed fetch or parse.
FetchedSource fetch_source(const SourceSpec& spec, const SyncOptions& opts, const SourceMeta& meta);
// Phase 2, under the controller's lock: diff, removal guard, impact, commit.
SyncReport apply_source(Controller& ctl, FetchedSource&& fetched, const SyncOptions& opts);
// Both phases. Throws Error for a failed fetch or parse (nothing changed).
SyncReport sync_source(Controller& ctl, const SourceSpec& spec, const SyncOptions& opts);

} // namespace pw
