"""kmsmote.dask on a two-process distributed.LocalCluster (loopback)."""

import doctest
import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.base import BaseEstimator, ClusterMixin  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402

import kmsmote  # noqa: E402
import kmsmote.dask as kdask  # noqa: E402
from kmsmote import _kmeans  # noqa: E402

N_ROWS = 300_000


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None, memory_limit="2GiB",
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=N_ROWS, n_features=10, n_informative=6, n_classes=3,
        weights=[0.8, 0.15, 0.05], n_clusters_per_class=2, flip_y=0,
        random_state=0,
    )
    return X, y


def on_cluster(client, values, chunks):
    """A Dask array whose blocks live on the workers (scattered), as data
    read by the workers would; da.from_array would ship the whole array in
    the graph."""
    if isinstance(chunks, int):
        chunks = (chunks,) * (values.shape[0] // chunks) + (
            (values.shape[0] % chunks,) if values.shape[0] % chunks else ())
    bounds = np.concatenate([[0], np.cumsum(chunks)])
    futures = client.scatter([values[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
    blocks = [da.from_delayed(dask.delayed(f), shape=(b - a,) + values.shape[1:],
                              dtype=values.dtype)
              for f, a, b in zip(futures, bounds[:-1], bounds[1:])]
    return da.concatenate(blocks)


def uneven_chunks(n, seed=1):
    """37 chunks of uneven sizes (one of a single row)."""
    rng = np.random.RandomState(seed)
    cuts = np.sort(rng.choice(np.arange(2, n - 1), size=35, replace=False))
    cuts = np.concatenate([[0, 1], cuts, [n]])
    return tuple(np.diff(cuts).tolist())


class FixedCentres(ClusterMixin, BaseEstimator):
    """A clusterer whose fit keeps the given centres (single machine only)."""

    def __init__(self, centers=None):
        self.centers = centers

    @property
    def n_clusters(self):
        return self.centers.shape[0]

    def fit(self, X, y=None):
        self.cluster_centers_ = self.centers
        return self

    def predict(self, X):
        X = np.ascontiguousarray(X)
        return _kmeans.assign(X, self.centers.astype(X.dtype), 1)[0]

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)


def fixed_kmeans(X, k=12):
    """A fitted kmsmote.KMeans (shipped to the workers) and the matching
    single-machine clusterer."""
    km = kmsmote.KMeans(n_clusters=k, random_state=0).fit(X[:50_000])
    return km, FixedCentres(centers=km.cluster_centers_)


PARAMS = dict(random_state=7, cluster_balance_threshold=0.05, sampling_strategy="all")


def stats_view(records):
    keys = ("class", "cluster", "size", "class_count", "kept", "reason",
            "mean_distance", "weight", "n_generated", "path")
    return [tuple(r[k] for k in keys) for r in records]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_single_machine_given_the_centres(client, data, dtype):
    X, y = data
    X = X.astype(dtype)
    km, fixed = fixed_kmeans(X)
    ref = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **PARAMS)
    X_ref, y_ref = ref.fit_resample(X, y)
    est = kdask.KMeansSMOTE(kmeans_estimator=km, **PARAMS)
    X_res, y_res = est.fit_resample(
        on_cluster(client, X, uneven_chunks(N_ROWS)), on_cluster(client, y, 40_000))
    assert isinstance(X_res, da.Array) and isinstance(y_res, da.Array)
    assert X_res.shape == X_ref.shape  # known chunk sizes, nothing computed yet
    X_res, y_res = dask.compute(X_res, y_res)
    assert np.array_equal(X_res, X_ref) and np.array_equal(y_res, y_ref)
    assert stats_view(est.cluster_stats_) == stats_view(ref.cluster_stats_)
    assert est.sampling_strategy_ == ref.sampling_strategy_
    # Same NumPy scalar types too: they decide float32 vs float64 products.
    types = [(type(k), type(v)) for k, v in ref.sampling_strategy_.items()]
    assert [(type(k), type(v)) for k, v in est.sampling_strategy_.items()] == types


def test_same_seed_same_result_any_partitioning_and_workers(client, data):
    X, y = data
    X = X.astype(np.float32)
    est = kdask.KMeansSMOTE(kmeans_estimator=12, **PARAMS)
    a = dask.compute(*est.fit_resample(
        on_cluster(client, X, uneven_chunks(N_ROWS)), on_cluster(client, y, 9_000)))
    centres = est.kmeans_estimator_.cluster_centers_
    assert a[0].dtype == np.float32 and a[0].shape[0] > N_ROWS
    # Another partitioning, columns in two chunks, on one thread, no cluster.
    with dask.config.set(scheduler="sync"):
        est2 = kdask.KMeansSMOTE(kmeans_estimator=12, **PARAMS)
        b = dask.compute(*est2.fit_resample(
            da.from_array(X, chunks=(25_000, 5)), da.from_array(y, chunks=25_000)))
    assert np.array_equal(est2.kmeans_estimator_.cluster_centers_, centres)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def approximate_reference(data):
    """float32 X, two clusters (a fitted kmsmote.KMeans for kmsmote.dask),
    neighbors="approximate", and single-machine kmsmote's fit and output
    with the same centres."""
    X, y = data
    X = X.astype(np.float32)
    km, fixed = fixed_kmeans(X, k=2)
    params = dict(PARAMS, neighbors="approximate")
    ref = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params)
    X_ref, y_ref = ref.fit_resample(X, y)
    return X, y, km, params, ref, X_ref, y_ref


