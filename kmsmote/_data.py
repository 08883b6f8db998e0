"""The data as the compiled kernels see it, and the neighbour searches.

``_Data`` holds X in the form each step needs (dense or CSR, float32 or
float64, scaled by a power of two when squared distances would overflow);
``neighbour_groups`` finds, for every set of class rows the plan keeps, the
neighbours and mean pairwise distance, with the compiled search or with
scikit-learn's where that is the way to the reference's exact output.
Every front end (the estimator, kmsmote.dask's tasks) goes through here.
"""

import math

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import clone

from . import _approx, _generate, _neighbors
from ._plan import weight_dtype


# Squared distances overflow double beyond about 1e154 and vanish below
# 1e-154; outside [2^-500, 2^500] the distance computations work on a copy
# scaled by a power of two (exact), which changes no neighbour, no cluster
# and no weight.
_SCALE_LIMIT = 500


def scale_exponent(peak):
    """The power of two by which the distance computations scale data whose
    largest magnitude is ``peak`` (0: no scaling)."""
    if peak > 0:
        e = math.frexp(peak)[1]
        if abs(e) > _SCALE_LIMIT:
            return e
    return 0


class _Data:
    """X in the form each step needs: dense or CSR, float32 or float64.

    Neighbours and distances may use a copy scaled by a power of two when the
    magnitudes would overflow or underflow squared distances; generation
    always interpolates the user's values.
    """

    def __init__(self, X, n_threads, exponent=None, peak=None):
        self.X = X
        self.n_threads = n_threads
        self.sparse = sparse.issparse(X)
        if self.sparse:
            work = X.tocsr()
            if work.dtype not in (np.float32, np.float64):
                work = work.astype(np.float64)
            if not work.has_canonical_format:
                work = work.copy()
                work.sum_duplicates()
            values = work.data
        else:
            if X.dtype in (np.float32, np.float64):
                work = np.ascontiguousarray(X)
            else:
                # Integers (any width) are interpolated in float64 and cast
                # back at the end: no wrap-around.
                work = np.ascontiguousarray(X, dtype=np.float64)
            values = work
        self.work = work
        self.weight_dtype = weight_dtype(work.dtype)
        # exponent: the power of two to scale by, when a caller holding one
        # part of a larger data set (kmsmote.dask) decided it for the whole.
        self.exponent = 0 if exponent is None else int(exponent)
        if exponent is None and values.size:
            if peak is None:
                peak = _generate.abs_max(np.ascontiguousarray(values), n_threads)
            self.exponent = scale_exponent(peak)
        if self.exponent:
            scaled = work.copy()
            if self.sparse:
                scaled.data = np.ldexp(scaled.data, -self.exponent).astype(work.dtype)
            else:
                np.ldexp(scaled, -self.exponent, out=scaled, casting="unsafe")
            self.dist = scaled
        else:
            self.dist = work

    def for_clustering(self):
        return self.dist

    def rows(self, rows):
        """The user's values of the given rows, in X's dtype and format: what
        the reference hands scikit-learn's neighbour search (which may order
        exact ties otherwise for integers than for their float64 copy)."""
        return self.X[rows]

    def neighbours(self, rows, k, return_distance=False):
        """(nn positions[, their distances], mean pairwise distance) of one
        set of rows."""
        if self.sparse:
            found = _neighbors.csr_knn_sparsity(self.dist, rows, k, self.n_threads,
                                                return_distance=return_distance)
        else:
            found = _neighbors.knn_sparsity(self.dist, rows, k, self.n_threads,
                                            return_distance=return_distance)
        return (*found[:-1], self._mean(found[-1], rows.size))

    def _mean(self, pair_sum, m):
        mean = 2.0 * pair_sum / (m * m - m)
        return math.ldexp(mean, self.exponent) if self.exponent else mean

    def neighbours_sets(self, sets, ks):
        """[(nn positions, mean pairwise distance)] of several sets of rows
        (at least 2 each), as neighbours() gives them one by one."""
        if not sets:
            return []
        sizes = np.array([rows.size for rows in sets], dtype=np.int64)
        offsets = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        if self.sparse:
            search = _neighbors.csr_knn_sparsity_sets
        else:
            search = _neighbors.knn_sparsity_sets
        nn, sums = search(self.dist, np.concatenate(sets), offsets,
                          np.asarray(ks, dtype=np.int64), self.n_threads)
        return [(nn_s, self._mean(float(sum_s), int(m))) for nn_s, sum_s, m in zip(nn, sums, sizes)]

    def reference_rounds_to_float32(self):
        """Whether scikit-learn's brute-force search over float32 rows
        stores their squared distances in float32: its pairwise-distance
        path (``euclidean_distances``, upcasting blocks to float64 and
        casting the result back), which it takes for sparse input always and
        for dense input when ``enable_cython_pairwise_dist`` is off.  Its
        Cython reduction (dense) and its trees (float64 copies) keep them in
        float64.  A float32 matrix is never scaled (its exponents stay far
        within _SCALE_LIMIT), so these distances are in the user's units."""
        if self.X.dtype != np.float32:
            return False
        return self.sparse or not get_config().get("enable_cython_pairwise_dist", True)

    def squared_norms(self, rows):
        """Squared Euclidean norms of the given rows (as the distances see
        them), in float64."""
        picked = self.dist[rows]
        if self.sparse:
            squares = picked.astype(np.float64)
            squares.data **= 2
            return np.asarray(squares.sum(axis=1)).ravel()
        picked = picked.astype(np.float64, copy=False)
        return np.einsum("ij,ij->i", picked, picked)


