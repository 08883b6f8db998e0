/*
 * kmsmote C core (private): top-k lists and pair-sum accumulation shared by
 * the dense (kms_neighbors.c) and CSR (kms_sparse.c) neighbour kernels.
 *
 * Both kernels hand every row piece (one row against the later members of
 * one column block) to kms__knn_consume_row_screened, in an order that
 * gives every row's pieces in ascending block order, so that given
 * bit-equal expansion values they produce bit-equal pair sums; the lists
 * hold exact distances and do not depend on the order of the offers.
 */
#ifndef KMSMOTE_KMS_KNN_INTERNAL_H
#define KMSMOTE_KMS_KNN_INTERNAL_H

#include "kms_internal.h"

#if KMS_X86_DISPATCH
#include <immintrin.h>
#endif

/* Row blocks per work unit: a gathered column block serves this many row
 * blocks.  Fixed (the pair sum is accumulated per unit). */
#define KMS_KNN_SUPER 4

/* Features per pass over a tile when there are more: a chunk of a block
 * (CHUNK x LD doubles, 72 KiB) stays in the L2 cache, and a strip's
 * (4 x CHUNK values on CHUNK lines) in L1.  No result depends on it. */
#define KMS_KNN_FEATURE_CHUNK 128

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

/* Per-tile cache of the current worst distance of the members J0 + c,
 * c < ncJ (read and updated by kms__knn_consume_row_screened). */
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

/* Add the distances srow[c], c < n, to *acc: eight interleaved partial
 * sums (independent, so they vectorise), combined in a fixed order, then
 * one compensated addition.  Every kernel adds one row piece at a time,
 * in the same order, so their pair sums are bit-identical. */
static inline __attribute__((always_inline)) void
kms__knn_pair_sum(const double *restrict srow, kms_idx n, kms__ksum *acc)
{
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
}

/* ------------------------------------------------------------------------
 * Screened neighbour lists.
 *
 * The pair sum adds the distances of the norm expansion
 *
 *   e(i, j) = kms__expand(|x_j|^2, x_i . x_j, |x_i|^2)
 *
 * (norms and dot product summed over the features in ascending order, as
 * k-means does; a sparse row skips its zeros, which changes no sum), cheap
 * on both dense and CSR data.  The neighbour lists keep the exact
 * squared distances (differences summed over the features in ascending
 * order): e only screens the pairs.  Both e and the exact sum are within
 * (2n + 7) u (|x_i|^2 + |x_j|^2) and (n + 3) u d^2 <= 2 (n + 3) u
 * (|x_i|^2 + |x_j|^2) of the true squared distance (n terms per sum,
 * u = 2^-53, the classical bounds of recursive summation), plus at most
 * 2^-1075 per operation whose result is subnormal.  The margin below
 * doubles that, so a pair whose e exceeds a list's current worst entry by
 * more than the margin cannot enter that list; every other pair gets its
 * exact distance and is offered.  Where e is too small for its margin
 * (near points far from the origin: the expansion cancels), the pair sum
 * takes the exact distance too (kms__screen.exact); the decision reads
 * only e, the norms and the margin, whose number of terms both kernels
 * take from the set's non-zero values, so dense and CSR data make the
 * same one.  A top-k list under the total order
 * (distance, position) does not depend on the order of the offers, so
 * skipping pairs that cannot enter changes no list.
 */

/* Exact squared distances of member i to the members j0 + l (positions in
 * the set) for the bits l < 8 set in mask, into out[l] (the other entries
 * of out may be written too). */
typedef void (*kms__exact_fn)(const void *src, kms_idx i, kms_idx j0,
                              unsigned mask, double *out);

/* Screening margin for pairs of n terms: tol * (|x_i|^2 + |x_j|^2) + atol.
 * Terms that are exactly zero add no rounding error, so n counts the
 * non-zero ones (the kernels use twice the most non-zero values of a
 * member, at most d).
 *
 * A pair whose expansion value is below exact times its margin adds its
 * exact distance to the pair sum instead.  The expansion is within half
 * its margin of the truth, so every term of the pair sum then has a
 * relative error below 1 / (4 exact), however far the points are from the
 * origin compared with their distances: 2^-42 up to 61 terms, and beyond,
 * (n + 3) 2^-48, 32 times the worst-case bound (n + 3) u of the exact sum
 * of squared differences itself (u = 2^-53).  (A fixed 2^-42 would send
 * most pairs of wide data to the exact sum: with 768 features, every pair
 * closer than 0.9 times its points' norms.) */
