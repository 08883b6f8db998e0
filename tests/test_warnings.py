"""Warnings point at the user's line; NoClusterError is a RuntimeError."""

import numpy as np
import pytest

from kmsmote import KMeansSMOTE, NoClusterError


def _no_cluster_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = np.array([0] * 370 + [1] * 30)
    return X, y


def _strict(**params):
    return KMeansSMOTE(kmeans_estimator=8, cluster_balance_threshold=0.9, random_state=0,
                       **params)


def test_no_cluster_error_is_a_runtime_error_with_the_same_message():
    X, y = _no_cluster_data()
    with pytest.raises(NoClusterError, match="^No clusters found with sufficient samples "
                                             "of class 1. Try lowering the "
                                             "cluster_balance_threshold"):
        _strict().fit_resample(X, y)
    assert issubclass(NoClusterError, RuntimeError)
    try:
        _strict().fit_resample(X, y)
    except RuntimeError as exc:  # the reference's exception type still catches it
        assert type(exc) is NoClusterError
    else:  # pragma: no cover
        pytest.fail("no error raised")


def test_too_small_class_under_a_fallback_policy_raises_no_cluster_error():
    X, y = _no_cluster_data()
    y = y.copy()
    y[371:] = 0  # class 1 keeps a single sample
    for policy in ("smote", "relax"):
        with pytest.raises(NoClusterError, match="the class has only 1 sample"):
            _strict(no_cluster_policy=policy).fit_resample(X, y)


def _tiny_class_data():
    # Five samples of class 1 spread over the clusters: no cluster holds
    # k_neighbors + 1 of them.
    rng = np.random.RandomState(1)
    X = rng.normal(size=(300, 3))
    y = np.zeros(300, dtype=int)
    y[::60] = 1
    return X, y


@pytest.mark.parametrize("policy, path, data", [
    ("smote", "smote", _no_cluster_data),
    ("relax", "relax", _no_cluster_data),
    ("relax", "relax-smote", _tiny_class_data),
])
def test_policy_warnings_name_the_callers_file(policy, path, data):
    X, y = data()
    sampler = _strict(no_cluster_policy=policy, k_neighbors=5)
    with pytest.warns(UserWarning, match="no cluster qualified for class 1") as caught:
        sampler.fit_resample(X, y)
    assert sampler.class_paths_[1] == path
    assert len(caught) == 1
    assert caught[0].filename == __file__


def test_categorical_path_warnings_name_the_callers_file():
    X, y = _no_cluster_data()
    X = np.column_stack([X, (X[:, 0] > 0).astype(float)])
    sampler = _strict(no_cluster_policy="smote", categorical_features=[3])
    with pytest.warns(UserWarning, match="falls back to plain SMOTE") as caught:
        sampler.fit_resample(X, y)
    assert [w.filename for w in caught] == [__file__]


@pytest.mark.parametrize("policy", ["smote", "relax"])
def test_dask_policy_warnings_name_the_callers_file(policy):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    from kmsmote.dask import KMeansSMOTE as DaskKMeansSMOTE
    from kmsmote.dask import resample_frame

    X, y = _no_cluster_data()
    params = dict(kmeans_estimator=8, cluster_balance_threshold=0.9, random_state=0,
                  no_cluster_policy=policy)
    with dask.config.set(scheduler="synchronous"):
        with pytest.warns(UserWarning, match="no cluster qualified for class 1") as caught:
            DaskKMeansSMOTE(**params).fit_resample(da.from_array(X, chunks=100),
                                                   da.from_array(y, chunks=100))
        assert [w.filename for w in caught] == [__file__]
        frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
        with pytest.warns(UserWarning, match="no cluster qualified for class 1") as caught:
            resample_frame(dd.from_pandas(frame, npartitions=4), "label", **params)
        assert [w.filename for w in caught] == [__file__]
