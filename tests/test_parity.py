"""Bit-for-bit parity with imbalanced-learn 0.14's KMeansSMOTE.

With an explicit scikit-learn clusterer and an int random_state both
libraries see the same clusters and the same random draws, so the outputs
must be identical arrays, not merely close ones.
"""

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_classification,
)
from sklearn.neighbors import NearestNeighbors

import kmsmote

imblearn_over = pytest.importorskip("imblearn.over_sampling")


def _readme_data():
    return make_classification(
        n_classes=2, weights=[0.1, 0.9], n_samples=1000,
        n_clusters_per_class=3, n_informative=3, n_redundant=1,
        flip_y=0, class_sep=2, n_features=20, random_state=10,
    )


def _multiclass_data():
    return make_classification(
        n_classes=3, weights=[0.1, 0.3, 0.6], n_informative=4, n_samples=1500,
        n_clusters_per_class=2, random_state=1,
    )


def _wide_data():
    # 25 features: the reference switches its neighbour search to brute force.
    return make_classification(
        n_samples=3000, n_features=25, n_informative=12, weights=[0.85, 0.15],
        n_clusters_per_class=4, random_state=3,
    )


def _blobs4():
    X, y = make_blobs(n_samples=[400, 120, 60, 30], n_features=5, random_state=7)
    return X, y


def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


def _wine():
    return load_wine(return_X_y=True)


# Data with exact ties and duplicate rows, where neighbour order is a
# question of tie breaking: scikit-learn's own search decides it.
def _iris_subset():
    X, y = load_iris(return_X_y=True)
    keep = np.r_[0:50, 50:70, 100:115]   # iris has duplicate rows
    return X[keep], y[keep]


def _digits_subset():
    X, y = load_digits(return_X_y=True)  # integer pixels: many equal distances
    rows = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 2)[:30]]
    return X[rows], y[rows]


def _duplicated_blobs():
    X, y = make_blobs(n_samples=[300, 60, 40], n_features=6, random_state=2)
    X = np.round(X, 1)                       # many equal distances
    X = np.vstack([X, X[y > 0][::3]])        # and exact duplicate rows
    return X, np.r_[y, y[y > 0][::3]]


