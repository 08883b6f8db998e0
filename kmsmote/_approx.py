"""The approximate neighbour search and mean pairwise distance of a large
set of rows (``neighbors="approximate"``, and ``"auto"`` above
``AUTO_MIN_ROWS``).

Neighbours: an inverted-file search.  The set is split into cells by a
k-means of its own (kmsmote's compiled one, fitted on a seeded sample of
the set, cells of about ``CELL_ROWS`` rows); every row joins the
``N_PROBE`` cells whose centres are nearest to it; inside every cell an
exact search (the exact path's kernel) lists each member's k nearest
fellow members; a row's candidates, from all its cells, are ranked by
their exact distance and the k nearest kept.  Two rows are compared when
they share a cell, so a row's true neighbour is missed only when no cell
holds both: in practice when it lies beyond the cells nearest to both.
Rows whose cells offer fewer than k other rows are searched against the
whole set.  Every neighbour is a row of the set, so every synthetic sample
still lies between two class samples of one cluster.

Mean pairwise distance: exact (the exact path's pair sum) while the set has
at most ``EXACT_MEAN_PAIRS`` pairs, which costs less than a sample precise
enough; above, the mean of the distances of a seeded sample of pairs drawn
uniformly with replacement, corrected by the exact mean of the squared
distance (a control variate: known in one pass over the rows, and so
closely tied to the distance that the correction removes most of the
sampling error), in batches, until its standard error is below
``TARGET_RELATIVE_SE`` of the mean (at least ``MIN_PAIRS`` and at most
``MAX_PAIRS`` pairs).  The standard error is reported.

Cost: the cells' k-means and the nearest-centre pass grow as
``m * m / CELL_ROWS`` distance terms with a small constant, the in-cell
searches as ``m * (N_PROBE * CELL_ROWS) ** 2 / (2 * CELL_ROWS)`` pairs, the
mean's sample is bounded: near-linear in m where the exact search is
quadratic.  Every step is seeded from the one seed and none depends on
the number of threads.
"""

import math

import numpy as np

from . import _kmeans, _neighbors
from ._plan import AUTO_MIN_ROWS  # noqa: F401  (where "auto" switches: the plan decides)

# Rows per cell, and cells each row joins.  With 256 and 4, recall@2
# measured 0.99 on 20-feature Gaussian clusters (bench/approx.py).
CELL_ROWS = 256
N_PROBE = 4
# Rows of the sample the cells' k-means is fitted on, per cell, and its
# Lloyd iterations.
CELL_SAMPLE = 16
CELL_ITERATIONS = 6

# The mean pairwise distance: exact up to this many pairs; above, sampled.
EXACT_MEAN_PAIRS = 1 << 26
TARGET_RELATIVE_SE = 1e-4
MIN_PAIRS = 1 << 16
MAX_PAIRS = 1 << 24
_BATCH = 1 << 16
_PARALLEL_WORK = 1 << 28


class Search:
    """What the approximate search of one set did (for ``cluster_stats_``)."""

    __slots__ = ("n_cells", "n_probe", "mean_distance_se", "n_pairs_sampled")

    def __init__(self, n_cells, n_probe, mean_distance_se, n_pairs_sampled):
        self.n_cells = n_cells
        self.n_probe = n_probe
        self.mean_distance_se = mean_distance_se
        self.n_pairs_sampled = n_pairs_sampled


def _is_sparse(X):
    return not isinstance(X, np.ndarray)


def _pair_distances(X, a, b, n_threads):
    if _is_sparse(X):
        return _neighbors.csr_pair_distances(X, a, b, n_threads)
    return _neighbors.pair_distances(X, a, b, n_threads)


def _cells(X, rows, n_cells, rng, n_threads):
    """Centres of ``n_cells`` cells of the set: k-means++ and a few Lloyd
    iterations on a seeded sample of its rows."""
    m = rows.size
    size = min(m, max(n_cells, CELL_SAMPLE * n_cells))
    sample = np.sort(rng.choice(m, size=size, replace=False)) if size < m else np.arange(m)
    seed = int(rng.integers(0, 2**31 - 1))
    # k-means++ adds one centre at a time: on a small sample, a parallel
    # region per centre costs more in waits than it saves (no result
    # depends on the threads).
    if size * n_cells * X.shape[1] < _PARALLEL_WORK:
        n_threads = 1
    if _is_sparse(X):
        S = X[rows[sample]]
        centers = _kmeans.csr_kmeans_plusplus(S, n_cells, 1, seed, n_threads)
        centers = _kmeans.csr_lloyd(S, centers, CELL_ITERATIONS, 0.0, n_threads)[0]
    else:
        S = np.ascontiguousarray(X[rows[sample]])
        centers = _kmeans.kmeans_plusplus(S, n_cells, 1, seed, n_threads)
        centers = _kmeans.lloyd(S, centers, CELL_ITERATIONS, 0.0, n_threads)[0]
    return np.ascontiguousarray(centers, dtype=X.dtype)


