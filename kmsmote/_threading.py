"""Thread count for the C kernels, decided once in Python."""

import os

from ._threads import max_threads, openmp_enabled


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_n_threads(n_jobs):
    """Number of threads the kernels use for ``n_jobs``.

    ``None`` follows OpenMP's default (``OMP_NUM_THREADS`` when set, else the
    usable cores), like scikit-learn's OpenMP-based estimators; a positive
    int is taken as is; ``-1`` means every usable core and ``-2`` all but one
    (joblib's rule).  Without OpenMP the answer is always 1.  Results never
    depend on it: only the speed does.
    """
    if not openmp_enabled():
        return 1
    if n_jobs is None:
        return max(1, min(max_threads(), _cpu_count()))
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a positive int.")
    if n_jobs < 0:
        return max(1, _cpu_count() + 1 + n_jobs)
    return n_jobs
