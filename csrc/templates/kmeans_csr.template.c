/*
 * kmsmote C core template: k-means on CSR rows (the format hooks of
 * kmeans_driver.template.c, then the drivers and the public entry points),
 * one element type and one index type.
 *
 * Included by kms_sparse.c, after csr_index.template.c and
 * csr_values.template.c of the same types.  Expects:
 *
 *   KMS_T                 element type (double or float)
 *   KMS_I                 index type (int32_t or int64_t)
 *   KMS_LOCAL(name)       name with the element and index suffix (the
 *                         file's static functions and types)
 *   KMS_ILOCAL(name)      name with the index suffix (csr_index's helpers)
 *   KMS_FN_CSR_ASSIGN     the public names this instance defines
 *   KMS_FN_CSR_LLOYD
 *   KMS_FN_CSR_KMEANSPP
 *
 * Defines, and undefines at its end: KMS_SRC, KMS_LLOYD_BOUNDED.
 */
#ifndef KMS_T
#error "kmeans_csr.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_I
#error "kmeans_csr.template.c: define KMS_I before including this template"
#endif
#ifndef KMS_LOCAL
#error "kmeans_csr.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_ILOCAL
#error "kmeans_csr.template.c: define KMS_ILOCAL before including this template"
#endif
#ifndef KMS_FN_CSR_ASSIGN
#error "kmeans_csr.template.c: define KMS_FN_CSR_ASSIGN before including this template"
#endif
#ifndef KMS_FN_CSR_LLOYD
#error "kmeans_csr.template.c: define KMS_FN_CSR_LLOYD before including this template"
#endif
#ifndef KMS_FN_CSR_KMEANSPP
#error "kmeans_csr.template.c: define KMS_FN_CSR_KMEANSPP before including this template"
#endif
#ifdef KMS_SRC
#error "kmeans_csr.template.c: KMS_SRC is defined by this template; #undef it first"
#endif
#ifdef KMS_LLOYD_BOUNDED
#error "kmeans_csr.template.c: KMS_LLOYD_BOUNDED is defined by this template; #undef it first"
#endif

typedef struct KMS_LOCAL(kms__csrc) {
    const KMS_T *data;
    const KMS_I *indices;
    const KMS_I *indptr;
    kms_idx n;
    kms_idx d;
    const kms_ctx *ctx;
} KMS_LOCAL(kms__csrc);

/* Work space of the assignment pass.  A chunk adds its rows into its
 * thread's k x d buffer, then moves the cells it touched, as (cell, sum)
 * pairs, into its slot; the slots of a wave of chunks are merged into the
 * totals in chunk order once the wave is done. */
typedef struct KMS_LOCAL(kms__ws) {
    int nt;                /* threads */
    kms_idx per_thread;    /* doubles of thread scratch */
    double *scratch;       /* nt * per_thread: acc (kp), sums (k x d), counts (k) */
    kms_idx cap;           /* stored entries of the largest chunk */
    kms_idx *touched;      /* nt * cap: cells a chunk added to */
    kms_idx wave;          /* chunks per wave (slots) */
    kms_idx *slot_cell;    /* wave * cap */
    double *slot_val;      /* wave * cap */
    kms_idx *slot_len;     /* wave */
    kms_idx *slot_counts;  /* wave * k */
    kms_idx *slot_changed; /* wave */
    double *slot_inertia;  /* wave */
} KMS_LOCAL(kms__ws);

#define KMS_SRC KMS_LOCAL(kms__csrc)

static int KMS_LOCAL(kms__src_check)(const KMS_SRC *src)
{
    if (KMS_ILOCAL(kms__csr_bad_struct)(src->indices, src->indptr, src->n, src->d,
                                        NULL, src->n, NULL, src->ctx)) {
        return KMS_ERR_BAD_CSR;
    }
    if (KMS_LOCAL(kms__csr_nonfinite)(src->data, src->indptr, NULL, src->n,
                                      src->ctx)) {
        return KMS_ERR_NONFINITE;
    }
    return KMS_OK;
}

static int64_t KMS_LOCAL(kms__src_work)(const KMS_SRC *src)
{
    return (int64_t)src->indptr[src->n] + src->n;
}

