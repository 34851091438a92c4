#include "base/prefix.hpp"

#include "base/error.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace pw {
namespace ip = boost::asio::ip;

const char* family_name(Family f) { return f == Family::v4 ? "ipv4" : "ipv6"; }

namespace {

void mask_bytes(std::array<uint8_t, 16>& b, Family f, unsigned len)
{
    for (unsigned i = 0; i < addr_bytes(f); i++) {
        unsigned bit = i * 8;
        if (bit >= len)
            b[i] = 0;
        else if (len - bit < 8)
            b[i] &= static_cast<uint8_t>(0xff << (8 - (len - bit)));
    }
    for (unsigned i = addr_bytes(f); i < 16; i++)
        b[i] = 0;
}

// Dotted-quad IPv4, as inet_pton(AF_INET) reads it: four decimal parts
// of 0-255, no leading zeros, nothing else.
bool parse_v4(std::string_view t, std::array<uint8_t, 16>& out)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part != 0) {
            if (i >= t.size() || t[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < t.size() && i - start < 3 && t[i] >= '0' && t[i] <= '9')
            v = v * 10 + static_cast<unsigned>(t[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && t[start] == '0'))
            return false;
        out[static_cast<size_t>(part)] = static_cast<uint8_t>(v);
    }
    return i == t.size();
}

// Parses an address without allocating: the registry parsers call this
// once per entry, millions of times per sync.
std::optional<Address> parse_address(std::string_view text, std::string& why)
{
    if (text.empty()) {
        why = "empty address";
        return std::nullopt;
    }
    Address out;
    if (text.find(':') == std::string_view::npos) {
        if (parse_v4(text, out.bytes))
            return out;
        why = "not an IPv4 or IPv6 address";
        return std::nullopt;
    }
    if (text.find('%') != std::string_view::npos) {
        why = "scoped addresses are not prefixes";
        return std::nullopt;
    }
    char buf[INET6_ADDRSTRLEN + 1];
    bool ok = text.size() < sizeof(buf);
    if (ok) {
        std::memcpy(buf, text.data(), text.size());
        buf[text.size()] = '\0';
        ok = ::inet_pton(AF_INET6, buf, out.bytes.data()) == 1;
    }
    if (!ok) {
        why = "not an IPv4 or IPv6 address";
        return std::nullopt;
    }
    out.family = Family::v6;
    return out;
}

} // namespace

Address Address::parse(std::string_view text)
{
    std::string why;
    auto a = parse_address(text, why);
    if (!a)
        throw Error("bad address '" + std::string(text) + "': " + why);
    return *a;
}

std::optional<Address> Address::try_parse(std::string_view text)
{
    std::string why;
    return parse_address(text, why);
}

std::string Address::to_string() const
{
    if (family == Family::v4) {
        ip::address_v4::bytes_type b;
        std::copy_n(bytes.begin(), 4, b.begin());
        return ip::address_v4(b).to_string();
    }
    ip::address_v6::bytes_type b;
    std::copy_n(bytes.begin(), 16, b.begin());
    return ip::address_v6(b).to_string();
}

Prefix Prefix::parse(std::string_view text, bool* masked)
{
    auto fail = [&](const std::string& why) {
        return Error("bad prefix '" + std::string(text) + "': " + why);
    };
    std::string_view addr_part = text;
    std::optional<unsigned> len;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        addr_part = text.substr(0, slash);
        std::string_view len_part = text.substr(slash + 1);
        unsigned v = 0;
        auto [p, ec] = std::from_chars(len_part.data(),
                                       len_part.data() + len_part.size(), v);
        if (len_part.empty() || ec != std::errc() ||
            p != len_part.data() + len_part.size() ||
            (len_part.size() > 1 && len_part[0] == '0'))
            throw fail("prefix length '" + std::string(len_part) +
                       "' is not a number");
        len = v;
    }
    std::string why;
    auto a = parse_address(addr_part, why);
    if (!a)
        throw fail(why);
    unsigned l = len.value_or(max_len(a->family));
    if (l > max_len(a->family))
        throw fail("prefix length " + std::to_string(l) + " exceeds " +
                   std::to_string(max_len(a->family)));
    Prefix p = of(*a, l);
    if (masked)
        *masked = p.bytes != a->bytes;
    return p;
}

Prefix Prefix::of(const Address& a, unsigned len)
{
    Prefix p;
    p.family = a.family;
    p.bytes = a.bytes;
    p.len = static_cast<uint8_t>(len);
    mask_bytes(p.bytes, p.family, len);
    return p;
}

std::string Prefix::to_string() const
{
    Address a{family, bytes};
    return a.to_string() + "/" + std::to_string(len);
}

bool Prefix::contains(const Address& a) const
{
    return a.family == family && of(a, len).bytes == bytes;
}

bool Prefix::contains(const Prefix& p) const
{
    return p.family == family && p.len >= len &&
           of(Address{p.family, p.bytes}, len).bytes == bytes;
}

Address Prefix::first() const { return Address{family, bytes}; }

Address Prefix::last() const
{
    Address a{family, bytes};
    for (unsigned i = 0; i < addr_bytes(family); i++) {
        unsigned bit = i * 8;
        if (bit + 8 <= len)
            continue;
        unsigned keep = len > bit ? len - bit : 0;
        a.bytes[i] |= static_cast<uint8_t>(0xff >> keep);
    }
    return a;
}

} // namespace pw
