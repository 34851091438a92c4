// Captures through BPF_PROG_TEST_RUN: a running capture's ring gets the
// frames its filter matches (rule, outcome, sample), as they came (a
// rejected frame before it became its answer), with the rules and the
// outcome; a full ring counts what it lost; with no capture running the
// data plane writes nothing.
#include "harness.hpp"
#include "base/error.hpp"
#include "kernel/capture_slots.hpp"

#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <linux/bpf.h>
#include <sched.h>

#include <cstring>

using namespace pw;
using pwtest::Frame;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr ProgramSettings kBoth{Match::both, false, false, false};

struct Seen {
    pw_capture_record head{};
    Bytes data;
};

// The records a capture's ring holds now.
std::vector<Seen> drain(int ring_fd)
{
    std::vector<Seen> out;
    auto cb = [](void* ctx, void* data, size_t) {
        auto* v = static_cast<std::vector<Seen>*>(ctx);
        const auto* r = static_cast<const pw_capture_record*>(data);
        Seen s;
        std::memcpy(&s.head, r, offsetof(pw_capture_record, data));
        s.data.assign(r->data, r->data + r->caplen);
        v->push_back(std::move(s));
        return 0;
    };
    ring_buffer* rb = ring_buffer__new(ring_fd, cb, &out, nullptr);
    REQUIRE(rb);
    ring_buffer__consume(rb);
    ring_buffer__free(rb);
    return out;
}

struct Fixture {
    pwtest::Harness h;
    Bytes blocked = Frame().eth().ipv4("203.0.113.5", "192.0.2.9", 17).udp(1, 2, 100).bytes();
    Bytes rejected = Frame().eth().ipv4("203.0.113.5", "198.51.100.9", 6).tcp(1, 2, 3, 0, 0x02).bytes();
    Bytes clean = Frame().eth().ipv6("2001:db8:0:1::5", "2001:db8:0:2::5", 17).udp().bytes();
    Fixture()
    {
        h.add("192.0.2.0/24", Action::block);
        h.add("198.51.100.0/24", Action::reject);
        h.run(kBoth, clean); // loads the program: the capture maps exist
    }
    const std::filesystem::path& pins() { return h.dp().pin_dir(); }
};

} // namespace

TEST_CASE("a capture gets the frames it asks for, as they came, with rules and outcome")
{
    Fixture f;
    {
        CaptureFilter all;
        all.snaplen = 64;
        CaptureSlot slot(f.pins(), all, 1 << 16);
        CHECK(running_captures(f.pins()) == 1);
        CHECK(f.h.run(kBoth, f.blocked) == XDP_DROP);
        CHECK(f.h.run(kBoth, f.rejected) == XDP_TX);
        CHECK(f.h.run(kBoth, f.clean) == XDP_PASS);
        auto got = drain(slot.ring_fd());
        REQUIRE(got.size() == 3);
        CHECK(got[0].head.dst_rule_id == f.h.id("192.0.2.0/24"));
        CHECK(got[0].head.src_rule_id == 0);
        CHECK(got[0].head.outcome == PW_OUTCOME_DROPPED);
        CHECK(got[0].head.family == PW_FAMILY_IPV4);
        CHECK(got[0].head.len == f.blocked.size());
        CHECK(got[0].head.caplen == 64);
        CHECK(got[0].data == Bytes(f.blocked.begin(), f.blocked.begin() + 64));
        CHECK(got[1].head.outcome == PW_OUTCOME_REJECTED);
        CHECK(got[1].head.dst_rule_id == f.h.id("198.51.100.0/24"));
        CHECK(got[1].data == f.rejected); // the SYN (54 bytes), not the RST
        CHECK(got[2].head.outcome == PW_OUTCOME_PASSED);
        CHECK(got[2].head.family == PW_FAMILY_IPV6);
        CHECK(got[2].data == Bytes(f.clean.begin(), f.clean.begin() + 64));
        CHECK(got[0].head.ktime_ns <= got[2].head.ktime_ns);
        CHECK(slot.lost() == 0);
    }
    // The slot is given back: nothing runs, nothing is written.
    CHECK(running_captures(f.pins()) == 0);
}

TEST_CASE("capture filters: by rule, by outcome, one in N; several captures at once")
{
    Fixture f;
    CaptureFilter by_rule, by_outcome, sampled;
    by_rule.rule_id = f.h.id("192.0.2.0/24");
    by_outcome.outcomes = 1u << PW_OUTCOME_REJECTED;
    sampled.sample = 3;
    CaptureSlot a(f.pins(), by_rule, 1 << 16), b(f.pins(), by_outcome, 1 << 16);
    CHECK(a.slot() != b.slot());
    // The sample counter is per CPU: stay on one.
    cpu_set_t one, before;
    REQUIRE(sched_getaffinity(0, sizeof(before), &before) == 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);
    {
        CaptureSlot c(f.pins(), sampled, 1 << 16);
        CHECK(running_captures(f.pins()) == 3);
        for (int i = 0; i < 3; i++) {
            f.h.run(kBoth, f.blocked);
            f.h.run(kBoth, f.rejected);
            f.h.run(kBoth, f.clean);
        }
        CHECK(drain(c.ring_fd()).size() == 3); // 9 frames, one in 3
    }
    sched_setaffinity(0, sizeof(before), &before);
    auto ra = drain(a.ring_fd()), rb = drain(b.ring_fd());
    CHECK(ra.size() == 3);
    for (const auto& s : ra)
        CHECK(s.data == f.blocked);
    CHECK(rb.size() == 3);
    for (const auto& s : rb)
        CHECK(s.head.outcome == PW_OUTCOME_REJECTED);
    CHECK(running_captures(f.pins()) == 2);
}

TEST_CASE("a full capture ring loses frames and counts them; the verdict does not change")
{
    Fixture f;
    CaptureFilter all;
    CaptureSlot slot(f.pins(), all, 4096); // room for 2 records of 1,576 bytes
    for (int i = 0; i < 10; i++)
        CHECK(f.h.run(kBoth, f.blocked) == XDP_DROP);
    CHECK(drain(slot.ring_fd()).size() == 2);
    CHECK(slot.lost() == 8);
}

TEST_CASE("a dead capture's slot is reclaimed; all slots taken is a clear error")
{
    Fixture f;
    std::vector<std::unique_ptr<CaptureSlot>> slots;
    for (int i = 0; i < PW_CAPTURE_SLOTS; i++)
        slots.push_back(std::make_unique<CaptureSlot>(f.pins(), CaptureFilter{}, 4096));
    CHECK_THROWS_WITH_AS(CaptureSlot(f.pins(), CaptureFilter{}, 4096),
                         "all 8 capture slots are in use by running captures", Error);
    slots.clear();
    CHECK(running_captures(f.pins()) == 0);
}