def _nearest_cells(X, rows, centers, n_probe, n_threads):
    if _is_sparse(X):
        return _neighbors.csr_nearest_centers(X, rows, centers, n_probe, n_threads)
    return _neighbors.nearest_centers(X, rows, centers, n_probe, n_threads)


def _in_cell_candidates(X, rows, cells, k, n_threads):
    """(m, n_probe * k) candidate positions (-1: none) from the exact search
    inside every cell."""
    m, n_probe = cells.shape
    flat = cells.ravel()
    order = np.argsort(flat, kind="stable")  # by cell, then row, then slot
    members, slots = np.divmod(order, n_probe)
    counts = np.bincount(flat, minlength=int(flat.max()) + 1)
    bounds = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    multi = np.flatnonzero(counts >= 2)
    ks = np.minimum(k, counts[multi] - 1).astype(np.int64)
    sets_rows = np.concatenate([rows[members[bounds[c]:bounds[c + 1]]] for c in multi])
    offsets = np.zeros(multi.size + 1, dtype=np.int64)
    np.cumsum(counts[multi], out=offsets[1:])
    if _is_sparse(X):
        found, _ = _neighbors.csr_knn_sparsity_sets(X, sets_rows, offsets, ks, n_threads)
    else:
        found, _ = _neighbors.knn_sparsity_sets(X, sets_rows, offsets, ks, n_threads)
    cand = np.full((m, n_probe * k), -1, dtype=np.int64)
    for c, nn_c, k_c in zip(multi, found, ks):
        mem = members[bounds[c]:bounds[c + 1]]
        slot = slots[bounds[c]:bounds[c + 1]]
        cand[mem[:, None], slot[:, None] * k + np.arange(k_c)] = mem[nn_c]
    return cand


def _best_k(X, rows, cand, k, n_threads):
    """The k nearest distinct candidates of every row (ties by position),
    and the rows left with fewer than k."""
    m = cand.shape[0]
    cand = np.sort(cand, axis=1)  # -1 first, duplicates side by side
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    valid = (cand >= 0) & ~dup
    i, j = np.nonzero(valid)
    dist = np.full(cand.shape, np.inf)
    dist[i, j] = _pair_distances(X, rows[i], rows[cand[i, j]], n_threads)
    # A stable sort by distance keeps ascending positions among equals.
    pick = np.argsort(dist, axis=1, kind="stable")[:, :k]
    nn = np.take_along_axis(cand, pick, axis=1)
    short = np.flatnonzero(~np.isfinite(np.take_along_axis(dist, pick, axis=1)[:, -1]))
    return nn, short


def _exhaustive(X, rows, who, k, n_threads):
    """k nearest of the rows ``who`` among the whole set, by their exact
    distances (ties by position)."""
    m = rows.size
    out = np.empty((who.size, k), dtype=np.int64)
    for t, i in enumerate(who):
        dist = _pair_distances(X, np.full(m, rows[i]), rows, n_threads)
        dist[i] = np.inf
        out[t] = np.argsort(dist, kind="stable")[:k]
    return out


def _mean_square_distance(X):
    """The exact mean of the squared distance over the pairs of rows of X
    (all rows form the set): ``2 / (m - 1)`` times the summed squared
    distances to the centroid."""
    m = X.shape[0]
    if _is_sparse(X):
        centroid = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        squares = X.multiply(X).sum(dtype=np.float64)
        spread = max(float(squares) - m * float(centroid @ centroid), 0.0)
    else:
        centroid = X.mean(axis=0, dtype=np.float64)
        spread = 0.0
        for start in range(0, m, 65536):
            part = X[start:start + 65536] - centroid
            spread += float(np.einsum("ij,ij->", part, part))
    return 2.0 * spread / (m - 1)


