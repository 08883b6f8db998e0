/*
 * kmsmote C core: the k-means, neighbour and generation kernels on CSR
 * (compressed sparse row) matrices, bit-identical to the dense kernels of
 * kms_kmeans.h, kms_neighbors.h and kms_generate.h on the same matrix
 * stored densely.
 *
 * A CSR matrix of n rows and d columns is the triple
 *
 *   data[nnz]      the stored values (float64 or float32),
 *   indices[nnz]   their column indices,
 *   indptr[n + 1]  row r's entries are data[indptr[r] .. indptr[r + 1]),
 *
 * with indices and indptr of one integer type, int32 or int64 (scipy's
 * choice, used as given: no conversion).  Every function comes in four
 * variants, _f64_i32, _f64_i64, _f32_i32 and _f32_i64 (element type, then
 * index type); the generation count, which reads no values, only in _i32
 * and _i64.  Arithmetic on sizes and offsets is 64-bit throughout.
 *
 * The matrix must be canonical on the rows a kernel reads: indptr
 * non-decreasing within [0, indptr[n]], column indices in [0, d) and
 * strictly increasing within each row (sorted, no duplicates); otherwise
 * the kernel returns KMS_ERR_BAD_CSR before any work.  Explicitly stored
 * zeros are allowed.  (scipy: X.sum_duplicates() gives this form.)
 *
 * Why the results equal the dense ones bit for bit: every dense sum runs
 * over the features in ascending order from +0.0; the terms of a feature
 * that is absent from the rows involved are +-0, and adding +-0 to a sum
 * that started at +0 leaves it unchanged.  The CSR kernels therefore form
 * the same sums over the stored entries only (in ascending column order),
 * and run the dense kernels' own drivers (k-means) and tile order and row
 * consumer (neighbours), so every decision, merge order and tie-break is
 * the same.  As for the dense
 * kernels, results do not depend on the number of threads.
 */
#ifndef KMSMOTE_KMS_SPARSE_H
#define KMSMOTE_KMS_SPARSE_H

#include "kms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* kms_assign on a CSR matrix: nearest centre of every row (ties to the
 * lowest index) in labels[n], the squared distance in dist2[n] if not NULL.
 * centers is row-major (k, d) of X's element type.  Same errors as
 * kms_assign, plus KMS_ERR_BAD_CSR; NaN or infinity among the stored values
 * gives KMS_ERR_NONFINITE.  Work: O(nnz * k) multiply-adds (the centres are
 * held feature-major, so a row reads only the columns it stores). */
int kms_csr_assign_f64_i32(const double *data, const int32_t *indices,
                           const int32_t *indptr, kms_idx n, kms_idx d,
                           const double *centers, kms_idx k, kms_idx *labels,
                           double *dist2, const kms_ctx *ctx);
int kms_csr_assign_f64_i64(const double *data, const int64_t *indices,
                           const int64_t *indptr, kms_idx n, kms_idx d,
                           const double *centers, kms_idx k, kms_idx *labels,
                           double *dist2, const kms_ctx *ctx);
int kms_csr_assign_f32_i32(const float *data, const int32_t *indices,
                           const int32_t *indptr, kms_idx n, kms_idx d,
                           const float *centers, kms_idx k, kms_idx *labels,
                           double *dist2, const kms_ctx *ctx);
int kms_csr_assign_f32_i64(const float *data, const int64_t *indices,
                           const int64_t *indptr, kms_idx n, kms_idx d,
                           const float *centers, kms_idx k, kms_idx *labels,
                           double *dist2, const kms_ctx *ctx);

/* kms_kmeanspp on a CSR matrix: greedy k-means++ seeding with the same
 * counter-based draws, hence the same rows, as the dense kernel.  Writes
 * centers[k * d] (rows of X, zeros included).  Same errors as
 * kms_kmeanspp, plus KMS_ERR_BAD_CSR.  Scratch: O(n + d * n_local_trials)
 * doubles. */
