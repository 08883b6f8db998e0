"""kmsmote.dask: a kept cluster too large for one task, handled in parts.

The approximate path (``kmsmote/_approx.py``) of a kept cluster whose class
rows exceed ``max_cluster_bytes`` runs here with the cluster's rows left
in pieces: the rows each input partition holds (``_split``'s output;
consecutive ones joined up to half the limit, ``coalesce``), in global row
order, so that piece ``p`` holds the set's positions
``offsets[p]:offsets[p + 1]``.  Every step is the single-machine one on
the same values, so the output is single-machine kmsmote's, bit for bit:

- the mean distance: the running sums of ``_approx.column_sums`` and
  ``spread_sum`` passed from piece to piece, then the pair sample of
  ``_approx.sampled_mean``, each batch's pairs (``sample_pairs``) fetched
  from the pieces that hold their rows and combined by ``pair_moments``;
- the cells: ``_approx.probe_cells``, through ``_PieceRows`` (its samples
  fetched from the pieces, its per-row steps run on every piece);
- the lists of the rows the draws reach: the rows shuffled to cell tasks
  (whole cells, as many as fit ``max_cluster_bytes``; a row goes once to
  every task holding one of its cells), each giving its queries' k nearest
  among its cells' members (``knn_cells``, with their exact distances),
  merged per row by (distance, position): the k nearest among the members
  of the row's cells, which is what the single-machine search gives
  (tests/test_approx.py shows its two ways agree);  rows left with fewer
  than k, and the few rows of a small draw, searched against every piece;
- the draws: in slices, each task passing the generator's state to the
  next (``draw_slices``), so that no task holds them all;
- the synthetic rows: each output slice fetches its base rows and
  neighbours from the pieces.

The client receives the sums (a row of floats per step), the cells'
k-means samples (one row in ``_approx.CELL_SAMPLE`` of the cluster, as the
single-machine k-means of the cells reads them) and counts.
"""

import numpy as np
import pandas as pd
from dask import delayed

from . import _approx, _generate, _neighbors
from ._data import _Data


# Batches of the pair sample computed in one round trip at most.
_ROUND_BATCHES = 32


def _dist(piece, exponent):
    """A piece's rows as the distances see them (scaled as the whole data)."""
    return _Data(piece, 1, exponent).dist


def _split_positions(positions, offsets):
    """Positions (sorted) cut by the pieces' bounds: per piece, the local
    indices of those it holds."""
    cuts = np.searchsorted(positions, offsets)
    return [positions[a:b] - offsets[p] for p, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]


# ---------------------------------------------------------------------------
# Tasks (module level: the workers import them).


def _column_sums(piece, exponent, total):
    return _approx.column_sums(_dist(piece, exponent), total)


def _spread_sum(piece, exponent, center, total):
    return _approx.spread_sum(_dist(piece, exponent), center, total)


def _pick(piece, exponent, local):
    """The piece's rows at local indices (as the distances see them)."""
    return _dist(piece, exponent)[local]


def _concat(*parts):
    return np.concatenate(parts)


def _pair_rows(m, seed, first, count):
    """The sampled pairs first .. first + count - 1 and their rows'
    positions (sorted, distinct)."""
    i, j = _neighbors.sample_pairs(m, seed, first, count)
    return i, j, np.unique(np.concatenate([i, j]))


def _pick_pairs(piece, exponent, lo, m, seed, first, count):
    """(positions, rows) of the piece's rows that those pairs join."""
    positions = _pair_rows(m, seed, first, count)[2]
    X = _dist(piece, exponent)
    held = positions[(positions >= lo) & (positions < lo + X.shape[0])]
    return held, X[held - lo]


def _pair_sq(m, seed, first, count, *picked):
    """The squared distances of the pairs first .. first + count - 1 of
    the sample, from their rows fetched in pieces."""
    i, j, _ = _pair_rows(m, seed, first, count)
    positions = np.concatenate([p[0] for p in picked])
    X = np.ascontiguousarray(np.concatenate([p[1] for p in picked]))
    return _neighbors.pair_distances(X, np.searchsorted(positions, i),
                                     np.searchsorted(positions, j), 1, squared=True)


def _moments(scale, *parts):
    return np.array(_neighbors.pair_moments(np.concatenate(parts), scale, 1))


