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
#include "kms_internal.h"

/* Row blocks per work unit: a gathered column block serves this many row
 * blocks.  Fixed (the pair sum is accumulated per unit). */
#define KMS_KNN_SUPER 4

/* (da, pa) comes strictly before (db, pb) in the (distance, position) order. */
static inline int kms__before(double da, kms_idx pa, double db, kms_idx pb)
{
    return da < db || (da == db && pa < pb);
}

/* Insert (dv, p) into the ascending list (dl, pl) of length k if it ranks
 * among the k first.  Returns 1 if it was inserted. */
static inline int kms__topk_insert(double *restrict dl, kms_idx *restrict pl,
                                   kms_idx k, double dv, kms_idx p)
{
    if (!kms__before(dv, p, dl[k - 1], pl[k - 1])) {
        return 0;
    }
    kms_idx q = k - 1;
    while (q > 0 && kms__before(dv, p, dl[q - 1], pl[q - 1])) {
        dl[q] = dl[q - 1];
        pl[q] = pl[q - 1];
        q--;
    }
    dl[q] = dv;
    pl[q] = p;
    return 1;
}

/* Offer the candidates (drow[c], pos0 + c), c < n, to the list of one
 * member.  Blocks of 8 are screened against the current worst entry first
 * (a vectorisable test); most blocks hold no candidate. */
static inline void kms__offer_row(const double *restrict drow, kms_idx n,
                                  kms_idx pos0, kms_idx k,
                                  double *restrict dl, kms_idx *restrict pl)
{
    double worst = dl[k - 1];
    kms_idx c = 0;
    for (; c + 8 <= n; c += 8) {
        int any = 0;
        for (int l = 0; l < 8; l++) {
            any |= drow[c + l] <= worst;
        }
        if (!any) {
            continue;
        }
        for (int l = 0; l < 8; l++) {
            if (drow[c + l] <= worst &&
                kms__topk_insert(dl, pl, k, drow[c + l], pos0 + c + l)) {
                worst = dl[k - 1];
            }
        }
    }
    for (; c < n; c++) {
        if (drow[c] <= worst && kms__topk_insert(dl, pl, k, drow[c], pos0 + c)) {
            worst = dl[k - 1];
        }
    }
}

/* Offer member i (at distance drow[c]) to the lists of the members
 * J0 + c, c < n, whose current worst distances are cached in worstJ. */
static inline void kms__offer_col(const double *restrict drow, kms_idx n,
                                  kms_idx J0, kms_idx i, kms_idx k,
                                  double *restrict worstJ,
                                  double *restrict ldist,
                                  kms_idx *restrict lpos)
{
    for (kms_idx c = 0; c < n; c += 8) {
        const int nl = (int)KMS_MIN((kms_idx)8, n - c);
        int any = 0;
        if (nl == 8) {
            for (int l = 0; l < 8; l++) {
                any |= drow[c + l] <= worstJ[c + l];
            }
            if (!any) {
                continue;
            }
        }
        for (int l = 0; l < nl; l++) {
            if (drow[c + l] <= worstJ[c + l]) {
                const kms_idx j = J0 + c + l;
                if (kms__topk_insert(ldist + j * k, lpos + j * k, k, drow[c + l], i)) {
                    worstJ[c + l] = ldist[j * k + (k - 1)];
                }
            }
        }
    }
}

/* One tile: rows I0 .. I0+nrI-1 (feature-major in At) against columns
 * J0 .. J0+ncJ-1 (feature-major in Bt).  On the diagonal (Bt == At) only
 * the pairs c > r are visited.  Adds the distances of the visited pairs to
 * *acc (row by row) and offers each pair to the lists of both members.
 * strip and sq are NP x BLOCK scratch (squared distances, distances). */
static void kms__knn_tile(kms__strip_fn strip_fn, const double *restrict At,
                          const double *restrict Bt, kms_idx d, kms_idx I0,
                          kms_idx nrI, kms_idx J0, kms_idx ncJ, int diag,
                          kms_idx k, double *restrict ldist,
                          kms_idx *restrict lpos, double *restrict strip,
                          double *restrict sq, double *restrict worstJ,
                          kms__ksum *acc)
{
    if (k > 0) {
        for (kms_idx c = 0; c < ncJ; c++) {
            worstJ[c] = ldist[(J0 + c) * k + (k - 1)];
        }
    }
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
            const double *restrict drow = strip + (r - r0) * KMS_BLOCK + c0;
            const double *restrict srow = sq + (r - r0) * KMS_BLOCK + c0;

            /* Eight interleaved partial sums: independent, so they
             * vectorise, and combined in a fixed order. */
            double lane[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
            kms_idx c = 0;
            for (; c + 8 <= n; c += 8) {
                for (int l = 0; l < 8; l++) {
                    lane[l] += srow[c + l];
                }
            }
            for (int l = 0; c + l < n; l++) {
                lane[l] += srow[c + l];
            }
            kms__ksum_add(acc, ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                                   ((lane[4] + lane[5]) + (lane[6] + lane[7])));

            if (k > 0) {
                const kms_idx i = I0 + r;
                kms__offer_row(drow, n, J0 + c0, k, ldist + i * k, lpos + i * k);
                kms__offer_col(drow, n, J0 + c0, i, k, worstJ + c0, ldist, lpos);
            }
        }
    }
}

/* Merge the per-thread lists into the first one and write the outputs. */
static void kms__knn_merge(kms_idx m, kms_idx k, int nt, double *ldist,
                           kms_idx *lpos, kms_idx *nn, double *nn_dist)
{
    const kms_idx len = m * k;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
#endif
    for (kms_idx i = 0; i < m; i++) {
        double *restrict d0 = ldist + i * k;
        kms_idx *restrict p0 = lpos + i * k;
        for (int t = 1; t < nt; t++) {
            const double *dt = ldist + t * len + i * k;
            const kms_idx *pt = lpos + t * len + i * k;
            for (kms_idx q = 0; q < k; q++) {
                /* Each list is ascending: the first entry that does not
                 * make it ends the merge of that list. */
                if (!kms__topk_insert(d0, p0, k, dt[q], pt[q])) {
                    break;
                }
            }
        }
        for (kms_idx q = 0; q < k; q++) {
            nn[i * k + q] = p0[q];
            if (nn_dist != NULL) {
                nn_dist[i * k + q] = sqrt(d0[q]);
            }
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
