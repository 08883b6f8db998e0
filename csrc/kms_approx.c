/*
 * kmsmote C core: the approximate search's kernels on dense rows (float64
 * and float32 instances of templates/approx_dense.template.c; the CSR
 * instances are in kms_sparse.c).
 *
 * Pair distances: one pair per step, the exact distance of the neighbour
 * kernels.  Nearest centres: blocks of KMS_BLOCK rows gathered
 * feature-major and compared with the centres four at a time by the
 * k-means expansion strip (kms_dist.h), each row keeping its p nearest in
 * a sorted list.
 */
#include <math.h>
#include <stdlib.h>

#include "kms_approx.h"
#include "kms_dist.h"
#include "kms_knn_internal.h"

#define KMS_T double
#define KMS_LOCAL(name) name##_f64
#define KMS_GATHER kms__gather_f64
#define KMS_FN_PAIR_DISTANCES kms_pair_distances_f64
#define KMS_FN_NEAREST_CENTERS kms_nearest_centers_f64
#define KMS_FN_SAMPLE_PAIR_DISTANCES kms_sample_pair_distances_f64
#define KMS_FN_KNN_CANDIDATES kms_knn_candidates_f64
#include "templates/approx_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_PAIR_DISTANCES
#undef KMS_FN_NEAREST_CENTERS
#undef KMS_FN_SAMPLE_PAIR_DISTANCES
#undef KMS_FN_KNN_CANDIDATES

#define KMS_T float
#define KMS_LOCAL(name) name##_f32
#define KMS_GATHER kms__gather_f32
#define KMS_FN_PAIR_DISTANCES kms_pair_distances_f32
#define KMS_FN_NEAREST_CENTERS kms_nearest_centers_f32
#define KMS_FN_SAMPLE_PAIR_DISTANCES kms_sample_pair_distances_f32
#define KMS_FN_KNN_CANDIDATES kms_knn_candidates_f32
#include "templates/approx_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_PAIR_DISTANCES
#undef KMS_FN_NEAREST_CENTERS
#undef KMS_FN_SAMPLE_PAIR_DISTANCES
#undef KMS_FN_KNN_CANDIDATES
