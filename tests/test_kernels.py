"""Tests of the compiled kernels (kmsmote._kmeans, _neighbors, _generate),
dense and CSR side by side.

Each dense kernel is checked against an independent reference
(scikit-learn, SciPy or a NumPy formula), for float32 and float64, and for
the properties the C core promises: identical results for any thread count
and SIMD variant, read-only inputs accepted, precise errors before any work.

Each CSR kernel (the ``csr_*`` functions of the same modules) must give bit
for bit what the dense kernel gives on ``X.toarray()`` (same k-means++ rows,
Lloyd centres, labels, inertia and iteration count, same neighbours,
distances and pair sums, and generated rows equal to ``csr_matrix`` of the
dense output), for float32 and float64 values, int32 and int64 indices, 1
and 2 threads, without densifying, copying or modifying the input.
"""

import importlib.util
import os
import platform
import signal
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist, pdist
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

import kmsmote
from kmsmote import _generate, _kmeans, _neighbors, _threads

DTYPES = [np.float32, np.float64]
ITYPES = [np.int32, np.int64]
THREADS = [1, 2]
STORAGES = ["dense", "csr"]


def _readonly(a):
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _bits(a):
    """View an array's bytes as unsigned ints, for bit-for-bit comparisons."""
    a = np.ascontiguousarray(a)
    return a.view({4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


@pytest.fixture
def rng():
    return np.random.default_rng(20240607)


def _as(X, dtype, itype):
    """X (CSR) with the given value and index types, arrays read-only."""
    X = sp.csr_matrix(X, dtype=dtype, copy=True)
    X.indices = X.indices.astype(itype)
    X.indptr = X.indptr.astype(itype)
    for a in (X.data, X.indices, X.indptr):
        a.setflags(write=False)
    return X


def _random_csr(rng, n, d, density):
    X = sp.random(n, d, density=density, format="csr", random_state=rng)
    # Signed values over several magnitudes, so that every rounding matters.
    X.data = rng.normal(size=X.nnz) * 10.0 ** rng.uniform(-2, 2, size=X.nnz)
    X = X.tolil()
    X[rng.choice(n, size=n // 10, replace=False)] = 0  # rows with no entries
    return X.tocsr()


def _one_hot(rng, n):
    """Five categorical features, one-hot encoded: many duplicate rows."""
    levels = [2, 3, 5, 8, 13]
    cols = []
    offset = 0
    for lv in levels:
        cols.append(offset + rng.integers(0, lv, size=n))
        offset += lv
    indices = np.stack(cols, axis=1).ravel()
    indptr = np.arange(0, 5 * n + 1, 5)
    return sp.csr_matrix((np.ones(5 * n), indices, indptr), shape=(n, offset))


def _tfidf(rng, n, d):
    """Power-law word frequencies, log term counts, L2-normalised rows."""
    lengths = rng.integers(0, 40, size=n)
    p = 1.0 / np.arange(1, d + 1) ** 1.1
    p /= p.sum()
    rows, cols = [], []
    for i, ln in enumerate(lengths):
        words = np.unique(rng.choice(d, size=ln, p=p))
        rows.append(np.full(words.size, i))
        cols.append(words)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    tf = 1.0 + np.log(rng.integers(1, 6, size=rows.size))
    idf = np.log(n / (1.0 + np.bincount(cols, minlength=d)))[cols] + 1.0
    X = sp.csr_matrix((tf * idf, (rows, cols)), shape=(n, d))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ X)


def _matrix(name):
    # A stable seed per name (str hashes change from run to run).
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name == "empty":
        return sp.csr_matrix((1300, 40))
    if name == "sparse-1%":
        return _random_csr(rng, 2600, 300, 0.01)
    if name == "sparse-10%":
        return _random_csr(rng, 2200, 60, 0.1)
    if name == "dense-60%":
        return _random_csr(rng, 1200, 25, 0.6)
    if name == "one-hot":
        return _one_hot(rng, 2500)
    if name == "tfidf":
        return _tfidf(rng, 2000, 1500)
    raise KeyError(name)


MATRICES = ["empty", "sparse-1%", "sparse-10%", "dense-60%", "one-hot", "tfidf"]
_CACHE = {}


def matrix(name):
    if name not in _CACHE:
        _CACHE[name] = _matrix(name)
    return _CACHE[name]


def _snapshot(X):
    return [a.copy() for a in (X.data, X.indices, X.indptr)]


def _assert_unchanged(X, snap):
    for a, b in zip((X.data, X.indices, X.indptr), snap):
        assert a.dtype == b.dtype
        assert_array_equal(_bits(a) if a.dtype.kind == "f" else a,
                           _bits(b) if b.dtype.kind == "f" else b)


# --------------------------------------------------------------------------
# threads module


def test_threads_introspection():
    assert isinstance(_threads.openmp_enabled(), bool)
    n = _threads.max_threads()
    assert isinstance(n, int) and n >= 1
    if not _threads.openmp_enabled():
        assert n == 1


# --------------------------------------------------------------------------
# k-means, dense


def _exact_sqdist(X, C):
    X = X.astype(np.float64)
    C = C.astype(np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def _expansion_sqdist(X, C):
    """The k-means kernels' distance, operation for operation.

    max(0, (||x||^2 - 2 x.c) + ||c||^2), every sum taken over the features
    in ascending order (vectorised across rows and centres only).
    """
    X = X.astype(np.float64)
    C = C.astype(np.float64)
    xx = np.zeros(X.shape[0])
    cc = np.zeros(C.shape[0])
    dot = np.zeros((X.shape[0], C.shape[0]))
    for f in range(X.shape[1]):
        xx = xx + X[:, f] * X[:, f]
        cc = cc + C[:, f] * C[:, f]
        dot = dot + X[:, f, None] * C[None, :, f]
    t = xx[:, None] - 2.0 * dot
    t = t + cc[None, :]
    return np.where(t < 0.0, 0.0, t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_assign_matches_brute_force(rng, dtype):
    X = rng.normal(size=(3000, 7)).astype(dtype)  # several chunks of 1024
    C = rng.normal(size=(13, 7)).astype(dtype)
    C[9] = C[4]  # a duplicate centre: ties go to the lowest index
    labels, dist2 = _kmeans.assign(_readonly(X), _readonly(C), 2)
    assert labels.dtype == np.int64 and dist2.dtype == np.float64
    # Bit for bit the documented expansion, first minimum on ties.
    D = _expansion_sqdist(X, C)
    assert_array_equal(labels, D.argmin(axis=1))
    assert_array_equal(_bits(dist2), _bits(D.min(axis=1)))
    assert not np.any(labels == 9)
    # And close to the exact distances (the expansion loses digits only
    # relative to ||x||^2 + ||c||^2).
    E = _exact_sqdist(X, C)
    assert_allclose(dist2, E.min(axis=1), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_assign_expansion_far_from_the_origin(rng, dtype):
    # Offset data: ||x||^2 >> d2, the regime where the expansion cancels.
    # The kernel must still be the documented formula bit for bit, never
    # negative, and 0 for a centre equal to a row.
    X = (rng.normal(size=(1500, 5)) + 1e3).astype(dtype)
    C = X[[3, 700, 1400]].copy()
    labels, dist2 = _kmeans.assign(X, C, 2)
    D = _expansion_sqdist(X, C)
    assert_array_equal(labels, D.argmin(axis=1))
    assert_array_equal(_bits(dist2), _bits(D.min(axis=1)))
    assert np.all(dist2 >= 0.0)
    assert dist2[3] == dist2[700] == dist2[1400] == 0.0
    assert_array_equal(labels[[3, 700, 1400]], [0, 1, 2])

    labels0, dist0 = _kmeans.assign(X[:0], C, 1)
    assert labels0.shape == (0,) and dist0.shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_is_consistent_and_as_good_as_sklearn(rng, dtype):
    X, _ = make_blobs(n_samples=4000, centers=6, n_features=5, cluster_std=2.0,
                      random_state=0)
    X = X.astype(dtype)
    C0 = X[rng.choice(len(X), size=6, replace=False)].copy()
    C0_ro = _readonly(C0)
    tol = 1e-4 * np.var(X.astype(np.float64), axis=0).mean()
    centers, labels, inertia, n_iter = _kmeans.lloyd(_readonly(X), C0_ro, 300, tol, 1)

    assert_array_equal(C0_ro, C0)  # the input centres are not modified
    assert centers.dtype == dtype and centers.shape == (6, 5)
    assert labels.dtype == np.int64 and labels.shape == (4000,)
    assert isinstance(inertia, float) and isinstance(n_iter, int)
    assert 1 <= n_iter <= 300
    assert_array_equal(labels, _kmeans.assign(X, centers, 1)[0])
    D = _expansion_sqdist(X, centers)
    assert_array_equal(labels, D.argmin(axis=1))
    assert_allclose(inertia, D[np.arange(len(X)), labels].sum(), rtol=1e-12)

    km = KMeans(n_clusters=6, init=C0.astype(np.float64), n_init=1, algorithm="lloyd",
                max_iter=300, tol=1e-4).fit(X.astype(np.float64))
    assert inertia <= km.inertia_ * (1 + (1e-5 if dtype == np.float32 else 1e-9))


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_relocates_empty_clusters(rng, dtype):
    X = rng.normal(size=(500, 3)).astype(dtype)
    C0 = X[:4].copy()
    C0[1] = 1e6  # nobody is closest to this centre
    C0[3] = -1e6
    centers, labels, inertia, n_iter = _kmeans.lloyd(X, C0, 50, 0.0, 2)
    assert np.all(np.isfinite(centers))
    assert np.all(np.bincount(labels, minlength=4) > 0)
    assert_array_equal(labels, _kmeans.assign(X, centers, 1)[0])


def test_lloyd_zero_iterations_and_errors(rng):
    X = rng.normal(size=(100, 4))
    C0 = X[:3].copy()
    centers, labels, inertia, n_iter = _kmeans.lloyd(X, C0, 0, 1e-4, 1)
    assert n_iter == 0
    assert_array_equal(centers, C0)
    labels_ref, dist_ref = _kmeans.assign(X, C0, 1)
    assert_array_equal(labels, labels_ref)
    assert_allclose(inertia, dist_ref.sum(), rtol=1e-12)

    with pytest.raises(ValueError, match="n_clusters=101"):
        _kmeans.lloyd(X, np.zeros((101, 4)), 10, 0.0, 1)
    with pytest.raises(ValueError, match="centers has 3 features"):
        _kmeans.lloyd(X, C0[:, :3].copy(), 10, 0.0, 1)
    with pytest.raises(ValueError, match="max_iter"):
        _kmeans.lloyd(X, C0, -1, 0.0, 1)
    with pytest.raises(ValueError, match="tol"):
        _kmeans.lloyd(X, C0, 10, np.nan, 1)
    with pytest.raises((TypeError, ValueError)):  # dtypes of X and centres differ
        _kmeans.lloyd(X, C0.astype(np.float32), 10, 0.0, 1)
    C_nan = C0.copy()
    C_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        _kmeans.lloyd(X, C_nan, 10, 0.0, 1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        _kmeans.assign(X, C_nan, 1)
    X_inf = X.copy()
    X_inf[50, 2] = -np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _kmeans.lloyd(X_inf, C0, 10, 0.0, 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_deterministic_rows_of_X(rng, dtype):
    X = rng.normal(size=(2500, 4)).astype(dtype)
    a = _kmeans.kmeans_plusplus(_readonly(X), 9, 4, 123, 1)
    b = _kmeans.kmeans_plusplus(X, 9, 4, 123, 2)
    c = _kmeans.kmeans_plusplus(X, 9, 4, 124, 1)
    assert a.dtype == dtype and a.shape == (9, 4)
    assert_array_equal(_bits(a), _bits(b))
    assert not np.array_equal(a, c)
    # Every centre is a row of X, no row twice.
    idx = [np.flatnonzero((X == ctr).all(axis=1)) for ctr in a]
    assert all(len(i) == 1 for i in idx)
    assert len({int(i[0]) for i in idx}) == 9

    everything = _kmeans.kmeans_plusplus(X[:7], 7, None, 5, 1)
    assert_array_equal(np.sort(everything, axis=0), np.sort(X[:7], axis=0))


def test_kmeans_plusplus_finds_separated_blobs():
    X, y = make_blobs(n_samples=3000, centers=5, cluster_std=0.3, center_box=(-50, 50),
                      random_state=3)
    for seed in range(5):
        centers = _kmeans.kmeans_plusplus(X, 5, None, seed, 1)
        rows = np.argmin(cdist(centers, X), axis=1)  # centres are rows of X
        assert sorted(y[rows].tolist()) == [0, 1, 2, 3, 4]


def test_kmeans_plusplus_errors(rng):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="n_clusters=0"):
        _kmeans.kmeans_plusplus(X, 0, None, 0, 1)
    with pytest.raises(ValueError, match="n_clusters=11"):
        _kmeans.kmeans_plusplus(X, 11, None, 0, 1)
    with pytest.raises(ValueError, match="n_local_trials=0"):
        _kmeans.kmeans_plusplus(X, 2, 0, 0, 1)
    with pytest.raises(ValueError, match="seed"):
        _kmeans.kmeans_plusplus(X, 2, None, -1, 1)
    with pytest.raises(ValueError, match="at least one feature"):
        _kmeans.kmeans_plusplus(np.empty((10, 0)), 2, None, 0, 1)


# --------------------------------------------------------------------------
# k-means, CSR


@pytest.mark.parametrize("name", MATRICES)
@pytest.mark.parametrize("itype", ITYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_equals_dense(name, dtype, itype):
    X = _as(matrix(name), dtype, itype)
    D = X.toarray()
    snap = _snapshot(X)
    k = 7
    # The dense kernels give the same for any thread count (test_kernels.py).
    c_de = _kmeans.kmeans_plusplus(D, k, None, 11, 2)
    r_de = _kmeans.lloyd(D, c_de, 25, 0.0, 2)
    l_de, d_de = _kmeans.assign(D, r_de[0], 2)
    for nt in THREADS:
        c_sp = _kmeans.csr_kmeans_plusplus(X, k, None, 11, nt)
        assert c_sp.dtype == dtype and c_sp.shape == (k, X.shape[1])
        assert_array_equal(_bits(c_sp), _bits(c_de))

        r_sp = _kmeans.csr_lloyd(X, c_sp, 25, 0.0, nt)
        assert_array_equal(_bits(r_sp[0]), _bits(r_de[0]))  # centres
        assert_array_equal(r_sp[1], r_de[1])  # labels
        assert r_sp[2] == r_de[2] and r_sp[3] == r_de[3]  # inertia, n_iter

        l_sp, d_sp = _kmeans.csr_assign(X, r_sp[0], nt)
        assert_array_equal(l_sp, l_de)
        assert_array_equal(_bits(d_sp), _bits(d_de))
    _assert_unchanged(X, snap)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_relocation_and_tol_equal_dense(dtype):
    X = _as(matrix("sparse-10%"), dtype, np.int32)
    D = X.toarray()
    C0 = D[:5].copy()
    C0[1] = 1e4  # empty at first: relocated to the farthest row
    C0[3] = -1e4
    for tol, max_iter in [(0.0, 30), (1e-3, 300), (0.0, 0)]:
        a = _kmeans.csr_lloyd(X, C0, max_iter, tol, 2)
        b = _kmeans.lloyd(D, C0, max_iter, tol, 1)
        assert_array_equal(_bits(a[0]), _bits(b[0]))
        assert_array_equal(a[1], b[1])
        assert a[2:] == b[2:]
    assert np.all(np.bincount(a[1], minlength=5) > 0) or max_iter == 0


def test_kmeans_large_chunks_and_csc_input():
    # More rows than two chunks of 1024, wide rows; CSC is converted.
    rng = np.random.default_rng(5)
    X = _random_csr(rng, 5000, 2000, 0.004)
    D = X.toarray()
    c = _kmeans.csr_kmeans_plusplus(X.tocsc(), 20, 3, 1, 2)
    assert_array_equal(_bits(c), _bits(_kmeans.kmeans_plusplus(D, 20, 3, 1, 1)))
    a = _kmeans.csr_lloyd(X, c, 15, 0.0, 2)
    b = _kmeans.lloyd(D, c, 15, 0.0, 2)
    assert_array_equal(_bits(a[0]), _bits(b[0]))
    assert_array_equal(a[1], b[1])
    assert a[2:] == b[2:]


def test_kmeans_non_canonical_input_is_fixed_on_a_copy():
    rng = np.random.default_rng(3)
    X = _random_csr(rng, 1500, 80, 0.05)
    D = X.toarray()
    # Reverse every row's entries and split each first entry in two halves
    # (duplicates): the same matrix, not canonical.
    data, indices, indptr = [], [], [0]
    for i in range(X.shape[0]):
        s, e = X.indptr[i], X.indptr[i + 1]
        vals, cols = X.data[s:e][::-1], X.indices[s:e][::-1]
        if e > s:
            vals = np.concatenate([[vals[0] / 2], vals[1:], [vals[0] / 2]])
            cols = np.concatenate([[cols[0]], cols[1:], [cols[0]]])
        data.append(vals)
        indices.append(cols)
        indptr.append(indptr[-1] + len(cols))
    Y = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)),
                      shape=X.shape)
    assert not Y.has_canonical_format
    D = Y.toarray()  # the halves add back up exactly (a power-of-two split)
    snap = _snapshot(Y)
    c = _kmeans.csr_kmeans_plusplus(Y, 6, None, 0, 2)
    assert_array_equal(_bits(c), _bits(_kmeans.kmeans_plusplus(D, 6, None, 0, 1)))
    a = _kmeans.csr_lloyd(Y, c, 20, 0.0, 1)
    b = _kmeans.lloyd(D, c, 20, 0.0, 1)
    assert_array_equal(_bits(a[0]), _bits(b[0]))
    assert_array_equal(a[1], b[1])
    _assert_unchanged(Y, snap)
    # The tuple form takes the same arrays.
    t = (Y.data, Y.indices, Y.indptr, Y.shape)
    assert_array_equal(_kmeans.csr_assign(t, a[0], 2)[0], a[1])


def test_kmeans_errors():
    X = _as(matrix("sparse-10%"), np.float64, np.int32)
    C = X[:3].toarray()
    with pytest.raises(TypeError, match="scipy.sparse"):
        _kmeans.csr_assign(X.toarray(), C, 1)
    with pytest.raises(ValueError, match="float32 or float64"):
        _kmeans.csr_assign(X.astype(np.int64), C.astype(np.int64), 1)
    with pytest.raises(ValueError, match="centers has dtype float32"):
        _kmeans.csr_lloyd(X, C.astype(np.float32), 10, 0.0, 1)
    with pytest.raises(ValueError, match="centers has shape"):
        _kmeans.csr_assign(X, C[:, :3], 1)
    with pytest.raises(ValueError, match="n_clusters=0"):
        _kmeans.csr_kmeans_plusplus(X, 0, None, 0, 1)
    with pytest.raises(ValueError, match="n_threads"):
        _kmeans.csr_lloyd(X, C, 10, 0.0, 0)
    with pytest.raises(ValueError, match="tol"):
        _kmeans.csr_lloyd(X, C, 10, np.nan, 1)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    i = np.flatnonzero(np.diff(X.indptr))[5]  # a row with entries
    bad.indices[bad.indptr[i]] = X.shape[1]
    with pytest.raises(ValueError, match=rf"row {i} has a column index outside \[0, n_features=60\)"):
        _kmeans.csr_assign(bad, C, 1)
    bad_ptr = (X.data, X.indices, X.indptr[::-1].copy(), X.shape)
    with pytest.raises(ValueError, match="indptr"):
        _kmeans.csr_assign(bad_ptr, C, 1)
    nan = X.copy()
    nan.data = nan.data.copy()
    nan.data[5] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        _kmeans.csr_lloyd(nan, C, 10, 0.0, 1)
    C_inf = C.copy()
    C_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _kmeans.csr_assign(X, C_inf, 1)


def _bounded_cases():
    rng = np.random.default_rng(11)
    blobs = np.concatenate([rng.normal(c, 1.0, size=(400, 6)) for c in range(0, 40, 8)])
    yield "blobs", blobs, 5
    # Far from the origin, tight clusters: the expansion's error margin is
    # a large part of the gaps between centres.
    yield "offset", 1e6 + blobs * 1e-3, 5
    # Rounding of the expansion decides many labels.
    yield "rounding", 1e8 + rng.uniform(0, 100, size=(3000, 2)), 6
    # Integer grid with duplicates: distance ties everywhere.
    yield "ties", rng.integers(0, 4, size=(2000, 3)).astype(float), 7
    yield "one cluster", blobs[:300], 1
    # Centres that empty out and are relocated mid-run.
    yield "relocation", np.concatenate([blobs, blobs[:5] + 1e3]), 12


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(range(6)))
def test_bounded_lloyd_equals_full_passes(dtype, case):
    # The dense Lloyd skips rows whose bounds prove their label stays; the
    # CSR Lloyd makes a full pass every iteration.  Centres, labels,
    # inertia and iteration count must be the same bits whatever the
    # iteration cap.
    name, D, k = list(_bounded_cases())[case]
    D = D.astype(dtype)
    X = sp.csr_matrix(D)
    C0 = D[np.linspace(0, len(D) - 1, k).astype(int)].copy()
    for tol, max_iter in [(0.0, 1), (0.0, 2), (0.0, 7), (0.0, 300), (1e-6, 300)]:
        for nt in THREADS:
            a = _kmeans.csr_lloyd(X, C0, max_iter, tol, nt)
            b = _kmeans.lloyd(D, C0, max_iter, tol, nt)
            assert_array_equal(_bits(a[0]), _bits(b[0]), err_msg=name)
            assert_array_equal(a[1], b[1], err_msg=name)
            assert a[2:] == b[2:], name


# --------------------------------------------------------------------------
# neighbours, dense


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_matches_kdtree_on_subset(rng, dtype):
    # 700 of 1000 rows: 11 row blocks of 64 (the last one partial), several
    # work units, rows not in order of X.
    X = rng.normal(size=(1000, 6)).astype(dtype)
    rows = rng.permutation(1000)[:700].astype(np.int64)
    k = 5
    nn, nn_dist, pair_sum = _neighbors.knn_sparsity(
        _readonly(X), _readonly(rows), k, 1, return_distance=True
    )

    Xs = X[rows].astype(np.float64)  # the KD-tree works in float64 too
    ref_dist, ref_idx = (
        NearestNeighbors(n_neighbors=k + 1, algorithm="kd_tree").fit(Xs).kneighbors(Xs)
    )
    assert nn.dtype == np.int64 and nn.shape == (700, k)
    assert nn_dist.dtype == np.float64 and nn_dist.shape == (700, k)
    assert_array_equal(ref_idx[:, 0], np.arange(700))  # continuous data: self first
    assert_array_equal(nn, ref_idx[:, 1:])
    assert_allclose(nn_dist, ref_dist[:, 1:], rtol=1e-13)

    m = rows.size
    assert isinstance(pair_sum, float)
    assert_allclose(2.0 * pair_sum / (m * (m - 1)), pdist(Xs).mean(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_matches_brute_force(rng, dtype):
    X = rng.uniform(-3, 3, size=(300, 9)).astype(dtype)
    rows = np.arange(300, dtype=np.int64)
    nn, pair_sum = _neighbors.knn_sparsity(X, rows, 3, 2)
    ref = NearestNeighbors(n_neighbors=4, algorithm="brute").fit(X.astype(np.float64))
    assert_array_equal(nn, ref.kneighbors(return_distance=False)[:, :3])
    assert_allclose(pair_sum, pdist(X.astype(np.float64)).sum(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_duplicates_exclude_self_and_break_ties_by_position(rng, dtype):
    # Integer coordinates: distances are exact, duplicates and equal
    # distances are everywhere.
    X = rng.integers(0, 3, size=(150, 2)).astype(dtype)
    rows = rng.permutation(150)[:130].astype(np.int64)
    k = 6
    nn, nn_dist, _ = _neighbors.knn_sparsity(X, rows, k, 2, return_distance=True)

    P = X[rows].astype(np.float64)
    D = cdist(P, P)
    m = rows.size
    for i in range(m):
        others = np.delete(np.arange(m), i)
        order = np.lexsort((others, D[i, others]))  # distance, then position
        assert_array_equal(nn[i], others[order[:k]])
        assert_array_equal(nn_dist[i], D[i, others[order[:k]]])
    assert not np.any(nn == np.arange(m)[:, None])


def test_knn_float32_equals_float64_on_same_values(rng):
    X32 = rng.normal(size=(400, 5)).astype(np.float32)
    rows = np.arange(0, 400, 2, dtype=np.int64)
    a = _neighbors.knn_sparsity(X32, rows, 4, 1, return_distance=True)
    b = _neighbors.knn_sparsity(X32.astype(np.float64), rows, 4, 1, return_distance=True)
    assert_array_equal(a[0], b[0])
    assert_array_equal(_bits(a[1]), _bits(b[1]))
    assert a[2] == b[2]


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_k0_and_tiny_sets(rng, dtype):
    X = rng.normal(size=(50, 3)).astype(dtype)
    rows = np.arange(10, 40, dtype=np.int64)
    nn, pair_sum = _neighbors.knn_sparsity(X, rows, 0, 1)
    assert nn.shape == (30, 0) and nn.dtype == np.int64
    assert_allclose(pair_sum, pdist(X[rows].astype(np.float64)).sum(), rtol=1e-12)

    nn, nn_dist, pair_sum = _neighbors.knn_sparsity(
        X, rows[:1], 0, 1, return_distance=True
    )
    assert nn.shape == (1, 0) and nn_dist.shape == (1, 0) and pair_sum == 0.0
    nn, pair_sum = _neighbors.knn_sparsity(X, rows[:0], 0, 1)
    assert nn.shape == (0, 0) and pair_sum == 0.0
    # m = 2, k = 1: each is the other's neighbour.
    nn, nn_dist, pair_sum = _neighbors.knn_sparsity(X, rows[:2], 1, 1, return_distance=True)
    assert_array_equal(nn, [[1], [0]])
    d01 = np.sqrt(((X[rows[0]].astype(np.float64) - X[rows[1]]) ** 2).sum())
    assert_allclose(nn_dist, [[d01], [d01]], rtol=1e-15)
    assert_allclose(pair_sum, d01, rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [0.0, 1e3, -1e6])
def test_knn_screening_keeps_exact_lists_under_cancellation(rng, dtype, offset, exact_lists):
    # Points far from the origin with a small spread: the norm expansion
    # cancels almost every digit, so only the screening margin keeps the
    # lists exact.  Few distinct coordinates: exact ties and duplicates.
    step = 2.0 ** -6 if offset else 0.5
    P = (offset + step * rng.integers(0, 4, size=(260, 5))).astype(dtype)
    P[17] = P[3]
    rows = rng.permutation(260).astype(np.int64)
    k = 7
    ref_nn, ref_dist = exact_lists(P[rows].astype(np.float64), k)
    for nt in (1, 2):
        nn, nn_dist, pair_sum = _neighbors.knn_sparsity(
            P, rows, k, nt, return_distance=True
        )
        assert_array_equal(nn, ref_nn)
        assert_array_equal(_bits(nn_dist), _bits(ref_dist))
        assert np.isfinite(pair_sum) and pair_sum >= 0.0


@pytest.mark.parametrize("offset", [1e3, -1e6])
def test_knn_pair_sum_accurate_far_from_the_origin(rng, offset):
    # A small cloud far from the origin: the norm expansion cancels, so the
    # pair sum must fall back to the exact differences to stay accurate.
    X = offset + 1e-3 * rng.normal(size=(500, 6))
    rows = rng.permutation(500)[:400].astype(np.int64)
    for k in (0, 3):
        _, pair_sum = _neighbors.knn_sparsity(X, rows, k, 2)
        assert_allclose(pair_sum, pdist(X[rows]).sum(), rtol=1e-12)


@pytest.mark.parametrize("d", [129, 256, 300, 768])
@pytest.mark.parametrize("kind", ["embeddings", "far"])
def test_knn_wide_data_exact_lists_and_pair_sum(rng, d, kind, exact_lists):
    # More features than one pass over a tile takes (128): the dot products
    # are summed chunk by chunk.  "embeddings": unit-norm rows in a tight
    # cluster, where the expansion loses most of its digits; "far": a cloud
    # far from the origin.
    m = 300
    if kind == "embeddings":
        X = rng.normal(size=d) + 0.3 * rng.normal(size=(m, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    else:
        X = 50.0 + rng.normal(size=(m, d))
    X[7] = X[11]  # a duplicate: a tie
    rows = rng.permutation(m).astype(np.int64)
    k = 4
    ref_nn, ref_dist = exact_lists(X[rows], k)
    results = [_neighbors.knn_sparsity(X, rows, k, nt, return_distance=True) for nt in (1, 2)]
    for nn, nn_dist, pair_sum in results:
        assert_array_equal(nn, ref_nn)
        assert_array_equal(_bits(nn_dist), _bits(ref_dist))
        assert_allclose(pair_sum, pdist(X[rows]).sum(), rtol=1e-12)
    assert results[0][2] == results[1][2]


def _sets(rng, sizes, n_total=6000):
    perm = rng.permutation(n_total).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    return [perm[offsets[i]:offsets[i + 1]] for i in range(len(sizes))], offsets


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [
    [40, 2, 1, 0, 300, 7, 64, 65, 129],     # many small sets: one thread each
    [3000, 50, 20, 2],                      # one set worth all threads, then the rest
    [900, 900, 900, 5],                     # equal sets
])
def test_knn_sets_equal_one_call_per_set(rng, dtype, sizes):
    X = rng.normal(size=(6000, 7)).astype(dtype)
    X[100:160] = X[100]  # duplicates: ties everywhere among them
    sets, offsets = _sets(rng, sizes)
    sets[0][:30] = np.arange(100, 130)
    ks = np.array([min(3, max(m - 1, 0)) for m in sizes], dtype=np.int64)
    for nt in [1, 2]:
        nn, sums = _neighbors.knn_sparsity_sets(_readonly(X), np.concatenate(sets), offsets,
                                                ks, nt)
        assert len(nn) == len(sizes) and sums.shape == (len(sizes),)
        for rows, k, got, got_sum in zip(sets, ks, nn, sums):
            want, want_sum = _neighbors.knn_sparsity(X, rows, int(k), 1)
            assert_array_equal(got, want)
            assert _bits(np.float64(got_sum)) == _bits(np.float64(want_sum))


def test_knn_sets_errors(rng):
    X = rng.normal(size=(50, 3))
    sets, offsets = _sets(rng, [5, 4], n_total=50)
    rows = np.concatenate(sets)
    with pytest.raises(ValueError, match=r"ks\[1\]=4 .*set 1 has m=4"):
        _neighbors.knn_sparsity_sets(X, rows, offsets, np.array([2, 4]), 1)
    with pytest.raises(ValueError, match="offsets must have n_sets \\+ 1 = 3 entries"):
        _neighbors.knn_sparsity_sets(X, rows, offsets[:2], np.array([2, 2]), 1)
    with pytest.raises(ValueError, match="non-decreasing"):
        _neighbors.knn_sparsity_sets(X, rows, np.array([0, 6, 5, 9]), np.array([1, 0, 1]), 1)
    bad_rows = rows.copy()
    bad_rows[7] = 50
    with pytest.raises(ValueError, match=r"rows\[7\] = 50 is outside \[0, n_total=50\)"):
        _neighbors.knn_sparsity_sets(X, bad_rows, offsets, np.array([2, 2]), 2)
    X_nan = X.copy()
    X_nan[sets[1][2], 0] = np.nan
    for nt in [1, 2]:
        with pytest.raises(ValueError, match="NaN or infinity"):
            _neighbors.knn_sparsity_sets(X_nan, rows, offsets, np.array([2, 2]), nt)


def test_knn_errors(rng):
    X = rng.normal(size=(20, 3))
    rows = np.arange(5, dtype=np.int64)
    with pytest.raises(ValueError, match=r"k=5 .*m=5"):
        _neighbors.knn_sparsity(X, rows, 5, 1)
    with pytest.raises(ValueError, match=r"k=-1"):
        _neighbors.knn_sparsity(X, rows, -1, 1)
    with pytest.raises(ValueError, match=r"rows\[2\] = 20 is outside \[0, n_total=20\)"):
        _neighbors.knn_sparsity(X, np.array([0, 1, 20], dtype=np.int64), 1, 1)
    with pytest.raises(ValueError, match=r"rows\[0\] = -1"):
        _neighbors.knn_sparsity(X, np.array([-1, 1, 2], dtype=np.int64), 1, 1)
    with pytest.raises(ValueError, match="n_threads"):
        _neighbors.knn_sparsity(X, rows, 1, 0)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        _neighbors.knn_sparsity(X_nan, rows, 1, 1)
    X_inf = X.copy()
    X_inf[2, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _neighbors.knn_sparsity(X_inf, rows, 0, 1)
    with pytest.raises(ValueError):  # not C-contiguous
        _neighbors.knn_sparsity(np.asfortranarray(X), rows, 1, 1)
    with pytest.raises(ValueError):  # rows must be int64
        _neighbors.knn_sparsity(X, rows.astype(np.int32), 1, 1)


# --------------------------------------------------------------------------
# neighbours, CSR


@pytest.mark.parametrize("name", MATRICES)
@pytest.mark.parametrize("itype", ITYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_equals_dense(name, dtype, itype):
    X = _as(matrix(name), dtype, itype)
    D = X.toarray()
    snap = _snapshot(X)
    rng = np.random.default_rng(1)
    m = min(700, X.shape[0])
    rows = rng.permutation(X.shape[0])[:m].astype(np.int64)
    rows.setflags(write=False)
    b = _neighbors.knn_sparsity(D, rows, 4, 2, return_distance=True)
    for nt in THREADS:
        a = _neighbors.csr_knn_sparsity(X, rows, 4, nt, return_distance=True)
        assert_array_equal(a[0], b[0])
        assert_array_equal(_bits(a[1]), _bits(b[1]))
        assert a[2] == b[2]
    nn, pair_sum = _neighbors.csr_knn_sparsity(X, rows, 0, 2)
    assert nn.shape == (m, 0) and pair_sum == b[2]
    _assert_unchanged(X, snap)


def _near_duplicates(rng, n, d, big):
    """Rows drawn from a few sparsity patterns with values big + small
    integer steps: duplicate rows, exact ties, rows without entries, and
    (for big values) dot products that cancel almost every digit."""
    patterns = [rng.choice(d, size=rng.integers(1, 6), replace=False) for _ in range(6)]
    patterns.append(np.array([], dtype=np.int64))
    rows, cols, vals = [], [], []
    for i in range(n):
        cs = np.sort(patterns[rng.integers(len(patterns))])
        rows.append(np.full(cs.size, i))
        cols.append(cs)
        vals.append(big + 2.0 ** -6 * rng.integers(0, 3, size=cs.size))
    X = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n, d))
    X[5] = X[9]
    return X


@pytest.mark.parametrize("big", [0.0, 1e3, 1e6])
@pytest.mark.parametrize("itype", ITYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_screening_keeps_exact_lists(big, dtype, itype, exact_lists):
    # The inverted-index dot products only screen the pairs: the lists and
    # their distances are those of the exact merged differences.
    rng = np.random.default_rng(7)
    X = _as(_near_duplicates(rng, 300, 40, big), dtype, itype)
    D = X.toarray()
    rows = rng.permutation(300)[:230].astype(np.int64)
    k = 5
    ref_nn, ref_dist = exact_lists(D[rows].astype(np.float64), k)
    dense = _neighbors.knn_sparsity(D, rows, k, 1, return_distance=True)
    for nt in THREADS:
        nn, nn_dist, pair_sum = _neighbors.csr_knn_sparsity(X, rows, k, nt,
                                                         return_distance=True)
        assert_array_equal(nn, ref_nn)
        assert_array_equal(_bits(nn_dist), _bits(ref_dist))
        assert_array_equal(nn, dense[0])
        assert pair_sum == dense[2]


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_many_more_columns_than_entries(dtype):
    # Far more columns than stored entries: the inverted index keeps the
    # distinct columns only.  Only the columns' order matters, so spreading
    # them over 10^12 columns changes nothing.
    rng = np.random.default_rng(3)
    X = _as(_near_duplicates(rng, 400, 60, 0.0), dtype, np.int64)
    spread = np.sort(rng.choice(10**12, size=60, replace=False)).astype(np.int64)
    Y = sp.csr_matrix((X.data, spread[X.indices], X.indptr), shape=(400, 10**12))
    rows = rng.permutation(400)[:300].astype(np.int64)
    for nt in THREADS:
        a = _neighbors.csr_knn_sparsity(X, rows, 4, nt, return_distance=True)
        b = _neighbors.csr_knn_sparsity(Y, rows, 4, nt, return_distance=True)
        assert_array_equal(a[0], b[0])
        assert_array_equal(_bits(a[1]), _bits(b[1]))
        assert a[2] == b[2]


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_pair_sum_accurate_with_a_large_common_column(dtype):
    # Every row stores a large constant column: the expansion cancels and
    # the pair sum falls back to exact differences, as on the dense data.
    rng = np.random.default_rng(4)
    X = _random_csr(rng, 600, 40, 0.1).tolil()
    X[:, 7] = 1e5
    X = _as(X.tocsr(), dtype, np.int32)
    D = X.toarray()
    rows = rng.permutation(600)[:450].astype(np.int64)
    ref = pdist(D[rows].astype(np.float64)).sum()
    dense = _neighbors.knn_sparsity(D, rows, 3, 2)
    for nt in THREADS:
        nn, pair_sum = _neighbors.csr_knn_sparsity(X, rows, 3, nt)
        assert_array_equal(nn, dense[0])
        assert pair_sum == dense[1]
        np.testing.assert_allclose(pair_sum, ref, rtol=1e-12)


def test_knn_tiny_sets_and_rows_in_any_order():
    X = _as(matrix("tfidf"), np.float64, np.int64)
    D = X.toarray()
    for rows in ([], [5], [5, 9], [9, 5, 5, 300], list(range(1999, 1799, -1))):
        rows = np.array(rows, dtype=np.int64)
        k = min(2, max(rows.size - 1, 0))
        a = _neighbors.csr_knn_sparsity(X, rows, k, 2, return_distance=True)
        b = _neighbors.knn_sparsity(D, rows, k, 1, return_distance=True)
        assert_array_equal(a[0], b[0])
        assert_array_equal(_bits(a[1]), _bits(b[1]))
        assert a[2] == b[2]


def test_knn_non_canonical_rows_only_the_set_is_copied():
    X = matrix("sparse-1%").copy()
    # Unsorted column indices in some rows of the set, none outside it.
    rows = np.arange(100, 400, dtype=np.int64)
    Y = X.copy()
    for i in rows[::7]:
        s, e = Y.indptr[i], Y.indptr[i + 1]
        Y.indices[s:e] = Y.indices[s:e][::-1]
        Y.data[s:e] = Y.data[s:e][::-1]
    Y.has_sorted_indices = False
    snap = _snapshot(Y)
    a = _neighbors.csr_knn_sparsity(Y, rows, 3, 2, return_distance=True)
    b = _neighbors.knn_sparsity(X.toarray(), rows, 3, 2, return_distance=True)
    assert_array_equal(a[0], b[0])
    assert_array_equal(_bits(a[1]), _bits(b[1]))
    assert a[2] == b[2]
    _assert_unchanged(Y, snap)


def test_csr_knn_errors():
    X = _as(matrix("sparse-10%"), np.float64, np.int32)
    rows = np.arange(5, dtype=np.int64)
    with pytest.raises(ValueError, match=r"k=5 .*m=5"):
        _neighbors.csr_knn_sparsity(X, rows, 5, 1)
    with pytest.raises(ValueError, match=r"k=-1"):
        _neighbors.csr_knn_sparsity(X, rows, -1, 1)
    n = X.shape[0]
    with pytest.raises(ValueError, match=rf"rows\[2\] = {n} is outside \[0, n_total={n}\)"):
        _neighbors.csr_knn_sparsity(X, np.array([0, 1, n]), 1, 1)
    with pytest.raises(ValueError, match=r"rows\[0\] = -1"):
        _neighbors.csr_knn_sparsity(X, np.array([-1, 1, 2]), 1, 1)
    with pytest.raises(ValueError, match="rows must hold integers"):
        _neighbors.csr_knn_sparsity(X, np.array([0.0, 1.0]), 1, 1)
    nan = X.copy()
    nan.data = nan.data.copy()
    i = np.flatnonzero(np.diff(X.indptr))[3]  # a row with entries
    nan.data[nan.indptr[i]] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _neighbors.csr_knn_sparsity(nan, np.array([i + 1, i, i + 2]), 1, 1)
    # A NaN outside the set is not read.
    _neighbors.csr_knn_sparsity(nan, np.array([i + 1, i + 2, i + 3]), 1, 1)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    i = np.flatnonzero(np.diff(X.indptr))[4]  # a row with entries
    bad.indices[bad.indptr[i]] = -3
    with pytest.raises(ValueError, match=f"row {i} has a column index"):
        _neighbors.csr_knn_sparsity(bad, np.array([1, i]), 1, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("itype", ITYPES)
def test_csr_knn_sets_equal_one_call_per_set(dtype, itype):
    rng = np.random.default_rng(21)
    X = _as(_random_csr(rng, 3000, 400, 0.02), dtype, itype)
    D = X.toarray()
    sizes = [900, 1, 0, 40, 2, 700, 129]
    perm = rng.permutation(3000).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    rows = perm[:offsets[-1]]
    ks = np.array([min(3, max(m - 1, 0)) for m in sizes], dtype=np.int64)
    for nt in THREADS:
        nn, sums = _neighbors.csr_knn_sparsity_sets(X, rows, offsets, ks, nt)
        dense_nn, dense_sums = _neighbors.knn_sparsity_sets(D, rows, offsets, ks, nt)
        for s in range(len(sizes)):
            set_rows = rows[offsets[s]:offsets[s + 1]]
            want, want_sum = _neighbors.csr_knn_sparsity(X, set_rows, int(ks[s]), 1)
            assert_array_equal(nn[s], want)
            assert_array_equal(nn[s], dense_nn[s])
            assert _bits(np.float64(sums[s])) == _bits(np.float64(want_sum))
            assert _bits(np.float64(sums[s])) == _bits(np.float64(dense_sums[s]))
    with pytest.raises(ValueError, match=r"ks\[0\]=900"):
        _neighbors.csr_knn_sparsity_sets(X, rows, offsets, np.r_[900, ks[1:]], 1)
    with pytest.raises(ValueError, match="offsets must have"):
        _neighbors.csr_knn_sparsity_sets(X, rows, offsets[:-1], ks, 1)


# --------------------------------------------------------------------------
# neighbours, dense and CSR


def _interrupt_case(storage):
    """A knn call of about a second (dense) or several (CSR)."""
    if storage == "dense":
        X = np.random.default_rng(20240607).normal(size=(30000, 20))
        return lambda: _neighbors.knn_sparsity(X, np.arange(30000, dtype=np.int64), 2, 2)
    X = sp.random(40000, 5000, density=0.006, format="csr",
                  random_state=np.random.default_rng(0))
    return lambda: _neighbors.csr_knn_sparsity(X, np.arange(40000, dtype=np.int64), 2, 2)


@pytest.mark.parametrize("storage", STORAGES)
def test_knn_interrupt_reraises_the_signal_handlers_exception(storage):
    if not hasattr(signal, "setitimer"):
        pytest.skip("needs signal.setitimer")

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    call = _interrupt_case(storage)
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # long before the call ends
        with pytest.raises(Alarm):
            call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------
# generation, dense


def _numpy_generate(X, rows, nn, sample_idx, steps):
    """imbalanced-learn's formula, vectorised the same way."""
    k = nn.shape[1]
    base = X[rows[sample_idx // k]]
    other = X[rows[nn.ravel()[sample_idx]]]
    diffs = other - base
    return (base + steps[:, None] * diffs).astype(X.dtype)


def _generate_inputs(rng, dtype, n_total=300, d=7, m=120, k=4, n_new=5000):
    # Features spanning many magnitudes so that every rounding step matters.
    scale = 10.0 ** rng.uniform(-4, 4, size=d)
    X = (rng.normal(size=(n_total, d)) * scale).astype(dtype)
    rows = rng.choice(n_total, size=m, replace=False).astype(np.int64)
    nn = rng.integers(0, m, size=(m, k)).astype(np.int64)
    sample_idx = rng.integers(0, m * k, size=n_new).astype(np.int64)
    steps = rng.uniform(size=n_new)
    return X, rows, nn, sample_idx, steps


@pytest.mark.parametrize("dtype", DTYPES)
def test_generate_is_bit_exact_with_numpy(rng, dtype):
    X, rows, nn, sample_idx, steps = _generate_inputs(rng, dtype)
    out = np.empty((sample_idx.size, X.shape[1]), dtype=dtype)
    assert _generate.generate(X, rows, nn, sample_idx, steps, out, 1) is None
    assert_array_equal(_bits(out), _bits(_numpy_generate(X, rows, nn, sample_idx, steps)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_generate_points_lie_on_the_segment(rng, dtype):
    X, rows, nn, sample_idx, steps = _generate_inputs(rng, dtype, n_new=500)
    X = rng.normal(size=X.shape).astype(dtype)
    out = np.empty((500, X.shape[1]), dtype=dtype)
    _generate.generate(X, rows, nn, sample_idx, steps, out, 2)
    base = X[rows[sample_idx // 4]].astype(np.float64)
    other = X[rows[nn.ravel()[sample_idx]]].astype(np.float64)
    lo, hi = np.minimum(base, other), np.maximum(base, other)
    eps = np.finfo(dtype).eps * 4 * np.maximum(np.abs(lo), np.abs(hi))
    assert np.all(out >= lo - eps) and np.all(out <= hi + eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_generate_into_a_slice_of_a_larger_array(rng, dtype):
    X, rows, nn, sample_idx, steps = _generate_inputs(rng, dtype, n_new=700)
    big = np.full((710, X.shape[1]), 7.0, dtype=dtype)
    _generate.generate(_readonly(X), _readonly(rows), _readonly(nn), _readonly(sample_idx),
                       _readonly(steps), big[4:704], 2)
    assert np.all(big[:4] == 7.0) and np.all(big[704:] == 7.0)
    assert_array_equal(_bits(big[4:704]), _bits(_numpy_generate(X, rows, nn, sample_idx, steps)))


def test_generate_empty_and_errors(rng, generate_index_errors):
    X, rows, nn, sample_idx, steps = _generate_inputs(rng, np.float64, n_new=10)
    out = np.empty((10, X.shape[1]))
    empty = np.empty((0, X.shape[1]))
    _generate.generate(X, rows, nn, sample_idx[:0], steps[:0], empty, 1)

    def call(**kw):
        args = dict(X=X, rows=rows, nn=nn, sample_idx=sample_idx, steps=steps, out=out)
        args.update(kw)
        _generate.generate(args["X"], args["rows"], args["nn"], args["sample_idx"],
                           args["steps"], args["out"], 1)

    generate_index_errors(call, rows, nn, sample_idx, steps, X.shape[0])
    with pytest.raises(ValueError, match="out has shape"):
        call(out=np.empty((10, X.shape[1] + 1)))
    with pytest.raises(ValueError, match="overlaps X"):
        call(out=X[:10])
    with pytest.raises(ValueError):  # read-only output
        call(out=_readonly(out))
    with pytest.raises((TypeError, ValueError)):  # dtype of out differs from X
        call(out=np.empty((10, X.shape[1]), dtype=np.float32))
    with pytest.raises(ValueError, match="outside"):  # k = 0: no valid index
        call(nn=np.empty((nn.shape[0], 0), dtype=np.int64))


# --------------------------------------------------------------------------
# generation, CSR


def _dense_generate(D, rows, nn, sample_idx, steps, nt):
    out = np.empty((sample_idx.size, D.shape[1]), dtype=D.dtype)
    _generate.generate(D, rows, nn, sample_idx, steps, out, nt)
    return out


def _assert_csr_equal(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert_array_equal(a.indptr, b.indptr)
    assert_array_equal(a.indices, b.indices)
    assert_array_equal(_bits(a.data), _bits(b.data))


@pytest.mark.parametrize("name", MATRICES)
@pytest.mark.parametrize("itype", ITYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_generate_equals_dense(name, dtype, itype):
    X = _as(matrix(name), dtype, itype)
    D = X.toarray()
    snap = _snapshot(X)
    rng = np.random.default_rng(2)
    m, k, n_new = min(300, X.shape[0]), 4, 3000
    rows = rng.choice(X.shape[0], size=m, replace=False).astype(np.int64)
    nn = rng.integers(0, m, size=(m, k)).astype(np.int64)
    sample_idx = rng.integers(0, m * k, size=n_new).astype(np.int64)
    steps = rng.uniform(size=n_new)
    steps[::97] = 0.0  # the base row itself
    ref = sp.csr_matrix(_dense_generate(D, rows, nn, sample_idx, steps, 2))
    for nt in THREADS:
        new = _generate.csr_generate(X, rows, nn, sample_idx, steps, nt)
        assert sp.isspmatrix_csr(new)
        assert new.has_canonical_format and np.all(new.data != 0)
        _assert_csr_equal(new, ref)
    _assert_unchanged(X, snap)


def test_generate_cancellation_drops_zeros():
    # base and other differ in sign on every column: at step 0.5 the float64
    # values cancel to exactly 0 and must not be stored.
    X = sp.csr_matrix(np.array([[1.0, -2.0, 0.0, 4.0], [-1.0, 2.0, 3.0, -4.0]]))
    new = _generate.csr_generate(X, np.array([0, 1]), np.array([[1], [0]]),
                               np.array([0, 1]), np.array([0.5, 0.25]), 1)
    ref = sp.csr_matrix(_dense_generate(X.toarray(), np.array([0, 1]),
                                        np.array([[1], [0]]), np.array([0, 1]),
                                        np.array([0.5, 0.25]), 1))
    _assert_csr_equal(new, ref)
    assert_array_equal(new.indices[new.indptr[0]:new.indptr[1]], [2])


@pytest.mark.parametrize("itype", ITYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_resample_in_place_equals_stacking(dtype, itype):
    # csr_resample writes every group's rows straight into the result: the
    # same arrays as stacking top and csr_generate's blocks, also when
    # values cancel to 0 (rows shorter than counted move left) and for an
    # empty group.
    X = _as(sp.vstack([matrix("sparse-10%"),
                       sp.csr_matrix(np.array([[1.0, -2.0, 0.0, 4.0] + [0.0] * 56,
                                               [-1.0, 2.0, 3.0, -4.0] + [0.0] * 56]))]),
            dtype, itype)
    n = X.shape[0]
    rng = np.random.default_rng(5)
    groups = []
    for m, n_new in ((200, 1500), (50, 0), (2, 40)):
        rows = (rng.choice(n - 2, size=m, replace=False) if m > 2
                else np.array([n - 2, n - 1])).astype(np.int64)
        k = min(4, m - 1)
        nn = rng.integers(0, m, size=(m, k)).astype(np.int64)
        if m == 2:
            nn = np.array([[1], [0]], dtype=np.int64)
        sample_idx = rng.integers(0, m * k, size=n_new).astype(np.int64)
        steps = np.where(rng.uniform(size=n_new) < 0.5, 0.5, rng.uniform(size=n_new))
        groups.append((rows, nn, sample_idx, steps))
    top = X[: n // 2]
    want = sp.vstack([top] + [_generate.csr_generate(X, *g, 1) for g in groups], format="csr")
    for nt in THREADS:
        got = _generate.csr_resample(X, top, groups, nt)
        if itype is np.int64:  # the result fits int32 indices: not in place
            assert got is None
            continue
        data, indices, indptr = got
        assert indices.dtype == indptr.dtype == np.int32 and data.dtype == dtype
        assert_array_equal(indptr, want.indptr)
        assert_array_equal(indices, want.indices)
        assert_array_equal(_bits(data), _bits(want.data))


def test_csr_generate_empty_and_errors(generate_index_errors):
    X = _as(matrix("sparse-10%"), np.float32, np.int64)
    m, k = 50, 3
    rows = np.arange(m, dtype=np.int64)
    nn = np.zeros((m, k), dtype=np.int64)
    sample_idx = np.arange(10, dtype=np.int64)
    steps = np.full(10, 0.5)
    empty = _generate.csr_generate(X, rows, nn, sample_idx[:0], steps[:0], 1)
    assert empty.shape == (0, X.shape[1]) and empty.dtype == np.float32

    def call(**kw):
        args = dict(rows=rows, nn=nn, sample_idx=sample_idx, steps=steps)
        args.update(kw)
        _generate.csr_generate(X, args["rows"], args["nn"], args["sample_idx"],
                             args["steps"], 1)

    generate_index_errors(call, rows, nn, sample_idx, steps, X.shape[0])
    bad_steps = steps.copy()
    bad_steps[4] = np.inf
    with pytest.raises(ValueError, match=r"steps\[4\] = inf is not finite"):
        call(steps=bad_steps)


# --------------------------------------------------------------------------
# determinism across threads and SIMD variants


_DETERMINISM_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from kmsmote import _generate, _kmeans, _neighbors

    def run(n_threads):
        rng = np.random.default_rng(7)
        out = []
        for dtype in (np.float32, np.float64):
            # Wide rows: the neighbour kernel's dot products go in chunks.
            W = (3.0 + rng.normal(size=(400, 300))).astype(dtype)
            wnn, wnd, ws = _neighbors.knn_sparsity(W, np.arange(400, dtype=np.int64), 3,
                                                   n_threads, return_distance=True)
            out += [wnn, wnd, np.array([ws])]
            X = rng.normal(size=(5000, 11)).astype(dtype)
            rows = rng.permutation(5000)[:900].astype(np.int64)
            nn, nd, s = _neighbors.knn_sparsity(X, rows, 3, n_threads, return_distance=True)
            c0 = _kmeans.kmeans_plusplus(X, 10, None, 99, n_threads)
            c, lab, inertia, it = _kmeans.lloyd(X, c0, 20, 0.0, n_threads)
            lab2, d2 = _kmeans.assign(X, c, n_threads)
            sidx = rng.integers(0, 900 * 3, size=3000).astype(np.int64)
            steps = rng.uniform(size=3000)
            g = np.empty((3000, 11), dtype=dtype)
            _generate.generate(X, rows, nn, sidx, steps, g, n_threads)
            out += [nn, nd, np.array([s, inertia, it]), c0, c, lab, lab2, d2, g]
        return out

    if __name__ == "__main__":
        np.savez(sys.argv[1], *run(int(sys.argv[2])))
    """
)
_determinism = {}
exec(compile(_DETERMINISM_SCRIPT, "<determinism>", "exec"), _determinism)


def _assert_all_bit_equal(xs, ys):
    assert len(xs) == len(ys) == 24
    for a, b in zip(xs, ys):
        assert a.dtype == b.dtype
        assert_array_equal(_bits(a), _bits(b))


def test_bit_identical_for_1_and_2_threads():
    _assert_all_bit_equal(_determinism["run"](1), _determinism["run"](2))


def test_bit_identical_for_the_baseline_simd_variant(tmp_path):
    # KMSMOTE_SIMD=baseline makes the C core skip its AVX2 kernels; it is
    # read on every call, but set here only in a child process.
    script = tmp_path / "determinism.py"
    script.write_text(_DETERMINISM_SCRIPT)
    out = tmp_path / "baseline.npz"
    env = dict(os.environ, KMSMOTE_SIMD="baseline")
    subprocess.run([sys.executable, str(script), str(out), "2"], check=True, env=env,
                   cwd=str(tmp_path))
    with np.load(out) as f:
        baseline = [f[f"arr_{i}"] for i in range(len(f.files))]
    _assert_all_bit_equal(_determinism["run"](1), baseline)


_BASELINE_SCRIPT = textwrap.dedent(
    """
    import numpy as np, scipy.sparse as sp
    from kmsmote import _kmeans, _neighbors

    rng = np.random.default_rng(4)
    X = sp.random(3000, 400, density=0.03, format="csr", random_state=rng)
    D = X.toarray()
    c = _kmeans.csr_kmeans_plusplus(X, 9, None, 3, 2)
    assert np.array_equal(c, _kmeans.kmeans_plusplus(D, 9, None, 3, 2))
    a, b = _kmeans.csr_lloyd(X, c, 20, 0.0, 2), _kmeans.lloyd(D, c, 20, 0.0, 2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2:] == b[2:]
    rows = rng.permutation(3000)[:900]
    a = _neighbors.csr_knn_sparsity(X, rows, 3, 2, return_distance=True)
    b = _neighbors.knn_sparsity(D, rows, 3, 2, return_distance=True)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    """
)


def test_equal_dense_with_the_baseline_simd_variant(tmp_path):
    script = tmp_path / "baseline.py"
    script.write_text(_BASELINE_SCRIPT)
    env = dict(os.environ, KMSMOTE_SIMD="baseline")
    subprocess.run([sys.executable, str(script)], check=True, env=env, cwd=str(tmp_path))


def test_simd_variant_names_what_runs(tmp_path):
    # show_config()'s SIMD line is the variant the distance kernels run.
    variant = _kmeans.simd_variant()
    assert variant in {"avx2", "sse2", "neon", "generic", "scalar"}
    assert kmsmote.get_config()["runtime"]["simd"] == variant
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        assert variant in ("avx2", "sse2")
    elif machine in ("aarch64", "arm64"):
        assert variant == "neon"
    # KMSMOTE_SIMD=baseline (read on every call) turns AVX2 off.
    env = dict(os.environ, KMSMOTE_SIMD="baseline")
    child = subprocess.run(
        [sys.executable, "-c", "from kmsmote import _kmeans; print(_kmeans.simd_variant())"],
        check=True, env=env, cwd=str(tmp_path), capture_output=True, text=True)
    assert child.stdout.strip() == (variant if variant != "avx2" else "sse2")


def test_kms_pxd_is_the_generators_output():
    # kmsmote/_kms.pxd is written by tools/gen_pxd.py from the C headers:
    # editing one without the other fails here.
    root = Path(__file__).resolve().parent.parent
    if not (root / "csrc" / "kms_common.h").exists():
        pytest.skip("needs the source tree (csrc/, tools/)")
    spec = importlib.util.spec_from_file_location("gen_pxd", root / "tools" / "gen_pxd.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (root / "kmsmote" / "_kms.pxd").read_text() == gen.render(), (
        "kmsmote/_kms.pxd differs from the headers: run python tools/gen_pxd.py")


# --------------------------------------------------------------------------
# output helpers: copy_rows, abs_max


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (5, 0), (3000, 7), (1, 300_000)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_copy_rows_is_a_bitwise_copy(dtype, shape, n_threads):
    rng = np.random.default_rng(0)
    src = (rng.normal(size=shape) * 100).astype(dtype)
    if src.size and np.issubdtype(dtype, np.floating):
        flat = src.reshape(-1)
        flat[0], flat[-1] = -0.0, np.nan
    dst = np.full(shape, 7, dtype=dtype)
    _generate.copy_rows(src, dst, n_threads)
    assert dst.tobytes() == src.tobytes()


def test_copy_rows_refuses_what_it_cannot_copy():
    a = np.zeros((4, 3))
    with pytest.raises(ValueError, match="differ in shape or dtype"):
        _generate.copy_rows(a, np.zeros((4, 2)), 1)
    with pytest.raises(ValueError, match="differ in shape or dtype"):
        _generate.copy_rows(a, np.zeros((4, 3), dtype=np.float32), 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        _generate.copy_rows(np.zeros((3, 4)).T, np.zeros((4, 3)), 1)
    with pytest.raises(ValueError, match="overlap"):
        _generate.copy_rows(a, a, 1)
    readonly = np.zeros((4, 3))
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _generate.copy_rows(a, readonly, 1)
    with pytest.raises(TypeError, match="NumPy arrays"):
        _generate.copy_rows([[1.0]], np.zeros((1, 1)), 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_abs_max(rng, dtype):
    for n in [0, 1, 7, 8, 65_536, 65_537, 300_001]:
        x = (rng.normal(size=n) * 1e3).astype(dtype)
        for nt in [1, 2]:
            assert _generate.abs_max(x, nt) == (float(np.abs(x).max()) if n else 0.0)
        if n > 2:
            for pos in [0, n // 2, n - 1]:
                y = x.copy()
                y[pos] = np.nan
                assert np.isnan(_generate.abs_max(y, 2))
                y[pos] = -np.inf
                assert _generate.abs_max(y, 2) == np.inf
    assert _generate.abs_max(np.array([-0.0, -5.0, 3.0], dtype=dtype), 1) == 5.0
    with pytest.raises(TypeError, match="float32 or float64"):
        _generate.abs_max(np.arange(4), 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        _generate.abs_max(np.ones((4, 4), dtype=dtype)[:, ::2], 1)