CASES = {
    "readme-binary-mbk10": (
        _readme_data, dict(kmeans_estimator=MiniBatchKMeans(n_clusters=10, random_state=0),
                           random_state=42),
    ),
    "readme-float32-km20-thr0": (
        lambda: tuple((_readme_data()[0].astype(np.float32), _readme_data()[1])),
        dict(kmeans_estimator=SkKMeans(n_clusters=20, n_init=1, random_state=0),
             random_state=1, cluster_balance_threshold=0.0),
    ),
    "multiclass-km5-k3": (
        _multiclass_data, dict(kmeans_estimator=SkKMeans(n_clusters=5, n_init=1, random_state=2),
                               random_state=0, k_neighbors=3,
                               cluster_balance_threshold=0.05),
    ),
    "wide-mbk25-thr0-many-clusters": (
        _wide_data, dict(kmeans_estimator=MiniBatchKMeans(n_clusters=25, random_state=1),
                         random_state=5, cluster_balance_threshold=0.0),
    ),
    "blobs4-one-cluster-nn-object": (
        _blobs4, dict(kmeans_estimator=MiniBatchKMeans(n_clusters=1, random_state=0),
                      random_state=3, k_neighbors=NearestNeighbors(n_neighbors=4)),
    ),
    "blobs4-all-strategy": (
        _blobs4, dict(kmeans_estimator=SkKMeans(n_clusters=4, n_init=1, random_state=0),
                      random_state=11, sampling_strategy="all",
                      cluster_balance_threshold=0.1),
    ),
    "breast-cancer-real": (
        _breast_cancer, dict(kmeans_estimator=MiniBatchKMeans(n_clusters=6, random_state=0),
                             random_state=0, cluster_balance_threshold=0.2),
    ),
    "wine-real-float32-dict": (
        lambda: (_wine()[0].astype(np.float32), _wine()[1]),
        dict(kmeans_estimator=SkKMeans(n_clusters=3, n_init=1, random_state=0),
             random_state=4, sampling_strategy={0: 80, 1: 90, 2: 100},
             cluster_balance_threshold=0.0),
    ),
    "readme-float-ratio-nn-brute": (
        _readme_data, dict(kmeans_estimator=MiniBatchKMeans(n_clusters=8, random_state=3),
                           random_state=9, sampling_strategy=0.6,
                           k_neighbors=NearestNeighbors(n_neighbors=5, algorithm="brute"),
                           cluster_balance_threshold=0.2),
    ),
    "iris-ties-duplicates-kd-tree": (
        _iris_subset, dict(kmeans_estimator=SkKMeans(n_clusters=5, n_init=1, random_state=872),
                           random_state=371, sampling_strategy="all", k_neighbors=5,
                           cluster_balance_threshold=0.1),
    ),
    "digits-ties-brute-multiclass": (
        _digits_subset, dict(kmeans_estimator=MiniBatchKMeans(n_clusters=2, random_state=857),
                             random_state=575, sampling_strategy="not majority",
                             k_neighbors=5, cluster_balance_threshold=0.05),
    ),
    "digits-ties-one-cluster": (
        _digits_subset, dict(kmeans_estimator=SkKMeans(n_clusters=1, n_init=1, random_state=305),
                             random_state=816, sampling_strategy="minority", k_neighbors=5,
                             cluster_balance_threshold=0.0, density_exponent=2.0),
    ),
    "rounded-blobs-duplicate-rows": (
        _duplicated_blobs, dict(kmeans_estimator=SkKMeans(n_clusters=4, n_init=1, random_state=0),
                                random_state=8, k_neighbors=3, cluster_balance_threshold=0.0),
    ),
}


def _run_both(X, y, params):
    ours = kmsmote.KMeansSMOTE(**params)
    ref = imblearn_over.KMeansSMOTE(**params)
    return ours.fit_resample(X, y), ref.fit_resample(X, y), ours, ref


@pytest.mark.parametrize("case", sorted(CASES))
def test_identical_to_reference(case):
    make_data, params = CASES[case]
    X, y = make_data()
    X_before, y_before = X.copy(), y.copy()
    (Xo, yo), (Xr, yr), ours, ref = _run_both(X, y, params)
    assert Xo.dtype == Xr.dtype and yo.dtype == yr.dtype
    assert Xo.shape == Xr.shape
    assert np.array_equal(Xo, Xr)
    assert np.array_equal(yo, yr)
    assert ours.sampling_strategy_ == ref.sampling_strategy_
    assert list(ours.sampling_strategy_) == list(ref.sampling_strategy_)
    assert ours.cluster_balance_threshold_ == ref.cluster_balance_threshold_
    # nn_k_ is left fitted on the same rows (the last kept cluster's).
    assert np.array_equal(ours.nn_k_._fit_X, ref.nn_k_._fit_X)
    # The inputs are untouched.
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)
    # Something was generated, so the comparison is not vacuous.
    assert Xo.shape[0] > X.shape[0]


def test_many_kept_clusters_case_really_keeps_many():
    X, y = _wide_data()
    sampler = kmsmote.KMeansSMOTE(**CASES["wide-mbk25-thr0-many-clusters"][1])
    sampler.fit_resample(X, y)
    kept = {r["cluster"] for r in sampler.cluster_stats_ if r["kept"]}
    assert len(kept) >= 20


def test_random_state_instance_matches_reference_stream():
    X, y = _multiclass_data()
    params = dict(kmeans_estimator=SkKMeans(n_clusters=4, n_init=1, random_state=0),
                  cluster_balance_threshold=0.0)
    Xo, yo = kmsmote.KMeansSMOTE(random_state=np.random.RandomState(7), **params).fit_resample(X, y)
    Xr, yr = imblearn_over.KMeansSMOTE(random_state=np.random.RandomState(7), **params).fit_resample(X, y)
    assert np.array_equal(Xo, Xr) and np.array_equal(yo, yr)


