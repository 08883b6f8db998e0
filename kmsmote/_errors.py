"""Exceptions that kmsmote raises beyond the standard ones."""


class NoClusterError(RuntimeError):
    """No cluster qualifies for a class that needs new samples.

    Raised by ``fit_resample`` with ``no_cluster_policy="raise"`` (the
    default, imbalanced-learn's behaviour) when no cluster passes
    ``cluster_balance_threshold`` with enough samples of a class, and by the
    ``"smote"`` and ``"relax"`` fall-backs when the class itself is too small
    for SMOTE.  A subclass of ``RuntimeError``, which the reference raises:
    ``except RuntimeError`` still catches it.  Lower
    ``cluster_balance_threshold``, change the number of clusters, or use
    ``no_cluster_policy="smote"`` or ``"relax"``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmsmote import KMeansSMOTE, NoClusterError
    >>> X = np.arange(40, dtype=float).reshape(20, 2)
    >>> y = np.array([0] * 17 + [1] * 3)
    >>> try:
    ...     KMeansSMOTE(kmeans_estimator=4, cluster_balance_threshold=0.9,
    ...                 random_state=0).fit_resample(X, y)
    ... except NoClusterError as exc:
    ...     print(str(exc)[:60])
    No clusters found with sufficient samples of class 1. Try lo
    """
