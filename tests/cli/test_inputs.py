#!/usr/bin/env python3
"""Data the way users have it, written by the libraries they use (Debian packages the set-up scripts install): h5py's
and hdf5plugin's compression filters, AnnData files (dense, CSR, CSC, gene names), scikit-learn's own svmlight test
files and gzip/bzip2 copies of them, CSV with a header; feature names carried into every result and checked by
predict. Every case gives the reference answer or the documented refusal; none exits 0 with a wrong problem.
Usage: test_inputs.py CADMM WORKDIR REPO_ROOT
"""
import bz2
import gzip
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import cadmm, expect_error, main, path, test, write  # noqa: E402

SKLEARN_DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/tests/data"


def names_of(result):
    with h5py.File(result) as f:
        return [n.decode() if isinstance(n, bytes) else str(n) for n in f["feature_names"][()]] \
            if "feature_names" in f else None


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
    X = np.round(X, 1)  # doubles that compress: a filter that cannot shrink a chunk may store it as it is
    plain = write_compressed("plain.h5", X, y)
    cadmm(2, "solve", "--data", plain, "--output", path("plain_r.h5"), "--quiet")
    reference = coef(path("plain_r.h5"))
    sk_coef, sk_intercept = sklearn_lasso(X, y)
    assert np.allclose(reference[0], sk_coef, atol=1e-8) and abs(reference[1] - sk_intercept) < 1e-8
    cases = {"gzip": dict(compression="gzip", shuffle=True), "lzf": dict(compression="lzf"),
             "blosc": dict(hdf5plugin.Blosc()), "lz4": dict(hdf5plugin.LZ4()), "bzip2": dict(hdf5plugin.BZip2())}
    for name, args in cases.items():
        data = write_compressed(f"{name}.h5", X, y, **args)
        with h5py.File(data) as f:  # the filter is really there, and every chunk went through it
            assert f["X"].id.get_create_plist().get_nfilters() >= 1, name
            for i in range(f["X"].id.get_num_chunks()):
                assert f["X"].id.get_chunk_info(i).filter_mask == 0, (name, i)
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
        _, out, _ = cadmm(2, "solve", "--data", p, "--y-dataset", "/obs/target", "--output", path(f"ad_{name}_r.h5"))
        got = coef(path(f"ad_{name}_r.h5"))
        assert np.allclose(got[0], sk_coef, atol=1e-8) and abs(got[1] - sk_intercept) < 1e-8, name
        # the genes' names (/var/_index) are carried into the result, and the summary names the largest
        assert names_of(path(f"ad_{name}_r.h5")) == list(var.index), name
        top = int(np.argmax(np.abs(sk_coef)))
        assert f"largest     gene{top} " in out, out
    p = path("ad_csc.h5ad")
    anndata.AnnData(X=sp.csc_matrix(X), obs=obs, var=var, dtype=np.float64).write_h5ad(p)
    expect_error(2, 3, "is a CSC sparse matrix (AnnData csc_matrix)", "solve", "--data", p, "--y-dataset",
                 "/obs/target", "--output", path("ad_csc_r.h5"))
    # scanpy's adata.raw (/raw/X, named by /raw/var) and a layer: a model knows the genes and the values it was fitted
    # on. Before, /raw/X's fit stored no names (predict then took reordered genes without a word), and a model of a
    # layer was applied to /X in silence (found by a single-cell trial).
    ad = anndata.AnnData(X=sp.csr_matrix(X * 0.5), obs=obs, var=var, dtype=np.float64)
    ad.raw = anndata.AnnData(X=sp.csr_matrix(X), obs=obs, var=var, dtype=np.float64)
    ad.layers["counts"] = sp.csr_matrix(X)
    p = path("ad_raw.h5ad")
    ad.write_h5ad(p)
    for x_name in ("/raw/X", "/layers/counts"):
        model = path("ad_raw_r.h5")
        cadmm(2, "solve", "--data", p, "--x-dataset", x_name, "--y-dataset", "/obs/target", "--output", model,
              "--quiet")
        assert np.allclose(coef(model)[0], sk_coef, atol=1e-8), x_name
        assert names_of(model) == list(var.index), x_name
        _, _, err = cadmm(2, "predict", "--model", model, "--data", p, "--y-dataset", "/obs/target", "--output",
                          path("ad_raw_p.h5"), "--quiet")
        assert f"was fitted on {x_name}, but these predictions read /X" in err, err
        _, _, err = cadmm(2, "predict", "--model", model, "--data", p, "--x-dataset", x_name, "--y-dataset",
                          "/obs/target", "--output", path("ad_raw_p.h5"), "--quiet")
        assert "warning" not in err, err
    reordered = ad[:, ::-1].copy()
    reordered.raw = ad.raw.to_adata()[:, ::-1].copy()
    q = path("ad_raw_reordered.h5ad")
    reordered.write_h5ad(q)
    cadmm(2, "solve", "--data", p, "--x-dataset", "/raw/X", "--y-dataset", "/obs/target", "--output", model, "--quiet")
    expect_error(2, 3, "are not the model's", "predict", "--model", model, "--data", q, "--x-dataset", "/raw/X",
                 "--output", path("ad_raw_p.h5"))


