// Deadlines of expiring claims, as people write them: a duration from now
// ("90s", "30m", "2h", "7d", "1h30m") or a UTC time ("2026-12-31T00:00Z",
// seconds and a "+HH:MM" offset allowed); and unix seconds back as UTC
// text ("2026-12-31T00:00:00Z").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pw {

// Seconds; throws Error naming the text.
int64_t parse_duration(std::string_view text);
// Unix seconds; throws Error naming the text.
int64_t parse_utc_time(std::string_view text);
std::string utc_text(int64_t unix_seconds);
// "in 1h59m", "2s ago": a deadline relative to now, for people.
std::string relative_text(int64_t unix_seconds, int64_t now);

} // namespace pw
