/*
 * kmsmote C core template: k-means on dense rows (the format hooks of
 * kmeans_driver.template.c, then the drivers and the public entry points),
 * one element type.
 *
 * Included by kms_kmeans.c, after the helpers it defines (kms__pass_ws,
 * kms__bounds, kms__nearest_block).  Expects:
 *
 *   KMS_T              element type (double or float)
 *   KMS_LOCAL(name)    name with the type suffix (static functions, types)
 *   KMS_GATHER         the row gather of this type (kms__gather_f64/_f32)
 *   KMS_FN_ASSIGN      the public names this instance defines
 *   KMS_FN_LLOYD
 *   KMS_FN_KMEANSPP
 *
 * Defines, and undefines at its end: KMS_SRC, KMS_LLOYD_BOUNDED.
 */
#ifndef KMS_T
#error "kmeans_dense.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_LOCAL
#error "kmeans_dense.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_GATHER
#error "kmeans_dense.template.c: define KMS_GATHER before including this template"
#endif
#ifndef KMS_FN_ASSIGN
#error "kmeans_dense.template.c: define KMS_FN_ASSIGN before including this template"
#endif
#ifndef KMS_FN_LLOYD
#error "kmeans_dense.template.c: define KMS_FN_LLOYD before including this template"
#endif
#ifndef KMS_FN_KMEANSPP
#error "kmeans_dense.template.c: define KMS_FN_KMEANSPP before including this template"
#endif
#ifdef KMS_SRC
#error "kmeans_dense.template.c: KMS_SRC is defined by this template; #undef it first"
#endif
#ifdef KMS_LLOYD_BOUNDED
#error "kmeans_dense.template.c: KMS_LLOYD_BOUNDED is defined by this template; #undef it first"
#endif

typedef struct KMS_LOCAL(kms__dsrc) {
    const KMS_T *X;
    kms_idx n;
    kms_idx d;
} KMS_LOCAL(kms__dsrc);

typedef kms__pass_ws KMS_LOCAL(kms__ws);

#define KMS_SRC KMS_LOCAL(kms__dsrc)

static int KMS_LOCAL(kms__src_check)(const KMS_SRC *src)
{
    (void)src; /* non-finite values are found while gathering */
    return KMS_OK;
}

static int64_t KMS_LOCAL(kms__src_work)(const KMS_SRC *src)
{
    return src->n * src->d;
}

static int KMS_LOCAL(kms__ws_alloc)(kms__pass_ws *ws, const KMS_SRC *src,
                                    kms_idx k, int with_sums, const kms_ctx *ctx)
{
    return kms__pass_ws_alloc(ws, src->n, src->d, k, with_sums, ctx);
}

static void KMS_LOCAL(kms__ws_free)(kms__pass_ws *ws)
{
    kms__pass_ws_free(ws);
}

/* The expansion distance of row x to centre c (column c of Ct, squared
 * norm cc): the operations of the strip kernels for one output. */
static inline double KMS_LOCAL(kms__own_dist)(const KMS_T *restrict x, kms_idx d,
                                              const double *restrict Ct,
                                              kms_idx kp, kms_idx c, double cc)
{
    double xx = 0.0, dot = 0.0;
    for (kms_idx f = 0; f < d; f++) {
        const double v = (double)x[f];
        xx += v * v;
        dot += Ct[f * kp + c] * v;
    }
    return kms__expand(xx, dot, cc);
}

/* Assignment of rows [r0, r1) (one chunk).  Writes labels and, if not
 * NULL, dist2.  If count_changes, *changed counts rows whose label differs
 * from the one already in labels.  If sums is not NULL, sums (k x d) and
 * counts (k) receive the sums of the rows (in row order) and the row
 * counts per label.  *inertia receives the sum of the squared distances in
 * row order.  Returns non-zero if a NaN or infinity was met in X.
 *
 * With bounds (bnd not NULL, see kms__bounds), a row whose bounds prove
 * that its label stays is skipped (counted in *skipped; none while
 * bnd->valid == 0); the others are assigned in row order, gathered through
 * a row list, and get new bounds.  A skipped row's dist2 is written, and
 * *inertia sums every row, only if bnd->own (dist2 must then be given):
 * its distance to its centre alone, by the same operations.  If keep and
 * no label changed, sums and counts are left alone and *kept set (the
 * caller holds the chunk's sums for these labels already). */
