"""k-means kernels: k-means++ seeding, Lloyd iterations, assignment, on
dense rows and on CSR matrices.

Thin wrappers over csrc/kms_kmeans.h and the k-means part of
csrc/kms_sparse.h.  Dense X is a C-contiguous float32 or float64 2-D array
(read-only arrays are accepted); centres have X's dtype.  The ``csr_*``
functions take a sparse matrix (see _csr_input.pxi) and give exactly (bit
for bit) what their dense counterpart gives on ``X.toarray()``.  Arguments
are validated here, the C kernel runs without the GIL.
"""

import numpy as np

from cython cimport floating
from libc.stdint cimport int64_t, uint64_t

from kmsmote._kms cimport (
    kms_assign,
    kms_csr_assign,
    kms_csr_kmeanspp,
    kms_csr_lloyd,
    kms_ctx,
    kms_index,
    kms_kmeanspp,
    kms_lloyd,
    kms_simd_variant,
)

include "_errors.pxi"
include "_csr_input.pxi"


def simd_variant():
    """The distance kernels' SIMD variant this process runs.

    Returns
    -------
    variant : str
        ``"avx2"`` (x86 CPUs that have it, unless ``KMSMOTE_SIMD=baseline``
        is set), else the baseline compiled for: ``"sse2"``, ``"neon"``,
        ``"generic"`` or ``"scalar"``.  Every variant gives bit-identical
        results.
    """
    return kms_simd_variant().decode("ascii")


# --------------------------------------------------------------------------
# Dense rows


cdef _check_X(const floating[:, ::1] X, str func):
    if X.shape[1] < 1:
        raise ValueError(f"{func}: X must have at least one feature, got shape "
                         f"({X.shape[0]}, {X.shape[1]})")


def kmeans_plusplus(const floating[:, ::1] X, n_clusters, n_local_trials,
                    seed, n_threads):
    """Greedy k-means++ seeding.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
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
        Rows of X.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    _check_X(X, "kmeans_plusplus")
    cdef int nt = _kms_threads(n_threads)
    n_clusters, n_local_trials, seed = _kms_kmeanspp_args(
        "kmeans_plusplus", n_clusters, n_local_trials, seed, n)

    dtype = np.float32 if floating is float else np.float64
    centers = np.empty((n_clusters, d), dtype=dtype)
    cdef floating[:, ::1] C = centers
    cdef int64_t k = n_clusters, trials = n_local_trials
    cdef uint64_t s = seed
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_kmeanspp(&X[0, 0], n, d, k, trials, s, &C[0, 0], &ctx)
    _kms_check(status, &sig, "kmeans_plusplus",
               f"X of shape ({n}, {d}), n_clusters={k}, n_local_trials={trials}")
    return centers


def lloyd(const floating[:, ::1] X, const floating[:, ::1] centers, max_iter,
          tol, n_threads):
    """Lloyd iterations from the given centres (which are not modified).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    centers : ndarray of shape (n_clusters, n_features), X's dtype
        Initial centres, 1 <= n_clusters <= n_samples.
    max_iter : int
        >= 0.  At most this many assign/update iterations.
    tol : float
        Absolute bound on the summed squared centre shift (>= 0 or any
        finite value; the caller scales it).
    n_threads : int

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), X's dtype
    labels : ndarray of shape (n_samples,), int64
        Nearest centre of every row, consistent with the returned centres.
    inertia : float
        Sum of squared distances of the rows to their centres.
    n_iter : int
        Iterations run.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    _check_X(X, "lloyd")
    cdef int nt = _kms_threads(n_threads)
    if centers.shape[1] != d:
        raise ValueError(f"lloyd: centers has {centers.shape[1]} features, "
                         f"X has {d}")
    max_iter, tol = _kms_lloyd_args("lloyd", k, n, max_iter, tol)
    cdef double c_tol = tol

    dtype = np.float32 if floating is float else np.float64
    centers_out = np.array(centers, dtype=dtype, copy=True, order="C")
    labels = np.empty(n, dtype=np.int64)
    cdef floating[:, ::1] C = centers_out
    cdef int64_t[::1] L = labels
    cdef int c_max_iter = max_iter
    cdef double inertia = 0.0
    cdef int n_iter = 0
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_lloyd(&X[0, 0], n, d, k, &C[0, 0], c_max_iter, c_tol,
                           &L[0], &inertia, &n_iter, &ctx)
    _kms_check(status, &sig, "lloyd",
               f"X of shape ({n}, {d}), n_clusters={k}")
    return centers_out, labels, float(inertia), int(n_iter)


def assign(const floating[:, ::1] X, const floating[:, ::1] centers, n_threads):
    """Nearest centre of every row (squared Euclidean, ties to the lowest index).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    centers : ndarray of shape (n_clusters, n_features), X's dtype
    n_threads : int

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
    dist2 : ndarray of shape (n_samples,), float64
        Squared distance to the assigned centre.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    _check_X(X, "assign")
    cdef int nt = _kms_threads(n_threads)
    if centers.shape[1] != d:
        raise ValueError(f"assign: centers has {centers.shape[1]} features, "
                         f"X has {d}")
    if k < 1:
        raise ValueError("assign: centers must have at least one row")
    labels = np.empty(n, dtype=np.int64)
    dist2 = np.empty(n, dtype=np.float64)
    if n == 0:
        return labels, dist2
    cdef int64_t[::1] L = labels
    cdef double[::1] D = dist2
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_assign(&X[0, 0], n, d, &centers[0, 0], k, &L[0], &D[0], &ctx)
    _kms_check(status, &sig, "assign", f"X of shape ({n}, {d}), n_clusters={k}")
    return labels, dist2


# --------------------------------------------------------------------------
# CSR matrices


def _kmeanspp_kernel(const floating[::1] data, const kms_index[::1] indices,
                     const kms_index[::1] indptr, int64_t n, int64_t d,
                     floating[:, ::1] C, int64_t k, int64_t trials, uint64_t seed,
                     int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_kmeanspp(dp, ip, &indptr[0], n, d, k, trials, seed, &C[0, 0],
                                  &ctx)
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


def _lloyd_kernel(const floating[::1] data, const kms_index[::1] indices,
                  const kms_index[::1] indptr, int64_t n, int64_t d,
                  floating[:, ::1] C, int max_iter, double tol,
                  int64_t[::1] L, int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t k = C.shape[0]
    cdef double inertia = 0.0
    cdef int n_iter = 0
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_lloyd(dp, ip, &indptr[0], n, d, k, &C[0, 0], max_iter, tol,
                               &L[0], &inertia, &n_iter, &ctx)
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


def _assign_kernel(const floating[::1] data, const kms_index[::1] indices,
                   const kms_index[::1] indptr, int64_t n, int64_t d,
                   const floating[:, ::1] C, int64_t[::1] L, double[::1] D,
                   int nt):
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t k = C.shape[0]
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_assign(dp, ip, &indptr[0], n, d, &C[0, 0], k, &L[0], &D[0],
                                &ctx)
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