def test_pandas_round_trip_matches_reference():
    pd = pytest.importorskip("pandas")
    X, y = _readme_data()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["f0"] = df["f0"].astype(np.float32)
    ys = pd.Series(y, name="target").astype("int32")
    params = CASES["readme-binary-mbk10"][1]
    Xo, yo = kmsmote.KMeansSMOTE(**params).fit_resample(df, ys)
    Xr, yr = imblearn_over.KMeansSMOTE(**params).fit_resample(df, ys)
    pd.testing.assert_frame_equal(Xo, Xr)
    pd.testing.assert_series_equal(yo, yr)
    assert list(Xo.dtypes) == list(Xr.dtypes)


def test_list_input_gives_list_output_like_reference():
    X, y = _blobs4()
    params = CASES["blobs4-all-strategy"][1]
    Xo, yo = kmsmote.KMeansSMOTE(**params).fit_resample(X.tolist(), y.tolist())
    Xr, yr = imblearn_over.KMeansSMOTE(**params).fit_resample(X.tolist(), y.tolist())
    assert isinstance(Xo, list) and isinstance(yo, list)
    assert Xo == Xr and yo == yr


def test_integer_features_match_reference_when_no_wraparound():
    rng = np.random.RandomState(0)
    X = rng.randint(-1000, 1000, size=(600, 4)).astype(np.int64)
    y = (rng.uniform(size=600) < 0.2).astype(int)
    params = dict(kmeans_estimator=SkKMeans(n_clusters=3, n_init=1, random_state=0),
                  random_state=0, cluster_balance_threshold=0.0)
    Xo, yo = kmsmote.KMeansSMOTE(**params).fit_resample(X, y)
    Xr, yr = imblearn_over.KMeansSMOTE(**params).fit_resample(X, y)
    assert Xo.dtype == np.int64
    assert np.array_equal(Xo, Xr) and np.array_equal(yo, yr)


@pytest.mark.parametrize("twins", [{"b": "Int64", "c": "UInt16"}, {"b": "Int8", "d": "boolean"}])
def test_nullable_columns_come_back_as_their_numpy_twins(twins):
    # The reference fails here: pandas will not cast 2.6 into Int64, nor 0.3
    # into boolean.  Ours gives those columns what int64 / uint16 / bool
    # columns get.
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(1)
    df = pd.DataFrame({"a": rng.normal(size=500), "b": rng.randint(-50, 50, 500),
                       "c": rng.randint(0, 900, 500).astype(np.uint16),
                       "d": rng.uniform(size=500) < 0.5})
    y = pd.Series((rng.uniform(size=500) < 0.2).astype(int), name="t")
    nullable = df.astype(twins)
    params = dict(kmeans_estimator=SkKMeans(n_clusters=3, n_init=1, random_state=0),
                  random_state=0, cluster_balance_threshold=0.0)
    Xo, yo = kmsmote.KMeansSMOTE(**params).fit_resample(nullable, y)
    Xn, yn = kmsmote.KMeansSMOTE(**params).fit_resample(df, y)
    assert [str(t) for t in Xo.dtypes] == [str(t) for t in nullable.dtypes]
    assert len(Xo) > len(df)
    for col in df.columns:
        assert np.array_equal(Xo[col].to_numpy(dtype=np.float64), Xn[col].to_numpy(dtype=np.float64))
    assert Xn["d"].dtype == bool and 0 < Xn["d"].mean() < 1
    pd.testing.assert_series_equal(yo, yn)
    with pytest.raises(TypeError, match="cannot safely cast|bool-like"):
        imblearn_over.KMeansSMOTE(**params).fit_resample(nullable, y)


