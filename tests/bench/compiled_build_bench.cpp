// Building the compiled engine's table in userspace: time to build and to
// write it, and its size, for registry files.
//   build/tests/compiled_build_bench FILE...   (.gz read through zcat)
#include "compiled.hpp"
#include "registry/parser.hpp"

#include <chrono>
#include <cstdio>
#include <string>

using namespace pw;
using Clock = std::chrono::steady_clock;

namespace {

struct Collect : EntrySink {
    RuleSet* rules;
    void entry(Entry&& e) override { rules->add(e.prefix, "bench", Claim{Action::block, ""}); }
    void reject(Rejection&&) override {}
};

double ms_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; i++) {
        std::string path = argv[i];
        std::string cmd = (path.size() > 3 && path.substr(path.size() - 3) == ".gz" ? "zcat '" : "cat '") + path + "'";
        FILE* in = ::popen(cmd.c_str(), "r");
        if (!in)
            return 1;
        RuleSet rules;
        Collect sink;
        sink.rules = &rules;
        std::string head;
        char buf[1 << 16];
        std::unique_ptr<Parser> parser;
        size_t n;
        while ((n = std::fread(buf, 1, sizeof(buf), in)) > 0) {
            if (!parser)
                parser = make_parser(detect_format(std::string_view(buf, n)), sink);
            parser->feed(std::string_view(buf, n));
        }
        ::pclose(in);
        if (parser)
            parser->finish();
        for (Family f : {Family::v4, Family::v6}) {
            if (!rules.count(f))
                continue;
            double best_build = 1e9, best_write = 1e9;
            size_t words = 0, nodes = 0, tails = 0;
            for (int round = 0; round < 5; round++) {
                auto t0 = Clock::now();
                CompiledTable t = CompiledTable::build(rules, f, [](uint32_t id) { return id; });
                best_build = std::min(best_build, ms_since(t0));
                std::vector<uint64_t> out(t.words());
                t0 = Clock::now();
                t.write(out);
                best_write = std::min(best_write, ms_since(t0));
                words = t.words();
                nodes = t.nodes();
                tails = t.tails();
            }
            std::printf("%s %s: %zu rules, build %.1f ms, write %.1f ms, %.2f MB per copy "
                        "(%zu nodes, %zu tails) + %.2f MB of results\n",
                        path.c_str(), family_name(f), rules.count(f), best_build, best_write,
                        words * 8 / 1048576.0, nodes, tails, rules.count(f) * 8 / 1048576.0);
        }
    }
    return 0;
}
