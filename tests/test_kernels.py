"""Tests of the compiled kernels (kmsmote._kmeans, _neighbors, _generate).

Each kernel is checked against an independent reference (scikit-learn,
SciPy or a NumPy formula), for float32 and float64, and for the properties
the C core promises: identical results for any thread count and SIMD
variant, read-only inputs accepted, precise errors before any work.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist, pdist
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

from kmsmote import _generate, _kmeans, _neighbors, _threads

DTYPES = [np.float32, np.float64]


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


# --------------------------------------------------------------------------
# threads module


def test_threads_introspection():
    assert isinstance(_threads.openmp_enabled(), bool)
    n = _threads.max_threads()
    assert isinstance(n, int) and n >= 1
    if not _threads.openmp_enabled():
        assert n == 1


# --------------------------------------------------------------------------
# knn_sparsity


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


def test_knn_interrupt_reraises_the_signal_handlers_exception(rng):
    if not hasattr(signal, "setitimer"):
        pytest.skip("needs signal.setitimer")

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    # About a second of work; the alarm fires after 50 ms.
    X = rng.normal(size=(30000, 20))
    rows = np.arange(30000, dtype=np.int64)
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Alarm):
            _neighbors.knn_sparsity(X, rows, 2, 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------
# generate


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
# k-means


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


# -- copy_rows ----------------------------------------------------------------


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
