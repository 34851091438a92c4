#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (unit, BPF packet tests, the veth lab, faults, crash, soak); then the
# suite again with the controller and the tests built under ASan and UBSan
# (build-asan/), and clang-tidy over the controller. Root on Debian 12.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
(cd "${BUILD_DIR:-$top/build}" && ctest --output-on-failure)

echo "== the suite under AddressSanitizer and UndefinedBehaviorSanitizer"
# The soak's 60 s, the fuzzers (built with ASan by tests/fuzz/run.sh) and
# the package (built by scripts/package.sh, as it ships) ran above.
BUILD_DIR=$top/build-asan PW_SANITIZE=ON TARGETS="prefixwall unit_tests bpf_tests corpus_differential docs" \
  "$top/scripts/build.sh"
(cd "$top/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -E "^(soak|fuzz_smoke|package)$")

echo "== clang-tidy"
"$top/scripts/tidy.sh"
