#!/usr/bin/env bash
# clang-tidy (configuration in .clang-tidy) over every controller source,
# with the compile commands of the build; exits non-zero on any finding.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
[ -f "$build/compile_commands.json" ] || { echo "tidy: run scripts/build.sh first" >&2; exit 1; }
tidy=$(command -v run-clang-tidy || command -v run-clang-tidy-14)
out=$("$tidy" -quiet -p "$build" -j "$(nproc)" "$top/controller/" 2>&1)
rc=$?
echo "$out" | grep -E "warning:|error:" -A3 || true
[ $rc = 0 ] && echo "tidy: controller/ is clean" || echo "tidy: findings above" >&2
exit $rc