static void KMS_LOCAL(kms__ws_free)(KMS_LOCAL(kms__ws) *ws)
{
    free(ws->scratch);
    free(ws->touched);
    free(ws->slot_cell);
    free(ws->slot_val);
    free(ws->slot_len);
    free(ws->slot_counts);
    free(ws->slot_changed);
    free(ws->slot_inertia);
}

static int KMS_LOCAL(kms__ws_alloc)(KMS_LOCAL(kms__ws) *ws, const KMS_SRC *src,
                                    kms_idx k, int with_sums, const kms_ctx *ctx)
{
    const kms_idx n = src->n, d = src->d;
    const kms_idx n_chunks = (n + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    memset(ws, 0, sizeof(*ws));
    ws->nt = kms__threads(ctx, n_chunks);
    ws->per_thread = kp;
    ws->wave = KMS_MAX((kms_idx)1, n_chunks);
    if (with_sums) {
        /* The structure was checked: spans are non-negative. */
        for (kms_idx ch = 0; ch < n_chunks; ch++) {
            const kms_idx r0 = ch * KMS_CHUNK_ROWS;
            const kms_idx r1 = KMS_MIN(n, r0 + KMS_CHUNK_ROWS);
            ws->cap = KMS_MAX(ws->cap, (kms_idx)src->indptr[r1] - (kms_idx)src->indptr[r0]);
        }
        ws->cap = KMS_MAX(ws->cap, (kms_idx)1);
        /* As few waves as the slot memory bound allows (each ends in a
         * barrier), at least one chunk per thread. */
        const kms_idx fit = (kms_idx)(KMS_CSR_SLOT_BYTES / (size_t)(16 * ws->cap));
        ws->wave = KMS_MIN(ws->wave, KMS_MAX(fit, (kms_idx)ws->nt));
        ws->per_thread += k * d + k;
        ws->touched = malloc((size_t)ws->nt * (size_t)ws->cap * sizeof(kms_idx));
        ws->slot_cell = malloc((size_t)ws->wave * (size_t)ws->cap * sizeof(kms_idx));
        ws->slot_val = malloc((size_t)ws->wave * (size_t)ws->cap * sizeof(double));
        ws->slot_len = malloc((size_t)ws->wave * sizeof(kms_idx));
        ws->slot_counts = malloc((size_t)ws->wave * (size_t)k * sizeof(kms_idx));
        if (ws->touched == NULL || ws->slot_cell == NULL || ws->slot_val == NULL ||
            ws->slot_len == NULL || ws->slot_counts == NULL) {
            return KMS_ERR_NOMEM;
        }
    }
    ws->slot_changed = malloc((size_t)ws->wave * sizeof(kms_idx));
    ws->slot_inertia = malloc((size_t)ws->wave * sizeof(double));
    /* A gap between the threads' regions keeps them off each other's
     * cache lines; the sums start (and are kept) at zero. */
    ws->per_thread = kms__round_up(ws->per_thread, 8) + 16;
    ws->scratch = calloc((size_t)ws->nt * (size_t)ws->per_thread, sizeof(double));
    if (ws->scratch == NULL || ws->slot_changed == NULL || ws->slot_inertia == NULL) {
        return KMS_ERR_NOMEM;
    }
    return KMS_OK;
}

/* Dot products of CSR row i with the kp centres of Ct (feature-major,
 * leading dimension kp, a multiple of KMS_DIST_NP): acc[c] = x.c over the
 * stored entries in column order, vectorised across the centres, 8 at a
 * time in registers; returns ||x||^2. */
static inline double KMS_LOCAL(kms__row_dots)(const KMS_SRC *src, kms_idx i,
                                              const double *restrict Ct,
                                              kms_idx kp, double *restrict acc)
{
    const KMS_T *restrict data = src->data;
    const KMS_I *restrict ind = src->indices;
    const kms_idx e0 = (kms_idx)src->indptr[i], e1 = (kms_idx)src->indptr[i + 1];
    double xx = 0.0;
    for (kms_idx e = e0; e < e1; e++) {
        const double v = (double)data[e];
        xx += v * v;
    }
    kms_idx g = 0;
    for (; g + 8 <= kp; g += 8) {
        double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        for (kms_idx e = e0; e < e1; e++) {
            const double v = (double)data[e];
            const double *restrict ct = Ct + (kms_idx)ind[e] * kp + g;
            for (int c = 0; c < 8; c++) {
                a[c] += v * ct[c];
            }
        }
        for (int c = 0; c < 8; c++) {
            acc[g + c] = a[c];
        }
    }
    if (g < kp) { /* kp % 8 == 4 */
        double a[4] = {0.0, 0.0, 0.0, 0.0};
        for (kms_idx e = e0; e < e1; e++) {
            const double v = (double)data[e];
            const double *restrict ct = Ct + (kms_idx)ind[e] * kp + g;
            for (int c = 0; c < 4; c++) {
                a[c] += v * ct[c];
            }
        }
        for (int c = 0; c < 4; c++) {
            acc[g + c] = a[c];
        }
    }
    return xx;
}

static int KMS_LOCAL(kms__assign_pass)(const KMS_SRC *src, const double *Ct,
                                       const double *cn, kms_idx k,
                                       kms_idx *labels, double *dist2,
                                       int count_changes, double *sums_tot,
                                       kms_idx *counts_tot, kms_idx *changed_tot,
                                       double *inertia_tot, KMS_LOCAL(kms__ws) *ws,
                                       kms__poller *poller)
{
    const kms_idx n = src->n, d = src->d;
    const kms_idx n_chunks = (n + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const kms_idx kd = k * d;
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    const kms_idx cap = ws->cap;
    const int nt = ws->nt;
    (void)nt; /* read by the OpenMP pragmas only */
    const KMS_T *restrict data = src->data;
    const KMS_I *restrict ind = src->indices;
    const KMS_I *restrict indptr = src->indptr;
    kms__ksum inertia = {0.0, 0.0};
    kms_idx changed = 0;
    int stop = 0;

    if (sums_tot != NULL) {
        memset(sums_tot, 0, (size_t)kd * sizeof(double));
        memset(counts_tot, 0, (size_t)k * sizeof(kms_idx));
    }
    for (kms_idx w0 = 0; w0 < n_chunks; w0 += ws->wave) {
        const kms_idx nw = KMS_MIN(ws->wave, n_chunks - w0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
        for (kms_idx s = 0; s < nw; s++) {
            const kms_idx r0 = (w0 + s) * KMS_CHUNK_ROWS;
            const kms_idx r1 = KMS_MIN(n, r0 + KMS_CHUNK_ROWS);
            const int tid = KMS_THREAD_ID();
            if (kms__flag_get(&stop)) {
                continue;
            }
            if (tid == 0 &&
                kms__poll(poller, ((kms_idx)indptr[r1] - (kms_idx)indptr[r0]) * kp +
                                      (r1 - r0) * k)) {
                kms__flag_set(&stop);
                continue;
            }
            double *restrict acc = ws->scratch + (kms_idx)tid * ws->per_thread;
            double *restrict ls = acc + kp;
            kms_idx *restrict lc = (kms_idx *)(ls + kd);
            kms_idx *restrict tl = sums_tot != NULL ? ws->touched + (kms_idx)tid * cap
                                                    : NULL;
            kms_idx n_touched = 0;
            kms_idx chg = 0;
            double in = 0.0;
            for (kms_idx i = r0; i < r1; i++) {
                const double xx = KMS_LOCAL(kms__row_dots)(src, i, Ct, kp, acc);
                double bd = kms__expand(xx, acc[0], cn[0]);
                kms_idx c = 0;
                for (kms_idx q = 1; q < k; q++) {
                    const double dv = kms__expand(xx, acc[q], cn[q]);
                    if (dv < bd) {
                        bd = dv;
                        c = q;
                    }
                }
                if (count_changes) {
                    chg += labels[i] != c;
                }
                labels[i] = c;
                if (dist2 != NULL) {
                    dist2[i] = bd;
                }
                in += bd;
                if (sums_tot != NULL) {
                    double *restrict sc = ls + c * d;
                    for (kms_idx e = (kms_idx)indptr[i]; e < (kms_idx)indptr[i + 1];
                         e++) {
                        const kms_idx f = (kms_idx)ind[e];
                        sc[f] += (double)data[e];
                        tl[n_touched++] = c * d + f;
                    }
                    lc[c]++;
                }
            }
            ws->slot_changed[s] = chg;
            ws->slot_inertia[s] = in;
            if (sums_tot != NULL) {
                /* The touched cells' sums move to the slot and the buffer
                 * returns to zero.  A cell listed twice, or whose sum is 0,
                 * would add +0 to the total (never -0): it is left out. */
                kms_idx *restrict scell = ws->slot_cell + s * cap;
                double *restrict sval = ws->slot_val + s * cap;
                kms_idx len = 0;
                for (kms_idx q = 0; q < n_touched; q++) {
                    const kms_idx cell = tl[q];
                    const double v = ls[cell];
                    if (v != 0.0) {
                        scell[len] = cell;
                        sval[len] = v;
                        len++;
                        ls[cell] = 0.0;
                    }
                }
                ws->slot_len[s] = len;
                for (kms_idx c = 0; c < k; c++) {
                    ws->slot_counts[s * k + c] = lc[c];
                    lc[c] = 0;
                }
            }
        }
        /* The calling thread polls at the end of every wave too: in a
         * short pass on shared CPUs the other threads may have taken every
         * chunk. */
        if (stop || kms__poll(poller, 0)) {
            return KMS_ERR_INTERRUPTED;
        }
        /* Chunk order. */
        for (kms_idx s = 0; s < nw; s++) {
            changed += ws->slot_changed[s];
            kms__ksum_add(&inertia, ws->slot_inertia[s]);
            if (sums_tot != NULL) {
                const kms_idx *restrict scell = ws->slot_cell + s * cap;
                const double *restrict sval = ws->slot_val + s * cap;
                for (kms_idx q = 0; q < ws->slot_len[s]; q++) {
                    sums_tot[scell[q]] += sval[q];
                }
                for (kms_idx c = 0; c < k; c++) {
                    counts_tot[c] += ws->slot_counts[s * k + c];
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
    return KMS_OK;
}

static void KMS_LOCAL(kms__row_sub)(const KMS_SRC *src, kms_idx i,
                                    double *restrict s)
{
    for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1]; e++) {
        s[(kms_idx)src->indices[e]] -= (double)src->data[e];
    }
}

static void KMS_LOCAL(kms__row_set)(const KMS_SRC *src, kms_idx i,
                                    double *restrict s)
{
    memset(s, 0, (size_t)src->d * sizeof(double));
    for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1]; e++) {
        s[(kms_idx)src->indices[e]] = (double)src->data[e];
    }
}

static void KMS_LOCAL(kms__row_copy)(const KMS_SRC *src, kms_idx i,
                                     KMS_T *restrict dst)
{
    for (kms_idx f = 0; f < src->d; f++) {
        dst[f] = (KMS_T)0;
    }
    for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1]; e++) {
        dst[(kms_idx)src->indices[e]] = src->data[e];
    }
}

static void KMS_LOCAL(kms__row_to_col)(const KMS_SRC *src, kms_idx i,
                                       double *restrict P, kms_idx ld)
{
    for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1]; e++) {
        P[(kms_idx)src->indices[e] * ld] = (double)src->data[e];
    }
}