def _nearest(piece, exponent, centers, p, n_threads):
    X = _dist(piece, exponent)
    return _approx._nearest_cells(X, np.arange(X.shape[0], dtype=np.int64), centers, p,
                                  n_threads)


def _group_counts(group, n_groups):
    return np.bincount(group[:, 0], minlength=n_groups)


def _pick_in_groups(piece, exponent, group, wanted):
    """Per (group, local ranks) asked for: the piece's rows of that group at
    those ranks (ranks among the piece's rows of the group, in order)."""
    X = _dist(piece, exponent)
    out = []
    for g, ranks in wanted:
        out.append(X[np.flatnonzero(group[:, 0] == g)[ranks]])
    return out


def _two_level(piece, exponent, group, level, n_probe, n_threads):
    group_centers, firsts, centers, graph = level
    X = _dist(piece, exponent)
    return _approx.two_level_probes(X, np.arange(X.shape[0], dtype=np.int64), group[:, 0],
                                    group_centers, firsts, centers, graph, n_probe,
                                    n_threads)


def _cell_counts(cells):
    return np.bincount(cells.ravel())


def _draw_ints(state, seed, n_choices, size):
    """The next ``size`` base draws of a kept cluster's generator (seeded
    with ``seed`` when ``state`` is None), and its state after them: the
    draws of _plan.seeded_draws in slices, one task each (its integers
    first, then its steps), so that no task holds them all."""
    rs = np.random.RandomState(seed)
    if state is not None:
        rs.set_state(state)
    return rs.randint(low=0, high=n_choices, size=size).astype(np.int64, copy=False), \
        rs.get_state()


def _draw_steps(state, size):
    rs = np.random.RandomState()
    rs.set_state(state)
    return rs.uniform(size=size), rs.get_state()


def _pair_up(ints, steps):
    return ints[0], steps[0]


def draw_slices(seed, n_choices, bounds, persist):
    """``(sample_idx, steps)`` of every slice ``bounds`` of a kept
    cluster's draws, the values _plan.seeded_draws gives at once, persisted
    (read by the lists and by the output)."""
    ints, state = [], None
    for a, b in bounds:
        ints.append(delayed(_draw_ints, nout=2)(state, seed, n_choices, b - a))
        state = ints[-1][1]
    out = []
    for (a, b), drawn in zip(bounds, ints):
        steps = delayed(_draw_steps, nout=2)(state, b - a)
        state = steps[1]
        out.append(delayed(_pair_up)(drawn, steps))
    return list(persist(*out))


def reached(draws, k):
    """The positions a slice of draws reads lists of."""
    return np.unique(draws[0] // k)


def _needed_parts(draws, k, offsets):
    """reached, cut by piece."""
    return tuple(_split_positions(reached(draws, k), offsets))


def _union(*parts):
    return np.unique(np.concatenate(parts))


def _to_cells(piece, exponent, cells, needed, lo, task_of, firsts, n_tasks):
    """The shuffle's map side: for every cell task, this piece's rows that
    join one of its cells: (positions, rows, cells in the task's numbering
    with -1 for the others, whether their lists are needed)."""
    X = _dist(piece, exponent)
    tasks = task_of[cells]  # (n, n_probe)
    is_needed = np.zeros(X.shape[0], dtype=bool)
    is_needed[needed] = True
    out = []
    for t in range(n_tasks):
        mine = tasks == t
        rows = np.flatnonzero(mine.any(axis=1))
        local = np.where(mine[rows], cells[rows] - firsts[t], -1)
        out.append((rows + lo, X[rows], local, is_needed[rows]))
    return tuple(out)


def _cell_lists(k, n_cells, offsets, n_threads, *parts):
    """The shuffle's reduce side: one task's cells, whole.  For every row
    asked for among its members, its k nearest among the members of its
    cells held here (knn_cells: by exact distance, ties by position), with
    those distances; cut by the pieces that hold the rows."""
    positions = np.concatenate([p[0] for p in parts])
    X = np.ascontiguousarray(np.concatenate([p[1] for p in parts]))
    cells = np.concatenate([p[2] for p in parts])
    needed = np.concatenate([p[3] for p in parts])
    flat = cells.ravel()
    joined = np.flatnonzero(flat >= 0)
    order = joined[np.argsort(flat[joined], kind="stable")]
    members = order // cells.shape[1]  # by cell, in position order inside each
    ptr = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat[joined], minlength=n_cells), out=ptr[1:])
    queries = np.flatnonzero(needed)
    nn = np.full((queries.size, k), -1, dtype=np.int64)
    dist = np.full((queries.size, k), np.inf)
    if queries.size:
        nn = _neighbors.knn_cells(X, queries, cells[queries], ptr, members, k, n_threads)
        i, j = np.nonzero(nn >= 0)
        dist[i, j] = _neighbors.pair_distances(X, queries[i], nn[i, j], n_threads)
        nn = np.where(nn >= 0, positions[np.maximum(nn, 0)], -1)
    at = positions[queries]
    cuts = np.searchsorted(at, offsets)
    return tuple((at[a:b], nn[a:b], dist[a:b]) for a, b in zip(cuts[:-1], cuts[1:]))


