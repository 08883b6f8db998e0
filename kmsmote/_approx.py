"""The approximate neighbour search and mean pairwise distance of a large
set of rows (``neighbors="approximate"``, and ``"auto"`` above
``AUTO_MIN_ROWS``).

Neighbours: an inverted-file search.  The set is split into cells by a
k-means of its own (kmsmote's compiled one, fitted on a seeded sample of
the set, cells of about ``CELL_ROWS`` rows); every row joins the
cells whose centres are nearest to it (``N_PROBE``, more for sets of many
cells: ``cells_and_probes``); inside every cell an
exact search (the exact path's kernel) lists each member's k nearest
fellow members; a row's candidates, from all its cells, are ranked by
their exact distance and the k nearest kept.  Two rows are compared when
they share a cell, so a row's true neighbour is missed only when no cell
holds both: in practice when it lies beyond the cells nearest to both.
Rows whose cells offer fewer than k other rows are searched against the
whole set.  Every neighbour is a row of the set, so every synthetic sample
still lies between two class samples of one cluster.

Mean pairwise distance: exact (the exact path's pair sum) while the set has
at most ``EXACT_MEAN_PAIRS`` pairs (those of ``AUTO_MIN_ROWS`` rows: what
"auto" accepts for a whole exact search); above, the mean of the distances
of a seeded sample of pairs drawn uniformly with replacement, corrected by the exact mean of the squared
distance (a control variate: known in one pass over the rows, and so
closely tied to the distance that the correction removes most of the
sampling error), in batches, until its standard error is below
``TARGET_RELATIVE_SE`` of the mean (at least ``MIN_PAIRS`` and at most
``MAX_PAIRS`` pairs).  The standard error is reported.

Cost: the cells' k-means and the nearest-centre pass grow as
``m * m / CELL_ROWS`` distance terms with a small constant, the in-cell
searches as ``m * (n_probe * CELL_ROWS) ** 2 / (2 * CELL_ROWS)`` pairs
(n_probe growing as the logarithm of the cells), the
mean's sample is bounded: near-linear in m where the exact search is
quadratic.  Every step is seeded from the one seed and none depends on
the number of threads.
"""

import math

import numpy as np

from . import _kmeans, _neighbors
from ._plan import AUTO_MIN_ROWS  # where "auto" switches: the plan decides

# Rows per cell, and cells each row joins.  With 256 and 4, recall@2
# measured 0.97-0.99 on 20-feature Gaussian clusters of up to 70,000 rows
# (bench/approx.py).  With more cells a row's neighbours fall in more of
# them: at fixed probes recall@2 fell to 0.94 on a 231,955-row cluster
# (906 cells) and 0.88 on a 701,210-row one; so above PROBE_CELLS cells a
# row joins one more cell each time their number doubles (5 probes: 0.98
# on the 231,955-row cluster, for 1.2 times the time).
CELL_ROWS = 256
N_PROBE = 4
PROBE_CELLS = 256
# Rows of the sample the cells' k-means is fitted on, per cell, and its
# Lloyd iterations.
CELL_SAMPLE = 16
CELL_ITERATIONS = 6

# Rows asked for alone (the rows drawn) are compared with every row of the
# set, exactly, while that is at most this many distances (about the cost
# of building the cells of a set of 50,000 rows, 20 features).
EXHAUSTIVE_PAIRS = 1 << 23
# Rows per block of the set in that search (dense data).
_EXHAUSTIVE_BLOCK = 1024

# The mean pairwise distance: exact up to this many pairs, those of a set
# of AUTO_MIN_ROWS rows (the cost "auto" accepts for a whole exact search,
# a few tenths of a second), so that neighbors="approximate" on a cluster
# that "auto" would search exactly keeps its exact mean and allocation;
# above, sampled.
EXACT_MEAN_PAIRS = AUTO_MIN_ROWS * (AUTO_MIN_ROWS - 1) // 2
TARGET_RELATIVE_SE = 1e-4
MIN_PAIRS = 1 << 16
MAX_PAIRS = 1 << 24
_BATCH = 1 << 16
_PARALLEL_WORK = 1 << 28
# The rows whose lists are needed are searched alone (each against the
# members of its cells, kms_knn_cells, dense data) when they are at most
# 1/QUERY_SHARE of the set; above, the in-cell search of every cell is the
# cheaper: it compares each pair of a cell once, by the blocked expansion
# of the exact kernel, where a row searched alone meets a member once per
# cell they share.  Measured on a 65,029-row cluster (20 features): all
# rows alone 0.88 s, in-cell search 0.42 s, a quarter alone 0.23 s.
QUERY_SHARE = 3
# Entries of the per-(row, cell) lists of one kms_knn_cells call at most
# (16 bytes each).
_CELL_LISTS = 1 << 22

