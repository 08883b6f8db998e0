/*
 * kmsmote C core: k-means (k-means++ seeding, Lloyd iterations, nearest
 * centre assignment).
 *
 * X is row-major (n, d); centres are row-major (k, d) of the same type as X.
 * Distances and sums are accumulated in double for both element types.
 *
 * Squared distances use the expansion
 *
 *     d2(x, c) = max(0, (||x||^2 - 2 x.c) + ||c||^2)
 *
 * with ||x||^2, x.c and ||c||^2 each summed over the features in ascending
 * order from +0.0 (elements converted to double on read), evaluated in
 * exactly this order.  The CSR kernels of kms_sparse.h form the same sums
 * over the stored entries only, which changes nothing (the skipped terms
 * are +-0), so dense and CSR inputs of the same matrix give bit-identical
 * labels, distances, centres and k-means++ picks.
 */
#ifndef KMSMOTE_KMS_KMEANS_H
#define KMSMOTE_KMS_KMEANS_H

#include "kms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Assign each row of X to its nearest centre (squared Euclidean distance,
 * ties to the lowest centre index).  labels[n] receives centre indices;
 * dist2[n], if not NULL, receives the squared distance to that centre
 * (the expansion above).  Requires k >= 1 (KMS_ERR_BAD_K); n = 0 is allowed; NaN or
 * infinity in X or the centres gives KMS_ERR_NONFINITE. */
int kms_assign_f64(const double *X, kms_idx n, kms_idx d,
                   const double *centers, kms_idx k,
                   kms_idx *labels, double *dist2, const kms_ctx *ctx);
int kms_assign_f32(const float *X, kms_idx n, kms_idx d,
                   const float *centers, kms_idx k,
                   kms_idx *labels, double *dist2, const kms_ctx *ctx);

/* Greedy k-means++ seeding: the first centre is a uniformly drawn row, each
 * next one the best (lowest potential) of n_local_trials rows drawn with
 * probability proportional to the squared distance to the chosen centres.
 * Random numbers come from a counter-based generator keyed by seed, so the
 * result depends on (X, k, n_local_trials, seed) only.  Writes centers[k*d].
 * Requires 1 <= k <= n (KMS_ERR_BAD_K), n_local_trials >= 1
 * (KMS_ERR_BAD_SHAPE) and finite X (KMS_ERR_NONFINITE). */
int kms_kmeanspp_f64(const double *X, kms_idx n, kms_idx d, kms_idx k,
                     kms_idx n_local_trials, uint64_t seed,
                     double *centers, const kms_ctx *ctx);
int kms_kmeanspp_f32(const float *X, kms_idx n, kms_idx d, kms_idx k,
                     kms_idx n_local_trials, uint64_t seed,
                     float *centers, const kms_ctx *ctx);

/* Lloyd iterations from the centres given in centers[k*d] (updated in
 * place).  Stops after max_iter iterations, when no label changes, or when
 * the summed squared centre shift is <= tol (an absolute value; the caller
 * scales it).  A cluster that empties is moved to the row farthest from its
 * centre (lowest row index on ties), one row per empty cluster, as
 * scikit-learn does; a cluster left without rows by that keeps its centre.
 * On return labels[n] holds the final assignment (consistent with the final
 * centres), *inertia the summed squared distance and *n_iter the number of
 * iterations run.  Requires 1 <= k <= n (KMS_ERR_BAD_K), max_iter >= 0
 * (KMS_ERR_BAD_SHAPE; 0 only assigns) and finite X and centres
 * (KMS_ERR_NONFINITE). */
int kms_lloyd_f64(const double *X, kms_idx n, kms_idx d, kms_idx k,
                  double *centers, int max_iter, double tol,
                  kms_idx *labels, double *inertia, int *n_iter,
                  const kms_ctx *ctx);
int kms_lloyd_f32(const float *X, kms_idx n, kms_idx d, kms_idx k,
                  float *centers, int max_iter, double tol,
                  kms_idx *labels, double *inertia, int *n_iter,
                  const kms_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KMSMOTE_KMS_KMEANS_H */