int kms_csr_kmeanspp_f64_i32(const double *data, const int32_t *indices,
                             const int32_t *indptr, kms_idx n, kms_idx d,
                             kms_idx k, kms_idx n_local_trials, uint64_t seed,
                             double *centers, const kms_ctx *ctx);
int kms_csr_kmeanspp_f64_i64(const double *data, const int64_t *indices,
                             const int64_t *indptr, kms_idx n, kms_idx d,
                             kms_idx k, kms_idx n_local_trials, uint64_t seed,
                             double *centers, const kms_ctx *ctx);
int kms_csr_kmeanspp_f32_i32(const float *data, const int32_t *indices,
                             const int32_t *indptr, kms_idx n, kms_idx d,
                             kms_idx k, kms_idx n_local_trials, uint64_t seed,
                             float *centers, const kms_ctx *ctx);
int kms_csr_kmeanspp_f32_i64(const float *data, const int64_t *indices,
                             const int64_t *indptr, kms_idx n, kms_idx d,
                             kms_idx k, kms_idx n_local_trials, uint64_t seed,
                             float *centers, const kms_ctx *ctx);

/* kms_lloyd on a CSR matrix: Lloyd iterations from centers[k * d] (updated
 * in place) with the dense kernel's stopping rules, empty-cluster
 * relocation and outputs (labels[n], *inertia, *n_iter).  The per-chunk
 * centre sums add the stored entries only and are merged in chunk order.
 * Same errors as kms_lloyd, plus KMS_ERR_BAD_CSR.  Scratch: O(n + k * d)
 * doubles, per thread k * d doubles and one chunk's stored entries, and at
 * most 16 MiB (or one chunk per thread) of per-chunk sums. */
int kms_csr_lloyd_f64_i32(const double *data, const int32_t *indices,
                          const int32_t *indptr, kms_idx n, kms_idx d,
                          kms_idx k, double *centers, int max_iter, double tol,
                          kms_idx *labels, double *inertia, int *n_iter,
                          const kms_ctx *ctx);
int kms_csr_lloyd_f64_i64(const double *data, const int64_t *indices,
                          const int64_t *indptr, kms_idx n, kms_idx d,
                          kms_idx k, double *centers, int max_iter, double tol,
                          kms_idx *labels, double *inertia, int *n_iter,
                          const kms_ctx *ctx);
int kms_csr_lloyd_f32_i32(const float *data, const int32_t *indices,
                          const int32_t *indptr, kms_idx n, kms_idx d,
                          kms_idx k, float *centers, int max_iter, double tol,
                          kms_idx *labels, double *inertia, int *n_iter,
                          const kms_ctx *ctx);
int kms_csr_lloyd_f32_i64(const float *data, const int64_t *indices,
                          const int64_t *indptr, kms_idx n, kms_idx d,
                          kms_idx k, float *centers, int max_iter, double tol,
                          kms_idx *labels, double *inertia, int *n_iter,
                          const kms_ctx *ctx);

/* kms_knn_sparsity on a CSR matrix of n_total rows: for the set of rows
 * rows[0 .. m-1], the k nearest other members of each (nearest first, ties
 * by ascending position) in nn[m * k], their distances in nn_dist[m * k]
 * if not NULL, and the sum of the Euclidean distances over all unordered
 * pairs in *pair_dist_sum, all bit-identical to the dense kernel's.  An
 * exact squared distance is the sum of (a_f - b_f)^2 over the union of the
 * two rows' stored columns, in ascending column order (an absent entry is
 * 0): the dense kernel's sum without its +0 terms.  The pair sum adds the
 * square roots of the dense kernel's norm expansion, from the rows'
 * squared norms and their dot products over the shared columns (in
 * ascending column order).  Same errors as kms_knn_sparsity, plus
 * KMS_ERR_BAD_CSR (checked on the member rows only).  Work: per member
 * row, the postings of its columns in an inverted index of the set plus
 * O(1) per later member, and an exact merge for each pair that may enter a
 * list; no m * m matrix.  Scratch: n_threads * m * k list entries, an
 * inverted index of the set's stored entries (16 bytes each) with d + 1
 * column offsets (or, when d exceeds 4 nnz + 4096 for the set's nnz
 * stored entries, offsets for its distinct columns only, found by a
 * sort), and 16 bytes per member per thread. */
