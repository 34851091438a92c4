// Lookup speed of both engines on the registries the speed issue names:
//   - the lookup alone: a bench program (bpf/lookup_bench.bpf.c) walks
//     2^20 addresses with bpf_loop over the pinned maps, half drawn from
//     inside the rules and half uniform, beside the same loop with no
//     lookup (the loop's own cost). The compiled engine's path is timed
//     in steps: the verdict section alone, the rule section alone (the
//     path before the verdict), the lookup (verdict, then rule), and the
//     lookup with the matched rule's counter; "chained" runs make each
//     address depend on the previous result. Figures are net of the loop.
//   - the whole XDP program per packet: BPF_PROG_TEST_RUN of the real
//     program over 4,096 frames with those addresses as destination;
//   - no packet matching: the real program (--match src) over 65,536
//     frames built in memory, each from a different source outside every
//     rule, one run each, beside a reference program that parses the same
//     headers and passes. Nothing is sent.
//   build/tests/lookup_bench [--json FILE] [--rounds N] [--corpus NAME]   (root)
#include "kernel/compiled_copy.hpp"
#include "session/controller.hpp"
#include "corpus.hpp"
#include "frame_builder.hpp"
#include "bench_prog.hpp"
#include "random_rules.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>

using namespace pw;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kAddrs = 1u << 20;

double run_ns(int prog_fd)
{
    uint8_t frame[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &o) != 0)
        throw std::runtime_error("test run failed");
    return o.duration;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// ns per packet of the real program over frames to these addresses.
double xdp_ns(int prog_fd, const std::vector<Address>& addrs)
{
    std::vector<double> per;
    std::vector<uint8_t> out(256);
    for (size_t i = 0; i < 4096; i++) {
        const Address& a = addrs[i * 97 % addrs.size()];
        auto f = a.family == Family::v4
                     ? pwtest::Frame().eth().ipv4("100.64.0.1", a.to_string()).udp().bytes()
                     : pwtest::Frame().eth().ipv6("100::1", a.to_string()).udp().bytes();
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.data(), .data_out = out.data(),
                    .data_size_in = static_cast<__u32>(f.size()),
                    .data_size_out = static_cast<__u32>(out.size()), .repeat = 32);
        if (bpf_prog_test_run_opts(prog_fd, &o) != 0)
            throw std::runtime_error("test run failed");
        per.push_back(o.duration);
    }
    double sum = 0;
    for (double d : per)
        sum += d;
    return sum / per.size();
}

// ns per frame of a program over frames from each source (one run each).
double frames_ns(int prog_fd, const std::vector<Address>& sources)
{
    std::vector<uint8_t> out(256);
    double sum = 0;
    for (const Address& a : sources) {
        auto f = a.family == Family::v4
                     ? pwtest::Frame().eth().ipv4(a.to_string(), "198.51.100.1").udp().bytes()
                     : pwtest::Frame().eth().ipv6(a.to_string(), "2001:db8::1").udp().bytes();
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.data(), .data_out = out.data(),
                    .data_size_in = static_cast<__u32>(f.size()),
                    .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
        if (bpf_prog_test_run_opts(prog_fd, &o) != 0)
            throw std::runtime_error("test run failed");
        sum += o.duration;
    }
    return sum / static_cast<double>(sources.size());
}

// Net ns per address of one bench configuration (median of rounds).
double loop_ns(const fs::path& pins, int engine, Family f, const std::vector<Address>& addrs, int rounds,
               pwbench::Stage stage = pwbench::kLookup, bool chained = false)
{
    auto b = pwbench::load_bench(pins, engine, f == Family::v6, false, kAddrs, stage, chained);
    int map_fd = bpf_map__fd(b->skel->maps.bench_addrs);
    for (uint32_t i = 0; i < kAddrs; i++)
        bpf_map_update_elem(map_fd, &i, addrs[i].bytes.data(), BPF_ANY);
    int prog = bpf_program__fd(b->skel->progs.lookup_bench);
    std::vector<double> per;
    run_ns(prog); // warm up
    for (int r = 0; r < rounds; r++)
        per.push_back(run_ns(prog) / kAddrs);
    return median(per);
}

} // namespace

