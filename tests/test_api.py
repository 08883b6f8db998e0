"""The estimator contract: parameters, errors, attributes, containers."""

import inspect
import math
import pickle
from collections import Counter

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError

import kmsmote
from kmsmote import KMeansSMOTE

try:
    from imblearn.over_sampling import KMeansSMOTE as RefKMeansSMOTE
except ImportError:  # pragma: no cover
    RefKMeansSMOTE = None

needs_ref = pytest.mark.skipif(RefKMeansSMOTE is None, reason="imbalanced-learn not installed")


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_classes=2, weights=[0.1, 0.9], n_samples=1000,
        n_clusters_per_class=3, n_informative=3, n_redundant=1,
        flip_y=0, class_sep=2, n_features=20, random_state=10,
    )


@pytest.fixture(scope="module")
def data3():
    return make_classification(
        n_classes=3, weights=[0.15, 0.25, 0.6], n_informative=4, n_samples=900,
        random_state=0,
    )


# -- constructor ---------------------------------------------------------------


@needs_ref
def test_constructor_has_the_reference_parameters_and_defaults():
    ours = inspect.signature(KMeansSMOTE.__init__).parameters
    ref = inspect.signature(RefKMeansSMOTE.__init__).parameters
    for name, param in ref.items():
        if name == "self":
            continue
        assert name in ours
        assert ours[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert ours[name].default == param.default
    extra = set(ours) - set(ref)
    assert extra == {"allocation", "no_cluster_policy", "small_clusters", "cluster_filter",
                     "categorical_features", "neighbors"}
    assert ours["allocation"].default == "ceil"


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        KMeansSMOTE("auto")


def test_get_set_params_clone_pickle(data):
    X, y = data
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=10, k_neighbors=3)
    assert sampler.get_params()["k_neighbors"] == 3
    sampler.set_params(k_neighbors=2)
    twin = clone(sampler)
    assert twin.get_params() == sampler.get_params()
    X1, y1 = sampler.fit_resample(X, y)
    restored = pickle.loads(pickle.dumps(sampler))
    X2, y2 = restored.fit_resample(X, y)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert restored.cluster_stats_ == sampler.cluster_stats_ or len(restored.cluster_stats_) == len(sampler.cluster_stats_)


# -- parameter validation (scikit-learn's InvalidParameterError at fit) --------

BAD_PARAMS = [
    dict(k_neighbors=0),
    dict(k_neighbors=-3),
    dict(k_neighbors="three"),
    dict(kmeans_estimator=0),
    dict(kmeans_estimator="kmeans"),
    dict(kmeans_estimator=object()),
    dict(cluster_balance_threshold="high"),
    dict(density_exponent="paper"),
    dict(sampling_strategy="majority"),
    dict(sampling_strategy=1.5),
    dict(sampling_strategy=0.0),
    dict(sampling_strategy=[0, 1]),
    dict(random_state="seed"),
    dict(n_jobs=1.5),
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=lambda p: repr(p))
def test_invalid_parameters_raise_at_fit_like_reference(params, data):
    X, y = data
    sampler = KMeansSMOTE(**params)  # construction only stores
    with pytest.raises(InvalidParameterError) as ours:
        sampler.fit_resample(X, y)
    assert list(params)[0] in str(ours.value)
    if RefKMeansSMOTE is not None:
        with pytest.raises(InvalidParameterError) as ref:
            RefKMeansSMOTE(**params).fit_resample(X, y)
        assert _normalise_sets(str(ours.value)) == _normalise_sets(str(ref.value))


def _normalise_sets(message):
    # Both messages list a set of options; a set's printed order may differ
    # between two equal sets, so compare them sorted.
    import re

    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
                  message)


def test_invalid_allocation(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="allocation"):
        KMeansSMOTE(allocation="round").fit_resample(X, y)


# -- sampling strategies ---------------------------------------------------------

STRATEGIES = ["auto", "minority", "not minority", "not majority", "all",
              {0: 400, 1: 300}, lambda y: {0: 350}]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=repr)
