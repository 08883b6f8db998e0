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

# Rows asked for alone (the rows drawn) are compared with every row of the
# set, exactly, while that is at most this many distances.
EXHAUSTIVE_PAIRS = 1 << 26

# The mean pairwise distance: exact up to this many pairs; above, sampled.
EXACT_MEAN_PAIRS = 1 << 26
TARGET_RELATIVE_SE = 1e-4
MIN_PAIRS = 1 << 16
MAX_PAIRS = 1 << 24
_BATCH = 1 << 16
_PARALLEL_WORK = 1 << 28
# The rows asked for are searched on their own (a distance per member of
# their cells, ranked in NumPy) when they are at most 1/_QUERY_SHARE of the
# set; above, the in-cell search of every cell (the compiled kernel) is
# the cheaper.
_QUERY_SHARE = 32


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


def _query_candidates(X, rows, cells, k, who, n_threads):
    """The candidates of the rows ``who`` alone, ``(len(who), n_probe * k)``:
    in each of its cells, its k nearest fellow members by exact distance,
    ties by position, as the in-cell search lists them (the same lists, for
    a fraction of the work when few rows are asked for)."""
    m, n_probe = cells.shape
    flat = cells.ravel()
    members = np.argsort(flat, kind="stable") // n_probe  # by cell, then position
    counts = np.bincount(flat)
    bounds = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    cand = np.full((who.size, n_probe * k), -1, dtype=np.int64)
    for start in range(0, who.size, 1024):
        part = who[start:start + 1024]
        mine = cells[part]                               # (b, n_probe)
        lens = counts[mine].ravel()
        group = np.repeat(np.arange(lens.size), lens)     # (query, slot) of each entry
        offset = np.zeros(lens.size, dtype=np.int64)
        np.cumsum(lens[:-1], out=offset[1:])
        member = members[bounds[mine].ravel()[group] + np.arange(group.size) - offset[group]]
        query = part[group // n_probe]
        dist = _pair_distances(X, rows[query], rows[member], n_threads)
        dist[member == query] = np.inf                    # never itself
        order = np.lexsort((member, dist, group))
        rank = np.arange(order.size) - offset[group[order]]
        limit = np.minimum(k, lens - 1)[group[order]]     # the cell's own k
        keep = rank < limit
        g = group[order][keep]
        cand[start + g // n_probe, (g % n_probe) * k + rank[keep]] = member[order][keep]
    return cand


def _best_k(X, rows, who, cand, k, n_threads):
    """The k nearest distinct candidates of each row ``who[i]`` (ties by
    position), and the indices i left with fewer than k."""
    cand = np.sort(cand, axis=1)  # -1 first, duplicates side by side
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    valid = (cand >= 0) & ~dup
    i, j = np.nonzero(valid)
    dist = np.full(cand.shape, np.inf)
    dist[i, j] = _pair_distances(X, rows[who[i]], rows[cand[i, j]], n_threads)
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
    step = max(1, (1 << 22) // m)
    for start in range(0, who.size, step):
        part = who[start:start + step]
        dist = _pair_distances(X, np.repeat(rows[part], m), np.tile(rows, part.size),
                               n_threads).reshape(part.size, m)
        dist[np.arange(part.size), part] = np.inf
        # The k smallest, then ordered by (distance, position).
        top = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < m else np.argsort(dist, 1)
        cut = np.take_along_axis(dist, top, axis=1).max(axis=1, keepdims=True)
        for r in range(part.size):
            within = np.flatnonzero(dist[r] <= cut[r])  # ties at the k-th included
            order = np.lexsort((within, dist[r, within]))
            out[start + r] = within[order[:k]]
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


def cells_and_probes(m):
    """(cells, cells each row joins) for a set of m rows."""
    n_cells = max(1, int(round(m / CELL_ROWS)))
    return n_cells, min(N_PROBE, n_cells)


def is_approximate(m):
    """Whether the approximate path of a set of m rows differs from the
    exact one: more cells than a row joins, or a sampled mean."""
    n_cells, n_probe = cells_and_probes(m)
    return n_cells > n_probe or m * (m - 1) // 2 > EXACT_MEAN_PAIRS


def _gathered(X, rows):
    """The set's rows gathered once (every step reads them many times, in
    an order of its own), and their positions."""
    X = X[np.asarray(rows)]
    if _is_sparse(X):
        X.sort_indices()
    else:
        X = np.ascontiguousarray(X)
    return X, np.arange(len(rows), dtype=np.int64)


def neighbours(X, rows, k, seed, n_threads, needed=None):
    """``nn`` (m, k) of a set of rows of X (dense C-contiguous or CSR, as the
    exact kernels take it): positions in ``rows``, nearest first.

    ``needed``: the positions whose lists will be read (the others hold -1);
    None: all.  A row's list does not depend on which others are asked for.
    ``seed``: an int; the same seed gives the same lists whatever
    ``n_threads``.
    """
    m = len(rows)
    if k == 0:
        return np.zeros((m, 0), dtype=np.int64)
    if needed is not None and len(needed) == 0:
        return np.full((m, k), -1, dtype=np.int64)
    if needed is not None and len(needed) * m <= EXHAUSTIVE_PAIRS:
        # So few rows asked for that comparing them with every row costs
        # less than building the cells: their exact lists.
        who = np.unique(np.asarray(needed, dtype=np.int64))
        nn = np.full((m, k), -1, dtype=np.int64)
        X, rows = _gathered(X, rows)
        nn[who] = _exhaustive(X, rows, who, k, n_threads)
        return nn
    X, rows = _gathered(X, rows)
    n_cells, n_probe = cells_and_probes(m)
    if n_cells <= n_probe:
        # Every row would join every cell: the exact search is the cheaper.
        if _is_sparse(X):
            return _neighbors.csr_knn_sparsity(X, rows, k, n_threads)[0]
        return _neighbors.knn_sparsity(X, rows, k, n_threads)[0]
    rng = np.random.Generator(np.random.PCG64(seed))
    centers = _cells(X, rows, n_cells, rng, n_threads)
    cells = _nearest_cells(X, rows, centers, n_probe, n_threads)
    if needed is None or len(needed) * _QUERY_SHARE > m:
        who = rows
        cand = _in_cell_candidates(X, rows, cells, k, n_threads)
    else:
        who = np.unique(np.asarray(needed, dtype=np.int64))
        cand = _query_candidates(X, rows, cells, k, who, n_threads)
    found, short = _best_k(X, rows, who, cand, k, n_threads)
    if short.size:
        found[short] = _exhaustive(X, rows, who[short], k, n_threads)
    if who is rows:
        return found
    nn = np.full((m, k), -1, dtype=np.int64)
    nn[who] = found
    return nn


def mean_distance(X, rows, seed, n_threads):
    """``(mean, standard error, pairs sampled)`` of the pairwise distance
    of a set of rows, or None when the exact mean is the cheaper (see the
    module's docstring).  Its own stream of ``seed``, apart from the
    cells'."""
    m = len(rows)
    if m * (m - 1) // 2 <= EXACT_MEAN_PAIRS:
        return None
    X, rows = _gathered(X, rows)
    stream = int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0])
    return _mean_distance(X, rows, stream, n_threads)


def approximate_neighbours(X, rows, k, seed, n_threads=1):
    """``(nn, mean_distance, standard_error)`` of a set of rows of X (dense
    float32/float64 or CSR) by the approximate path, the mean computed
    exactly where that is the cheaper (standard error 0).  For benchmarks
    and tests; the estimator goes through ``_data.search_groups`` and
    ``_data.approximate_nn``, which also rescale magnitudes beyond 2**500
    first."""
    if _is_sparse(X):
        X = X.tocsr()
    else:
        X = np.ascontiguousarray(X)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    nn = neighbours(X, rows, k, seed, n_threads)
    mean = mean_distance(X, rows, seed, n_threads)
    if mean is not None:
        return nn, mean[0], mean[1]
    if _is_sparse(X):
        pair_sum = _neighbors.csr_knn_sparsity(X, rows, 0, n_threads)[-1]
    else:
        pair_sum = _neighbors.knn_sparsity(X, rows, 0, n_threads)[-1]
    m = rows.size
    return nn, 2.0 * pair_sum / (m * m - m), 0.0
