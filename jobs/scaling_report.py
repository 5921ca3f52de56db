#!/usr/bin/env python3
"""Reads the logs jobs/scaling.sh left (rank 0's summary: phases, iterations) and writes scaling.csv, scaling.md and
scaling.png (speedup and parallel efficiency). Usage: scaling_report.py DIR LAUNCHER FEATURES RANKS..."""
import csv
import os
import re
import sys

TIME = re.compile(r"time\s+read ([\d.]+)s \| setup/factor ([\d.]+)s \| iterations ([\d.]+)s "
                  r"\(communication ([\d.]+)s\) \| write ([\d.]+)s")
DONE = re.compile(r"cadmm solve: (\w+) after (\d+) iterations")
DATA = re.compile(r"data\s+(\d+) rows x (\d+) features, (\d+) target")


def parse(path):
    text = open(path).read()
    t, d, n = TIME.search(text), DONE.search(text), DATA.search(text)
    if not (t and d and n):
        raise SystemExit(f"{path}: no summary found (did the run fail?)\n{text[-2000:]}")
    read, setup, iters, comm, write = (float(x) for x in t.groups())
    return dict(read=read, setup=setup, iterations_s=iters, communication=comm, write=write,
                total=read + setup + iters + write, iterations=int(d.group(2)), status=d.group(1),
                rows=int(n.group(1)), features=int(n.group(2)), targets=int(n.group(3)))


def main():
    out, launcher, features = sys.argv[1], sys.argv[2], sys.argv[3]
    ranks = [int(p) for p in sys.argv[4:]]
    rows = []
    for kind in ("strong", "weak"):
        base = None
        for p in ranks:
            r = parse(os.path.join(out, f"{kind}_p{p}.log"))
            r.update(kind=kind, ranks=p, per_iteration_ms=1e3 * r["iterations_s"] / max(1, r["iterations"]))
            base = base or r
            # Strong: speedup T1/TP, efficiency T1/(P TP). Weak: efficiency T1/TP (the work grows with P).
            r["speedup"] = base["total"] / r["total"] * (1 if kind == "strong" else p)
            r["efficiency"] = base["total"] / r["total"] / (p if kind == "strong" else 1)
            rows.append(r)
    fields = ["kind", "ranks", "rows", "features", "targets", "read", "setup", "iterations_s", "communication", "write", "total",
              "iterations", "per_iteration_ms", "speedup", "efficiency", "status"]
    with open(os.path.join(out, "scaling.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    lines = [f"Scaling of `cadmm solve` ({launcher}; features x targets {features}; seconds per phase)", "",
             "| sweep | ranks | rows | read | setup | iterations | (comm.) | write | total | iters | ms/iter | speedup | efficiency |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['kind']} | {r['ranks']} | {r['rows']:,} | {r['read']:.3f} | {r['setup']:.3f} | "
                     f"{r['iterations_s']:.3f} | {r['communication']:.3f} | {r['write']:.3f} | {r['total']:.3f} | "
                     f"{r['iterations']} | {r['per_iteration_ms']:.3f} | {r['speedup']:.2f} | {r['efficiency']:.0%} |")
    table = "\n".join(lines) + "\n"
    open(os.path.join(out, "scaling.md"), "w").write(table)
    print(table)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("python3-matplotlib is missing: no plot")
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for kind, marker in (("strong", "o"), ("weak", "s")):
        rs = [r for r in rows if r["kind"] == kind]
        p = [r["ranks"] for r in rs]
        axes[0].plot(p, [r["total"] for r in rs], marker=marker, label=f"{kind}: total")
        axes[0].plot(p, [r["setup"] + r["read"] for r in rs], marker=marker, ls=":", label=f"{kind}: read + setup")
        axes[1].plot(p, [r["speedup"] for r in rs], marker=marker, label=kind)
        axes[2].plot(p, [r["efficiency"] for r in rs], marker=marker, label=kind)
    axes[1].plot(ranks, ranks, "k--", lw=0.8, label="ideal")
    axes[2].axhline(1.0, color="k", ls="--", lw=0.8)
    axes[0].set_yscale("log")
    for ax, title in zip(axes, ("seconds (log scale)", "speedup (weak: scaled)", "parallel efficiency")):
        ax.set_xlabel("ranks")
        ax.set_title(title)
        ax.set_xticks(ranks)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=110)
    print(f"plot: {os.path.join(out, 'scaling.png')}")


if __name__ == "__main__":
    main()
