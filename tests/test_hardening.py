"""Bad and edge inputs: a clear error naming the problem, or a correct result.

Every row of CASES is one input; `expect` is either an (exception type,
message regex) pair or "ok", in which case the output is checked for the
properties every result must have (counts, originals first and unchanged,
finite values, dtype).
"""

from collections import Counter

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from kmsmote import KMeans, KMeansSMOTE

RNG = np.random.RandomState(0)
X0 = RNG.normal(size=(80, 3))
Y0 = np.r_[np.zeros(60, int), np.ones(20, int)]
BASE = dict(random_state=0, kmeans_estimator=2, cluster_balance_threshold=0.0,
            allocation="exact")


def _with(X=None, y=None, **params):
    return (X0 if X is None else X), (Y0 if y is None else y), {**BASE, **params}


def _nan():
    X = X0.copy()
    X[3, 1] = np.nan
    return X


def _inf(sign):
    X = X0.copy()
    X[5, 0] = sign * np.inf
    return X


class _LabelsOutOfRange(BaseEstimator):
    def __init__(self, n_clusters=3):
        self.n_clusters = n_clusters

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.arange(len(X)) % (self.n_clusters + 1)

    def fit_predict(self, X, y=None):
        return self.predict(X)


class _LabelsWrongLength(_LabelsOutOfRange):
    def predict(self, X):
        return np.zeros(len(X) - 1, dtype=int)


class _NoNClusters(BaseEstimator):
    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


VE, TE, RE, IPE = ValueError, TypeError, RuntimeError, InvalidParameterError

