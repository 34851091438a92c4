// The BPF tests need root and a kernel with BPF; without them the binary
// says why and exits 77, which CTest reports as skipped. Every test runs
// once per lookup engine (compiled, then trie); PW_TEST_ENGINE=trie or
// =compiled runs one.
#define DOCTEST_CONFIG_IMPLEMENT
#include "harness.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv)
{
    std::string why = pwtest::bpf_unavailable_reason();
    if (!why.empty()) {
        std::cout << "SKIP bpf tests: " << why << "\n";
        return 77;
    }
    const char* only = std::getenv("PW_TEST_ENGINE");
    int rc = 0;
    for (pw::Engine e : {pw::Engine::compiled, pw::Engine::trie}) {
        if (only && *only && pw::parse_engine(only) != e)
            continue;
        pwtest::engine = e;
        std::cout << "=== engine " << pw::engine_name(e) << " ===\n";
        doctest::Context ctx(argc, argv);
        rc |= ctx.run();
        if (ctx.shouldExit())
            break;
    }
    return rc;
}
