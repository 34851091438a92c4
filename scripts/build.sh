#!/usr/bin/env bash
# Configures and builds into build/ (or $BUILD_DIR).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
# PW_SANITIZE=ON: AddressSanitizer and UndefinedBehaviorSanitizer.
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} \
  -DPW_SANITIZE=${PW_SANITIZE:-OFF} >/dev/null
cmake --build "$build" -j"$(nproc)"
