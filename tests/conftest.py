"""Shared test helpers."""

import numpy as np
import pytest


def _exact_lists(P, k):
    """Brute-force neighbour lists of the rows of P (dense float64): squared
    distances summed over the features in ascending order (a sequential
    cumulative sum, as the kernels), nearest first, ties by position.
    Returns (positions, distances)."""
    diff = P[:, None, :] - P[None, :, :]
    d2 = np.cumsum(diff * diff, axis=2)[:, :, -1]
    m = P.shape[0]
    nn = np.empty((m, k), dtype=np.int64)
    for i in range(m):
        others = np.delete(np.arange(m), i)
        order = np.lexsort((others, d2[i, others]))
        nn[i] = others[order[:k]]
    return nn, np.sqrt(np.take_along_axis(d2, nn, axis=1))


@pytest.fixture
def exact_lists():
    """The brute-force neighbour lists the compiled kernels must return."""
    return _exact_lists