def test_approximate_path_equals_single_machine_on_any_partitioning(client, data):
    # Two clusters: class 1 holds more than 20,000 rows in one at least, so
    # that its neighbours come from cells and its mean distance from a
    # sample.
    X, y, km, params, ref, X_ref, y_ref = approximate_reference(data)
    sampled = [r for r in ref.cluster_stats_ if r["kept"] and r["mean_distance_se"] > 0]
    assert sampled and all(r["neighbors"] == "approximate" for r in sampled)
    keys = ("neighbors", "mean_distance_se")
    est = kdask.KMeansSMOTE(kmeans_estimator=km, **params)
    X_res, y_res = dask.compute(*est.fit_resample(
        on_cluster(client, X, uneven_chunks(N_ROWS)), on_cluster(client, y, 40_000)))
    assert np.array_equal(X_res, X_ref) and np.array_equal(y_res, y_ref)
    assert stats_view(est.cluster_stats_) == stats_view(ref.cluster_stats_)
    assert ([tuple(r[k] for k in keys) for r in est.cluster_stats_]
            == [tuple(r[k] for k in keys) for r in ref.cluster_stats_])
    # Another partitioning, on one thread.
    with dask.config.set(scheduler="sync"):
        est2 = kdask.KMeansSMOTE(kmeans_estimator=km, **params)
        again = dask.compute(*est2.fit_resample(
            da.from_array(X, chunks=(70_000, 10)), da.from_array(y, chunks=70_000)))
    assert np.array_equal(again[0], X_ref) and np.array_equal(again[1], y_ref)


def result_sizes(monkeypatch):
    """The pickled size of every result kmsmote.dask brings to the client."""
    sizes = []
    compute = kdask._compute

    def measured(*tasks):
        out = compute(*tasks)
        sizes.append(len(pickle.dumps(out)))
        return out

    monkeypatch.setattr(kdask, "_compute", measured)
    return sizes


