"""Phase reporting: follow a resampling's progress from outside.

``report_phases(callback)`` makes every ``fit_resample`` run inside the
``with`` block (in the same thread or asyncio task) call ``callback(name)``
as it enters each phase.  The callback lives in a ``contextvars.ContextVar``:
not on the estimator, so it is no parameter, survives no ``clone`` or pickle,
and other threads or tasks resampling at the same time see their own.
"""

import contextlib
import contextvars

# The phases, in the order a run enters them (per class, "clustering" when
# the clusterer is refitted and "neighbours" repeat).
PHASES = ("clustering", "neighbours", "generation")

_callback = contextvars.ContextVar("kmsmote_phase_callback", default=None)


@contextlib.contextmanager
def report_phases(callback):
    """Call ``callback(phase)`` as each resampling inside the block enters a phase.

    The phases are ``"clustering"`` (fitting the clusterer), ``"neighbours"``
    (deciding the kept clusters of a class and searching neighbours in them)
    and ``"generation"`` (writing the synthetic samples; with
    :class:`kmsmote.dask.KMeansSMOTE`, building the lazy result).  The
    callback changes nothing in the result and is not a parameter of the
    estimator.  Blocks nest: the innermost callback is used.

    Parameters
    ----------
    callback : callable
        Called with the phase name (a str); its return value is ignored.
        An exception it raises stops the resampling.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from kmsmote import KMeansSMOTE, report_phases
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(200, 3)), np.array([0] * 170 + [1] * 30)
    >>> seen = []
    >>> with report_phases(seen.append):
    ...     _ = KMeansSMOTE(kmeans_estimator=2, cluster_balance_threshold=0.0,
    ...                     random_state=0).fit_resample(X, y)
    >>> seen
    ['clustering', 'neighbours', 'generation']
    """
    if not callable(callback):
        raise TypeError(
            f"report_phases: callback must be callable (called with the phase name); "
            f"got {type(callback).__name__}."
        )
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def report_phase(name):
    """Tell the callback of the innermost ``report_phases`` block, if any."""
    callback = _callback.get()
    if callback is not None:
        callback(name)