static void KMS_LOCAL(kms__col_clear)(const KMS_SRC *src, kms_idx i,
                                      double *restrict P, kms_idx ld)
{
    for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1]; e++) {
        P[(kms_idx)src->indices[e] * ld] = 0.0;
    }
}

static double KMS_LOCAL(kms__pp_weight)(const KMS_SRC *src, kms_idx i,
                                        const double *restrict closest,
                                        const double *restrict prev, double prevn)
{
    double w = closest[i];
    if (prev != NULL) {
        double xx = 0.0, dot = 0.0;
        for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1];
             e++) {
            const double v = (double)src->data[e];
            xx += v * v;
            dot += prev[(kms_idx)src->indices[e]] * v;
        }
        const double acc = kms__expand(xx, dot, prevn);
        w = acc < w ? acc : w;
    }
    return w;
}

static kms_idx KMS_LOCAL(kms__pp_per_thread)(const KMS_SRC *src, kms_idx ldp)
{
    (void)src;
    return ldp + 8; /* the candidates' dot products, and a gap */
}

static int KMS_LOCAL(kms__pp_first_chunk)(const KMS_SRC *src, kms_idx r0,
                                          kms_idx r1, const double *Qt,
                                          const double *qn, double *closest,
                                          double *tot, double *scratch)
{
    double acc = 0.0;
    (void)scratch;
    for (kms_idx i = r0; i < r1; i++) {
        double xx = 0.0, dot = 0.0;
        for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1];
             e++) {
            const double v = (double)src->data[e];
            xx += v * v;
            dot += v * Qt[(kms_idx)src->indices[e] * KMS_DIST_NP];
        }
        const double w = kms__expand(xx, dot, qn[0]);
        closest[i] = w;
        acc += w;
    }
    *tot = acc;
    return 0; /* values were checked by kms__src_check */
}

