#!/usr/bin/env bash
# The Debian package, as an admin meets it: built by scripts/package.sh
# from this tree, checked by lintian (no errors; every warning explained
# in the README), installed with dpkg -i on this machine, the installed
# binary attached in the lab with its default pin and state directories
# (real traffic), reinstalled over itself with the filter in force, then
# purged: no file, pin, state or attachment of it is left, and the
# traffic it blocked passes again.
#
# It installs into this machine's /usr, /etc and /var/lib: it refuses to
# run (skips) where prefixwall is installed or its default directories
# are in use.
#
#   test_package.sh [DEB]   DEB: a package already built (skips the build)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/testlib.sh"
needs package dpkg dpkg-deb lintian cpack nsenter ping bpftool systemd-analyze man file readelf nm
needs_netns package
if dpkg-query -W -f='${Status}' prefixwall 2>/dev/null | grep -q installed; then
  echo "SKIP package: the prefixwall package is installed here; the test would purge it"; exit 77
fi
for d in /var/lib/prefixwall /sys/fs/bpf/prefixwall /etc/prefixwall; do
  [ -e "$d" ] && { echo "SKIP package: $d exists (prefixwall in use on this host); the test would purge it"; exit 77; }
done

lab_cleanup() {
  dpkg-query -W -f='${Status}' prefixwall 2>/dev/null | grep -q "installed\|config-files" &&
    dpkg --purge prefixwall >/dev/null 2>&1
}
start_lab pwpkg
installed=/usr/sbin/prefixwall
# The installed binary in the router's network namespace only: pins and
# state stay in this mount namespace's /sys/fs/bpf and /var/lib (`ip
# netns exec` would remount /sys and hide the pins).
router_pw() { nsenter --net="/run/netns/$lab-router" "$installed" "$@"; }

# ---- build ----
deb=${1:-}
if [ -z "$deb" ]; then
  t0=$(date +%s)
  deb=$("$top/scripts/package.sh" "$work" 2>"$work/package.err")
  check "scripts/package.sh builds the package" "[ -f '$deb' ]" || cat "$work/package.err"
  echo "# package built in $(($(date +%s) - t0)) s"
fi
[ -f "$deb" ] || { finish; exit 1; }
ver=$(dpkg-deb -f "$deb" Version) arch=$(dpkg --print-architecture)
expect_eq "file name prefixwall_<version>_<arch>.deb" "prefixwall_${ver}_${arch}.deb" "$(basename "$deb")"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
for f in /usr/sbin/prefixwall /lib/systemd/system/prefixwall.service \
  /lib/systemd/system/prefixwall-expire.service /lib/systemd/system/prefixwall-expire.timer \
  /etc/prefixwall/prefixwall.conf /usr/share/man/man8/prefixwall.8.gz \
  /usr/share/bash-completion/completions/prefixwall /usr/share/doc/prefixwall/README.md \
  /usr/share/doc/prefixwall/copyright /usr/share/doc/prefixwall/changelog.gz \
  /usr/share/doc/prefixwall/examples/exabgp.conf /usr/share/doc/prefixwall/examples/bird.conf; do
  check "ships $f" "grep -qx '$f' '$work/contents'"
done
mkdir "$work/x" && dpkg-deb -x "$deb" "$work/x"
elf=$work/x/usr/sbin/prefixwall
# Piped greps read all their input (no -q): with pipefail, a producer cut
# off by grep -q's early exit (SIGPIPE) would fail the check.
check "the binary is stripped" "file '$elf' | grep ', stripped' >/dev/null"
check "hardened: PIE, full RELRO (BIND_NOW)" \
  "readelf -d '$elf' | grep 'Flags: NOW PIE' >/dev/null && readelf -l '$elf' | grep GNU_RELRO >/dev/null"
