/*
 * kmsmote C core template (private): the screened consumption of one row
 * piece by the neighbour kernels (kms__knn_consume_row_screened).
 *
 * Included by kms_knn_internal.h once plain, once for the AVX2 variants
 * (preceded by a target attribute).  Expects:
 *
 *   KMS__CRS_NAME   the function's name
 *   KMS__CRS_ANY8   its test of a block of 8 pairs
 */
#ifndef KMS__CRS_NAME
#error "knn_screen.template.c: define KMS__CRS_NAME before including this template"
#endif
#ifndef KMS__CRS_ANY8
#error "knn_screen.template.c: define KMS__CRS_ANY8 before including this template"
#endif
static inline __attribute__((always_inline)) void KMS__CRS_NAME(
    const double *restrict erow, double *restrict srow, kms_idx n, kms_idx j0,
    kms_idx i, kms_idx k, double *restrict ldist, kms_idx *restrict lpos,
    double *restrict worstJ, kms__ksum *acc, const double *restrict nrmJ,
    double nrm_i, kms__screen scr, kms__exact_fn exact, const void *src)
{
    static const double no_list[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                      -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    double *restrict dl = NULL;
    kms_idx *restrict pl = NULL;
    /* Without lists (k = 0) only the exact pair-sum terms are looked for. */
    double worst = -INFINITY;
    if (k > 0) {
        dl = ldist + i * k;
        pl = lpos + i * k;
        worst = dl[k - 1];
    }
    const double base = scr.tol * nrm_i + scr.atol;
    for (kms_idx c0 = 0; c0 < n; c0 += 8) {
        const int nl = (int)KMS_MIN((kms_idx)8, n - c0);
        const double *restrict wJ = k > 0 ? worstJ + c0 : no_list;
        if (nl == 8 && !KMS__CRS_ANY8(erow + c0, nrmJ + c0, wJ, worst, base,
                                      scr.tol, scr.exact)) {
            continue; /* most blocks of 8 hold nothing to do */
        }
        /* ex: the pairs whose expansion is too close to its error margin
         * (their pair-sum term becomes the exact distance); cand: those
         * that may enter a list under the lists' current worst entries
         * (which only decrease: a later offer never makes a new one). */
        unsigned ex = 0, cand = 0;
        for (int l = 0; l < nl; l++) {
            const double mg = base + scr.tol * nrmJ[c0 + l];
            const double e = erow[c0 + l];
            if (!(e >= scr.exact * mg)) {
                ex |= 1u << l;
            } else if (k > 0 && !(e - mg > worst && e - mg > wJ[l])) {
                cand |= 1u << l;
            }
        }
        if ((ex | cand) == 0) {
            continue;
        }
        double x[8];
        exact(src, i, j0 + c0, ex | cand, x);
        for (int l = 0; l < nl; l++) {
            if (!(((ex | cand) >> l) & 1u)) {
                continue;
            }
            const kms_idx c = c0 + l;
            const kms_idx j = j0 + c;
            if ((ex >> l) & 1u) {
                srow[c] = sqrt(x[l]);
            }
            if (k <= 0) {
                continue;
            }
            if (kms__topk_insert(dl, pl, k, x[l], j)) {
                worst = dl[k - 1];
            }
            if (kms__topk_insert(ldist + j * k, lpos + j * k, k, x[l], i)) {
                worstJ[c] = ldist[j * k + (k - 1)];
            }
        }
    }
    kms__knn_pair_sum(srow, n, acc);
}
