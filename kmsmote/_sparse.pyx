"""Kernels on sparse (CSR) input, bit-identical to the dense kernels.

Thin wrappers over csrc/kms_sparse.h.  ``X`` is a SciPy sparse matrix or
array (CSR is used as is; any other format is converted with ``.tocsr()``)
or a tuple ``(data, indices, indptr, shape)``.  The values stay float32 or
float64 and the index arrays int32 or int64, as given: nothing is upcast or
densified.  Column indices must be in range; if the rows a kernel reads are
not in canonical form (sorted column indices, no duplicates), a canonical
copy is made (duplicates summed, as ``X.toarray()`` does) and the caller's
matrix is left untouched.

Every function gives exactly (bit for bit) what its dense counterpart in
``_kmeans``, ``_neighbors`` and ``_generate`` gives on ``X.toarray()``.
"""

import operator

import numpy as np
from scipy import sparse as _sp

from cython cimport floating
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.string cimport memmove

from kmsmote._kms cimport (
    kms_csr_assign_f32_i32,
    kms_csr_assign_f32_i64,
    kms_csr_assign_f64_i32,
    kms_csr_assign_f64_i64,
    kms_csr_generate_count_i32,
    kms_csr_generate_count_i64,
    kms_csr_generate_fill_f32_i32,
    kms_csr_generate_fill_f32_i64,
    kms_csr_generate_fill_f64_i32,
    kms_csr_generate_fill_f64_i64,
    kms_csr_kmeanspp_f32_i32,
    kms_csr_kmeanspp_f32_i64,
    kms_csr_kmeanspp_f64_i32,
    kms_csr_kmeanspp_f64_i64,
    kms_csr_knn_sparsity_f32_i32,
    kms_csr_knn_sparsity_f32_i64,
    kms_csr_knn_sparsity_f64_i32,
    kms_csr_knn_sparsity_f64_i64,
    kms_csr_knn_sparsity_sets_f32_i32,
    kms_csr_knn_sparsity_sets_f32_i64,
    kms_csr_knn_sparsity_sets_f64_i32,
    kms_csr_knn_sparsity_sets_f64_i64,
    kms_csr_lloyd_f32_i32,
    kms_csr_lloyd_f32_i64,
    kms_csr_lloyd_f64_i32,
    kms_csr_lloyd_f64_i64,
    kms_ctx,
)

from kmsmote._validation import check_knn_sets, split_knn_sets

include "_errors.pxi"

ctypedef fused csr_index:
    int32_t
    int64_t

ctypedef fused ptr_index:
    int32_t
    int64_t


# --------------------------------------------------------------------------
# Input handling


cdef enum:
    _CSR_OK = 0
    _CSR_FIXABLE = 1     # unsorted or duplicate column indices
    _CSR_BAD_INDPTR = 2  # a row's span decreases or leaves the arrays
    _CSR_BAD_COLUMN = 3  # a column index outside [0, d)


cdef int _csr_scan(const csr_index[::1] indices, const csr_index[::1] indptr,
                   int64_t d, int64_t nnz, const int64_t *rows, int64_t m,
                   int64_t *where) noexcept nogil:
    """State of the rows rows[0..m) (0..m-1 if rows is NULL); *where is the
    row of the first error."""
    cdef int64_t q, r, s, e, p, c, prev
    cdef int state = _CSR_OK
    for q in range(m):
        r = rows[q] if rows != NULL else q
        s = indptr[r]
        e = indptr[r + 1]
        if s < 0 or s > e or e > nnz:
            where[0] = r
            return _CSR_BAD_INDPTR
        prev = -1
        for p in range(s, e):
            c = indices[p]
            if c < 0 or c >= d:
                where[0] = r
                return _CSR_BAD_COLUMN
            if c <= prev:
                state = _CSR_FIXABLE
            prev = c
    return state


cdef int _scan(indices, indptr, int64_t d, int64_t nnz, const int64_t *rows,
               int64_t m, int64_t *where) except -1:
    cdef const int32_t[::1] i32
    cdef const int32_t[::1] p32
    cdef const int64_t[::1] i64
    cdef const int64_t[::1] p64
    cdef int state
    if indices.dtype == np.int32:
        i32 = indices
        p32 = indptr
        with nogil:
            state = _csr_scan(i32, p32, d, nnz, rows, m, where)
    else:
        i64 = indices
        p64 = indptr
        with nogil:
            state = _csr_scan(i64, p64, d, nnz, rows, m, where)
    return state


