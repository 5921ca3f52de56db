#!/usr/bin/env bash
# Installs dependencies, builds and runs the whole test suite (unit, MPI at 1-4 ranks, CLI end to end against
# scikit-learn references, install/find_package consumer).
source "$(dirname "$0")/common.sh"
install_dependencies
build
cd "$BUILD"
ctest --output-on-failure --timeout 900
