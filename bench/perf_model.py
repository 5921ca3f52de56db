#!/usr/bin/env python3
"""The performance model of README "Scaling", fitted to jobs/scaling.sh measurements and used to project.

  T(P)        = T_read + T_setup + K(P) * t_iter(P)
  T_read      = 8 n d / (P * B_read)                          bytes of X over per-rank read bandwidth
  T_setup     = n d^2 / (P * R_gram) + 9 d^3 / R_gram          X^T X (syrk: n d^2 flops) + eigendecomposition
  t_iter(P)   = 16 d^2 k / B_mem + 2 log2(P) (alpha + 8 d k / beta)
                local solve: two products with the d x d eigenvector matrix, memory-bound (16 d^2 bytes read);
                MpiCommunicator::sum is MPI_Reduce + MPI_Bcast: two binomial trees of log2 P steps, d k doubles each
  K(P)        iterations; measured flat for P = 2..16 blocks (README), taken constant beyond (an assumption)

Fitted here (1-rank read and setup of the strong sweep; per-iteration time at 1 rank and communication per
iteration at 2 ranks of the fixed-iteration sweeps, over shared memory and over TCP: latency from 1.6 KB messages
(200 features), bandwidth from 800 KB messages (100 features x 1000 targets)). Projected with published
figures for a cluster node and an InfiniBand HDR / Slingshot-class fabric. Usage: perf_model.py [DOCS_SCALING_DIR]
"""
import csv
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "docs", "scaling")


def rows(name):
    with open(os.path.join(DIR, name, "scaling.csv")) as f:
        return [{k: (float(v) if k not in ("kind", "status") else v) for k, v in r.items()} for r in csv.DictReader(f)]


def at(table, kind, ranks):
    return next(r for r in table if r["kind"] == kind and int(r["ranks"]) == ranks)


tcp, shm = rows("slurm-3000-iterations"), rows("mpirun-3000-iterations")
one = at(shm, "strong", 1)
n, d = one["rows"], one["features"]
B_read = 8 * n * d / one["read"]
R_gram = (n * d * d + 9 * d ** 3) / one["setup"]
B_mem = 16 * d * d / (one["iterations_s"] / one["iterations"])
comm = {name: at(t, "strong", 2)["communication"] / at(t, "strong", 2)["iterations"] for name, t in
        (("shared memory", shm), ("TCP", tcp))}
# Two ranks: one Reduce + one Bcast step, each with latency alpha (bandwidth is negligible for 1.6 KB).
alpha = {name: c / 2 for name, c in comm.items()}
# Bandwidth from the 100 x 1000 sweeps (800 KB per message): per iteration one Reduce + one Bcast, plus the
# objective's reduction of the same size every 10th iteration (gap_every), so 2.1 messages of 8 d k bytes.
beta = {}
for name, table in (("shared memory", rows("mpirun-100x1000-300-iterations")),
                    ("TCP", rows("slurm-100x1000-300-iterations"))):
    r = at(table, "strong", 2)
    per_iteration = r["communication"] / r["iterations"]
    beta[name] = 2.1 * 8 * r["features"] * r["targets"] / (per_iteration - 2.1 * alpha[name])
print(f"Fitted on this machine (strong sweep, {int(n):,} x {int(d)}, one rank):")
print(f"  read bandwidth {B_read / 1e9:.1f} GB/s per rank (page cache), Gram + eigen rate {R_gram / 1e9:.1f} GFLOP/s,")
print(f"  local solve as memory traffic {B_mem / 1e9:.1f} GB/s; per tree step: " +
      ", ".join(f"{k} {alpha[k] * 1e6:.1f} us + bytes / {beta[k] / 1e9:.2f} GB/s" for k in alpha))

# A cluster node and network (published figures; see README for the sources' classes of hardware).
NODE = dict(B_read=2e9, R_gram=1.0e12, B_mem=150e9)   # per node: 2 GB/s from a parallel file system, 1 TFLOP/s DGEMM
NET = dict(alpha=2e-6, beta=20e9)                      # InfiniBand HDR / Slingshot class: ~2 us MPI latency, ~20 GB/s
K = 150                                                 # iterations, as measured for P >= 2 without polishing


def project(n, d, k, P, node=NODE, net=NET, iters=K):
    read = 8 * n * d / (P * node["B_read"])
    setup = n * d * d / (P * node["R_gram"]) + 9 * d ** 3 / node["R_gram"]
    local = 16 * d * d * k / node["B_mem"]
    allreduce = 2 * math.log2(P) * (net["alpha"] + 8 * d * k / net["beta"]) if P > 1 else 0.0
    return read, setup, local, allreduce, read + setup + iters * (local + allreduce)


problems = [("benchmark 200,000 x 500", 2e5, 500), ("1 TB: 125M x 1,000", 1.25e8, 1000),
            ("1 TB: 12.5M x 10,000", 1.25e7, 10000)]
print(f"\nProjection, one rank per node with all its cores in BLAS, K = {K} iterations:")
print("| problem | nodes | read s | setup s | local solve us/iter | Allreduce us/iter | total s | communication share of an iteration |")
print("|---|---|---|---|---|---|---|---|")
for name, n_, d_ in problems:
    for P in (1, 10, 100, 1000):
        read, setup, local, ar, total = project(n_, d_, 1, P)
        print(f"| {name} | {P} | {read:.3g} | {setup:.3g} | {local * 1e6:.3g} | {ar * 1e6:.3g} | {total:.3g} | "
              f"{ar / (local + ar):.0%} |")
for name, n_, d_ in problems:
    local = 16 * d_ * d_ / NODE["B_mem"]
    per_step = NET["alpha"] + 8 * d_ / NET["beta"]
    P_star = 2 ** (local / (2 * per_step))
    print(f"{name}: the Allreduce outweighs the local solve beyond about "
          f"{P_star:.3g} nodes" if P_star < 1e6 else f"{name}: the local solve dominates at any node count")