int kms_csr_knn_sparsity_f64_i32(const double *data, const int32_t *indices,
                                 const int32_t *indptr, kms_idx n_total,
                                 kms_idx d, const kms_idx *rows, kms_idx m,
                                 kms_idx k, kms_idx *nn, double *nn_dist,
                                 double *pair_dist_sum, const kms_ctx *ctx);
int kms_csr_knn_sparsity_f64_i64(const double *data, const int64_t *indices,
                                 const int64_t *indptr, kms_idx n_total,
                                 kms_idx d, const kms_idx *rows, kms_idx m,
                                 kms_idx k, kms_idx *nn, double *nn_dist,
                                 double *pair_dist_sum, const kms_ctx *ctx);
int kms_csr_knn_sparsity_f32_i32(const float *data, const int32_t *indices,
                                 const int32_t *indptr, kms_idx n_total,
                                 kms_idx d, const kms_idx *rows, kms_idx m,
                                 kms_idx k, kms_idx *nn, double *nn_dist,
                                 double *pair_dist_sum, const kms_ctx *ctx);
int kms_csr_knn_sparsity_f32_i64(const float *data, const int64_t *indices,
                                 const int64_t *indptr, kms_idx n_total,
                                 kms_idx d, const kms_idx *rows, kms_idx m,
                                 kms_idx k, kms_idx *nn, double *nn_dist,
                                 double *pair_dist_sum, const kms_ctx *ctx);

/* kms_csr_knn_sparsity for several sets at once, as kms_knn_sparsity_sets
 * (kms_neighbors.h) does for dense rows: outputs bit-identical to one call
 * per set, the threads shared out among the sets. */
int kms_csr_knn_sparsity_sets_f64_i32(const double *data, const int32_t *indices,
                                      const int32_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      const kms_idx *offsets, kms_idx n_sets,
                                      const kms_idx *ks, kms_idx *nn,
                                      double *pair_dist_sums, const kms_ctx *ctx);
int kms_csr_knn_sparsity_sets_f64_i64(const double *data, const int64_t *indices,
                                      const int64_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      const kms_idx *offsets, kms_idx n_sets,
                                      const kms_idx *ks, kms_idx *nn,
                                      double *pair_dist_sums, const kms_ctx *ctx);
int kms_csr_knn_sparsity_sets_f32_i32(const float *data, const int32_t *indices,
                                      const int32_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      const kms_idx *offsets, kms_idx n_sets,
                                      const kms_idx *ks, kms_idx *nn,
                                      double *pair_dist_sums, const kms_ctx *ctx);
int kms_csr_knn_sparsity_sets_f32_i64(const float *data, const int64_t *indices,
                                      const int64_t *indptr, kms_idx n_total,
                                      kms_idx d, const kms_idx *rows,
                                      const kms_idx *offsets, kms_idx n_sets,
                                      const kms_idx *ks, kms_idx *nn,
                                      double *pair_dist_sums, const kms_ctx *ctx);

/* Phase 2 of CSR generation (phase 1: kms_csr_generate_count_*).  For
 * t < n_new, with s = sample_idx[t], base = row rows[s / k] and other = row
 * rows[nn[s]], new row t takes, on every column stored in base or other
 * (an absent value is 0),
 *
 *   float64:  base + step * (other - base)
 *   float32:  (float)((double)base + step * (double)(float)(other - base))
 *
 * (exactly kms_generate's arithmetic, step = steps[t]).  The entries with
 * a value != 0 (NaN included) are written in ascending column order to
 * out_indices and out_data from position out_indptr[t], and out_nnz[t]
 * receives their count.  out_indptr[n_new + 1] is the caller's layout,
 * row t owning [out_indptr[t], out_indptr[t + 1]): counts[t] entries
 * always suffice (KMS_ERR_BAD_SHAPE, outputs partly written, if a row's
 * entries do not fit); the caller then drops the unused tail of each row.  A column absent from both rows
 * is 0 in the dense kernel's output too, so the rows hold exactly the
 * non-zeros of the dense result.  Requires finite steps
 * (KMS_ERR_NONFINITE: a non-finite step would make the absent columns NaN
 * in the dense result).  Index errors (KMS_ERR_BAD_INDEX) as
 * kms_generate, and KMS_ERR_BAD_CSR, are reported before anything is
 * written. */
