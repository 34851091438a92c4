// Every real registry in ../shared/registries, parsed with its format
// auto-detected, against the counts in its *.stats.txt: distinct entries
// per family, prefix-length histograms, addresses covered after merging
// (for zi dumps per element kind, for rkn-xml per element kind and per
// blockType). Skipped with a message when the directory is absent.
#include "registry/fetch.hpp"
#include "store/impact.hpp"
#include "registry/parser.hpp"

#include "read_file.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

using namespace pw;
namespace fs = std::filesystem;

namespace {

const fs::path kRegistries = PW_SHARED_REGISTRIES;

struct Collected : EntrySink {
    std::map<std::string, std::set<Prefix>> by_kind; // "v4", "v6", "v4-addr", "ip", ...
    size_t rejected = 0;
    void entry(Entry&& e) override
    {
        const char* fam = e.prefix.family == Family::v4 ? "v4" : "v6";
        by_kind[fam].insert(e.prefix);
        by_kind[std::string(fam) + (e.subnet ? "-subnet" : "-addr")].insert(e.prefix);
        if (!e.kind.empty())
            by_kind[e.kind].insert(e.prefix);
    }
    void reject(Rejection&&) override { rejected++; }
};

// "/8:16 /9:14" or "{10: 1, 12: 5}" -> {8:16, 9:14}
std::map<unsigned, size_t> histogram(const std::string& text)
{
    std::map<unsigned, size_t> h;
    std::regex item(R"(/?(\d+):\s*(\d+))");
    for (std::sregex_iterator it(text.begin(), text.end(), item), end; it != end; ++it)
        h[static_cast<unsigned>(std::stoul((*it)[1]))] = std::stoul((*it)[2]);
    return h;
}

std::map<unsigned, size_t> histogram_of(const std::set<Prefix>& s)
{
    std::map<unsigned, size_t> h;
    for (const auto& p : s)
        h[p.len]++;
    return h;
}

std::optional<std::string> find(const std::string& stats, const std::string& re)
{
    std::smatch m;
    if (std::regex_search(stats, m, std::regex(re)))
        return m[1].str();
    return std::nullopt;
}

Collected parse_file(const fs::path& file, Format& format, ParseStats& stats)
{
    Collected c;
    ParseOptions o;
    o.rkn_block_types = {"ip", "domain", "domain-mask", "url"};
    std::string data;
    fetch(file.string(), {}, [&](std::string_view d) { data.append(d); });
    format = detect_format(data);
    auto parser = make_parser(format, c, o);
    for (size_t i = 0; i < data.size(); i += 1 << 20)
        parser->feed(std::string_view(data).substr(i, 1 << 20));
    parser->finish();
    stats = parser->stats();
    return c;
}

size_t size_of(Collected& c, const std::string& k) { return c.by_kind[k].size(); }

} // namespace

TEST_CASE("real registries match their published counts")
{
    if (!fs::is_directory(kRegistries)) {
        MESSAGE("SKIP: " << kRegistries << " is absent; the real-data checks did not run");
        return;
    }
    size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(kRegistries)) {
        std::string name = e.path().filename().string();
        if (!e.is_regular_file() || name.size() < 10 || name.substr(name.size() - 10) != ".stats.txt")
            continue;
        std::string base = name.substr(0, name.size() - 10);
        fs::path data;
        for (const char* ext : {"", ".lst", ".csv", ".txt.gz", ".gz"})
            if (fs::exists(e.path().parent_path() / (base + ext)))
                data = e.path().parent_path() / (base + ext);
        if (data.empty() || fs::is_directory(data))
            continue;
        files++;
        std::string stats = pwtest::read_file(e.path());
        CAPTURE(data.string());
        Format format;
        ParseStats ps;
        Collected c = parse_file(data, format, ps);

        if (format == Format::rkn_xml) {
            for (const char* kind : {"ip", "ipSubnet", "ipv6", "ipv6Subnet"}) {
                auto want = find(stats, std::string("\\n") + kind + R"(: occurrences \d+ distinct (\d+))");
                REQUIRE(want);
                CAPTURE(kind);
                CHECK(size_of(c, kind) == std::stoul(*want));
            }
            CHECK(ps.records == std::stoul(*find(stats, R"(contents: (\d+))")));
            auto bt = *find(stats, R"(blockType: \{([^}]*)\})");
            std::map<std::string, size_t> want_bt;
            std::regex item(R"('([^']+)': (\d+))");
            for (std::sregex_iterator it(bt.begin(), bt.end(), item), end; it != end; ++it)
                want_bt[(*it)[1] == "(absent: default URL blocking)" ? "url" : (*it)[1].str()] =
                    std::stoul((*it)[2]);
            CHECK(ps.block_types == want_bt);
        } else if (auto v4a = find(stats, R"(IPv4 addresses: occurrences \d+ distinct (\d+))")) {
            // z-i CSV dumps: single addresses and subnets per family.
            CHECK(format == Format::zapret);
            CHECK(size_of(c, "v4-addr") == std::stoul(*v4a));
            CHECK(size_of(c, "v4-subnet") == std::stoul(*find(stats, R"(IPv4 subnets:\s+occurrences \d+ distinct (\d+))")));
            CHECK(size_of(c, "v6-addr") == std::stoul(*find(stats, R"(IPv6 addresses: occurrences \d+ distinct (\d+))")));
            CHECK(size_of(c, "v6-subnet") == std::stoul(*find(stats, R"(IPv6 subnets:\s+occurrences \d+ distinct (\d+))")));
            CHECK(histogram_of(c.by_kind["v4-subnet"]) ==
                  histogram(*find(stats, R"(IPv4 subnet prefix-length histogram \(distinct\): (\{[^}]*\}))")));
            auto covered = find(stats, R"(IPv4 total addresses covered after merge: (\d+))");
            RuleSet rs;
            for (const auto& p : c.by_kind["v4"])
                rs.add(p, "x", Claim{Action::block, ""});
            CHECK(to_string(count_units(blocked_ranges(rs, Family::v4))) == *covered);
        } else {
            // One entry per line formats.
            auto v4 = find(stats, R"(IPv4 distinct: (\d+))");
            auto v6 = find(stats, R"(IPv6 distinct: (\d+))");
            CHECK(size_of(c, "v4") == (v4 ? std::stoul(*v4) : 0));
            CHECK(size_of(c, "v6") == (v6 ? std::stoul(*v6) : 0));
            CHECK(c.rejected == 0);
            if (auto h = find(stats, R"(IPv4 prefix-length histogram[^:]*: ([^\n]*))"))
                CHECK(histogram_of(c.by_kind["v4"]) == histogram(*h));
            if (auto h = find(stats, R"(IPv6 prefix-length histogram[^:]*: ([^\n]*))"))
                CHECK(histogram_of(c.by_kind["v6"]) == histogram(*h));
            if (auto covered = find(stats, R"(IPv4 [^\n]*addresses covered: (\d+))")) {
                RuleSet rs;
                for (const auto& p : c.by_kind["v4"])
                    rs.add(p, "x", Claim{Action::block, ""});
                CHECK(to_string(count_units(blocked_ranges(rs, Family::v4))) == *covered);
            }
        }
    }
    MESSAGE("checked " << files << " registries against their stats");
    CHECK(files >= 30);
}
