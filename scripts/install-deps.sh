#!/usr/bin/env bash
# Installs what prefixwall needs to build, run and test, from Debian 12's
# archive, and only what is missing. Used by demo.sh, test.sh, CI and the
# Vagrant box. Needs root.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang llvm linux-libc-dev
  # data plane: libbpf loads it, bpftool generates the skeleton
  libbpf-dev libelf-dev zlib1g-dev bpftool
  # registry sync: HTTP(S) fetches, the regulator's XML dump
  libcurl4-openssl-dev libexpat1-dev
  # the rule store (LMDB), and mdb_stat/mdb_dump to look inside it
  liblmdb-dev lmdb-utils
  # controller
  libboost-dev libboost-program-options-dev nlohmann-json3-dev
  # tests: doctest, the HTTP(S) registry server, Prometheus and promtool,
  # clang-tidy (a CI step), openssl (certificates for the TLS tests),
  # bpftool's link detach (the crash test)
  doctest-dev libcpp-httplib-dev prometheus clang-tidy openssl
  # lab and demo: namespaces, veth, traffic
  iproute2 iputils-ping ethtool python3 util-linux tmux
  # docs test: renders the installed man page
  man-db
  # soak: counts packets that get through at the lab server
  iptables
  # capture test: reads the pcapng files back
  tcpdump
  # BGP feeds: ExaBGP runs `prefixwall feed`, BIRD 2 is the lab's (and a
  # fleet's) route server
  exabgp bird2
  # the Debian package (scripts/package.sh): cpack's dependencies from the
  # shared libraries (dpkg-shlibdeps, file), and lintian to check it
  dpkg-dev file lintian
  # benchmarks: the tools prefixwall is compared with, in the same run, and
  # GNU time for each command's peak RSS
  ipset nftables time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install-deps: missing ${missing[*]}; run as root to install" >&2; exit 1; }
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
