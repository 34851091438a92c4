// Every registry format against small hand-written fixtures
// (tests/fixtures) that carry the quirks listed in
// ../shared/registries/README.md. Each file is also fed one byte at a
// time: streaming must not change the result.
#include "base/error.hpp"
#include "registry/fetch.hpp"
#include "registry/parser.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace pw;

namespace {

std::string read_fixture(const std::string& name)
{
    std::ifstream in(std::string(PW_FIXTURES_DIR) + "/" + name, std::ios::binary);
    REQUIRE_MESSAGE(in, "missing fixture " << name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Parsed : EntrySink {
    std::vector<Entry> entries;
    std::vector<Rejection> rejections;
    ParseStats stats;
    void entry(Entry&& e) override { entries.push_back(std::move(e)); }
    void reject(Rejection&& r) override { rejections.push_back(std::move(r)); }
    std::vector<std::string> prefixes() const
    {
        std::vector<std::string> out;
        for (const auto& e : entries)
            out.push_back(e.prefix.to_string());
        return out;
    }
};

Parsed parse(const std::string& data, Format f, size_t chunk, const ParseOptions& o = {})
{
    Parsed p;
    auto parser = make_parser(f, p, o);
    for (size_t i = 0; i < data.size(); i += chunk)
        parser->feed(std::string_view(data).substr(i, chunk));
    parser->finish();
    p.stats = parser->stats();
    return p;
}

// Parses whole and byte by byte; both must agree.
Parsed parse_both_ways(const std::string& name, Format f, const ParseOptions& o = {})
{
    std::string data = read_fixture(name);
    Parsed whole = parse(data, f, data.size() + 1, o);
    Parsed bytewise = parse(data, f, 1, o);
    CHECK(whole.prefixes() == bytewise.prefixes());
    CHECK(whole.rejections.size() == bytewise.rejections.size());
    return whole;
}

using V = std::vector<std::string>;

} // namespace

TEST_CASE("formats are detected from the first bytes")
{
    CHECK(detect_format(read_fixture("plain.netset")) == Format::plain);
    CHECK(detect_format(read_fixture("spamhaus-drop.txt")) == Format::spamhaus);
    CHECK(detect_format(read_fixture("spamhaus-drop.json")) == Format::spamhaus_json);
    CHECK(detect_format(read_fixture("zapret.csv")) == Format::zapret);
    CHECK(detect_format(read_fixture("zapret-part.csv")) == Format::zapret);
    CHECK(detect_format(read_fixture("rkn.xml")) == Format::rkn_xml);
    CHECK(detect_format(read_fixture("rkn-tail.xml")) == Format::rkn_xml);
    CHECK(detect_format(read_fixture("pfx2as.txt")) == Format::pfx2as);
    CHECK(parse_format("spamhaus-json") == Format::spamhaus_json);
    CHECK_THROWS_AS(parse_format("yaml"), Error);
}

TEST_CASE("plain: comments, CRLF, trailing spaces, host bits, bad lines, no final newline")
{
    Parsed p = parse_both_ways("plain.netset", Format::plain);
    CHECK(p.prefixes() == V{"192.0.2.0/24", "198.51.100.7/32", "203.0.113.0/25", "2001:db8:10::/48",
                            "192.0.2.0/24", "2001:db8:20::1/128"});
    CHECK(p.entries[2].masked);
    CHECK_FALSE(p.entries[0].masked);
    CHECK(p.entries[0].subnet);
    CHECK_FALSE(p.entries[1].subnet);
    REQUIRE(p.rejections.size() == 2);
    CHECK(p.rejections[0].line == 11);
    CHECK(p.rejections[0].reason == "bad prefix 'not-an-address': not an IPv4 or IPv6 address");
    CHECK(p.rejections[1].line == 13);
    CHECK(p.rejections[1].reason == "bad prefix '198.51.100.128/33': prefix length 33 exceeds 32");
}

TEST_CASE("spamhaus text: SBL ids become references, v4 and v6")
{
    Parsed p = parse_both_ways("spamhaus-drop.txt", Format::spamhaus);
    CHECK(p.prefixes() == V{"192.0.2.0/24", "198.51.100.0/25", "198.51.100.0/25", "203.0.113.0/24",
                            "203.0.113.64/26", "2001:db8:1000::/36"});
    CHECK(p.entries[0].ref == "SBL100001");
    CHECK(p.entries[5].ref == "SBL100006");
    CHECK(p.rejections.empty());
}

TEST_CASE("spamhaus JSON lines: null values, a broken line, the metadata trailer")
{
    Parsed p = parse_both_ways("spamhaus-drop.json", Format::spamhaus_json);
    CHECK(p.prefixes() == V{"192.0.2.0/24", "198.51.100.0/24", "2001:db8:2000::/40"});
    CHECK(p.entries[1].ref == "SBL200002");
    REQUIRE(p.rejections.size() == 2);
    CHECK(p.rejections[0].line == 4);
    CHECK(p.rejections[0].reason == "no \"cidr\" string");
    CHECK(p.rejections[1].line == 5);
    CHECK(p.rejections[1].reason == "not a JSON object");
}

TEST_CASE("spamhaus JSON lines: fields of the wrong type are rejected, not fatal (fuzz regression)")
{
    std::string data = "{\"type\": 5, \"cidr\": \"192.0.2.0/24\"}\n{\"cidr\": 7}\n"
                       "{\"cidr\": \"198.51.100.0/24\", \"sblid\": [1]}\n";
    Parsed p = parse(data, Format::spamhaus_json, 5);
    CHECK(p.prefixes() == V{"192.0.2.0/24", "198.51.100.0/24"});
    CHECK(p.entries[1].ref.empty());
    REQUIRE(p.rejections.size() == 1);
    CHECK(p.rejections[0].reason == "no \"cidr\" string");
}

TEST_CASE("zapret CSV: cp1251, both separators, mixed families, quoting, cut-off last line")
{
    Parsed p = parse_both_ways("zapret.csv", Format::zapret);
    CHECK(p.prefixes() == V{"192.0.2.1/32", "192.0.2.2/32", "198.51.100.10/32", "2001:db8:3::1/128",
                            "2001:db8:4::1/128", "203.0.113.0/24", "192.0.2.3/32", "198.51.100.11/32",
                            "192.0.2.1/32", "192.0.2.2/32", "198.51.100.12/32", "198.51.100.13/32"});
    // The decision number, date and organisation, decoded to UTF-8.
    CHECK(p.entries[0].ref == "27-31-2018/Ид2971-18 2018-04-16 (Генпрокуратура)");
    CHECK(p.entries[2].ref ==
          "1495993-URL-on 2021-11-10 (Роскомнадзор, на основании ранее вынесенного решения (ФНС))");
    CHECK(p.entries[7].ref == "2015-04-03");
    CHECK(p.entries[5].subnet);
    REQUIRE(p.rejections.size() == 2);
    CHECK(p.rejections[0].line == 8);
    CHECK(p.rejections[0].reason == "bad prefix '192.0.2.300': not an IPv4 or IPv6 address");
    CHECK(p.rejections[1].line == 9);
    CHECK(p.rejections[1].reason == "record cut off after 3 of 6 fields (its addresses are kept)");
    CHECK(p.stats.records == 8);
}

TEST_CASE("zapret split part: no Updated line")
{
    Parsed p = parse_both_ways("zapret-part.csv", Format::zapret);
    CHECK(p.prefixes() == V{"192.0.2.1/32", "192.0.2.2/32", "198.51.100.10/32", "2001:db8:3::1/128",
                            "2001:db8:4::1/128"});
    CHECK(p.rejections.empty());
}

TEST_CASE("rkn-xml: only blockType ip by default; references carry content id and decision")
{
    Parsed p = parse_both_ways("rkn.xml", Format::rkn_xml);
    CHECK(p.prefixes() == V{"192.0.2.10/32", "198.51.100.0/26", "2001:db8:5::1/128", "2001:db8:6::/48",
                            "203.0.113.5/32"});
    CHECK(p.entries[0].ref == "content 101, decision 2-1-ИП 2019-01-01 (Генпрокуратура)");
    CHECK(p.entries[1].kind == "ipSubnet");
    CHECK(p.entries[2].kind == "ipv6");
    REQUIRE(p.rejections.size() == 1);
    CHECK(p.rejections[0].reason == "bad prefix '192.0.2.300': not an IPv4 or IPv6 address");
    CHECK(p.stats.records == 4);
    CHECK(p.stats.block_types == std::map<std::string, size_t>{{"domain", 1}, {"ip", 2}, {"url", 1}});
}

TEST_CASE("rkn-xml: other block types only when asked for")
{
    ParseOptions o;
    o.rkn_block_types = {"domain", "url"};
    Parsed p = parse_both_ways("rkn.xml", Format::rkn_xml, o);
    CHECK(p.prefixes() == V{"104.16.0.1/32", "2606:4700::1/128", "172.67.0.1/32"});
}

TEST_CASE("rkn-xml: a tail part without declaration and root start tag")
{
    Parsed p = parse_both_ways("rkn-tail.xml", Format::rkn_xml);
    CHECK(p.prefixes() == V{"198.51.100.77/32", "2001:db8:7::7/128"});
    CHECK(p.entries[0].ref == "content 7095890, decision 9-9 2024-06-01 (Генпрокуратура)");
    CHECK(p.stats.block_types == std::map<std::string, size_t>{{"domain-mask", 1}, {"ip", 1}});
}

TEST_CASE("rkn-xml: broken XML is an error with its line")
{
    std::string bad = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<reg:register>\n<content id=\"1\" blockType=\"ip\"><ip>192.0.2.1</ip>\n</reg:register>";
    CHECK_THROWS_WITH_AS(parse(bad, Format::rkn_xml, 7), "XML error at line 4: mismatched tag", Error);
}

TEST_CASE("pfx2as: MOAS and AS sets kept as references; short lines rejected")
{
    Parsed p = parse_both_ways("pfx2as.txt", Format::pfx2as);
    CHECK(p.prefixes() == V{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/25", "2001:db8::/32"});
    CHECK(p.entries[1].ref == "AS64497_64498");
    REQUIRE(p.rejections.size() == 1);
    CHECK(p.rejections[0].line == 4);
}

TEST_CASE("an overlong line is rejected and skipped, the rest still parsed")
{
    ParseOptions o;
    o.max_line = 64;
    std::string data = "192.0.2.1\n" + std::string(200, '7') + "\n198.51.100.1\n";
    Parsed p = parse(data, Format::plain, 13, o);
    CHECK(p.prefixes() == V{"192.0.2.1/32", "198.51.100.1/32"});
    REQUIRE(p.rejections.size() == 1);
    CHECK(p.rejections[0].line == 2);
    CHECK(p.rejections[0].reason == "line longer than 64 bytes");
}

TEST_CASE("files: gzip is undone by its magic; missing files and size limits are errors")
{
    std::string dir = PW_FIXTURES_DIR;
    std::string plain, gz;
    fetch(dir + "/plain.netset", {}, [&](std::string_view d) { plain.append(d); });
    fetch(dir + "/plain.netset.gz", {}, [&](std::string_view d) { gz.append(d); });
    CHECK(plain == gz);
    CHECK(plain == read_fixture("plain.netset"));
    CHECK_THROWS_WITH_AS(fetch(dir + "/nope.txt", {}, [](std::string_view) {}),
                         (dir + "/nope.txt: No such file or directory").c_str(), Error);
    FetchOptions small;
    small.max_bytes = 100;
    CHECK_THROWS_WITH_AS(fetch(dir + "/plain.netset", small, [](std::string_view) {}),
                         (dir + "/plain.netset: larger than the limit of 100 bytes").c_str(), Error);
    CHECK_THROWS_WITH_AS(fetch("ftp://example.org/x", {}, [](std::string_view) {}),
                         "ftp://example.org/x: only file paths and http(s) URLs are supported", Error);
}