def test_float16_matches_reference():
    # NumPy's float16 arithmetic: the difference is rounded to float16.
    X, y = _readme_data()
    X = X[:, :6].astype(np.float16)
    params = dict(kmeans_estimator=SkKMeans(n_clusters=3, n_init=1, random_state=0),
                  random_state=0, cluster_balance_threshold=0.0)
    Xo, yo = kmsmote.KMeansSMOTE(**params).fit_resample(X, y)
    Xr, yr = imblearn_over.KMeansSMOTE(**params).fit_resample(X, y)
    assert Xo.dtype == np.float16 and Xo.shape[0] > X.shape[0]
    assert np.array_equal(Xo, Xr) and np.array_equal(yo, yr)


def test_one_vs_all_target_matches_reference():
    from sklearn.preprocessing import label_binarize

    X, y = _multiclass_data()
    y_ova = label_binarize(y, classes=[0, 1, 2])
    params = CASES["multiclass-km5-k3"][1]
    Xo, yo = kmsmote.KMeansSMOTE(**params).fit_resample(X, y_ova)
    Xr, yr = imblearn_over.KMeansSMOTE(**params).fit_resample(X, y_ova)
    assert np.array_equal(Xo, Xr) and np.array_equal(yo, yr)
    assert yo.shape[1] == 3


def _count_sklearn_searches(monkeypatch, X, y, **params):
    calls = []
    original = NearestNeighbors.kneighbors

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NearestNeighbors, "kneighbors", spy)
    kmsmote.KMeansSMOTE(**params).fit_resample(X, y)
    return len(calls)


def test_ties_are_left_to_scikit_learn_and_only_ties(monkeypatch):
    params = dict(kmeans_estimator=SkKMeans(n_clusters=4, n_init=1, random_state=0),
                  random_state=0, cluster_balance_threshold=0.0)
    # Continuous data: no ties, the compiled search does everything.
    X, y = _wide_data()
    assert _count_sklearn_searches(monkeypatch, X, y, **params) == 0
    # Nor as float32 CSR, whose reference search stores squared distances in
    # float32: the wider near-tie margin that calls for must not flag it.
    from scipy import sparse

    X32 = sparse.csr_matrix(X.astype(np.float32))
    assert _count_sklearn_searches(monkeypatch, X32, y, **params) == 0
    # Duplicate rows: scikit-learn orders the tied neighbours, as in the reference.
    X, y = _duplicated_blobs()
    assert _count_sklearn_searches(monkeypatch, X, y, **params) > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_ties_are_ordered_as_the_reference_orders_them(seed):
    # Small integers: many exactly equal distances.  scikit-learn's search,
    # which settles ties for the reference, may order them otherwise for an
    # int64 array than for its float64 copy (small sets go to brute force,
    # whose float64 and integer paths differ): it must see the user's rows.
    rng = np.random.RandomState(seed)
    X = rng.randint(-4, 5, size=(120, 3)).astype(np.int64)
    y = (rng.rand(120) < 0.3).astype(np.int64)
    params = dict(kmeans_estimator=MiniBatchKMeans(n_clusters=4, random_state=seed),
                  random_state=seed, k_neighbors=4, cluster_balance_threshold=0.0)
    (Xo, yo), (Xr, yr), ours, ref = _run_both(X, y, params)
    assert Xo.dtype == np.int64 and Xo.shape[0] > X.shape[0]
    assert np.array_equal(Xo, Xr) and np.array_equal(yo, yr)
    assert np.array_equal(ours.nn_k_._fit_X, ref.nn_k_._fit_X)


def _short_documents_tfidf(seed, n_docs, n_words, doc_len, minority=0.2):
    # TF-IDF rows of short documents drawn from a small vocabulary, as
    # float32 CSR: many distances that float32 cannot tell apart.
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = np.random.RandomState(seed)
    lengths = rng.randint(doc_len[0], doc_len[1] + 1, size=n_docs)
    words = rng.randint(n_words, size=lengths.sum())
    docs = [" ".join(f"w{i}" for i in doc) for doc in np.split(words, np.cumsum(lengths)[:-1])]
    X = TfidfVectorizer().fit_transform(docs).astype(np.float32).tocsr()
    y = (rng.rand(n_docs) < minority).astype(np.int64)
    return X, y


