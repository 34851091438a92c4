#include "app/config.hpp"
#include "base/error.hpp"

#include "read_file.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>

using namespace pw;

TEST_CASE("a config with sources, guards and fetch limits")
{
    Config c = parse_config(R"(# prefixwall
[guards]
max-removal = 0.25
min-prefix-len-v4 = 12
protect = 192.0.2.0/24
protect = 2001:db8::/48
allow-private = yes
collateral = /etc/prefixwall/ip-ranges.json
collateral = cloudflare=/etc/prefixwall/ips-v4
max-collateral = 4096
max-collateral-v6 = 100

[fetch]
timeout = 60
max-bytes = 1000000

[source drop]
from = https://www.spamhaus.org/drop/drop.txt
format = spamhaus
interval = 3600

[source rkn]
from = /var/lib/rkn/dump.xml.00
from = /var/lib/rkn/dump.xml.01
action = monitor
rkn-block-types = ip, domain
)");
    CHECK(c.guards.max_removal == doctest::Approx(0.25));
    CHECK(c.guards.min_len_v4 == 12);
    CHECK(c.guards.min_len_v6 == 19);
    CHECK(c.guards.protect.size() == 2);
    CHECK(c.guards.allow_private);
    CHECK(c.guards.collateral ==
          std::vector<std::string>{"/etc/prefixwall/ip-ranges.json", "cloudflare=/etc/prefixwall/ips-v4"});
    CHECK(c.guards.max_collateral_v4 == 4096);
    CHECK(c.guards.max_collateral_v6 == 100);
    CHECK(c.fetch.timeout_s == 60);
    CHECK(c.fetch.max_bytes == 1000000);
    REQUIRE(c.sources.size() == 2);
    CHECK(c.sources[0].name == "drop");
    CHECK(c.sources[0].format == Format::spamhaus);
    CHECK(c.sources[0].interval_s == 3600);
    CHECK(c.sources[1].locations.size() == 2);
    CHECK(c.sources[1].action == Action::monitor);
    CHECK(c.sources[1].rkn_block_types == std::set<std::string>{"domain", "ip"});
    CHECK_FALSE(c.sources[1].format.has_value());
}