static int KMS_LOCAL(kms__assign_chunk)(kms__dnearest_fn nearest_fn,
                                      const KMS_T *restrict X, kms_idx d,
                                      kms_idx r0, kms_idx r1,
                                      const double *restrict Ct,
                                      const double *restrict cn, kms_idx k,
                                      kms_idx *restrict labels,
                                      double *restrict dist2,
                                      int count_changes,
                                      double *restrict sums,
                                      kms_idx *restrict counts,
                                      kms_idx *changed, double *inertia,
                                      kms_idx *skipped, kms__bounds *bnd,
                                      int keep, int *kept,
                                      double *restrict scratch)
{
    double *restrict At = scratch;
    double *restrict xx = At + d * KMS_GATHER_LD;
    double *restrict best = xx + KMS_BLOCK;
    double *restrict bestc = best + KMS_BLOCK;
    double *restrict second = bnd != NULL ? bestc + KMS_BLOCK : NULL;
    kms_idx *restrict list = (kms_idx *)(bestc + 2 * KMS_BLOCK);
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    int bad = 0;
    kms_idx chg = 0, skip = 0, nl = 0;
    double in = 0.0;

    for (kms_idx i = r0; i < r1; i++) {
        if (bnd != NULL && bnd->valid && kms__bounds_skip(bnd, i, labels[i])) {
            skip++;
            if (bnd->own) {
                dist2[i] = KMS_LOCAL(kms__own_dist)(X + i * d, d, Ct, kp, labels[i],
                                                    cn[labels[i]]);
            }
        } else {
            list[nl++] = i;
        }
        if (nl == KMS_BLOCK || (i == r1 - 1 && nl > 0)) {
            /* Without skipped rows the list is a run of rows: read it as one. */
            const int run = list[nl - 1] - list[0] == nl - 1;
            bad |= KMS_GATHER(X, d, run ? NULL : list, list[0], nl, At, KMS_GATHER_LD, xx);
            kms__nearest_block(nearest_fn, At, xx, nl, d, Ct, cn, k, kp, best,
                               bestc, second);
            for (kms_idx r = 0; r < nl; r++) {
                const kms_idx row = list[r];
                const kms_idx c = (kms_idx)bestc[r];
                if (count_changes) {
                    chg += labels[row] != c;
                }
                labels[row] = c;
                if (dist2 != NULL) {
                    dist2[row] = best[r];
                }
                in += best[r];
                if (bnd != NULL) {
                    kms__bounds_set(bnd, row, best[r], second[r]);
                }
            }
            nl = 0;
        }
    }
    if (bnd != NULL && bnd->own) {
        in = 0.0;
        for (kms_idx i = r0; i < r1; i++) {
            in += dist2[i];
        }
    }
    *kept = keep && count_changes && chg == 0;
    if (sums != NULL && !*kept) {
        memset(sums, 0, (size_t)(k * d) * sizeof(double));
        memset(counts, 0, (size_t)k * sizeof(kms_idx));
        for (kms_idx i = r0; i < r1; i++) {
            const KMS_T *restrict x = X + i * d;
            double *restrict s = sums + labels[i] * d;
            for (kms_idx f = 0; f < d; f++) {
                s[f] += (double)x[f];
            }
            counts[labels[i]]++;
        }
    }
    *changed = chg;
    *inertia = in;
    *skipped = skip;
    return bad;
}

/* The assignment pass over every chunk (kms__assign_chunk, with bounds
 * if bnd is not NULL, *skipped_tot receiving the skipped rows).  When all
 * chunks fit in one wave, their slots outlive the pass: a bounded pass
 * keeps the sums and counts of a chunk where no label changed. */