def _mean_distance(X, rows, seed, n_threads):
    """(mean, standard error, pairs sampled) of the set's pairwise distance;
    ``None`` when the exact mean is the cheaper one.

    The sample's mean distance is corrected by the exactly known mean of
    the squared distance (a control variate): the two are so closely
    related that the correction removes most of the sampling error, for a
    given precision one to two orders of magnitude fewer pairs.
    """
    m = rows.size
    if m * (m - 1) // 2 <= EXACT_MEAN_PAIRS:
        return None
    sample = (_neighbors.csr_sample_pair_distances if _is_sparse(X)
              else _neighbors.sample_pair_distances)
    # Distances in units of the root mean square distance: the squared
    # ones then have mean 1 exactly.
    scale = math.sqrt(_mean_square_distance(X[rows] if rows.size != X.shape[0] else X))
    if not scale > 0.0:
        return 0.0, 0.0, 0
    sums = np.zeros(4)
    n = 0
    while True:
        sums += sample(X, rows, seed, n, _BATCH, scale, n_threads)
        n += _BATCH
        a, b, ab, bb = sums / n  # means of d, d^2, d^3, d^4 (d in units of scale)
        f = n / (n - 1)
        var_a, var_b, cov = (b - a * a) * f, (bb - b * b) * f, (ab - a * b) * f
        beta = cov / var_b if var_b > 0.0 else 0.0
        mean = a - beta * (b - 1.0)
        se = math.sqrt(max(var_a - beta * cov, 0.0) / n)
        if n >= MIN_PAIRS and (se <= TARGET_RELATIVE_SE * mean or n >= MAX_PAIRS):
            return float(mean * scale), float(se * scale), n


def search(X, rows, k, seed, n_threads):
    """``(nn, mean_distance or None, Search)`` of one set of at least 2 rows
    of X (dense C-contiguous or CSR, as the exact kernels take it).

    ``nn``: (m, k) positions in ``rows``, nearest first; ``mean_distance``
    is None when the exact mean is to be computed (cheaper than a sample:
    the caller's exact pair sum).  ``seed``: an int or a SeedSequence
    entropy; the same seed gives the same result whatever ``n_threads``.
    """
    m = len(rows)
    rng = np.random.Generator(np.random.PCG64(seed))
    # The set's rows gathered once: every later step reads them many times,
    # in an order of its own.
    X = X[np.asarray(rows)]
    if _is_sparse(X):
        X.sort_indices()
    else:
        X = np.ascontiguousarray(X)
    rows = np.arange(m, dtype=np.int64)
    n_cells = max(1, int(round(m / CELL_ROWS)))
    n_probe = min(N_PROBE, n_cells)
    if k == 0:
        nn = np.zeros((m, 0), dtype=np.int64)
    elif n_cells <= n_probe:
        # Every row would join every cell: the exact search is the cheaper.
        if _is_sparse(X):
            nn = _neighbors.csr_knn_sparsity(X, rows, k, n_threads)[0]
        else:
            nn = _neighbors.knn_sparsity(X, rows, k, n_threads)[0]
    else:
        centers = _cells(X, rows, n_cells, rng, n_threads)
        cells = _nearest_cells(X, rows, centers, n_probe, n_threads)
        cand = _in_cell_candidates(X, rows, cells, k, n_threads)
        nn, short = _best_k(X, rows, cand, k, n_threads)
        if short.size:
            nn[short] = _exhaustive(X, rows, short, k, n_threads)
    mean = _mean_distance(X, rows, int(rng.integers(0, 2**63)), n_threads)
    if mean is None:
        return nn, None, Search(n_cells, n_probe, 0.0, 0)
    return nn, mean[0], Search(n_cells, n_probe, mean[1], mean[2])


def approximate_neighbours(X, rows, k, seed, n_threads=1):
    """``(nn, mean_distance, standard_error)`` of a set of rows of X (dense
    float32/float64 or CSR) by the approximate path, the mean computed
    exactly where that is the cheaper (standard error 0).  For benchmarks
    and tests; the estimator goes through ``_data.search_groups``, which
    also rescales magnitudes beyond 2**500 first."""
    if _is_sparse(X):
        X = X.tocsr()
    else:
        X = np.ascontiguousarray(X)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    nn, mean, info = search(X, rows, k, seed, n_threads)
    if mean is not None:
        return nn, mean, info.mean_distance_se
    if _is_sparse(X):
        pair_sum = _neighbors.csr_knn_sparsity(X, rows, 0, n_threads)[-1]
    else:
        pair_sum = _neighbors.knn_sparsity(X, rows, 0, n_threads)[-1]
    m = rows.size
    return nn, 2.0 * pair_sum / (m * m - m), 0.0