@test
def anndata_categorical_columns():
    """anndata keeps a text column of repeated values as a categorical group (codes into categories): gene symbols
    in /var are feature names, fold labels in /obs split the rows as their integer copy does (the same cv, bit for
    bit), and a categorical y is refused (exit 3) saying what it is. All three were 'not a dataset' before."""
    import anndata
    import pandas as pd
    X, y = problem(600, 12, seed=4)
    folds = np.random.default_rng(4).permutation(np.arange(600) % 4) + 1
    unlabelled = pd.Categorical([None if i == 7 else f"f{k}" for i, k in enumerate(folds)])
    obs = pd.DataFrame({"target": y, "fold": folds, "fold_label": pd.Categorical([f"f{k}" for k in folds]),
                        "fold_gap": unlabelled,
                        "batch": pd.Categorical(["a", "b", "c"] * 200)}, index=[f"cell{i}" for i in range(600)])
    symbols = [f"sym{j % 6}" for j in range(12)]
    var = pd.DataFrame({"symbol": pd.Categorical(symbols)}, index=[f"gene{j}" for j in range(12)])
    p = path("ad_cat.h5ad")
    anndata.AnnData(X=X, obs=obs, var=var, dtype=np.float64).write_h5ad(p)
    with h5py.File(p) as f:
        assert f["var/symbol"].attrs["encoding-type"] == "categorical", "anndata wrote no categorical group"
    cadmm(2, "solve", "--data", p, "--y-dataset", "/obs/target", "--feature-names-dataset", "/var/symbol",
          "--output", path("ad_cat_r.h5"), "--quiet")
    assert names_of(path("ad_cat_r.h5")) == symbols
    mse = []
    for fold in ("/obs/fold", "/obs/fold_label"):
        cadmm(2, "cv", "--data", p, "--y-dataset", "/obs/target", "--fold-dataset", fold, "--n-lambda", 10,
              "--output", path("ad_cat_cv.h5"), "--quiet")
        with h5py.File(path("ad_cat_cv.h5")) as f:
            mse.append(f["cv/mse"][()])
    assert np.array_equal(mse[0], mse[1])
    expect_error(2, 3, "(a categorical column) has no label at row 7 (0-based)", "cv", "--data", p, "--y-dataset",
                 "/obs/target", "--fold-dataset", "/obs/fold_gap", "--output", path("ad_cat_cv.h5"))
    expect_error(2, 3, "is a categorical column", "solve", "--data", p, "--y-dataset", "/obs/batch",
                 "--output", path("ad_cat_r.h5"))
    # Genes' pathways as a categorical /var column: the codes are the groups (it was 'not a dataset').
    expect_error(2, 3, "/var/symbol/codes, number the labels", "solve", "--data", p, "--y-dataset", "/obs/target",
                 "--penalty", "group", "--groups-dataset", "/var/symbol", "--output", path("ad_cat_r.h5"))
    # Several targets named as a list: pointed to obsm. A category no row has: pointed to remove_unused_categories.
    expect_error(2, 3, "several targets are one (n, k) dataset", "solve", "--data", p, "--y-dataset",
                 "/obs/target,/obs/fold", "--output", path("ad_cat_r.h5"))
    obs_unused = obs.copy()
    obs_unused["fold_label"] = obs["fold_label"].cat.add_categories(["unused"]).cat.reorder_categories(
        ["f1", "unused", "f2", "f3", "f4"])
    anndata.AnnData(X=X, obs=obs_unused, var=var, dtype=np.float64).write_h5ad(path("ad_cat_unused.h5ad"))
    expect_error(2, 3, "remove_unused_categories", "cv", "--data", path("ad_cat_unused.h5ad"), "--y-dataset",
                 "/obs/target", "--fold-dataset", "/obs/fold_label", "--output", path("ad_cat_cv.h5"))
    # Gene names that repeat: the fit says so (predict could not tell them apart).
    dup = var.copy()
    dup.index = [f"gene{j}" for j in range(11)] + ["gene3"]
    anndata.AnnData(X=X, obs=obs, var=dup, dtype=np.float64).write_h5ad(path("ad_dup.h5ad"))
    _, _, err = cadmm(2, "solve", "--data", path("ad_dup.h5ad"), "--y-dataset", "/obs/target", "--output",
                      path("ad_cat_r.h5"), "--quiet")
    assert "feature names repeat in /var/_index (1 name(s); the first 'gene3' (columns 3 and 11))" in err, err
    cadmm(2, "solve", "--data", p, "--y-dataset", "/obs/target", "--penalty", "group", "--groups-dataset",
          "/var/symbol/codes", "--output", path("ad_cat_r.h5"), "--quiet")
    # Without --y-dataset (an AnnData file has no /y), and with a table's --y-column: pointed to /obs.
    expect_error(2, 3, "an AnnData file keeps its per-row columns in /obs (--y-dataset /obs/NAME)", "solve", "--data",
                 p, "--output", path("ad_cat_r.h5"))
    import scipy.sparse as sp
    anndata.AnnData(X=sp.csr_matrix(X), obs=obs, var=var, dtype=np.float64).write_h5ad(path("ad_cat_csr.h5ad"))
    expect_error(2, 2, "give y's own dataset with --y-dataset (in an AnnData file, /obs/target)", "solve", "--data",
                 path("ad_cat_csr.h5ad"), "--y-column", "target", "--output", path("ad_cat_r.h5"))


@test
def integer_weights_read_as_numbers():
    """Frequency weights are counts: an int32 weights dataset fits as its float64 copy, bit for bit (it was refused as
    an unsupported element type, found by a new-user trial). X and y stay float32/float64 (SPEC section 3): an
    integer X or y is refused (exit 3) saying what to write."""
    rng = np.random.default_rng(8)
    X, y = problem(600, 8, seed=8)
    w = rng.integers(1, 4, 600).astype(np.int32)
    data = write("counts.h5", X, y, w=w, wf=w.astype(float), Xi=np.rint(X).astype(np.int64),
                 yi=np.rint(y).astype(np.int32))
    outs = [path("counts_int.h5"), path("counts_float.h5")]
    for out, weights in zip(outs, ("/w", "/wf")):
        cadmm(2, "path", "--data", data, "--weights-dataset", weights, "--n-lambda", 10, "--output", out, "--quiet")
    with h5py.File(outs[0]) as a, h5py.File(outs[1]) as b:
        assert a["path/coef"][()].tobytes() == b["path/coef"][()].tobytes()
    expect_error(2, 3, "unsupported element type (integer, 64 bits)", "solve", "--data", data, "--x-dataset", "/Xi",
                 "--output", path("x.h5"))
    expect_error(2, 3, "unsupported element type (integer, 32 bits)", "solve", "--data", data, "--y-dataset", "/yi",
                 "--output", path("x.h5"))


