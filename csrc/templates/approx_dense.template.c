/*
 * kmsmote C core template: the approximate search's kernels on dense rows
 * (kms_approx.h), one element type.
 *
 * Included by kms_approx.c.  Expects:
 *
 *   KMS_T                     element type (double or float)
 *   KMS_LOCAL(name)           name with the element suffix
 *   KMS_GATHER                the row gather of kms_internal.h for KMS_T
 *   KMS_FN_PAIR_DISTANCES     the public names this instance defines
 *   KMS_FN_PAIR_SQDISTANCES
 *   KMS_FN_SAMPLE_PAIR_DISTANCES
 *   KMS_FN_NEAREST_CENTERS
 *   KMS_FN_KNN_CELLS
 */
#ifndef KMS_T
#error "approx_dense.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_LOCAL
#error "approx_dense.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_GATHER
#error "approx_dense.template.c: define KMS_GATHER before including this template"
#endif
#ifndef KMS_FN_PAIR_DISTANCES
#error "approx_dense.template.c: define KMS_FN_PAIR_DISTANCES before including this template"
#endif
#ifndef KMS_FN_PAIR_SQDISTANCES
#error "approx_dense.template.c: define KMS_FN_PAIR_SQDISTANCES before including this template"
#endif
#ifndef KMS_FN_SAMPLE_PAIR_DISTANCES
#error "approx_dense.template.c: define KMS_FN_SAMPLE_PAIR_DISTANCES before including this template"
#endif
#ifndef KMS_FN_KNN_CELLS
#error "approx_dense.template.c: define KMS_FN_KNN_CELLS before including this template"
#endif
#ifndef KMS_FN_NEAREST_CENTERS
#error "approx_dense.template.c: define KMS_FN_NEAREST_CENTERS before including this template"
#endif

/* Squared distance of two rows: the differences in double, summed over the
 * features in ascending order from +0 (the neighbour kernels' exact sum). */
static inline double KMS_LOCAL(kms__sqdist)(const KMS_T *restrict x,
                                            const KMS_T *restrict y, kms_idx d)
{
    double acc = 0.0;
    for (kms_idx f = 0; f < d; f++) {
        const double t = (double)x[f] - (double)y[f];
        acc += t * t;
    }
    return acc;
}

/* The members of a set (rows NULL: X's rows themselves), for the pair
 * drivers of kms_internal.h. */
typedef struct KMS_LOCAL(kms__dense_set) {
    const KMS_T *X;
    kms_idx d;
    const kms_idx *rows;
} KMS_LOCAL(kms__dense_set);

/* Four pairs side by side (each its own sum, features in order): four
 * independent chains of additions instead of one. */
static void KMS_LOCAL(kms__set_sqdists)(const void *src_, const kms_idx *i,
                                        const kms_idx *j, kms_idx n, double *out)
{
    const KMS_LOCAL(kms__dense_set) *src = (const KMS_LOCAL(kms__dense_set) *)src_;
    const kms_idx d = src->d;
    kms_idx t = 0;
    for (; t + 4 <= n; t += 4) {
        const KMS_T *restrict x[4], *restrict y[4];
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        for (int q = 0; q < 4; q++) {
            x[q] = src->X + (src->rows != NULL ? src->rows[i[t + q]] : i[t + q]) * d;
            y[q] = src->X + (src->rows != NULL ? src->rows[j[t + q]] : j[t + q]) * d;
        }
        for (kms_idx f = 0; f < d; f++) {
            for (int q = 0; q < 4; q++) {
                const double v = (double)x[q][f] - (double)y[q][f];
                acc[q] += v * v;
            }
        }
        for (int q = 0; q < 4; q++) {
            out[t + q] = acc[q];
        }
    }
    for (; t < n; t++) {
        const kms_idx ri = src->rows != NULL ? src->rows[i[t]] : i[t];
        const kms_idx rj = src->rows != NULL ? src->rows[j[t]] : j[t];
        out[t] = KMS_LOCAL(kms__sqdist)(src->X + ri * d, src->X + rj * d, d);
    }
}

