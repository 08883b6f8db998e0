# Included by every kmsmote extension: status-code -> exception mapping and
# the interrupt callback handed to the C core.
#
# The C kernels run without the GIL.  Every few milliseconds of work the
# calling thread asks _kms_check_signals whether to stop; it takes the GIL
# and runs the Python signal handlers.  If a handler raised (KeyboardInterrupt
# for Ctrl-C, or whatever a custom handler raises), the exception is kept in
# the _KmsSignal record, the kernel stops with KMS_ERR_INTERRUPTED, and
# _kms_check re-raises it once the GIL is back.

import operator as _kms_operator

from cpython.exc cimport PyErr_Fetch, PyErr_Restore
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t

from kmsmote._kms cimport (
    KMS_ERR_BAD_CSR,
    KMS_ERR_BAD_INDEX,
    KMS_ERR_BAD_K,
    KMS_ERR_BAD_SHAPE,
    KMS_ERR_INTERRUPTED,
    KMS_ERR_NOMEM,
    KMS_ERR_NONFINITE,
    KMS_OK,
    kms_ctx,
    kms_status_message,
)


cdef extern from "Python.h":
    # Declared without an exception spec: the callback inspects the result
    # itself and must not let Cython propagate anything.
    int _kms_PyErr_CheckSignals "PyErr_CheckSignals" ()


cdef struct _KmsSignal:
    PyObject *exc_type
    PyObject *exc_value
    PyObject *exc_tb


cdef int _kms_check_signals(void *data) noexcept nogil:
    cdef _KmsSignal *sig = <_KmsSignal *> data
    with gil:
        if _kms_PyErr_CheckSignals() == 0:
            return 0
        # A handler raised: keep its exception for the wrapper to re-raise.
        PyErr_Fetch(&sig.exc_type, &sig.exc_value, &sig.exc_tb)
        return 1


cdef inline void _kms_ctx_init(kms_ctx *ctx, _KmsSignal *sig,
                               int n_threads) noexcept:
    sig.exc_type = NULL
    sig.exc_value = NULL
    sig.exc_tb = NULL
    ctx.n_threads = n_threads
    ctx.interrupted = _kms_check_signals
    ctx.interrupt_data = sig


cdef int _kms_threads(n_threads) except -1:
    """Validate the thread count passed down from the Python facade."""
    try:
        nt = _kms_operator.index(n_threads)
    except TypeError:
        nt = None
    if nt is None or nt < 1:
        raise ValueError(
            f"n_threads must be a positive int, got {n_threads!r}; resolve "
            f"None/-1 to a count in Python before calling the kernels"
        )
    return min(nt, 1 << 30)


cdef inline Py_ssize_t _kms_first_outside(const int64_t *a, Py_ssize_t n,
                                   int64_t lo, int64_t hi) noexcept nogil:
    """Position of the first a[i] outside [lo, hi), or -1."""
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] < lo or a[i] >= hi:
            return i
    return -1


cdef inline int _kms_check_indices(const int64_t *a, Py_ssize_t n, int64_t hi, str func,
                                   str name, str bound, Py_ssize_t cols=0) except -1:
    """Raise ValueError naming the first a[i] outside [0, hi) (as
    ``{name}[i]``, or ``{name}[i // cols, i % cols]`` for a 2-D array of
    ``cols`` columns), the bound as ``{bound}={hi}``."""
    cdef Py_ssize_t bad
    with nogil:
        bad = _kms_first_outside(a, n, 0, hi)
    if bad < 0:
        return 0
    where = f"{bad // cols}, {bad % cols}" if cols else f"{bad}"
    raise ValueError(f"{func}: {name}[{where}] = {a[bad]} is outside "
                     f"[0, {bound}={hi})")