# Above this many cells (sets of about 260,000 rows), two levels of cells
# (see probe_cells), each row choosing among the NEAR_CELLS * n_probe
# cells nearest to its own, where comparing every row with every cell would
# grow as the square of the set.  With NEAR_CELLS = 32 the two levels lose
# no recall against one: recall@2 0.940 both on a 231,955-row cluster at 4
# probes (forced), in 1.84 s instead of 2.49 (16: 0.925).
FLAT_CELLS = 1024
NEAR_CELLS = 32


def _is_sparse(X):
    return not isinstance(X, np.ndarray)


def _pair_distances(X, a, b, n_threads):
    if _is_sparse(X):
        return _neighbors.csr_pair_distances(X, a, b, n_threads)
    return _neighbors.pair_distances(X, a, b, n_threads)


def _cell_sample(m, n_cells, rng):
    """(positions, seed) of the sample the k-means of ``n_cells`` cells of a
    set of m rows is fitted on (positions None: every row), drawn from rng."""
    size = min(m, max(n_cells, CELL_SAMPLE * n_cells))
    sample = np.sort(rng.choice(m, size=size, replace=False)) if size < m else None
    return sample, int(rng.integers(0, 2**31 - 1))


def fit_cells(S, n_cells, seed, n_threads):
    """Centres of ``n_cells`` cells: k-means++ and a few Lloyd iterations
    on the sample rows S (dense or CSR, their set's dtype)."""
    # k-means++ adds one centre at a time: on a small sample, a parallel
    # region per centre costs more in waits than it saves (no result
    # depends on the threads).
    if S.shape[0] * n_cells * S.shape[1] < _PARALLEL_WORK:
        n_threads = 1
    if _is_sparse(S):
        S.sort_indices()
        centers = _kmeans.csr_kmeans_plusplus(S, n_cells, 1, seed, n_threads)
        centers = _kmeans.csr_lloyd(S, centers, CELL_ITERATIONS, 0.0, n_threads)[0]
    else:
        S = np.ascontiguousarray(S)
        centers = _kmeans.kmeans_plusplus(S, n_cells, 1, seed, n_threads)
        centers = _kmeans.lloyd(S, centers, CELL_ITERATIONS, 0.0, n_threads)[0]
    return np.ascontiguousarray(centers, dtype=S.dtype)


def probe_cells(rows, n_cells, n_probe, rng, n_threads):
    """The cells every row of a set joins: its ``n_probe`` nearest cell
    centres.  ``rows`` gives access to the set (``_Rows``: in memory;
    kmsmote.dask: in pieces held by tasks): its ``m``, ``take`` (rows at
    given positions), ``nearest`` (every row's nearest given centres),
    ``group_counts``, ``take_in_groups`` and ``two_level``; what it returns
    is ``nearest``'s or ``two_level``'s.

    Up to ``FLAT_CELLS`` cells, among all centres.  Above, in two levels, so
    that no step compares every row with every cell: groups of cells from a
    k-means of ``sqrt(n_cells)`` centres, cells from a k-means inside every
    group, each row's own cell among the cells of its group; then its
    ``n_probe`` nearest among the ``NEAR_CELLS * n_probe`` cells whose
    centres are nearest to that of its own cell.
    """
    m = rows.m
    if n_cells <= FLAT_CELLS:
        sample, seed = _cell_sample(m, n_cells, rng)
        return rows.nearest(fit_cells(rows.take(sample), n_cells, seed, n_threads), n_probe)
    n_groups = int(round(math.sqrt(n_cells)))
    sample, seed = _cell_sample(m, n_groups, rng)
    group = rows.nearest(fit_cells(rows.take(sample), n_groups, seed, n_threads), 1)
    counts = rows.group_counts(group, n_groups)
    plans = []
    for g in np.flatnonzero(counts):
        k_g = max(1, int(round(counts[g] / CELL_ROWS)))
        plans.append((int(g), k_g, *_cell_sample(int(counts[g]), k_g, rng)))
    samples = rows.take_in_groups(group, [(g, sample) for g, _, sample, _ in plans])
    group_centers, firsts, first = {}, {}, 0
    for (g, k_g, _, seed), S in zip(plans, samples):
        group_centers[g] = fit_cells(S, k_g, seed, n_threads)
        firsts[g] = first
        first += k_g
    centers = np.ascontiguousarray(np.concatenate([group_centers[g] for g, *_ in plans]))
    near = min(first, NEAR_CELLS * n_probe)
    # The cells nearest to each cell (itself first).
    graph = _neighbors.nearest_centers(centers, np.arange(first), centers, near, n_threads)
    return rows.two_level(group, group_centers, firsts, centers, graph, n_probe)