int main(int argc, char** argv)
{
    std::string json_out;
    int rounds = 5;
    std::string only; // one corpus (its name as printed)
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--json" && i + 1 < argc)
            json_out = argv[++i];
        else if (a == "--rounds" && i + 1 < argc)
            rounds = std::stoi(argv[++i]);
        else if (a == "--corpus" && i + 1 < argc)
            only = argv[++i];
        else {
            std::cerr << "usage: lookup_bench [--json FILE] [--rounds N] [--corpus NAME]\n";
            return 2;
        }
    }
    if (!fs::exists(pwbench::registries_dir())) {
        std::cout << "SKIP: no registries at " << pwbench::registries_dir() << "\n";
        return 77;
    }
    libbpf_set_print([](libbpf_print_level l, const char* f, va_list ap) {
        return l == LIBBPF_WARN ? std::vfprintf(stderr, f, ap) : 0;
    });
    nlohmann::json results = nlohmann::json::array();
    std::printf("ns per address, net of the loop; chained: each address depends on the previous result\n");
    std::printf("%-20s %-4s %8s | %5s %6s | %6s %7s %6s %7s | %7s %7s | %6s %6s | %6s %6s %5s | %5s %5s\n",
                "corpus", "fam", "rules", "loop", "trie", "rules", "verdict", "lookup", "counted", "ch.verd",
                "ch.look", "xdp.tr", "xdp.cl", "nomat", "ref", "x", "MiB.r", "MiB.v");
    std::mt19937_64 rng(20261125);
    for (const auto& corpus : pwbench::speed_corpora()) {
        if (!only.empty() && corpus.name != only)
            continue;
        RuleSet rules;
        for (const auto& f : corpus.files)
            pwbench::load_registry(pwbench::registries_dir() / f, rules);
        char tmpl[] = "/tmp/pw-lookupbench-XXXXXX";
        fs::path root = ::mkdtemp(tmpl);
        {
            Capacity cap{2'000'000, 1'000'000, 1024};
            cap.table_mb_v4 = 32;
            cap.table_mb_v6 = 32;
            Controller ctl({root / "bpffs" / "pins", root / "state"}, cap, true);
            ctl.keep_tries(true);
            ctl.replace_all(rules);
            const Dataplane& dp = *ctl.dataplane();
            const fs::path pins = root / "bpffs" / "pins";
            for (Family f : {Family::v4, Family::v6}) {
                if (!rules.count(f))
                    continue;
                std::vector<Prefix> prefixes;
                for (const auto& [p, _] : rules.rules())
                    if (p.family == f)
                        prefixes.push_back(p);
                std::vector<Address> addrs(kAddrs);
                for (uint32_t i = 0; i < kAddrs; i++)
                    addrs[i] = i % 2 ? pwtest::random_address(rng, f)
                                     : pwtest::random_inside(rng, prefixes[rng() % prefixes.size()]);
                // Sources outside every rule, each different.
                std::vector<Address> outside;
                while (outside.size() < 65536) {
                    Address a = pwtest::random_address(rng, f);
                    if (!rules.lookup(a))
                        outside.push_back(a);
                }
                nlohmann::json row{{"corpus", corpus.name}, {"family", family_name(f)},
                                   {"rules", rules.count(f)}, {"addresses", kAddrs}};
                const double loop = loop_ns(pins, pwbench::kNone, f, addrs, rounds);
                auto net = [&](int engine, pwbench::Stage st, bool chained) {
                    return loop_ns(pins, engine, f, addrs, rounds, st, chained) - loop;
                };
                row["loop_ns"] = loop;
                row["trie_ns"] = net(PW_ENGINE_TRIE, pwbench::kLookup, false);
                row["rules_only_ns"] = net(PW_ENGINE_COMPILED, pwbench::kRules, false);
                row["verdict_ns"] = net(PW_ENGINE_COMPILED, pwbench::kVerdict, false);
                row["compiled_ns"] = net(PW_ENGINE_COMPILED, pwbench::kLookup, false);
                row["counted_ns"] = net(PW_ENGINE_COMPILED, pwbench::kCounted, false);
                row["verdict_chained_ns"] = net(PW_ENGINE_COMPILED, pwbench::kVerdict, true);
                row["compiled_chained_ns"] = net(PW_ENGINE_COMPILED, pwbench::kLookup, true);
                double xdp[2];
                for (Engine e : {Engine::trie, Engine::compiled}) {
                    UniqueFd prog = dp.load_program(ProgramSettings{Match::dst, false, false, false, e});
                    xdp[e == Engine::trie ? 0 : 1] = xdp_ns(prog.get(), addrs);
                }
                row["xdp_trie_ns"] = xdp[0];
                row["xdp_compiled_ns"] = xdp[1];
                {
                    UniqueFd prog = dp.load_program(ProgramSettings{Match::src, false, false, false, Engine::compiled});
                    auto ref = pwbench::load_bench(pins, PW_ENGINE_COMPILED, f == Family::v6, false, 1);
                    const int ref_fd = bpf_program__fd(ref->skel->progs.parse_pass);
                    frames_ns(prog.get(), outside); // warm up
                    frames_ns(ref_fd, outside);
                    row["nomatch_xdp_ns"] = frames_ns(prog.get(), outside);
                    row["nomatch_reference_ns"] = frames_ns(ref_fd, outside);
                }
                auto table = dp.compiled_table(f);
                row["rule_section_bytes"] = CompiledCopy::used_words(table, TableKind::rules) * 8;
                row["verdict_section_bytes"] = CompiledCopy::used_words(table, TableKind::verdict) * 8;
                row["results_bytes"] = rules.count(f) * 8;
                results.push_back(row);
                auto d = [&](const char* k) { return row[k].get<double>(); };
                std::printf("%-20s %-4s %8zu | %5.1f %6.1f | %6.1f %7.1f %6.1f %7.1f | %7.1f %7.1f | %6.1f %6.1f | "
                            "%6.1f %6.1f %5.2f | %5.2f %5.2f\n",
                            corpus.name.c_str(), family_name(f), rules.count(f), loop, d("trie_ns"),
                            d("rules_only_ns"), d("verdict_ns"), d("compiled_ns"), d("counted_ns"),
                            d("verdict_chained_ns"), d("compiled_chained_ns"), xdp[0], xdp[1],
                            d("nomatch_xdp_ns"), d("nomatch_reference_ns"),
                            d("nomatch_xdp_ns") / d("nomatch_reference_ns"), d("rule_section_bytes") / 1048576,
                            d("verdict_section_bytes") / 1048576);
                std::fflush(stdout);
            }
        }
        ::umount2((root / "bpffs" / "pins").c_str(), MNT_DETACH);
        fs::remove_all(root);
    }
    if (!json_out.empty())
        std::ofstream(json_out) << results.dump(2) << "\n";
    return 0;
}