def counting(monkeypatch, module, name):
    """Record the calls of module.name (made on the client)."""
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_cluster_too_large_for_a_task_is_split_by_its_cells(client, data, monkeypatch):
    # Class 1 holds 31,840 rows in cluster 0: at 128 bytes a row, 4 MB,
    # above max_cluster_bytes.  It is handled in pieces and cell tasks,
    # with the single-machine output, and only small results reach the
    # client.
    X, y, km, params, ref, X_ref, y_ref = approximate_reference(data)
    big = max(r["class_count"] for r in ref.cluster_stats_ if r["kept"])
    assert big * 128 > 3_000_000
    split = counting(monkeypatch, kdask._dask_cells, "neighbour_lists")
    sizes = result_sizes(monkeypatch)
    est = kdask.KMeansSMOTE(kmeans_estimator=km, max_cluster_bytes=3_000_000, **params)
    X_res, y_res = dask.compute(*est.fit_resample(
        on_cluster(client, X, uneven_chunks(N_ROWS)), on_cluster(client, y, 40_000)))
    assert len(split) == 1 and split[0][0].m == big
    assert np.array_equal(X_res, X_ref) and np.array_equal(y_res, y_ref)
    keys = ("neighbors", "mean_distance_se")
    assert stats_view(est.cluster_stats_) == stats_view(ref.cluster_stats_)
    assert ([tuple(r[k] for k in keys) for r in est.cluster_stats_]
            == [tuple(r[k] for k in keys) for r in ref.cluster_stats_])
    assert max(sizes) < 2**20


@pytest.mark.parametrize("case", ["few drawn", "two levels", "short lists"])
def test_split_cluster_every_way_to_its_lists(data, monkeypatch, case):
    # The ways the lists of a split cluster's drawn rows are found, each
    # giving the single-machine output (float64, local scheduler): few
    # rows drawn, each compared with the whole set; the two levels of
    # cells; cells so small (16 rows, one each) that rows are left with
    # fewer than k and searched against every piece.
    from kmsmote import _approx
    X, y = data
    km, fixed = fixed_kmeans(X, k=2)
    extra = {"few drawn": 200, "two levels": 3_000, "short lists": 20_000}[case]
    if case == "two levels":
        monkeypatch.setattr(_approx, "FLAT_CELLS", 16)
    if case == "short lists":
        monkeypatch.setattr(_approx, "CELL_ROWS", 16)
        monkeypatch.setattr(_approx, "N_PROBE", 1)
        monkeypatch.setattr(_approx, "PROBE_CELLS", 10**9)
    params = dict(random_state=3, cluster_balance_threshold=0.05, neighbors="approximate",
                  sampling_strategy={1: int(np.sum(y == 1)) + extra})
    ref = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params)
    X_ref, y_ref = ref.fit_resample(X, y)
    searched = counting(monkeypatch, kdask._dask_cells, "_exhaustive")
    two = counting(monkeypatch, kdask._dask_cells._PieceRows, "two_level")
    with dask.config.set(scheduler="sync"):
        est = kdask.KMeansSMOTE(kmeans_estimator=km, max_cluster_bytes=3_000_000, **params)
        X_res, y_res = dask.compute(*est.fit_resample(
            da.from_array(X, chunks=(17_000, 10)), da.from_array(y, chunks=17_000)))
    assert np.array_equal(X_res, X_ref) and np.array_equal(y_res, y_ref)
    assert stats_view(est.cluster_stats_) == stats_view(ref.cluster_stats_)
    assert (len(two) == 1) == (case != "few drawn")  # 1,990 cells of 16 rows: two levels
    assert len(searched) == (0 if case == "two levels" else 1)
    if case == "few drawn":
        assert searched[0][1].size <= _approx.EXHAUSTIVE_PAIRS // 31_840


