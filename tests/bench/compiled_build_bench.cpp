// Building the compiled engine's table in userspace: time to build and to
// write it, and its size, for registry files.
//   build/tests/compiled_build_bench FILE...   (.gz read through zcat)
#include "kernel/compiled_copy.hpp"
#include "corpus.hpp"
#include "random_rules.hpp"

#include <random>

#include <chrono>
#include <cstdio>
#include <string>

using namespace pw;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; i++) {
        std::string path = argv[i];
        RuleSet rules;
        pwbench::load_registry(path, rules);
        for (Family f : {Family::v4, Family::v6}) {
            if (!rules.count(f))
                continue;
            double best_build = 1e9, best_write = 1e9;
            size_t words = 0, nodes = 0, tails = 0, verdict_words = 0, verdict_nodes = 0, verdict_leaves = 0,
                   verdict_tails = 0;
            for (int round = 0; round < 5; round++) {
                auto t0 = Clock::now();
                CompiledCopy t = CompiledCopy::build(rules, f, [](const RuleEntry& r) { return r.id; });
                best_build = std::min(best_build, ms_since(t0));
                std::vector<uint64_t> out(t.words());
                t0 = Clock::now();
                t.write(out, rules.count(f));
                best_write = std::min(best_write, ms_since(t0));
                words = t.words();
                nodes = t.rules().nodes();
                tails = t.rules().tails();
                verdict_words = t.verdict().words();
                verdict_nodes = t.verdict().nodes();
                verdict_leaves = t.verdict().leaves();
                verdict_tails = t.verdict().tails();
            }
            // The same walk in userspace over 2^20 addresses, half inside rules.
            CompiledCopy t = CompiledCopy::build(rules, f, [](const RuleEntry& r) { return r.id; });
            std::vector<uint64_t> out(t.words()), results(rules.next_id() + 1);
            t.write(out, rules.count(f));
            std::vector<Prefix> prefixes;
            for (const auto& [p, r] : rules.rules())
                if (p.family == f) {
                    prefixes.push_back(p);
                    results[r.id] = r.id;
                }
            std::mt19937_64 rng(1);
            std::vector<Address> addrs(1 << 20);
            for (size_t k = 0; k < addrs.size(); k++)
                addrs[k] = k % 2 ? pwtest::random_address(rng, f)
                                 : pwtest::random_inside(rng, prefixes[rng() % prefixes.size()]);
            auto t0 = Clock::now();
            uint64_t sum = 0;
            for (const auto& a : addrs)
                if (auto m = compiled_lookup(out, results, a))
                    sum += m->rule_id;
            double lookup_ns = ms_since(t0) * 1e6 / addrs.size();
            std::printf("  userspace walk: %.1f ns per address (checksum %llu)\n", lookup_ns,
                        static_cast<unsigned long long>(sum));
            std::printf("%s %s: %zu rules, build %.1f ms, write %.1f ms, %.2f MB per copy "
                        "(rules: %zu nodes, %zu tails; verdict: %.2f MB, %zu nodes, %zu leaves, %zu tails) + %.2f MB of results\n",
                        path.c_str(), family_name(f), rules.count(f), best_build, best_write,
                        words * 8 / 1048576.0, nodes, tails, verdict_words * 8 / 1048576.0, verdict_nodes, verdict_leaves, verdict_tails,
                        rules.count(f) * 8 / 1048576.0);
        }
    }
    return 0;
}
