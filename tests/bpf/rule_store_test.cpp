// The rule store beside the maps: a state directory of the version before
// it is imported on first open; maps left unequal to the store by a run
// that died mid-commit are rebuilt from it; and a long run of single
// changes (each a patch of the compiled table, written into both copies
// in turn) keeps the table equal to the store.
#include "base/error.hpp"
#include "harness.hpp"
#include "random_rules.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

#include <filesystem>
#include <fstream>

using namespace pw;
using pwtest::Frame;
namespace fs = std::filesystem;

namespace {

constexpr ProgramSettings kDst{Match::dst, false, false, false};

int verdict_for(pwtest::Harness& h, const char* dst)
{
    return h.run(kDst, Frame().eth().ipv4("203.0.113.1", dst).udp().bytes());
}

size_t results_in_use(pwtest::Harness& h)
{
    auto results = h.dp().compiled_results();
    size_t n = 0;
    for (size_t i = 1; i < results.size(); i++) // word 0: the generation
        n += results[i] != 0;
    return n;
}

} // namespace

TEST_CASE("a state directory of the version before the rule store is imported on first open")
{
    pwtest::TempDir base("import");
    fs::path state = base.path / "state";
    RuleSet old;
    old.add(Prefix::parse("192.0.2.0/24"), "court", Claim{Action::block, "order 1"});
    old.add(Prefix::parse("198.51.100.0/24"), "spamhaus", Claim{Action::block, "SBL1"});
    old.add(Prefix::parse("198.51.100.128/25"), "cli", Claim{Action::allow, ""});
    old.add(Prefix::parse("2001:db8::/48"), "cli", Claim{Action::monitor, ""});
    old.remove(Prefix::parse("2001:db8::/48"), "");
    old.add(Prefix::parse("2001:db8:1::/48"), "cli", Claim{Action::block, ""});
    StateStore(state).save_rules(old);
    std::ofstream(state / "pending") << "maps changing\n";

    pwtest::Harness h(Capacity{1u << 16, 1u << 16, 1024}, state.string());
    RuleSet now = h.ctl().snapshot();
    REQUIRE(now.size() == old.size());
    for (const auto& [p, r] : old.rules()) {
        const Rule* got = now.get(p);
        REQUIRE(got);
        CHECK(got->id == r.id);
        CHECK(got->claims == r.claims);
    }
    CHECK_FALSE(fs::exists(state / "rules.tsv"));
    CHECK(fs::exists(state / "rules.tsv.imported"));
    CHECK_FALSE(fs::exists(state / "pending"));
    CHECK(verdict_for(h, "192.0.2.1") == XDP_DROP);
    CHECK(verdict_for(h, "198.51.100.1") == XDP_DROP);
    CHECK(verdict_for(h, "198.51.100.129") == XDP_PASS);
    CHECK(results_in_use(h) == old.size());
    // Ids go on from the old next id.
    h.add("203.0.113.0/24", Action::block);
    CHECK(h.id("203.0.113.0/24") >= old.next_id());
    h.reopen(); // imported once
    CHECK(h.ctl().snapshot().size() == old.size() + 1);
}

TEST_CASE("maps left unequal to the store by a run that died mid-commit are rebuilt from it")
{
    pwtest::Harness h;
    h.add("192.0.2.0/24", Action::block);
    h.add("198.51.100.0/24", Action::block);
    // What a commit killed after taking result indices leaves: the maps
    // say "changing", an index is held for a rule the store never got.
    uint32_t hint = 0;
    h.dp().take_result(4242, hint);
    h.dp().set_generation(Dataplane::kGenerationChanging);
    CHECK(results_in_use(h) == 3);

    h.reopen(); // the next command
    h.ctl().view();
    CHECK(h.dp().generation() == h.ctl().view().generation());
    CHECK(results_in_use(h) == 2);
    CHECK(verdict_for(h, "192.0.2.1") == XDP_DROP);
    CHECK(verdict_for(h, "198.51.100.1") == XDP_DROP);
    CHECK(verdict_for(h, "203.0.113.1") == XDP_PASS);
}

TEST_CASE("300 single changes, each patched into both table copies, keep the table equal to the store")
{
    std::mt19937_64 rng(20261201);
    pwtest::Harness h;
    const Prefix space[] = {Prefix::parse("192.0.2.0/24"), Prefix::parse("198.51.100.0/24"),
                            Prefix::parse("203.0.113.0/24"), Prefix::parse("2001:db8::/32")};
    const Action actions[] = {Action::block, Action::allow, Action::monitor};
    std::vector<Prefix> made;
    size_t mismatches = 0;
    for (int i = 0; i < 300; i++) {
        if (!made.empty() && rng() % 3 == 0) {
            size_t k = rng() % made.size();
            h.ctl().commit({{made[k], "", std::nullopt}});
            made.erase(made.begin() + static_cast<long>(k));
        } else {
            const Prefix& in = space[rng() % 4];
            unsigned extra = static_cast<unsigned>(rng() % (max_len(in.family) - in.len + 1));
            Prefix p = Prefix::of(pwtest::random_inside(rng, in), in.len + extra);
            h.ctl().commit({{p, "t", Claim{actions[rng() % 3], ""}}});
            made.push_back(p);
        }
        if (i % 30 != 29)
            continue;
        RuleSet ref = h.ctl().snapshot();
        for (int k = 0; k < 2000; k++) {
            const Prefix& in = space[rng() % 4];
            Address a = pwtest::random_inside(rng, in);
            const Rule* want = ref.lookup(a);
            auto got = h.dp().lookup(a);
            bool same = (want == nullptr) == !got.has_value() && (!want || got->rule_id == want->id);
            if (!same && ++mismatches <= 5)
                FAIL_CHECK("after change " << i << ", " << a.to_string() << ": table rule "
                                           << (got ? got->rule_id : 0) << ", store "
                                           << (want ? want->id : 0));
        }
    }
    CHECK(mismatches == 0);
    CHECK(results_in_use(h) == h.ctl().snapshot().size());
}
