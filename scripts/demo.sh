#!/usr/bin/env bash
# Installs dependencies, builds, writes a 100,000 x 200 demo data set (demo.h5) and solves a lasso at 0.1
# lambda_max on 2 ranks, printing progress and the summary. Output: result.h5 in the repository root.
source "$(dirname "$0")/common.sh"
install_dependencies
build
cd "$ROOT"
if [ ! -f demo.h5 ]; then
  mpirun -np 2 "$BUILD/cadmm" generate --rows 100000 --features 200 --correlation 0.5 --seed 1 --output demo.h5
fi
mpirun -np 2 "$BUILD/cadmm" solve --config configs/lasso.ini --output result.h5