CASES = {
    # -- X values
    "nan-in-X": (_with(_nan()), (VE, "Input X contains NaN")),
    "+inf-in-X": (_with(_inf(1)), (VE, "Input X contains infinity")),
    "-inf-in-X": (_with(_inf(-1)), (VE, "Input X contains infinity")),
    "empty-X": (_with(np.empty((0, 3)), np.empty(0, int)), (VE, "0 sample")),
    "no-features": (_with(np.empty((80, 0))), (VE, "0 feature")),
    "1d-X": (_with(X0[:, 0]), (VE, "Expected 2D array")),
    "3d-X": (_with(X0[:, :, None]), (VE, "dim 3")),
    "length-mismatch": (_with(y=Y0[:-1]), (VE, "inconsistent numbers of samples")),
    "string-X": (_with(X0.astype(str).astype(object)), "ok"),  # numeric strings convert
    "word-X": (_with(np.full((80, 3), "a", dtype=object)), (VE, "could not convert")),
    "bytes-X": (_with(X0.astype("S8")), (VE, "strings")),
    "bool-X": (_with(X0 > 0), (VE, "boolean dtype")),
    "complex-X": (_with(X0 + 1j), (VE, "Complex data not supported")),
    "object-float-X": (_with(X0.astype(object)), "ok"),
    "huge-values": (_with(X0 * 1e300), "ok"),
    "near-max-values": (_with(X0 / np.abs(X0).max() * 1.7e308), "ok"),
    "denormal-values": (_with(X0 * 1e-310), "ok"),
    "float32-huge": (_with((X0 * 1e37).astype(np.float32)), "ok"),
    "constant-feature": (_with(np.c_[X0, np.full(80, 7.0)]), "ok"),
    "all-constant": (_with(np.ones((80, 3))), "ok"),
    "class-samples-identical": (
        _with(np.r_[X0[:60], np.tile(X0[60:61], (20, 1))]), "ok"),
    "int8-X": (_with((X0 * 30).astype(np.int8)), "ok"),
    "uint8-X": (_with((np.abs(X0) * 60).astype(np.uint8)), "ok"),
    "int64-X": (_with((X0 * 1e6).astype(np.int64)), "ok"),
    "fortran-X": (_with(np.asfortranarray(X0)), "ok"),
    "non-contiguous-X": (_with(np.repeat(X0, 2, axis=1)[:, ::2]), "ok"),
    # -- y
    "y-nan": (_with(y=np.r_[Y0[:-1].astype(float), np.nan]), (VE, "y contains NaN")),
    "y-continuous": (_with(y=RNG.normal(size=80)), (VE, "Unknown label type")),
    "y-single-class": (_with(y=np.zeros(80, int)), (VE, "more than 1 class")),
    "y-string-labels": (_with(y=np.where(Y0 == 1, "fraud", "ok")), "ok"),
    "y-negative-ints": (_with(y=Y0 - 7), "ok"),
    "y-float-integers": (_with(y=Y0.astype(float) * 2.0), "ok"),
    "y-2d-column": (_with(y=Y0.reshape(-1, 1)), "ok"),
    "y-multilabel": (_with(y=np.c_[Y0, Y0]), (VE, "Multilabel and multioutput")),
    "y-three-classes": (_with(y=np.r_[np.zeros(50, int), np.ones(20, int), np.full(10, 2)]), "ok"),
    # -- class and cluster sizes
    "class-with-1-sample": (_with(y=np.r_[np.zeros(79, int), 1]), (RE, "No clusters found")),
    "fewer-samples-than-clusters": (
        _with(X0[:5], np.r_[0, 0, 0, 1, 1], kmeans_estimator=8), (VE, "n_samples=5 should be >= n_clusters=8")),
    "k-neighbors-larger-than-every-cluster": (_with(k_neighbors=30), (RE, "No clusters found")),
    "nn-object-more-neighbours-than-points": (
        _with(k_neighbors=NearestNeighbors(n_neighbors=500)), (RE, "No clusters found")),
    "nn-object-one-neighbour": (
        _with(k_neighbors=NearestNeighbors(n_neighbors=1)), (VE, "at least 2 are needed")),
    "nn-object-manhattan": (_with(k_neighbors=NearestNeighbors(n_neighbors=3, metric="manhattan")), "ok"),
    "clusterer-labels-out-of-range": (
        _with(kmeans_estimator=_LabelsOutOfRange()), (VE, "labels outside")),
    "clusterer-labels-wrong-length": (
        _with(kmeans_estimator=_LabelsWrongLength()), (VE, "one label per row")),
    "clusterer-without-n_clusters": (
        _with(kmeans_estimator=_NoNClusters()), (VE, "n_clusters")),
    "single-cluster": (_with(kmeans_estimator=1, cluster_balance_threshold="auto"), "ok"),
    # -- parameters
    "k_neighbors=0": (_with(k_neighbors=0), (IPE, "k_neighbors")),
    "k_neighbors=float": (_with(k_neighbors=2.5), (IPE, "k_neighbors")),
    "kmeans_estimator=0": (_with(kmeans_estimator=0), (IPE, "kmeans_estimator")),
    "kmeans_estimator=str": (_with(kmeans_estimator="k"), (IPE, "kmeans_estimator")),
    "threshold=str": (_with(cluster_balance_threshold="x"), (IPE, "cluster_balance_threshold")),
    "threshold>1": (_with(cluster_balance_threshold=1.5), (RE, "No clusters found")),
    "density_exponent=str": (_with(density_exponent="x"), (IPE, "density_exponent")),
    "density_exponent=huge": (_with(density_exponent=1e6), "ok"),
    "density_exponent=negative": (_with(density_exponent=-3.0), "ok"),
    "density_exponent=0": (_with(density_exponent=0.0), "ok"),
    "sampling_strategy=majority": (_with(sampling_strategy="majority"), (IPE, "sampling_strategy")),
    "sampling_strategy=2.0": (_with(sampling_strategy=2.0), (IPE, "sampling_strategy")),
    "sampling_strategy=unknown-class": (_with(sampling_strategy={9: 100}), (VE, "not present")),
    "sampling_strategy=fewer-than-present": (_with(sampling_strategy={1: 5}), (VE, "greater or equal")),
    "sampling_strategy=callable-bad": (_with(sampling_strategy=lambda y: {1: -1}), (VE, "negative")),
    "random_state=str": (_with(random_state="x"), (IPE, "random_state")),
    "n_jobs=str": (_with(n_jobs="all"), (IPE, "n_jobs")),
    "n_jobs=0": (_with(n_jobs=0), (VE, "n_jobs")),
    "allocation=str": (_with(allocation="round"), (IPE, "allocation")),
    # -- containers
    "sparse-csr-X": (_with(sparse.csr_matrix(X0)), "ok"),
    "list-X": (_with(X0.tolist(), Y0.tolist()), "ok"),
}


