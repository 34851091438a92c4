// A state directory that is full or read-only: the commit fails with a
// one-line error naming the cause, the rule store holds the previous
// version, the version in force is the previous one, and the next commit
// after the fault is cleared goes through.
#include "base/error.hpp"
#include "harness.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace pw;
using pwtest::Frame;
namespace fs = std::filesystem;

namespace {

constexpr ProgramSettings kBoth{Match::both, false, false, false};

// The rules in the store, as text.
std::string saved_rules(pwtest::Harness& h)
{
    std::string out;
    RuleSet rules = h.ctl().snapshot();
    for (const auto& [p, r] : rules.rules())
        out += std::to_string(r.id) + " " + p.to_string() + " " + action_name(r.action()) + "\n";
    return out;
}

int verdict_for(pwtest::Harness& h, const char* dst)
{
    return h.run(kBoth, Frame().eth().ipv4("203.0.113.1", dst).udp().bytes());
}

using TempDir = pwtest::TempDir;

// A 256 KiB tmpfs for the state, unmounted at the end.
struct SmallFs {
    fs::path dir;
    explicit SmallFs(const fs::path& d) : dir(d)
    {
        fs::create_directories(dir);
        REQUIRE(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k,mode=0700") == 0);
    }
    ~SmallFs() { ::umount2(dir.c_str(), MNT_DETACH); }
};

// A harness whose state directory is a small tmpfs, with 192.0.2.0/24
// blocked and saved; the tests then break the file system.
struct StateOnSmallFs {
    TempDir base;
    SmallFs small{base.path / "state"};
    pwtest::Harness h{Capacity{1u << 16, 1u << 16, 1024}, small.dir.string()};
    std::string saved;

    StateOnSmallFs()
    {
        h.add("192.0.2.0/24", Action::block);
        saved = saved_rules(h);
        REQUIRE_FALSE(saved.empty());
        REQUIRE(verdict_for(h, "192.0.2.1") == XDP_DROP);
    }
    // The next version: 198.51.100.0/24 blocked too.
    RuleSet next()
    {
        RuleSet n = h.ctl().snapshot();
        n.add(Prefix::parse("198.51.100.0/24"), "test", Claim{});
        return n;
    }
    // The failed commit changed nothing: the store and the version in force.
    void check_unchanged()
    {
        CHECK(saved_rules(h) == saved);
        CHECK(verdict_for(h, "192.0.2.1") == XDP_DROP);
        CHECK(verdict_for(h, "198.51.100.1") == XDP_PASS);
    }
};

} // namespace

TEST_CASE("a full state directory: the commit fails cleanly and nothing in force changes")
{
    StateOnSmallFs t;
    auto& h = t.h;
    {   // Fill the file system.
        std::ofstream filler(t.small.dir / "filler");
        std::string block(4096, 'x');
        while (filler.write(block.data(), block.size()))
            ;
    }
    RuleSet next = t.next();
    next.remove(Prefix::parse("192.0.2.0/24"), "");
    CHECK_THROWS_WITH_AS(h.commit(next), doctest::Contains("No space left on device"), Error);
    t.check_unchanged();

    // A restart finds the same version, with nothing to repair.
    h.reopen();
    CHECK(h.ctl().snapshot().size() == 1);
    CHECK(verdict_for(h, "192.0.2.1") == XDP_DROP);

    fs::remove(t.small.dir / "filler");
    h.commit(next);
    CHECK(verdict_for(h, "192.0.2.1") == XDP_PASS);
    CHECK(verdict_for(h, "198.51.100.1") == XDP_DROP);
}

TEST_CASE("a read-only state directory: the commit fails cleanly and nothing in force changes")
{
    StateOnSmallFs t;
    const char* dir = t.small.dir.c_str();
    RuleSet next = t.next();
    // A command that starts while the file system is read-only.
    t.h.close();
    REQUIRE(::mount(nullptr, dir, nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    t.h.reopen();
    CHECK_THROWS_WITH_AS(t.h.commit(next), doctest::Contains("Read-only file system"), Error);
    t.check_unchanged();

    t.h.close();
    REQUIRE(::mount(nullptr, dir, nullptr, MS_REMOUNT, nullptr) == 0);
    t.h.reopen();
    t.h.commit(next);
    CHECK(verdict_for(t.h, "198.51.100.1") == XDP_DROP);
}