def _may_tie(sq_norms, nn, dist, k, n_features, float32_distances=False):
    """True when scikit-learn might order the first k neighbours of some
    member otherwise than our exact search: two of the self, the k
    neighbours and the next one (if found) are equally far, or so nearly
    that scikit-learn's brute force (the norm expansion
    ``|x|^2 - 2 x.y + |y|^2``) could swap them.

    ``nn`` and ``dist`` (exact distances, nearest first) hold k or k + 1
    neighbours of each member; ``sq_norms`` are the members' squared norms.
    ``float32_distances``: scikit-learn stores the squared distances it
    computed in float64 as float32 (``_Data.reference_rounds_to_float32``).
    """
    if nn.size == 0:
        return False
    d2 = np.square(dist)
    # A bound on the rounding error of the expansion of one squared
    # distance, relative to |x|^2 + |y|^2 (generous: a false alarm only
    # costs speed).
    rel = (2.0 * n_features + 8.0) * np.finfo(np.float64).eps
    # Storing a squared distance in float32 moves it by up to half an ulp:
    # 2^-24 of its size (bounded here by 2^-23), or half the subnormal
    # spacing 2^-149 below 2^-126 (bounded by 2^-149).  Two distances that
    # close may come out equal, and scikit-learn's sort (not stable) then
    # orders them by its own rule.  Beyond float32's range all become inf.
    if float32_distances:
        f32 = np.finfo(np.float32)
        if np.any(d2 >= float(f32.max) * (1.0 - f32.eps)):
            return True
        rel32, tiny32 = float(f32.eps), float(f32.smallest_subnormal)
    else:
        rel32, tiny32 = 0.0, 0.0
    own = sq_norms[:, None]
    # Self (at distance 0) against the nearest neighbour.
    if np.any(d2[:, 0] * (1.0 - rel32)
              <= rel * (2.0 * own[:, 0] + sq_norms[nn[:, 0]]) + 2.0 * tiny32):
        return True
    last = min(k + 1, nn.shape[1])
    if last < 2:
        return False
    gap = d2[:, 1:last] - d2[:, :last - 1]
    bound = rel * (2.0 * own + sq_norms[nn[:, 1:last]] + sq_norms[nn[:, :last - 1]])
    if float32_distances:
        bound += rel32 * (d2[:, 1:last] + d2[:, :last - 1]) + 2.0 * tiny32
    return bool(np.any(gap <= bound))


def neighbour_groups(data, sets, n_neighbors, nn_search, fast_nn, reference_order):
    """``(nn, mean_distance)`` of every set of class rows, in order.

    ``nn[i]`` holds the positions (in the set) of the ``k`` nearest other
    rows of row ``i``, ``k = n_neighbors - 1`` lowered to ``m - 1`` for a
    set of ``m`` rows; a single row is its own neighbour, so its synthetic
    rows copy it.  ``fast_nn``: ``nn_search`` is a plain Euclidean
    scikit-learn search, which the compiled one reproduces; otherwise
    ``nn_search`` itself is fitted and asked.  ``reference_order``: a
    user's clusterer chose the clusters, so exact ties are ordered as
    scikit-learn orders them (see ``_may_tie``).

    With the compiled search and no ties to check, one call serves all the
    sets, so that the threads share them out (a set per thread, or all
    threads on a large set) instead of waiting on each other at the end of
    every set; the results are those of one call per set.
    """
    sets = [np.ascontiguousarray(rows, dtype=np.int64) for rows in sets]
    if not fast_nn or reference_order:
        return [_one_group(data, rows, n_neighbors, nn_search, fast_nn, reference_order)
                for rows in sets]
    results = [_one_group(data, rows, n_neighbors, nn_search, fast_nn, reference_order)
               if rows.size == 1 else None for rows in sets]
    multi = [i for i, rows in enumerate(sets) if rows.size > 1]
    found = data.neighbours_sets([sets[i] for i in multi],
                                 [min(n_neighbors - 1, sets[i].size - 1) for i in multi])
    for i, result in zip(multi, found):
        results[i] = result
    return results