int kms_csr_generate_fill_f64_i32(const double *data, const int32_t *indices,
                                  const int32_t *indptr, kms_idx n_total,
                                  kms_idx d, const kms_idx *rows, kms_idx m,
                                  const kms_idx *nn, kms_idx k,
                                  const kms_idx *sample_idx,
                                  const double *steps, kms_idx n_new,
                                  const kms_idx *out_indptr,
                                  int32_t *out_indices, double *out_data,
                                  kms_idx *out_nnz, const kms_ctx *ctx);
int kms_csr_generate_fill_f64_i64(const double *data, const int64_t *indices,
                                  const int64_t *indptr, kms_idx n_total,
                                  kms_idx d, const kms_idx *rows, kms_idx m,
                                  const kms_idx *nn, kms_idx k,
                                  const kms_idx *sample_idx,
                                  const double *steps, kms_idx n_new,
                                  const kms_idx *out_indptr,
                                  int64_t *out_indices, double *out_data,
                                  kms_idx *out_nnz, const kms_ctx *ctx);
int kms_csr_generate_fill_f32_i32(const float *data, const int32_t *indices,
                                  const int32_t *indptr, kms_idx n_total,
                                  kms_idx d, const kms_idx *rows, kms_idx m,
                                  const kms_idx *nn, kms_idx k,
                                  const kms_idx *sample_idx,
                                  const double *steps, kms_idx n_new,
                                  const kms_idx *out_indptr,
                                  int32_t *out_indices, float *out_data,
                                  kms_idx *out_nnz, const kms_ctx *ctx);
int kms_csr_generate_fill_f32_i64(const float *data, const int64_t *indices,
                                  const int64_t *indptr, kms_idx n_total,
                                  kms_idx d, const kms_idx *rows, kms_idx m,
                                  const kms_idx *nn, kms_idx k,
                                  const kms_idx *sample_idx,
                                  const double *steps, kms_idx n_new,
                                  const kms_idx *out_indptr,
                                  int64_t *out_indices, float *out_data,
                                  kms_idx *out_nnz, const kms_ctx *ctx);

/* Phase 1 of CSR generation: counts[t] = number of columns stored in the
 * base row or the other row of new row t (see kms_csr_generate_fill_*),
 * an upper bound of its stored entries; allocate their sum, lay the rows
 * out with an exclusive prefix sum (out_indptr) and call the fill.  The
 * index arguments are those of the fill (same checks, KMS_ERR_BAD_INDEX,
 * KMS_ERR_BAD_CSR); no values are read, so there is one variant per index
 * type. */
int kms_csr_generate_count_i32(const int32_t *indices, const int32_t *indptr,
                               kms_idx n_total, kms_idx d,
                               const kms_idx *rows, kms_idx m,
                               const kms_idx *nn, kms_idx k,
                               const kms_idx *sample_idx, kms_idx n_new,
                               kms_idx *counts, const kms_ctx *ctx);
int kms_csr_generate_count_i64(const int64_t *indices, const int64_t *indptr,
                               kms_idx n_total, kms_idx d,
                               const kms_idx *rows, kms_idx m,
                               const kms_idx *nn, kms_idx k,
                               const kms_idx *sample_idx, kms_idx n_new,
                               kms_idx *counts, const kms_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KMSMOTE_KMS_SPARSE_H */