def test_sampling_strategy_forms_multiclass(strategy, data3):
    X, y = data3
    counts = Counter(y.tolist())
    sampler = KMeansSMOTE(sampling_strategy=strategy, random_state=0, kmeans_estimator=3,
                          cluster_balance_threshold=0.0, allocation="exact")
    X_res, y_res = sampler.fit_resample(X, y)
    after = Counter(y_res.tolist())
    for label, n_new in sampler.sampling_strategy_.items():
        assert after[label] == counts[label] + n_new
    assert list(sampler.sampling_strategy_) == sorted(sampler.sampling_strategy_)
    if RefKMeansSMOTE is not None:
        ref = RefKMeansSMOTE(sampling_strategy=strategy, random_state=0,
                             kmeans_estimator=3, cluster_balance_threshold=0.0)
        ref.fit(X, y)
        assert dict(ref.sampling_strategy_) == dict(sampler.sampling_strategy_)


BAD_STRATEGIES = [
    ({5: 100}, ValueError),
    ({0: -1}, ValueError),
    ({0: 10}, ValueError),
    (0.5, ValueError),  # float on a multiclass target
]


@pytest.mark.parametrize("strategy,exc", BAD_STRATEGIES, ids=repr)
def test_sampling_strategy_errors_match_reference(strategy, exc, data3):
    X, y = data3
    with pytest.raises(exc) as ours:
        KMeansSMOTE(sampling_strategy=strategy).fit_resample(X, y)
    if RefKMeansSMOTE is not None:
        with pytest.raises(exc) as ref:
            RefKMeansSMOTE(sampling_strategy=strategy).fit_resample(X, y)
        assert str(ours.value) == str(ref.value)


def test_float_ratio_that_would_remove_samples(data):
    X, y = data
    with pytest.raises(ValueError, match="Please increase the ratio"):
        KMeansSMOTE(sampling_strategy=0.05).fit_resample(X, y)


def test_single_class_and_continuous_target_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        KMeansSMOTE().fit_resample(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="Unknown label type"):
        KMeansSMOTE().fit_resample(X, np.linspace(0, 1, len(y)))


# -- fitted attributes -------------------------------------------------------------


def test_fitted_attributes(data):
    X, y = data
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=10).fit(X, y)
    assert sampler.sampling_strategy_ == {0: 800}
    sampler.fit_resample(X, y)
    assert isinstance(sampler.kmeans_estimator_, kmsmote.KMeans)
    assert sampler.kmeans_estimator_.n_clusters == 10
    assert sampler.nn_k_.n_neighbors == 3
    assert sampler.cluster_balance_threshold_ == "auto"
    # nn_k_ is fitted on the last kept cluster's rows of the class, also
    # when first read after a pickle round trip, and a refit starts over.
    last = [r for r in sampler.cluster_stats_ if r["kept"]][-1]
    labels = sampler.kmeans_estimator_.labels_
    rows = X[(labels == last["cluster"]) & (y == last["class"])]
    restored = pickle.loads(pickle.dumps(sampler))
    for fitted in (sampler, restored):
        assert np.array_equal(fitted.nn_k_._fit_X, rows)
    assert "nn_k_" not in vars(KMeansSMOTE())
    assert not hasattr(KMeansSMOTE(), "nn_k_")
    sampler.fit_resample(X[::-1].copy(), y[::-1].copy())
    assert not np.array_equal(sampler.nn_k_._fit_X, rows)
    assert sampler.n_features_in_ == X.shape[1]
    assert not hasattr(sampler, "feature_names_in_")
    stats = sampler.cluster_stats_
    assert {r["cluster"] for r in stats} <= set(range(10))
    kept = [r for r in stats if r["kept"]]
    assert kept and all(r["class_fraction"] >= r["threshold"] for r in kept)
    assert math.isclose(sum(r["weight"] for r in kept), 1.0, rel_tol=1e-6)
    assert sum(r["n_generated"] for r in kept) >= 800
    for r in stats:
        if not r["kept"]:
            assert r["n_generated"] == 0 and r["reason"] != "kept"


