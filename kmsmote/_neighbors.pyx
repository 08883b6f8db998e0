"""Nearest neighbours and summed pairwise distance inside sets of rows, of
a dense array or of a CSR matrix; and the pieces of the approximate search
(distances of given pairs, nearest cell centres).

Thin wrappers over csrc/kms_neighbors.h, the neighbour part of
csrc/kms_sparse.h and csrc/kms_approx.h.  Dense X is a C-contiguous float32 or float64 2-D array
(read-only arrays are accepted); the set is given as row indices, so no
copy of the rows is made.  The ``csr_*`` functions take a sparse matrix
(see _csr_input.pxi) and give exactly (bit for bit) what their dense
counterpart gives on ``X.toarray()``.
"""

import operator

import numpy as np

from cython cimport floating
from libc.stdint cimport int64_t, uint64_t

from kmsmote._kms cimport (
    kms_csr_knn_sparsity,
    kms_csr_knn_sparsity_sets,
    kms_csr_nearest_centers,
    kms_csr_pair_distances,
    kms_csr_sample_pair_distances,
    kms_ctx,
    kms_index,
    kms_knn_sparsity,
    kms_knn_cells,
    kms_knn_sparsity_sets,
    kms_nearest_centers,
    kms_pair_distances,
    kms_pair_moments,
    kms_pair_sqdistances,
    kms_sample_pair_distances,
    kms_sample_pairs,
)

from kmsmote._validation import check_knn_sets, split_knn_sets

include "_errors.pxi"
include "_csr_input.pxi"


# --------------------------------------------------------------------------
# Dense rows


def knn_sparsity(const floating[:, ::1] X, const int64_t[::1] rows, k,
                 n_threads, return_distance=False):
    """k nearest neighbours within a set, and the sum of its pair distances.

    Parameters
    ----------
    X : ndarray of shape (n_total, n_features), float32 or float64
    rows : ndarray of shape (m,), int64
        Rows of X forming the set; positions 0..m-1 name the members.
    k : int
        Neighbours per member, 0 <= k <= m - 1 (k = 0: pair sum only).
    n_threads : int
    return_distance : bool, default=False

    Returns
    -------
    nn : ndarray of shape (m, k), int64
        Positions (into rows) of the k nearest other members, nearest first,
        ties by ascending position.  Distances are exact Euclidean distances
        computed in float64 from the differences.
    nn_dist : ndarray of shape (m, k), float64
        Only if return_distance.
    pair_dist_sum : float
        Sum of the Euclidean distances over the unordered pairs; the mean
        pairwise distance is 2 * pair_dist_sum / (m * (m - 1)).
    """
    cdef Py_ssize_t n_total = X.shape[0], d = X.shape[1], m = rows.shape[0]
    cdef int nt = _kms_threads(n_threads)
    if d < 1:
        raise ValueError(f"knn_sparsity: X must have at least one feature, got "
                         f"shape ({n_total}, {d})")
    k = operator.index(k)
    if k < 0 or (k > 0 and k > m - 1):
        raise ValueError(
            f"knn_sparsity: k={k} neighbours requested but the set has m={m} "
            f"rows; k must be in [0, m - 1] (self is excluded)"
        )
    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef const floating *X_p = &X[0, 0] if n_total > 0 else NULL
    _kms_check_indices(rows_p, m, n_total, "knn_sparsity", "rows", "n_total")

    cdef int64_t c_k = k
    nn = np.empty((m, k), dtype=np.int64)
    nn_dist = np.empty((m, k), dtype=np.float64) if return_distance else None
    cdef int64_t[:, ::1] NN = nn
    cdef double[:, ::1] ND
    cdef int64_t *nn_p = &NN[0, 0] if m > 0 and k > 0 else NULL
    cdef double *nd_p = NULL
    if return_distance and m > 0 and k > 0:
        ND = nn_dist
        nd_p = &ND[0, 0]
    cdef double pair_sum = 0.0
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_knn_sparsity(X_p, n_total, d, rows_p, m, c_k, nn_p, nd_p,
                                  &pair_sum, &ctx)
    _kms_check(status, &sig, "knn_sparsity",
               f"set of m={m} rows of X with shape ({n_total}, {d}), k={k}")
    if return_distance:
        return nn, nn_dist, float(pair_sum)
    return nn, float(pair_sum)


