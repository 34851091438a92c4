// IPv4/IPv6 addresses and prefixes: parsing (without allocating: registry
// syncs parse millions; the result equals inet_pton's), normalisation,
// ordering and formatting. The one place that turns text into the bytes
// the data plane keys on.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace pw {

enum class Family : uint8_t { v4 = 0, v6 = 1 };

const char* family_name(Family f);
inline unsigned max_len(Family f) { return f == Family::v4 ? 32 : 128; }
inline unsigned addr_bytes(Family f) { return f == Family::v4 ? 4 : 16; }
// Index of a family in [v4, v6] arrays.
inline int fam_index(Family f) { return f == Family::v4 ? 0 : 1; }
// "v4" / "v6", as option names spell it (--max-rules-v4).
inline const char* family_tag(Family f) { return f == Family::v4 ? "v4" : "v6"; }

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
    // Ordered by family, address, then length (so a prefix sorts right
    // before the longer prefixes inside it): the order of the rule set and
    // of every sorted list of entries. Compared as two 64-bit words, not
    // byte by byte: sorting a million entries is mostly comparisons.
    std::strong_ordering operator<=>(const Prefix& o) const
    {
        if (family != o.family)
            return family <=> o.family;
        if (auto c = word(0) <=> o.word(0); c != 0)
            return c;
        if (auto c = word(1) <=> o.word(1); c != 0)
            return c;
        return len <=> o.len;
    }
    bool operator==(const Prefix& o) const
    {
        return family == o.family && len == o.len && word(0) == o.word(0) && word(1) == o.word(1);
    }

private:
    // Bytes 8i..8i+7 as a big-endian number (their order as bytes).
    uint64_t word(size_t i) const
    {
        uint64_t w;
        std::memcpy(&w, bytes.data() + 8 * i, 8);
        return __builtin_bswap64(w);
    }
};

} // namespace pw
