"""Tests of the CSR kernels (kmsmote._sparse).

The promise under test: every CSR kernel gives bit for bit what the dense
kernel gives on ``X.toarray()`` (same k-means++ rows, Lloyd centres, labels,
inertia and iteration count, same neighbours, distances and pair sums, and
generated rows equal to ``csr_matrix`` of the dense output), for float32
and float64 values, int32 and int64 indices, 1 and 2 threads, without
densifying, copying or modifying the input.
"""

import os
import signal
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import pdist
from numpy.testing import assert_array_equal

from kmsmote import _generate, _kmeans, _neighbors, _sparse

DTYPES = [np.float32, np.float64]
ITYPES = [np.int32, np.int64]
THREADS = [1, 2]


def _bits(a):
    """View an array's bytes as unsigned ints, for bit-for-bit comparisons."""
    a = np.ascontiguousarray(a)
    return a.view({4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


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
# k-means


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
        c_sp = _sparse.csr_kmeans_plusplus(X, k, None, 11, nt)
        assert c_sp.dtype == dtype and c_sp.shape == (k, X.shape[1])
        assert_array_equal(_bits(c_sp), _bits(c_de))

        r_sp = _sparse.csr_lloyd(X, c_sp, 25, 0.0, nt)
        assert_array_equal(_bits(r_sp[0]), _bits(r_de[0]))  # centres
        assert_array_equal(r_sp[1], r_de[1])  # labels
        assert r_sp[2] == r_de[2] and r_sp[3] == r_de[3]  # inertia, n_iter

        l_sp, d_sp = _sparse.csr_assign(X, r_sp[0], nt)
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
        a = _sparse.csr_lloyd(X, C0, max_iter, tol, 2)
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
    c = _sparse.csr_kmeans_plusplus(X.tocsc(), 20, 3, 1, 2)
    assert_array_equal(_bits(c), _bits(_kmeans.kmeans_plusplus(D, 20, 3, 1, 1)))
    a = _sparse.csr_lloyd(X, c, 15, 0.0, 2)
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
    c = _sparse.csr_kmeans_plusplus(Y, 6, None, 0, 2)
    assert_array_equal(_bits(c), _bits(_kmeans.kmeans_plusplus(D, 6, None, 0, 1)))
    a = _sparse.csr_lloyd(Y, c, 20, 0.0, 1)
    b = _kmeans.lloyd(D, c, 20, 0.0, 1)
    assert_array_equal(_bits(a[0]), _bits(b[0]))
    assert_array_equal(a[1], b[1])
    _assert_unchanged(Y, snap)
    # The tuple form takes the same arrays.
    t = (Y.data, Y.indices, Y.indptr, Y.shape)
    assert_array_equal(_sparse.csr_assign(t, a[0], 2)[0], a[1])


def test_kmeans_errors():
    X = _as(matrix("sparse-10%"), np.float64, np.int32)
    C = X[:3].toarray()
    with pytest.raises(TypeError, match="scipy.sparse"):
        _sparse.csr_assign(X.toarray(), C, 1)
    with pytest.raises(ValueError, match="float32 or float64"):
        _sparse.csr_assign(X.astype(np.int64), C.astype(np.int64), 1)
    with pytest.raises(ValueError, match="centers has dtype float32"):
        _sparse.csr_lloyd(X, C.astype(np.float32), 10, 0.0, 1)
    with pytest.raises(ValueError, match="centers has shape"):
        _sparse.csr_assign(X, C[:, :3], 1)
    with pytest.raises(ValueError, match="n_clusters=0"):
        _sparse.csr_kmeans_plusplus(X, 0, None, 0, 1)
    with pytest.raises(ValueError, match="n_threads"):
        _sparse.csr_lloyd(X, C, 10, 0.0, 0)
    with pytest.raises(ValueError, match="tol"):
        _sparse.csr_lloyd(X, C, 10, np.nan, 1)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    i = np.flatnonzero(np.diff(X.indptr))[5]  # a row with entries
    bad.indices[bad.indptr[i]] = X.shape[1]
    with pytest.raises(ValueError, match=rf"row {i} has a column index outside \[0, n_features=60\)"):
        _sparse.csr_assign(bad, C, 1)
    bad_ptr = (X.data, X.indices, X.indptr[::-1].copy(), X.shape)
    with pytest.raises(ValueError, match="indptr"):
        _sparse.csr_assign(bad_ptr, C, 1)
    nan = X.copy()
    nan.data = nan.data.copy()
    nan.data[5] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        _sparse.csr_lloyd(nan, C, 10, 0.0, 1)
    C_inf = C.copy()
    C_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _sparse.csr_assign(X, C_inf, 1)


# --------------------------------------------------------------------------
# neighbours


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
        a = _sparse.csr_knn_sparsity(X, rows, 4, nt, return_distance=True)
        assert_array_equal(a[0], b[0])
        assert_array_equal(_bits(a[1]), _bits(b[1]))
        assert a[2] == b[2]
    nn, pair_sum = _sparse.csr_knn_sparsity(X, rows, 0, 2)
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
        nn, nn_dist, pair_sum = _sparse.csr_knn_sparsity(X, rows, k, nt,
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
        a = _sparse.csr_knn_sparsity(X, rows, 4, nt, return_distance=True)
        b = _sparse.csr_knn_sparsity(Y, rows, 4, nt, return_distance=True)
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
        nn, pair_sum = _sparse.csr_knn_sparsity(X, rows, 3, nt)
        assert_array_equal(nn, dense[0])
        assert pair_sum == dense[1]
        np.testing.assert_allclose(pair_sum, ref, rtol=1e-12)


def test_knn_tiny_sets_and_rows_in_any_order():
    X = _as(matrix("tfidf"), np.float64, np.int64)
    D = X.toarray()
    for rows in ([], [5], [5, 9], [9, 5, 5, 300], list(range(1999, 1799, -1))):
        rows = np.array(rows, dtype=np.int64)
        k = min(2, max(rows.size - 1, 0))
        a = _sparse.csr_knn_sparsity(X, rows, k, 2, return_distance=True)
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
    a = _sparse.csr_knn_sparsity(Y, rows, 3, 2, return_distance=True)
    b = _neighbors.knn_sparsity(X.toarray(), rows, 3, 2, return_distance=True)
    assert_array_equal(a[0], b[0])
    assert_array_equal(_bits(a[1]), _bits(b[1]))
    assert a[2] == b[2]
    _assert_unchanged(Y, snap)


def test_knn_errors():
    X = _as(matrix("sparse-10%"), np.float64, np.int32)
    rows = np.arange(5, dtype=np.int64)
    with pytest.raises(ValueError, match=r"k=5 .*m=5"):
        _sparse.csr_knn_sparsity(X, rows, 5, 1)
    with pytest.raises(ValueError, match=r"k=-1"):
        _sparse.csr_knn_sparsity(X, rows, -1, 1)
    n = X.shape[0]
    with pytest.raises(ValueError, match=rf"rows\[2\] = {n} is outside \[0, n_total={n}\)"):
        _sparse.csr_knn_sparsity(X, np.array([0, 1, n]), 1, 1)
    with pytest.raises(ValueError, match=r"rows\[0\] = -1"):
        _sparse.csr_knn_sparsity(X, np.array([-1, 1, 2]), 1, 1)
    with pytest.raises(ValueError, match="rows must hold integers"):
        _sparse.csr_knn_sparsity(X, np.array([0.0, 1.0]), 1, 1)
    nan = X.copy()
    nan.data = nan.data.copy()
    i = np.flatnonzero(np.diff(X.indptr))[3]  # a row with entries
    nan.data[nan.indptr[i]] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _sparse.csr_knn_sparsity(nan, np.array([i + 1, i, i + 2]), 1, 1)
    # A NaN outside the set is not read.
    _sparse.csr_knn_sparsity(nan, np.array([i + 1, i + 2, i + 3]), 1, 1)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    i = np.flatnonzero(np.diff(X.indptr))[4]  # a row with entries
    bad.indices[bad.indptr[i]] = -3
    with pytest.raises(ValueError, match=f"row {i} has a column index"):
        _sparse.csr_knn_sparsity(bad, np.array([1, i]), 1, 1)


def test_knn_interrupt_reraises_the_signal_handlers_exception():
    if not hasattr(signal, "setitimer"):
        pytest.skip("needs signal.setitimer")

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    # Several seconds of work; the alarm fires after 50 ms.
    rng = np.random.default_rng(0)
    X = sp.random(40000, 5000, density=0.006, format="csr", random_state=rng)
    rows = np.arange(40000, dtype=np.int64)
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Alarm):
            _sparse.csr_knn_sparsity(X, rows, 2, 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------
# generation


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
        new = _sparse.csr_generate(X, rows, nn, sample_idx, steps, nt)
        assert sp.isspmatrix_csr(new)
        assert new.has_canonical_format and np.all(new.data != 0)
        _assert_csr_equal(new, ref)
    _assert_unchanged(X, snap)


def test_generate_cancellation_drops_zeros():
    # base and other differ in sign on every column: at step 0.5 the float64
    # values cancel to exactly 0 and must not be stored.
    X = sp.csr_matrix(np.array([[1.0, -2.0, 0.0, 4.0], [-1.0, 2.0, 3.0, -4.0]]))
    new = _sparse.csr_generate(X, np.array([0, 1]), np.array([[1], [0]]),
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
    want = sp.vstack([top] + [_sparse.csr_generate(X, *g, 1) for g in groups], format="csr")
    for nt in THREADS:
        got = _sparse.csr_resample(X, top, groups, nt)
        if itype is np.int64:  # the result fits int32 indices: not in place
            assert got is None
            continue
        data, indices, indptr = got
        assert indices.dtype == indptr.dtype == np.int32 and data.dtype == dtype
        assert_array_equal(indptr, want.indptr)
        assert_array_equal(indices, want.indices)
        assert_array_equal(_bits(data), _bits(want.data))


def test_generate_empty_and_errors(generate_index_errors):
    X = _as(matrix("sparse-10%"), np.float32, np.int64)
    m, k = 50, 3
    rows = np.arange(m, dtype=np.int64)
    nn = np.zeros((m, k), dtype=np.int64)
    sample_idx = np.arange(10, dtype=np.int64)
    steps = np.full(10, 0.5)
    empty = _sparse.csr_generate(X, rows, nn, sample_idx[:0], steps[:0], 1)
    assert empty.shape == (0, X.shape[1]) and empty.dtype == np.float32

    def call(**kw):
        args = dict(rows=rows, nn=nn, sample_idx=sample_idx, steps=steps)
        args.update(kw)
        _sparse.csr_generate(X, args["rows"], args["nn"], args["sample_idx"],
                             args["steps"], 1)

    generate_index_errors(call, rows, nn, sample_idx, steps, X.shape[0])
    bad_steps = steps.copy()
    bad_steps[4] = np.inf
    with pytest.raises(ValueError, match=r"steps\[4\] = inf is not finite"):
        call(steps=bad_steps)


# --------------------------------------------------------------------------
# SIMD variant

_BASELINE_SCRIPT = textwrap.dedent(
    """
    import numpy as np, scipy.sparse as sp
    from kmsmote import _kmeans, _neighbors, _sparse

    rng = np.random.default_rng(4)
    X = sp.random(3000, 400, density=0.03, format="csr", random_state=rng)
    D = X.toarray()
    c = _sparse.csr_kmeans_plusplus(X, 9, None, 3, 2)
    assert np.array_equal(c, _kmeans.kmeans_plusplus(D, 9, None, 3, 2))
    a, b = _sparse.csr_lloyd(X, c, 20, 0.0, 2), _kmeans.lloyd(D, c, 20, 0.0, 2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2:] == b[2:]
    rows = rng.permutation(3000)[:900]
    a = _sparse.csr_knn_sparsity(X, rows, 3, 2, return_distance=True)
    b = _neighbors.knn_sparsity(D, rows, 3, 2, return_distance=True)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    """
)


def test_equal_dense_with_the_baseline_simd_variant(tmp_path):
    script = tmp_path / "baseline.py"
    script.write_text(_BASELINE_SCRIPT)
    env = dict(os.environ, KMSMOTE_SIMD="baseline")
    subprocess.run([sys.executable, str(script)], check=True, env=env, cwd=str(tmp_path))


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
            a = _sparse.csr_lloyd(X, C0, max_iter, tol, nt)
            b = _kmeans.lloyd(D, C0, max_iter, tol, nt)
            assert_array_equal(_bits(a[0]), _bits(b[0]), err_msg=name)
            assert_array_equal(a[1], b[1], err_msg=name)
            assert a[2:] == b[2:], name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("itype", ITYPES)
def test_knn_sets_equal_one_call_per_set(dtype, itype):
    rng = np.random.default_rng(21)
    X = _as(_random_csr(rng, 3000, 400, 0.02), dtype, itype)
    D = X.toarray()
    sizes = [900, 1, 0, 40, 2, 700, 129]
    perm = rng.permutation(3000).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    rows = perm[:offsets[-1]]
    ks = np.array([min(3, max(m - 1, 0)) for m in sizes], dtype=np.int64)
    for nt in THREADS:
        nn, sums = _sparse.csr_knn_sparsity_sets(X, rows, offsets, ks, nt)
        dense_nn, dense_sums = _neighbors.knn_sparsity_sets(D, rows, offsets, ks, nt)
        for s in range(len(sizes)):
            set_rows = rows[offsets[s]:offsets[s + 1]]
            want, want_sum = _sparse.csr_knn_sparsity(X, set_rows, int(ks[s]), 1)
            assert_array_equal(nn[s], want)
            assert_array_equal(nn[s], dense_nn[s])
            assert _bits(np.float64(sums[s])) == _bits(np.float64(want_sum))
            assert _bits(np.float64(sums[s])) == _bits(np.float64(dense_sums[s]))
    with pytest.raises(ValueError, match=r"ks\[0\]=900"):
        _sparse.csr_knn_sparsity_sets(X, rows, offsets, np.r_[900, ks[1:]], 1)
    with pytest.raises(ValueError, match="offsets must have"):
        _sparse.csr_knn_sparsity_sets(X, rows, offsets[:-1], ks, 1)
