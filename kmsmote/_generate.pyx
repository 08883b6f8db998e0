"""SMOTE interpolation kernels, on dense rows and on CSR matrices, and the
row copy and peak of the output assembly.

Thin wrappers over csrc/kms_generate.h and the generation part of
csrc/kms_sparse.h.  The dense result is bit-identical to NumPy's
``(X[b] + steps[:, None] * (X[o] - X[b])).astype(X.dtype)``; the ``csr_*``
functions take a sparse matrix (see _csr_input.pxi) and give exactly the
dense kernel's result on ``X.toarray()``, as a canonical CSR matrix.
"""

import numpy as np

from cython cimport floating
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memmove

from kmsmote._kms cimport (
    kms_abs_max,
    kms_copy_rows,
    kms_csr_generate_count,
    kms_csr_generate_fill,
    kms_ctx,
    kms_generate,
    kms_index,
)

include "_errors.pxi"
include "_csr_input.pxi"

# The index type of a result's indptr (which may differ from its indices').
ctypedef fused ptr_index:
    int32_t
    int64_t


# --------------------------------------------------------------------------
# Dense rows


def generate(const floating[:, ::1] X, const int64_t[::1] rows,
             const int64_t[:, ::1] nn, const int64_t[::1] sample_idx,
             const double[::1] steps, floating[:, ::1] out, n_threads):
    """Write synthetic rows into ``out``.

    For t in range(n_new), with s = sample_idx[t], i = s // k, j = nn.flat[s]::

        base, other = X[rows[i]], X[rows[j]]
        out[t] = base + steps[t] * (other - base)

    Parameters
    ----------
    X : ndarray of shape (n_total, n_features), float32 or float64
    rows : ndarray of shape (m,), int64
        Rows of X forming the set.
    nn : ndarray of shape (m, k), int64
        Neighbour positions (into rows) of each member; only the entries
        sample_idx draws are read (the others may be -1).
    sample_idx : ndarray of shape (n_new,), int64
        Flat indices into nn, in [0, m * k).
    steps : ndarray of shape (n_new,), float64
    out : ndarray of shape (n_new, n_features), X's dtype, C-contiguous
        Written in place; may be a row slice of a larger array but must not
        overlap X.
    n_threads : int

    Returns
    -------
    None
    """
    cdef Py_ssize_t n_total = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t m = rows.shape[0], k = nn.shape[1], n_new = sample_idx.shape[0]
    cdef int nt = _kms_threads(n_threads)
    if nn.shape[0] != m:
        raise ValueError(f"generate: nn has {nn.shape[0]} rows but rows has {m} "
                         f"entries")
    if steps.shape[0] != n_new:
        raise ValueError(f"generate: steps has {steps.shape[0]} entries but "
                         f"sample_idx has {n_new}")
    if out.shape[0] != n_new or out.shape[1] != d:
        raise ValueError(f"generate: out has shape ({out.shape[0]}, "
                         f"{out.shape[1]}), expected ({n_new}, {d})")
    if n_new == 0:
        return None
    if np.may_share_memory(np.asarray(X), np.asarray(out)):
        raise ValueError("generate: out overlaps X; write into a separate array")

    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef const int64_t *nn_p = &nn[0, 0] if m > 0 and k > 0 else NULL
    _kms_check_indices(rows_p, m, n_total, "generate", "rows", "n_total")
    _kms_check_indices(&sample_idx[0], n_new, m * k, "generate", "sample_idx", "m * k")
    _kms_check_drawn(nn_p, &sample_idx[0], n_new, m, k, "generate")
    if d == 0:
        return None

    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_generate(&X[0, 0], n_total, d, rows_p, m, nn_p, k, &sample_idx[0],
                              &steps[0], n_new, &out[0, 0], &ctx)
    _kms_check(status, &sig, "generate",
               f"X of shape ({n_total}, {d}), m={m}, k={k}, n_new={n_new}")
    return None


def copy_rows(src, dst, n_threads):
    """``dst[:] = src`` for two C-contiguous arrays of the same shape and
    dtype that do not overlap, with the rows spread over ``n_threads``
    threads (Ctrl-C is honoured between chunks of about 1 MiB).

    Parameters
    ----------
    src, dst : ndarray of the same shape and dtype, C-contiguous
    n_threads : int

    Returns
    -------
    None
    """
    if not isinstance(src, np.ndarray) or not isinstance(dst, np.ndarray):
        raise TypeError("copy_rows: src and dst must be NumPy arrays")
    if src.shape != dst.shape or src.dtype != dst.dtype:
        raise ValueError(f"copy_rows: src ({src.shape}, {src.dtype}) and dst "
                         f"({dst.shape}, {dst.dtype}) differ in shape or dtype")
    if not (src.flags.c_contiguous and dst.flags.c_contiguous):
        raise ValueError("copy_rows: src and dst must be C-contiguous")
    if not dst.flags.writeable:
        raise ValueError("copy_rows: dst is read-only")
    if src.size == 0:
        return None
    if np.may_share_memory(src, dst):
        raise ValueError("copy_rows: src and dst overlap")
    cdef Py_ssize_t n_rows = src.shape[0] if src.ndim else 1
    cdef Py_ssize_t row_bytes = src.nbytes // n_rows
    cdef const unsigned char[::1] s = src.reshape(-1).view(np.uint8)
    cdef unsigned char[::1] t = dst.reshape(-1).view(np.uint8)
    cdef int nt = _kms_threads(n_threads)
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_copy_rows(&s[0], &t[0], n_rows, row_bytes, &ctx)
    _kms_check(status, &sig, "copy_rows", f"{n_rows} rows of {row_bytes} bytes")
    return None


