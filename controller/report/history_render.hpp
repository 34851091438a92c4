// The version history for people and tools: `history` (one row per
// version) and `diff` (the claims that differ between two versions).
#pragma once

#include "store/history.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pw {

void print_history(std::ostream& out, const std::vector<VersionRecord>& versions, bool json);
void print_diff(std::ostream& out, uint64_t from, uint64_t to, const std::vector<PrefixDiff>& diff, bool json);
// "block", "block tcp/443 until 2026-12-31T00:00:00Z": a claim in a diff.
std::string claim_text(const Claim& c);

} // namespace pw