def _csr_arrays(X, str func):
    """(data, indices, indptr, n, d) of X, contiguous, native, no upcast."""
    if isinstance(X, tuple):
        if len(X) != 4:
            raise ValueError(f"{func}: X as a tuple must be (data, indices, indptr, "
                             f"shape), got {len(X)} items")
        data, indices, indptr, shape = X
        data = np.asarray(data)
        indices = np.asarray(indices)
        indptr = np.asarray(indptr)
        n, d = (operator.index(v) for v in shape)
    elif _sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{func}: X must be 2-D, got {X.ndim}-D")
        if X.format != "csr":
            X = X.tocsr()
        data, indices, indptr = X.data, X.indices, X.indptr
        n, d = X.shape
    else:
        raise TypeError(f"{func}: X must be a scipy.sparse matrix or array, or a "
                        f"tuple (data, indices, indptr, shape), got "
                        f"{type(X).__name__}; use the dense kernels for arrays")
    if data.dtype.kind != "f" or data.dtype.itemsize not in (4, 8):
        raise ValueError(f"{func}: X must hold float32 or float64 values, got "
                         f"{data.dtype}; convert it first, e.g. "
                         f"X.astype(np.float64)")
    if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1:
        raise ValueError(f"{func}: X's data, indices and indptr must be 1-D")
    if indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise ValueError(f"{func}: X's indices and indptr must be integer arrays, "
                         f"got {indices.dtype} and {indptr.dtype}")
    itype = np.int64 if np.int64 in (indices.dtype, indptr.dtype) else np.int32
    if indices.dtype.itemsize > 8 or indptr.dtype.itemsize > 8:
        itype = np.int64
    if indices.dtype != itype or not indices.dtype.isnative:
        indices = indices.astype(itype)
    if indptr.dtype != itype or not indptr.dtype.isnative:
        indptr = indptr.astype(itype)
    data = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("="))
    indices = np.ascontiguousarray(indices)
    indptr = np.ascontiguousarray(indptr)
    if n < 0 or d < 0:
        raise ValueError(f"{func}: X has a negative shape ({n}, {d})")
    if indptr.shape[0] != n + 1:
        raise ValueError(f"{func}: X's indptr has {indptr.shape[0]} entries, "
                         f"expected n_samples + 1 = {n + 1}")
    if indices.shape[0] != data.shape[0]:
        raise ValueError(f"{func}: X's indices ({indices.shape[0]}) and data "
                         f"({data.shape[0]}) differ in length")
    return data, indices, indptr, n, d


def _csr_canonical(parts, str func, rows=None):
    """The arrays of _csr_arrays, canonical on the rows read (all rows if
    rows is None).

    Returns (data, indices, indptr, n, d, rows): rows is the given array, or
    arange(m) when a canonical copy of just those rows had to be made.
    """
    data, indices, indptr, n, d = parts
    cdef int64_t where = -1
    cdef const int64_t[::1] R
    cdef const int64_t *rows_p = NULL
    cdef int64_t m = n
    if rows is not None:
        R = rows
        m = R.shape[0]
        rows_p = &R[0] if m > 0 else NULL
    state = _scan(indices, indptr, d, indices.shape[0], rows_p, m, &where)
    if state == _CSR_BAD_INDPTR:
        raise ValueError(f"{func}: X's indptr is invalid at row {where} (spans "
                         f"must be non-decreasing and within the {indices.shape[0]} "
                         f"stored entries)")
    if state == _CSR_BAD_COLUMN:
        raise ValueError(f"{func}: X's row {where} has a column index outside "
                         f"[0, n_features={d})")
    if state == _CSR_FIXABLE:
        # Sort and sum duplicates (as X.toarray() adds them) on a copy: of
        # the rows read only, when the kernel reads a subset.
        if rows is not None:
            Y = _sp.csr_matrix((data, indices, indptr), shape=(n, d))[np.asarray(rows)]
            rows = np.arange(Y.shape[0], dtype=np.int64)
        else:
            Y = _sp.csr_matrix((data, indices, indptr), shape=(n, d), copy=True)
        Y.sum_duplicates()
        data, indices, indptr, n, d = _csr_arrays(Y, func)
    return data, indices, indptr, n, d, rows


