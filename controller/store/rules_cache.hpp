// The rule set as the state directory holds it, re-read only when the
// rules file changes: for readers that refresh often (top, /metrics) and
// must not reload a million rules every second. Reads need no lock: the
// file is replaced atomically.
#pragma once

#include "store/state_store.hpp"

#include <filesystem>

namespace pw {

class RulesCache {
public:
    explicit RulesCache(StateStore s) : store_(std::move(s)) {}
    const RuleSet& get()
    {
        std::error_code ec;
        auto t = std::filesystem::last_write_time(store_.dir() / "rules.tsv", ec);
        if (!loaded_ || (!ec && t != stamp_)) {
            rules_ = store_.load_rules();
            stamp_ = t;
            loaded_ = true;
        }
        return rules_;
    }
    const StateStore& store() const { return store_; }

private:
    StateStore store_;
    RuleSet rules_;
    std::filesystem::file_time_type stamp_{};
    bool loaded_ = false;
};

} // namespace pw