static int KMS_LOCAL(kms__bounded_pass)(const KMS_SRC *src, const double *Ct,
                                        const double *cn, kms_idx k,
                                        kms_idx *labels, double *dist2,
                                        int count_changes, double *sums_tot,
                                        kms_idx *counts_tot, kms_idx *changed_tot,
                                        double *inertia_tot, kms__bounds *bnd,
                                        kms_idx *skipped_tot, kms__pass_ws *ws,
                                        kms__poller *poller)
{
    const KMS_T *X = src->X;
    const kms_idx n = src->n, d = src->d;
    const kms_idx n_chunks = (n + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const kms_idx kd = k * d;
    const int nt = ws->nt;
    (void)nt; /* read by the OpenMP pragmas only */
    const kms__dnearest_fn nearest_fn = kms__dnearest_kernel();
    kms__ksum inertia = {0.0, 0.0};
    kms_idx changed = 0, skipped = 0;
    int nonfinite = 0;
    int stop = 0;

    if (sums_tot != NULL) {
        memset(sums_tot, 0, (size_t)kd * sizeof(double));
        memset(counts_tot, 0, (size_t)k * sizeof(kms_idx));
    }
    const int keep = sums_tot != NULL && ws->slots_current && ws->wave >= n_chunks;
    ws->slots_current = 0;
    for (kms_idx w0 = 0; w0 < n_chunks; w0 += ws->wave) {
        const kms_idx nw = KMS_MIN(ws->wave, n_chunks - w0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1) \
    reduction(| : nonfinite)
#endif
        for (kms_idx s = 0; s < nw; s++) {
            const kms_idx ch = w0 + s;
            const kms_idx r0 = ch * KMS_CHUNK_ROWS;
            const kms_idx r1 = KMS_MIN(n, r0 + KMS_CHUNK_ROWS);
            const int tid = KMS_THREAD_ID();
            if (kms__flag_get(&stop)) {
                continue;
            }
            if (tid == 0 && kms__poll(poller, (r1 - r0) * (k * d + 1))) {
                kms__flag_set(&stop);
                continue;
            }
            double *scratch = ws->scratch + (kms_idx)tid * ws->per_thread;
            /* The chunk accumulates in thread-private memory (no false
             * sharing), then lands in its slot for the ordered merge. */
            double *ls = NULL;
            kms_idx *lc = NULL;
            if (sums_tot != NULL) {
                ls = scratch + KMS__PASS_SCRATCH(d);
                lc = (kms_idx *)(ls + kd);
            }
            kms_idx chg = 0, skip = 0;
            double in = 0.0;
            int kept = 0;
            nonfinite |= KMS_LOCAL(kms__assign_chunk)(
                nearest_fn, X, d, r0, r1, Ct, cn, k, labels, dist2, count_changes,
                ls, lc, &chg, &in, &skip, bnd, keep, &kept, scratch);
            ws->slot_changed[s] = chg;
            ws->slot_skipped[s] = skip;
            ws->slot_inertia[s] = in;
            if (sums_tot != NULL && !kept) {
                memcpy(ws->slot_sums + s * kd, ls, (size_t)kd * sizeof(double));
                memcpy(ws->slot_counts + s * k, lc, (size_t)k * sizeof(kms_idx));
            }
        }
        /* The calling thread polls at the end of every wave too: in a
         * short pass on shared CPUs the other threads may have taken every
         * chunk. */
        if (!stop && kms__poll(poller, 0)) {
            stop = 1;
        }
        /* Before the merge: the chunks skipped after a stop left their
         * slots unwritten. */
        if (nonfinite) {
            return KMS_ERR_NONFINITE;
        }
        if (stop) {
            return KMS_ERR_INTERRUPTED;
        }
        for (kms_idx s = 0; s < nw; s++) {
            changed += ws->slot_changed[s];
            skipped += ws->slot_skipped[s];
            kms__ksum_add(&inertia, ws->slot_inertia[s]);
            if (sums_tot != NULL) {
                const double *restrict ss = ws->slot_sums + s * kd;
                const kms_idx *restrict sc = ws->slot_counts + s * k;
                for (kms_idx q = 0; q < kd; q++) {
                    sums_tot[q] += ss[q];
                }
                for (kms_idx c = 0; c < k; c++) {
                    counts_tot[c] += sc[c];
                }
            }
        }
    }
    if (changed_tot != NULL) {
        *changed_tot = changed;
    }
    if (inertia_tot != NULL) {
        *inertia_tot = kms__ksum_value(&inertia);
    }
    if (skipped_tot != NULL) {
        *skipped_tot = skipped;
    }
    ws->slots_current = sums_tot != NULL && ws->wave >= n_chunks;
    return KMS_OK;
}

static int KMS_LOCAL(kms__assign_pass)(const KMS_SRC *src, const double *Ct,
                                       const double *cn, kms_idx k,
                                       kms_idx *labels, double *dist2,
                                       int count_changes, double *sums_tot,
                                       kms_idx *counts_tot, kms_idx *changed_tot,
                                       double *inertia_tot, kms__pass_ws *ws,
                                       kms__poller *poller)
{
    return KMS_LOCAL(kms__bounded_pass)(src, Ct, cn, k, labels, dist2, count_changes,
                                        sums_tot, counts_tot, changed_tot,
                                        inertia_tot, NULL, NULL, ws, poller);
}

/* Upper bound of the rows' squared norms (summed in feature order). */
static double KMS_LOCAL(kms__max_sqnorm)(const KMS_SRC *src, int nt)
{
    const KMS_T *X = src->X;
    const kms_idx n = src->n, d = src->d;
    double mx = 0.0;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) \
    reduction(max : mx)
#endif
    for (kms_idx i = 0; i < n; i++) {
        const KMS_T *restrict x = X + i * d;
        double v = 0.0;
        for (kms_idx f = 0; f < d; f++) {
            v += (double)x[f] * (double)x[f];
        }
        mx = v > mx ? v : mx;
    }
    return mx;
}