def test_split_cluster_from_a_dataframe(data, monkeypatch):
    # A DataFrame of mixed dtypes: the split cluster's synthetic partitions
    # keep them and the fresh index, as on one machine.
    X, y = data
    km, fixed = fixed_kmeans(X, k=2)
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(10)]).astype({"c0": np.float32})
    label = pd.Series(y, name="label")
    params = dict(random_state=3, cluster_balance_threshold=0.05, neighbors="approximate",
                  sampling_strategy={1: 60_000})
    ref_X, ref_y = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params).fit_resample(
        frame, label)
    split = counting(monkeypatch, kdask._dask_cells, "neighbour_lists")
    with dask.config.set(scheduler="sync"):
        est = kdask.KMeansSMOTE(kmeans_estimator=km, max_cluster_bytes=3_000_000, **params)
        X_res, y_res = dask.compute(*est.fit_resample(dd.from_pandas(frame, npartitions=13),
                                                      dd.from_pandas(label, npartitions=13)))
    assert len(split) == 1
    assert (X_res.dtypes == ref_X.dtypes).all()
    assert np.array_equal(X_res.to_numpy(), ref_X.to_numpy())
    assert np.array_equal(y_res.to_numpy(), ref_y.to_numpy())
    assert (X_res.index == np.arange(len(ref_X))).all() and (y_res.index == X_res.index).all()


def test_dataframe_from_parquet_in_dataframe_out(client, data, tmp_path):
    X, y = data
    X = X[:120_000]
    y = y[:120_000]
    columns = [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns).astype({"f0": np.float32})
    frame["label"] = y
    for i, start in enumerate(range(0, len(frame), 7_500)):
        frame.iloc[start:start + 7_500].to_parquet(tmp_path / f"part-{i:03d}.parquet")
    ddf = dd.read_parquet(str(tmp_path))
    assert ddf.npartitions == 16
    dX, dy = ddf[columns], ddf["label"]
    km, fixed = fixed_kmeans(frame[columns].to_numpy())
    est = kdask.KMeansSMOTE(kmeans_estimator=km, **PARAMS)
    X_res, y_res = est.fit_resample(dX, dy)
    assert isinstance(X_res, dd.DataFrame) and isinstance(y_res, dd.Series)
    assert list(X_res.columns) == columns and y_res.name == "label"
    X_res, y_res = dask.compute(X_res, y_res)
    ref_X, ref_y = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **PARAMS).fit_resample(
        frame[columns], frame["label"])
    assert (X_res.dtypes == ref_X.dtypes).all() and X_res.dtypes["f0"] == np.float32
    np.testing.assert_array_equal(X_res.to_numpy(), ref_X.to_numpy())
    np.testing.assert_array_equal(y_res.to_numpy(), ref_y.to_numpy())
    # A fresh index 0, 1, ... as on one machine, shared by X_res and y_res.
    assert (X_res.index == np.arange(len(X_res))).all()
    assert (y_res.index == X_res.index).all()
    assert list(est.feature_names_in_) == columns


def test_cluster_too_large_for_a_task(client, data):
    X, y = data
    est = kdask.KMeansSMOTE(kmeans_estimator=4, max_cluster_bytes=100_000, **PARAMS)
    with pytest.raises(ValueError, match=r"Raise the number of clusters \(kmeans_estimator, "
                       r"now 4\).*split into tasks by their cells instead; this one is "
                       r"searched exactly"):
        est.fit_resample(on_cluster(client, X, 30_000), on_cluster(client, y, 30_000))
    # "auto" derives the limit from the workers' memory (2 GiB, 1 thread).
    assert kdask._auto_max_cluster_bytes() == 2**30


def test_only_small_results_reach_the_client(client, data, monkeypatch):
    X, y = data
    sizes = result_sizes(monkeypatch)
    est = kdask.KMeansSMOTE(kmeans_estimator=12, **PARAMS)
    X_res, y_res = est.fit_resample(on_cluster(client, X, 10_000), on_cluster(client, y, 10_000))
    # Stats, sample (10,000 rows by default), Lloyd partials, counts, summaries.
    assert len(sizes) >= 5
    assert max(sizes) < 2**20 < X.nbytes // 16
    assert isinstance(X_res, da.Array) and isinstance(y_res, da.Array)
    # The result is a graph: its synthetic blocks are tasks, not arrays.
    assert len(X_res.chunks[0]) > 30
    # The fitted estimator keeps no reference to the data or its graph.
    assert len(pickle.dumps(est)) < 2**16