typedef struct kms__screen {
    double tol;
    double atol;
    double exact;
} kms__screen;

static inline kms__screen kms__screen_init(kms_idx n_terms)
{
    kms__screen s;
    s.tol = (4.0 * (double)n_terms + 16.0) * 0x1p-52;
    s.atol = (8.0 * (double)n_terms + 16.0) * 0x1p-1074;
    s.exact = n_terms + 3 <= 64 ? 0x1p40 : 0x1p46 / (double)(n_terms + 3);
    return s;
}

/* Non-zero if one of the 8 pairs c < 8 has something to do: it may enter
 * a list, !(e[c] - mg > w) with mg = base + tol * nrmJ[c] and w the larger
 * of worst and worstJ[c], or its pair-sum term must be exact,
 * !(e[c] >= exact * mg) (NaN does both).  The same
 * operations as the per-pair tests of kms__knn_consume_row_screened, on
 * vectors. */
#if KMS_HAVE_VECTOR_EXT
typedef double kms__sv4 __attribute__((vector_size(32), aligned(8), may_alias));
typedef long long kms__sl4 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) int
kms__screen_any8(const double *restrict e, const double *restrict nrmJ,
                 const double *restrict worstJ, double worst, double base,
                 double tol, double exact)
{
    const kms__sv4 wv = (kms__sv4){0.0, 0.0, 0.0, 0.0} + worst;
    const kms__sv4 bv = (kms__sv4){0.0, 0.0, 0.0, 0.0} + base;
    const kms__sv4 tv = (kms__sv4){0.0, 0.0, 0.0, 0.0} + tol;
    const kms__sv4 kv = (kms__sv4){0.0, 0.0, 0.0, 0.0} + exact;
    kms__sl4 any = {0, 0, 0, 0};
    for (int h = 0; h < 8; h += 4) {
        const kms__sv4 ev = *(const kms__sv4 *)(e + h);
        const kms__sv4 mg = bv + tv * *(const kms__sv4 *)(nrmJ + h);
        const kms__sv4 lb = ev - mg;
        const kms__sv4 wj = *(const kms__sv4 *)(worstJ + h);
        const kms__sl4 gt = wv > wj;
        const kms__sv4 w = (kms__sv4)((gt & (kms__sl4)wv) | (~gt & (kms__sl4)wj));
        any |= ~(lb > w) | ~(ev >= kv * mg);
    }
    return (any[0] | any[1] | any[2] | any[3]) != 0;
}
#else
static inline int kms__screen_any8(const double *restrict e,
                                   const double *restrict nrmJ,
                                   const double *restrict worstJ, double worst,
                                   double base, double tol, double exact)
{
    int any = 0;
    for (int l = 0; l < 8; l++) {
        const double mg = base + tol * nrmJ[l];
        const double w = worst > worstJ[l] ? worst : worstJ[l];
        any |= !(e[l] - mg > w) | !(e[l] >= exact * mg);
    }
    return any;
}
#endif

#if KMS_X86_DISPATCH
/* kms__screen_any8 with AVX2 intrinsics (max, unordered compares, a
 * movemask): the same tests, fewer instructions. */
static inline __attribute__((always_inline, target("avx2"))) int
kms__screen_any8_avx2(const double *restrict e, const double *restrict nrmJ,
                      const double *restrict worstJ, double worst, double base,
                      double tol, double exact)
{
    const __m256d wv = _mm256_set1_pd(worst);
    const __m256d bv = _mm256_set1_pd(base);
    const __m256d tv = _mm256_set1_pd(tol);
    const __m256d kv = _mm256_set1_pd(exact);
    __m256d any = _mm256_setzero_pd();
    for (int h = 0; h < 8; h += 4) {
        const __m256d ev = _mm256_loadu_pd(e + h);
        const __m256d mg = _mm256_add_pd(bv, _mm256_mul_pd(tv, _mm256_loadu_pd(nrmJ + h)));
        const __m256d lb = _mm256_sub_pd(ev, mg);
        /* The lists' entries are never NaN, so max picks the larger. */
        const __m256d w = _mm256_max_pd(wv, _mm256_loadu_pd(worstJ + h));
        any = _mm256_or_pd(any, _mm256_cmp_pd(lb, w, _CMP_NGT_UQ));
        any = _mm256_or_pd(any, _mm256_cmp_pd(ev, _mm256_mul_pd(kv, mg), _CMP_NGE_UQ));
    }
    return _mm256_movemask_pd(any) != 0;
}
#endif