check "hardened: fortified calls (_FORTIFY_SOURCE)" "nm -D '$elf' | grep '_chk@' >/dev/null"
check "ships no tests or benchmarks" "! grep -Eq 'unit_tests|bpf_tests|bench|gen_docs|xdp_gen' '$work/contents'"
expect_eq "conffiles" "/etc/prefixwall/prefixwall.conf" "$(dpkg-deb -I "$deb" conffiles)"
depends=$(dpkg-deb -f "$deb" Depends)
echo "# Depends: $depends"
depends_on() { # PACKAGE: listed in Depends (with or without a version)
  local d
  IFS=',' read -ra deps <<<"$depends"
  for d in "${deps[@]}"; do d=${d# }; [ "${d%% *}" = "$1" ] && return 0; done
  return 1
}
for lib in libbpf1 libcurl4 libexpat1 liblmdb0 libboost-program-options1.74.0 libc6 libstdc++6; do
  check "Depends from shlibs: $lib" "depends_on $lib"
done

# ---- lintian: no errors; every warning explained in the README ----
lintian --tag-display-limit 0 "$deb" >"$work/lintian.out" 2>&1
cat "$work/lintian.out"
check "lintian: no errors" "! grep -q '^E: ' '$work/lintian.out'"
for tag in $(awk '/^W: / {print $3}' "$work/lintian.out" | sort -u); do
  check "lintian warning $tag is explained in the README" "grep -q -- '$tag' '$top/README.md'"
done

# ---- install ----
check "dpkg -i installs it" "dpkg -i '$deb' >'$work/dpkg.log' 2>&1" || cat "$work/dpkg.log"
expect_eq "prefixwall version is the package's version" "prefixwall $ver" "$("$installed" version 2>&1)"
expect_eq "man -w prefixwall" /usr/share/man/man8/prefixwall.8.gz "$(man -w prefixwall 2>&1)"
check "systemd-analyze verify on the installed units" \
  "systemd-analyze verify /lib/systemd/system/prefixwall.service /lib/systemd/system/prefixwall-expire.service /lib/systemd/system/prefixwall-expire.timer"
expect_eq "/var/lib/prefixwall: a directory, mode 0700" "directory 700" "$(stat -c '%F %a' /var/lib/prefixwall 2>&1)"
check "the conffile is the shipped example" "cmp -s /etc/prefixwall/prefixwall.conf '$top/examples/prefixwall.conf'"
expect_eq "the conffile parses and enables no source" \
  "prefixwall: sync: no source in /etc/prefixwall/prefixwall.conf (add a [source NAME] section)" \
  "$("$installed" sync --config /etc/prefixwall/prefixwall.conf 2>&1)"
if [ -d /run/systemd/system ]; then
  expect_eq "the unit is not enabled" disabled "$(systemctl is-enabled prefixwall.service 2>&1)"
  expect_eq "the unit is not started" inactive "$(systemctl is-active prefixwall.service 2>&1)"
else
  echo "# systemd is not PID 1 here: enablement not checked"
fi
check "installing pins nothing" "[ ! -e /sys/fs/bpf/prefixwall ]"

# ---- the installed binary in the lab ----
check "installed prefixwall attaches to the router's rc" "router_pw attach rc >/dev/null"
check "and blocks 203.0.113.10" "router_pw add 203.0.113.10/32 --comment package-test >/dev/null"
check "ping 203.0.113.20 passes" "lab ping 203.0.113.20 1 >/dev/null"
check "ping 203.0.113.10 is dropped" "blocked 203.0.113.10"
prog=$(ip -n "$lab-router" -d link show rc | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1)
check "rc has prefixwall's XDP program (id $prog)" "[ -n '$prog' ]"
check "pins under /sys/fs/bpf/prefixwall" "[ -n \"\$(ls /sys/fs/bpf/prefixwall/links 2>/dev/null)\" ]"
check "state under /var/lib/prefixwall" "[ -n \"\$(ls /var/lib/prefixwall)\" ]"

# ---- reinstall (an upgrade to the same version): filtering never stops ----
check "dpkg -i over the installed package" "dpkg -i '$deb' >'$work/dpkg2.log' 2>&1" || cat "$work/dpkg2.log"
check "203.0.113.10 still dropped after the upgrade" "blocked 203.0.113.10"
check "the rule survived it" "router_pw lookup 203.0.113.10 | grep package-test >/dev/null"

# ---- remove: the state and the conffile stay, and so does the filter ----
check "dpkg -r prefixwall" "dpkg -r prefixwall >'$work/remove.log' 2>&1" || cat "$work/remove.log"
check "the binary is gone" "[ ! -e $installed ]"
check "/var/lib/prefixwall is kept" "[ -s /var/lib/prefixwall/rules.mdb ]"
check "the conffile is kept" "[ -f /etc/prefixwall/prefixwall.conf ]"
check "203.0.113.10 still dropped after remove" "blocked 203.0.113.10"

# ---- purge: nothing of it is left ----
check "dpkg --purge prefixwall" "dpkg --purge prefixwall >'$work/purge.log' 2>&1" || cat "$work/purge.log"
check "the package is gone" "! dpkg-query -W -f='\${Status}' prefixwall 2>/dev/null | grep -q installed"
left=$(while read -r f; do [ -n "$f" ] && [ "${f%/}" = "$f" ] && [ -e "$f" ] && echo "$f"; done <"$work/contents")
expect_eq "no file of the package is left" "" "$left"
for d in /etc/prefixwall /var/lib/prefixwall /usr/share/doc/prefixwall /sys/fs/bpf/prefixwall; do
  check "$d is gone" "[ ! -e $d ]"
done
check "rc has no XDP program" "! ip -n '$lab-router' -d link show rc | grep 'prog/xdp' >/dev/null"
check "prefixwall's program is unloaded (id $prog)" "! bpftool prog show id '$prog' >/dev/null 2>&1"
check "ping 203.0.113.10 passes again" "lab ping 203.0.113.10 1 >/dev/null"
finish
