/*
 * kmsmote C core: k nearest neighbours and summed pairwise distance inside a
 * set of rows.
 *
 * One tiled pass over the unordered pairs {i, j}: the set is cut into
 * blocks of KMS_BLOCK rows and every tile (I, J) with J >= I is computed
 * once, by the thread that owns row block I.  A tile gathers both blocks
 * into feature-major double buffers, computes each squared distance from
 * the differences (summed over the features in ascending order, so equal
 * inputs give bit-equal distances and ties are real ties), adds the square
 * roots to the pair sum and offers the pair to the top-k lists of both of
 * its members.
 *
 * Determinism: the k nearest neighbours under the total order (distance,
 * position) form a unique set, so lists filled in any order and merged give
 * the same answer; each thread fills its own lists for all rows and the
 * lists are merged at the end.  The pair sum is accumulated per row block
 * (tiles in ascending J, rows in ascending order) and the block sums are
 * added in block order.  Neither depends on the number of threads.
 */
#include "kms_neighbors.h"
#include "kms_knn_internal.h"

/* One tile: rows I0 .. I0+nrI-1 (feature-major in At) against columns
 * J0 .. J0+ncJ-1 (feature-major in Bt).  On the diagonal (Bt == At) only
 * the pairs c > r are visited.  Adds the distances of the visited pairs to
 * *acc (row by row) and offers each pair to the lists of both members
 * (kms__knn_consume_row, shared with the CSR kernel).
 * strip and sq are NP x BLOCK scratch (squared distances, distances). */
static void kms__knn_tile(kms__strip_fn strip_fn, const double *restrict At,
                          const double *restrict Bt, kms_idx d, kms_idx I0,
                          kms_idx nrI, kms_idx J0, kms_idx ncJ, int diag,
                          kms_idx k, double *restrict ldist,
                          kms_idx *restrict lpos, double *restrict strip,
                          double *restrict sq, double *restrict worstJ,
                          kms__ksum *acc)
{
    kms__knn_worst_init(ldist, J0, ncJ, k, worstJ);
    for (kms_idx r0 = 0; r0 < nrI; r0 += KMS_DIST_NP) {
        /* On the diagonal, columns below the strip's first row are skipped
         * in whole micro-tiles. */
        const kms_idx cs = diag ? (r0 + 1) / KMS_DIST_NC * KMS_DIST_NC : 0;
        if (cs >= ncJ) {
            break;
        }
        strip_fn(At + r0, KMS_BLOCK, Bt + cs, KMS_BLOCK, d, ncJ - cs, strip + cs,
                 KMS_BLOCK, sq + cs);
        const kms_idx r1 = KMS_MIN(nrI, r0 + KMS_DIST_NP);
        for (kms_idx r = r0; r < r1; r++) {
            const kms_idx c0 = diag ? r + 1 : 0;
            const kms_idx n = ncJ - c0;
            if (n <= 0) {
                break;
            }
            kms__knn_consume_row(strip + (r - r0) * KMS_BLOCK + c0,
                                 sq + (r - r0) * KMS_BLOCK + c0, n, J0 + c0,
                                 I0 + r, k, ldist, lpos, worstJ + c0, acc);
        }
    }
}

#define KMS_T double
#define KMS_FN(name) name##_f64
#define KMS_GATHER kms__gather_f64
#include "kms_neighbors.inc"
#undef KMS_T
#undef KMS_FN
#undef KMS_GATHER

#define KMS_T float
#define KMS_FN(name) name##_f32
#define KMS_GATHER kms__gather_f32
#include "kms_neighbors.inc"
#undef KMS_T
#undef KMS_FN
#undef KMS_GATHER
