/*
 * kmsmote C core: the pieces of the approximate neighbour search of a large
 * set of rows (kmsmote/_approx.py puts them together).
 *
 * - kms_nearest_centers: every row's p nearest cell centres, which decide
 *   the cells the row joins before the exact search inside each cell
 *   (kms_knn_sparsity_sets);
 * - kms_pair_distances: the exact distances of given pairs of rows, which
 *   rank the candidates the cells propose;
 * - kms_sample_pair_distances: the summed distances of a seeded sample of
 *   pairs, for the mean pairwise distance of a set too large to sum;
 * - kms_knn_cells: the nearest members of given cells, for the rows whose
 *   lists are needed (a block of the members at a time against the rows
 *   that probe the cell), and for a search of the whole set split into
 *   blocks.
 *
 * Dense rows (row-major X of n_total x d, float32 or float64) and CSR rows
 * (kms_csr_*, the layout of kms_sparse.h).  Every output depends only on
 * its own row or pair: results never depend on the number of threads.
 */
#ifndef KMSMOTE_KMS_APPROX_H
#define KMSMOTE_KMS_APPROX_H

#include "kms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[t] = |X[a[t]] - X[b[t]]| for t < n_pairs: the square root of the
 * squared differences computed in double and summed over the features in
 * ascending order from +0, the exact distance of kms_knn_sparsity's lists
 * (bit for bit).  Requires every a[t], b[t] in [0, n_total)
 * (KMS_ERR_BAD_INDEX); a non-finite distance gives KMS_ERR_NONFINITE. */
int kms_pair_distances_f64(const double *X, kms_idx n_total, kms_idx d,
                           const kms_idx *a, const kms_idx *b,
                           kms_idx n_pairs, double *out, const kms_ctx *ctx);
int kms_pair_distances_f32(const float *X, kms_idx n_total, kms_idx d,
                           const kms_idx *a, const kms_idx *b,
                           kms_idx n_pairs, double *out, const kms_ctx *ctx);

/* out[t] = the squared distance of kms_pair_distances (the sum before its
 * square root), for pairs whose distances must be combined elsewhere as
 * kms_sample_pair_distances combines them (kms_pair_moments). */
int kms_pair_sqdistances_f64(const double *X, kms_idx n_total, kms_idx d,
                             const kms_idx *a, const kms_idx *b,
                             kms_idx n_pairs, double *out, const kms_ctx *ctx);
int kms_pair_sqdistances_f32(const float *X, kms_idx n_total, kms_idx d,
                             const kms_idx *a, const kms_idx *b,
                             kms_idx n_pairs, double *out, const kms_ctx *ctx);

/* Sampled pairs of the set {X[rows[0]], ..., X[rows[m-1]]}, m >= 2: pair
 * number t (first <= t < first + n_pairs) joins a member drawn uniformly
 * and one drawn uniformly among the others, from a counter-based stream of
 * seed (so that a sample continued in several calls is the sample drawn at
 * once).  sums[q] (q < 4) receives the sum over the pairs of
 * (distance / scale)^(q + 1), the distance being that of
 * kms_pair_distances, each sum added in pair order by chunks of
 * KMS_CHUNK_ROWS (compensated), whatever the number of threads.  The
 * first two give the sample's mean and variance, all four those of the
 * mean corrected by the exactly known mean squared distance (a control
 * variate).  Requires m >= 2 and scale > 0 (KMS_ERR_BAD_SHAPE), rows in
 * [0, n_total) (KMS_ERR_BAD_INDEX), finite members (KMS_ERR_NONFINITE). */
int kms_sample_pair_distances_f64(const double *X, kms_idx n_total, kms_idx d,
                                  const kms_idx *rows, kms_idx m, uint64_t seed,
                                  kms_idx first, kms_idx n_pairs, double scale,
                                  double *sums, const kms_ctx *ctx);
int kms_sample_pair_distances_f32(const float *X, kms_idx n_total, kms_idx d,
                                  const kms_idx *rows, kms_idx m, uint64_t seed,
                                  kms_idx first, kms_idx n_pairs, double scale,
                                  double *sums, const kms_ctx *ctx);

