"""Public nogil kernels for other compiled libraries (see ckernels.pxd).

This module has no Python-level API: cimport its functions from Cython.
"""

from kmsmote._kms cimport (
    kms_assign_f32,
    kms_assign_f64,
    kms_ctx,
    kms_generate_f32,
    kms_generate_f64,
    kms_knn_sparsity_f32,
    kms_knn_sparsity_f64,
    kms_knn_sparsity_sets_f32,
    kms_knn_sparsity_sets_f64,
    kms_status_message,
)


cdef inline kms_ctx _ctx(int n_threads) noexcept nogil:
    cdef kms_ctx ctx
    ctx.n_threads = n_threads if n_threads > 0 else 1
    ctx.interrupted = NULL
    ctx.interrupt_data = NULL
    return ctx


cdef int assign_f64(const double *X, kms_idx n, kms_idx d,
                    const double *centers, kms_idx k,
                    kms_idx *labels, double *dist2, int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_assign_f64(X, n, d, centers, k, labels, dist2, &ctx)


cdef int assign_f32(const float *X, kms_idx n, kms_idx d,
                    const float *centers, kms_idx k,
                    kms_idx *labels, double *dist2, int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_assign_f32(X, n, d, centers, k, labels, dist2, &ctx)


cdef int knn_sparsity_f64(const double *X, kms_idx n_total, kms_idx d,
                          const kms_idx *rows, kms_idx m, kms_idx k,
                          kms_idx *nn, double *nn_dist, double *pair_dist_sum,
                          int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_knn_sparsity_f64(X, n_total, d, rows, m, k, nn, nn_dist,
                                pair_dist_sum, &ctx)


cdef int knn_sparsity_f32(const float *X, kms_idx n_total, kms_idx d,
                          const kms_idx *rows, kms_idx m, kms_idx k,
                          kms_idx *nn, double *nn_dist, double *pair_dist_sum,
                          int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_knn_sparsity_f32(X, n_total, d, rows, m, k, nn, nn_dist,
                                pair_dist_sum, &ctx)


cdef int knn_sparsity_sets_f64(const double *X, kms_idx n_total, kms_idx d,
                               const kms_idx *rows, const kms_idx *offsets,
                               kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                               double *pair_dist_sums, int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_knn_sparsity_sets_f64(X, n_total, d, rows, offsets, n_sets, ks, nn,
                                     pair_dist_sums, &ctx)


cdef int knn_sparsity_sets_f32(const float *X, kms_idx n_total, kms_idx d,
                               const kms_idx *rows, const kms_idx *offsets,
                               kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                               double *pair_dist_sums, int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_knn_sparsity_sets_f32(X, n_total, d, rows, offsets, n_sets, ks, nn,
                                     pair_dist_sums, &ctx)


cdef int generate_f64(const double *X, kms_idx n_total, kms_idx d,
                      const kms_idx *rows, kms_idx m,
                      const kms_idx *nn, kms_idx k,
                      const kms_idx *sample_idx, const double *steps,
                      kms_idx n_new, double *out, int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_generate_f64(X, n_total, d, rows, m, nn, k, sample_idx, steps,
                            n_new, out, &ctx)


cdef int generate_f32(const float *X, kms_idx n_total, kms_idx d,
                      const kms_idx *rows, kms_idx m,
                      const kms_idx *nn, kms_idx k,
                      const kms_idx *sample_idx, const double *steps,
                      kms_idx n_new, float *out, int n_threads) noexcept nogil:
    cdef kms_ctx ctx = _ctx(n_threads)
    return kms_generate_f32(X, n_total, d, rows, m, nn, k, sample_idx, steps,
                            n_new, out, &ctx)


cdef const char *status_message(int status) noexcept nogil:
    return kms_status_message(status)
