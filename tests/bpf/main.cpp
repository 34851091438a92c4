// The BPF tests need root and a kernel with BPF; without them the binary
// says why and exits 77, which CTest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include "harness.hpp"

#include <doctest/doctest.h>

#include <iostream>

int main(int argc, char** argv)
{
    std::string why = pwtest::bpf_unavailable_reason();
    if (!why.empty()) {
        std::cout << "SKIP bpf tests: " << why << "\n";
        return 77;
    }
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