cdef inline int _kms_check_drawn(const int64_t *nn, const int64_t *sample_idx,
                                  Py_ssize_t n_new, int64_t m, Py_ssize_t k,
                                  str func) except -1:
    """Raise ValueError naming the first neighbour entry a draw reads
    (``nn.flat[sample_idx[t]]``, sample_idx already checked) outside
    [0, m).  Entries no draw reads are never read, and not checked: a
    table may leave them unset (-1), as the approximate search does for
    the rows not drawn."""
    cdef Py_ssize_t t, bad = -1
    cdef int64_t v
    with nogil:
        for t in range(n_new):
            v = nn[sample_idx[t]]
            if v < 0 or v >= m:
                bad = t
                break
    if bad < 0:
        return 0
    s = sample_idx[bad]
    raise ValueError(f"{func}: nn[{s // k}, {s % k}] = {nn[s]} is outside [0, m={m}) "
                     f"(read by sample_idx[{bad}])")


cdef int _kms_check(int status, _KmsSignal *sig, str func,
                    str detail="") except -1:
    """Raise the exception that matches a kms_status returned by `func`.

    `detail` describes the arguments (sizes, ranges) for the message.
    """
    if sig != NULL and sig.exc_type != NULL:
        # A signal handler raised while the kernel ran: that exception wins.
        PyErr_Restore(sig.exc_type, sig.exc_value, sig.exc_tb)
        sig.exc_type = NULL
        sig.exc_value = NULL
        sig.exc_tb = NULL
        return -1
    if status == KMS_OK:
        return 0
    suffix = f" ({detail})" if detail else ""
    if status == KMS_ERR_NOMEM:
        raise MemoryError(
            f"{func}: could not allocate scratch memory{suffix}; reduce the "
            f"problem size or n_threads (each thread keeps its own buffers)"
        )
    if status == KMS_ERR_BAD_SHAPE:
        raise ValueError(f"{func}: a size argument is negative or inconsistent{suffix}")
    if status == KMS_ERR_BAD_K:
        raise ValueError(f"{func}: the number of neighbours/clusters is out of range{suffix}")
    if status == KMS_ERR_BAD_INDEX:
        raise ValueError(f"{func}: an index points outside its array{suffix}")
    if status == KMS_ERR_INTERRUPTED:
        raise KeyboardInterrupt(f"{func} was interrupted")
    if status == KMS_ERR_BAD_CSR:
        raise ValueError(
            f"{func}: malformed CSR matrix{suffix}: indptr must be "
            f"non-decreasing within the stored entries and column indices in "
            f"[0, n_features), strictly increasing within each row (call "
            f"X.sum_duplicates() first)"
        )
    if status == KMS_ERR_NONFINITE:
        raise ValueError(
            f"{func}: input contains NaN or infinity{suffix}; remove or impute "
            f"non-finite values first"
        )
    raise RuntimeError(
        f"{func}: unexpected status {status} from the C core: "
        f"{kms_status_message(status).decode()}"
    )


def _kms_kmeanspp_args(str func, n_clusters, n_local_trials, seed, Py_ssize_t n):
    """Checked (n_clusters, n_local_trials, seed) for a k-means++ wrapper."""
    import math as _math

    n_clusters = _kms_operator.index(n_clusters)
    if not 1 <= n_clusters <= n:
        raise ValueError(f"{func}: n_clusters={n_clusters} must be in "
                         f"[1, n_samples={n}]")
    if n_local_trials is None:
        n_local_trials = 2 + int(_math.log(n_clusters))
    n_local_trials = _kms_operator.index(n_local_trials)
    if n_local_trials < 1:
        raise ValueError(f"{func}: n_local_trials={n_local_trials} must be >= 1")
    seed = _kms_operator.index(seed)
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{func}: seed={seed} must be in [0, 2**64)")
    return n_clusters, n_local_trials, seed


def _kms_lloyd_args(str func, Py_ssize_t k, Py_ssize_t n, max_iter, tol):
    """Checked (max_iter, tol) for a Lloyd wrapper with k centres on n rows."""
    if not 1 <= k <= n:
        raise ValueError(f"{func}: n_clusters={k} (rows of centers) must be in "
                         f"[1, n_samples={n}]")
    max_iter = _kms_operator.index(max_iter)
    if not 0 <= max_iter <= 2 ** 31 - 1:
        raise ValueError(f"{func}: max_iter={max_iter} must be a non-negative int")
    tol = float(tol)
    if tol != tol or tol in (float("inf"), float("-inf")):
        raise ValueError(f"{func}: tol={tol!r} must be finite")
    return max_iter, tol