def _merge(k, *found):
    """Lists of the same rows from several places merged: every row's k
    nearest distinct candidates by (distance, position), as knn_cells
    merges its cells'.  Returns (rows, lists, rows left with fewer than k)."""
    rows = np.unique(np.concatenate([f[0] for f in found]))
    # Each place gives a row once: a row has as many lists as places.
    places = np.zeros(rows.size, dtype=np.int64)
    for f in found:
        places[np.searchsorted(rows, f[0])] += 1
    width = max(1, int(places.max(initial=0))) * k
    cand = np.full((rows.size, width), -1, dtype=np.int64)
    dist = np.full((rows.size, width), np.inf)
    used = np.zeros(rows.size, dtype=np.int64)
    for f in found:
        at = np.searchsorted(rows, f[0])
        cols = used[at, None] * k + np.arange(k)
        cand[at[:, None], cols] = f[1]
        dist[at[:, None], cols] = f[2]
        used[at] += 1
    order = np.argsort(cand, axis=1, kind="stable")  # -1 first, duplicates side by side
    cand = np.take_along_axis(cand, order, axis=1)
    dist = np.take_along_axis(dist, order, axis=1)
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    dist[(cand < 0) | dup] = np.inf
    pick = np.argsort(dist, axis=1, kind="stable")[:, :k]
    nn = np.take_along_axis(cand, pick, axis=1)
    short = ~np.isfinite(np.take_along_axis(dist, pick, axis=1)[:, -1])
    nn[short] = -1
    return rows, nn, rows[short]


def _exhaustive_piece(piece, exponent, lo, queries, qrows, k):
    """The k nearest rows of this piece (by exact distance, ties by
    position) to each query row (set positions ``queries``, rows ``qrows``),
    a query's own row excluded: for _merge."""
    X = _dist(piece, exponent)
    n = X.shape[0]
    nq = queries.size
    if n == 0 or nq == 0:
        return queries, np.full((nq, k), -1, dtype=np.int64), np.full((nq, k), np.inf)
    Z = np.ascontiguousarray(np.concatenate([X, qrows]))
    # A query this piece holds is its own row (the kernel leaves it out).
    q = n + np.arange(nq, dtype=np.int64)
    inside = (queries >= lo) & (queries < lo + n)
    q[inside] = queries[inside] - lo
    nn = _approx.knn_in_blocks(Z, q, np.arange(n, dtype=np.int64), k, 1)
    dist = np.full((nq, k), np.inf)
    i, j = np.nonzero(nn >= 0)
    dist[i, j] = _neighbors.pair_distances(Z, q[i], nn[i, j], 1)
    return queries, np.where(nn >= 0, nn + lo, -1), dist


def _short(merged):
    return merged[2]


def _patch(merged, fixed):
    """A piece's merged lists with the exhaustive lists of its short rows."""
    rows, nn, _ = merged
    if fixed is not None and fixed[0].size:
        at = np.searchsorted(rows, fixed[0])
        inside = (at < rows.size)
        inside[inside] = rows[at[inside]] == fixed[0][inside]
        nn = nn.copy()
        nn[at[inside]] = fixed[1][inside]
    return rows, nn


def _lookup(draws, lists, k, lo, hi):
    """For the draws whose base row this piece holds: (draw numbers,
    neighbour positions)."""
    sample_idx = draws[0]
    base = sample_idx // k
    mine = np.flatnonzero((base >= lo) & (base < hi))
    rows, nn = lists
    at = np.searchsorted(rows, base[mine])
    return mine, nn[at, sample_idx[mine] % k]


