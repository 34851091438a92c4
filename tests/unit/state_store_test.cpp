#include "base/error.hpp"
#include "store/state_store.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace pw;
namespace fs = std::filesystem;

using TempDir = pwtest::TempDir;

TEST_CASE("rules survive a save and load, comments with tabs and newlines included")
{
    TempDir d;
    StateStore store(d.path / "state");
    RuleSet rs;
    rs.add(Prefix::parse("192.0.2.0/24"), "court", Claim{Action::block, "order 1\twith\ttabs\nand lines\\"});
    rs.add(Prefix::parse("192.0.2.0/24"), "spamhaus", Claim{Action::block, "SBL123"});
    rs.add(Prefix::parse("2001:db8::/48"), "cli", Claim{Action::allow, ""});
    rs.remove(Prefix::parse("2001:db8::/48"), "cli");
    rs.add(Prefix::parse("2001:db8:1::/48"), "cli", Claim{Action::monitor, ""});
    store.save_rules(rs);

    struct stat st {};
    REQUIRE(::stat((d.path / "state").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat((d.path / "state" / "rules.tsv").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    RuleSet back = store.load_rules();
    CHECK(back.size() == rs.size());
    CHECK(back.next_id() == rs.next_id());
    for (const auto& [p, r] : rs.rules()) {
        auto b = back.find(p);
        REQUIRE(b);
        CHECK(b->id == r.id);
        CHECK(b->claims == r.claims);
    }
}

TEST_CASE("a damaged rules file is refused with its path and line")
{
    TempDir d;
    StateStore store(d.path);
    std::ofstream(d.path / "rules.tsv") << "#prefixwall-rules v1 next_id=5\n1\t192.0.2.0/24\tcli\n";
    CHECK_THROWS_WITH_AS(store.load_rules(),
                         ((d.path / "rules.tsv").string() + ":2: expected 5 tab-separated fields").c_str(),
                         Error);
}

TEST_CASE("attachments round-trip")
{
    TempDir d;
    StateStore store(d.path);
    CHECK(store.load_attachments().empty());
    store.save_attachments({Attachment{"veth0", 7, XdpMode::generic, Match::src, true, true}});
    auto a = store.load_attachments();
    REQUIRE(a.size() == 1);
    CHECK(a[0].ifname == "veth0");
    CHECK(a[0].ifindex == 7);
    CHECK(a[0].mode == XdpMode::generic);
    CHECK(a[0].match == Match::src);
    CHECK(a[0].dry_run);
    CHECK(a[0].malformed_drop);
}