def test_default_clusterer_sizes(data):
    X, y = data
    s = KMeansSMOTE(random_state=0, cluster_balance_threshold=0.0).fit_resample(X, y)
    assert s[0].shape[0] >= 1800
    sampler = KMeansSMOTE(random_state=0, cluster_balance_threshold=0.0)
    sampler.fit_resample(X, y)
    assert sampler.kmeans_estimator_.n_clusters == 8
    assert sampler.kmeans_estimator_.random_state == 0


def test_feature_names_in_for_dataframes(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=10)
    X_res, y_res = sampler.fit_resample(df, pd.Series(y, name="t"))
    assert list(sampler.feature_names_in_) == list(df.columns)
    assert list(sampler.get_feature_names_out()) == list(df.columns)
    assert isinstance(X_res, pd.DataFrame) and y_res.name == "t"
    assert (X_res.index == y_res.index).all()


def test_single_cluster_threshold_is_minus_inf(data):
    X, y = data
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=1)
    sampler.fit_resample(X, y)
    assert sampler.cluster_balance_threshold_ == -np.inf


# -- behaviour -------------------------------------------------------------------------


def test_original_rows_first_then_sorted_class_then_cluster(data3):
    X, y = data3
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=4, cluster_balance_threshold=0.0)
    X_res, y_res = sampler.fit_resample(X, y)
    n = len(y)
    assert np.array_equal(X_res[:n], X) and np.array_equal(y_res[:n], y)
    synth_classes = y_res[n:]
    assert np.all(np.diff(synth_classes) >= 0)
    expected = [r for r in sampler.cluster_stats_ if r["kept"]]
    labels = []
    for r in expected:
        labels += [r["class"]] * r["n_generated"]
    assert np.array_equal(synth_classes, labels)


def test_synthetic_points_lie_between_same_cluster_same_class_pairs(data3):
    X, y = data3
    sampler = KMeansSMOTE(random_state=1, kmeans_estimator=5, cluster_balance_threshold=0.0,
                          k_neighbors=3)
    X_res, y_res = sampler.fit_resample(X, y)
    labels = sampler.kmeans_estimator_.labels_
    n = len(y)
    offset = n
    for r in [r for r in sampler.cluster_stats_ if r["kept"]]:
        members = np.flatnonzero((labels == r["cluster"]) & (y == r["class"]))
        P = X[members]
        for s in X_res[offset:offset + r["n_generated"]]:
            # s = a + u (b - a) for some pair (a, b) of members, u in [0, 1)
            found = False
            diff = P[None, :, :] - P[:, None, :]
            rel = s[None, None, :] - P[:, None, :]
            num = np.einsum("ijk,ijk->ij", rel, diff)
            den = np.einsum("ijk,ijk->ij", diff, diff)
            with np.errstate(invalid="ignore", divide="ignore"):
                u = num / den
            ok = (u >= -1e-9) & (u <= 1 + 1e-9)
            resid = np.linalg.norm(rel - u[:, :, None] * diff, axis=2)
            found = np.any(ok & (resid < 1e-8 * (1 + np.abs(s).max())))
            assert found
        offset += r["n_generated"]
    assert offset == len(y_res)


def test_same_seed_same_output_and_threads_do_not_matter(data3):
    X, y = data3
    outs = [
        KMeansSMOTE(random_state=3, kmeans_estimator=6, n_jobs=n_jobs,
                    cluster_balance_threshold=0.0).fit_resample(X, y)
        for n_jobs in (1, 2, 1, None)
    ]
    for X_res, y_res in outs[1:]:
        assert np.array_equal(X_res, outs[0][0]) and np.array_equal(y_res, outs[0][1])


def test_no_cluster_error_text_and_hint():
    X, y = make_classification(n_samples=300, weights=[0.97, 0.03], random_state=0,
                               n_clusters_per_class=1, flip_y=0)
    with pytest.raises(RuntimeError) as exc:
        KMeansSMOTE(random_state=0, kmeans_estimator=2, cluster_balance_threshold=0.9,
                    ).fit_resample(X, y)
    msg = str(exc.value)
    assert msg.startswith(
        "No clusters found with sufficient samples of class 1. Try lowering the "
        "cluster_balance_threshold or increasing the number of clusters."
    )
    assert "Highest fraction" in msg and "0.9" in msg


