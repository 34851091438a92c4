#include "base/error.hpp"
#include "base/prefix.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace pw;

TEST_CASE("IPv4 prefixes parse, normalise and print")
{
    bool masked = true;
    Prefix p = Prefix::parse("192.0.2.0/24", &masked);
    CHECK(p.family == Family::v4);
    CHECK(p.len == 24);
    CHECK_FALSE(masked);
    CHECK(p.to_string() == "192.0.2.0/24");

    CHECK(Prefix::parse("198.51.100.7").to_string() == "198.51.100.7/32");
    CHECK(Prefix::parse("0.0.0.0/0").to_string() == "0.0.0.0/0");

    Prefix m = Prefix::parse("203.0.113.77/25", &masked);
    CHECK(masked);
    CHECK(m.to_string() == "203.0.113.0/25");
    CHECK(Prefix::parse("203.0.113.200/25").to_string() == "203.0.113.128/25");
    CHECK(Prefix::parse("192.0.2.255/31").to_string() == "192.0.2.254/31");
}

TEST_CASE("IPv6 prefixes parse in every spelling")
{
    CHECK(Prefix::parse("2001:db8::/32").to_string() == "2001:db8::/32");
    CHECK(Prefix::parse("2001:0db8:0000:0000:0000:0000:0000:0001").to_string() ==
          "2001:db8::1/128");
    bool masked = false;
    CHECK(Prefix::parse("2001:db8:1:2::5/48", &masked).to_string() == "2001:db8:1::/48");
    CHECK(masked);
    CHECK(Prefix::parse("2001:db8::/33").len == 33);
    CHECK(Prefix::parse("::/0").to_string() == "::/0");
}

TEST_CASE("bad prefixes are refused with the text and the reason")
{
    auto why = [](const char* text) {
        try {
            Prefix::parse(text);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(why("192.0.2.0/33") == "bad prefix '192.0.2.0/33': prefix length 33 exceeds 32");
    CHECK(why("2001:db8::/129") == "bad prefix '2001:db8::/129': prefix length 129 exceeds 128");
    CHECK(why("192.0.2.0/") == "bad prefix '192.0.2.0/': prefix length '' is not a number");
    CHECK(why("192.0.2.0/x") == "bad prefix '192.0.2.0/x': prefix length 'x' is not a number");
    CHECK(why("192.0.2.0/-1") == "bad prefix '192.0.2.0/-1': prefix length '-1' is not a number");
    CHECK(why("192.0.2.0/024") == "bad prefix '192.0.2.0/024': prefix length '024' is not a number");
    CHECK(why("192.0.2") == "bad prefix '192.0.2': not an IPv4 or IPv6 address");
    CHECK(why("192.0.2.256") == "bad prefix '192.0.2.256': not an IPv4 or IPv6 address");
    CHECK(why("example.org") == "bad prefix 'example.org': not an IPv4 or IPv6 address");
    CHECK(why("") == "bad prefix '': empty address");
    CHECK(why("fe80::1%eth0") == "bad prefix 'fe80::1%eth0': scoped addresses are not prefixes");
    CHECK(why(" 192.0.2.1") == "bad prefix ' 192.0.2.1': not an IPv4 or IPv6 address");
}

TEST_CASE("containment, first and last address")
{
    Prefix p = Prefix::parse("192.0.2.128/25");
    CHECK(p.contains(Address::parse("192.0.2.128")));
    CHECK(p.contains(Address::parse("192.0.2.255")));
    CHECK_FALSE(p.contains(Address::parse("192.0.2.127")));
    CHECK_FALSE(p.contains(Address::parse("2001:db8::1")));
    CHECK(p.contains(Prefix::parse("192.0.2.200/30")));
    CHECK_FALSE(p.contains(Prefix::parse("192.0.2.0/24")));
    CHECK(p.first().to_string() == "192.0.2.128");
    CHECK(p.last().to_string() == "192.0.2.255");
    Prefix q = Prefix::parse("2001:db8:8000::/33");
    CHECK(q.last().to_string() == "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    CHECK(Prefix::parse("0.0.0.0/0").last().to_string() == "255.255.255.255");
}

TEST_CASE("address parsing agrees with inet_pton, byte for byte")
{
    // The parser is hand-written for speed (a registry sync parses millions
    // of addresses); inet_pton is the reference it must equal.
    const char* texts[] = {
        "0.0.0.0", "255.255.255.255", "192.0.2.1", "1.2.3.4", "01.2.3.4", "1.2.3.04", "1.2.3.0",
        "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "1.2.3.4\t",
        "1.2.3.-4", "1.2.3.+4", "1.2.3.4a", "a.b.c.d", "1234.1.1.1", "1.2.3.255", "00.0.0.0",
        "0x1.2.3.4", "1,2,3,4", "", "2001:db8::1", "::", "::1", "::ffff:192.0.2.1", "2001:db8::g",
        "2001:0db8:0000:0000:0000:0000:0000:0001", "1:2:3:4:5:6:7:8:9", ":::", "2001:db8:::1",
        "1:2:3:4:5:6:1.2.3.4", "fe80::1", "2001:db8::1.2.3.4.5",
        "2001:0db8:0000:0000:0000:0000:0000:00001",
    };
    for (const char* t : texts) {
        CAPTURE(t);
        unsigned char want4[4], want6[16];
        bool v4 = ::inet_pton(AF_INET, t, want4) == 1;
        bool v6 = !v4 && ::inet_pton(AF_INET6, t, want6) == 1;
        auto got = Address::try_parse(t);
        REQUIRE(got.has_value() == (v4 || v6));
        if (v4) {
            CHECK(got->family == Family::v4);
            CHECK(std::memcmp(got->bytes.data(), want4, 4) == 0);
        } else if (v6) {
            CHECK(got->family == Family::v6);
            CHECK(std::memcmp(got->bytes.data(), want6, 16) == 0);
        }
    }
}

TEST_CASE("prefixes order by family, address, then length")
{
    std::vector<Prefix> v{Prefix::parse("2001:db8::/32"), Prefix::parse("192.0.2.0/25"),
                          Prefix::parse("192.0.2.0/24"), Prefix::parse("10.0.0.0/8"),
                          Prefix::parse("192.0.2.128/25"), Prefix::parse("::/0"),
                          Prefix::parse("2001:db8:0:0:8000::/65")};
    std::sort(v.begin(), v.end());
    std::vector<std::string> got;
    for (const auto& p : v)
        got.push_back(p.to_string());
    CHECK(got == std::vector<std::string>{"10.0.0.0/8", "192.0.2.0/24", "192.0.2.0/25", "192.0.2.128/25",
                                          "::/0", "2001:db8::/32", "2001:db8:0:0:8000::/65"});
    CHECK(Prefix::parse("192.0.2.0/24") == Prefix::parse("192.0.2.7/24"));
    CHECK_FALSE(Prefix::parse("192.0.2.0/24") == Prefix::parse("192.0.2.0/25"));
}