static void KMS_LOCAL(kms__row_sub)(const KMS_SRC *src, kms_idx i,
                                    double *restrict s)
{
    const KMS_T *restrict x = src->X + i * src->d;
    for (kms_idx f = 0; f < src->d; f++) {
        s[f] -= (double)x[f];
    }
}

static void KMS_LOCAL(kms__row_set)(const KMS_SRC *src, kms_idx i,
                                    double *restrict s)
{
    const KMS_T *restrict x = src->X + i * src->d;
    for (kms_idx f = 0; f < src->d; f++) {
        s[f] = (double)x[f];
    }
}

static void KMS_LOCAL(kms__row_copy)(const KMS_SRC *src, kms_idx i,
                                     KMS_T *restrict dst)
{
    memcpy(dst, src->X + i * src->d, (size_t)src->d * sizeof(KMS_T));
}

static void KMS_LOCAL(kms__row_to_col)(const KMS_SRC *src, kms_idx i,
                                       double *restrict P, kms_idx ld)
{
    const KMS_T *restrict x = src->X + i * src->d;
    for (kms_idx f = 0; f < src->d; f++) {
        P[f * ld] = (double)x[f];
    }
}

static void KMS_LOCAL(kms__col_clear)(const KMS_SRC *src, kms_idx i, double *P,
                                      kms_idx ld)
{
    (void)src; /* row_to_col writes every feature */
    (void)i;
    (void)P;
    (void)ld;
}

/* k-means++ weight of row i: closest[i], lowered to the squared distance
 * to prev (d doubles, squared norm prevn) if prev is not NULL.  The same
 * operations, in the same order, as the strip kernel, so the value is
 * bit-identical to the one the next pass stores. */
static double KMS_LOCAL(kms__pp_weight)(const KMS_SRC *src, kms_idx i,
                                        const double *restrict closest,
                                        const double *restrict prev, double prevn)
{
    double w = closest[i];
    if (prev != NULL) {
        const KMS_T *restrict x = src->X + i * src->d;
        double xx = 0.0, dot = 0.0;
        for (kms_idx f = 0; f < src->d; f++) {
            const double v = (double)x[f];
            xx += v * v;
            dot += prev[f] * v;
        }
        const double acc = kms__expand(xx, dot, prevn);
        w = acc < w ? acc : w;
    }
    return w;
}

static kms_idx KMS_LOCAL(kms__pp_per_thread)(const KMS_SRC *src, kms_idx ldp)
{
    (void)ldp;
    /* At (d x GATHER_LD), xx (BLOCK), strip (NP x BLOCK). */
    return src->d * KMS_GATHER_LD + (1 + KMS_DIST_NP) * KMS_BLOCK;
}

static int KMS_LOCAL(kms__pp_first_chunk)(const KMS_SRC *src, kms_idx r0,
                                          kms_idx r1, const double *Qt,
                                          const double *qn, double *closest,
                                          double *tot, double *scratch)
{
    const kms_idx d = src->d;
    const kms__dstrip_fn strip_fn = kms__dstrip_kernel();
    double *At = scratch;
    double *xx = At + d * KMS_GATHER_LD;
    double *strip = xx + KMS_BLOCK;
    double acc = 0.0;
    int bad = 0;
    for (kms_idx b0 = r0; b0 < r1; b0 += KMS_BLOCK) {
        const kms_idx nr = KMS_MIN(KMS_BLOCK, r1 - b0);
        bad |= KMS_GATHER(src->X, d, NULL, b0, nr, At, KMS_GATHER_LD, xx);
        strip_fn(Qt, KMS_DIST_NP, qn, At, KMS_GATHER_LD, xx, d, nr, strip, KMS_BLOCK);
        for (kms_idx r = 0; r < nr; r++) {
            closest[b0 + r] = strip[r];
            acc += strip[r];
        }
    }
    *tot = acc;
    return bad;
}

