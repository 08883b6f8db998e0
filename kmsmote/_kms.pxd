# Internal declarations of the kmsmote C core (csrc/*.h) for the Cython
# wrappers.  Not a public API: prototypes follow the headers exactly.

from libc.stdint cimport int32_t, int64_t, uint64_t


cdef extern from "kms_common.h" nogil:
    ctypedef int64_t kms_idx

    ctypedef enum kms_status:
        KMS_OK
        KMS_ERR_NOMEM
        KMS_ERR_BAD_SHAPE
        KMS_ERR_BAD_K
        KMS_ERR_BAD_INDEX
        KMS_ERR_INTERRUPTED
        KMS_ERR_NONFINITE
        KMS_ERR_BAD_CSR

    ctypedef int (*kms_interrupt_fn)(void *data) noexcept nogil

    ctypedef void (*kms_dgemm_fn)(const char *transa, const char *transb,
                                  const int *m, const int *n, const int *k,
                                  const double *alpha, const double *a,
                                  const int *lda, const double *b,
                                  const int *ldb, const double *beta,
                                  double *c, const int *ldc) noexcept nogil
    ctypedef void (*kms_sgemm_fn)(const char *transa, const char *transb,
                                  const int *m, const int *n, const int *k,
                                  const float *alpha, const float *a,
                                  const int *lda, const float *b,
                                  const int *ldb, const float *beta,
                                  float *c, const int *ldc) noexcept nogil

    ctypedef struct kms_ctx:
        int n_threads
        kms_interrupt_fn interrupted
        void *interrupt_data
        kms_dgemm_fn dgemm
        kms_sgemm_fn sgemm

    enum:
        KMS_CHUNK_ROWS

    const char *kms_status_message(int status)
    int kms_openmp_enabled()
    int kms_max_threads()


cdef extern from "kms_kmeans.h" nogil:
    int kms_assign_f64(const double *X, kms_idx n, kms_idx d,
                       const double *centers, kms_idx k,
                       kms_idx *labels, double *dist2, const kms_ctx *ctx)
    int kms_assign_f32(const float *X, kms_idx n, kms_idx d,
                       const float *centers, kms_idx k,
                       kms_idx *labels, double *dist2, const kms_ctx *ctx)

    int kms_kmeanspp_f64(const double *X, kms_idx n, kms_idx d, kms_idx k,
                         kms_idx n_local_trials, uint64_t seed,
                         double *centers, const kms_ctx *ctx)
    int kms_kmeanspp_f32(const float *X, kms_idx n, kms_idx d, kms_idx k,
                         kms_idx n_local_trials, uint64_t seed,
                         float *centers, const kms_ctx *ctx)

    int kms_lloyd_f64(const double *X, kms_idx n, kms_idx d, kms_idx k,
                      double *centers, int max_iter, double tol,
                      kms_idx *labels, double *inertia, int *n_iter,
                      const kms_ctx *ctx)
    int kms_lloyd_f32(const float *X, kms_idx n, kms_idx d, kms_idx k,
                      float *centers, int max_iter, double tol,
                      kms_idx *labels, double *inertia, int *n_iter,
                      const kms_ctx *ctx)


cdef extern from "kms_neighbors.h" nogil:
    int kms_knn_sparsity_f64(const double *X, kms_idx n_total, kms_idx d,
                             const kms_idx *rows, kms_idx m, kms_idx k,
                             kms_idx *nn, double *nn_dist,
                             double *pair_dist_sum, const kms_ctx *ctx)
    int kms_knn_sparsity_f32(const float *X, kms_idx n_total, kms_idx d,
                             const kms_idx *rows, kms_idx m, kms_idx k,
                             kms_idx *nn, double *nn_dist,
                             double *pair_dist_sum, const kms_ctx *ctx)
    int kms_knn_sparsity_sets_f64(const double *X, kms_idx n_total, kms_idx d,
                                  const kms_idx *rows, const kms_idx *offsets,
                                  kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                                  double *pair_dist_sums, const kms_ctx *ctx)
    int kms_knn_sparsity_sets_f32(const float *X, kms_idx n_total, kms_idx d,
                                  const kms_idx *rows, const kms_idx *offsets,
                                  kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                                  double *pair_dist_sums, const kms_ctx *ctx)