# (seed, documents, vocabulary, words per document, k_neighbors, clusters):
# five of the 16 in 40 random such configurations whose sparse output
# differed from the reference's before squared distances stored in float32
# counted as near ties (42, 27, 29, 10 and 17 synthetic rows; 0 of 100
# configurations differ now).
TFIDF_CASES = [
    (901, 300, 37, (2, 4), 5, 4),
    (291, 300, 60, (2, 7), 2, 3),
    (976, 600, 89, (4, 5), 5, 5),
    (849, 400, 97, (2, 4), 2, 5),
    (274, 300, 74, (4, 6), 3, 6),
]


@pytest.mark.parametrize("seed, n_docs, n_words, doc_len, k, n_clusters", TFIDF_CASES)
def test_float32_csr_near_ties_follow_the_reference_sparse_order(seed, n_docs, n_words, doc_len,
                                                                 k, n_clusters):
    # For sparse float32 rows scikit-learn computes squared distances in
    # float64 and stores them in float32, so distances closer than a float32
    # ulp come out equal and its sort orders them: the reference's sparse
    # result then differs from its dense one (float64 throughout), and ours
    # must follow each.
    from scipy import sparse

    X, y = _short_documents_tfidf(seed, n_docs, n_words, doc_len)
    X_before = X.copy()
    params = dict(kmeans_estimator=MiniBatchKMeans(n_clusters=n_clusters, random_state=seed),
                  random_state=seed, k_neighbors=k, cluster_balance_threshold=0.0)
    (Xo, yo), (Xr, yr), ours, ref = _run_both(X, y, params)
    assert sparse.issparse(Xo) and Xo.dtype == Xr.dtype == np.float32
    assert Xo.shape == Xr.shape and Xo.shape[0] > X.shape[0]
    assert (Xo != Xr).nnz == 0
    assert np.array_equal(yo, yr)
    assert np.array_equal(ours.nn_k_._fit_X.toarray(), ref.nn_k_._fit_X.toarray())
    assert (X != X_before).nnz == 0
    # Dense float32: the reference's dense order, which here is not its
    # sparse one (so each comparison above and below tells something).
    (Xo_d, yo_d), (Xr_d, yr_d), _, _ = _run_both(X.toarray(), y, params)
    assert Xo_d.dtype == np.float32
    assert np.array_equal(Xo_d, Xr_d) and np.array_equal(yo_d, yr_d)
    assert not np.array_equal(Xr_d, Xr.toarray())


def test_may_tie_counts_float32_storage_of_squared_distances():
    from kmsmote._data import _may_tie

    # Two neighbours at squared distances 1 and 1 + 2^-25: apart in float64
    # arithmetic (its rounding bound here is ~1e-14), equal once stored in
    # float32.
    d2 = np.array([[1.0, 1.0 + 2.0 ** -25]])
    assert np.float32(d2[0, 0]) == np.float32(d2[0, 1])
    nn, dist = np.array([[1, 2]]), np.sqrt(d2)
    norms = np.array([0.5, 0.5, 0.5])
    assert not _may_tie(norms, nn, dist, 2, 4)
    assert _may_tie(norms, nn, dist, 2, 4, float32_distances=True)
    # Four float32 ulps apart: distinct in float32 too.
    dist = np.sqrt(np.array([[1.0, 1.0 + 2.0 ** -21]]))
    assert not _may_tie(norms, nn, dist, 2, 4, float32_distances=True)
    # Below float32's smallest normal, the absolute spacing 2^-149 counts.
    dist = np.sqrt(np.array([[2.0 ** -140, 2.0 ** -140 + 2.0 ** -150]]))
    assert not _may_tie(np.zeros(3), nn, dist, 2, 4)
    assert _may_tie(np.zeros(3), nn, dist, 2, 4, float32_distances=True)