def knn_sparsity_sets(const floating[:, ::1] X, rows, offsets, ks, n_threads):
    """knn_sparsity for several sets in one call (threads shared out among them).

    Parameters
    ----------
    X : ndarray of shape (n_total, n_features), float32 or float64
    rows : ndarray of shape (sum of the set sizes,), int64
        The sets' rows, one set after the other.
    offsets : ndarray of shape (n_sets + 1,), int64
        Set s is ``rows[offsets[s]:offsets[s + 1]]``; ``offsets[0] == 0``,
        ``offsets[-1] == rows.size``.
    ks : ndarray of shape (n_sets,), int64
        Neighbours per member of each set, 0 <= ks[s] <= m_s - 1.
    n_threads : int

    Returns
    -------
    nn : list of ndarray
        For each set, its (m_s, ks[s]) positions, as knn_sparsity gives them.
    pair_dist_sums : ndarray of shape (n_sets,), float64
        Each set's pair sum, bit-identical to knn_sparsity's.
    """
    cdef Py_ssize_t n_total = X.shape[0], d = X.shape[1]
    cdef int nt = _kms_threads(n_threads)
    if d < 1:
        raise ValueError(f"knn_sparsity_sets: X must have at least one feature, got "
                         f"shape ({n_total}, {d})")
    cdef const int64_t[::1] R = np.ascontiguousarray(rows, dtype=np.int64)
    cdef Py_ssize_t total = R.shape[0]
    offsets, ks, sizes = check_knn_sets("knn_sparsity_sets", offsets, ks, total)
    cdef const int64_t[::1] O = offsets
    cdef const int64_t[::1] K = ks
    cdef Py_ssize_t n_sets = K.shape[0]
    cdef const int64_t *rows_p = &R[0] if total > 0 else NULL
    cdef const floating *X_p = &X[0, 0] if n_total > 0 else NULL
    _kms_check_indices(rows_p, total, n_total, "knn_sparsity_sets", "rows", "n_total")
    nn_all = np.empty(int((sizes * ks).sum()), dtype=np.int64)
    sums = np.zeros(n_sets, dtype=np.float64)
    cdef int64_t[::1] NN = nn_all
    cdef double[::1] S = sums
    cdef int64_t *nn_p = &NN[0] if nn_all.size > 0 else NULL
    cdef double *s_p = &S[0] if n_sets > 0 else NULL
    cdef const int64_t *k_p = &K[0] if n_sets > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_knn_sparsity_sets(X_p, n_total, d, rows_p, &O[0], n_sets, k_p,
                                       nn_p, s_p, &ctx)
    _kms_check(status, &sig, "knn_sparsity_sets",
               f"{n_sets} sets, {total} rows of X with shape ({n_total}, {d})")
    return split_knn_sets(nn_all, sizes, ks), sums


# --------------------------------------------------------------------------
# CSR matrices