static int KMS_LOCAL(kms__pair_distances)(const KMS_T *X, kms_idx n_total, kms_idx d,
                                          const kms_idx *a, const kms_idx *b,
                                          kms_idx n_pairs, double *out, int squared,
                                          const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || n_pairs < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (n_pairs == 0) {
        return KMS_OK;
    }
    if (a == NULL || b == NULL || out == NULL || (X == NULL && n_total > 0 && d > 0)) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (kms__pairs_bad_index(a, b, n_pairs, n_total)) {
        return KMS_ERR_BAD_INDEX;
    }
    const KMS_LOCAL(kms__dense_set) set = {X, d, NULL};
    return kms__pair_distances_run(KMS_LOCAL(kms__set_sqdists), &set, a, b, n_pairs, out,
                                   squared, ctx);
}

int KMS_FN_PAIR_DISTANCES(const KMS_T *X, kms_idx n_total, kms_idx d,
                          const kms_idx *a, const kms_idx *b,
                          kms_idx n_pairs, double *out, const kms_ctx *ctx)
{
    return KMS_LOCAL(kms__pair_distances)(X, n_total, d, a, b, n_pairs, out, 0, ctx);
}

int KMS_FN_PAIR_SQDISTANCES(const KMS_T *X, kms_idx n_total, kms_idx d,
                            const kms_idx *a, const kms_idx *b,
                            kms_idx n_pairs, double *out, const kms_ctx *ctx)
{
    return KMS_LOCAL(kms__pair_distances)(X, n_total, d, a, b, n_pairs, out, 1, ctx);
}

int KMS_FN_SAMPLE_PAIR_DISTANCES(const KMS_T *X, kms_idx n_total, kms_idx d,
                                 const kms_idx *rows, kms_idx m, uint64_t seed,
                                 kms_idx first, kms_idx n_pairs, double scale,
                                 double *sums,
                                 const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || m < 2 || first < 0 || n_pairs < 0 || !(scale > 0.0) ||
        sums == NULL || rows == NULL || (X == NULL && d > 0)) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    const KMS_LOCAL(kms__dense_set) set = {X, d, rows};
    return kms__sample_pairs_run(KMS_LOCAL(kms__set_sqdists), &set, m, seed, first,
                                 n_pairs, scale, NULL, sums, ctx);
}

int KMS_FN_NEAREST_CENTERS(const KMS_T *X, kms_idx n_total, kms_idx d,
                           const kms_idx *rows, kms_idx m,
                           const KMS_T *centers, kms_idx k, kms_idx p,
                           kms_idx *out, const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || m < 0 || k < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (p < 1 || p > k) {
        return KMS_ERR_BAD_K;
    }
    if (m == 0) {
        return KMS_OK;
    }
    if (rows == NULL || out == NULL || centers == NULL || (X == NULL && d > 0)) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    /* The centres feature-major (Ct[f * kp + c], zero past k) and their
     * squared norms, as kms_assign holds them. */
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    double *Ct = (double *)malloc((size_t)(d * kp + kp) * sizeof(double));
    if (Ct == NULL) {
        return KMS_ERR_NOMEM;
    }
    double *cn = Ct + d * kp;
    int bad = 0;
    for (kms_idx c = 0; c < kp; c++) {
        double s = 0.0;
        for (kms_idx f = 0; f < d; f++) {
            const double v = c < k ? (double)centers[c * d + f] : 0.0;
            Ct[f * kp + c] = v;
            s += v * v;
        }
        cn[c] = s;
        bad |= (s - s) != 0.0;
    }
    if (bad) {
        free(Ct);
        return KMS_ERR_NONFINITE;
    }

    const kms_idx n_units = (m + KMS_BLOCK - 1) / KMS_BLOCK;
    const int nt = kms__threads(ctx, n_units);
    /* Per thread: the gathered block (d x GATHER_LD), its norms, one strip
     * (NP x BLOCK) and the block's lists (BLOCK x p distances). */
    const size_t per_thread = (size_t)(d * KMS_GATHER_LD + KMS_BLOCK
                                       + KMS_DIST_NP * KMS_BLOCK + KMS_BLOCK * p);
    double *scratch = (double *)malloc((size_t)nt * per_thread * sizeof(double));
    if (scratch == NULL) {
        free(Ct);
        return KMS_ERR_NOMEM;
    }
    const kms__dstrip_fn strip_fn = kms__dstrip_kernel();
    kms__poller poller = kms__poller_init(ctx);
    int stop = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : bad)