def test_float32_stays_float32_and_uint8_never_wraps():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(400, 3)).astype(np.uint8)
    y = np.r_[np.zeros(300, int), np.ones(100, int)]
    X_res, _ = KMeansSMOTE(random_state=0, kmeans_estimator=1).fit_resample(X, y)
    assert X_res.dtype == np.uint8
    # Every synthetic value lies between the feature's min and max.
    assert X_res[400:].min() >= X[y == 1].min() and X_res[400:].max() <= X[y == 1].max()
    Xf = X.astype(np.float32)
    X_res32, _ = KMeansSMOTE(random_state=0, kmeans_estimator=2,
                             cluster_balance_threshold=0.0).fit_resample(Xf, y)
    assert X_res32.dtype == np.float32


def test_duplicate_points_do_not_crash():
    X = np.r_[np.zeros((50, 2)), np.ones((10, 2)), np.full((10, 2), 5.0)]
    y = np.r_[np.zeros(50, int), np.ones(20, int)]
    X_res, y_res = KMeansSMOTE(random_state=0, kmeans_estimator=3,
                               cluster_balance_threshold=0.0).fit_resample(X, y)
    assert Counter(y_res.tolist())[1] >= 50
    assert np.all(np.isfinite(X_res))
    new = X_res[70:]
    # Duplicates only: every synthetic point is one of the class points.
    assert all(any(np.array_equal(p, q) for q in ([1, 1], [5, 5])) for p in new)


def test_overflowing_sparsity_gives_weights_not_nan():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(300, 4)) * 1e6, rng.normal(size=(300, 4)) * 1e6 + 1e8]
    y = np.r_[np.zeros(250, int), np.ones(50, int), np.zeros(250, int), np.ones(50, int)]
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=2, density_exponent=60.0,
                          cluster_balance_threshold=0.0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.all(np.isfinite(X_res))
    kept = [r for r in sampler.cluster_stats_ if r["kept"]]
    assert len(kept) == 2 and math.isclose(sum(r["weight"] for r in kept), 1.0, rel_tol=1e-9)
    assert sum(r["n_generated"] for r in kept) >= 400
    if RefKMeansSMOTE is not None:
        # The reference overflows to inf / inf = NaN and fails.
        params = dict(random_state=0, kmeans_estimator=SkKMeans(n_clusters=2, n_init=1, random_state=0),
                      density_exponent=60.0, cluster_balance_threshold=0.0)
        with pytest.raises(ValueError, match="NaN"), np.errstate(all="ignore"):
            RefKMeansSMOTE(**params).fit_resample(X, y)
        X_ours, _ = KMeansSMOTE(**params).fit_resample(X, y)
        assert np.all(np.isfinite(X_ours))


def test_weights_equal_reference_formula_when_finite():
    from kmsmote._plan import cluster_weights

    means = [1.5, 2.25, 0.75]
    counts = [10, 40, 25]
    w, _ = cluster_weights(means, counts, None, np.float64)
    s = np.array([(np.float64(md) ** (math.log(m, 1.6) ** 1.8 * 0.16)) / m
                  for md, m in zip(means, counts)])
    assert np.array_equal(w, s / s.sum())
    w0, _ = cluster_weights([0.0, 0.0], [5, 7], None, np.float64)
    assert np.array_equal(w0, [0.5, 0.5])


@pytest.mark.parametrize("strategy", ["auto", "all", {0: 333, 1: 401}])
def test_exact_allocation_gives_exact_counts(strategy, data3):
    X, y = data3
    counts = Counter(y.tolist())
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=7, allocation="exact",
                          cluster_balance_threshold=0.0, sampling_strategy=strategy)
    _, y_res = sampler.fit_resample(X, y)
    after = Counter(y_res.tolist())
    for label, n_new in sampler.sampling_strategy_.items():
        assert after[label] == counts[label] + n_new


