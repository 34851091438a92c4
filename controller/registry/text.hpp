// Text helpers shared by the registry parsers: trimming, splitting, the
// windows-1251 table (z-i dumps and the regulator's XML are cp1251).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pw::text {

std::string_view trim(std::string_view s);
// Splits on any character of `seps`, trimming each piece, dropping empties.
std::vector<std::string_view> split_any(std::string_view s, std::string_view seps);
// The Unicode code point of a cp1251 byte (0xFFFD for the one hole, 0x98).
uint32_t cp1251_code_point(uint8_t byte);
std::string cp1251_to_utf8(std::string_view s);
// Splits one CSV record: `sep`-separated, fields optionally in double quotes
// with "" for a quote inside.
std::vector<std::string> split_csv(std::string_view line, char sep);

} // namespace pw::text