#endif
    {
        double *At = scratch + (size_t)KMS_THREAD_ID() * per_thread;
        double *xx = At + d * KMS_GATHER_LD;
        double *strip = xx + KMS_BLOCK;
        double *ld = strip + KMS_DIST_NP * KMS_BLOCK;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (kms_idx u = 0; u < n_units; u++) {
            const kms_idx i0 = u * KMS_BLOCK;
            const kms_idx nr = KMS_MIN(KMS_BLOCK, m - i0);
            if (kms__flag_get(&stop)) {
                continue;
            }
            if (KMS_THREAD_ID() == 0 && kms__poll(&poller, nr * kp * d)) {
                kms__flag_set(&stop);
                continue;
            }
            bad |= KMS_GATHER(X, d, rows + i0, 0, nr, At, KMS_GATHER_LD, xx);
            kms_idx *pl = out + i0 * p;
            for (kms_idx q = 0; q < nr * p; q++) {
                ld[q] = INFINITY;
                pl[q] = k;
            }
            for (kms_idx c0 = 0; c0 < k; c0 += KMS_DIST_NP) {
                /* Rows are the columns of the strip: strip[q * BLOCK + r] is
                 * the distance of centre c0 + q to row r (kms_assign's). */
                strip_fn(Ct + c0, kp, cn + c0, At, KMS_GATHER_LD, xx, d, nr,
                         strip, KMS_BLOCK);
                const kms_idx nq = KMS_MIN((kms_idx)KMS_DIST_NP, k - c0);
                for (kms_idx r = 0; r < nr; r++) {
                    for (kms_idx q = 0; q < nq; q++) {
                        kms__topk_insert(ld + r * p, pl + r * p, p,
                                         strip[q * KMS_BLOCK + r], c0 + q);
                    }
                }
            }
        }
    }
    free(scratch);
    free(Ct);
    if (stop) {
        return KMS_ERR_INTERRUPTED;
    }
    return bad ? KMS_ERR_NONFINITE : KMS_OK;
}

