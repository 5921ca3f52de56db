#!/bin/bash
# Does a cold read overlap the Gram? Runs, with the data file dropped from the page cache and this job's reads
# throttled (a cgroup v1 blkio limit; needs root), first `cadmm info --read-test` (the read alone), then a
# `--local-solver gram` solve on one rank and one BLAS thread, and prints how long the solve waited for its reads.
#
#   bench/cold_read.sh [DATA] [BYTES_PER_SECOND]     (defaults: /tmp/perf_P1.h5 from bench_performance.py, 500 MB/s)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cadmm=${CADMM:-$here/build/cadmm}
data=${1:-/tmp/perf_P1.h5}
rate=${2:-500000000}
[ -r "$data" ] || { echo "no data file $data (run bench/bench_performance.py --only P1 first)" >&2; exit 2; }
[ -d /sys/fs/cgroup/blkio ] || { echo "needs the cgroup v1 blkio controller (/sys/fs/cgroup/blkio)" >&2; exit 2; }
dev=$(lsblk -no MAJ:MIN "$(findmnt -no SOURCE --target "$data")" | head -1 | tr -d ' ')
group=/sys/fs/cgroup/blkio/cadmm_cold_read_$$
mkdir "$group"
trap 'rmdir "$group" 2>/dev/null || true' EXIT
echo "$dev $rate" > "$group/blkio.throttle.read_bps_device"

throttled() {  # runs "$@" in the group, the file cold
  sync
  echo 3 > /proc/sys/vm/drop_caches
  sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$group" "$@"
}
export OPENBLAS_NUM_THREADS=1
echo "data $data, reads throttled to $rate bytes/s on device $dev, page cache dropped before each run"
throttled "$cadmm" info "$data" --read-test | grep "read test"
for i in 1 2 3; do
  t0=$(date +%s.%N)
  out=$(throttled "$cadmm" solve --data "$data" --local-solver gram --output /tmp/cadmm_cold_read_out.h5)
  t1=$(date +%s.%N)
  echo "solve (gram, 1 rank): $(echo "$t1 - $t0" | bc) s in all; $(grep -o 'read [0-9.]*s | setup/factor [0-9.]*s' <<<"$out")"
done
rm -f /tmp/cadmm_cold_read_out.h5