def _knn_kernel(const floating[::1] data, const kms_index[::1] indices,
                const kms_index[::1] indptr, int64_t n_total, int64_t d,
                const int64_t[::1] rows, int64_t k, int64_t[:, ::1] NN,
                double[:, ::1] ND, bint want_dist, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t m = rows.shape[0]
    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef int64_t *nn_p = &NN[0, 0] if m > 0 and k > 0 else NULL
    cdef double *nd_p = &ND[0, 0] if want_dist and m > 0 and k > 0 else NULL
    cdef double pair_sum = 0.0
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_knn_sparsity(dp, ip, &indptr[0], n_total, d, rows_p, m, k,
                                      nn_p, nd_p, &pair_sum, &ctx)
    _kms_check(status, &sig, "csr_knn_sparsity",
               f"set of m={m} rows of X with shape ({n_total}, {d}), k={k}")
    return float(pair_sum)


def _knn_inputs(X, rows, n_threads, str func):
    """(parts of _csr_arrays, rows as int64 inside [0, n), threads) of a
    neighbour search, checked."""
    parts = _csr_arrays(X, func)
    n_total, d = parts[3], parts[4]
    if d < 1:
        raise ValueError(f"{func}: X must have at least one feature, got shape "
                         f"({n_total}, {d})")
    nt = _kms_threads(n_threads)
    return parts, _rows_array(rows, func, n_total), nt


def csr_knn_sparsity(X, rows, k, n_threads, return_distance=False):
    """k nearest neighbours within a set of rows of a sparse matrix, and the
    sum of its pair distances.

    The same result as ``_neighbors.knn_sparsity(X.toarray(), rows, ...)``.

    Parameters
    ----------
    X : sparse matrix of shape (n_total, n_features), float32 or float64
    rows : ndarray of shape (m,), integer
        Rows of X forming the set; positions 0..m-1 name the members.
    k : int
        Neighbours per member, 0 <= k <= m - 1 (k = 0: pair sum only).
    n_threads : int
    return_distance : bool, default=False

    Returns
    -------
    nn : ndarray of shape (m, k), int64
        Positions (into rows) of the k nearest other members, nearest first,
        ties by ascending position.
    nn_dist : ndarray of shape (m, k), float64
        Only if return_distance.
    pair_dist_sum : float
        Sum of the Euclidean distances over the unordered pairs.
    """
    func = "csr_knn_sparsity"
    parts, r, nt = _knn_inputs(X, rows, n_threads, func)
    m = r.shape[0]
    k = operator.index(k)
    if k < 0 or (k > 0 and k > m - 1):
        raise ValueError(
            f"{func}: k={k} neighbours requested but the set has m={m} rows; k "
            f"must be in [0, m - 1] (self is excluded)"
        )
    data, indices, indptr, n_total, d, r = _csr_canonical(parts, func, r)
    nn = np.empty((m, k), dtype=np.int64)
    nn_dist = np.empty((m, k), dtype=np.float64) if return_distance else None
    nd = nn_dist if return_distance else np.empty((0, 0), dtype=np.float64)
    pair_sum = _knn_kernel(data, indices, indptr, n_total, d, r, k, nn, nd,
                           bool(return_distance), nt)
    if return_distance:
        return nn, nn_dist, pair_sum
    return nn, pair_sum


def _knn_sets_kernel(const floating[::1] data, const kms_index[::1] indices,
                     const kms_index[::1] indptr, int64_t n_total, int64_t d,
                     const int64_t[::1] rows, const int64_t[::1] offsets,
                     const int64_t[::1] ks, int64_t[::1] NN, double[::1] S, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t n_sets = ks.shape[0]
    cdef const int64_t *rows_p = &rows[0] if rows.shape[0] > 0 else NULL
    cdef const int64_t *ks_p = &ks[0] if n_sets > 0 else NULL
    cdef int64_t *nn_p = &NN[0] if NN.shape[0] > 0 else NULL
    cdef double *s_p = &S[0] if n_sets > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_knn_sparsity_sets(dp, ip, &indptr[0], n_total, d, rows_p,
                                           &offsets[0], n_sets, ks_p, nn_p, s_p, &ctx)
    _kms_check(status, &sig, "csr_knn_sparsity_sets",
               f"{n_sets} sets, {rows.shape[0]} rows of X with shape ({n_total}, {d})")


def csr_knn_sparsity_sets(X, rows, offsets, ks, n_threads):
    """csr_knn_sparsity for several sets in one call (the threads shared out
    among them); the result of one call per set.

    Parameters
    ----------
    X : sparse matrix of shape (n_total, n_features), float32 or float64
    rows : ndarray of shape (sum of the set sizes,), integer
        The sets' rows, one set after the other.
    offsets : ndarray of shape (n_sets + 1,), int64
        Set s is ``rows[offsets[s]:offsets[s + 1]]``.
    ks : ndarray of shape (n_sets,), int64
        Neighbours per member of each set, 0 <= ks[s] <= m_s - 1.
    n_threads : int

    Returns
    -------
    nn : list of ndarray
        For each set, its (m_s, ks[s]) positions.
    pair_dist_sums : ndarray of shape (n_sets,), float64
    """
    func = "csr_knn_sparsity_sets"
    parts, r, nt = _knn_inputs(X, rows, n_threads, func)
    offsets, ks, sizes = check_knn_sets(func, offsets, ks, r.shape[0])
    data, indices, indptr, n_total, d, r = _csr_canonical(parts, func, r)
    nn_all = np.empty(int((sizes * ks).sum()), dtype=np.int64)
    sums = np.zeros(ks.shape[0], dtype=np.float64)
    _knn_sets_kernel(data, indices, indptr, n_total, d, r, offsets, ks, nn_all, sums, nt)
    return split_knn_sets(nn_all, sizes, ks), sums


# --------------------------------------------------------------------------
# The approximate search's pieces (csrc/kms_approx.h), dense and CSR


def _pair_arrays(a, b, str func, int64_t n_total):
    a = _rows_array(a, func, n_total, "a")
    b = _rows_array(b, func, n_total, "b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{func}: a and b must have the same length, got "
                         f"{a.shape[0]} and {b.shape[0]}")
    return a, b


def pair_distances(const floating[:, ::1] X, a, b, n_threads, squared=False):
    """Euclidean distances of the pairs of rows (a[t], b[t]).

    Each is the exact distance of knn_sparsity's lists (differences in
    float64 summed over the features in order), bit for bit; ``squared``:
    that sum before its square root (what pair_moments takes).

    Returns
    -------
    ndarray of shape (len(a),), float64
    """
    func = "pair_distances"
    cdef int64_t n_total = X.shape[0], d = X.shape[1]
    cdef int nt = _kms_threads(n_threads)
    A, B = _pair_arrays(a, b, func, n_total)
    cdef const int64_t[::1] PA = A
    cdef const int64_t[::1] PB = B
    cdef int64_t n = PA.shape[0]
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    cdef double[::1] O = out
    cdef const floating *X_p = &X[0, 0] if n_total > 0 and d > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    cdef bint sq = bool(squared)
    with nogil:
        if sq:
            status = kms_pair_sqdistances(X_p, n_total, d, &PA[0], &PB[0], n, &O[0], &ctx)
        else:
            status = kms_pair_distances(X_p, n_total, d, &PA[0], &PB[0], n, &O[0], &ctx)
    _kms_check(status, &sig, func, f"{n} pairs of rows of X with shape ({n_total}, {d})")
    return out


def _check_probe(p, Py_ssize_t k, str func):
    p = operator.index(p)
    if p < 1 or p > k:
        raise ValueError(f"{func}: p={p} nearest centres asked among k={k}; p must "
                         f"be in [1, k]")
    return p


def nearest_centers(const floating[:, ::1] X, rows, const floating[:, ::1] centers, p,
                    n_threads):
    """The p nearest centres of each row rows[i] of X, nearest first, ties by
    ascending centre number (kms_assign's distances: ``out[:, 0]`` is the
    label kms_assign gives).

    Returns
    -------
    ndarray of shape (len(rows), p), int64
    """
    func = "nearest_centers"
    cdef int64_t n_total = X.shape[0], d = X.shape[1], k = centers.shape[0]
    cdef int nt = _kms_threads(n_threads)
    if centers.shape[1] != d:
        raise ValueError(f"{func}: centers has {centers.shape[1]} features but X has {d}")
    cdef int64_t c_p = _check_probe(p, k, func)
    R_arr = _rows_array(rows, func, n_total)
    cdef const int64_t[::1] R = R_arr
    cdef int64_t m = R.shape[0]
    out = np.empty((m, c_p), dtype=np.int64)
    if m == 0:
        return out
    cdef int64_t[:, ::1] O = out
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_nearest_centers(&X[0, 0], n_total, d, &R[0], m, &centers[0, 0], k,
                                     c_p, &O[0, 0], &ctx)
    _kms_check(status, &sig, func, f"{m} rows of X with shape ({n_total}, {d}), "
                                   f"{k} centres, p={c_p}")
    return out


def _csr_pairs_kernel(const floating[::1] data, const kms_index[::1] indices,
                      const kms_index[::1] indptr, int64_t n_total, int64_t d,
                      const int64_t[::1] a, const int64_t[::1] b, double[::1] out, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t n = a.shape[0]
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_pair_distances(dp, ip, &indptr[0], n_total, d, &a[0], &b[0], n,
                                        &out[0], &ctx)
    _kms_check(status, &sig, "csr_pair_distances",
               f"{n} pairs of rows of X with shape ({n_total}, {d})")


def csr_pair_distances(X, a, b, n_threads):
    """pair_distances of the rows of a sparse matrix: the same values as
    ``pair_distances(X.toarray(), a, b, n_threads)``."""
    func = "csr_pair_distances"
    parts = _csr_arrays(X, func)
    nt = _kms_threads(n_threads)
    A, B = _pair_arrays(a, b, func, parts[3])
    out = np.empty(A.shape[0], dtype=np.float64)
    if A.shape[0] == 0:
        return out
    both = np.concatenate([A, B])
    data, indices, indptr, n_total, d, both = _csr_canonical(parts, func, both)
    A, B = both[:A.shape[0]], both[A.shape[0]:]
    _csr_pairs_kernel(data, indices, indptr, n_total, d, np.ascontiguousarray(A),
                      np.ascontiguousarray(B), out, nt)
    return out


def _csr_centers_kernel(const floating[::1] data, const kms_index[::1] indices,
                        const kms_index[::1] indptr, int64_t n_total, int64_t d,
                        const int64_t[::1] rows, const floating[:, ::1] centers,
                        int64_t p, int64_t[:, ::1] out, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t m = rows.shape[0], k = centers.shape[0]
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_nearest_centers(dp, ip, &indptr[0], n_total, d, &rows[0], m,
                                         &centers[0, 0], k, p, &out[0, 0], &ctx)
    _kms_check(status, &sig, "csr_nearest_centers",
               f"{m} rows of X with shape ({n_total}, {d}), {k} centres, p={p}")


def csr_nearest_centers(X, rows, centers, p, n_threads):
    """nearest_centers of rows of a sparse matrix (dense centres of X's
    dtype): the same as ``nearest_centers(X.toarray(), ...)``."""
    func = "csr_nearest_centers"
    parts = _csr_arrays(X, func)
    nt = _kms_threads(n_threads)
    r = _rows_array(rows, func, parts[3])
    c = np.ascontiguousarray(_centers_array(centers, parts[0], parts[4], func))
    p = _check_probe(p, c.shape[0], func)
    out = np.empty((r.shape[0], p), dtype=np.int64)
    if r.shape[0] == 0:
        return out
    data, indices, indptr, n_total, d, r = _csr_canonical(parts, func, r)
    _csr_centers_kernel(data, indices, indptr, n_total, d, r, c, p, out, nt)
    return out


def _check_sample(m, seed, first, n_pairs, str func):
    """A sample's arguments checked, for a set of m rows."""
    if m < 2:
        raise ValueError(f"{func}: a set needs at least 2 rows to have pairs, got {m}")
    seed = operator.index(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"{func}: seed must be in [0, 2**64), got {seed}")
    first, n_pairs = operator.index(first), operator.index(n_pairs)
    if first < 0 or n_pairs < 0:
        raise ValueError(f"{func}: first and n_pairs must be >= 0, got {first} and "
                         f"{n_pairs}")
    return seed, first, n_pairs


def _check_scale(scale, str func):
    scale = float(scale)
    if not (scale > 0.0 and scale < float("inf")):
        raise ValueError(f"{func}: scale must be a positive finite number, got {scale}")
    return scale


def sample_pair_distances(const floating[:, ::1] X, rows, seed, first, n_pairs, scale,
                          n_threads):
    """Sums of the powers 1 to 4 of distance / scale over the sampled pairs
    first .. first + n_pairs - 1 of the set ``rows`` of X (pair t: a
    uniform member and a uniform other member, from a counter-based stream
    of ``seed``; see csrc/kms_approx.h), as a tuple of 4 floats.  The same
    for CSR input (csr_sample_pair_distances)."""
    func = "sample_pair_distances"
    cdef int64_t n_total = X.shape[0], d = X.shape[1]
    cdef int nt = _kms_threads(n_threads)
    R_arr = _rows_array(rows, func, n_total)
    c_seed, c_first, c_n = _check_sample(R_arr.shape[0], seed, first, n_pairs, func)
    cdef double c_scale = _check_scale(scale, func)
    cdef const int64_t[::1] R = R_arr
    cdef uint64_t s = c_seed
    cdef int64_t f0 = c_first, n = c_n
    cdef double sums[4]
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_sample_pair_distances(&X[0, 0], n_total, d, &R[0], R.shape[0], s,
                                           f0, n, c_scale, sums, &ctx)
    _kms_check(status, &sig, func, f"{n} pairs of a set of {R.shape[0]} rows of X "
                                   f"with shape ({n_total}, {d})")
    return tuple(float(sums[q]) for q in range(4))


def sample_pairs(m, seed, first, n_pairs):
    """``(i, j)``: the members (positions in the set) of the sampled pairs
    first .. first + n_pairs - 1 that sample_pair_distances draws for a
    set of m rows, int64 arrays."""
    func = "sample_pairs"
    m = operator.index(m)
    c_seed, c_first, c_n = _check_sample(m, seed, first, n_pairs, func)
    i_arr = np.empty(c_n, dtype=np.int64)
    j_arr = np.empty(c_n, dtype=np.int64)
    if c_n == 0:
        return i_arr, j_arr
    cdef int64_t[::1] I = i_arr
    cdef int64_t[::1] J = j_arr
    cdef int status = kms_sample_pairs(<uint64_t>c_seed, <int64_t>m, <int64_t>c_first,
                                       <int64_t>c_n, &I[0], &J[0])
    if status != 0:
        raise ValueError(f"{func}: invalid arguments (status {status})")
    return i_arr, j_arr


def pair_moments(d2, scale, n_threads):
    """The 4 sums sample_pair_distances returns, from the squared distances
    ``d2`` of its pairs in pair order (pair_distances(..., squared=True)),
    bit for bit."""
    func = "pair_moments"
    D_arr = np.ascontiguousarray(d2, dtype=np.float64)
    if D_arr.ndim != 1:
        raise ValueError(f"{func}: d2 must be 1-D, got shape {D_arr.shape}")
    cdef double c_scale = _check_scale(scale, func)
    cdef int nt = _kms_threads(n_threads)
    cdef const double[::1] D = D_arr
    cdef int64_t n = D.shape[0]
    cdef double sums[4]
    cdef const double *dp = &D[0] if n > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_pair_moments(dp, n, c_scale, sums, &ctx)
    _kms_check(status, &sig, func, f"{n} squared distances")
    return tuple(float(sums[q]) for q in range(4))


def _csr_sample_kernel(const floating[::1] data, const kms_index[::1] indices,
                       const kms_index[::1] indptr, int64_t n_total, int64_t d,
                       const int64_t[::1] rows, uint64_t seed, int64_t first,
                       int64_t n_pairs, double scale, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef double sums[4]
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_sample_pair_distances(dp, ip, &indptr[0], n_total, d, &rows[0],
                                               rows.shape[0], seed, first, n_pairs,
                                               scale, sums, &ctx)
    _kms_check(status, &sig, "csr_sample_pair_distances",
               f"{n_pairs} pairs of a set of {rows.shape[0]} rows of X with shape "
               f"({n_total}, {d})")
    return tuple(float(sums[q]) for q in range(4))


def csr_sample_pair_distances(X, rows, seed, first, n_pairs, scale, n_threads):
    """sample_pair_distances of the rows of a sparse matrix: the same sums
    as on ``X.toarray()``."""
    func = "csr_sample_pair_distances"
    parts = _csr_arrays(X, func)
    nt = _kms_threads(n_threads)
    r = _rows_array(rows, func, parts[3])
    seed, first, n_pairs = _check_sample(r.shape[0], seed, first, n_pairs, func)
    scale = _check_scale(scale, func)
    data, indices, indptr, n_total, d, r = _csr_canonical(parts, func, r)
    return _csr_sample_kernel(data, indices, indptr, n_total, d, r, seed, first, n_pairs,
                              scale, nt)


def knn_cells(const floating[:, ::1] X, queries, query_cells, cell_ptr, members, k,
              n_threads):
    """For every query row, its k nearest among the members of its cells
    (itself excluded, a row offered twice counted once), by the exact
    distance of pair_distances, ties by ascending row: an (n_q, k) int64
    array of rows, -1 where fewer than k others were offered.

    ``query_cells``: (n_q, p) cell numbers (-1: none); cell c holds the
    rows ``members[cell_ptr[c]:cell_ptr[c + 1]]``."""
    func = "knn_cells"
    cdef int64_t n_total = X.shape[0], d = X.shape[1]
    cdef int nt = _kms_threads(n_threads)
    Q_arr = _rows_array(queries, func, n_total, "queries")
    M_arr = _rows_array(members, func, n_total, "members")
    P_arr = np.ascontiguousarray(cell_ptr, dtype=np.int64)
    cdef int64_t n_q = Q_arr.shape[0]
    if (P_arr.ndim != 1 or P_arr.shape[0] < 1 or P_arr[0] != 0
            or P_arr[P_arr.shape[0] - 1] != M_arr.shape[0] or np.any(np.diff(P_arr) < 0)):
        raise ValueError(f"{func}: cell_ptr must be non-decreasing, from 0 to "
                         f"len(members) = {M_arr.shape[0]}")
    cdef int64_t n_cells = P_arr.shape[0] - 1
    C_arr = np.ascontiguousarray(query_cells, dtype=np.int64)
    if C_arr.ndim != 2 or C_arr.shape[0] != n_q:
        raise ValueError(f"{func}: query_cells must be of shape (n_q, p) with "
                         f"n_q = {n_q}, got {C_arr.shape}")
    if C_arr.size and (C_arr.min() < -1 or C_arr.max() >= n_cells):
        raise ValueError(f"{func}: query_cells must be in [-1, {n_cells})")
    cdef int64_t p = C_arr.shape[1]
    cdef int64_t c_k = operator.index(k)
    if c_k < 1:
        raise ValueError(f"{func}: k must be >= 1, got {c_k}")
    out = np.empty((n_q, c_k), dtype=np.int64)
    if n_q == 0:
        return out
    if p == 0:
        out.fill(-1)
        return out
    cdef const int64_t[::1] Q = Q_arr
    cdef const int64_t[::1] P = P_arr
    cdef const int64_t[::1] M = M_arr
    cdef const int64_t[:, ::1] C = C_arr
    cdef int64_t[:, ::1] O = out
    cdef const int64_t *m_p = &M[0] if M.shape[0] > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_knn_cells(&X[0, 0], n_total, d, &Q[0], n_q, &C[0, 0], p, &P[0], m_p,
                               n_cells, c_k, &O[0, 0], &ctx)
    _kms_check(status, &sig, func, f"{n_q} queries, {n_cells} cells, X of shape "
                                   f"({n_total}, {d})")
    return out
