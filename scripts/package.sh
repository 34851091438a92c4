#!/usr/bin/env bash
# Builds the Debian package from the source tree in a fresh build directory:
# only what ships (the binary, its man page and completion; no tests or
# benchmarks), with Debian's hardening flags, then `cpack -G DEB`.
#
#   scripts/package.sh [OUT_DIR]     (default: the top of the tree)
#
# Prints the package's path. Needs what scripts/install-deps.sh installs.
# MAINTAINER="Name <mail>" sets the package's Maintainer field.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "${1:-$top}" && cd "${1:-$top}" && pwd)
build=$(mktemp -d /tmp/prefixwall-package-XXXXXX)
trap 'rm -rf "$build"' EXIT

# Debian's compiler and linker flags (-O2, hardening: relro, now, fortify,
# stack protector), as dpkg-buildpackage sets them; build type None so
# that CMake adds none of its own.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS) CXXFLAGS=$(dpkg-buildflags --get CXXFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
maintainer=()
[ -n "${MAINTAINER:-}" ] && maintainer=(-DPW_MAINTAINER="$MAINTAINER")
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=None -DPW_BUILD_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr -DPW_SYSTEMD_UNIT_DIR=/lib/systemd/system -DPW_INSTALL_CONFFILE=ON \
  -DCMAKE_C_FLAGS="$CFLAGS $CPPFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS $CPPFLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" "${maintainer[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target prefixwall docs >/dev/null
(cd "$build" && cpack -G DEB -B "$build/deb" >/dev/null)
deb=$(ls "$build"/deb/prefixwall_*.deb)
mv "$deb" "$out/"
echo "$out/$(basename "$deb")"
