"""The approximate neighbour path (neighbors="approximate" / "auto"): its
kernels, its search and mean estimate, and what the estimator does with
them.  Sizes are kept small by shrinking the cells and the exact-mean limit
(module constants); bench/approx.py measures the shipped settings at
scale."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_blobs, make_classification
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from kmsmote import KMeansSMOTE, _approx, _kmeans, _kmeans_smote, _neighbors, _plan


def gaussian_set(m=6000, d=12, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=4.0, size=(5, d))
    X = centres[rng.randint(0, 5, size=m)] + rng.normal(size=(m, d))
    return np.ascontiguousarray(X, dtype=dtype)


def recall(approx, exact):
    k = exact.shape[1]
    hits = sum(len(set(a) & set(b)) for a, b in zip(approx.tolist(), exact.tolist()))
    return hits / exact.size if k else 1.0


# ---------------------------------------------------------------------------
# Kernels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nearest_centers_ranks_centres_as_kmeans_assigns_them(dtype):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(700, 9)).astype(dtype)
    centers = rng.normal(size=(23, 9)).astype(dtype)
    rows = np.arange(0, 700, 2)
    got = _neighbors.nearest_centers(X, rows, centers, 5, 2)
    d2 = ((X[rows, None, :].astype(np.float64) - centers[None].astype(np.float64)) ** 2).sum(-1)
    assert np.array_equal(got, np.argsort(d2, axis=1, kind="stable")[:, :5])
    labels = _kmeans.assign(np.ascontiguousarray(X[rows]), centers, 1)[0]
    assert np.array_equal(got[:, 0], labels)
    assert np.array_equal(_neighbors.nearest_centers(X, rows, centers, 5, 1), got)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index", [np.int32, np.int64])
def test_csr_kernels_equal_the_dense_ones(dtype, index):
    X = sparse.random(400, 60, density=0.15, format="csr", random_state=3, dtype=dtype)
    X.indices = X.indices.astype(index)
    X.indptr = X.indptr.astype(index)
    dense = X.toarray()
    rng = np.random.RandomState(0)
    rows = rng.choice(400, 250, replace=False)
    centers = rng.normal(size=(17, 60)).astype(dtype)
    assert np.array_equal(_neighbors.csr_nearest_centers(X, rows, centers, 3, 2),
                          _neighbors.nearest_centers(dense, rows, centers, 3, 2))
    a, b = rng.randint(0, 400, 3000), rng.randint(0, 400, 3000)
    assert np.array_equal(_neighbors.csr_pair_distances(X, a, b, 2),
                          _neighbors.pair_distances(dense, a, b, 2))
    assert (_neighbors.csr_sample_pair_distances(X, rows, 9, 5, 5000, 0.7, 2)
            == _neighbors.sample_pair_distances(dense, rows, 9, 5, 5000, 0.7, 1))


def test_pair_distances_are_the_exact_kernels_distances():
    X = gaussian_set(m=500, d=7)
    rows = np.arange(500)
    nn, nn_dist, _ = _neighbors.knn_sparsity(X, rows, 3, 1, return_distance=True)
    got = _neighbors.pair_distances(X, np.repeat(rows, 3), nn.ravel(), 2)
    assert np.array_equal(got, nn_dist.ravel())  # bit for bit


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [5, 3000])  # 3000: blocks of 8 members (the cache budget)
def test_knn_cells_ranks_the_members_of_the_query_cells(dtype, d):
    rng = np.random.RandomState(2)
    n = 900
    X = rng.normal(size=(n, d)).astype(dtype)
    X[7] = X[9]  # a tie: the lower row first
    # Cells: one of 600 rows (more than a block), small ones, an empty one,
    # and a row twice in one cell.
    cells = [rng.choice(n, 600, replace=False), rng.choice(n, 40, replace=False),
             np.array([9, 7, 9, 3]), np.array([], dtype=np.int64), np.array([11, 5]),
             rng.choice(n, 90, replace=False)]
    ptr = np.concatenate([[0], np.cumsum([c.size for c in cells])])
    members = np.concatenate(cells).astype(np.int64)
    queries = np.array([3, 7, 9, 11, 600])
    query_cells = np.array([[0, 2, 5], [2, 1, -1], [2, 2, 3], [4, -1, -1], [5, 0, 1]])
    got = _neighbors.knn_cells(X, queries, query_cells, ptr, members, 3, 2)
    for q, qc, row in zip(queries, query_cells, got):
        o = np.unique(np.concatenate([cells[c] for c in qc if c >= 0]))
        o = o[o != q]
        dist = _neighbors.pair_distances(X, np.full(o.size, q), o, 1)
        want = o[np.lexsort((o, dist))][:3]
        assert np.array_equal(row[:want.size], want) and np.all(row[want.size:] == -1)
    assert got[1, 0] == 9 and got[2, 0] == 7
    assert np.array_equal(got[3], [5, -1, -1])  # fewer than k others
    # Each list alone, and one thread: the same lists.
    for i in range(queries.size):
        alone = _neighbors.knn_cells(X, queries[i:i + 1], query_cells[i:i + 1], ptr,
                                     members, 3, 1)
        assert np.array_equal(alone[0], got[i])
    with pytest.raises(ValueError, match="query_cells"):
        _neighbors.knn_cells(X, queries, query_cells + 10, ptr, members, 3, 1)


def test_pair_sample_continues_and_ignores_threads():
    X = gaussian_set(m=900, d=5)
    rows = np.arange(100, 900)
    whole = _neighbors.sample_pair_distances(X, rows, 42, 0, 8192, 1.0, 1)
    assert whole == _neighbors.sample_pair_distances(X, rows, 42, 0, 8192, 1.0, 2)
    first = _neighbors.sample_pair_distances(X, rows, 42, 0, 3000, 1.0, 2)
    rest = _neighbors.sample_pair_distances(X, rows, 42, 3000, 5192, 1.0, 2)
    assert np.allclose(np.add(first, rest), whole, rtol=1e-13, atol=0)
    # Another seed draws other pairs.
    assert whole != _neighbors.sample_pair_distances(X, rows, 43, 0, 8192, 1.0, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_sample_in_pieces_is_the_pair_sample(dtype):
    # sample_pairs names the pairs, pair_distances(squared=True) their
    # squared distances, pair_moments sums them: the kernel's sums bit for
    # bit (what kmsmote.dask does with rows held in pieces).
    X = gaussian_set(m=3000, d=7).astype(dtype)
    rows = np.arange(3000)
    for first, n in [(0, 70_000), (12_345, 1)]:
        whole = _neighbors.sample_pair_distances(X, rows, 99, first, n, 1.7, 2)
        i, j = _neighbors.sample_pairs(3000, 99, first, n)
        assert np.all(i != j) and i.min() >= 0 and max(i.max(), j.max()) < 3000
        d2 = _neighbors.pair_distances(X, i, j, 1, squared=True)
        assert np.array_equal(np.sqrt(d2), _neighbors.pair_distances(X, i, j, 2))
        assert _neighbors.pair_moments(d2, 1.7, 1) == whole
        assert _neighbors.pair_moments(d2, 1.7, 2) == whole
    with pytest.raises(ValueError, match="scale"):
        _neighbors.pair_moments(d2, 0.0, 1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        _neighbors.sample_pairs(1, 99, 0, 10)


def test_mean_square_sums_in_pieces_are_the_sums():
    # The running sums of the mean squared distance give the same bits
    # whatever the pieces the rows are cut into (empty ones included).
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(70_001, 6)) * [1.0, 1e-3, 1e3, 5.0, 0.1, 2.0] + 7.0).astype(np.float32)
    whole_sums = _approx.column_sums(X, np.zeros(6))
    center = whole_sums / X.shape[0]
    whole_spread = _approx.spread_sum(X, center, np.float64(0.0))
    for cuts in ([0, 1, 65_536, 65_537, 70_001], [0, 0, 33_333, 70_001]):
        sums, spread = np.zeros(6), np.float64(0.0)
        for a, b in zip(cuts[:-1], cuts[1:]):
            sums = _approx.column_sums(X[a:b], sums)
            spread = _approx.spread_sum(X[a:b], center, spread)
        assert np.array_equal(sums, whole_sums) and spread == whole_spread
    # And they are the mean squared distance's.
    c = X.astype(np.float64).mean(axis=0)
    expected = 2.0 * np.sum((X - c) ** 2) / (X.shape[0] - 1)
    assert _approx._mean_square_distance(X) == pytest.approx(expected, rel=1e-12)


def test_pair_sample_draws_uniform_distinct_pairs():
    # On 3 points at distances 1, 2 and 3 (1-D: 0, 1, 3) every pair has
    # probability 1/3: the mean distance is 2, the mean square 14/3.
    X = np.array([[0.0], [1.0], [3.0]])
    n = 300_000
    s1, s2, _, _ = _neighbors.sample_pair_distances(X, np.arange(3), 5, 0, n, 1.0, 2)
    assert abs(s1 / n - 2.0) < 0.01 and abs(s2 / n - 14 / 3) < 0.03


@pytest.mark.parametrize("call, message", [
    (lambda X: _neighbors.nearest_centers(X, [0], X[:3], 4, 1), "p=4"),
    (lambda X: _neighbors.nearest_centers(X, [0], np.ones((3, 2)), 1, 1), "features"),
    (lambda X: _neighbors.nearest_centers(X, [10], X[:3], 1, 1), "rows"),
    (lambda X: _neighbors.pair_distances(X, [0, 1], [1], 1), "same length"),
    (lambda X: _neighbors.pair_distances(X, [0], [-1], 1), r"b\[0\] = -1"),
    (lambda X: _neighbors.sample_pair_distances(X, [0], 1, 0, 10, 1.0, 1), "at least 2"),
    (lambda X: _neighbors.sample_pair_distances(X, [0, 1], 1, 0, 10, 0.0, 1), "scale"),
    (lambda X: _neighbors.sample_pair_distances(X, [0, 1], -1, 0, 10, 1.0, 1), "seed"),
])
def test_kernel_arguments_are_checked(call, message):
    X = np.arange(30.0).reshape(10, 3)
    with pytest.raises(ValueError, match=message):
        call(X)


def test_non_finite_rows_are_refused():
    X = gaussian_set(m=50, d=3)
    X[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN|infinit|finite"):
        _neighbors.nearest_centers(X, np.arange(50), X[:4].copy() * 0, 2, 1)
    with pytest.raises(ValueError, match="NaN|infinit|finite"):
        _neighbors.pair_distances(X, [7], [8], 1)


# ---------------------------------------------------------------------------
# The search and the mean


@pytest.fixture
def small_cells(monkeypatch):
    """Cells of 64 rows, so that sets of a few thousand rows are split."""
    monkeypatch.setattr(_approx, "CELL_ROWS", 64)


@pytest.mark.parametrize("k, two_levels", [(1, False), (2, False), (5, False), (2, True)])
def test_search_finds_nearly_all_neighbours_within_the_set(small_cells, monkeypatch, k,
                                                           two_levels):
    if two_levels:
        monkeypatch.setattr(_approx, "FLAT_CELLS", 16)
    X = gaussian_set(m=5000, d=10)
    rows = np.arange(5000)
    n_cells, n_probe = _approx.cells_and_probes(rows.size)
    assert n_cells > n_probe  # the cells are used
    nn = _approx.neighbours(X, rows, k, 0, 2)
    assert nn.shape == (rows.size, k)
    assert nn.min() >= 0 and nn.max() < rows.size
    assert not np.any(nn == np.arange(rows.size)[:, None])  # never itself
    assert all(len(set(r)) == k for r in nn.tolist())  # distinct
    exact = _neighbors.knn_sparsity(X, rows, k, 2)[0]
    assert recall(nn, exact) >= 0.95
    # Nearest first.
    d = _neighbors.pair_distances(X, np.repeat(rows, k), rows[nn.ravel()], 1).reshape(-1, k)
    assert np.all(np.diff(d, axis=1) >= 0)


def test_search_is_seeded_and_thread_independent(small_cells, monkeypatch):
    monkeypatch.setattr(_approx, "EXACT_MEAN_PAIRS", 0)
    X = gaussian_set(m=3000, d=6, dtype=np.float32)
    rows = np.arange(3000)
    a = _approx.neighbours(X, rows, 2, 11, 1), _approx.mean_distance(X, rows, 11, 1)
    b = _approx.neighbours(X, rows, 2, 11, 2), _approx.mean_distance(X, rows, 11, 2)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert _approx.mean_distance(X, rows, 12, 2) != a[1]


@pytest.mark.parametrize("sparse_input", [False, True])
def test_lists_of_the_rows_asked_for(small_cells, monkeypatch, sparse_input):
    X = gaussian_set(m=4000, d=9)
    if sparse_input:
        X[np.abs(X) < 0.8] = 0.0
        X = sparse.csr_matrix(X)
    rows = np.arange(1, 4000, 1)
    full = _approx.neighbours(X, rows, 3, 4, 2)
    needed = np.random.RandomState(0).choice(rows.size, 100, replace=False)
    others = np.setdiff1d(np.arange(rows.size), needed)
    # Few rows: compared with every row, their exact lists.
    some = _approx.neighbours(X, rows, 3, 4, 2, needed=needed)
    exact = (_neighbors.csr_knn_sparsity if sparse_input else _neighbors.knn_sparsity)(
        X, rows, 3, 2)[0]
    assert np.array_equal(some[needed], exact[needed])
    assert np.all(some[others] == -1)
    # More: from their cells, the lists the full search gives them (dense:
    # kms_knn_cells, also in parts of 40 rows).
    monkeypatch.setattr(_approx, "EXHAUSTIVE_PAIRS", 0)
    some = _approx.neighbours(X, rows, 3, 4, 2, needed=needed)
    assert np.array_equal(some[needed], full[needed])
    assert np.all(some[others] == -1)
    monkeypatch.setattr(_approx, "_CELL_LISTS", 40 * 3 * _approx.N_PROBE)
    some = _approx.neighbours(X, rows, 3, 4, 2, needed=needed)
    assert np.array_equal(some[needed], full[needed])
    assert np.all(some[others] == -1)


def test_sampled_mean_is_within_its_standard_error(monkeypatch):
    monkeypatch.setattr(_approx, "EXACT_MEAN_PAIRS", 0)
    X = gaussian_set(m=4000, d=8)
    rows = np.arange(4000)
    exact = 2 * _neighbors.knn_sparsity(X, rows, 0, 2)[1] / (4000 * 3999)
    errors, ses = [], []
    for seed in range(12):
        mean, se, n = _approx.mean_distance(X, rows, seed, 2)
        assert _approx.MIN_PAIRS <= n <= _approx.MAX_PAIRS
        errors.append(mean - exact)
        ses.append(se)
    ses = np.array(ses)
    assert np.all(ses <= 1.05 * _approx.TARGET_RELATIVE_SE * exact)
    assert np.all(np.abs(errors) <= 5 * ses)
    # The standard error describes the spread of the estimates.
    assert 0.3 < np.std(errors) / ses.mean() < 3


def test_exact_mean_where_it_is_the_cheaper():
    X = gaussian_set(m=2000, d=4)
    rows = np.arange(2000)
    nn, mean, se = _approx.approximate_neighbours(X, rows, 2, 0, 2)
    exact = 2 * _neighbors.knn_sparsity(X, rows, 0, 2)[1] / (2000 * 1999)
    assert mean == exact and se == 0.0


@pytest.mark.parametrize("flat_cells", [1024, 8])
def test_csr_search_equals_dense(small_cells, monkeypatch, flat_cells):
    monkeypatch.setattr(_approx, "FLAT_CELLS", flat_cells)
    X = gaussian_set(m=2500, d=8)
    X[np.abs(X) < 1.0] = 0.0
    rows = np.arange(2500)
    dense = _approx.neighbours(X, rows, 3, 5, 2)
    csr = _approx.neighbours(sparse.csr_matrix(X), rows, 3, 5, 2)
    assert np.array_equal(dense, csr)
    assert np.array_equal(dense, _approx.neighbours(X, rows, 3, 5, 1))


# ---------------------------------------------------------------------------
# The estimator


def two_class_data(n=24_000, seed=0):
    return make_classification(n_samples=n, n_features=8, n_informative=5, weights=[0.7, 0.3],
                               n_clusters_per_class=2, flip_y=0, random_state=seed)


def test_bad_neighbors_value_is_refused():
    X, y = two_class_data(2000)
    with pytest.raises(InvalidParameterError, match="neighbors"):
        KMeansSMOTE(neighbors="fast").fit_resample(X, y)


def test_approximate_needs_a_euclidean_search():
    X, y = two_class_data(2000)
    nn = NearestNeighbors(n_neighbors=3, metric="manhattan")
    with pytest.raises(ValueError, match="neighbors='approximate'.*k_neighbors"):
        KMeansSMOTE(k_neighbors=nn, neighbors="approximate").fit_resample(X, y)
    # "auto" keeps the user's search, exact.
    sampler = KMeansSMOTE(k_neighbors=nn, neighbors="auto", random_state=0,
                          cluster_balance_threshold=0.0)
    sampler.fit_resample(X, y)
    assert {r["neighbors"] for r in sampler.cluster_stats_ if r["kept"]} == {"exact"}


def test_auto_is_exact_below_the_size_and_bit_equal_to_exact():
    X, y = two_class_data(6000)
    params = dict(random_state=0, cluster_balance_threshold=0.0)
    auto = KMeansSMOTE(**params)
    exact = KMeansSMOTE(neighbors="exact", **params)
    assert np.array_equal(auto.fit_resample(X, y)[0], exact.fit_resample(X, y)[0])
    kept = [r for r in auto.cluster_stats_ if r["kept"]]
    assert all(r["neighbors"] == "exact" and r["mean_distance_se"] == 0.0 for r in kept)
    assert all(r["class_count"] < _plan.AUTO_MIN_ROWS for r in kept)
    assert all(r["neighbors"] == "" for r in auto.cluster_stats_ if not r["kept"])


def test_auto_switches_at_the_documented_size(monkeypatch):
    settings = _plan.PlanSettings(neighbors="auto")
    assert _plan.search_path(settings, _plan.AUTO_MIN_ROWS - 1) == "exact"
    assert _plan.search_path(settings, _plan.AUTO_MIN_ROWS) == "approximate"
    assert _plan.search_path(_plan.PlanSettings(neighbors="exact"), 10**9) == "exact"
    assert _plan.search_path(_plan.PlanSettings(neighbors="approximate"), 2) == "approximate"
    assert _plan.search_path(_plan.PlanSettings(neighbors="approximate"), 1) == "exact"


def capture_groups(monkeypatch):
    seen = []
    original = _kmeans_smote.approximate_nn

    def spy(data, rows, n_neighbors, seed, needed=None):
        out = original(data, rows, n_neighbors, seed, needed)
        seen.append((np.array(rows), out.copy()))
        return out

    monkeypatch.setattr(_kmeans_smote, "approximate_nn", spy)
    return seen


def test_approximate_synthetic_rows_join_a_sample_and_its_listed_neighbour(
        small_cells, monkeypatch):
    monkeypatch.setattr(_approx, "EXACT_MEAN_PAIRS", 0)
    seen = capture_groups(monkeypatch)
    X, y = two_class_data()
    sampler = KMeansSMOTE(random_state=3, neighbors="approximate", kmeans_estimator=3,
                          cluster_balance_threshold=0.0)
    X_res, y_res = sampler.fit_resample(X, y)
    kept = [r for r in sampler.cluster_stats_ if r["kept"]]
    assert {r["neighbors"] for r in kept} == {"approximate"}
    assert all(r["mean_distance_se"] > 0 for r in kept)
    assert len(seen) == len(kept)
    labels = sampler.kmeans_estimator_.predict(X)
    new = X_res[X.shape[0]:]
    start = 0
    for (rows, nn), record in zip(seen, kept):
        # Every listed neighbour is a class row of the same cluster.
        assert np.all(labels[rows] == record["cluster"]) and np.all(y[rows] == 1)
        block = new[start:start + record["n_generated"]]
        start += record["n_generated"]
        listed = np.all(nn >= 0, axis=1)  # the rows drawn (at least)
        base = X[rows[listed]][:, None, :]
        other = X[rows[nn[listed]]]
        # Each synthetic row lies on one of the segments base -> listed
        # neighbour (to rounding).
        diff = other - base
        for s in block[:200]:
            t = np.einsum("ijf,ijf->ij", s - base, diff) / np.maximum(
                np.einsum("ijf,ijf->ij", diff, diff), 1e-300)
            t = np.clip(t, 0.0, 1.0)
            gap = np.linalg.norm(base + t[..., None] * diff - s, axis=-1)
            assert gap.min() < 1e-9
    assert start == new.shape[0]


def test_approximate_output_ignores_threads_and_follows_the_seed(small_cells, monkeypatch):
    monkeypatch.setattr(_approx, "EXACT_MEAN_PAIRS", 0)
    X, y = two_class_data(12_000)
    params = dict(neighbors="approximate", kmeans_estimator=3, cluster_balance_threshold=0.0)
    one = KMeansSMOTE(random_state=5, n_jobs=1, **params).fit_resample(X, y)[0]
    two = KMeansSMOTE(random_state=5, n_jobs=2, **params).fit_resample(X, y)[0]
    assert np.array_equal(one, two)
    rs = KMeansSMOTE(random_state=np.random.RandomState(5), n_jobs=2, **params)
    again = KMeansSMOTE(random_state=np.random.RandomState(5), n_jobs=1, **params)
    assert np.array_equal(rs.fit_resample(X, y)[0], again.fit_resample(X, y)[0])


def test_approximate_allocation_is_close_to_exact(small_cells, monkeypatch):
    monkeypatch.setattr(_approx, "EXACT_MEAN_PAIRS", 0)
    X, y = make_blobs(n_samples=30_000, centers=6, n_features=6, random_state=2)
    y = (y < 2).astype(int)
    params = dict(random_state=0, kmeans_estimator=6, cluster_balance_threshold=0.0)
    exact = KMeansSMOTE(neighbors="exact", **params)
    approx = KMeansSMOTE(neighbors="approximate", **params)
    exact.fit_resample(X, y)
    approx.fit_resample(X, y)
    pairs = [(e, a) for e, a in zip(exact.cluster_stats_, approx.cluster_stats_)]
    assert all(e["kept"] == a["kept"] for e, a in pairs)
    kept = [(e, a) for e, a in pairs if e["kept"]]
    total = sum(e["n_generated"] for e, _ in kept)
    # The density exponent, from an exact record: log sparsity =
    # exponent * log(mean distance) - log(count).
    e0 = kept[0][0]
    exponent = (e0["log_sparsity"] + np.log(e0["class_count"])) / np.log(e0["mean_distance"])
    worst = max(a["mean_distance_se"] / a["mean_distance"] for _, a in kept)
    for e, a in kept:
        assert a["mean_distance_se"] > 0
        assert abs(a["mean_distance"] - e["mean_distance"]) <= 5 * a["mean_distance_se"]
        # A relative error r in the means moves a weight by about
        # exponent * r: so many of the samples, at most.
        bound = total * exponent * 5 * worst + 1
        assert abs(a["n_generated"] - e["n_generated"]) <= bound


def test_approximate_sparse_and_categorical_inputs(small_cells):
    X, y = two_class_data(8000)
    sampler = KMeansSMOTE(random_state=0, neighbors="approximate", kmeans_estimator=2,
                          cluster_balance_threshold=0.0)
    X_dense, _ = sampler.fit_resample(X, y)
    X_csr, _ = sampler.fit_resample(sparse.csr_matrix(X), y)
    assert sparse.issparse(X_csr)
    # Same neighbours and same exact means (clusters below the exact-mean
    # limit): the same rows.
    assert np.array_equal(X_csr.toarray(), X_dense)
    Xc = np.column_stack([X, np.random.RandomState(0).randint(0, 4, size=X.shape[0])])
    cat = KMeansSMOTE(random_state=0, neighbors="approximate", kmeans_estimator=2,
                      cluster_balance_threshold=0.0, categorical_features=[8])
    X_res, _ = cat.fit_resample(Xc, y)
    assert set(np.unique(X_res[:, 8])) <= {0.0, 1.0, 2.0, 3.0}
    # (A cluster with too few class rows for more cells than probes is
    # searched exactly, and says so.)
    assert "approximate" in {r["neighbors"] for r in cat.cluster_stats_ if r["kept"]}
