#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from the committed seed corpus (new inputs go to a scratch copy,
# never into the source tree) and prints how many inputs it executed. Usage: run.sh TARGET SEEDS WORKDIR SECONDS
set -euo pipefail
target=$1 seeds=$2 work=$3 seconds=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
# -timeout: one input running 10 s is a hang; -rss_limit_mb: 2 GB is a memory blow-up; both count as findings.
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" 2>&1 | tail -n 25
