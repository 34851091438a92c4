#!/usr/bin/env bash
# Every malformed argument gets a one-line error naming it and a non-zero
# exit, and nothing in force changes (the rule list is compared before and
# after each bad command).
set -uo pipefail
pw_bin=${1:?usage: test_cli_errors.sh PATH/TO/prefixwall}
[ "$(id -u)" = 0 ] || { echo "SKIP cli_errors: needs root"; exit 77; }

dir=$(mktemp -d /tmp/pw-cli-XXXXXX)
export PREFIXWALL_PIN_DIR=$dir/bpffs/pins PREFIXWALL_STATE_DIR=$dir/state
cleanup() { umount "$PREFIXWALL_PIN_DIR" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

passed=0 failed=0
"$pw_bin" add 192.0.2.0/24 2001:db8::/32 --comment seed >/dev/null || { echo "FAIL - seed rules"; exit 1; }
before=$("$pw_bin" list --json)

bad() { # WANT_EXIT PATTERN ARGS... : one line on stderr matching PATTERN
  local want=$1 pattern=$2; shift 2
  local err rc
  err=$("$pw_bin" "$@" 2>&1 >/dev/null); rc=$?
  local lines; lines=$(printf '%s\n' "$err" | wc -l)
  if [ "$rc" = "$want" ] && [ "$lines" = 1 ] && [[ $err == *"$pattern"* ]] &&
     [ "$("$pw_bin" list --json)" = "$before" ]; then
    echo "ok   - $* -> $err"; passed=$((passed + 1))
  else
    echo "FAIL - $*: exit $rc (want $want), stderr: $err"; failed=$((failed + 1))
  fi
}

bad 1 "bad prefix '192.0.2.0/33': prefix length 33 exceeds 32" add 192.0.2.0/33
bad 1 "bad prefix 'nonsense'" add 198.51.100.0/24 nonsense
bad 1 "bad prefix '2001:db8::/129'" add 2001:db8::/129
bad 1 "bad action 'deny'" add 198.51.100.0/24 --action deny
bad 2 "add: missing prefix" add
bad 2 "add: --source must not be empty" add 198.51.100.0/24 --source ""
bad 2 "unrecognised option '--frobnicate'" add 198.51.100.0/24 --frobnicate
bad 1 "del: no rule for 203.0.113.0/24; nothing changed" del 192.0.2.0/24 203.0.113.0/24
bad 1 "is not listed by source 'nobody'" del 192.0.2.0/24 --source nobody
bad 1 "bad address '192.0.2.300'" lookup 192.0.2.300
bad 1 "bad duration '2'" add 198.51.100.0/24 --expire 2
bad 1 "bad time '2026-12-31'" add 198.51.100.0/24 --until 2026-12-31
bad 2 "add: give --expire or --until, not both" add 198.51.100.0/24 --expire 2h --until 2030-01-01T00:00Z
bad 2 "--max-collateral takes a number, not 'many'" add 198.51.100.0/24 --max-collateral many
bad 1 "/nonexistent/ip-ranges.json: cannot read provider list" add 198.51.100.0/24 --collateral /nonexistent/ip-ranges.json
bad 2 "collateral: give the provider lists with --collateral" collateral 192.0.2.0/24
bad 2 "rollback: a version takes a number, not 'last'" rollback --to last
bad 1 "rollback: no version 99 yet" rollback --to 99
bad 1 "diff: no version 99 yet" diff 1 99
bad 2 "diff: missing version" diff
bad 2 "lookup: missing address" lookup
bad 2 "lookup: unexpected argument" lookup 192.0.2.1 192.0.2.2
bad 1 "bad mode 'turbo'" attach lo --mode turbo
bad 1 "bad match 'sideways'" attach lo --match sideways
bad 2 "bad --malformed 'maybe'" attach lo --malformed maybe
bad 1 "interface 'pw-no-such-if' not found" attach pw-no-such-if
bad 1 "'pw-no-such-if' is not attached" detach pw-no-such-if
bad 2 "detach: give one interface or --all" detach
bad 2 "--purge goes with --all" detach lo --purge
bad 2 "unknown command 'frobnicate'" frobnicate
bad 2 "max-rules-v4" --max-rules-v4 many list
bad 2 "list: unexpected argument 'x'" list x

echo "cli_errors: $passed passed, $failed failed"
[ "$failed" = 0 ]
