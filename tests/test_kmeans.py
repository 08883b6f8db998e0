"""kmsmote.KMeans, the default clusterer."""

import numpy as np
import pytest
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import make_blobs, make_classification

from kmsmote import KMeans


@pytest.fixture(scope="module")
def X():
    X, _ = make_classification(n_samples=20_000, n_features=20, n_informative=10,
                               weights=[0.9, 0.1], n_clusters_per_class=3, random_state=0)
    return X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fitted_attributes_and_consistency(X, dtype):
    Xd = X.astype(dtype)
    km = KMeans(n_clusters=7, random_state=0).fit(Xd)
    assert km.cluster_centers_.shape == (7, X.shape[1])
    assert km.cluster_centers_.dtype == dtype
    assert km.labels_.shape == (X.shape[0],)
    assert km.n_features_in_ == X.shape[1]
    assert 1 <= km.n_iter_ <= 300
    d2 = ((Xd[:, None, :].astype(np.float64) - km.cluster_centers_[None].astype(np.float64)) ** 2).sum(-1)
    assert np.array_equal(km.predict(Xd), km.labels_)
    assert np.all(d2[np.arange(len(Xd)), km.labels_] <= d2.min(axis=1) * (1 + 1e-5) + 1e-9)
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(km.inertia_, d2.min(axis=1).sum(), rtol=rtol)
    np.testing.assert_allclose(-km.score(Xd), km.inertia_, rtol=rtol)
    assert np.array_equal(km.fit_predict(Xd), km.labels_)


def test_inertia_no_worse_than_minibatch_median_of_5_seeds(X):
    ours, theirs = [], []
    for seed in range(5):
        ours.append(KMeans(n_clusters=20, random_state=seed).fit(X).inertia_)
        theirs.append(MiniBatchKMeans(n_clusters=20, random_state=seed).fit(X).inertia_)
    assert np.median(ours) <= np.median(theirs)


def test_sample_stage_stops_at_its_sampling_noise(X):
    # The sample stage stops once the centres move less than 3 % of their
    # sampling noise: fewer iterations than scikit-learn's tol alone, and
    # after the refinement on all rows nearly the same inertia.
    class TolOnly(KMeans):
        def _sample_tol(self, shape, variance, tol):
            return tol

    for seed in range(3):
        ours = KMeans(n_clusters=20, random_state=seed).fit(X)
        strict = TolOnly(n_clusters=20, random_state=seed).fit(X)
        assert ours.n_iter_ < strict.n_iter_
        assert ours.inertia_ <= strict.inertia_ * 1.005
    # Without a sample, scikit-learn's rule alone.
    full = KMeans(n_clusters=20, random_state=0, sample_size=None).fit(X[:5000])
    strict = TolOnly(n_clusters=20, random_state=0, sample_size=None).fit(X[:5000])
    assert np.array_equal(full.cluster_centers_, strict.cluster_centers_)
    assert full.n_iter_ == strict.n_iter_


def test_auto_sample_grows_with_the_data():
    rng = np.random.RandomState(0)
    km = KMeans(n_clusters=20)
    assert km._sample_rows(9_000, rng) is None  # all rows: plain Lloyd
    assert km._sample_rows(100_000, rng).size == 10_000
    assert KMeans(n_clusters=60)._sample_rows(100_000, rng).size == 30_000
    rows = km._sample_rows(2_000_000, rng)
    assert rows.size == 40_000  # n_samples // 50
    assert np.all(np.diff(rows) > 0) and rows[-1] < 2_000_000
    assert km._sample_rows(20_000_000, rng).size == 50_000  # at most 50,000 that way
    assert KMeans(n_clusters=200)._sample_rows(20_000_000, rng).size == 100_000


def test_refinement_lowers_the_inertia(X):
    # A Lloyd step on all rows (means of the sample centres' labels, then the
    # labels of the new centres) cannot raise the inertia.
    for seed in range(3):
        assigned = KMeans(n_clusters=20, random_state=seed, refine_iter=0).fit(X)
        refined = KMeans(n_clusters=20, random_state=seed).fit(X)
        assert refined.n_iter_ <= assigned.n_iter_ + 1
        assert refined.inertia_ <= assigned.inertia_ * (1 + 1e-12)


def test_deterministic_and_thread_independent(X):
    a = KMeans(n_clusters=9, random_state=3, n_jobs=1).fit(X)
    b = KMeans(n_clusters=9, random_state=3, n_jobs=2).fit(X)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert np.array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_


def test_separated_blobs_are_found():
    X, y = make_blobs(n_samples=3000, centers=4, cluster_std=0.3, random_state=1)
    km = KMeans(n_clusters=4, random_state=0).fit(X)
    # Each true blob maps to exactly one cluster.
    for label in range(4):
        assert np.unique(km.labels_[y == label]).size == 1


def test_init_array_and_random():
    X, _ = make_blobs(n_samples=500, centers=3, random_state=0)
    init = X[:3].copy()
    km = KMeans(n_clusters=3, init=init, random_state=0).fit(X)
    assert np.array_equal(init, X[:3])
    assert km.inertia_ > 0
    km2 = KMeans(n_clusters=3, init="random", n_init=3, random_state=0).fit(X)
    assert km2.cluster_centers_.shape == (3, 2)
    with pytest.raises(ValueError, match="shape of the initial centers"):
        KMeans(n_clusters=4, init=init).fit(X)


def test_too_few_samples():
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=5"):
        KMeans(n_clusters=5).fit(np.eye(3))
