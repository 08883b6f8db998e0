"""SMOTE interpolation kernel.

Thin wrapper over csrc/kms_generate.h.  The result is bit-identical to
NumPy's ``(X[b] + steps[:, None] * (X[o] - X[b])).astype(X.dtype)``.
"""

import numpy as np

from cython cimport floating
from libc.stdint cimport int64_t

from kmsmote._kms cimport (
    kms_abs_max_f32,
    kms_abs_max_f64,
    kms_copy_rows,
    kms_ctx,
    kms_generate_f32,
    kms_generate_f64,
)

include "_errors.pxi"


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
        Neighbour positions (into rows) of each member.
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
    _kms_check_indices(nn_p, m * k, m, "generate", "nn", "m", k)
    _kms_check_indices(&sample_idx[0], n_new, m * k, "generate", "sample_idx", "m * k")
    if d == 0:
        return None

    cdef int status
    cdef kms_ctx ctx
    cdef _KmsSignal sig
    _kms_ctx_init(&ctx, &sig, nt)
    with nogil:
        if floating is float:
            status = kms_generate_f32(&X[0, 0], n_total, d, rows_p, m, nn_p, k,
                                      &sample_idx[0], &steps[0], n_new,
                                      &out[0, 0], &ctx)
        else:
            status = kms_generate_f64(&X[0, 0], n_total, d, rows_p, m, nn_p, k,
                                      &sample_idx[0], &steps[0], n_new,
                                      &out[0, 0], &ctx)
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
            status = kms_abs_max_f64(&v64[0], n, &peak, &ctx)
    else:
        v32 = values.reshape(-1)
        with nogil:
            status = kms_abs_max_f32(&v32[0], n, &peak, &ctx)
    _kms_check(status, &sig, "abs_max", f"{n} values")
    return peak