def _pairs(draws, k, *lookups):
    """(base positions, neighbour positions, steps) of a slice's draws."""
    sample_idx, steps = draws
    other = np.empty(sample_idx.size, dtype=np.int64)
    for mine, nbr in lookups:
        other[mine] = nbr
    return sample_idx // k, other, steps


def _pick_work(piece, lo, pairs):
    """The user's values of the piece's rows a slice's draws read."""
    wanted = np.unique(np.concatenate(pairs[:2]))
    n = piece.shape[0]
    local = wanted[(wanted >= lo) & (wanted < lo + n)] - lo
    return local + lo, _Data(piece, 1, 0).work[local]


def _synthetic(pairs, dtype, n_threads, frame, *picked):
    """One slice's synthetic rows from its base rows and neighbours (the
    generation kernel on the user's values, as on one machine)."""
    base, other, steps = pairs
    positions = np.concatenate([p[0] for p in picked])
    work = np.ascontiguousarray(np.concatenate([p[1] for p in picked]))
    n = base.size
    rows = np.concatenate([np.searchsorted(positions, base),
                           np.searchsorted(positions, other)])
    nn = np.zeros((2 * n, 1), dtype=np.int64)
    nn[:n, 0] = np.arange(n, 2 * n)
    out = np.empty((n, work.shape[1]), dtype=work.dtype)
    _generate.generate(work, rows, nn, np.arange(n, dtype=np.int64),
                       np.ascontiguousarray(steps), out, n_threads)
    return as_output(out, dtype, frame)


def as_output(out, dtype, frame):
    """Synthetic rows in X's dtype, as a NumPy block or (``frame``:
    columns, dtypes, first output row) a DataFrame indexed by their rows
    in the output."""
    out = out.astype(dtype, copy=False)
    if frame is None:
        return out
    columns, dtypes, start = frame
    return pd.DataFrame(out, columns=columns,
                        index=pd.RangeIndex(start, start + out.shape[0])).astype(dtypes)


# ---------------------------------------------------------------------------
# The client's side.


def coalesce(pieces, lengths, most, persist):
    """(pieces, offsets): consecutive pieces joined while they hold at most
    ``most`` rows together (a partition may hold few of a cluster's rows:
    fewer, larger pieces mean fewer tasks in every step), empty ones
    dropped, persisted."""
    joined, sizes, run, held = [], [], [], 0
    for piece, n in zip(pieces, lengths):
        if n == 0:
            continue
        if run and held + n > most:
            joined.append(run)
            sizes.append(held)
            run, held = [], 0
        run.append(piece)
        held += n
    if run:
        joined.append(run)
        sizes.append(held)
    out = persist(*[run[0] if len(run) == 1 else delayed(_concat)(*run) for run in joined])
    return list(out), np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


class _PieceRows:
    """A kept cluster's class rows in pieces on the workers, as
    ``_approx.probe_cells`` reads a set (see ``_approx._Rows``)."""

    def __init__(self, pieces, offsets, exponent, n_threads, compute, persist):
        self.pieces, self.offsets = pieces, np.asarray(offsets, dtype=np.int64)
        self.exponent, self.n_threads = exponent, n_threads
        self.m = int(self.offsets[-1])
        self._compute, self._persist = compute, persist

    def _map(self, func, *args, each=None):
        """func(piece, exponent, [each[p]], *args) on every piece, persisted."""
        tasks = [delayed(func)(piece, self.exponent, *(() if each is None else (each[p],)),
                               *args)
                 for p, piece in enumerate(self.pieces)]
        return list(self._persist(*tasks))

    def take(self, positions):
        if positions is None:
            positions = np.arange(self.m, dtype=np.int64)
        local = _split_positions(np.asarray(positions, dtype=np.int64), self.offsets)
        picked = self._compute(*[delayed(_pick)(piece, self.exponent, ix)
                                 for piece, ix in zip(self.pieces, local) if ix.size])
        return np.concatenate(picked)

    def nearest(self, centers, p):
        return self._map(_nearest, delayed(centers, pure=True), p, self.n_threads)

    def group_counts(self, group, n_groups):
        self._group_table = np.stack(self._compute(
            *[delayed(_group_counts)(g, n_groups) for g in group]))
        return self._group_table.sum(axis=0)

    def take_in_groups(self, group, wanted):
        table = self._group_table  # (pieces, groups)
        before = np.cumsum(table, axis=0) - table
        asks = [[] for _ in self.pieces]
        for w, (g, ranks) in enumerate(wanted):
            if ranks is None:
                ranks = np.arange(int(table[:, g].sum()), dtype=np.int64)
            cuts = np.searchsorted(ranks, np.append(before[:, g], table[:, g].sum()))
            for p in range(len(self.pieces)):
                part = ranks[cuts[p]:cuts[p + 1]] - before[p, g]
                if part.size:
                    asks[p].append((w, g, part))
        jobs = [(p, delayed(_pick_in_groups)(self.pieces[p], self.exponent, group[p],
                                             [(g, part) for _, g, part in asks[p]]))
                for p in range(len(self.pieces)) if asks[p]]
        found = self._compute(*[job for _, job in jobs])
        out = [[] for _ in wanted]
        for (p, _), rows in zip(jobs, found):
            for (w, _, _), block in zip(asks[p], rows):
                out[w].append(block)
        return [np.concatenate(parts) for parts in out]

    def two_level(self, group, group_centers, firsts, centers, graph, n_probe):
        level = delayed((group_centers, firsts, centers, graph), pure=True)
        return self._map(_two_level, level, n_probe, self.n_threads, each=group)


