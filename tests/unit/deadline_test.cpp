#include "base/deadline.hpp"
#include "base/error.hpp"

#include <doctest/doctest.h>

using namespace pw;

namespace {
std::string error_of(int64_t (*fn)(std::string_view), const char* text)
{
    try {
        fn(text);
    } catch (const Error& e) {
        return e.what();
    }
    return "accepted";
}
} // namespace

TEST_CASE("durations and UTC times as people write them")
{
    CHECK(parse_duration("2s") == 2);
    CHECK(parse_duration("90s") == 90);
    CHECK(parse_duration("30m") == 1800);
    CHECK(parse_duration("2h") == 7200);
    CHECK(parse_duration("1h30m") == 5400);
    CHECK(parse_duration("7d") == 604800);
    CHECK(parse_duration("1w") == 604800);
    CHECK(error_of(parse_duration, "2") ==
          "bad duration '2': expected a number with s, m, h, d or w (90s, 2h, 1h30m)");
    CHECK(error_of(parse_duration, "h").rfind("bad duration 'h'", 0) == 0);
    CHECK(error_of(parse_duration, "2x").rfind("bad duration '2x'", 0) == 0);
    CHECK(error_of(parse_duration, "0s") == "bad duration '0s': must be longer than 0");
    CHECK(error_of(parse_duration, "99999999999d").rfind("bad duration", 0) == 0);

    CHECK(parse_utc_time("2026-12-31T00:00Z") == 1798675200);
    CHECK(parse_utc_time("2026-12-31T00:00:30Z") == 1798675230);
    CHECK(parse_utc_time("2026-12-31T03:00+03:00") == 1798675200);
    CHECK(parse_utc_time("2026-12-30T21:00-03:00") == 1798675200);
    CHECK(utc_text(1798675200) == "2026-12-31T00:00:00Z");
    CHECK(error_of(parse_utc_time, "2026-02-31T00:00Z").rfind("bad time '2026-02-31T00:00Z'", 0) == 0);
    CHECK(error_of(parse_utc_time, "2026-12-31 00:00Z").rfind("bad time", 0) == 0);
    CHECK(error_of(parse_utc_time, "2026-12-31T00:00").rfind("bad time", 0) == 0); // no zone: ambiguous
    CHECK(error_of(parse_utc_time, "2026-12-31T25:00Z").rfind("bad time", 0) == 0);

    CHECK(relative_text(1000 + 7260, 1000) == "in 2h1m");
    CHECK(relative_text(1000 - 5, 1000) == "5s ago");
    CHECK(relative_text(1000 + 90000, 1000) == "in 1d1h");
}