/* The members (i[t], j[t]) of the sampled pairs first .. first + n_pairs - 1
 * of kms_sample_pair_distances for a set of m >= 2 members and seed, and
 * sums[q] (q < 4) as kms_sample_pair_distances gives them from given
 * squared distances d2[t] of those pairs (kms_pair_sqdistances), bit for
 * bit: the pieces of one sample whose rows are not held in one place
 * (kmsmote.dask).  Requires m >= 2 (KMS_ERR_BAD_SHAPE); kms_pair_moments
 * requires scale > 0 and finite distances (KMS_ERR_NONFINITE). */
int kms_sample_pairs(uint64_t seed, kms_idx m, kms_idx first, kms_idx n_pairs,
                     kms_idx *i, kms_idx *j);
int kms_pair_moments(const double *d2, kms_idx n_pairs, double scale, double *sums,
                     const kms_ctx *ctx);

/* For every query q < n_q: its k nearest among the members of its cells
 * query_cells[q * p] .. query_cells[q * p + p - 1] (-1: no cell), cell c's
 * members being the rows members[cell_ptr[c]] .. members[cell_ptr[c + 1] - 1],
 * queries[q] itself excluded, by the distance of kms_pair_distances, ties
 * by ascending row number: out[q * k + j] (row numbers; -1 where fewer
 * than k others were offered).  A row offered twice (in two of its cells,
 * or twice in one) counts once.  The lists do not depend on which other
 * queries are asked for nor on the number of threads.  Requires
 * cell_ptr[0] = 0, non-decreasing (KMS_ERR_BAD_SHAPE), every row in
 * [0, n_total) and cell in [-1, n_cells) (KMS_ERR_BAD_INDEX) and finite
 * distances (KMS_ERR_NONFINITE). */
int kms_knn_cells_f64(const double *X, kms_idx n_total, kms_idx d,
                      const kms_idx *queries, kms_idx n_q,
                      const kms_idx *query_cells, kms_idx p,
                      const kms_idx *cell_ptr, const kms_idx *members, kms_idx n_cells,
                      kms_idx k, kms_idx *out, const kms_ctx *ctx);
int kms_knn_cells_f32(const float *X, kms_idx n_total, kms_idx d,
                      const kms_idx *queries, kms_idx n_q,
                      const kms_idx *query_cells, kms_idx p,
                      const kms_idx *cell_ptr, const kms_idx *members, kms_idx n_cells,
                      kms_idx k, kms_idx *out, const kms_ctx *ctx);

/* For every member i < m of the set {X[rows[0]], ..., X[rows[m-1]]}, the
 * numbers of its p nearest centres among the k rows of centers (row-major
 * k x d, the element type of X), nearest first, ties by ascending number:
 * out[i * p + j].  Squared distances by the k-means expansion
 * (|x|^2 - 2 x.c) + |c|^2 in double, as kms_assign forms them, so that
 * out[i * p] is the centre kms_assign picks.  Requires 1 <= p <= k
 * (KMS_ERR_BAD_K), rows in [0, n_total) (KMS_ERR_BAD_INDEX) and finite
 * members and centres (KMS_ERR_NONFINITE). */
int kms_nearest_centers_f64(const double *X, kms_idx n_total, kms_idx d,
                            const kms_idx *rows, kms_idx m,
                            const double *centers, kms_idx k, kms_idx p,
                            kms_idx *out, const kms_ctx *ctx);
int kms_nearest_centers_f32(const float *X, kms_idx n_total, kms_idx d,
                            const kms_idx *rows, kms_idx m,
                            const float *centers, kms_idx k, kms_idx p,
                            kms_idx *out, const kms_ctx *ctx);

/* The same for the rows of a CSR matrix (data, indices, indptr of n_total
 * rows and d columns, as in kms_sparse.h; KMS_ERR_BAD_CSR if the rows read
 * are malformed): equal, bit for bit, to the dense kernels on the matrix
 * stored densely.  The centres stay dense (k x d). */
