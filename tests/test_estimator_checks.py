"""scikit-learn's and imbalanced-learn's generic estimator checks."""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks as sk_checks

from kmsmote import KMeans, KMeansSMOTE

imblearn_checks = pytest.importorskip("imblearn.utils.estimator_checks")


def _configured(estimator):
    # imbalanced-learn runs its checks on KMeansSMOTE with 12 clusters.
    imblearn_checks._set_checking_parameters(estimator)
    return estimator


@sk_checks([_configured(KMeansSMOTE(random_state=0)), KMeans(n_clusters=3, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@imblearn_checks.parametrize_with_checks([_configured(KMeansSMOTE(random_state=0))])
def test_imblearn_sampler_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=(FutureWarning, ConvergenceWarning, UserWarning))
        check(estimator)


def test_imblearn_param_validation_check():
    estimator = _configured(KMeansSMOTE(random_state=0))
    imblearn_checks.check_param_validation("KMeansSMOTE", estimator)