static void KMS_LOCAL(kms__pp_cand_chunk)(const KMS_SRC *src, kms_idx r0,
                                          kms_idx r1, int lagging,
                                          const double *Qt, const double *qn,
                                          const double *Pt, const double *pn,
                                          kms_idx ldp, kms_idx nlt,
                                          double *closest, double *restrict pp,
                                          double *scratch)
{
    const KMS_T *restrict data = src->data;
    const KMS_I *restrict ind = src->indices;
    double *restrict acc = scratch;
    for (kms_idx t = 0; t < nlt; t++) {
        pp[t] = 0.0;
    }
    for (kms_idx i = r0; i < r1; i++) {
        double xx = 0.0, dq = 0.0;
        for (kms_idx t = 0; t < ldp; t++) {
            acc[t] = 0.0;
        }
        for (kms_idx e = (kms_idx)src->indptr[i]; e < (kms_idx)src->indptr[i + 1];
             e++) {
            const double v = (double)data[e];
            const kms_idx f = (kms_idx)ind[e];
            const double *restrict pt = Pt + f * ldp;
            xx += v * v;
            dq += v * Qt[f * KMS_DIST_NP];
            for (kms_idx t = 0; t < ldp; t++) {
                acc[t] += v * pt[t];
            }
        }
        double w = closest[i];
        if (lagging) {
            const double sv = kms__expand(xx, dq, qn[0]);
            w = sv < w ? sv : w;
            closest[i] = w;
        }
        for (kms_idx t = 0; t < nlt; t++) {
            const double sv = kms__expand(xx, acc[t], pn[t]);
            pp[t] += sv < w ? sv : w;
        }
    }
}

