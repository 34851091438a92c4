#!/usr/bin/env bash
# Help, completion and man page, all generated from the command table:
# `COMMAND --help` and `help COMMAND` answer without root or maps; the
# installed bash completion completes commands, options and option values;
# the installed man page renders with `man -l`.
set -uo pipefail
pw_bin=${1:?usage: test_docs.sh PATH/TO/prefixwall BUILD_DIR}
build=${2:?usage: test_docs.sh PATH/TO/prefixwall BUILD_DIR}
passed=0 failed=0
check() { # NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   - $name"; passed=$((passed + 1)); else echo "FAIL - $name"; failed=$((failed + 1)); fi
}
has() { [[ $1 == *"$2"* ]]; }

out=$("$pw_bin" sync --help); rc=$?
check "sync --help exits 0" [ "$rc" = 0 ]
check "sync --help shows its usage" has "$out" "usage: prefixwall sync --source NAME --from LOCATION"
check "sync --help lists its guards" has "$out" "--max-removal R"
out=$("$pw_bin" help attach); rc=$?
check "help attach exits 0" [ "$rc" = 0 ]
check "help attach lists --mode with its choices" has "$out" "--mode native|generic"
check "attach -h is the same as help attach" [ "$("$pw_bin" attach -h)" = "$out" ]
err=$("$pw_bin" help frobnicate 2>&1 >/dev/null); rc=$?
check "help of an unknown command: exit 2, one line" [ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]
for c in $("$pw_bin" --help | awk '/^commands:/{on=1; next} /^$/{on=0} on {print $1}'); do
  "$pw_bin" "$c" --help >/dev/null 2>&1 || { echo "FAIL - $c --help"; failed=$((failed + 1)); }
done

prefix=$(mktemp -d /tmp/pw-docs-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
comp=$prefix/share/bash-completion/completions/prefixwall
man=$prefix/share/man/man8/prefixwall.8.gz
check "cmake --install puts the completion in place" [ -f "$comp" ]
check "cmake --install puts the man page in place" [ -f "$man" ]

complete_line() { # WORDS...: what the completion offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _prefixwall; echo "${COMPREPLY[*]}"' _ "$comp" "$@"
}
check "prefixwall sy<TAB> -> sync" [ "$(complete_line prefixwall sy)" = "sync" ]
check "prefixwall attach --mo<TAB> -> --mode" [ "$(complete_line prefixwall attach --mo)" = "--mode" ]
check "prefixwall attach --mode <TAB> -> native generic" [ "$(complete_line prefixwall attach --mode '')" = "native generic" ]
check "prefixwall --pin-dir D st<TAB> -> status stats" [ "$(complete_line prefixwall --pin-dir /tmp st)" = "status stats" ]
check "prefixwall stats --sort b<TAB> -> bytes bps" [ "$(complete_line prefixwall stats --sort b)" = "bytes bps" ]

if command -v man >/dev/null; then
  page=$(MANWIDTH=100 man -l "$man" 2>&1); rc=$?
  check "man -l renders prefixwall(8)" [ "$rc" = 0 ]
  check "the man page names every command" bash -c 'for c in attach detach status add del list lookup stats top metrics sync serve feed export; do grep -q "^       $c" <<<"$1" || exit 1; done' _ "$page"
  check "the man page has the options of sync" has "$page" "--max-removal"
else
  echo "SKIP man -l: man is not installed"
fi

echo "docs: $passed passed, $failed failed"
[ "$failed" = 0 ]