TEST_CASE("config errors name the file, line and key")
{
    auto why = [](const std::string& text) {
        try {
            parse_config(text, "t.conf");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(why("[guards]\nmax-removal = 2\n") ==
          "t.conf:2 (max-removal): '2' is not a ratio between 0 and 1");
    CHECK(why("[source a]\nfrom = x\n[source a]\nfrom = y\n") == "t.conf:3: source 'a' defined twice");
    CHECK(why("[source ../etc]\n") ==
          "t.conf:1: bad source name '../etc': use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')");
    CHECK(why("[source a]\n") == "t.conf: source 'a' has no 'from'");
    CHECK(why("[source a]\nfrom = x\ncolour = red\n") == "t.conf:3 (colour): unknown key in [source]");
    CHECK(why("[nonsense]\n") == "t.conf:1: unknown section [nonsense]");
    CHECK(why("key = value\n") == "t.conf:1 (key): key outside any section");
    CHECK(why("[guards]\nprotect = 192.0.2.0/40\n") ==
          "t.conf:2 (protect): bad prefix '192.0.2.0/40': prefix length 40 exceeds 32");
    CHECK(why("[source a]\nfrom = x\nrkn-block-types = ip, dns\n") ==
          "t.conf:3 (rkn-block-types): bad block type 'dns': expected ip, domain, domain-mask or url");
    CHECK(why("[fetch]\ntimeout = soon\n") == "t.conf:2 (timeout): 'soon' is not a number");
    CHECK(why("[guards]\nmax-collateral = lots\n") == "t.conf:2 (max-collateral): 'lots' is not a number");
    CHECK(why("[guards\n") == "t.conf:1: unclosed section header");
}

namespace {

// The shipped file with every commented-out key and section turned on:
// "# key = value" and "# [section]" lose their "# "; prose ("#   ...")
// stays a comment.
std::string uncommented(const std::string& text)
{
    static const std::regex key(R"(^# ([a-z0-9-]+ = .*|\[[^\]]+\])$)");
    std::istringstream in(text);
    std::string line, out;
    while (std::getline(in, line))
        out += (std::regex_match(line, key) ? line.substr(2) : line) + "\n";
    return out;
}

} // namespace

TEST_CASE("the shipped config (the package's conffile) enables nothing and shows every key")
{
    const std::string path = std::string(PW_FIXTURES_DIR) + "/../../examples/prefixwall.conf";
    const std::string text = pwtest::read_file(path);
    REQUIRE_FALSE(text.empty());

    // As shipped: no source, no interface, every setting its default.
    Config shipped = parse_config(text, path);
    Config defaults;
    CHECK(shipped.sources.empty());
    CHECK(shipped.daemon.attach.empty());
    CHECK(shipped.daemon.listen == defaults.daemon.listen);
    CHECK(shipped.guards.protect.empty());
    CHECK(shipped.guards.collateral.empty());
    CHECK(shipped.guards.max_removal == defaults.guards.max_removal);
    CHECK(shipped.fetch.timeout_s == defaults.fetch.timeout_s);

    // Every key the parser knows is there, commented, in its section, and
    // the commented values parse.
    const std::string on = uncommented(text);
    Config all = parse_config(on, path + " (uncommented)");
    std::set<std::pair<std::string, std::string>> seen;
    std::string section;
    std::istringstream in(on);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("[source ", 0) == 0)
            section = "source";
        else if (!line.empty() && line[0] == '[')
            section = line.substr(1, line.size() - 2);
        else if (auto eq = line.find(" = "); eq != std::string::npos && line[0] != '#')
            seen.emplace(section, line.substr(0, eq));
    }
    for (const auto& k : config_keys()) {
        INFO("[" << k.first << "] " << k.second);
        CHECK(seen.count(k));
    }
    CHECK(seen.size() == config_keys().size()); // nothing the parser does not know
    CHECK(all.sources.size() == 6);
    CHECK(all.daemon.attach == std::vector<std::string>{"eth0"});
    CHECK(all.sources[3].action == Action::monitor);
    CHECK(all.sources[3].rkn_block_types == std::set<std::string>{"domain", "domain-mask", "url"});
    CHECK(all.sources[4].scope.to_string() == "tcp/80,443 sport 1024-65535");
    CHECK(all.sources[1].expire_s == 2 * 86400);
}

TEST_CASE("a '#' inside a value stays; one after white space starts a comment")
{
    Config c = parse_config("[source a]\nfrom = http://x.example/list#frag   # the list\n");
    CHECK(c.sources[0].locations[0] == "http://x.example/list#frag");
}

TEST_CASE("a source scoped to L4: proto, port and sport in the config and in --source")
{
    Config c = parse_config("[source web]\nfrom = x\nport = 443,8443\nproto = tcp\nsport = 1024-65535\n"
                            "[source plain]\nfrom = y\n");
    CHECK(c.sources[0].scope.to_string() == "tcp/443,8443 sport 1024-65535");
    CHECK_FALSE(c.sources[1].scope.scoped());
    CHECK_THROWS_WITH_AS(parse_config("[source a]\nfrom = x\nport = 443\n", "t.conf"),
                         "t.conf: source 'a': a port needs a protocol: --proto tcp or --proto udp (proto= in a source)",
                         Error);
    CHECK_THROWS_WITH_AS(parse_config("[source a]\nfrom = x\nproto = gre\n", "t.conf"),
                         "t.conf: source 'a': bad protocol 'gre': expected tcp, udp, icmp or icmpv6", Error);
    SourceSpec s = parse_source_flag("web=https://x.example/a,b.txt,proto=udp,port=53+5353,action=monitor");
    CHECK(s.locations[0] == "https://x.example/a,b.txt");
    CHECK(s.scope.to_string() == "udp/53,5353");
    CHECK(s.action == Action::monitor);
    CHECK_THROWS_WITH_AS(parse_source_flag("web=x,port=53"), "--source web: a port needs a protocol: --proto tcp or "
                                                             "--proto udp (proto= in a source)", Error);
}