cdef extern from "kms_generate.h" nogil:
    int kms_generate_f64(const double *X, kms_idx n_total, kms_idx d,
                         const kms_idx *rows, kms_idx m,
                         const kms_idx *nn, kms_idx k,
                         const kms_idx *sample_idx, const double *steps,
                         kms_idx n_new, double *out, const kms_ctx *ctx)
    int kms_generate_f32(const float *X, kms_idx n_total, kms_idx d,
                         const kms_idx *rows, kms_idx m,
                         const kms_idx *nn, kms_idx k,
                         const kms_idx *sample_idx, const double *steps,
                         kms_idx n_new, float *out, const kms_ctx *ctx)
    int kms_copy_rows(const void *src, void *dst, kms_idx n_rows,
                      kms_idx row_bytes, const kms_ctx *ctx)
    int kms_abs_max_f64(const double *x, kms_idx n, double *out, const kms_ctx *ctx)
    int kms_abs_max_f32(const float *x, kms_idx n, double *out, const kms_ctx *ctx)

cdef extern from "kms_sparse.h" nogil:
    int kms_csr_assign_f64_i32(const double *data, const int32_t *indices,
                               const int32_t *indptr, kms_idx n, kms_idx d,
                               const double *centers, kms_idx k,
                               kms_idx *labels, double *dist2,
                               const kms_ctx *ctx)
    int kms_csr_assign_f64_i64(const double *data, const int64_t *indices,
                               const int64_t *indptr, kms_idx n, kms_idx d,
                               const double *centers, kms_idx k,
                               kms_idx *labels, double *dist2,
                               const kms_ctx *ctx)
    int kms_csr_assign_f32_i32(const float *data, const int32_t *indices,
                               const int32_t *indptr, kms_idx n, kms_idx d,
                               const float *centers, kms_idx k,
                               kms_idx *labels, double *dist2,
                               const kms_ctx *ctx)
    int kms_csr_assign_f32_i64(const float *data, const int64_t *indices,
                               const int64_t *indptr, kms_idx n, kms_idx d,
                               const float *centers, kms_idx k,
                               kms_idx *labels, double *dist2,
                               const kms_ctx *ctx)
    int kms_csr_kmeanspp_f64_i32(const double *data, const int32_t *indices,
                                 const int32_t *indptr, kms_idx n, kms_idx d,
                                 kms_idx k, kms_idx n_local_trials,
                                 uint64_t seed, double *centers,
                                 const kms_ctx *ctx)
    int kms_csr_kmeanspp_f64_i64(const double *data, const int64_t *indices,
                                 const int64_t *indptr, kms_idx n, kms_idx d,
                                 kms_idx k, kms_idx n_local_trials,
                                 uint64_t seed, double *centers,
                                 const kms_ctx *ctx)
    int kms_csr_kmeanspp_f32_i32(const float *data, const int32_t *indices,
                                 const int32_t *indptr, kms_idx n, kms_idx d,
                                 kms_idx k, kms_idx n_local_trials,
                                 uint64_t seed, float *centers,
                                 const kms_ctx *ctx)
    int kms_csr_kmeanspp_f32_i64(const float *data, const int64_t *indices,
                                 const int64_t *indptr, kms_idx n, kms_idx d,
                                 kms_idx k, kms_idx n_local_trials,
                                 uint64_t seed, float *centers,
                                 const kms_ctx *ctx)
    int kms_csr_lloyd_f64_i32(const double *data, const int32_t *indices,
                              const int32_t *indptr, kms_idx n, kms_idx d,
                              kms_idx k, double *centers, int max_iter,
                              double tol, kms_idx *labels, double *inertia,
                              int *n_iter, const kms_ctx *ctx)
    int kms_csr_lloyd_f64_i64(const double *data, const int64_t *indices,
                              const int64_t *indptr, kms_idx n, kms_idx d,
                              kms_idx k, double *centers, int max_iter,
                              double tol, kms_idx *labels, double *inertia,
                              int *n_iter, const kms_ctx *ctx)
    int kms_csr_lloyd_f32_i32(const float *data, const int32_t *indices,
                              const int32_t *indptr, kms_idx n, kms_idx d,
                              kms_idx k, float *centers, int max_iter,
                              double tol, kms_idx *labels, double *inertia,
                              int *n_iter, const kms_ctx *ctx)
    int kms_csr_lloyd_f32_i64(const float *data, const int64_t *indices,
                              const int64_t *indptr, kms_idx n, kms_idx d,
                              kms_idx k, float *centers, int max_iter,
                              double tol, kms_idx *labels, double *inertia,
                              int *n_iter, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_f64_i32(const double *data,
                                     const int32_t *indices,
                                     const int32_t *indptr, kms_idx n_total,
                                     kms_idx d, const kms_idx *rows, kms_idx m,
                                     kms_idx k, kms_idx *nn, double *nn_dist,
                                     double *pair_dist_sum, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_f64_i64(const double *data,
                                     const int64_t *indices,
                                     const int64_t *indptr, kms_idx n_total,
                                     kms_idx d, const kms_idx *rows, kms_idx m,
                                     kms_idx k, kms_idx *nn, double *nn_dist,
                                     double *pair_dist_sum, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_f32_i32(const float *data, const int32_t *indices,
                                     const int32_t *indptr, kms_idx n_total,
                                     kms_idx d, const kms_idx *rows, kms_idx m,
                                     kms_idx k, kms_idx *nn, double *nn_dist,
                                     double *pair_dist_sum, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_f32_i64(const float *data, const int64_t *indices,
                                     const int64_t *indptr, kms_idx n_total,
                                     kms_idx d, const kms_idx *rows, kms_idx m,
                                     kms_idx k, kms_idx *nn, double *nn_dist,
                                     double *pair_dist_sum, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_sets_f64_i32(const double *data, const int32_t *indices,
                                          const int32_t *indptr, kms_idx n_total,
                                          kms_idx d, const kms_idx *rows,
                                          const kms_idx *offsets, kms_idx n_sets,
                                          const kms_idx *ks, kms_idx *nn,
                                          double *pair_dist_sums, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_sets_f64_i64(const double *data, const int64_t *indices,
                                          const int64_t *indptr, kms_idx n_total,
                                          kms_idx d, const kms_idx *rows,
                                          const kms_idx *offsets, kms_idx n_sets,
                                          const kms_idx *ks, kms_idx *nn,
                                          double *pair_dist_sums, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_sets_f32_i32(const float *data, const int32_t *indices,
                                          const int32_t *indptr, kms_idx n_total,
                                          kms_idx d, const kms_idx *rows,
                                          const kms_idx *offsets, kms_idx n_sets,
                                          const kms_idx *ks, kms_idx *nn,
                                          double *pair_dist_sums, const kms_ctx *ctx)
    int kms_csr_knn_sparsity_sets_f32_i64(const float *data, const int64_t *indices,
                                          const int64_t *indptr, kms_idx n_total,
                                          kms_idx d, const kms_idx *rows,
                                          const kms_idx *offsets, kms_idx n_sets,
                                          const kms_idx *ks, kms_idx *nn,
                                          double *pair_dist_sums, const kms_ctx *ctx)
    int kms_csr_generate_fill_f64_i32(const double *data,
                                      const int32_t *indices,
                                      const int32_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      kms_idx m, const kms_idx *nn, kms_idx k,
                                      const kms_idx *sample_idx,
                                      const double *steps, kms_idx n_new,
                                      const kms_idx *out_indptr,
                                      int32_t *out_indices, double *out_data,
                                      kms_idx *out_nnz, const kms_ctx *ctx)
    int kms_csr_generate_fill_f64_i64(const double *data,
                                      const int64_t *indices,
                                      const int64_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      kms_idx m, const kms_idx *nn, kms_idx k,
                                      const kms_idx *sample_idx,
                                      const double *steps, kms_idx n_new,
                                      const kms_idx *out_indptr,
                                      int64_t *out_indices, double *out_data,
                                      kms_idx *out_nnz, const kms_ctx *ctx)
    int kms_csr_generate_fill_f32_i32(const float *data,
                                      const int32_t *indices,
                                      const int32_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      kms_idx m, const kms_idx *nn, kms_idx k,
                                      const kms_idx *sample_idx,
                                      const double *steps, kms_idx n_new,
                                      const kms_idx *out_indptr,
                                      int32_t *out_indices, float *out_data,
                                      kms_idx *out_nnz, const kms_ctx *ctx)
    int kms_csr_generate_fill_f32_i64(const float *data,
                                      const int64_t *indices,
                                      const int64_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      kms_idx m, const kms_idx *nn, kms_idx k,
                                      const kms_idx *sample_idx,
                                      const double *steps, kms_idx n_new,
                                      const kms_idx *out_indptr,
                                      int64_t *out_indices, float *out_data,
                                      kms_idx *out_nnz, const kms_ctx *ctx)
    int kms_csr_generate_count_i32(const int32_t *indices,
                                   const int32_t *indptr, kms_idx n_total,
                                   kms_idx d, const kms_idx *rows, kms_idx m,
                                   const kms_idx *nn, kms_idx k,
                                   const kms_idx *sample_idx, kms_idx n_new,
                                   kms_idx *counts, const kms_ctx *ctx)
    int kms_csr_generate_count_i64(const int64_t *indices,
                                   const int64_t *indptr, kms_idx n_total,
                                   kms_idx d, const kms_idx *rows, kms_idx m,
                                   const kms_idx *nn, kms_idx k,
                                   const kms_idx *sample_idx, kms_idx n_new,
                                   kms_idx *counts, const kms_ctx *ctx)