def write_text(name, text, how=None):
    p = path(name)
    data = text.encode()
    with open(p, "wb") as f:
        f.write(gzip.compress(data) if how == "gz" else bz2.compress(data) if how == "bz2" else data)
    return p


@test
def scikit_learns_svmlight_files_plain_gzip_and_bzip2():
    """scikit-learn's own test files read as load_svmlight_file reads them (comments, tabs, explicit zeros, a line
    with no label as an empty label set), the same from gzip and bzip2 copies (known by content: the names end in
    .txt); its invalid files refused by line and column."""
    from sklearn.datasets import load_svmlight_file
    from sklearn.preprocessing import MultiLabelBinarizer
    for base in ["svmlight_classification.txt", "svmlight_multilabel.txt"]:
        multilabel = "multilabel" in base
        Xs, ys = load_svmlight_file(os.path.join(SKLEARN_DATA, base), multilabel=multilabel)
        if multilabel:
            binarizer = MultiLabelBinarizer()
            ys = binarizer.fit_transform(ys).astype(float)
        text = open(os.path.join(SKLEARN_DATA, base)).read()
        for how in [None, "gz", "bz2"]:
            src = write_text(f"{how}_{base}", text, how)  # the name says .txt whatever the content
            out = path(f"{how}_{base}.h5")
            _, printed, _ = cadmm(1, "convert", "--input", src, "--format", "libsvm", "--output", out)
            if how:
                assert "read through " + {"gz": "gzip", "bz2": "bzip2"}[how] in printed, printed
            with h5py.File(out) as f:
                g = f["X"]
                import scipy.sparse as sp
                X = sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))
                d = min(X.shape[1], Xs.shape[1])
                assert X.shape[0] == Xs.shape[0] and np.array_equal(X.toarray()[:, :d], Xs.toarray()[:, :d]), (base, how)
                assert X[:, d:].nnz == 0 and Xs[:, d:].nnz == 0
                y = f["y"][()]
                assert np.array_equal(y, ys), (base, how, y, ys)
                if multilabel:
                    assert np.array_equal(f["y_labels"][()], binarizer.classes_), f["y_labels"][()]
            if multilabel:
                assert "1 line(s) without a label" in printed, printed
    expect_error(1, 3, "line 1, column 1: label 'python' is not a number", "convert", "--input",
                 os.path.join(SKLEARN_DATA, "svmlight_invalid.txt"), "--format", "libsvm", "--output", path("inv.h5"))
    expect_error(1, 3, "line 1, column 3: index 2 is not above the previous 5", "convert", "--input",
                 os.path.join(SKLEARN_DATA, "svmlight_invalid_order.txt"), "--format", "libsvm", "--output",
                 path("inv.h5"))
    assert not os.path.exists(path("inv.h5"))
    # a regression file (real labels) with a line without a label is not a set of classes: refused, not exploded
    src = write_text("real_labels.txt", "1.5 1:2\n2.25 2:1\n 1:3\n")
    expect_error(1, 3, "label 1.500000 is not a whole number", "convert", "--input", src, "--format", "libsvm",
                 "--output", path("inv.h5"))


@test
def binary_and_unreadable_compressed_input_is_named_not_parsed():
    """A binary file, an HDF5 file, xz and zip archives given to convert: exit 3 saying what they are (not a
    'label' made of their bytes); a truncated gzip file says it is truncated."""
    rng = np.random.default_rng(5)
    cases = {"random.bin": (bytes(rng.integers(0, 256, 5000, dtype=np.uint8)), "is not text: it holds binary data"),
             "fake.xz": (b"\xfd7zXZ\x00\x00rest", "is xz-compressed: decompress it first"),
             "fake.zip": (b"PK\x03\x04rest of it", "is a zip archive: unzip it first"),
             "cut.gz": (gzip.compress("".join(f"1 1:{v}\n" for v in rng.random(5000)).encode())[:20000],
                        "ends inside its gzip stream (truncated)")}
    for name, (data, needle) in cases.items():
        with open(path(name), "wb") as f:
            f.write(data)
        err = expect_error(1, 3, needle, "convert", "--input", path(name), "--format", "libsvm", "--output",
                           path("bad.h5"))
        assert "label" not in err, err
        assert not os.path.exists(path("bad.h5"))
    X, y = problem(100, 3)
    h5 = path("already.h5")
    with h5py.File(h5, "w") as f:
        f["X"], f["y"] = X, y
    expect_error(1, 3, "is an HDF5 file already", "convert", "--input", h5, "--format", "csv", "--output", path("b.h5"))


