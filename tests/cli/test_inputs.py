#!/usr/bin/env python3
"""Data the way users have it, written by the libraries they use (Debian packages the set-up scripts install): h5py's
and hdf5plugin's compression filters, AnnData files (dense, CSR, CSC). Every case gives the reference answer or the
documented refusal; none exits 0 with a wrong problem. Usage: test_inputs.py CADMM WORKDIR REPO_ROOT
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import cadmm, expect_error, main, path, test  # noqa: E402


def problem(n=3000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)


def sklearn_lasso(X, y, ratio=0.1):
    """scikit-learn's Lasso at ratio x lambda_max (lambda_max computed here), coefficients and intercept."""
    from sklearn.linear_model import Lasso
    Xc, yc = X - X.mean(0), y - y.mean()
    lam = ratio * np.abs(Xc.T @ yc).max() / len(y)
    m = Lasso(alpha=lam, tol=1e-14, max_iter=100000).fit(X, y)
    return m.coef_, m.intercept_


def coef(result):
    with h5py.File(result) as f:
        return f["coef"][()], f["intercept"][()]


def write_compressed(name, X, y, **filter_args):
    p = path(name)
    with h5py.File(p, "w") as f:
        f.create_dataset("X", data=X, chunks=(500, X.shape[1]), **filter_args)
        f.create_dataset("y", data=y, chunks=(500,), **filter_args)
    return p


@test
def compression_filters_of_h5py_and_hdf5plugin_read_as_written():
    """gzip, shuffle and LZF (h5py), Blosc, LZ4 and BZip2 (hdf5plugin, Debian's filter plugins): every rank decodes
    its chunks, and the answer is the uncompressed file's, bit for bit, and scikit-learn's."""
    import hdf5plugin
    X, y = problem()
    plain = write_compressed("plain.h5", X, y)
    cadmm(2, "solve", "--data", plain, "--output", path("plain_r.h5"), "--quiet")
    reference = coef(path("plain_r.h5"))
    sk_coef, sk_intercept = sklearn_lasso(X, y)
    assert np.allclose(reference[0], sk_coef, atol=1e-8) and abs(reference[1] - sk_intercept) < 1e-8
    cases = {"gzip": dict(compression="gzip", shuffle=True), "lzf": dict(compression="lzf"),
             "blosc": dict(hdf5plugin.Blosc()), "lz4": dict(hdf5plugin.LZ4()), "bzip2": dict(hdf5plugin.BZip2())}
    for name, args in cases.items():
        data = write_compressed(f"{name}.h5", X, y, **args)
        with h5py.File(data) as f:  # the filter is really there
            assert f["X"].id.get_create_plist().get_nfilters() >= 1, name
        cadmm(2, "solve", "--data", data, "--output", path(f"{name}_r.h5"), "--quiet")
        got = coef(path(f"{name}_r.h5"))
        assert got[0].tobytes() == reference[0].tobytes() and got[1] == reference[1], f"{name}: answer differs"


@test
def a_filter_that_cannot_load_is_named_with_what_to_do():
    """A dataset compressed by a filter no plugin here provides (Zstandard: chunks written raw with filter 32015 in
    the pipeline) is refused with exit 3 naming the filter, not as a failed read; a packaged filter whose plugin is
    not found (HDF5_PLUGIN_PATH at an empty directory) names the Debian package."""
    import hdf5plugin
    X, y = problem(1000, 5)
    p = path("zstd.h5")
    with h5py.File(p, "w") as f:
        d = f.create_dataset("X", shape=X.shape, dtype="f8", chunks=(500, 5), compression=32015,
                             allow_unknown_filter=True)
        for r in range(0, X.shape[0], 500):
            d.id.write_direct_chunk((r, 0), X[r:r + 500].tobytes(), filter_mask=0)
        f["y"] = y
    err = expect_error(2, 3, "compressed with HDF5 filter 32015 (Zstandard)", "solve", "--data", p, "--output",
                       path("zstd_r.h5"))
    assert "HDF5_PLUGIN_PATH" in err and "h5repack" in err, err
    assert not os.path.exists(path("zstd_r.h5"))
    blosc = write_compressed("blosc_missing.h5", X, y, **hdf5plugin.Blosc())
    empty = path("no_plugins")
    os.makedirs(empty, exist_ok=True)
    env = dict(HDF5_PLUGIN_PATH=empty)
    expect_error(2, 3, "filter 32001 (Blosc), which this HDF5 cannot load (install Debian's "
                 "hdf5-filter-plugin-blosc-serial", "solve", "--data", blosc, "--output", path("b.h5"), env=env)


@test
def anndata_files_dense_csr_and_csc():
    """anndata's own files: a dense and a CSR X fit with y from /obs (scikit-learn's answer); a CSC X is refused
    (exit 3) naming CSC and the one-line fix."""
    import anndata
    import pandas as pd
    import scipy.sparse as sp
    X, y = problem(2000, 12, seed=3)
    X[np.abs(X) < 0.7] = 0.0
    obs = pd.DataFrame({"target": y}, index=[f"cell{i}" for i in range(len(y))])
    var = pd.DataFrame(index=[f"gene{j}" for j in range(X.shape[1])])
    sk_coef, sk_intercept = sklearn_lasso(X, y)
    for name, matrix in [("dense", X), ("csr", sp.csr_matrix(X))]:
        p = path(f"ad_{name}.h5ad")
        anndata.AnnData(X=matrix, obs=obs, var=var, dtype=np.float64).write_h5ad(p)
        cadmm(2, "solve", "--data", p, "--y-dataset", "/obs/target", "--output", path(f"ad_{name}_r.h5"), "--quiet")
        got = coef(path(f"ad_{name}_r.h5"))
        assert np.allclose(got[0], sk_coef, atol=1e-8) and abs(got[1] - sk_intercept) < 1e-8, name
    p = path("ad_csc.h5ad")
    anndata.AnnData(X=sp.csc_matrix(X), obs=obs, var=var, dtype=np.float64).write_h5ad(p)
    expect_error(2, 3, "is a CSC sparse matrix (AnnData csc_matrix)", "solve", "--data", p, "--y-dataset",
                 "/obs/target", "--output", path("ad_csc_r.h5"))


if __name__ == "__main__":
    main()
