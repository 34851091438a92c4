#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (unit, BPF packet tests, the veth lab). Run as root on Debian 12.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
cd "${BUILD_DIR:-$top/build}"
ctest --output-on-failure
