// Argument handling that fails before any BPF work: usage errors exit 2
// with one line naming the problem.
#include "app/cli.hpp"
#include "base/version.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <sstream>

using namespace pw;

namespace {
struct Run {
    int code;
    std::string out, err;
};
Run run(std::vector<std::string> args)
{
    std::ostringstream out, err;
    int code = run_cli(args, out, err);
    return {code, out.str(), err.str()};
}
int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }
} // namespace

TEST_CASE("no command prints usage and exits 2")
{
    auto r = run({});
    CHECK(r.code == 2);
    CHECK(r.err.find("usage: prefixwall") != std::string::npos);
}

TEST_CASE("--help and version succeed")
{
    CHECK(run({"--help"}).code == 0);
    auto v = run({"version"});
    CHECK(v.code == 0);
    // One value from CMake: the project's version, with the git commit
    // (count and hash, ".dirty" with changes) where the tree is a checkout.
    CHECK(v.out == std::string("prefixwall ") + pw::version() + "\n");
    CHECK(std::regex_match(std::string(pw::version()),
                           std::regex(R"(\d+\.\d+\.\d+(\+git\d+\.[0-9a-f]{7,}(\.dirty)?)?)")));
}

TEST_CASE("unknown commands and bad global options are one-line usage errors")
{
    auto r = run({"frobnicate"});
    CHECK(r.code == 2);
    CHECK(r.err == "prefixwall: unknown command 'frobnicate' (see 'prefixwall --help')\n");
    r = run({"--max-rules-v4", "lots", "status"});
    CHECK(r.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("max-rules-v4") != std::string::npos);
}

TEST_CASE("--json turns errors into JSON")
{
    auto r = run({"frobnicate", "--json"});
    CHECK(r.code == 2);
    CHECK(r.err == "{\"error\":\"unknown command 'frobnicate' (see 'prefixwall --help')\"}\n");
}

TEST_CASE("global options may follow the command")
{
    // Bad global values are found wherever they stand (before any BPF work).
    auto r = run({"list", "--max-rules-v4", "many"});
    CHECK(r.code == 2);
    CHECK(r.err.find("max-rules-v4") != std::string::npos);
    r = run({"version", "--counter-slots=x"});
    CHECK(r.code == 2);
}
