#!/usr/bin/env bash
# Installs the built project into a scratch prefix, then configures, builds and runs the consumer against it.
set -euo pipefail
build_dir="$1"; work="$2"; src="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$work"
cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
test -f "$work/prefix/include/cadmm/fit.hpp"
test -x "$work/prefix/bin/cadmm"
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/build" > /dev/null
"$work/build/consumer"