def _check_result(X, y, params, X_res, y_res):
    X_arr = X.toarray() if sparse.issparse(X) else np.asarray(X)
    R = X_res.toarray() if sparse.issparse(X_res) else np.asarray(X_res)
    y_arr = np.asarray(y).ravel() if np.ndim(y) < 2 or np.shape(y)[1] == 1 else np.asarray(y)
    n = len(y_arr)
    assert R.shape[0] == len(y_res) and R.shape[0] > n
    if R.dtype.kind != "O":
        assert np.all(np.isfinite(R.astype(np.float64)))
    if X_arr.dtype.kind in "fiu":
        assert R.dtype == X_arr.dtype
        assert np.array_equal(R[:n], X_arr)
    before, after = Counter(y_arr.tolist()), Counter(np.asarray(y_res).ravel().tolist())
    # sampling_strategy="auto" with exact allocation: every class reaches
    # the majority's count exactly.
    assert set(after) == set(before)
    assert set(after.values()) == {max(before.values())}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_or_edge_input(name):
    (X, y, params), expect = CASES[name]
    X_copy = X.copy() if hasattr(X, "copy") else list(X)
    y_copy = y.copy() if hasattr(y, "copy") else list(y)
    sampler = KMeansSMOTE(**params)
    if expect == "ok":
        # Any RuntimeWarning (overflow, invalid value) fails the test through
        # the suite's filterwarnings = error.
        X_res, y_res = sampler.fit_resample(X, y)
        _check_result(X, y, params, X_res, y_res)
    else:
        exc, pattern = expect
        with pytest.raises(exc, match=pattern):
            sampler.fit_resample(X, y)
    # Nothing the user passed is modified.
    if sparse.issparse(X):
        assert (X != X_copy).nnz == 0
    elif isinstance(X, np.ndarray) and X.dtype.kind == "f":
        assert np.array_equal(X, X_copy, equal_nan=True)
    else:
        assert np.array_equal(np.asarray(X), np.asarray(X_copy))
    assert np.array_equal(np.asarray(y), np.asarray(y_copy), equal_nan=np.asarray(y).dtype.kind == "f")


def test_table_is_large():
    assert len(CASES) >= 40


def test_read_only_and_memory_mapped_inputs(tmp_path):
    X = X0.copy()
    X.flags.writeable = False
    y = Y0.copy()
    y.flags.writeable = False
    X_res, _ = KMeansSMOTE(**BASE).fit_resample(X, y)
    assert np.array_equal(X_res[:80], X0)
    path = tmp_path / "X.npy"
    np.save(path, X0)
    Xm = np.load(path, mmap_mode="r")
    X_res_m, _ = KMeansSMOTE(**BASE).fit_resample(Xm, Y0)
    assert np.array_equal(X_res_m, X_res)


def test_huge_values_give_same_structure_as_scaled_data():
    # Scaling X by a power of two scales the output exactly.
    a, ya = KMeansSMOTE(**BASE).fit_resample(X0, Y0)
    b, yb = KMeansSMOTE(**BASE).fit_resample(np.ldexp(X0, 1000), Y0)
    assert np.array_equal(ya, yb)
    np.testing.assert_allclose(np.ldexp(b, -1000), a, rtol=1e-12, atol=0)


def test_kmeans_estimator_input_checks():
    with pytest.raises(ValueError, match="NaN"):
        KMeans(n_clusters=2).fit(_nan())
    with pytest.raises(InvalidParameterError, match="n_clusters"):
        KMeans(n_clusters=0).fit(X0)
