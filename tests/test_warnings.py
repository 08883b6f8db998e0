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