def two_level_probes(X, rows, group, group_centers, firsts, centers, graph, n_probe,
                     n_threads):
    """(len(rows), n_probe) cells of some rows of a set (see probe_cells),
    from their groups ``group``: each row's own cell, the nearest centre of
    its group's cells, then its n_probe nearest among the cells near that
    one.  A row's cells depend on it alone: the rows of a set may be
    handled in any parts."""
    own = np.empty(rows.size, dtype=np.int64)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        own[members] = firsts[g] + _nearest_cells(X, rows[members], group_centers[g], 1,
                                                  n_threads)[:, 0]
    # The rows of each own cell against the centres near it (one call per
    # cell, on one thread: small calls, and no result depends on threads).
    out = np.empty((rows.size, n_probe), dtype=np.int64)
    by_cell = np.argsort(own, kind="stable")
    cells, starts = np.unique(own[by_cell], return_index=True)
    for c, a, b in zip(cells, starts, np.append(starts[1:], rows.size)):
        mine = by_cell[a:b]
        local = _nearest_cells(X, rows[mine], np.ascontiguousarray(centers[graph[c]]),
                               n_probe, 1)
        out[mine] = graph[c][local]
    return out


class _Rows:
    """A set of rows of X in memory, for probe_cells."""

    def __init__(self, X, rows, n_threads):
        self.X, self.rows, self.n_threads, self.m = X, rows, n_threads, rows.size

    def take(self, positions):
        picked = self.rows if positions is None else self.rows[positions]
        return self.X[picked]

    def nearest(self, centers, p):
        return _nearest_cells(self.X, self.rows, centers, p, self.n_threads)

    def group_counts(self, group, n_groups):
        return np.bincount(group[:, 0], minlength=n_groups)

    def take_in_groups(self, group, wanted):
        order = np.argsort(group[:, 0], kind="stable")
        bounds = np.zeros(int(group.max()) + 2, dtype=np.int64)
        np.cumsum(np.bincount(group[:, 0]), out=bounds[1:])
        out = []
        for g, sample in wanted:
            members = order[bounds[g]:bounds[g + 1]]
            out.append(self.take(members if sample is None else members[sample]))
        return out

    def two_level(self, group, group_centers, firsts, centers, graph, n_probe):
        return two_level_probes(self.X, self.rows, group[:, 0], group_centers, firsts,
                                centers, graph, n_probe, self.n_threads)


def _nearest_cells(X, rows, centers, n_probe, n_threads):
    if _is_sparse(X):
        return _neighbors.csr_nearest_centers(X, rows, centers, n_probe, n_threads)
    return _neighbors.nearest_centers(X, rows, centers, n_probe, n_threads)