def _rows_array(rows, str func, int64_t n_total):
    """rows as a contiguous int64 array inside [0, n_total)."""
    r = np.asarray(rows)
    if r.ndim != 1:
        raise ValueError(f"{func}: rows must be 1-D, got shape {r.shape}")
    if r.size and r.dtype.kind not in "iu":
        raise ValueError(f"{func}: rows must hold integers, got {r.dtype}")
    r = np.ascontiguousarray(r, dtype=np.int64)
    cdef const int64_t[::1] R = r
    _kms_check_indices(&R[0] if R.shape[0] > 0 else NULL, R.shape[0], n_total, func,
                       "rows", "n_total")
    return r


def _centers_array(centers, data, int64_t d, str func):
    c = np.asarray(centers)
    if c.dtype != data.dtype:
        raise ValueError(f"{func}: centers has dtype {c.dtype} but X holds "
                         f"{data.dtype}; they must match")
    if c.ndim != 2 or c.shape[1] != d:
        raise ValueError(f"{func}: centers has shape {c.shape}, expected "
                         f"(n_clusters, n_features={d})")
    return c


# --------------------------------------------------------------------------
# k-means


def _kmeanspp_kernel(const floating[::1] data, const csr_index[::1] indices,
                     const csr_index[::1] indptr, int64_t n, int64_t d,
                     floating[:, ::1] C, int64_t k, int64_t trials, uint64_t seed,
                     int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        if floating is float and csr_index is int32_t:
            status = kms_csr_kmeanspp_f32_i32(dp, ip, &indptr[0], n, d, k, trials, seed, &C[0, 0], &ctx)
        elif floating is float:
            status = kms_csr_kmeanspp_f32_i64(dp, ip, &indptr[0], n, d, k, trials, seed, &C[0, 0], &ctx)
        elif csr_index is int32_t:
            status = kms_csr_kmeanspp_f64_i32(dp, ip, &indptr[0], n, d, k, trials, seed, &C[0, 0], &ctx)
        else:
            status = kms_csr_kmeanspp_f64_i64(dp, ip, &indptr[0], n, d, k, trials, seed, &C[0, 0], &ctx)
    _kms_check(status, &sig, "csr_kmeans_plusplus",
               f"X of shape ({n}, {d}), n_clusters={k}, n_local_trials={trials}")


def csr_kmeans_plusplus(X, n_clusters, n_local_trials, seed, n_threads):
    """Greedy k-means++ seeding of a sparse matrix.

    The same rows as ``_kmeans.kmeans_plusplus(X.toarray(), ...)``.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features), float32 or float64
    n_clusters : int
        1 <= n_clusters <= n_samples.
    n_local_trials : int or None
        Candidates drawn per centre; None means 2 + int(log(n_clusters)).
    seed : int
        In [0, 2**64).  The centres depend only on (X, n_clusters,
        n_local_trials, seed), not on n_threads.
    n_threads : int

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), X's dtype
        Rows of X (dense).
    """
    data, indices, indptr, n, d, _ = _csr_canonical(_csr_arrays(X, "csr_kmeans_plusplus"), "csr_kmeans_plusplus")
    if d < 1:
        raise ValueError(f"csr_kmeans_plusplus: X must have at least one feature, "
                         f"got shape ({n}, {d})")
    cdef int nt = _kms_threads(n_threads)
    n_clusters, n_local_trials, seed = _kms_kmeanspp_args(
        "csr_kmeans_plusplus", n_clusters, n_local_trials, seed, n)
    centers = np.empty((n_clusters, d), dtype=data.dtype)
    _kmeanspp_kernel(data, indices, indptr, n, d, centers, n_clusters,
                     n_local_trials, seed, nt)
    return centers


def _lloyd_kernel(const floating[::1] data, const csr_index[::1] indices,
                  const csr_index[::1] indptr, int64_t n, int64_t d,
                  floating[:, ::1] C, int max_iter, double tol,
                  int64_t[::1] L, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t k = C.shape[0]
    cdef double inertia = 0.0
    cdef int n_iter = 0
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        if floating is float and csr_index is int32_t:
            status = kms_csr_lloyd_f32_i32(dp, ip, &indptr[0], n, d, k, &C[0, 0], max_iter, tol, &L[0], &inertia, &n_iter, &ctx)
        elif floating is float:
            status = kms_csr_lloyd_f32_i64(dp, ip, &indptr[0], n, d, k, &C[0, 0], max_iter, tol, &L[0], &inertia, &n_iter, &ctx)
        elif csr_index is int32_t:
            status = kms_csr_lloyd_f64_i32(dp, ip, &indptr[0], n, d, k, &C[0, 0], max_iter, tol, &L[0], &inertia, &n_iter, &ctx)
        else:
            status = kms_csr_lloyd_f64_i64(dp, ip, &indptr[0], n, d, k, &C[0, 0], max_iter, tol, &L[0], &inertia, &n_iter, &ctx)
    _kms_check(status, &sig, "csr_lloyd", f"X of shape ({n}, {d}), n_clusters={k}")
    return float(inertia), int(n_iter)


def csr_lloyd(X, centers, max_iter, tol, n_threads):
    """Lloyd iterations on a sparse matrix from the given (dense) centres.

    The same result as ``_kmeans.lloyd(X.toarray(), ...)``.  ``centers`` is
    not modified.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features), float32 or float64
    centers : ndarray of shape (n_clusters, n_features), X's dtype
        Initial centres, 1 <= n_clusters <= n_samples.
    max_iter : int
        >= 0.  At most this many assign/update iterations.
    tol : float
        Absolute bound on the summed squared centre shift (the caller
        scales it).
    n_threads : int

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), X's dtype
    labels : ndarray of shape (n_samples,), int64
    inertia : float
    n_iter : int
    """
    data, indices, indptr, n, d, _ = _csr_canonical(_csr_arrays(X, "csr_lloyd"), "csr_lloyd")
    if d < 1:
        raise ValueError(f"csr_lloyd: X must have at least one feature, got shape "
                         f"({n}, {d})")
    cdef int nt = _kms_threads(n_threads)
    c = _centers_array(centers, data, d, "csr_lloyd")
    k = c.shape[0]
    max_iter, tol = _kms_lloyd_args("csr_lloyd", k, n, max_iter, tol)
    cdef double c_tol = tol
    centers_out = np.array(c, dtype=data.dtype, copy=True, order="C")
    labels = np.empty(n, dtype=np.int64)
    inertia, n_iter = _lloyd_kernel(data, indices, indptr, n, d, centers_out,
                                    max_iter, c_tol, labels, nt)
    return centers_out, labels, inertia, n_iter


def _assign_kernel(const floating[::1] data, const csr_index[::1] indices,
                   const csr_index[::1] indptr, int64_t n, int64_t d,
                   const floating[:, ::1] C, int64_t[::1] L, double[::1] D,
                   int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t k = C.shape[0]
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        if floating is float and csr_index is int32_t:
            status = kms_csr_assign_f32_i32(dp, ip, &indptr[0], n, d, &C[0, 0], k, &L[0], &D[0], &ctx)
        elif floating is float:
            status = kms_csr_assign_f32_i64(dp, ip, &indptr[0], n, d, &C[0, 0], k, &L[0], &D[0], &ctx)
        elif csr_index is int32_t:
            status = kms_csr_assign_f64_i32(dp, ip, &indptr[0], n, d, &C[0, 0], k, &L[0], &D[0], &ctx)
        else:
            status = kms_csr_assign_f64_i64(dp, ip, &indptr[0], n, d, &C[0, 0], k, &L[0], &D[0], &ctx)
    _kms_check(status, &sig, "csr_assign", f"X of shape ({n}, {d}), n_clusters={k}")


def csr_assign(X, centers, n_threads):
    """Nearest centre of every row of a sparse matrix.

    The same result as ``_kmeans.assign(X.toarray(), centers, ...)``.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features), float32 or float64
    centers : ndarray of shape (n_clusters, n_features), X's dtype
    n_threads : int

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
    dist2 : ndarray of shape (n_samples,), float64
        Squared distance to the assigned centre.
    """
    data, indices, indptr, n, d, _ = _csr_canonical(_csr_arrays(X, "csr_assign"), "csr_assign")
    if d < 1:
        raise ValueError(f"csr_assign: X must have at least one feature, got shape "
                         f"({n}, {d})")
    cdef int nt = _kms_threads(n_threads)
    c = np.ascontiguousarray(_centers_array(centers, data, d, "csr_assign"))
    if c.shape[0] < 1:
        raise ValueError("csr_assign: centers must have at least one row")
    labels = np.empty(n, dtype=np.int64)
    dist2 = np.empty(n, dtype=np.float64)
    if n == 0:
        return labels, dist2
    _assign_kernel(data, indices, indptr, n, d, c, labels, dist2, nt)
    return labels, dist2


# --------------------------------------------------------------------------
# Neighbours


def _knn_kernel(const floating[::1] data, const csr_index[::1] indices,
                const csr_index[::1] indptr, int64_t n_total, int64_t d,
                const int64_t[::1] rows, int64_t k, int64_t[:, ::1] NN,
                double[:, ::1] ND, bint want_dist, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
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
        if floating is float and csr_index is int32_t:
            status = kms_csr_knn_sparsity_f32_i32(dp, ip, &indptr[0], n_total, d, rows_p, m, k, nn_p, nd_p, &pair_sum, &ctx)
        elif floating is float:
            status = kms_csr_knn_sparsity_f32_i64(dp, ip, &indptr[0], n_total, d, rows_p, m, k, nn_p, nd_p, &pair_sum, &ctx)
        elif csr_index is int32_t:
            status = kms_csr_knn_sparsity_f64_i32(dp, ip, &indptr[0], n_total, d, rows_p, m, k, nn_p, nd_p, &pair_sum, &ctx)
        else:
            status = kms_csr_knn_sparsity_f64_i64(dp, ip, &indptr[0], n_total, d, rows_p, m, k, nn_p, nd_p, &pair_sum, &ctx)
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


def _knn_sets_kernel(const floating[::1] data, const csr_index[::1] indices,
                     const csr_index[::1] indptr, int64_t n_total, int64_t d,
                     const int64_t[::1] rows, const int64_t[::1] offsets,
                     const int64_t[::1] ks, int64_t[::1] NN, double[::1] S, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
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
        if floating is float and csr_index is int32_t:
            status = kms_csr_knn_sparsity_sets_f32_i32(dp, ip, &indptr[0], n_total, d, rows_p, &offsets[0], n_sets, ks_p, nn_p, s_p, &ctx)
        elif floating is float:
            status = kms_csr_knn_sparsity_sets_f32_i64(dp, ip, &indptr[0], n_total, d, rows_p, &offsets[0], n_sets, ks_p, nn_p, s_p, &ctx)
        elif csr_index is int32_t:
            status = kms_csr_knn_sparsity_sets_f64_i32(dp, ip, &indptr[0], n_total, d, rows_p, &offsets[0], n_sets, ks_p, nn_p, s_p, &ctx)
        else:
            status = kms_csr_knn_sparsity_sets_f64_i64(dp, ip, &indptr[0], n_total, d, rows_p, &offsets[0], n_sets, ks_p, nn_p, s_p, &ctx)
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
# Generation


def _count_kernel(const csr_index[::1] indices, const csr_index[::1] indptr,
                  int64_t n_total, int64_t d, const int64_t[::1] rows,
                  const int64_t[:, ::1] nn, const int64_t[::1] sample_idx,
                  int64_t[::1] counts, int nt):
    """counts[t]: an upper bound of new row t's stored entries (phase 1)."""
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t m = rows.shape[0], k = nn.shape[1], n_new = sample_idx.shape[0]
    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef const int64_t *nn_p = &nn[0, 0] if m > 0 and k > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        if csr_index is int32_t:
            status = kms_csr_generate_count_i32(ip, &indptr[0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0], n_new, &counts[0], &ctx)
        else:
            status = kms_csr_generate_count_i64(ip, &indptr[0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0], n_new, &counts[0], &ctx)
    _kms_check(status, &sig, "csr_generate",
               f"X of shape ({n_total}, {d}), m={m}, k={k}, n_new={n_new}")


def _fill_kernel(const floating[::1] data, const csr_index[::1] indices,
                 const csr_index[::1] indptr, int64_t n_total, int64_t d,
                 const int64_t[::1] rows, const int64_t[:, ::1] nn,
                 const int64_t[::1] sample_idx, const double[::1] steps,
                 const int64_t[::1] layout, csr_index[::1] out_indices,
                 floating[::1] out_data, int64_t[::1] out_nnz, int nt):
    """Phase 2: new row t's entries written from out_*[layout[t]] on (at
    most layout[t + 1] - layout[t] of them), their count in out_nnz[t]."""
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t m = rows.shape[0], k = nn.shape[1], n_new = sample_idx.shape[0]
    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef const int64_t *nn_p = &nn[0, 0] if m > 0 and k > 0 else NULL
    cdef csr_index *oi = &out_indices[0] if out_indices.shape[0] > 0 else NULL
    cdef floating *od = &out_data[0] if out_data.shape[0] > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        if floating is float and csr_index is int32_t:
            status = kms_csr_generate_fill_f32_i32(dp, ip, &indptr[0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0], &steps[0], n_new, &layout[0], oi, od, &out_nnz[0], &ctx)
        elif floating is float:
            status = kms_csr_generate_fill_f32_i64(dp, ip, &indptr[0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0], &steps[0], n_new, &layout[0], oi, od, &out_nnz[0], &ctx)
        elif csr_index is int32_t:
            status = kms_csr_generate_fill_f64_i32(dp, ip, &indptr[0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0], &steps[0], n_new, &layout[0], oi, od, &out_nnz[0], &ctx)
        else:
            status = kms_csr_generate_fill_f64_i64(dp, ip, &indptr[0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0], &steps[0], n_new, &layout[0], oi, od, &out_nnz[0], &ctx)
    _kms_check(status, &sig, "csr_generate",
               f"X of shape ({n_total}, {d}), m={m}, k={k}, n_new={n_new}")


cdef int64_t _compact(const int64_t[::1] layout, const int64_t[::1] row_nnz,
                      int64_t o, csr_index[::1] out_indices,
                      floating[::1] out_data, ptr_index *out_indptr) noexcept nogil:
    """Move the rows laid out at layout[t] (row_nnz[t] entries each) left so
    that they follow each other from position o; out_indptr[t] receives the
    end of row t.  Rows only move left, never past a row not yet moved.
    Returns the end of the last row."""
    cdef int64_t t, src, cnt
    for t in range(row_nnz.shape[0]):
        src = layout[t]
        cnt = row_nnz[t]
        if src != o and cnt > 0:
            memmove(&out_indices[o], &out_indices[src], <size_t>cnt * sizeof(csr_index))
            memmove(&out_data[o], &out_data[src], <size_t>cnt * sizeof(floating))
        o += cnt
        out_indptr[t] = <ptr_index>o
    return o


def _compact_rows(const int64_t[::1] layout, const int64_t[::1] row_nnz,
                  int64_t o, csr_index[::1] out_indices, floating[::1] out_data,
                  ptr_index[::1] out_indptr):
    cdef int64_t end
    with nogil:
        end = _compact(layout, row_nnz, o, out_indices, out_data,
                       &out_indptr[0] if out_indptr.shape[0] > 0 else NULL)
    return end


def _layout(counts, int64_t start):
    """Exclusive prefix sum of counts from start (n + 1 entries, int64)."""
    layout = np.empty(counts.shape[0] + 1, dtype=np.int64)
    layout[0] = start
    np.cumsum(counts, out=layout[1:])
    if start:
        layout[1:] += start
    return layout


def _generate_kernel(data, indices, indptr, int64_t n_total, int64_t d, rows,
                     nn, sample_idx, steps, int nt):
    """(out_data, out_indices, out_indptr) of the new rows, compacted."""
    n_new = sample_idx.shape[0]
    counts = np.empty(n_new, dtype=np.int64)
    _count_kernel(indices, indptr, n_total, d, rows, nn, sample_idx, counts, nt)
    layout = _layout(counts, 0)
    cap = int(layout[n_new])
    out_indices = np.empty(max(cap, 1), dtype=indices.dtype)
    out_data = np.empty(max(cap, 1), dtype=data.dtype)
    out_nnz = np.empty(n_new, dtype=np.int64)
    _fill_kernel(data, indices, indptr, n_total, d, rows, nn, sample_idx, steps,
                 layout, out_indices, out_data, out_nnz, nt)
    # Drop the unused tail of each row (entries whose value was 0), in place.
    new_indptr = np.empty(n_new + 1, dtype=np.int64)
    new_indptr[0] = 0
    nnz = _compact_rows(layout, out_nnz, 0, out_indices, out_data, new_indptr[1:])
    if nnz == cap:  # no zero was dropped: the buffers are the result
        return out_data[:nnz], out_indices[:nnz], new_indptr
    return out_data[:nnz].copy(), out_indices[:nnz].copy(), new_indptr


def _generate_args(parts, rows, nn, sample_idx, steps, str func):
    """Checked arguments of a generation call: (data, indices, indptr,
    n_total, d, rows, nn, sample_idx, steps), canonical on the rows read,
    or None if there is nothing to generate."""
    data, indices, indptr, n_total, d = parts
    r = _rows_array(rows, func, n_total)
    m = r.shape[0]
    nn_a = np.asarray(nn)
    if nn_a.ndim != 2 or nn_a.shape[0] != m:
        raise ValueError(f"{func}: nn has shape {nn_a.shape} but rows has {m} "
                         f"entries; expected (m, k)")
    if nn_a.size and nn_a.dtype.kind not in "iu":
        raise ValueError(f"{func}: nn must hold integers, got {nn_a.dtype}")
    nn_a = np.ascontiguousarray(nn_a, dtype=np.int64)
    k = nn_a.shape[1]
    sidx = np.asarray(sample_idx)
    if sidx.ndim != 1 or (sidx.size and sidx.dtype.kind not in "iu"):
        raise ValueError(f"{func}: sample_idx must be a 1-D integer array")
    sidx = np.ascontiguousarray(sidx, dtype=np.int64)
    n_new = sidx.shape[0]
    st = np.ascontiguousarray(steps, dtype=np.float64)
    if st.ndim != 1 or st.shape[0] != n_new:
        raise ValueError(f"{func}: steps has {st.size} entries but sample_idx has "
                         f"{n_new}")
    if n_new == 0:
        return None
    bad_steps = np.flatnonzero(~np.isfinite(st))
    if bad_steps.size:
        raise ValueError(f"{func}: steps[{bad_steps[0]}] = {st[bad_steps[0]]} is "
                         f"not finite")

    cdef const int64_t[::1] NNV = nn_a.reshape(-1)
    cdef const int64_t[::1] SV = sidx
    _kms_check_indices(&NNV[0] if NNV.shape[0] > 0 else NULL, NNV.shape[0], m, func,
                       "nn", "m", k)
    _kms_check_indices(&SV[0], SV.shape[0], m * k, func, "sample_idx", "m * k")

    data, indices, indptr, n_total, d, r = _csr_canonical(parts, func, r)
    return data, indices, indptr, n_total, d, r, nn_a, sidx, st


def csr_generate(X, rows, nn, sample_idx, steps, n_threads):
    """Synthetic rows of a sparse matrix, as a CSR matrix.

    For t in range(n_new), with s = sample_idx[t], i = s // k, j = nn.flat[s]::

        base, other = X[rows[i]], X[rows[j]]
        new[t] = base + steps[t] * (other - base)

    with ``_generate.generate``'s (NumPy's) rounding, so the result equals
    ``csr_matrix(out)`` for the dense kernel's output ``out`` on
    ``X.toarray()``: the same sorted column indices and the same values, no
    stored zeros.

    Parameters
    ----------
    X : sparse matrix of shape (n_total, n_features), float32 or float64
    rows : ndarray of shape (m,), integer
        Rows of X forming the set.
    nn : ndarray of shape (m, k), integer
        Neighbour positions (into rows) of each member.
    sample_idx : ndarray of shape (n_new,), integer
        Flat indices into nn, in [0, m * k).
    steps : ndarray of shape (n_new,), float64
        Finite interpolation steps.
    n_threads : int

    Returns
    -------
    new : scipy.sparse.csr_matrix of shape (n_new, n_features), X's dtype
        Canonical (sorted indices, no duplicates, no explicit zeros).
    """
    func = "csr_generate"
    parts = _csr_arrays(X, func)
    d = parts[4]
    cdef int nt = _kms_threads(n_threads)
    prep = _generate_args(parts, rows, nn, sample_idx, steps, func)
    if prep is None:
        return _sp.csr_matrix((0, d), dtype=parts[0].dtype)
    data, indices, indptr, n_total, d, r, nn_a, sidx, st = prep
    out_data, out_indices, out_indptr = _generate_kernel(
        data, indices, indptr, n_total, d, r, nn_a, sidx, st, nt)
    return _sp.csr_matrix((out_data, out_indices, out_indptr), shape=(len(sidx), d))


def csr_resample(X, top, groups, n_threads):
    """The rows of ``top``, then the synthetic rows of every group, as the
    three arrays of one CSR matrix, each allocated once and written in place.

    Equal to stacking ``top`` and ``csr_generate(X, *group, n_threads)`` for
    every group (those with no new row add nothing), without the
    intermediate matrices: the generation kernel writes every group's rows
    straight into the result, and rows whose count was an overestimate
    (values that interpolate to 0) are moved left afterwards.

    Parameters
    ----------
    X : sparse matrix of shape (n_total, n_features), float32 or float64
        The matrix that the groups' rows index.
    top : scipy.sparse CSR matrix of shape (n_top, n_features)
        Canonical (sorted indices, no duplicates).
    groups : sequence of (rows, nn, sample_idx, steps)
        As for csr_generate.
    n_threads : int

    Returns
    -------
    (data, indices, indptr) or None
        data has X's dtype; indices and indptr are int32 if both the stored
        entries and n_features fit, int64 otherwise.  None (nothing done
        beyond the checks and counts) when the result's index type is not
        X's, or top's values are not of X's dtype: the caller then stacks.
    """
    func = "csr_generate"
    parts = _csr_arrays(X, func)
    d = parts[4]
    cdef int nt = _kms_threads(n_threads)
    if top.shape[1] != d:
        raise ValueError(f"{func}: top has {top.shape[1]} columns, X has {d}")
    preps = []
    for rows, nn, sample_idx, steps in groups:
        prep = _generate_args(parts, rows, nn, sample_idx, steps, func)
        if prep is not None:
            counts = np.empty(prep[7].shape[0], dtype=np.int64)
            _count_kernel(prep[1], prep[2], prep[3], prep[4], prep[5], prep[6],
                          prep[7], counts, nt)
            preps.append((prep, counts))
    lo, hi = int(top.indptr[0]), int(top.indptr[top.shape[0]])
    cap = (hi - lo) + sum(int(c.sum()) for _, c in preps)
    itype = np.int32 if max(cap, d) < 2**31 else np.int64
    if top.data.dtype != parts[0].dtype or any(p[1].dtype != itype for p, _ in preps):
        return None
    n_top = top.shape[0]
    n_rows = n_top + sum(c.shape[0] for _, c in preps)
    out_data = np.empty((max(cap, 1),), dtype=parts[0].dtype)
    out_indices = np.empty((max(cap, 1),), dtype=itype)
    out_indptr = np.empty((n_rows + 1,), dtype=itype)
    out_data[:hi - lo] = top.data[lo:hi]
    out_indices[:hi - lo] = top.indices[lo:hi]
    np.subtract(top.indptr, lo, out=out_indptr[:n_top + 1], casting="unsafe")
    at, row = hi - lo, n_top
    for prep, counts in preps:
        data, indices, indptr, n_total, d, r, nn_a, sidx, st = prep
        n_new = counts.shape[0]
        layout = _layout(counts, at)
        out_nnz = np.empty(n_new, dtype=np.int64)
        _fill_kernel(data, indices, indptr, n_total, d, r, nn_a, sidx, st,
                     layout, out_indices, out_data, out_nnz, nt)
        at = _compact_rows(layout, out_nnz, at, out_indices, out_data,
                           out_indptr[row + 1:row + 1 + n_new])
        row += n_new
    nnz = at
    if itype is np.int64 and max(nnz, d) < 2**31:
        # Values that interpolated to 0 brought the count under 2**31.
        out_indices = out_indices.astype(np.int32)
        out_indptr = out_indptr.astype(np.int32)
    if cap - nnz > nnz // 8:
        # Many dropped entries: do not keep the unused tail alive.
        return out_data[:nnz].copy(), out_indices[:nnz].copy(), out_indptr
    return out_data[:nnz], out_indices[:nnz], out_indptr