def search_groups(data, sets, paths, seeds, n_neighbors, nn_search, fast_nn,
                  reference_order):
    """``(nn, mean_distance, standard_error, path)`` of every set of class
    rows: those whose path (``_plan.search_path``) is ``"exact"`` as
    neighbour_groups finds them (standard error 0); for the
    ``"approximate"`` ones the mean by ``_approx.mean_distance`` with their
    seed (``_plan.search_seed``) and ``nn=None``: their neighbours come
    after the allocation (approximate_nn), for the rows drawn only.
    ``path`` is the one taken: ``"exact"`` for an approximate set so small
    that its search is exact all the same (too few cells, exact mean)."""
    out = [None] * len(sets)
    exact = [i for i, path in enumerate(paths) if path != "approximate"]
    found = neighbour_groups(data, [sets[i] for i in exact], n_neighbors, nn_search,
                             fast_nn, reference_order)
    for i, (nn, mean_distance) in zip(exact, found):
        out[i] = (nn, mean_distance, 0.0, "exact")
    for i, path in enumerate(paths):
        if path == "approximate":
            out[i] = (None, *approximate_mean(data, sets[i], seeds[i]))
    return out


def approximate_mean(data, rows, seed):
    """``(mean_distance, standard_error, path)`` of one set of at least 2
    class rows by the approximate path (in the user's units)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    path = "approximate" if _approx.is_approximate(rows.size) else "exact"
    found = _approx.mean_distance(data.dist, rows, seed, data.n_threads)
    if found is None:
        # The set is small enough that its exact mean is the cheaper.
        return data.neighbours(rows, 0)[-1], 0.0, path
    if data.exponent:
        return math.ldexp(found[0], data.exponent), math.ldexp(found[1], data.exponent), path
    return found[0], found[1], path


def approximate_nn(data, rows, n_neighbors, seed, needed=None):
    """The neighbour table of one set by the approximate path: the lists of
    the positions ``needed`` (all if None; -1 elsewhere)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    k = min(n_neighbors - 1, rows.size - 1)
    return _approx.neighbours(data.dist, rows, k, seed, data.n_threads, needed)


def _one_group(data, rows, n_neighbors, nn_search, fast_nn, reference_order):
    """``(nn, mean_distance)`` of one set of class rows (see neighbour_groups)."""
    m = rows.size
    if m == 1:
        return np.zeros((1, 1), dtype=np.int64), 0.0
    k = min(n_neighbors - 1, m - 1)
    # Our search breaks exact ties by position; scikit-learn's (trees, or the
    # norm expansion of brute force) may order them otherwise.  With a
    # user's clusterer (the way to the reference's exact output), where ties
    # may matter, ask scikit-learn itself as the reference does.  With
    # kmsmote's own clusterer there is no reference output to follow: the
    # compiled search decides, which keeps dense and sparse input identical.
    if fast_nn and reference_order:
        # One neighbour more than needed shows a tie at the k-th place.
        nn, dist, mean_distance = data.neighbours(rows, min(k + 1, m - 1),
                                                  return_distance=True)
        tied = _may_tie(data.squared_norms(rows), nn, dist, k, data.dist.shape[1],
                        float32_distances=data.reference_rounds_to_float32())
        nn = None if tied else np.ascontiguousarray(nn[:, :k])
    elif fast_nn:
        nn, mean_distance = data.neighbours(rows, k)
    else:
        nn, (_, mean_distance) = None, data.neighbours(rows, 0)
    if nn is None:
        # A user-supplied neighbour search, or ties: use scikit-learn as the
        # reference does (a copy with fewer neighbours when k had to be
        # lowered).
        estimator = nn_search
        if k < n_neighbors - 1:
            estimator = clone(nn_search).set_params(n_neighbors=k + 1)
        X_class = data.rows(rows)
        estimator.fit(X_class)
        nn = np.ascontiguousarray(
            estimator.kneighbors(X_class, return_distance=False)[:, 1:], dtype=np.int64)
    return nn, mean_distance