def test_ceil_allocation_overshoots_by_at_most_one_per_kept_cluster(data3):
    X, y = data3
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=7, cluster_balance_threshold=0.0)
    _, y_res = sampler.fit_resample(X, y)
    after, before = Counter(y_res.tolist()), Counter(y.tolist())
    for label, n_new in sampler.sampling_strategy_.items():
        n_kept = sum(1 for r in sampler.cluster_stats_ if r["kept"] and r["class"] == label)
        extra = after[label] - before[label] - n_new
        assert 0 <= extra <= n_kept


def test_clusterer_with_bad_labels_is_refused(data):
    X, y = data

    class Bad(MiniBatchKMeans):
        def fit_predict(self, X, y=None, sample_weight=None):
            return np.full(X.shape[0], self.n_clusters)

    with pytest.raises(ValueError, match="outside"):
        KMeansSMOTE(kmeans_estimator=Bad(n_clusters=3)).fit_resample(X, y)


def test_sklearn_clusterer_is_cloned_not_mutated(data):
    X, y = data
    km = SkKMeans(n_clusters=4, n_init=1, random_state=0)
    KMeansSMOTE(kmeans_estimator=km, random_state=0,
                cluster_balance_threshold=0.0).fit_resample(X, y)
    assert not hasattr(km, "cluster_centers_")


def test_nothing_to_generate_returns_copy():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.r_[np.zeros(5, int), np.ones(5, int)]
    X_res, y_res = KMeansSMOTE(random_state=0).fit_resample(X, y)
    assert np.array_equal(X_res, X) and X_res is not X


# -- pipelines -------------------------------------------------------------------------


def test_in_imblearn_pipeline_cross_validate_and_grid_search(data):
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, cross_validate

    X, y = data
    pipe = pipeline.make_pipeline(KMeansSMOTE(random_state=0, kmeans_estimator=5),
                                  LogisticRegression())
    scores = cross_validate(pipe, X, y, cv=3, scoring="balanced_accuracy")
    assert np.all(scores["test_score"] > 0.5)
    grid = GridSearchCV(pipe, {"kmeanssmote__k_neighbors": [2, 3]}, cv=3,
                        scoring="balanced_accuracy")
    grid.fit(X, y)
    assert grid.best_params_["kmeanssmote__k_neighbors"] in (2, 3)


def test_ndarray_validation_matches_scikit_learns():
    # NumPy input skips scikit-learn's feature-name lookup (validate_fit_data):
    # the attributes and errors must be those of validate_data.
    pd = pytest.importorskip("pandas")
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import validate_data

    from kmsmote import KMeans
    from kmsmote._validation import validate_fit_data

    X, y = make_classification(n_samples=200, weights=[0.8, 0.2], random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    for est, args in [(KMeansSMOTE(random_state=0), (y,)), (KMeans(3, random_state=0), ())]:
        fit = est.fit_resample if hasattr(est, "fit_resample") else est.fit
        fit(df, *args)
        assert list(est.feature_names_in_) == list(df.columns)
        fit(X, *args)
        assert not hasattr(est, "feature_names_in_")
        assert est.n_features_in_ == X.shape[1]

    class Plain(BaseEstimator):
        pass

    bad = X.copy()
    bad[3, 2] = np.nan
    inf = X.astype(np.float32)
    inf[7, 0] = -np.inf
    for Xb, yb in [(bad, y), (inf, y), (X[:, 0], y), (X[:0], y[:0]), (X, y[:-1]),
                   (np.asfortranarray(bad), y), (bad, y.astype(float))]:
        with pytest.raises(ValueError) as ours:
            validate_fit_data(Plain(), Xb, yb)
        with pytest.raises(ValueError) as theirs:
            validate_data(Plain(), X=Xb, y=yb, reset=True)
        assert str(ours.value) == str(theirs.value)
    # kmsmote.KMeans checks its own input the same way.
    for Xb in [bad, inf]:
        with pytest.raises(ValueError) as ours:
            KMeans(3).fit(Xb)
        with pytest.raises(ValueError) as theirs:
            validate_data(KMeans(3), X=Xb, reset=True, accept_sparse="csr",
                          dtype=[np.float64, np.float32], order="C")
        assert str(ours.value) == str(theirs.value)
