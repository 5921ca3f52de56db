#!/usr/bin/env python3
"""`cadmm plot` (tools/cadmm-plot), headless: the figures hold what glmnet's plot(cvfit) and plot(fit) show, computed
here from the result files themselves, and the command writes PNG, SVG and PDF files or refuses with the documented
exit codes. Usage: test_plot.py CADMM WORKDIR REPO_ROOT
"""
import importlib.machinery
import importlib.util
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import REPO, cadmm, main, path, small, test, write  # noqa: E402

import matplotlib  # noqa: E402
matplotlib.use("Agg")


def plot_module():
    loader = importlib.machinery.SourceFileLoader("cadmm_plot", os.path.join(REPO, "tools", "cadmm-plot"))
    spec = importlib.util.spec_from_loader("cadmm_plot", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def results():
    X, y = small(300, 10)
    data = write("plot_data.h5", X, y)
    cv_out, path_out = path("plot_cv.h5"), path("plot_path.h5")
    if not os.path.exists(cv_out):
        cadmm(2, "cv", "--data", data, "--n-lambda", 25, "--relax", "--output", cv_out, "--quiet")
        cadmm(1, "path", "--data", data, "--n-lambda", 25, "--output", path_out, "--quiet")
        with h5py.File(path_out, "a") as f:  # names as issue 19's readers will store them
            f["feature_names"] = np.array([f"gene_{j}".encode() for j in range(10)])
    return data, cv_out, path_out


@test
def cv_figure_is_glmnets_plot_cvfit():
    _, cv_out, _ = results()
    m = plot_module()
    fig, ax = m.plot_cv(m.read(cv_out))
    with h5py.File(cv_out) as f:
        lam, cvm, cvsd = f["cv/lambda"][()], f["cv/mse_mean"][()], f["cv/mse_std"][()]
        l_min, l_1se, nonzero = f["cv/lambda_min"][()], f["cv/lambda_1se"][()], f["cv/nonzero"][()]
        gammas = f["cv/relaxed/gamma"][()]
    # The points: mean error against log(lambda); the bars: one standard error either side.
    points = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(points) == 1
    assert np.allclose(points[0].get_xdata(), np.log(lam)) and np.allclose(points[0].get_ydata(), cvm)
    bars = [c for c in ax.collections if hasattr(c, "get_segments") and len(c.get_segments()) == len(lam)]
    assert bars, "no error bars"
    spans = np.array([[s[0][1], s[1][1]] for s in bars[0].get_segments()])
    assert np.allclose(spans[:, 0], cvm - cvsd) and np.allclose(spans[:, 1], cvm + cvsd)
    # The choices as vertical lines, the relaxed curves (gamma < 1), the nonzero counts on top.
    vertical = sorted(line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1)
    assert np.allclose(vertical, sorted([np.log(l_min), np.log(l_1se)])), vertical
    relaxed = [line for line in ax.lines if line.get_label().startswith("relaxed")]
    assert len(relaxed) == int(np.sum(gammas < 1)), [line.get_label() for line in ax.lines]
    # The relaxed pairs glmnet chooses (predict's default for this file) as points on their gamma's curve.
    with h5py.File(cv_out) as f:
        for c in ("min", "1se"):
            lam_c, g_c = f[f"cv/relaxed/lambda_{c}"][()], f[f"cv/relaxed/gamma_{c}"][()]
            want = (np.log(lam_c), f["cv/relaxed/mse_mean"][()][list(gammas).index(g_c), list(lam).index(lam_c)])
            marks = [p for p in ax.collections if p.get_label().startswith(f"relaxed lambda_{c}:")]
            assert len(marks) == 1 and np.allclose(marks[0].get_offsets()[0], want), (c, want)
    top = ax.child_axes[0] if ax.child_axes else None
    labels = [t.get_text() for t in top.get_xticklabels()] if top else []
    assert labels and set(labels) <= {str(int(c)) for c in nonzero}, labels
    matplotlib.pyplot.close(fig)


@test
def path_figure_is_glmnets_plot_fit_with_names():
    _, _, path_out = results()
    m = plot_module()
    fig, ax = m.plot_path(m.read(path_out), labels=3)
    with h5py.File(path_out) as f:
        lam, coef = f["path/lambda"][()], f["path/coef"][()]
    moving = np.flatnonzero(np.any(coef != 0, axis=0))
    curves = [line for line in ax.lines if len(line.get_xdata()) == len(lam)]
    assert len(curves) == len(moving), (len(curves), len(moving))
    for line, j in zip(curves, moving):
        assert np.allclose(line.get_xdata(), np.log(lam)) and np.allclose(line.get_ydata(), coef[:, j])
    largest = moving[np.argsort(-np.abs(coef[-1, moving]))][:3]
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"gene_{j}" for j in largest)
    matplotlib.pyplot.close(fig)


@test
def the_command_writes_png_svg_pdf_and_refuses_what_it_cannot_plot():
    data, cv_out, path_out = results()
    for name, magic in (("plot.png", b"\x89PNG"), ("plot.svg", b"<?xml"), ("plot.pdf", b"%PDF")):
        out = path(name)
        cadmm(1, "plot", cv_out, "--output", out)
        with open(out, "rb") as f:
            assert f.read(5).startswith(magic), name
    # Under mpirun rank 0 alone plots (every rank writing the one file raced on its temporary name).
    out = path("ranks.png")
    _, text, _ = cadmm(3, "plot", cv_out, "--output", out)
    assert text.count("written to") == 1, text
    with open(out, "rb") as f:
        assert f.read(5).startswith(b"\x89PNG"), out
    _, text, _ = cadmm(1, "plot", cv_out, "--kind", "path", "--output", path("cv_path.png"))
    assert "path of" in text, text
    cadmm(1, "plot", path_out)  # default output: FILE with .png
    assert os.path.getsize(path_out[:-3] + ".png") > 10000
    solve_out = path("plot_solve.h5")
    cadmm(1, "solve", "--data", data, "--output", solve_out, "--quiet")
    _, _, err = cadmm(1, "plot", solve_out, expect=3)
    assert "holds no path" in err, err
    _, _, err = cadmm(1, "plot", path_out, "--kind", "cv", "--output", path("x.png"), expect=3)
    assert "holds no cross-validation" in err, err
    _, _, err = cadmm(1, "plot", cv_out, "--output", path("x.jpg"), expect=2)
    assert "must end in .png, .svg or .pdf" in err, err
    _, _, err = cadmm(1, "plot", path_out, "--target", "3", "--output", path("x.png"), expect=2)
    assert "--target" in err, err
    assert not os.path.exists(path("x.png"))


if __name__ == "__main__":
    main()
