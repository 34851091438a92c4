// IPv4/IPv6 addresses and prefixes: parsing (through Boost.Asio's
// ip::network_v4/v6), normalisation and formatting. The one place that
// turns text into the bytes the data plane keys on.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pw {

enum class Family : uint8_t { v4 = 0, v6 = 1 };

const char* family_name(Family f);
inline unsigned max_len(Family f) { return f == Family::v4 ? 32 : 128; }
inline unsigned addr_bytes(Family f) { return f == Family::v4 ? 4 : 16; }

struct Address {
    Family family = Family::v4;
    std::array<uint8_t, 16> bytes{}; // network order; v4 uses the first 4

    static Address parse(std::string_view text); // throws Error
    static std::optional<Address> try_parse(std::string_view text);
    std::string to_string() const;
    auto operator<=>(const Address&) const = default;
};

struct Prefix {
    Family family = Family::v4;
    std::array<uint8_t, 16> bytes{}; // host bits always zero
    uint8_t len = 0;

    // "a.b.c.d", "a.b.c.d/n", "x::y", "x::y/n". Host bits set are masked;
    // *masked (if given) says whether that happened. Throws Error naming
    // the text and the reason.
    static Prefix parse(std::string_view text, bool* masked = nullptr);
    static Prefix of(const Address& a, unsigned len); // masks
    std::string to_string() const;
    bool contains(const Address& a) const;
    bool contains(const Prefix& p) const; // p is equal or more specific
    Address first() const;
    Address last() const;
    auto operator<=>(const Prefix&) const = default;
};

} // namespace pw
