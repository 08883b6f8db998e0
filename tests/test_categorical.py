"""Categorical features (SMOTE-NC inside the clusters): kmsmote._categorical."""

import warnings
from collections import Counter

import numpy as np
import pytest

from kmsmote import KMeansSMOTE

try:
    from imblearn.over_sampling import SMOTE as RefSMOTE
except ImportError:  # pragma: no cover
    RefSMOTE = None

needs_ref = pytest.mark.skipif(RefSMOTE is None, reason="imbalanced-learn not installed")


# -- categorical features (moved from tests/test_beyond.py) ---------------------------------------------------------


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
