// Per-corpus differential test: for each registry the speed issue names,
// both engines in the kernel and the rule set's userspace reference agree
// on the rule (and the compiled engine's verdict section on its action) of
// every address tried: every prefix's
// first and last address and their neighbours, plus random addresses
// (half inside rules, half uniform). The kernel side runs the lookup bench
// program in record mode (bpf_loop over 2^20 addresses per run, the rule
// id of each written out), over the pinned maps of a real commit.
//   corpus_differential [--full]   (root; --full: at least 10M addresses,
//                                   default: 50,000 per corpus and family)
// Exits 77 when ../shared/registries is absent or BPF is unavailable.
#include "bench_prog.hpp"
#include "session/controller.hpp"
#include "corpus.hpp"
#include "harness.hpp"
#include "random_rules.hpp"

#include <sys/mount.h>

#include <cstdio>
#include <iostream>
#include <random>

using namespace pw;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kBatch = 1u << 20;

Address step(Address a, int by)
{
    for (int b = static_cast<int>(addr_bytes(a.family)) - 1; by && b >= 0; b--) {
        int v = a.bytes[b] + by;
        a.bytes[b] = static_cast<uint8_t>(v);
        if (v >= 0 && v <= 255)
            break;
    }
    return a;
}

// Rule ids and verdicts (actions) the kernel gives `addrs` with one engine.
struct KernelAnswers {
    std::vector<uint32_t> ids, verdicts;
};

KernelAnswers kernel_ids(const fs::path& pins, int engine, Family f, const std::vector<Address>& addrs)
{
    KernelAnswers out{std::vector<uint32_t>(addrs.size()), std::vector<uint32_t>(addrs.size())};
    for (size_t base = 0; base < addrs.size(); base += kBatch) {
        uint32_t n = static_cast<uint32_t>(std::min<size_t>(kBatch, addrs.size() - base));
        auto b = pwbench::load_bench(pins, engine, f == Family::v6, true, n);
        int in = bpf_map__fd(b->skel->maps.bench_addrs), res = bpf_map__fd(b->skel->maps.bench_out),
            verdicts = bpf_map__fd(b->skel->maps.bench_verdict);
        for (uint32_t i = 0; i < n; i++)
            bpf_map_update_elem(in, &i, addrs[base + i].bytes.data(), BPF_ANY);
        uint8_t frame[64] = {};
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1);
        if (bpf_prog_test_run_opts(bpf_program__fd(b->skel->progs.lookup_bench), &o) != 0)
            throw std::runtime_error("test run failed");
        for (uint32_t i = 0; i < n; i++) {
            bpf_map_lookup_elem(res, &i, &out.ids[base + i]);
            bpf_map_lookup_elem(verdicts, &i, &out.verdicts[base + i]);
        }
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    bool full = argc > 1 && std::string(argv[1]) == "--full";
    std::string why = pwtest::bpf_unavailable_reason();
    if (!why.empty()) {
        std::cout << "SKIP corpus differential: " << why << "\n";
        return 77;
    }
    if (!fs::exists(pwbench::registries_dir())) {
        std::cout << "SKIP corpus differential: no registries at " << pwbench::registries_dir() << "\n";
        return 77;
    }
    libbpf_set_print([](libbpf_print_level l, const char* f, va_list ap) {
        return l == LIBBPF_WARN ? std::vfprintf(stderr, f, ap) : 0;
    });
    std::mt19937_64 rng(20261125);
    size_t total = 0, failures = 0;
    for (const auto& corpus : pwbench::speed_corpora()) {
        RuleSet rules;
        for (const auto& file : corpus.files)
            pwbench::load_registry(pwbench::registries_dir() / file, rules);
        // A few allow and monitor rules inside blocks, so actions vary too.
        std::vector<Prefix> all;
        for (const auto& [p, _] : rules.rules())
            all.push_back(p);
        for (size_t i = 0; i < all.size() / 50; i++) {
            const Prefix& p = all[rng() % all.size()];
            if (p.len < max_len(p.family))
                rules.add(Prefix::of(pwtest::random_inside(rng, p), p.len + 1), "bench",
                          Claim{i % 2 ? Action::allow : Action::monitor, ""});
        }
        char tmpl[] = "/tmp/pw-corpusdiff-XXXXXX";
        fs::path root = ::mkdtemp(tmpl);
        {
            Capacity cap{2'000'000, 1'000'000, 1024};
            Controller ctl({root / "bpffs" / "pins", root / "state"}, cap, true);
            ctl.keep_tries(true);
            ctl.replace_all(rules);
            rules = ctl.snapshot();
            for (Family f : {Family::v4, Family::v6}) {
                std::vector<Prefix> prefixes;
                for (const auto& [p, _] : rules.rules())
                    if (p.family == f)
                        prefixes.push_back(p);
                if (prefixes.empty())
                    continue;
                std::vector<Address> addrs;
                size_t edges = full ? prefixes.size() : std::min<size_t>(prefixes.size(), 10000);
                for (size_t k = 0; k < edges; k++) {
                    const Prefix& p = full ? prefixes[k] : prefixes[rng() % prefixes.size()];
                    for (const Address& a : {p.first(), p.last()})
                        for (int by : {-1, 0, 1})
                            addrs.push_back(step(a, by));
                }
                size_t randoms = full ? std::max<size_t>(2'000'000, addrs.size() / 2) : 20000;
                for (size_t k = 0; k < randoms; k++)
                    addrs.push_back(k % 2 ? pwtest::random_address(rng, f)
                                          : pwtest::random_inside(rng, prefixes[rng() % prefixes.size()]));
                fs::path pins = root / "bpffs" / "pins";
                auto trie = kernel_ids(pins, PW_ENGINE_TRIE, f, addrs);
                auto compiled = kernel_ids(pins, PW_ENGINE_COMPILED, f, addrs);
                size_t bad = 0;
                for (size_t k = 0; k < addrs.size(); k++) {
                    const Rule* ref = rules.lookup(addrs[k]);
                    uint32_t want = ref ? ref->id : 0;
                    uint32_t action = ref ? static_cast<uint32_t>(ref->action()) : 0;
                    if (trie.ids[k] != want || compiled.ids[k] != want || compiled.verdicts[k] != action) {
                        if (++bad <= 5)
                            std::cout << "MISMATCH " << corpus.name << " " << addrs[k].to_string()
                                      << ": reference " << want << " (action " << action << "), trie "
                                      << trie.ids[k] << ", compiled " << compiled.ids[k] << " (verdict "
                                      << compiled.verdicts[k] << ")\n";
                    }
                }
                std::printf("%-22s %-5s %9zu rules: %9zu addresses, %zu mismatches\n", corpus.name.c_str(),
                            family_name(f), prefixes.size(), addrs.size(), bad);
                std::fflush(stdout);
                total += addrs.size();
                failures += bad;
            }
        }
        ::umount2((root / "bpffs" / "pins").c_str(), MNT_DETACH);
        fs::remove_all(root);
    }
    std::printf("%zu addresses, %zu mismatches\n", total, failures);
    return failures ? 1 : 0;
}