def test_same_errors_as_single_machine(client, data):
    X, y = data
    dX, dy = on_cluster(client, X, 50_000), on_cluster(client, y, 50_000)
    km, fixed = fixed_kmeans(X, k=3)
    params = dict(random_state=0, cluster_balance_threshold=0.999)
    with pytest.raises(RuntimeError, match="No clusters found") as ref:
        kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params).fit_resample(X, y)
    with pytest.raises(RuntimeError, match="No clusters found") as got:
        kdask.KMeansSMOTE(kmeans_estimator=km, **params).fit_resample(dX, dy)
    assert str(got.value) == str(ref.value)
    with pytest.raises(TypeError, match="Dask array or a Dask DataFrame"):
        kdask.KMeansSMOTE().fit_resample(X, dy)
    with pytest.raises(ValueError, match="X has 300000 rows but y has 299999"):
        kdask.KMeansSMOTE().fit_resample(dX, dy[1:])
    with pytest.raises(ValueError, match="categorical_features"):
        kdask.KMeansSMOTE(categorical_features=[0]).fit_resample(dX, dy)


def test_import_is_lazy_and_says_how_to_install(tmp_path):
    # Run outside the source tree: `python -c` puts the working folder first
    # on sys.path, where the unbuilt package would shadow the installed one.
    code = "import sys, kmsmote; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False"
    code = ("import sys; sys.modules['dask'] = None\n"
            "try:\n    import kmsmote.dask\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    # Hints for an install from an index and from a clone.
    assert 'pip install "kmsmote[dask]"' in out.stdout
    assert 'pip install ".[dask]"' in out.stdout


def test_default_clusterer_centres_are_single_machine_kmeans(client, data):
    # The same two stages as kmsmote.KMeans.fit (sample stage stopped by
    # the same rule, then refine_iter steps over all rows): the same centres,
    # up to the fixed-point sums' resolution.
    X, y = data
    est = kdask.KMeansSMOTE(kmeans_estimator=12, **PARAMS)
    est.fit_resample(on_cluster(client, X, 50_000), on_cluster(client, y, 50_000))
    ref = kmsmote.KMeans(n_clusters=12, random_state=PARAMS["random_state"]).fit(X)
    np.testing.assert_allclose(est.kmeans_estimator_.cluster_centers_, ref.cluster_centers_,
                               rtol=0, atol=1e-9)


def test_distributed_lloyd_step_matches_the_kernel():
    """One refinement step over partitions (exact sums, tree reduction,
    empty-cluster relocation) against the single-process C kernel."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5_000, 4))
    centers = X[rng.choice(5_000, 6, replace=False)].copy()
    centers[5] = 100.0  # no row is nearest: relocated to the farthest row
    ref, _, _, _ = _kmeans.lloyd(X, centers, 1, 0.0, 1)
    dX = da.from_array(X, chunks=((700,) * 7 + (100,), 4))
    shift = 62 - 4 - 13 - 1  # |x| < 2**4, 5,000 rows < 2**13
    parts = [dask.delayed(kdask._lloyd_partial)(b, "array", X.dtype, 0, centers, shift,
                                                 700 * i, 1)
             for i, b in enumerate(dX.to_delayed().ravel())]
    with dask.config.set(scheduler="sync"):
        (total,) = dask.compute(kdask._tree(parts, kdask._merge_partials))
    new, moved = kdask.KMeansSMOTE._lloyd_update(centers, total, shift)
    # The relocated centre is a row of X, exactly; the means agree to the
    # fixed point's resolution.
    assert np.array_equal(new[5], ref[5]) and (X == new[5]).all(axis=1).any()
    np.testing.assert_allclose(new, ref, rtol=0, atol=1e-9)
    assert moved > 0


@pytest.mark.parametrize("policy, message", [
    ("smote", "plain SMOTE over all"),
    ("relax", "no_cluster_policy='relax' class fraction threshold lowered"),
])
def test_no_cluster_policies_match_single_machine(client, data, policy, message):
    X, y = data
    X, y = X[:60_000], y[:60_000]
    km, fixed = fixed_kmeans(X, k=6)
    params = dict(random_state=3, no_cluster_policy=policy, cluster_balance_threshold=0.999)
    with pytest.warns(UserWarning, match=message):
        ref_est = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params)
        ref = ref_est.fit_resample(X, y)
    with pytest.warns(UserWarning, match=message):
        est = kdask.KMeansSMOTE(kmeans_estimator=km, **params)
        res = dask.compute(*est.fit_resample(
            on_cluster(client, X, 7_000), on_cluster(client, y, 7_000)))
    assert np.array_equal(res[0], ref[0]) and np.array_equal(res[1], ref[1])
    assert est.class_paths_ == ref_est.class_paths_
    assert stats_view(est.cluster_stats_) == stats_view(ref_est.cluster_stats_)


class Predictor(ClusterMixin, BaseEstimator):
    """Single-machine stand-in for a fitted clusterer: fit keeps it (its
    predict is held as a function, which clone copies with its state)."""

    def __init__(self, predict=None, k=None):
        self.predict_fn = predict
        self.k = k

    def get_params(self, deep=True):
        return {"predict": self.predict_fn, "k": self.k}

    @property
    def n_clusters(self):
        return self.k

    def fit(self, X, y=None):
        return self

    def fit_predict(self, X, y=None):
        return self.predict_fn(X)

    def predict(self, X):
        return self.predict_fn(X)


def test_fitted_scikit_learn_clusterer_labels_every_partition(data):
    from sklearn.cluster import KMeans as SkKMeans

    X, y = data
    X, y = X[:40_000].astype(np.int32), y[:40_000]  # integers come back cast
    sk = SkKMeans(n_clusters=5, n_init=1, random_state=0).fit(X[:5_000].astype(float))
    params = dict(random_state=1, cluster_balance_threshold=0.05)
    ref = kmsmote.KMeansSMOTE(kmeans_estimator=Predictor(sk.predict, 5), **params).fit_resample(X, y)
    # X with unknown chunk sizes (as from DataFrame.values), y as a Series.
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=9)
    dX = frame.to_dask_array()
    dy = dd.from_pandas(pd.Series(y, name="t"), npartitions=4)
    with dask.config.set(scheduler="sync"):
        X_res, y_res = kdask.KMeansSMOTE(kmeans_estimator=sk, **params).fit_resample(dX, dy)
        assert X_res.shape == ref[0].shape and isinstance(y_res, dd.Series)
        X_res, y_res = X_res.compute(), y_res.compute()  # one kind per compute
    assert X_res.dtype == np.int32
    assert np.array_equal(X_res, ref[0]) and np.array_equal(y_res.to_numpy(), ref[1])


# ---------------------------------------------------------------------------
# X_res and y_res line up: same partitions, same lengths, same divisions.

# Parquet files of uneven lengths (one of a single row), written without an
# index as most writers (Spark, pyarrow) do: every file's rows are then
# numbered from 0, so the index says nothing about a row's position.
FILE_LENGTHS = (1, 700, 2_450, 60, 1_900, 889)
FEATURES = [f"f{j}" for j in range(5)]


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory):
    n = sum(FILE_LENGTHS)
    X, y = make_classification(
        n_samples=n, n_features=len(FEATURES), n_informative=4, n_redundant=0,
        n_classes=3, weights=[0.75, 0.17, 0.08], n_clusters_per_class=1, flip_y=0,
        random_state=2,
    )
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["row"] = np.arange(n)
    # The filtered partitioning drops the one-row file (an empty partition)
    # and every seventh row.
    frame["keep"] = (np.arange(n) % 7 != 3) & (np.arange(n) > 0)
    frame["label"] = y
    folder = tmp_path_factory.mktemp("uneven")
    bounds = np.concatenate([[0], np.cumsum(FILE_LENGTHS)])
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        frame.iloc[a:b].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder, frame


def partitioned(folder, frame, how):
    """(Dask frame of the Parquet files, the same rows in pandas)."""
    if how == "files":  # one partition per file, unknown divisions
        return dd.read_parquet(str(folder)), frame
    if how == "filtered":  # unknown partition lengths, one of them empty
        ddf = dd.read_parquet(str(folder))
        return ddf[ddf["keep"]], frame[frame["keep"]]
    # Indexed by a sorted column: known divisions.
    with warnings.catch_warnings():
        # dask's Parquet reader on pandas >= 3.1 (its own call, not kmsmote's).
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.set_index")
        ddf = dd.read_parquet(str(folder), index="row", calculate_divisions=True)
    assert ddf.known_divisions
    return ddf, frame.set_index("row")


def partition_lengths(collection):
    if isinstance(collection, da.Array):
        return list(collection.chunks[0])
    lengths = collection.map_partitions(len).compute()
    assert len(lengths) == collection.npartitions
    return lengths.tolist()


@pytest.mark.parametrize("how", ["files", "filtered", "indexed"])
@pytest.mark.parametrize("kind", ["frame", "array"])
def test_labels_line_up_with_rows(client, parquet_files, how, kind):
    folder, frame = parquet_files
    ddf, ref = partitioned(folder, frame, how)
    X_ref_in, y_ref_in = ref[FEATURES], ref["label"]
    n = len(ref)
    km, fixed = fixed_kmeans(X_ref_in.to_numpy(), k=6)
    params = dict(random_state=5, cluster_balance_threshold=0.05)
    X_ref, y_ref = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params).fit_resample(
        X_ref_in, y_ref_in)
    assert len(y_ref) > n + 1_000
    dX, dy = ddf[FEATURES], ddf["label"]
    if kind == "array":
        dX, dy = dX.to_dask_array(), dy.to_dask_array()  # unknown chunk sizes
    est = kdask.KMeansSMOTE(kmeans_estimator=km, **params)
    X_res, y_res = est.fit_resample(dX, dy)

    # Same partitions, partition by partition, known before computing.
    lengths = partition_lengths(X_res)
    assert lengths == partition_lengths(y_res) and 0 not in lengths
    assert sum(lengths) == len(y_ref)
    if kind == "array":
        joined = [da.hstack([X_res, y_res[:, None]]),
                  da.concatenate([X_res, y_res[:, None]], axis=1)]
        assert all(j.chunks[0] == X_res.chunks[0] for j in joined)
        joined = [pd.DataFrame(j, columns=FEATURES + ["label"])
                  for j in dask.compute(*joined)]
    else:
        assert X_res.npartitions == y_res.npartitions
        assert X_res.known_divisions and X_res.divisions == y_res.divisions
        joined = list(dask.compute(X_res.assign(label=y_res),
                                   dd.concat([X_res, y_res], axis=1)))
        for j in joined:
            # A fresh index of the output rows, as on one machine.
            assert (j.index == np.arange(len(y_ref))).all()
    for j in joined:
        # Row for row the single-machine result: features and label.
        np.testing.assert_array_equal(j[FEATURES].to_numpy(), X_ref.to_numpy())
        np.testing.assert_array_equal(j["label"].to_numpy(), y_ref.to_numpy())
        # The original rows keep their labels; each synthetic row carries
        # the class it was made for.
        np.testing.assert_array_equal(j["label"].to_numpy()[:n], y_ref_in.to_numpy())
        made = j["label"].to_numpy()[n:]
        planned = {c: sum(r["n_generated"] for r in est.cluster_stats_ if r["class"] == c)
                   for c in np.unique(y_ref_in)}
        assert {c: int((made == c).sum()) for c in planned} == planned
        assert planned[0] == 0 and planned[1] > 0 and planned[2] > 0


def test_resample_frame_keeps_the_label_column(client, parquet_files):
    folder, frame = parquet_files
    ddf, ref = partitioned(folder, frame, "filtered")
    # The label first: the result keeps the frame's column order.
    ddf, ref = ddf[["label"] + FEATURES], ref[["label"] + FEATURES]
    km, fixed = fixed_kmeans(ref[FEATURES].to_numpy(), k=6)
    params = dict(random_state=5, cluster_balance_threshold=0.05)
    X_ref, y_ref = kmsmote.KMeansSMOTE(kmeans_estimator=fixed, **params).fit_resample(
        ref[FEATURES], ref["label"])
    sampler = kdask.KMeansSMOTE(kmeans_estimator=km, **params)
    out = kdask.resample_frame(ddf, "label", sampler=sampler)
    assert isinstance(out, dd.DataFrame) and list(out.columns) == ["label"] + FEATURES
    assert sampler.cluster_stats_  # the sampler given is the one fitted
    got = out.compute()
    np.testing.assert_array_equal(got[FEATURES].to_numpy(), X_ref.to_numpy())
    np.testing.assert_array_equal(got["label"].to_numpy(), y_ref.to_numpy())
    # Parameters instead of a sampler: the same result.
    again = kdask.resample_frame(ddf, "label", kmeans_estimator=km, **params).compute()
    pd.testing.assert_frame_equal(again, got)
    with pytest.raises(ValueError, match=r"target='is_fraud' is not a column of frame"):
        kdask.resample_frame(ddf, "is_fraud")
    with pytest.raises(TypeError, match="either sampler or parameters"):
        kdask.resample_frame(ddf, "label", sampler=sampler, random_state=0)
    with pytest.raises(TypeError, match="frame must be a Dask DataFrame"):
        kdask.resample_frame(ref, "label")


DASK_DOC = Path(__file__).resolve().parents[1] / "docs" / "dask.md"  # was the README's section


@pytest.mark.skipif(not DASK_DOC.exists(), reason="docs/dask.md is not beside the tests")
def test_readme_example_runs_as_a_script_and_writes_the_label(tmp_path):
    section = DASK_DOC.read_text(encoding="utf-8")
    (script,) = [b for b in re.findall(r"```python\n(.*?)```", section, re.S)
                 if "__main__" in b]
    (tmp_path / "resample_parquet.py").write_text(script, encoding="utf-8")
    # Two features on each side of the label; uneven files without index.
    n = 20_000
    X, y = make_classification(n_samples=n, n_features=4, n_informative=3, n_redundant=0,
                               weights=[0.9, 0.1], class_sep=2.0, random_state=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.insert(2, "is_fraud", y)
    source = tmp_path / "transactions"
    source.mkdir()
    bounds = [0, 3, 5_000, 5_200, 13_000, n]
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        frame.iloc[a:b].to_parquet(source / f"part-{i}.parquet", index=False)
    run = subprocess.run(
        [sys.executable, "resample_parquet.py", "transactions", "resampled"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = pd.read_parquet(tmp_path / "resampled").sort_index()
    assert list(out.columns) == list(frame.columns)
    assert (out.index == np.arange(len(out))).all()
    # The original rows, labels included, row for row; then only fraud rows.
    pd.testing.assert_frame_equal(out.iloc[:n].reset_index(drop=True), frame)
    made = out["is_fraud"].to_numpy()[n:]
    assert made.size >= (y == 0).sum() - (y == 1).sum() > 0 and (made == 1).all()


def test_docstring_examples_run():
    result = doctest.testmod(kdask, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