int KMS_FN_KNN_CELLS(const KMS_T *X, kms_idx n_total, kms_idx d,
                     const kms_idx *queries, kms_idx n_q,
                     const kms_idx *query_cells, kms_idx p,
                     const kms_idx *cell_ptr, const kms_idx *members, kms_idx n_cells,
                     kms_idx k, kms_idx *out, const kms_ctx *ctx)
{
    if (k < 1) {
        return KMS_ERR_BAD_K;
    }
    if (n_total < 0 || d < 0 || n_q < 0 || p < 0 || n_cells < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (n_q == 0) {
        return KMS_OK;
    }
    if (queries == NULL || out == NULL || (p > 0 && query_cells == NULL) ||
        cell_ptr == NULL || cell_ptr[0] != 0 || (X == NULL && d > 0)) {
        return KMS_ERR_BAD_SHAPE;
    }
    kms_idx widest = 0;
    for (kms_idx c = 0; c < n_cells; c++) {
        if (cell_ptr[c + 1] < cell_ptr[c]) {
            return KMS_ERR_BAD_SHAPE;
        }
        widest = KMS_MAX(widest, cell_ptr[c + 1] - cell_ptr[c]);
    }
    if (members == NULL && cell_ptr[n_cells] > 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx q = 0; q < n_q; q++) {
        if (queries[q] < 0 || queries[q] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    for (kms_idx t = 0; t < n_q * p; t++) {
        if (query_cells[t] < -1 || query_cells[t] >= n_cells) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    if (kms__pairs_bad_index(members, members, cell_ptr[n_cells], n_total)) {
        return KMS_ERR_BAD_INDEX;
    }
    const kms_idx n_probes = n_q * p;
    /* Members per block: the block (d x block doubles) within
     * KMS__CELLS_BYTES, so that it stays in the L2 cache. */
    const kms_idx fit = KMS_MAX((kms_idx)8, (kms_idx)(KMS__CELLS_BYTES / 8) / KMS_MAX(d, 1));
    const kms_idx block = KMS_MIN(widest, KMS_MIN(fit, (kms_idx)KMS__CELLS_BLOCK));
    const kms_idx ldb = kms__round_up(KMS_MAX(block, 1), 8);
    const int nt = kms__threads(ctx, KMS_MAX(n_cells, n_q));
    /* Per thread: a block of members feature-major (d x ldb), the squared
     * distances of a group of queries to it (QUERIES x ldb), the group's
     * rows (QUERIES x d), all in double, and a merge list (k). */
    const size_t per_thread = (size_t)d * (size_t)ldb + (size_t)KMS__CELLS_QUERIES * (size_t)ldb
                              + (size_t)KMS__CELLS_QUERIES * (size_t)d + (size_t)k;
    /* Which (query, place) probe each cell (inv_ptr, inv: a counting sort,
     * in ascending order of query and place), every (query, place)'s list
     * (k distances and rows), the threads' scratch. */
    kms_idx *inv_ptr = (kms_idx *)calloc((size_t)(n_cells + 1), sizeof(kms_idx));
    kms_idx *inv = (kms_idx *)malloc((size_t)KMS_MAX(n_probes, 1) * sizeof(kms_idx));
    kms_idx *fill = (kms_idx *)malloc((size_t)KMS_MAX(n_cells, 1) * sizeof(kms_idx));
    double *ld = (double *)malloc((size_t)KMS_MAX(n_probes * k, 1) * sizeof(double));
    kms_idx *lp = (kms_idx *)malloc((size_t)KMS_MAX(n_probes * k, 1) * sizeof(kms_idx));
    double *scratch = (double *)malloc((size_t)nt * per_thread * sizeof(double));
    if (inv_ptr == NULL || inv == NULL || fill == NULL || ld == NULL || lp == NULL ||
        scratch == NULL) {
        free(inv_ptr);
        free(inv);
        free(fill);
        free(ld);
        free(lp);
        free(scratch);
        return KMS_ERR_NOMEM;
    }
    for (kms_idx t = 0; t < n_probes; t++) {
        if (query_cells[t] >= 0) {
            inv_ptr[query_cells[t] + 1]++;
        }
        for (kms_idx j = 0; j < k; j++) {
            ld[t * k + j] = INFINITY;
            lp[t * k + j] = n_total; /* empty: after every row */
        }
    }
    for (kms_idx c = 0; c < n_cells; c++) {
        inv_ptr[c + 1] += inv_ptr[c];
        fill[c] = inv_ptr[c];
    }
    for (kms_idx t = 0; t < n_probes; t++) {
        if (query_cells[t] >= 0) {
            inv[fill[query_cells[t]]++] = t;
        }
    }
    free(fill);

    const kms__sqdiff_fn sqdiff = kms__sqdiff_kernel();
    kms__poller poller = kms__poller_init(ctx);
    int stop = 0, bad = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : bad)
#endif
    {
        double *restrict B = scratch + (size_t)KMS_THREAD_ID() * per_thread;
        double *restrict acc = B + (size_t)d * (size_t)ldb;
        double *restrict xq = acc + (size_t)KMS__CELLS_QUERIES * (size_t)ldb;
        double *restrict dl = xq + (size_t)KMS__CELLS_QUERIES * (size_t)d;
        /* Every cell: its members by blocks, each block against the
         * queries probing the cell, a group at a time. */
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (kms_idx c = 0; c < n_cells; c++) {
            const kms_idx n_in = inv_ptr[c + 1] - inv_ptr[c];
            const kms_idx first = cell_ptr[c], size = cell_ptr[c + 1] - first;
            if (n_in == 0 || size == 0 || kms__flag_get(&stop)) {
                continue;
            }
            if (KMS_THREAD_ID() == 0 && kms__poll(&poller, n_in * size * d)) {
                kms__flag_set(&stop);
                continue;
            }
            for (kms_idx j0 = 0; j0 < size; j0 += block) {
                const kms_idx nb = KMS_MIN(block, size - j0);
                const kms_idx nb8 = kms__round_up(nb, 8);
                const kms_idx *restrict mem = members + first + j0;
                /* Past nb, copies of the last member (finite, ignored). */
                for (kms_idx j = 0; j < nb8; j++) {
                    const KMS_T *restrict row = X + mem[KMS_MIN(j, nb - 1)] * d;
                    for (kms_idx f = 0; f < d; f++) {
                        B[f * ldb + j] = (double)row[f];
                    }
                }
                for (kms_idx g0 = 0; g0 < n_in; g0 += KMS__CELLS_QUERIES) {
                    const int ng = (int)KMS_MIN((kms_idx)KMS__CELLS_QUERIES, n_in - g0);
                    const kms_idx *probe = inv + inv_ptr[c] + g0;
                    /* A short group repeats its last query. */
                    for (int g = 0; g < KMS__CELLS_QUERIES; g++) {
                        const KMS_T *restrict row =
                            X + queries[probe[KMS_MIN(g, ng - 1)] / p] * d;
                        for (kms_idx f = 0; f < d; f++) {
                            xq[g * d + f] = (double)row[f];
                        }
                    }
                    sqdiff(B, ldb, nb8, xq, d, acc, ldb);
                    for (int g = 0; g < ng; g++) {
                        const kms_idx t = probe[g];
                        const kms_idx self = queries[t / p];
                        double *restrict gl = ld + t * k;
                        kms_idx *restrict gp = lp + t * k;
                        const double *restrict ag = acc + g * ldb;
                        /* A squared distance above this cannot give a
                         * distance at most the list's last (sqrt is
                         * correctly rounded; the factor leaves more than an
                         * ulp of room). */
                        double screen = gl[k - 1] * gl[k - 1] * (1.0 + 1e-15);
                        /* First the block at once (vectorised): any
                         * non-finite, any that may enter. */
                        int nonfinite = 0, any = 0;
                        for (kms_idx j = 0; j < nb; j++) {
                            nonfinite |= (ag[j] - ag[j]) != 0.0;
                            any |= ag[j] <= screen;
                        }
                        bad |= nonfinite;
                        for (kms_idx j = 0; any && j < nb; j++) {
                            const double s = ag[j];
                            if (s > screen || mem[j] == self) {
                                continue;
                            }
                            if (kms__topk_insert_once(gl, gp, k, sqrt(s), mem[j])) {
                                screen = gl[k - 1] * gl[k - 1] * (1.0 + 1e-15);
                            }
                        }
                    }
                }
            }
        }
        /* Every query: its places' lists merged (a row in several of its
         * cells counted once). */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (kms_idx q = 0; q < n_q; q++) {
            if (kms__flag_get(&stop)) {
                continue;
            }
            kms_idx *restrict pl = out + q * k;
            for (kms_idx j = 0; j < k; j++) {
                dl[j] = INFINITY;
                pl[j] = n_total;
            }
            for (kms_idx t = q * p; t < (q + 1) * p; t++) {
                for (kms_idx j = 0; j < k && lp[t * k + j] < n_total; j++) {
                    kms__topk_insert_once(dl, pl, k, ld[t * k + j], lp[t * k + j]);
                }
            }
            for (kms_idx j = 0; j < k; j++) {
                pl[j] = pl[j] < n_total ? pl[j] : -1;
            }
        }
    }
    free(inv_ptr);
    free(inv);
    free(ld);
    free(lp);
    free(scratch);
    if (stop) {
        return KMS_ERR_INTERRUPTED;
    }
    return bad ? KMS_ERR_NONFINITE : KMS_OK;
}