static void KMS_LOCAL(kms__pp_cand_chunk)(const KMS_SRC *src, kms_idx r0,
                                          kms_idx r1, int lagging,
                                          const double *Qt, const double *qn,
                                          const double *Pt, const double *pn,
                                          kms_idx ldp, kms_idx nlt,
                                          double *closest, double *restrict pp,
                                          double *scratch)
{
    const kms_idx d = src->d;
    const kms__dstrip_fn strip_fn = kms__dstrip_kernel();
    double *At = scratch;
    double *xx = At + d * KMS_GATHER_LD;
    double *strip = xx + KMS_BLOCK;
    for (kms_idx t = 0; t < nlt; t++) {
        pp[t] = 0.0;
    }
    for (kms_idx b0 = r0; b0 < r1; b0 += KMS_BLOCK) {
        const kms_idx nr = KMS_MIN(KMS_BLOCK, r1 - b0);
        double *restrict cl = closest + b0;
        KMS_GATHER(src->X, d, NULL, b0, nr, At, KMS_GATHER_LD, xx);
        if (lagging) {
            strip_fn(Qt, KMS_DIST_NP, qn, At, KMS_GATHER_LD, xx, d, nr, strip,
                     KMS_BLOCK);
            for (kms_idx r = 0; r < nr; r++) {
                cl[r] = strip[r] < cl[r] ? strip[r] : cl[r];
            }
        }
        for (kms_idx t0 = 0; t0 < nlt; t0 += KMS_DIST_NP) {
            strip_fn(Pt + t0, ldp, pn + t0, At, KMS_GATHER_LD, xx, d, nr, strip,
                     KMS_BLOCK);
            /* Each candidate's sum runs in row order; the candidates'
             * chains are interleaved. */
            const int nc = (int)KMS_MIN((kms_idx)KMS_DIST_NP, nlt - t0);
            double acc[KMS_DIST_NP];
            for (int q = 0; q < KMS_DIST_NP; q++) {
                acc[q] = q < nc ? pp[t0 + q] : 0.0;
            }
            for (kms_idx r = 0; r < nr; r++) {
                const double w = cl[r];
                for (int q = 0; q < KMS_DIST_NP; q++) {
                    const double sv = strip[q * KMS_BLOCK + r];
                    acc[q] += sv < w ? sv : w;
                }
            }
            for (int q = 0; q < nc; q++) {
                pp[t0 + q] = acc[q];
            }
        }
    }
}

#define KMS_LLOYD_BOUNDED 1
#include "kmeans_driver.template.c"
#undef KMS_LLOYD_BOUNDED
#undef KMS_SRC

int KMS_FN_ASSIGN(const KMS_T *X, kms_idx n, kms_idx d,
                  const KMS_T *centers, kms_idx k,
                  kms_idx *labels, double *dist2, const kms_ctx *ctx)
{
    if (n < 0 || d < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (k < 1) {
        return KMS_ERR_BAD_K;
    }
    if (n == 0) {
        return KMS_OK;
    }
    if (X == NULL || centers == NULL || labels == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_LOCAL(kms__dsrc) src = {X, n, d};
    return KMS_LOCAL(kms__assign_drv)(&src, centers, k, labels, dist2, ctx);
}

int KMS_FN_LLOYD(const KMS_T *X, kms_idx n, kms_idx d, kms_idx k,
                 KMS_T *centers, int max_iter, double tol,
                 kms_idx *labels, double *inertia, int *n_iter,
                 const kms_ctx *ctx)
{
    if (n < 0 || d < 0 || max_iter < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (k < 1 || k > n) {
        return KMS_ERR_BAD_K;
    }
    if (X == NULL || centers == NULL || labels == NULL || inertia == NULL ||
        n_iter == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_LOCAL(kms__dsrc) src = {X, n, d};
    return KMS_LOCAL(kms__lloyd_drv)(&src, k, centers, max_iter, tol, labels,
                                     inertia, n_iter, ctx);
}

int KMS_FN_KMEANSPP(const KMS_T *X, kms_idx n, kms_idx d, kms_idx k,
                    kms_idx n_local_trials, uint64_t seed,
                    KMS_T *centers, const kms_ctx *ctx)
{
    if (n < 0 || d < 0 || n_local_trials < 1) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (k < 1 || k > n) {
        return KMS_ERR_BAD_K;
    }
    if (X == NULL || centers == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_LOCAL(kms__dsrc) src = {X, n, d};
    return KMS_LOCAL(kms__kmeanspp_drv)(&src, k, n_local_trials, seed, centers,
                                        ctx);
}