@test
def csv_header_names_the_target_and_the_features_of_every_result():
    """A CSV with a header (a quoted name holding a comma, the target first): --target-column by name; the other
    names become /feature_names, which solve, path and cv results keep; predict refuses data whose names differ in
    order or set, naming the first difference; a name without --header is refused before reading."""
    X, y = problem(400, 4, seed=9)
    names = ["area, m2", "rooms", "age", "dist"]
    lines = ['price,"area, m2",rooms,age,dist'] + [",".join(repr(v) for v in [y[i], *X[i]]) for i in range(len(y))]
    src = write_text("houses.csv.gz", "\n".join(lines) + "\n", "gz")
    data = path("houses.h5")
    _, printed, _ = cadmm(1, "convert", "--input", src, "--format", "csv", "--header", "--target-column", "price",
                          "--output", data)
    assert "y = column 0 'price'" in printed, printed
    with h5py.File(data) as f:
        assert np.array_equal(f["X"][()], X) and np.array_equal(f["y"][()], y)
    assert names_of(data) == names
    for command, extra in [("solve", []), ("path", ["--n-lambda", "5"]), ("cv", ["--n-lambda", "5", "--folds", "3"])]:
        out = path(f"houses_{command}.h5")
        cadmm(2, command, "--data", data, "--output", out, "--quiet", *extra)
        assert names_of(out) == names, command
    model = path("houses_solve.h5")
    cadmm(2, "predict", "--model", model, "--data", data, "--output", path("p.h5"), "--quiet")
    swapped = path("houses_swapped.h5")
    with h5py.File(swapped, "w") as f:
        f["X"], f["y"] = X[:, [1, 0, 2, 3]], y
        f["feature_names"] = np.array([n.encode() for n in ["rooms", "area, m2", "age", "dist"]])
    expect_error(2, 3, "feature 0 is 'area, m2' in '" + model + "' but 'rooms' in the data (the same names in another "
                 "order", "predict", "--model", model, "--data", swapped, "--output", path("p2.h5"))
    other = path("houses_other.h5")
    with h5py.File(other, "w") as f:
        f["X"], f["y"] = X, y
        f["names"] = np.array([n.encode() for n in ["area, m2", "rooms", "age", "distance"]])
    expect_error(2, 3, "the data lack the model's features, 1 of them ('dist')", "predict", "--model", model, "--data",
                 other, "--feature-names-dataset", "/names", "--output", path("p3.h5"))
    assert not os.path.exists(path("p2.h5")) and not os.path.exists(path("p3.h5"))
    expect_error(1, 2, "--target-column price: a name needs --header", "convert", "--input", src, "--format", "csv",
                 "--target-column", "price", "--output", path("h.h5"))
    expect_error(1, 2, "no column is named 'cost' (the header names price, area, m2", "convert", "--input", src,
                 "--format", "csv", "--header", "--target-column", "cost", "--output", path("h.h5"))
    with h5py.File(other, "a") as f:
        f["short"] = np.array([b"a", b"b", b"c"])
    expect_error(2, 3, "holds 3 names; /X has 4 features", "solve", "--data", other, "--feature-names-dataset",
                 "/short", "--output", path("h.h5"))


@test
def csv_as_pandas_and_r_write_it():
    """pandas' to_csv keeps its index as a first column with an empty name (R's write.csv its row names, quoted):
    that column was read as a feature, fitted a coefficient of the row number; now it is left out, saying so. Quoted
    numbers (QUOTE_ALL) read as numbers; ';' separated fields are refused with a hint; --target-column none writes
    X alone, for predict."""
    import csv
    import pandas as pd
    X, y = problem(300, 4, seed=5)
    df = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    sk_coef, sk_intercept = sklearn_lasso(X, y)
    sources = {"index": dict(), "dates": dict(), "quoted": dict(index=False, quoting=csv.QUOTE_ALL)}
    for name, kwargs in sources.items():
        frame = df.set_axis(pd.date_range("2020-01-01", periods=300)) if name == "dates" else df
        frame.to_csv(path(f"pd_{name}.csv"), **kwargs)
    r_lines = ['"","a","b","c","d","y"'] + [f'"{i + 1}",' + ",".join(repr(v) for v in [*X[i], y[i]])
                                            for i in range(300)]
    write_text("r_rows.csv", "\n".join(r_lines) + "\n")
    for name in [*sources, "r_rows"]:
        src, data = path(f"pd_{name}.csv" if name in sources else "r_rows.csv"), path(f"csv_{name}.h5")
        _, printed, _ = cadmm(1, "convert", "--input", src, "--format", "csv", "--header", "--target-column", "y",
                              "--output", data)
        assert ("first column left out" in printed) == (name != "quoted"), (name, printed)
        with h5py.File(data) as f:
            assert np.array_equal(f["X"][()], X) and np.array_equal(f["y"][()], y), name
        assert names_of(data) == list("abcd"), name
        out = path(f"csv_{name}_fit.h5")
        cadmm(2, "solve", "--data", data, "--output", out, "--quiet")
        assert np.allclose(coef(out)[0], sk_coef, atol=1e-8) and abs(coef(out)[1] - sk_intercept) < 1e-8, name
    df.to_csv(path("pd_semi.csv"), index=False, sep=";")
    err = expect_error(1, 3, "separated by ';' or a tab", "convert", "--input", path("pd_semi.csv"), "--format", "csv",
                       "--header", "--output", path("x.h5"))
    assert "--skip-columns" not in err and "write.csv2" in err, err  # no column left out mends it
    df[list("abcd")].to_csv(path("pd_new.csv"), index=False)
    data = path("csv_new.h5")
    cadmm(1, "convert", "--input", path("pd_new.csv"), "--format", "csv", "--header", "--target-column", "none",
          "--output", data)
    with h5py.File(data) as f:
        assert list(f) == ["X", "feature_names"] and np.array_equal(f["X"][()], X)
    cadmm(2, "predict", "--model", path("csv_index_fit.h5"), "--data", data, "--output", path("csv_pred.h5"), "--quiet")
    with h5py.File(path("csv_pred.h5")) as f:
        assert np.allclose(f["prediction"][()], X @ sk_coef + sk_intercept, atol=1e-7)
    # A named index and a text column (found by a new-user trial): refused naming the column and the option that
    # leaves it out; --skip-columns by name or number gives X's columns alone.
    named = df.assign(city=["north", "south", "east"] * 100)[["a", "city", "b", "c", "d", "y"]]
    named.set_axis([f"row{i}" for i in range(300)]).rename_axis("id").to_csv(path("pd_named.csv"))
    expect_error(1, 3, "'row0' is not a finite number ('id'); leave a column that holds no numbers out with "
                 "--skip-columns id", "convert", "--input", path("pd_named.csv"), "--format", "csv", "--header",
                 "--target-column", "y", "--output", path("x.h5"))
    for skip in ("id,city", "0,2"):
        data = path("csv_named.h5")
        cadmm(1, "convert", "--input", path("pd_named.csv"), "--format", "csv", "--header", "--target-column", "y",
              "--skip-columns", skip, "--output", data)
        with h5py.File(data) as f:
            assert np.array_equal(f["X"][()], X) and np.array_equal(f["y"][()], y), skip
        assert names_of(data) == list("abcd"), skip
    write_text("wide_header.csv", "id,a,b,c,extra\nr1,1,2,3\nr2,4,5,6\n")  # the header names one column too many
    expect_error(1, 3, "the header names 5 columns, the first row has", "convert", "--input", path("wide_header.csv"),
                 "--format", "csv", "--header", "--skip-columns", "id,extra", "--output", path("x.h5"))
    expect_error(1, 2, "--skip-columns: column 6 is y", "convert", "--input", path("pd_named.csv"), "--format", "csv",
                 "--header", "--target-column", "y", "--skip-columns", "id,city,y", "--output", path("x.h5"))


