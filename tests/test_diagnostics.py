"""kmsmote._diagnostics: the per-cluster report, row clusters and the plot."""

import io

import numpy as np
import pytest
from sklearn.datasets import make_classification

from kmsmote import KMeansSMOTE
from kmsmote import _diagnostics as diag
from kmsmote._diagnostics import REPORT_COLUMNS, cluster_report, plot_clusters, resampled_clusters

try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None

try:
    import matplotlib  # noqa: F401
except ImportError:  # pragma: no cover
    HAVE_MPL = False
else:
    HAVE_MPL = True


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(
        n_classes=3, weights=[0.1, 0.2, 0.7], n_samples=600, n_features=5,
        n_informative=3, n_redundant=0, n_clusters_per_class=1, class_sep=2.0,
        random_state=3,
    )
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=6, cluster_balance_threshold=0.2)
    X_res, y_res = sampler.fit_resample(X, y)
    return sampler, X, y, X_res, y_res


def test_report_frame_matches_cluster_stats(fitted):
    pytest.importorskip("pandas")
    sampler = fitted[0]
    stats = sampler.cluster_stats_
    report = cluster_report(sampler)
    assert isinstance(report, pd.DataFrame)
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert len(report) == len(stats) > 0
    for i, record in enumerate(stats):
        for name in REPORT_COLUMNS:
            got, want = report[name].iloc[i], record[name]
            if isinstance(want, float) and np.isnan(want):
                assert np.isnan(got), (i, name)
            else:
                assert got == want, (i, name)
    assert report["kept"].dtype == bool
    assert report["n_generated"].dtype == np.int64
    # Records are by class, then cluster; both classes to over-sample appear.
    assert report["class"].tolist() == sorted(report["class"].tolist())
    assert set(report["class"]) == set(sampler.sampling_strategy_) - {
        c for c, n in sampler.sampling_strategy_.items() if n == 0}


def test_report_structured_array_matches_cluster_stats(fitted):
    sampler = fitted[0]
    stats = sampler.cluster_stats_
    report = cluster_report(sampler, as_frame=False)
    assert isinstance(report, np.ndarray)
    assert report.dtype.names == REPORT_COLUMNS
    assert report.shape == (len(stats),)
    np.testing.assert_array_equal(report["cluster"], [r["cluster"] for r in stats])
    np.testing.assert_array_equal(report["kept"], [r["kept"] for r in stats])
    np.testing.assert_array_equal(report["reason"], [r["reason"] for r in stats])
    np.testing.assert_array_equal(report["n_generated"], [r["n_generated"] for r in stats])
    np.testing.assert_allclose(report["weight"], [r["weight"] for r in stats], rtol=0, atol=0)
    np.testing.assert_array_equal(
        np.isnan(report["mean_distance"]), [not r["kept"] for r in stats]
    )
    assert int(report["n_generated"].sum()) == len(fitted[3]) - len(fitted[1])


def test_report_without_pandas(monkeypatch, fitted):
    monkeypatch.setattr(diag, "_have_pandas", lambda: False)
    assert isinstance(cluster_report(fitted[0]), np.ndarray)
    with pytest.raises(ImportError, match="needs pandas"):
        cluster_report(fitted[0], as_frame=True)


def test_report_when_nothing_is_generated():
    X, y = make_classification(n_samples=100, weights=[0.8], random_state=0)
    counts = np.bincount(y)
    sampler = KMeansSMOTE(sampling_strategy={0: int(counts[0])}, random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.cluster_stats_ == []
    report = cluster_report(sampler, as_frame=False)
    assert report.shape == (0,) and report.dtype.names == REPORT_COLUMNS
    if pd is not None:
        frame = cluster_report(sampler)
        assert frame.empty and list(frame.columns) == list(REPORT_COLUMNS)
    clusters, synthetic = resampled_clusters(sampler, n_original=len(X))
    assert clusters.tolist() == [-1] * len(X) and not synthetic.any()
    with pytest.raises(ValueError, match="n_original"):
        resampled_clusters(sampler)


def test_unfitted_sampler_is_refused():
    with pytest.raises(ValueError, match="fit_resample first"):
        cluster_report(KMeansSMOTE())
    with pytest.raises(ValueError, match="as_frame"):
        cluster_report(KMeansSMOTE(), as_frame="yes")


def test_resampled_clusters(fitted):
    sampler, X, y, X_res, y_res = fitted
    clusters, synthetic = resampled_clusters(sampler)
    n, n_res = len(X), len(X_res)
    assert clusters.shape == synthetic.shape == (n_res,)
    assert clusters.dtype == np.int64 and synthetic.dtype == bool
    assert not synthetic[:n].any() and synthetic[n:].all()
    np.testing.assert_array_equal(clusters[:n], sampler.kmeans_estimator_.labels_)
    # Synthetic rows come by class, then cluster, n_generated each.
    kept = [r for r in sampler.cluster_stats_ if r["kept"]]
    offset = n
    for r in kept:
        block = slice(offset, offset + r["n_generated"])
        assert (clusters[block] == r["cluster"]).all()
        assert (y_res[block] == r["class"]).all()
        offset += r["n_generated"]
    assert offset == n_res
    # Each synthetic row lies in the bounding box of its class's rows of its cluster.
    for r in kept:
        members = X[(sampler.kmeans_estimator_.labels_ == r["cluster"]) & (y == r["class"])]
        rows = X_res[n:][(clusters[n:] == r["cluster"]) & (y_res[n:] == r["class"])]
        assert (rows >= members.min(axis=0) - 1e-12).all()
        assert (rows <= members.max(axis=0) + 1e-12).all()
    with pytest.raises(ValueError, match="n_original"):
        resampled_clusters(sampler, n_original=n + 1)


@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib not installed")
def test_plot_returns_a_figure(fitted):
    from matplotlib.figure import Figure

    sampler, X, y, X_res, y_res = fitted
    fig = plot_clusters(sampler, X_res, y_res, title="t")
    assert isinstance(fig, Figure)
    scatter, bars = fig.axes
    assert len(bars.patches) == len(sampler.cluster_stats_)
    assert scatter.get_legend() is not None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib not installed")
def test_plot_dataframe_input_and_checks(fitted):
    pytest.importorskip("pandas")
    sampler, X, y, X_res, y_res = fitted
    fig = plot_clusters(sampler, pd.DataFrame(X_res), pd.Series(y_res), standardize=False,
                        max_points=50)
    assert "principal component 1" == fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="rows"):
        plot_clusters(sampler, X_res[:-1], y_res[:-1])
    with pytest.raises(ValueError, match="rows"):
        plot_clusters(sampler, X_res, y_res[:-1])


def test_plot_without_matplotlib(monkeypatch, fitted):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    sampler, X, y, X_res, y_res = fitted
    with pytest.raises(ImportError, match=r"kmsmote\[plot\]"):
        plot_clusters(sampler, X_res, y_res)