/* Consume one row of a tile by the expansion: member i (squared norm nrm_i)
 * against the members j0 + c, c < n (squared norms nrmJ[c]), at expansion
 * values erow[c] and their square roots srow[c].  For every pair that may
 * enter the list of i or of j (worst entries cached in worstJ; k = 0: no
 * lists), and every pair whose expansion is too small for its margin,
 * computes the exact squared distance with exact (up to 8 pairs per call);
 * offers the former to both lists, and makes srow[c] of the latter the
 * exact distance.  Then adds srow to *acc (kms__knn_pair_sum). */
#define KMS__CRS_NAME kms__knn_consume_row_screened
#define KMS__CRS_ANY8 kms__screen_any8
#include "templates/knn_screen.template.c"
#undef KMS__CRS_NAME
#undef KMS__CRS_ANY8

#if KMS_X86_DISPATCH
/* The same, for the AVX2 variants of the row functions. */
#define KMS__CRS_NAME kms__knn_consume_row_screened_avx2
#define KMS__CRS_ANY8 kms__screen_any8_avx2
__attribute__((target("avx2")))
#include "templates/knn_screen.template.c"
#undef KMS__CRS_NAME
#undef KMS__CRS_ANY8
#endif

/* kms__knn_consume_row_screened as a function (the dense kernel's row
 * pieces, their square roots srow already formed).  An AVX2 variant (the
 * same IEEE operations, wider) where the CPU has it. */
typedef void (*kms__screen_row_fn)(const double *erow, double *srow,
                                   kms_idx n, kms_idx j0, kms_idx i, kms_idx k,
                                   double *ldist, kms_idx *lpos, double *worstJ,
                                   kms__ksum *acc, const double *nrmJ,
                                   double nrm_i, kms__screen scr,
                                   kms__exact_fn exact, const void *src);

#define KMS__SCREEN_ROW_PARAMS                                                \
    const double *restrict erow, double *restrict srow, kms_idx n,            \
        kms_idx j0, kms_idx i, kms_idx k, double *restrict ldist,             \
        kms_idx *restrict lpos, double *restrict worstJ, kms__ksum *acc,      \
        const double *restrict nrmJ, double nrm_i, kms__screen scr,           \
        kms__exact_fn exact, const void *src

static inline void kms__screen_row_base(KMS__SCREEN_ROW_PARAMS)
{
    kms__knn_consume_row_screened(erow, srow, n, j0, i, k, ldist, lpos, worstJ,
                                  acc, nrmJ, nrm_i, scr, exact, src);
}

#if KMS_X86_DISPATCH
__attribute__((target("avx2")))
static inline void kms__screen_row_avx2(KMS__SCREEN_ROW_PARAMS)
{
    kms__knn_consume_row_screened_avx2(erow, srow, n, j0, i, k, ldist, lpos,
                                       worstJ, acc, nrmJ, nrm_i, scr, exact, src);
}
#endif

static inline kms__screen_row_fn kms__screen_row_kernel(void)
{
#if KMS_X86_DISPATCH
    if (kms__avx2_enabled()) {
        return kms__screen_row_avx2;
    }
#endif
    return kms__screen_row_base;
}

/* ------------------------------------------------------------------------
 * Several sets at once (kms_knn_sparsity_sets and its CSR twin).  one()
 * runs the single-set kernel on the set of rows starting at position off
 * of the caller's row list (m rows, k neighbours) with the given context. */
typedef int (*kms__knn_set_fn)(const void *src, kms_idx off, kms_idx m, kms_idx k,
                               kms_idx *nn, double *pair_dist_sum,
                               const kms_ctx *ctx);

/* Interrupt callback of the threads sharing the sets: stop when the flag
 * is set. */
static inline int kms__stop_flag_cb(void *data)
{
    return kms__flag_get((int *)data);
}

/* Scratch of one set, above which a set is searched by all threads in
 * turn rather than beside other sets: the sets searched side by side then
 * hold at most this much each at once. */
#define KMS_KNN_SHARED_SET_BYTES ((double)(64 << 20))

/* Checks the sets' layout, then shares them out: a set with at least its
 * thread share of the remaining pairs, or whose scratch (about row_bytes
 * per member) exceeds KMS_KNN_SHARED_SET_BYTES, gets every thread (largest
 * first), the others one thread each, largest first.  Status: that of the
 * first failing set in set order (a set stopped because another failed
 * reports the other's status). */