@test
def pandas_tables_by_column_name():
    """pandas' to_hdf (fixed format: every float column, y included, in /df/block0_values, the names in
    /df/block0_items): X and y as the same dataset are refused (exit 2, naming --y-column); --y-column by name or
    number fits y against the other columns (scikit-learn's answer, the names kept); --x-columns chooses and orders
    them; predict takes the same table; the table format (a compound dataset) is refused saying what to write."""
    import pandas as pd
    X, y = problem(1500, 5, seed=4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d", "e"])
    df.insert(2, "price", y)
    fixed, table = path("pd_fixed.h5"), path("pd_table.h5")
    df.to_hdf(fixed, key="df", format="fixed")
    df.to_hdf(table, key="df", format="table")
    err = expect_error(2, 2, "--x-dataset and --y-dataset name the same data", "solve", "--data", fixed, "--x-dataset",
                       "/df/block0_values", "--y-dataset", "/df/block0_values", "--output", path("pd_r.h5"))
    assert "--y-column" in err, err
    sk_coef, sk_intercept = sklearn_lasso(X, y)
    for column in ["price", "2"]:
        out = path(f"pd_{column}.h5")
        cadmm(2, "solve", "--data", fixed, "--x-dataset", "/df/block0_values", "--y-column", column, "--output", out,
              "--quiet")
        got = coef(out)
        assert np.allclose(got[0], sk_coef, atol=1e-8) and abs(got[1] - sk_intercept) < 1e-8, column
        assert names_of(out) == ["a", "b", "c", "d", "e"]
    out = path("pd_ea.h5")
    cadmm(2, "solve", "--data", fixed, "--x-dataset", "/df/block0_values", "--y-column", "price", "--x-columns", "e,a",
          "--output", out, "--quiet")
    sub_coef, _ = sklearn_lasso(X[:, [4, 0]], y)
    assert np.allclose(coef(out)[0], sub_coef, atol=1e-8) and names_of(out) == ["e", "a"]
    _, printed, _ = cadmm(2, "predict", "--model", path("pd_price.h5"), "--data", fixed, "--x-dataset",
                          "/df/block0_values", "--y-column", "price", "--output", path("pd_pred.h5"))
    with h5py.File(path("pd_pred.h5")) as f:
        pred = f["prediction"][()]
        # counts and indices are integers (docs/spec.md section 5)
        assert f.attrs["n_rows"] == 1500 and np.asarray(f.attrs["n_rows"]).dtype.kind == "i", dict(f.attrs)
        assert np.asarray(f.attrs["lambda_index"]).dtype.kind == "i", dict(f.attrs)
    assert np.allclose(pred, X @ sk_coef + sk_intercept, atol=1e-7) and "R^2" in printed, printed
    expect_error(2, 2, "--y-column: dataset '/df/block0_values' in '" + fixed + "' has no column 'cost'", "solve",
                 "--data", fixed, "--x-dataset", "/df/block0_values", "--y-column", "cost", "--output", path("x.h5"))
    expect_error(2, 3, "is a compound (table) dataset, as pandas' to_hdf(format='table')", "solve", "--data", table,
                 "--x-dataset", "/df/table", "--y-column", "price", "--output", path("x.h5"))
    expect_error(2, 2, "--y-column and --y-dataset: give one", "solve", "--data", fixed, "--x-dataset",
                 "/df/block0_values", "--y-column", "price", "--y-dataset", "/y", "--output", path("x.h5"))
    # A frame of several dtypes keeps each in its own block: X as the float block alone left the integer column out
    # without a word (a new-user trial's house prices lost 'rooms'). Refused naming it, unless --x-columns chose X;
    # a text column is no feature and passes.
    mixed = path("pd_mixed.h5")
    df_mixed = df.assign(rooms=np.arange(1500) % 4 + 1, city="x")
    df_mixed.to_hdf(mixed, key="df", format="fixed")
    for ranks, command in ((2, "solve"), (1, "predict")):
        args = ["--model", path("pd_price.h5")] if command == "predict" else []
        expect_error(ranks, 3, "columns would be left out of X: rooms (/df/block1_values, integer)", command, "--data",
                     mixed, "--x-dataset", "/df/block0_values", "--y-column", "price", *args, "--output", path("x.h5"))
    expect_error(2, 2, "--y-column rooms: that column is in /df/block1_values (integer), another block", "solve",
                 "--data", mixed, "--x-dataset", "/df/block0_values", "--y-column", "rooms", "--output", path("x.h5"))
    cadmm(2, "solve", "--data", mixed, "--x-dataset", "/df/block0_values", "--y-column", "price", "--x-columns",
          "a,b,c,d,e", "--output", out, "--quiet")
    assert np.allclose(coef(out)[0], sk_coef, atol=1e-8)
    df.assign(city="x").to_hdf(mixed, key="df", format="fixed")
    cadmm(2, "solve", "--data", mixed, "--x-dataset", "/df/block0_values", "--y-column", "price", "--output", out,
          "--quiet")
    assert np.allclose(coef(out)[0], sk_coef, atol=1e-8)


@test
def a_wide_compressed_table_with_compressed_names():
    """A table of 400 columns, values and names both LZF-compressed (pandas' complib does the same): two columns
    chosen by name as X in the order given, y by name; the names decode (a filter on a string dataset is not taken
    for a missing plugin), and the answer is scikit-learn's on those two columns."""
    rng = np.random.default_rng(8)
    T = rng.standard_normal((3000, 400))
    T[:, 399] = 1.5 * T[:, 17] - T[:, 5] + 0.2 * rng.standard_normal(3000)
    names = [f"c{j}" for j in range(399)] + ["target"]
    p = path("wide_table.h5")
    with h5py.File(p, "w") as f:
        f.create_dataset("t/block0_values", data=T, chunks=(256, 400), compression="lzf")
        f.create_dataset("t/block0_items", data=np.array([n.encode() for n in names]), chunks=(400,), compression="lzf")
    out = path("wide_r.h5")
    cadmm(2, "solve", "--data", p, "--x-dataset", "/t/block0_values", "--y-column", "target", "--x-columns",
          "c17,c5", "--read-buffer-mb", "1", "--output", out, "--quiet")
    sk_coef, sk_intercept = sklearn_lasso(T[:, [17, 5]], T[:, 399])
    got = coef(out)
    assert np.allclose(got[0], sk_coef, atol=1e-8) and abs(got[1] - sk_intercept) < 1e-8, (got, sk_coef)
    assert names_of(out) == ["c17", "c5"]


@test
def a_matrix_written_from_r_reads_by_columns():
    """A matrix written by R's hdf5r is stored (d, n): refused by default with the option that reads it; with
    --x-layout features-by-rows each rank reads its columns of the stored array, and the answer equals the row-major
    copy's bit for bit at 2 ranks, and scikit-learn's; R's column names come along."""
    script = path("write.R")
    with open(script, "w") as f:
        f.write("""
library(hdf5r)
set.seed(1); n <- 1200; d <- 6
X <- matrix(rnorm(n * d), n, d); colnames(X) <- paste0("g", 1:d)
y <- as.vector(X %*% c(1, 0, 0, -2, 0, 0.5) + 0.3 * rnorm(n))
f <- H5File$new(commandArgs(TRUE)[1], mode = "w")
Y <- cbind(y, as.vector(X %*% c(0, 1, 0, 0, 0, 0) + 0.3 * rnorm(n)))
f[["X"]] <- X; f[["y"]] <- y; f[["Y"]] <- Y; f[["feature_names"]] <- colnames(X)
f[["O"]] <- cbind(seq(0, 1, length.out = n), rep(0.5, n)); f[["O1"]] <- cbind(seq(0, 1, length.out = n))
T <- as.matrix(data.frame(y = y, X)); f[["T"]] <- T; f[["T_names"]] <- colnames(T); f$close_all()
""")
    import subprocess
    data = path("from_r.h5")
    subprocess.run(["Rscript", script, data], check=True, timeout=120)
    with h5py.File(data) as f:
        X, y = f["X"][()].T, f["y"][()]
        assert f["X"].shape == (6, 1200)
    expect_error(2, 3, "X looks stored as (features, rows), as R, Fortran and MATLAB write a matrix: add --x-layout "
                 "features-by-rows", "solve", "--data", data, "--output", path("r_bad.h5"))
    cadmm(2, "solve", "--data", data, "--x-layout", "features-by-rows", "--output", path("r_r.h5"), "--quiet")
    copy = path("row_major.h5")
    with h5py.File(copy, "w") as f:
        f["X"], f["y"] = X, y
    cadmm(2, "solve", "--data", copy, "--output", path("r_copy.h5"), "--quiet")
    a, b = coef(path("r_r.h5")), coef(path("r_copy.h5"))
    assert a[0].tobytes() == b[0].tobytes() and a[1] == b[1]
    for spelling in ("rows", "rows-by-features"):  # the SPEC's name of the default, and the one --help used to give
        cadmm(2, "solve", "--data", copy, "--x-layout", spelling, "--output", path("r_rows.h5"), "--quiet")
        c = coef(path("r_rows.h5"))
        assert c[0].tobytes() == b[0].tobytes() and c[1] == b[1], spelling
    sk_coef, sk_intercept = sklearn_lasso(X, y)
    assert np.allclose(a[0], sk_coef, atol=1e-8) and abs(a[1] - sk_intercept) < 1e-8
    assert names_of(path("r_r.h5")) == [f"g{j}" for j in range(1, 7)]
    # R's as.matrix of a data frame holding y beside X, stored (7, n): --y-column with the same layout reads it, and
    # the fit equals X and y's bit for bit (it was refused: "take y from its own dataset"). Without the layout the
    # names' count (7 for 1,200 stored columns) names the option.
    table = ["--data", data, "--x-dataset", "/T", "--y-column", "y", "--feature-names-dataset", "/T_names"]
    cadmm(2, "solve", *table, "--x-layout", "features-by-rows", "--output", path("r_t.h5"), "--quiet")
    t = coef(path("r_t.h5"))
    assert t[0].tobytes() == a[0].tobytes() and t[1] == a[1]
    assert names_of(path("r_t.h5")) == [f"g{j}" for j in range(1, 7)]
    expect_error(2, 3, "add --x-layout features-by-rows", "solve", *table, "--output", path("x.h5"))
    # Names of X's columns alone (colnames(X), 6 for the table's 7 columns), found as /feature_names or named by
    # --feature-names-dataset, name the features with y's column given by number (they were left out, or refused as
    # one short); y by a name is refused saying why.
    for names in ([], ["--feature-names-dataset", "/feature_names"]):
        cadmm(2, "solve", "--data", data, "--x-dataset", "/T", "--y-column", 0, "--x-layout", "features-by-rows",
              *names, "--output", path("r_tx.h5"), "--quiet")
        assert coef(path("r_tx.h5"))[0].tobytes() == a[0].tobytes(), names
        assert names_of(path("r_tx.h5")) == [f"g{j}" for j in range(1, 7)], names
    expect_error(2, 2, "holds 6 names for the table's 7 columns, X's alone (y's has none), so give y's column by its "
                 "number", "solve", "--data", data, "--x-dataset", "/T", "--y-column", "y", "--x-layout",
                 "features-by-rows", "--output", path("x.h5"))
    cadmm(2, "predict", "--model", path("r_r.h5"), "--data", data, "--x-layout", "features-by-rows", "--output",
          path("r_pred.h5"), "--quiet")
    with h5py.File(path("r_pred.h5")) as f:
        assert np.allclose(f["prediction"][()], X @ a[0] + a[1], atol=1e-10)

    def same_fit_as_row_major(name, stored, *args):
        """Dataset `name` as R stored it and its transpose in the row-major copy (1-D for one column): the two fits
        are equal bit for bit; returns the first."""
        with h5py.File(data) as f:
            assert f[name].shape == stored, (name, f[name].shape)
            value = f[name][()].T
        with h5py.File(copy, "a") as f:
            f[name] = value[:, 0] if value.shape[1] == 1 else value
        fits = []
        for source, extra in ((data, ["--x-layout", "features-by-rows"]), (copy, [])):
            out = path(f"r_{name[1:]}_{len(fits)}.h5")
            cadmm(2, "solve", "--data", source, *args, *extra, "--output", out, "--quiet")
            fits.append(coef(out))
        (a, ai), (b, bi) = fits
        assert a.tobytes() == b.tobytes() and np.asarray(ai).tobytes() == np.asarray(bi).tobytes(), name
        return fits[0]

    # R's n x 2 target matrix is stored (2, n) too: read by its columns with X's layout (it was "X has 1200 rows but
    # /Y has 2", found by a new-user trial); R's offsets alike, n x 2 and n x 1 (cbind), which were refused.
    fit_Y = same_fit_as_row_major("/Y", (2, 1200), "--y-dataset", "/Y")
    assert fit_Y[0].shape == (6, 2), fit_Y[0].shape
    fit_O = same_fit_as_row_major("/O", (2, 1200), "--y-dataset", "/Y", "--offset-dataset", "/O")
    assert not np.allclose(fit_O[1], fit_Y[1])  # the offset moved the intercepts
    same_fit_as_row_major("/O1", (1, 1200), "--offset-dataset", "/O1")

    # Where the shape cannot tell (a square X, found by an R user's trial: t(X) was fitted without a word), a warning
    # names the option; with it, or with the row-major copy's names, none.
    Xs = np.random.default_rng(2).standard_normal((30, 30))
    square = write("square.h5", Xs, Xs[:, 0])
    _, _, err = cadmm(1, "solve", "--data", square, "--output", path("sq.h5"), "--quiet")
    assert "is square (30 x 30)" in err and "--x-layout features-by-rows" in err, err
    _, _, err = cadmm(1, "predict", "--model", path("sq.h5"), "--data", square, "--output", path("sq_p.h5"), "--quiet")
    assert "is square (30 x 30)" in err, err
    for layout in ("features-by-rows", "rows"):  # either way, given, it is known
        _, _, err = cadmm(1, "solve", "--data", square, "--x-layout", layout, "--output", path("sq.h5"), "--quiet")
        assert "warning" not in err, (layout, err)
    # R's one-column y matrix is stored (1, n): the refusal names the layout option as for X.
    with h5py.File(data) as f, h5py.File(path("r_col_y.h5"), "w") as g:
        g["X"], g["y"] = f["X"][()], f["y"][()][None, :]
    expect_error(1, 3, "add --x-layout features-by-rows", "solve", "--data", path("r_col_y.h5"), "--output",
                 path("x.h5"))


@test
def datasets_of_another_file_as_file_colon_path():
    """Fold labels, weights, offsets, penalty factors, bounds, names or y kept in a file of their own (an R session's
    foldid, a pandas export beside X) were refused: every dataset option read the --data file. Each now takes
    FILE:PATH too, and gives the answer the same datasets give inside the data file, bit for bit, at 1 and 2 ranks
    (the in-file answers are checked against glmnet and scikit-learn elsewhere); X itself stays --data's."""
    rng = np.random.default_rng(3)
    n, d = 400, 30
    X = rng.standard_normal((n, d))
    y = X[:, :4] @ [1.0, -2.0, 0.5, 0.8] + rng.standard_normal(n)
    extra = {"fold": rng.integers(1, 6, n).astype(float), "w": rng.uniform(0.5, 2, n),
             "off": 0.1 * rng.standard_normal(n), "pf": np.r_[0.0, np.ones(d - 1)], "lo": np.r_[-np.inf, -0.3 * np.ones(d - 1)],
             "names": np.array([f"gene{j}".encode() for j in range(d)])}
    inside = write("in_file.h5", X, y, **extra)
    alone = write("x_alone.h5", X, np.zeros(n))  # a y that must not be read
    side = path("side file.h5")  # a space in the name, as a user's folders have
    with h5py.File(side, "w") as f:
        g = f.create_group("meta")
        for k, v in {**extra, "y": y}.items():
            g[k] = v
    options = ["fold-dataset", "weights-dataset", "offset-dataset", "penalty-factor-dataset", "lower-limits",
               "feature-names-dataset"]
    datasets = ["fold", "w", "off", "pf", "lo", "names"]
    for ranks in (1, 2):
        outs = []
        for data, where in ((inside, lambda k: "/" + k), (alone, lambda k: side + ":/meta/" + k)):
            out = path(f"cv_sides_{len(outs)}.h5")
            args = [a for o, k in zip(options, datasets) for a in ("--" + o, where(k))]
            y_arg = [] if data == inside else ["--y-dataset", where("y")]
            cadmm(ranks, "cv", "--data", data, *args, *y_arg, "--output", out, "--quiet")
            outs.append(out)
        with h5py.File(outs[0]) as a, h5py.File(outs[1]) as b:
            for key in ("coef", "intercept", "path/coef", "cv/mse", "cv/fold_rows"):
                assert np.array_equal(a[key][()], b[key][()]), (ranks, key)
            assert list(a["feature_names"][()]) == list(b["feature_names"][()]) == list(extra["names"])
            assert a["coef"][0] != 0 and (a["coef"][()] >= extra["lo"] - 1e-12).all()  # unpenalized, bounded
    expect_error(2, 3, "'nowhere.h5' does not exist", "cv", "--data", alone, "--fold-dataset", "nowhere.h5:/fold")
    expect_error(2, 3, "dataset '/meta/nothing' in '" + side + "' does not exist", "solve", "--data", alone,
                 "--y-dataset", side + ":/meta/nothing")
    expect_error(1, 2, "X is read from the --data file", "solve", "--data", alone, "--x-dataset", inside + ":/X")

@test
def features_excluded_by_their_names():
    """An AnnData or pandas user knows features by name (a gene, a column); --exclude took 0-based numbers only, and a
    name (MT-CO1, a range-looking HLA-A among them) was refused as 'not a feature number'. Names now give the same fit
    as the numbers they stand for, bit for bit, mixed with numbers and ranges, after --x-columns' selection, at 1 and
    2 ranks (exclusion by number is checked against glmnet in check_terms.py); a name the data lacks is refused."""
    rng = np.random.default_rng(5)
    n, d = 300, 12
    X = rng.standard_normal((n, d))
    y = X[:, :5] @ [1.0, -2.0, 0.5, 0.8, 1.5] + rng.standard_normal(n)
    names = ["g0", "HLA-A", "MT-CO1", "3", "g 4"] + [f"g{j}" for j in range(5, d)]
    data = write("named.h5", X, y, feature_names=np.array([s.encode() for s in names]))
    for ranks in (1, 2):
        outs = []
        for exclude in ("1,2,3,7-8", "HLA-A, MT-CO1 ,3,7-8", "g 4,HLA-A,MT-CO1,3,g7,g8"):
            out = path(f"named_{len(outs)}.h5")
            cadmm(ranks, "path", "--data", data, "--exclude", exclude, "--n-lambda", 20, "--output", out, "--quiet")
            outs.append(out)
        with h5py.File(outs[0]) as a, h5py.File(outs[1]) as b, h5py.File(outs[2]) as c:
            assert np.array_equal(a["path/coef"][()], b["path/coef"][()]), ranks
            assert (a["path/coef"][()][:, [1, 2, 3, 7, 8]] == 0).all() and (a["path/coef"][()][-1, [0, 4]] != 0).all()
            assert (c["path/coef"][()][:, [1, 2, 3, 4, 7, 8]] == 0).all() and (c["path/coef"][()][-1, 0] != 0)
    expect_error(1, 2, "'MT-ND1' is neither a 0-based number, a J-K range nor a feature's name in /feature_names "
                 "(12 names: g0, HLA-A,", "solve", "--data", data, "--exclude", "1,MT-ND1")
    expect_error(1, 2, "names match by case: 'MT-CO1'?", "solve", "--data", data, "--exclude", "mt-co1")
    for empty in ("1,,2", "1,2,", ""):  # an empty item anywhere is refused, not dropped
        expect_error(1, 2, "an empty item", "solve", "--data", data, "--exclude", empty)
    plain = write("unnamed.h5", X, y)
    expect_error(1, 2, "'HLA-A' is not a feature number", "solve", "--data", plain, "--exclude", "HLA-A")
    # A name given to two features excludes both; blanks around a stored name do not count; a number that is also
    # another feature's name is a position, and the warning says which feature bears the name.
    odd = ["dup", "dup", " padded ", "7"] + [f"h{j}" for j in range(4, d)]
    data = write("named_odd.h5", X, y, feature_names=np.array([s.encode() for s in odd]))
    out = path("named_odd.h5.out")
    _, _, err = cadmm(1, "solve", "--data", data, "--exclude", "dup,padded,7", "--lambda-ratio", 0.01, "--output", out)
    with h5py.File(out) as f:
        coef = f["coef"][()].ravel()
    assert (coef[[0, 1, 2, 7]] == 0).all() and coef[3] != 0 and coef[4] != 0, coef
    assert "feature 3 is named '7' (numbers are positions): give 3 to exclude that one" in err, err


if __name__ == "__main__":
    main()