#define KMS_LLOYD_BOUNDED 0
#include "kmeans_driver.template.c"
#undef KMS_LLOYD_BOUNDED
#undef KMS_SRC

int KMS_FN_CSR_ASSIGN(const KMS_T *data, const KMS_I *indices,
                      const KMS_I *indptr, kms_idx n, kms_idx d,
                      const KMS_T *centers, kms_idx k, kms_idx *labels,
                      double *dist2, const kms_ctx *ctx)
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
    if (!kms__csr_ptrs_ok(data, indices, indptr, n) || centers == NULL ||
        labels == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_LOCAL(kms__csrc) src = {data, indices, indptr, n, d, ctx};
    return KMS_LOCAL(kms__assign_drv)(&src, centers, k, labels, dist2, ctx);
}

int KMS_FN_CSR_LLOYD(const KMS_T *data, const KMS_I *indices,
                     const KMS_I *indptr, kms_idx n, kms_idx d, kms_idx k,
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
    if (!kms__csr_ptrs_ok(data, indices, indptr, n) || centers == NULL ||
        labels == NULL || inertia == NULL || n_iter == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_LOCAL(kms__csrc) src = {data, indices, indptr, n, d, ctx};
    return KMS_LOCAL(kms__lloyd_drv)(&src, k, centers, max_iter, tol, labels,
                                     inertia, n_iter, ctx);
}

int KMS_FN_CSR_KMEANSPP(const KMS_T *data, const KMS_I *indices,
                        const KMS_I *indptr, kms_idx n, kms_idx d,
                        kms_idx k, kms_idx n_local_trials, uint64_t seed,
                        KMS_T *centers, const kms_ctx *ctx)
{
    if (n < 0 || d < 0 || n_local_trials < 1) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (k < 1 || k > n) {
        return KMS_ERR_BAD_K;
    }
    if (!kms__csr_ptrs_ok(data, indices, indptr, n) || centers == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_LOCAL(kms__csrc) src = {data, indices, indptr, n, d, ctx};
    return KMS_LOCAL(kms__kmeanspp_drv)(&src, k, n_local_trials, seed, centers,
                                        ctx);
}

