/*
 * kmsmote C core (private): top-k lists and pair-sum accumulation shared by
 * the dense (kms_neighbors.c) and CSR (kms_sparse.c) neighbour kernels.
 *
 * Both kernels visit the same tiles in the same order and hand every row of
 * a tile to kms__knn_consume_row, so that given bit-equal distances they
 * produce bit-equal neighbour lists and pair sums.
 */
#ifndef KMSMOTE_KMS_KNN_INTERNAL_H
#define KMSMOTE_KMS_KNN_INTERNAL_H

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

/* Per-tile cache of the current worst distance of the members J0 + c,
 * c < ncJ (used by kms__offer_col). */
static inline void kms__knn_worst_init(const double *restrict ldist,
                                       kms_idx J0, kms_idx ncJ, kms_idx k,
                                       double *restrict worstJ)
{
    if (k > 0) {
        for (kms_idx c = 0; c < ncJ; c++) {
            worstJ[c] = ldist[(J0 + c) * k + (k - 1)];
        }
    }
}

/* Consume one row of a tile: member i against the members j0 + c, c < n,
 * at squared distances drow[c] and distances srow[c].  Adds the distances
 * to *acc (eight interleaved partial sums, combined in a fixed order, then
 * one compensated addition) and offers each pair to the lists of both
 * members.  The dense and the CSR kernels call it with the same rows in the
 * same order, so their pair sums are bit-identical. */
static inline void kms__knn_consume_row(const double *restrict drow,
                                        const double *restrict srow,
                                        kms_idx n, kms_idx j0, kms_idx i,
                                        kms_idx k, double *restrict ldist,
                                        kms_idx *restrict lpos,
                                        double *restrict worstJ,
                                        kms__ksum *acc)
{
    /* Eight interleaved partial sums: independent, so they vectorise, and
     * combined in a fixed order. */
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
        kms__offer_row(drow, n, j0, k, ldist + i * k, lpos + i * k);
        kms__offer_col(drow, n, j0, i, k, worstJ, ldist, lpos);
    }
}

/* Merge the per-thread lists into the first one and write the outputs. */
static inline void kms__knn_merge(kms_idx m, kms_idx k, int nt, double *ldist,
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

#endif /* KMSMOTE_KMS_KNN_INTERNAL_H */
