#!/usr/bin/env bash
# Builds the libFuzzer target with clang (ASan + UBSan) and runs it for a
# bounded time over the seed corpus (the fixtures):
#   tests/fuzz/run.sh [SECONDS]      (default 30; CI runs it briefly)
# Crashes land in tests/fuzz/crashes/; each one becomes a regression test
# (a unit test, and its input in tests/fuzz/regressions/, replayed every run).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${1:-30}
out=${FUZZ_BUILD_DIR:-$top/build/fuzz}
mkdir -p "$out" "$here/crashes"
bin=$out/fuzz_parser
# The sources come from tests/CMakeLists.txt (PW_FUZZ_SOURCES), written
# into the build directory when CMake configures it.
list=$out/sources.txt
[ -f "$list" ] || { echo "fuzz: $list is missing: configure the build first (scripts/build.sh)" >&2; exit 1; }
mapfile -t src < "$list"
newer=0
for s in "${src[@]}"; do [ "$top/$s" -nt "$bin" ] && newer=1; done
if [ ! -x "$bin" ] || [ $newer = 1 ]; then
  (cd "$top" && clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
     -fno-sanitize-recover=undefined -Icontroller -Iinclude "${src[@]}" -lexpat -o "$bin")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here"/corpus/* "$here"/regressions/* "$work"/   # regressions: inputs that once crashed
"$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$here/crashes/" -print_final_stats=1 "$work" 2>&1 | tail -n 12
