/*
 * kmsmote C core: nearest neighbours and mean pairwise distance inside one
 * set of rows (the samples of one class in one cluster).
 *
 * The set is given as row indices into a row-major X (n_total, d), so the
 * caller never gathers a copy.  Positions in the set (0 .. m-1) are what
 * the neighbour indices refer to.
 */
#ifndef KMSMOTE_KMS_NEIGHBORS_H
#define KMSMOTE_KMS_NEIGHBORS_H

#include "kms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For every member i of the set {X[rows[0]], ..., X[rows[m-1]]}, the k
 * nearest other members (self excluded) by Euclidean distance, nearest
 * first, ties broken by ascending position.  nn[m*k] receives positions,
 * nn_dist[m*k] (if not NULL) the distances.  *pair_dist_sum receives the sum
 * of the Euclidean distances over all unordered pairs {i, j}, i != j; the
 * mean pairwise distance is then 2 * sum / (m * (m - 1)).  The neighbour
 * distances are computed in double from the differences (summed over the
 * features in order, so equal inputs give exactly equal distances); the
 * pair sum adds the square roots of the norm expansion
 * (|x_j|^2 - 2 x_i.x_j) + |x_i|^2 (clamped at 0, each sum over the
 * features in order), which also screens the pairs so that only those
 * that may enter a list get their exact distance.  Never a full m*m
 * matrix.  k = 0 is allowed for any m >= 0 (only the pair sum is
 * computed).  Requires k <= m - 1 (KMS_ERR_BAD_K), every rows[i] in
 * [0, n_total) (KMS_ERR_BAD_INDEX) and finite members
 * (KMS_ERR_NONFINITE).  Scratch: n_threads * m * k (distance, position)
 * lists plus O(n_threads * d) per thread. */
int kms_knn_sparsity_f64(const double *X, kms_idx n_total, kms_idx d,
                         const kms_idx *rows, kms_idx m, kms_idx k,
                         kms_idx *nn, double *nn_dist,
                         double *pair_dist_sum, const kms_ctx *ctx);
int kms_knn_sparsity_f32(const float *X, kms_idx n_total, kms_idx d,
                         const kms_idx *rows, kms_idx m, kms_idx k,
                         kms_idx *nn, double *nn_dist,
                         double *pair_dist_sum, const kms_ctx *ctx);

/* kms_knn_sparsity for n_sets sets at once: set s is rows[offsets[s]] ..
 * rows[offsets[s+1] - 1] (offsets[0] = 0, non-decreasing), with ks[s]
 * neighbours; its positions go to nn starting at sum_{t<s} m_t * ks[t],
 * its pair sum to pair_dist_sums[s].  Every output is bit-identical to
 * that of kms_knn_sparsity on the set alone.  The threads share the sets:
 * a set with at least its share of the remaining pairs, or with more than
 * 64 MiB of scratch, is searched by all threads, the others one per
 * thread, largest first, which keeps every thread busy where many small
 * sets would each leave threads idle.  On an
 * error, the status of the first failing set in set order (the outputs of
 * other sets may be partly written). */
int kms_knn_sparsity_sets_f64(const double *X, kms_idx n_total, kms_idx d,
                              const kms_idx *rows, const kms_idx *offsets,
                              kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                              double *pair_dist_sums, const kms_ctx *ctx);
int kms_knn_sparsity_sets_f32(const float *X, kms_idx n_total, kms_idx d,
                              const kms_idx *rows, const kms_idx *offsets,
                              kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                              double *pair_dist_sums, const kms_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KMSMOTE_KMS_NEIGHBORS_H */
