/*
 * kmsmote C core template: the approximate search's kernels on CSR rows
 * (kms_approx.h), one element type and one index type.
 *
 * Included by kms_sparse.c after knn_csr.template.c of the same types (it
 * reuses that template's exact merged distance).  Expects:
 *
 *   KMS_T, KMS_I, KMS_LOCAL, KMS_ILOCAL   as the other CSR templates
 *   KMS_FN_CSR_PAIR_DISTANCES             the public names this instance
 *   KMS_FN_CSR_SAMPLE_PAIR_DISTANCES      defines
 *   KMS_FN_CSR_NEAREST_CENTERS
 */
#ifndef KMS_T
#error "approx_csr.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_I
#error "approx_csr.template.c: define KMS_I before including this template"
#endif
#ifndef KMS_LOCAL
#error "approx_csr.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_ILOCAL
#error "approx_csr.template.c: define KMS_ILOCAL before including this template"
#endif
#ifndef KMS_FN_CSR_PAIR_DISTANCES
#error "approx_csr.template.c: define KMS_FN_CSR_PAIR_DISTANCES before including this template"
#endif
#ifndef KMS_FN_CSR_SAMPLE_PAIR_DISTANCES
#error "approx_csr.template.c: define KMS_FN_CSR_SAMPLE_PAIR_DISTANCES before including this template"
#endif
#ifndef KMS_FN_CSR_NEAREST_CENTERS
#error "approx_csr.template.c: define KMS_FN_CSR_NEAREST_CENTERS before including this template"
#endif

/* Squared distances of pairs of members (rows NULL: of X's rows, as a set
 * of the two rows each time), for the pair drivers of kms_internal.h. */
static void KMS_LOCAL(kms__csr_sqdists)(const void *src_, const kms_idx *i,
                                        const kms_idx *j, kms_idx n, double *out)
{
    const KMS_LOCAL(kms__csr_set) *src = (const KMS_LOCAL(kms__csr_set) *)src_;
    for (kms_idx t = 0; t < n; t++) {
        if (src->rows != NULL) {
            out[t] = KMS_LOCAL(kms__csr_exact1)(src, i[t], j[t]);
        } else {
            const kms_idx two[2] = {i[t], j[t]};
            const KMS_LOCAL(kms__csr_set) set = {src->data, src->indices, src->indptr, two};
            out[t] = KMS_LOCAL(kms__csr_exact1)(&set, 0, 1);
        }
    }
}

int KMS_FN_CSR_PAIR_DISTANCES(const KMS_T *data, const KMS_I *indices,
                              const KMS_I *indptr, kms_idx n_total, kms_idx d,
                              const kms_idx *a, const kms_idx *b,
                              kms_idx n_pairs, double *out, const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || n_pairs < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (n_pairs == 0) {
        return KMS_OK;
    }
    if (a == NULL || b == NULL || out == NULL ||
        !kms__csr_ptrs_ok(data, indices, indptr, n_total)) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (kms__pairs_bad_index(a, b, n_pairs, n_total)) {
        return KMS_ERR_BAD_INDEX;
    }
    /* Every row read is checked: the pairs' rows, as a row list. */
    if (KMS_ILOCAL(kms__csr_bad_struct)(indices, indptr, n_total, d, a, n_pairs,
                                        NULL, ctx) ||
        KMS_ILOCAL(kms__csr_bad_struct)(indices, indptr, n_total, d, b, n_pairs,
                                        NULL, ctx)) {
        return KMS_ERR_BAD_CSR;
    }
    const KMS_LOCAL(kms__csr_set) set = {data, indices, indptr, NULL};
    return kms__pair_distances_run(KMS_LOCAL(kms__csr_sqdists), &set, a, b, n_pairs, out,
                                   0, ctx);
}