def _cell_members(cells):
    """(cell_ptr, members, slots) of the cells the rows joined (``cells``:
    (m, n_probe)): cell c's members are the positions
    ``members[cell_ptr[c]:cell_ptr[c + 1]]``, by position, and ``slots``
    says where c stands in each one's row of cells."""
    n_probe = cells.shape[1]
    flat = cells.ravel()
    members, slots = np.divmod(np.argsort(flat, kind="stable"), n_probe)
    ptr = np.zeros(int(flat.max()) + 2, dtype=np.int64)
    np.cumsum(np.bincount(flat), out=ptr[1:])
    return ptr, members, slots


def _in_cell_candidates(X, rows, cells, k, n_threads):
    """(m, n_probe * k) candidate positions (-1: none) from the exact search
    inside every cell."""
    m, n_probe = cells.shape
    bounds, members, slots = _cell_members(cells)
    counts = np.diff(bounds)
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


def _needed_lists(X, rows, cells, k, needed, n_threads):
    """The lists of the rows ``needed`` alone (dense X): each row's k
    nearest among the members of its cells (compiled), which are the lists
    the in-cell search of every cell gives it."""
    ptr, members, _ = _cell_members(cells)
    who = np.unique(np.asarray(needed, dtype=np.int64))
    nn = np.full((cells.shape[0], k), -1, dtype=np.int64)
    # In parts, by own cell (a part then reads few cells), so that the
    # kernel's lists of every (row, cell) stay within _CELL_LISTS entries.
    who = who[np.argsort(cells[who, 0], kind="stable")]
    step = max(1, _CELL_LISTS // (cells.shape[1] * k))
    members = rows[members]
    for start in range(0, who.size, step):
        part = who[start:start + step]
        nn[part] = _neighbors.knn_cells(X, rows[part], cells[part], ptr, members, k,
                                        n_threads)
    short = who[np.any(nn[who] < 0, axis=1)]
    if short.size:
        nn[short] = _exhaustive(X, rows, short, k, n_threads)
    return nn


def _best_k(X, rows, cand, k, n_threads):
    """The k nearest distinct candidates of every row (ties by position),
    and the rows left with fewer than k."""
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


def knn_in_blocks(X, queries, members, k, n_threads):
    """(len(queries), k): each query row's k nearest among the rows
    ``members`` of dense X (itself left out, ties by row; -1 past the
    members), by kms_knn_cells with the members in blocks of consecutive
    ones, every query probing all."""
    n = members.size
    ptr = np.append(np.arange(0, n, _EXHAUSTIVE_BLOCK, dtype=np.int64), n)
    out = np.empty((queries.size, k), dtype=np.int64)
    step = max(1, _CELL_LISTS // (ptr.size * k))
    for start in range(0, queries.size, step):
        part = queries[start:start + step]
        probes = np.broadcast_to(np.arange(ptr.size - 1, dtype=np.int64),
                                 (part.size, ptr.size - 1))
        out[start:start + part.size] = _neighbors.knn_cells(X, part, probes, ptr, members, k,
                                                            n_threads)
    return out


def _exhaustive(X, rows, who, k, n_threads):
    """k nearest of the rows ``who`` among the whole set, by their exact
    distances (ties by position)."""
    if not _is_sparse(X):
        return knn_in_blocks(X, rows[who], rows, k, n_threads)
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


# Rows per block of the mean squared distance's passes.
_MEAN_BLOCK = 1 << 16


def _dense_block(X, start):
    part = X[start:start + _MEAN_BLOCK]
    return part.toarray() if _is_sparse(X) else part


def running_sum(total, V):
    """``total`` (float64) plus the rows of V added one at a time, in order:
    a sum whose every step is defined, so that a set whose rows are held in
    pieces (kmsmote.dask) gets it bit for bit by passing the running total
    from piece to piece."""
    if V.shape[0] == 0:
        return total
    steps = np.empty((V.shape[0] + 1,) + V.shape[1:], dtype=np.float64)
    steps[0] = total
    steps[1:] = V
    return np.cumsum(steps, axis=0)[-1]


def column_sums(X, total):
    """``total`` plus the rows of X (dense or CSR), in order (running_sum)."""
    for start in range(0, X.shape[0], _MEAN_BLOCK):
        total = running_sum(total, _dense_block(X, start))
    return total


def spread_sum(X, center, total):
    """``total`` plus the squared distances of X's rows to ``center``, in
    order (running_sum)."""
    for start in range(0, X.shape[0], _MEAN_BLOCK):
        diff = np.asarray(_dense_block(X, start), dtype=np.float64) - center
        total = running_sum(total, np.einsum("ij,ij->i", diff, diff))
    return total


def _mean_square_distance(X):
    """The exact mean of the squared distance over the pairs of rows of X
    (all rows form the set): ``2 / (m - 1)`` times the summed squared
    distances to the centroid.  Both sums run over the rows in order
    (running_sum)."""
    m = X.shape[0]
    center = column_sums(X, np.zeros(X.shape[1])) / m
    return 2.0 * float(spread_sum(X, center, np.float64(0.0))) / (m - 1)


def sampled_mean(mean_square, batches):
    """(mean, standard error, pairs sampled) of the pairwise distance of a
    set whose mean squared distance is ``mean_square``; ``batches(scale)``
    yields, batch after batch, the sums of the powers 1 to 4 of
    distance / scale over the sampled pairs 0 .. _BATCH - 1, then _BATCH ..
    2 * _BATCH - 1, and so on (the set's rows in one place: _sampled_mean;
    in pieces: kmsmote.dask, which computes several batches at a time).

    The sample's mean distance is corrected by the exactly known mean of
    the squared distance (a control variate): the two are so closely
    related that the correction removes most of the sampling error, for a
    given precision one to two orders of magnitude fewer pairs.
    """
    # Distances in units of the root mean square distance: the squared
    # ones then have mean 1 exactly.
    scale = math.sqrt(mean_square)
    if not scale > 0.0:
        return 0.0, 0.0, 0
    sums = np.zeros(4)
    n = 0
    for found in batches(scale):
        sums += found
        n += _BATCH
        a, b, ab, bb = sums / n  # means of d, d^2, d^3, d^4 (d in units of scale)
        f = n / (n - 1)
        var_a, var_b, cov = (b - a * a) * f, (bb - b * b) * f, (ab - a * b) * f
        beta = cov / var_b if var_b > 0.0 else 0.0
        mean = a - beta * (b - 1.0)
        se = math.sqrt(max(var_a - beta * cov, 0.0) / n)
        if n >= MIN_PAIRS and (se <= TARGET_RELATIVE_SE * mean or n >= MAX_PAIRS):
            return float(mean * scale), float(se * scale), n


def _sampled_mean(X, rows, seed, n_threads):
    """(mean, standard error, pairs sampled) of the pairwise distance of the
    set ``rows`` = all rows of X (gathered by mean_distance)."""
    sample = (_neighbors.csr_sample_pair_distances if _is_sparse(X)
              else _neighbors.sample_pair_distances)
    def batches(scale):
        for first in range(0, MAX_PAIRS, _BATCH):
            yield sample(X, rows, seed, first, _BATCH, scale, n_threads)

    return sampled_mean(_mean_square_distance(X), batches)  # X: the set's rows alone


def mean_seed(seed):
    """The pair sample's seed: a stream of the search's seed apart from the
    cells'."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0])


def cells_and_probes(m):
    """(cells, cells each row joins) for a set of m rows: N_PROBE, and one
    more each time the cells double beyond PROBE_CELLS."""
    n_cells = max(1, int(round(m / CELL_ROWS)))
    extra = max(0, math.floor(math.log2(n_cells / PROBE_CELLS)))
    return n_cells, min(N_PROBE + extra, n_cells)


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
    cells = probe_cells(_Rows(X, rows, n_threads), n_cells, n_probe, rng, n_threads)
    if needed is not None and not _is_sparse(X) and QUERY_SHARE * len(needed) <= m:
        return _needed_lists(X, rows, cells, k, needed, n_threads)
    cand = _in_cell_candidates(X, rows, cells, k, n_threads)
    nn, short = _best_k(X, rows, cand, k, n_threads)
    if short.size:
        nn[short] = _exhaustive(X, rows, short, k, n_threads)
    if needed is not None:
        unread = np.ones(m, dtype=bool)
        unread[np.asarray(needed, dtype=np.int64)] = False
        nn[unread] = -1
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
    return _sampled_mean(X, rows, mean_seed(seed), n_threads)


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
