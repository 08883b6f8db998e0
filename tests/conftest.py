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


def _generate_index_errors(call, rows, nn, sample_idx, steps, n_total):
    """The argument errors every generation kernel (dense and CSR) reports
    before writing anything; ``call(**overrides)`` runs the kernel."""
    m, k = nn.shape
    bad = sample_idx.copy()
    bad[3] = m * k
    with pytest.raises(ValueError, match=rf"sample_idx\[3\] = {m * k} is outside"):
        call(sample_idx=bad)
    bad[3] = -1
    with pytest.raises(ValueError, match=r"sample_idx\[3\] = -1"):
        call(sample_idx=bad)
    # A neighbour entry a draw reads (that of sample_idx[3]) is checked; an
    # entry no draw reads is never read (the approximate search leaves
    # those -1).
    i, j = divmod(int(sample_idx[3]), k)
    bad_nn = nn.copy()
    bad_nn[i, j] = m
    with pytest.raises(ValueError, match=rf"nn\[{i}, {j}\] = {m} is outside \[0, m={m}\)"):
        call(nn=bad_nn)
    unread = np.setdiff1d(np.arange(m * k), sample_idx)
    if unread.size:
        bad_nn = nn.copy()
        bad_nn.flat[unread] = -1
        call(nn=bad_nn)
    bad_rows = rows.copy()
    bad_rows[5] = n_total
    with pytest.raises(ValueError, match=r"rows\[5\]"):
        call(rows=bad_rows)
    with pytest.raises(ValueError, match="steps has 9 entries"):
        call(steps=steps[:9])
    with pytest.raises(ValueError, match="nn has"):
        call(nn=nn[:-1])


@pytest.fixture
def generate_index_errors():
    """Checks of the argument errors shared by the generation kernels."""
    return _generate_index_errors