static inline int kms__knn_sets_run(const kms_idx *offsets, kms_idx n_sets,
                                    const kms_idx *ks, kms_idx *nn,
                                    double *pair_dist_sums, const kms_ctx *ctx,
                                    double row_bytes, kms__knn_set_fn one,
                                    const void *src)
{
    if (n_sets < 0 || offsets == NULL || (n_sets > 0 && (ks == NULL || pair_dist_sums == NULL))) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (offsets[0] != 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx s = 0; s < n_sets; s++) {
        const kms_idx m = offsets[s + 1] - offsets[s];
        if (m < 0) {
            return KMS_ERR_BAD_SHAPE;
        }
        if (ks[s] < 0 || (ks[s] > 0 && ks[s] > m - 1)) {
            return KMS_ERR_BAD_K;
        }
        if (ks[s] > 0 && nn == NULL) {
            return KMS_ERR_BAD_SHAPE;
        }
    }
    kms_idx *nn_off = malloc((size_t)(n_sets + 1) * sizeof(kms_idx));
    kms_idx *order = malloc((size_t)KMS_MAX(n_sets, 1) * sizeof(kms_idx));
    int *status = malloc((size_t)KMS_MAX(n_sets, 1) * sizeof(int));
    if (nn_off == NULL || order == NULL || status == NULL) {
        free(nn_off);
        free(order);
        free(status);
        return KMS_ERR_NOMEM;
    }
    double total = 0.0; /* pairs, as a double: only compared */
    nn_off[0] = 0;
    for (kms_idx s = 0; s < n_sets; s++) {
        const kms_idx m = offsets[s + 1] - offsets[s];
        nn_off[s + 1] = nn_off[s] + m * ks[s];
        order[s] = s;
        status[s] = KMS_OK;
        total += 0.5 * (double)m * (double)(m - 1);
    }
    /* Largest set first (insertion sort on the pair count, stable). */
    for (kms_idx a = 1; a < n_sets; a++) {
        const kms_idx s = order[a];
        const kms_idx ms = offsets[s + 1] - offsets[s];
        kms_idx b = a;
        while (b > 0 && offsets[order[b - 1] + 1] - offsets[order[b - 1]] < ms) {
            order[b] = order[b - 1];
            b--;
        }
        order[b] = s;
    }
    const int nt = kms__threads(ctx, n_sets);
    int stop = 0;
    kms_idx next = 0;
    /* Sets with at least their thread share of the remaining pairs, or too
     * large to search beside others: all threads on each in turn. */
    while (next < n_sets && !stop) {
        const kms_idx s = order[next];
        const kms_idx m = offsets[s + 1] - offsets[s];
        const double pairs = 0.5 * (double)m * (double)(m - 1);
        if (nt > 1 && pairs * (double)nt < total &&
            (double)m * row_bytes <= KMS_KNN_SHARED_SET_BYTES) {
            break;
        }
        status[s] = one(src, offsets[s], m, ks[s], nn + nn_off[s], &pair_dist_sums[s], ctx);
        stop = status[s] != KMS_OK;
        total -= pairs;
        next++;
    }
    /* The others, one thread each.  The calling thread polls the caller's
     * callback; the other threads stop when it or any set failed. */
    kms_ctx own = {1, NULL, NULL};
    if (ctx != NULL) {
        own.interrupted = ctx->interrupted;
        own.interrupt_data = ctx->interrupt_data;
    }
    kms_ctx shared = {1, kms__stop_flag_cb, &stop};
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
    for (kms_idx q = next; q < n_sets; q++) {
        const kms_idx s = order[q];
        if (kms__flag_get(&stop)) {
            continue;
        }
        const kms_idx m = offsets[s + 1] - offsets[s];
        const int st = one(src, offsets[s], m, ks[s], nn + nn_off[s], &pair_dist_sums[s],
                           KMS_THREAD_ID() == 0 ? &own : &shared);
        status[s] = st;
        if (st != KMS_OK) {
            kms__flag_set(&stop);
        }
    }
    int result = KMS_OK;
    for (kms_idx s = 0; s < n_sets && result == KMS_OK; s++) {
        result = status[s];
    }
    /* A set stopped only because another failed reports the other's
     * status, which comes first unless the other set comes later. */
    if (result == KMS_ERR_INTERRUPTED) {
        for (kms_idx s = 0; s < n_sets; s++) {
            if (status[s] != KMS_OK && status[s] != KMS_ERR_INTERRUPTED) {
                result = status[s];
                break;
            }
        }
    }
    free(nn_off);
    free(order);
    free(status);
    return result;
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
