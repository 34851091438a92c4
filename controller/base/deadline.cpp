#include "base/deadline.hpp"

#include "base/error.hpp"

#include <cstdio>
#include <ctime>

namespace pw {

int64_t parse_duration(std::string_view text)
{
    auto fail = [&] {
        return Error("bad duration '" + std::string(text) + "': expected a number with s, m, h, d or w (90s, 2h, 1h30m)");
    };
    if (text.empty())
        throw fail();
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        int64_t n = 0;
        size_t digits = 0;
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
            n = n * 10 + (text[i] - '0');
            if (n > 100LL * 365 * 86400)
                throw fail();
        }
        if (digits == 0 || i == text.size())
            throw fail();
        switch (text[i++]) {
        case 's': total += n; break;
        case 'm': total += n * 60; break;
        case 'h': total += n * 3600; break;
        case 'd': total += n * 86400; break;
        case 'w': total += n * 7 * 86400; break;
        default: throw fail();
        }
    }
    if (total <= 0)
        throw Error("bad duration '" + std::string(text) + "': must be longer than 0");
    return total;
}

int64_t parse_utc_time(std::string_view text)
{
    auto fail = [&] {
        return Error("bad time '" + std::string(text) +
                     "': expected YYYY-MM-DDTHH:MM[:SS] with Z or +HH:MM (2026-12-31T00:00Z)");
    };
    std::string s(text);
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &used) != 5 || used != 16)
        throw fail();
    size_t at = 16;
    if (at < s.size() && s[at] == ':') {
        int more = 0;
        if (std::sscanf(s.c_str() + at, ":%2d%n", &sec, &more) != 1 || more != 3)
            throw fail();
        at += 3;
    }
    int64_t offset = 0;
    if (at < s.size() && s[at] == 'Z' && at + 1 == s.size()) {
        offset = 0;
    } else if (at < s.size() && (s[at] == '+' || s[at] == '-') && s.size() == at + 6 && s[at + 3] == ':') {
        int oh = 0, om = 0, more = 0;
        if (std::sscanf(s.c_str() + at + 1, "%2d:%2d%n", &oh, &om, &more) != 2 || more != 5)
            throw fail();
        offset = (s[at] == '+' ? 1 : -1) * static_cast<int64_t>(oh * 3600 + om * 60);
    } else {
        throw fail();
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        throw fail();
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    std::tm check = tm;
    const int64_t t = ::timegm(&tm);
    if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon) // 31 February
        throw fail();
    return t - offset;
}

std::string utc_text(int64_t unix_seconds)
{
    auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string relative_text(int64_t unix_seconds, int64_t now)
{
    int64_t d = unix_seconds - now;
    bool past = d < 0;
    if (past)
        d = -d;
    std::string s;
    if (d >= 86400)
        s = std::to_string(d / 86400) + "d" + (d % 86400 >= 3600 ? std::to_string(d % 86400 / 3600) + "h" : "");
    else if (d >= 3600)
        s = std::to_string(d / 3600) + "h" + (d % 3600 >= 60 ? std::to_string(d % 3600 / 60) + "m" : "");
    else if (d >= 60)
        s = std::to_string(d / 60) + "m" + (d % 60 ? std::to_string(d % 60) + "s" : "");
    else
        s = std::to_string(d) + "s";
    return past ? s + " ago" : "in " + s;
}

} // namespace pw