def mean_distance(rows, d, seed, budget_rows):
    """(mean, standard error) of a set of ``d`` features in pieces, as
    _approx.mean_distance gives it for the set in one place (in the
    distances' units): the running sums passed from piece to piece, then
    the pair sample, each batch's rows fetched from the pieces in parts of
    at most ``budget_rows`` rows."""
    m = rows.m
    total = np.zeros(d)
    for piece in rows.pieces:
        total = delayed(_column_sums)(piece, rows.exponent, total)
    (total,) = rows._compute(total)
    center = total / m
    spread = np.float64(0.0)
    for piece in rows.pieces:
        spread = delayed(_spread_sum)(piece, rows.exponent, center, spread)
    (spread,) = rows._compute(spread)
    pair_seed = _approx.mean_seed(seed)
    step = max(1, budget_rows // 2)

    def batches(scale):
        # Rounds of 1, 2, 4 ... batches (at most _ROUND_BATCHES): the loop
        # stops at the same batch as on one machine, and a round trip
        # serves many batches (the extra ones of the last round are not
        # used).
        first, count = 0, 1
        while first < _approx.MAX_PAIRS:
            count = min(count, (_approx.MAX_PAIRS - first) // _approx._BATCH)
            found = rows._compute(*[_batch_sums(rows, m, pair_seed, first + b * _approx._BATCH,
                                                scale, step)
                                    for b in range(count)])
            yield from found
            first += count * _approx._BATCH
            count = min(2 * count, _ROUND_BATCHES)

    mean, se, _ = _approx.sampled_mean(2.0 * float(spread) / (m - 1), batches)
    return mean, se


def _batch_sums(rows, m, pair_seed, first, scale, step):
    """Delayed sums of one batch of the pair sample (sample_pair_distances'),
    its rows fetched from the pieces in parts of ``step`` pairs (each task
    draws the pairs again from the seed: no array travels in the graph)."""
    parts = []
    for a in range(0, _approx._BATCH, step):
        b = min(a + step, _approx._BATCH)
        picked = [delayed(_pick_pairs)(piece, rows.exponent, int(rows.offsets[p]), m,
                                       pair_seed, first + a, b - a)
                  for p, piece in enumerate(rows.pieces)]
        parts.append(delayed(_pair_sq)(m, pair_seed, first + a, b - a, *picked))
    return delayed(_moments)(scale, *parts)


def _exhaustive(rows, queries, k):
    """Per piece, delayed (rows, lists, short) of the set positions
    ``queries`` (sorted): their k nearest in the whole set."""
    local = _split_positions(queries, rows.offsets)
    qrows = delayed(_concat)(*[delayed(_pick)(piece, rows.exponent, ix)
                               for piece, ix in zip(rows.pieces, local) if ix.size])
    queries = delayed(queries, pure=True)
    found = [delayed(_exhaustive_piece)(piece, rows.exponent, int(rows.offsets[p]), queries,
                                        qrows, k)
             for p, piece in enumerate(rows.pieces)]
    return delayed(_merge)(k, *found)


def _cut(merged, offsets):
    """Merged lists cut by the pieces' bounds."""
    rows, nn, _ = merged
    cuts = np.searchsorted(rows, offsets)
    return tuple((rows[a:b], nn[a:b]) for a, b in zip(cuts[:-1], cuts[1:]))


def neighbour_lists(rows, k, seed, draws, count, budget_bytes, row_bytes):
    """Per piece, delayed ``(positions, lists)`` of the rows a kept
    cluster's draws reach (``draws``: draw_slices, ``count`` in all): the
    lists single-machine kmsmote finds for them (``_approx.neighbours``
    with ``needed``), each a row of k set positions, nearest first."""
    m, offsets, P = rows.m, rows.offsets, len(rows.pieces)
    if count < m:
        parts = [delayed(_needed_parts, nout=P)(d, k, offsets) for d in draws]
        needed = list(rows._persist(*[delayed(_union)(*[part[p] for part in parts])
                                      for p in range(P)]))
    else:
        needed = [np.arange(b - a, dtype=np.int64) for a, b in zip(offsets[:-1], offsets[1:])]
    n_needed = int(np.sum(rows._compute(*[delayed(len)(n) for n in needed])))
    if n_needed * m <= _approx.EXHAUSTIVE_PAIRS:
        # As on one machine: so few rows that each is compared with all.
        local = rows._compute(*needed)
        queries = np.concatenate([ix + offsets[p] for p, ix in enumerate(local)])
        return list(delayed(_cut, nout=P)(_exhaustive(rows, queries, k), offsets))
    n_cells, n_probe = _approx.cells_and_probes(m)
    rng = np.random.Generator(np.random.PCG64(seed))
    cells = _approx.probe_cells(rows, n_cells, n_probe, rng, rows.n_threads)
    # (Two levels make about n_cells cells: the groups' own counts decide.)
    counts = rows._compute(*[delayed(_cell_counts)(c) for c in cells])
    n_cells = max(c.size for c in counts)
    sizes = np.sum([np.pad(c, (0, n_cells - c.size)) for c in counts], axis=0)
    # Whole cells per task, consecutive numbers (cells of one group of the
    # two levels are neighbours), within the budget.
    task_of = np.empty(n_cells, dtype=np.int64)
    firsts, held, t = [0], 0, 0
    for c in range(n_cells):
        if held and (held + sizes[c]) * row_bytes > budget_bytes:
            t, held = t + 1, 0
            firsts.append(c)
        task_of[c] = t
        held += sizes[c]
    n_tasks = t + 1
    firsts = np.asarray(firsts, dtype=np.int64)
    widths = np.diff(np.append(firsts, n_cells)).tolist()
    # Arrays every task reads: one graph key each.
    task_of, firsts = delayed(task_of, pure=True), delayed(firsts, pure=True)
    sent = [delayed(_to_cells, nout=n_tasks)(piece, rows.exponent, cells[p], needed[p],
                                             int(offsets[p]), task_of, firsts, n_tasks)
            for p, piece in enumerate(rows.pieces)]
    found = [delayed(_cell_lists, nout=P)(k, int(widths[t]), offsets, rows.n_threads,
                                          *[s[t] for s in sent])
             for t in range(n_tasks)]
    merged = rows._persist(*[delayed(_merge)(k, *[f[p] for f in found]) for p in range(P)])
    short = np.concatenate(rows._compute(*[delayed(_short)(mp) for mp in merged]))
    fixed = [None] * P
    if short.size:
        fixed = delayed(_cut, nout=P)(_exhaustive(rows, np.sort(short), k), offsets)
    return list(rows._persist(*[delayed(_patch)(mp, fixed[p]) for p, mp in enumerate(merged)]))


def synthetic_blocks(rows, lists, k, draws, bounds, dtype, n_threads, frames):
    """The delayed synthetic blocks of one kept cluster: one per slice
    ``bounds`` of its draws (``draws``: the delayed slices of
    ``(sample_idx, steps)``), ``frames[s]`` the DataFrame form of slice s
    (None: an array)."""
    offsets = rows.offsets
    blocks = []
    for s in range(len(bounds)):
        looked = [delayed(_lookup)(draws[s], lists[p], k, int(offsets[p]), int(offsets[p + 1]))
                  for p in range(len(rows.pieces))]
        pairs = delayed(_pairs)(draws[s], k, *looked)
        picked = [delayed(_pick_work)(piece, int(offsets[p]), pairs)
                  for p, piece in enumerate(rows.pieces)]
        blocks.append(delayed(_synthetic)(pairs, dtype, n_threads, frames[s], *picked))
    return blocks