int KMS_FN_CSR_SAMPLE_PAIR_DISTANCES(const KMS_T *data, const KMS_I *indices,
                                     const KMS_I *indptr, kms_idx n_total, kms_idx d,
                                     const kms_idx *rows, kms_idx m, uint64_t seed,
                                     kms_idx first, kms_idx n_pairs, double scale,
                                 double *sums,
                                     const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || m < 2 || first < 0 || n_pairs < 0 || !(scale > 0.0) ||
        sums == NULL || rows == NULL ||
        !kms__csr_ptrs_ok(data, indices, indptr, n_total)) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    if (KMS_ILOCAL(kms__csr_bad_struct)(indices, indptr, n_total, d, rows, m, NULL,
                                        ctx)) {
        return KMS_ERR_BAD_CSR;
    }
    const KMS_LOCAL(kms__csr_set) set = {data, indices, indptr, rows};
    return kms__sample_pairs_run(KMS_LOCAL(kms__csr_sqdists), &set, m, seed, first,
                                 n_pairs, scale, NULL, sums, ctx);
}

int KMS_FN_CSR_NEAREST_CENTERS(const KMS_T *data, const KMS_I *indices,
                               const KMS_I *indptr, kms_idx n_total, kms_idx d,
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
    if (rows == NULL || out == NULL || centers == NULL ||
        !kms__csr_ptrs_ok(data, indices, indptr, n_total)) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    if (KMS_ILOCAL(kms__csr_bad_struct)(indices, indptr, n_total, d, rows, m, NULL,
                                        ctx)) {
        return KMS_ERR_BAD_CSR;
    }
    if (KMS_LOCAL(kms__csr_nonfinite)(data, indptr, rows, m, ctx)) {
        return KMS_ERR_NONFINITE;
    }
    /* Squared norms of the centres, summed over the features in order (the
     * dense kernel's). */
    double *cn = (double *)malloc((size_t)k * sizeof(double));
    if (cn == NULL) {
        return KMS_ERR_NOMEM;
    }
    int bad = 0;
    for (kms_idx c = 0; c < k; c++) {
        double s = 0.0;
        for (kms_idx f = 0; f < d; f++) {
            const double v = (double)centers[c * d + f];
            s += v * v;
        }
        cn[c] = s;
        bad |= (s - s) != 0.0;
    }
    if (bad) {
        free(cn);
        return KMS_ERR_NONFINITE;
    }
    const kms_idx n_units = (m + KMS_BLOCK - 1) / KMS_BLOCK;
    const int nt = kms__threads(ctx, n_units);
    (void)nt; /* read by the OpenMP pragmas only */
    double *lists = (double *)malloc((size_t)nt * (size_t)p * sizeof(double));
    if (lists == NULL) {
        free(cn);
        return KMS_ERR_NOMEM;
    }
    kms__poller poller = kms__poller_init(ctx);
    int stop = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const kms_idx i0 = u * KMS_BLOCK;
        const kms_idx i1 = KMS_MIN(m, i0 + KMS_BLOCK);
        if (kms__flag_get(&stop)) {
            continue;
        }
        double *restrict ld = lists + (size_t)KMS_THREAD_ID() * (size_t)p;
        kms_idx work = 0;
        for (kms_idx i = i0; i < i1; i++) {
            const kms_idx r = rows[i];
            const kms_idx e0 = (kms_idx)indptr[r], e1 = (kms_idx)indptr[r + 1];
            work += (e1 - e0 + 1) * k;
        }
        if (KMS_THREAD_ID() == 0 && kms__poll(&poller, work)) {
            kms__flag_set(&stop);
            continue;
        }
        for (kms_idx i = i0; i < i1; i++) {
            const kms_idx r = rows[i];
            const kms_idx e0 = (kms_idx)indptr[r], e1 = (kms_idx)indptr[r + 1];
            double xx = 0.0;
            for (kms_idx e = e0; e < e1; e++) {
                const double v = (double)data[e];
                xx += v * v;
            }
            kms_idx *restrict pl = out + i * p;
            for (kms_idx q = 0; q < p; q++) {
                ld[q] = INFINITY;
                pl[q] = k;
            }
            for (kms_idx c = 0; c < k; c++) {
                /* The dense dot product without its +0 terms, features in
                 * order, then the expansion of kms_assign. */
                const KMS_T *restrict cc = centers + c * d;
                double dot = 0.0;
                for (kms_idx e = e0; e < e1; e++) {
                    dot += (double)data[e] * (double)cc[indices[e]];
                }
                kms__topk_insert(ld, pl, p, kms__expand(xx, dot, cn[c]), c);
            }
        }
    }
    free(lists);
    free(cn);
    return stop ? KMS_ERR_INTERRUPTED : KMS_OK;
}