int kms_csr_pair_distances_f64_i32(const double *data, const int32_t *indices,
                                   const int32_t *indptr, kms_idx n_total, kms_idx d,
                                   const kms_idx *a, const kms_idx *b,
                                   kms_idx n_pairs, double *out, const kms_ctx *ctx);
int kms_csr_pair_distances_f64_i64(const double *data, const int64_t *indices,
                                   const int64_t *indptr, kms_idx n_total, kms_idx d,
                                   const kms_idx *a, const kms_idx *b,
                                   kms_idx n_pairs, double *out, const kms_ctx *ctx);
int kms_csr_pair_distances_f32_i32(const float *data, const int32_t *indices,
                                   const int32_t *indptr, kms_idx n_total, kms_idx d,
                                   const kms_idx *a, const kms_idx *b,
                                   kms_idx n_pairs, double *out, const kms_ctx *ctx);
int kms_csr_pair_distances_f32_i64(const float *data, const int64_t *indices,
                                   const int64_t *indptr, kms_idx n_total, kms_idx d,
                                   const kms_idx *a, const kms_idx *b,
                                   kms_idx n_pairs, double *out, const kms_ctx *ctx);

int kms_csr_sample_pair_distances_f64_i32(const double *data, const int32_t *indices,
                                          const int32_t *indptr, kms_idx n_total, kms_idx d,
                                          const kms_idx *rows, kms_idx m, uint64_t seed,
                                          kms_idx first, kms_idx n_pairs, double scale,
                                          double *sums,
                                          const kms_ctx *ctx);
int kms_csr_sample_pair_distances_f64_i64(const double *data, const int64_t *indices,
                                          const int64_t *indptr, kms_idx n_total, kms_idx d,
                                          const kms_idx *rows, kms_idx m, uint64_t seed,
                                          kms_idx first, kms_idx n_pairs, double scale,
                                          double *sums,
                                          const kms_ctx *ctx);
int kms_csr_sample_pair_distances_f32_i32(const float *data, const int32_t *indices,
                                          const int32_t *indptr, kms_idx n_total, kms_idx d,
                                          const kms_idx *rows, kms_idx m, uint64_t seed,
                                          kms_idx first, kms_idx n_pairs, double scale,
                                          double *sums,
                                          const kms_ctx *ctx);
int kms_csr_sample_pair_distances_f32_i64(const float *data, const int64_t *indices,
                                          const int64_t *indptr, kms_idx n_total, kms_idx d,
                                          const kms_idx *rows, kms_idx m, uint64_t seed,
                                          kms_idx first, kms_idx n_pairs, double scale,
                                          double *sums,
                                          const kms_ctx *ctx);

int kms_csr_nearest_centers_f64_i32(const double *data, const int32_t *indices,
                                    const int32_t *indptr, kms_idx n_total, kms_idx d,
                                    const kms_idx *rows, kms_idx m,
                                    const double *centers, kms_idx k, kms_idx p,
                                    kms_idx *out, const kms_ctx *ctx);
int kms_csr_nearest_centers_f64_i64(const double *data, const int64_t *indices,
                                    const int64_t *indptr, kms_idx n_total, kms_idx d,
                                    const kms_idx *rows, kms_idx m,
                                    const double *centers, kms_idx k, kms_idx p,
                                    kms_idx *out, const kms_ctx *ctx);
int kms_csr_nearest_centers_f32_i32(const float *data, const int32_t *indices,
                                    const int32_t *indptr, kms_idx n_total, kms_idx d,
                                    const kms_idx *rows, kms_idx m,
                                    const float *centers, kms_idx k, kms_idx p,
                                    kms_idx *out, const kms_ctx *ctx);
int kms_csr_nearest_centers_f32_i64(const float *data, const int64_t *indices,
                                    const int64_t *indptr, kms_idx n_total, kms_idx d,
                                    const kms_idx *rows, kms_idx m,
                                    const float *centers, kms_idx k, kms_idx p,
                                    kms_idx *out, const kms_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KMSMOTE_KMS_APPROX_H */
