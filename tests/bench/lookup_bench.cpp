// Lookup speed of both engines on the registries the speed issue names:
//   - the lookup alone: a bench program (bpf/lookup_bench.bpf.c) walks
//     2^20 addresses with bpf_loop over the pinned maps, half drawn from
//     inside the rules and half uniform, beside the same loop with no
//     lookup (the loop's own cost);
//   - the whole XDP program per packet: BPF_PROG_TEST_RUN of the real
//     program over 4,096 frames with those addresses as destination.
//   build/tests/lookup_bench [--json FILE] [--rounds N]   (root)
#include "kernel/compiled_table.hpp"
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

} // namespace

int main(int argc, char** argv)
{
    std::string json_out;
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--json" && i + 1 < argc)
            json_out = argv[++i];
        else if (a == "--rounds" && i + 1 < argc)
            rounds = std::stoi(argv[++i]);
        else {
            std::cerr << "usage: lookup_bench [--json FILE] [--rounds N]\n";
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
    std::printf("%-22s %-5s %9s | %8s %9s %9s %9s | %9s %9s\n", "corpus", "fam", "rules", "loop ns",
                "trie ns", "compiled", "net", "xdp trie", "xdp comp");
    std::mt19937_64 rng(20261125);
    for (const auto& corpus : pwbench::speed_corpora()) {
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
                nlohmann::json row{{"corpus", corpus.name}, {"family", family_name(f)},
                                   {"rules", rules.count(f)}, {"addresses", kAddrs}};
                double ns[3] = {};
                for (int engine : {pwbench::kNone, int(PW_ENGINE_TRIE), int(PW_ENGINE_COMPILED)}) {
                    auto b = pwbench::load_bench(root / "bpffs" / "pins", engine, f == Family::v6, false, kAddrs);
                    int map_fd = bpf_map__fd(b->skel->maps.bench_addrs);
                    for (uint32_t i = 0; i < kAddrs; i++)
                        bpf_map_update_elem(map_fd, &i, addrs[i].bytes.data(), BPF_ANY);
                    int prog = bpf_program__fd(b->skel->progs.lookup_bench);
                    std::vector<double> per;
                    run_ns(prog); // warm up
                    for (int r = 0; r < rounds; r++)
                        per.push_back(run_ns(prog) / kAddrs);
                    ns[engine == pwbench::kNone ? 0 : engine == PW_ENGINE_TRIE ? 1 : 2] = median(per);
                }
                double xdp[2];
                for (Engine e : {Engine::trie, Engine::compiled}) {
                    UniqueFd prog = dp.load_program(ProgramSettings{Match::dst, false, false, false, e});
                    xdp[e == Engine::trie ? 0 : 1] = xdp_ns(prog.get(), addrs);
                }
                row["loop_ns"] = ns[0];
                row["trie_ns"] = ns[1];
                row["compiled_ns"] = ns[2];
                row["compiled_net_ns"] = ns[2] - ns[0];
                row["xdp_trie_ns"] = xdp[0];
                row["xdp_compiled_ns"] = xdp[1];
                auto table = dp.compiled_table(f);
                row["compiled_table_bytes"] = CompiledTable::used_words(table) * 8;
                results.push_back(row);
                std::printf("%-22s %-5s %9zu | %8.1f %9.1f %9.1f %9.1f | %9.1f %9.1f\n",
                            corpus.name.c_str(), family_name(f), rules.count(f), ns[0], ns[1], ns[2],
                            ns[2] - ns[0], xdp[0], xdp[1]);
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
