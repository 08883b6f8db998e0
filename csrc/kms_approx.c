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

/* kms__topk_insert of (dv, r) unless r is listed already (a row offered
 * twice, at the same distance).  Returns 1 if it was inserted. */
static inline int kms__topk_insert_once(double *restrict dl, kms_idx *restrict pl,
                                        kms_idx k, double dv, kms_idx r)
{
    for (kms_idx j = 0; j < k && dl[j] <= dv; j++) {
        if (pl[j] == r) {
            return 0;
        }
    }
    return kms__topk_insert(dl, pl, k, dv, r);
}

/* ------------------------------------------------------------------------
 * The squared distances of kms_knn_cells: KMS__CELLS_QUERIES query rows
 * xq (row-major, d features, in double) against a block of members B
 * (feature-major, B[f * ldb + j], in double, nb8 columns, a multiple of
 * 8, padded with anything finite): acc[g * lda + j] = the squared
 * differences summed over the features in ascending order from +0, the sum
 * of kms_pair_distances bit for bit (no FMA: the build turns contraction
 * off; b - x and x - b have the same square).  Eight members and four
 * queries at a time, their 32 sums in registers.
 */
#define KMS__CELLS_BLOCK 256
#define KMS__CELLS_BYTES (1 << 17)
#define KMS__CELLS_QUERIES 4

typedef void (*kms__sqdiff_fn)(const double *B, kms_idx ldb, kms_idx nb8,
                               const double *xq, kms_idx d, double *acc, kms_idx lda);

#define KMS__SQDIFF_BODY(V, W)                                                        \
    for (kms_idx j0 = 0; j0 < nb8; j0 += 8) {                                           \
        V a[KMS__CELLS_QUERIES][8 / (W)];                                               \
        for (int g = 0; g < KMS__CELLS_QUERIES; g++) {                                  \
            for (int h = 0; h < 8 / (W); h++) {                                         \
                a[g][h] = (V){0};                                                       \
            }                                                                           \
        }                                                                               \
        for (kms_idx f = 0; f < d; f++) {                                               \
            V b[8 / (W)];                                                               \
            for (int h = 0; h < 8 / (W); h++) {                                         \
                b[h] = *(const V *)(B + f * ldb + j0 + h * (W));                        \
            }                                                                           \
            for (int g = 0; g < KMS__CELLS_QUERIES; g++) {                              \
                const V x = (V){0} + xq[g * d + f];                                     \
                for (int h = 0; h < 8 / (W); h++) {                                     \
                    const V t = b[h] - x;                                               \
                    a[g][h] += t * t;                                                   \
                }                                                                       \
            }                                                                           \
        }                                                                               \
        for (int g = 0; g < KMS__CELLS_QUERIES; g++) {                                  \
            for (int h = 0; h < 8 / (W); h++) {                                         \
                *(V *)(acc + g * lda + j0 + h * (W)) = a[g][h];                         \
            }                                                                           \
        }                                                                               \
    }

#if KMS_HAVE_VECTOR_EXT
typedef double kms__cv2d __attribute__((vector_size(16), aligned(8), may_alias));
static void kms__sqdiff_v2d(const double *B, kms_idx ldb, kms_idx nb8, const double *xq,
                            kms_idx d, double *acc, kms_idx lda)
{
    KMS__SQDIFF_BODY(kms__cv2d, 2)
}
#if KMS_X86_DISPATCH
typedef double kms__cv4d __attribute__((vector_size(32), aligned(8), may_alias));
__attribute__((target("avx2")))
static void kms__sqdiff_v4d(const double *B, kms_idx ldb, kms_idx nb8, const double *xq,
                            kms_idx d, double *acc, kms_idx lda)
{
    KMS__SQDIFF_BODY(kms__cv4d, 4)
}
#endif
#else
static void kms__sqdiff_c(const double *B, kms_idx ldb, kms_idx nb8, const double *xq,
                          kms_idx d, double *acc, kms_idx lda)
{
    for (int g = 0; g < KMS__CELLS_QUERIES; g++) {
        for (kms_idx j = 0; j < nb8; j++) {
            double s = 0.0;
            for (kms_idx f = 0; f < d; f++) {
                const double t = B[f * ldb + j] - xq[g * d + f];
                s += t * t;
            }
            acc[g * lda + j] = s;
        }
    }
}
#endif

static kms__sqdiff_fn kms__sqdiff_kernel(void)
{
#if KMS_HAVE_VECTOR_EXT
#if KMS_X86_DISPATCH
    if (kms__avx2_enabled()) {
        return kms__sqdiff_v4d;
    }
#endif
    return kms__sqdiff_v2d;
#else
    return kms__sqdiff_c;
#endif
}

#define KMS_T double
#define KMS_LOCAL(name) name##_f64
#define KMS_GATHER kms__gather_f64
#define KMS_FN_PAIR_DISTANCES kms_pair_distances_f64
#define KMS_FN_PAIR_SQDISTANCES kms_pair_sqdistances_f64
#define KMS_FN_NEAREST_CENTERS kms_nearest_centers_f64
#define KMS_FN_SAMPLE_PAIR_DISTANCES kms_sample_pair_distances_f64
#define KMS_FN_KNN_CELLS kms_knn_cells_f64
#include "templates/approx_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_PAIR_DISTANCES
#undef KMS_FN_PAIR_SQDISTANCES
#undef KMS_FN_NEAREST_CENTERS
#undef KMS_FN_SAMPLE_PAIR_DISTANCES
#undef KMS_FN_KNN_CELLS

#define KMS_T float
#define KMS_LOCAL(name) name##_f32
#define KMS_GATHER kms__gather_f32
#define KMS_FN_PAIR_DISTANCES kms_pair_distances_f32
#define KMS_FN_PAIR_SQDISTANCES kms_pair_sqdistances_f32
#define KMS_FN_NEAREST_CENTERS kms_nearest_centers_f32
#define KMS_FN_SAMPLE_PAIR_DISTANCES kms_sample_pair_distances_f32
#define KMS_FN_KNN_CELLS kms_knn_cells_f32
#include "templates/approx_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_PAIR_DISTANCES
#undef KMS_FN_PAIR_SQDISTANCES
#undef KMS_FN_NEAREST_CENTERS
#undef KMS_FN_SAMPLE_PAIR_DISTANCES
#undef KMS_FN_KNN_CELLS

int kms_sample_pairs(uint64_t seed, kms_idx m, kms_idx first, kms_idx n_pairs,
                     kms_idx *i, kms_idx *j)
{
    if (m < 2 || first < 0 || n_pairs < 0 || (n_pairs > 0 && (i == NULL || j == NULL))) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx t = 0; t < n_pairs; t++) {
        kms__sample_pair(seed, (uint64_t)(first + t), m, &i[t], &j[t]);
    }
    return KMS_OK;
}

int kms_pair_moments(const double *d2, kms_idx n_pairs, double scale, double *sums,
                     const kms_ctx *ctx)
{
    if (n_pairs < 0 || !(scale > 0.0) || sums == NULL || (n_pairs > 0 && d2 == NULL)) {
        return KMS_ERR_BAD_SHAPE;
    }
    return kms__sample_pairs_run(NULL, NULL, 2, 0, 0, n_pairs, scale, d2, sums, ctx);
}
