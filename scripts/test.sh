#!/usr/bin/env bash
# Installs dependencies, builds and runs the whole test suite (unit, MPI at 1-4 ranks, CLI end to end against
# scikit-learn and glmnet references, injected faults, install/find_package consumer, Slurm), then a second
# build with AddressSanitizer + UndefinedBehaviorSanitizer that runs the unit, MPI and fault tests again and
# each libFuzzer target on its committed inputs and a fixed-seed run (tests/fuzz/run.sh).
source "$(dirname "$0")/common.sh"
install_dependencies
build
(cd "$BUILD" && ctest -j 2 --output-on-failure --timeout 900)
build_sanitized
cd "$SANITIZE_BUILD"
ctest -L sanitize -j 2 --output-on-failure --timeout 900
