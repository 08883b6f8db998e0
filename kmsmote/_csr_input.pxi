# Included by the wrappers that take CSR input (_kmeans, _neighbors,
# _generate), after _errors.pxi: how a sparse matrix reaches the C kernels.
#
# ``X`` is a SciPy sparse matrix or array (CSR is used as is; any other
# format is converted with ``.tocsr()``) or a tuple ``(data, indices,
# indptr, shape)``.  The values stay float32 or float64 and the index arrays
# int32 or int64, as given: nothing is upcast or densified.  Column indices
# must be in range; if the rows a kernel reads are not in canonical form
# (sorted column indices, no duplicates), a canonical copy is made
# (duplicates summed, as ``X.toarray()`` does) and the caller's matrix is
# left untouched.

import numpy as np
from scipy import sparse as _sp

from libc.stdint cimport int32_t, int64_t

from kmsmote._kms cimport kms_index


cdef enum:
    _CSR_OK = 0
    _CSR_FIXABLE = 1     # unsorted or duplicate column indices
    _CSR_BAD_INDPTR = 2  # a row's span decreases or leaves the arrays
    _CSR_BAD_COLUMN = 3  # a column index outside [0, d)


cdef int _csr_scan(const kms_index[::1] indices, const kms_index[::1] indptr,
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
        n, d = (_kms_operator.index(v) for v in shape)
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


def _rows_array(rows, str func, int64_t n_total, str name="rows"):
    """rows as a contiguous int64 array inside [0, n_total) (``name``: the
    argument's name in the messages)."""
    r = np.asarray(rows)
    if r.ndim != 1:
        raise ValueError(f"{func}: {name} must be 1-D, got shape {r.shape}")
    if r.size and r.dtype.kind not in "iu":
        raise ValueError(f"{func}: {name} must hold integers, got {r.dtype}")
    r = np.ascontiguousarray(r, dtype=np.int64)
    cdef const int64_t[::1] R = r
    _kms_check_indices(&R[0] if R.shape[0] > 0 else NULL, R.shape[0], n_total, func,
                       name, "n_total")
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