def abs_max(values, n_threads):
    """The largest absolute value of a float32 or float64 array (0.0 if it
    is empty), NaN if it holds a NaN: one pass over ``n_threads`` threads.

    Parameters
    ----------
    values : ndarray, float32 or float64, C-contiguous
    n_threads : int

    Returns
    -------
    peak : float
    """
    if not isinstance(values, np.ndarray) or values.dtype not in (np.float32, np.float64):
        raise TypeError("abs_max: values must be a float32 or float64 NumPy array")
    if not values.flags.c_contiguous:
        raise ValueError("abs_max: values must be C-contiguous")
    cdef int nt = _kms_threads(n_threads)
    cdef Py_ssize_t n = values.size
    cdef double peak = 0.0
    cdef int status = 0
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    cdef const double[::1] v64
    cdef const float[::1] v32
    if n == 0:
        return 0.0
    _kms_ctx_init(&ctx, &sig, nt)
    if values.dtype == np.float64:
        v64 = values.reshape(-1)
        with nogil:
            status = kms_abs_max(&v64[0], n, &peak, &ctx)
    else:
        v32 = values.reshape(-1)
        with nogil:
            status = kms_abs_max(&v32[0], n, &peak, &ctx)
    _kms_check(status, &sig, "abs_max", f"{n} values")
    return peak


# --------------------------------------------------------------------------
# CSR matrices


def _count_kernel(const kms_index[::1] indices, const kms_index[::1] indptr,
                  int64_t n_total, int64_t d, const int64_t[::1] rows,
                  const int64_t[:, ::1] nn, const int64_t[::1] sample_idx,
                  int64_t[::1] counts, int nt):
    """counts[t]: an upper bound of new row t's stored entries (phase 1)."""
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t m = rows.shape[0], k = nn.shape[1], n_new = sample_idx.shape[0]
    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef const int64_t *nn_p = &nn[0, 0] if m > 0 and k > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_generate_count(ip, &indptr[0], n_total, d, rows_p, m, nn_p, k,
                                        &sample_idx[0], n_new, &counts[0], &ctx)
    _kms_check(status, &sig, "csr_generate",
               f"X of shape ({n_total}, {d}), m={m}, k={k}, n_new={n_new}")


def _fill_kernel(const floating[::1] data, const kms_index[::1] indices,
                 const kms_index[::1] indptr, int64_t n_total, int64_t d,
                 const int64_t[::1] rows, const int64_t[:, ::1] nn,
                 const int64_t[::1] sample_idx, const double[::1] steps,
                 const int64_t[::1] layout, kms_index[::1] out_indices,
                 floating[::1] out_data, int64_t[::1] out_nnz, int nt):
    """Phase 2: new row t's entries written from out_*[layout[t]] on (at
    most layout[t + 1] - layout[t] of them), their count in out_nnz[t]."""
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const kms_index *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef int64_t m = rows.shape[0], k = nn.shape[1], n_new = sample_idx.shape[0]
    cdef const int64_t *rows_p = &rows[0] if m > 0 else NULL
    cdef const int64_t *nn_p = &nn[0, 0] if m > 0 and k > 0 else NULL
    cdef kms_index *oi = &out_indices[0] if out_indices.shape[0] > 0 else NULL
    cdef floating *od = &out_data[0] if out_data.shape[0] > 0 else NULL
    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        status = kms_csr_generate_fill(dp, ip, &indptr[0], n_total, d, rows_p, m, nn_p,
                                       k, &sample_idx[0], &steps[0], n_new, &layout[0],
                                       oi, od, &out_nnz[0], &ctx)
    _kms_check(status, &sig, "csr_generate",
               f"X of shape ({n_total}, {d}), m={m}, k={k}, n_new={n_new}")


cdef int64_t _compact(const int64_t[::1] layout, const int64_t[::1] row_nnz,
                      int64_t o, kms_index[::1] out_indices,
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
            memmove(&out_indices[o], &out_indices[src], <size_t>cnt * sizeof(kms_index))
            memmove(&out_data[o], &out_data[src], <size_t>cnt * sizeof(floating))
        o += cnt
        out_indptr[t] = <ptr_index>o
    return o


def _compact_rows(const int64_t[::1] layout, const int64_t[::1] row_nnz,
                  int64_t o, kms_index[::1] out_indices, floating[::1] out_data,
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
    _kms_check_indices(&SV[0], SV.shape[0], m * k, func, "sample_idx", "m * k")
    _kms_check_drawn(&NNV[0] if NNV.shape[0] > 0 else NULL, &SV[0], SV.shape[0], m, k,
                     func)

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
