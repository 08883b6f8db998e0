/*
 * kmsmote C core template: k nearest neighbours and pair sum on CSR rows,
 * one element type and one index type.
 *
 * Included by kms_sparse.c, after csr_index.template.c and
 * csr_values.template.c of the same types.  Expects:
 *
 *   KMS_T                          element type (double or float)
 *   KMS_I                          index type (int32_t or int64_t)
 *   KMS_LOCAL(name)                name with the element and index suffix
 *   KMS_ILOCAL(name)               name with the index suffix
 *   KMS_FN_CSR_KNN_SPARSITY        the public names this instance defines
 *   KMS_FN_CSR_KNN_SPARSITY_SETS
 */
#ifndef KMS_T
#error "knn_csr.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_I
#error "knn_csr.template.c: define KMS_I before including this template"
#endif
#ifndef KMS_LOCAL
#error "knn_csr.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_ILOCAL
#error "knn_csr.template.c: define KMS_ILOCAL before including this template"
#endif
#ifndef KMS_FN_CSR_KNN_SPARSITY
#error "knn_csr.template.c: define KMS_FN_CSR_KNN_SPARSITY before including this template"
#endif
#ifndef KMS_FN_CSR_KNN_SPARSITY_SETS
#error "knn_csr.template.c: define KMS_FN_CSR_KNN_SPARSITY_SETS before including this template"
#endif

/* The members' rows, for the exact distances of the screened pairs. */
typedef struct KMS_LOCAL(kms__csr_set) {
    const KMS_T *data;
    const KMS_I *indices;
    const KMS_I *indptr;
    const kms_idx *rows;
} KMS_LOCAL(kms__csr_set);

/* Exact squared distance of members i and j: (a - b)^2 summed over the
 * union of their columns in ascending order from +0 (an absent entry is 0;
 * (a - 0)^2 == a * a and (0 - b)^2 == b * b exactly): the dense kernel's
 * sum without its +0 terms. */
static double KMS_LOCAL(kms__csr_exact1)(const void *src_, kms_idx i, kms_idx j)
{
    const KMS_LOCAL(kms__csr_set) *src = (const KMS_LOCAL(kms__csr_set) *)src_;
    const KMS_T *restrict x = src->data;
    const KMS_I *restrict ind = src->indices;
    const kms_idx ri = src->rows[i], rj = src->rows[j];
    kms_idx p = (kms_idx)src->indptr[ri], pe = (kms_idx)src->indptr[ri + 1];
    kms_idx q = (kms_idx)src->indptr[rj], qe = (kms_idx)src->indptr[rj + 1];
    double acc = 0.0;
    while (p < pe && q < qe) {
        const kms_idx ca = (kms_idx)ind[p], cb = (kms_idx)ind[q];
        if (ca < cb) {
            const double a = (double)x[p++];
            acc += a * a;
        } else if (cb < ca) {
            const double b = (double)x[q++];
            acc += b * b;
        } else {
            const double t = (double)x[p++] - (double)x[q++];
            acc += t * t;
        }
    }
    for (; p < pe; p++) {
        const double a = (double)x[p];
        acc += a * a;
    }
    for (; q < qe; q++) {
        const double b = (double)x[q];
        acc += b * b;
    }
    return acc;
}

static void KMS_LOCAL(kms__csr_exact)(const void *src, kms_idx i, kms_idx j0,
                                      unsigned mask, double *out)
{
    for (int l = 0; l < 8; l++) {
        if ((mask >> l) & 1u) {
            out[l] = KMS_LOCAL(kms__csr_exact1)(src, i, j0 + l);
        }
    }
}

int KMS_FN_CSR_KNN_SPARSITY(const KMS_T *data, const KMS_I *indices,
                            const KMS_I *indptr, kms_idx n_total,
                            kms_idx d, const kms_idx *rows, kms_idx m,
                            kms_idx k, kms_idx *nn, double *nn_dist,
                            double *pair_dist_sum, const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || m < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (k < 0 || (k > 0 && k > m - 1)) {
        return KMS_ERR_BAD_K;
    }
    if (pair_dist_sum == NULL || (m > 0 && rows == NULL) ||
        (k > 0 && nn == NULL) ||
        (m > 0 && !kms__csr_ptrs_ok(data, indices, indptr, n_total))) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    *pair_dist_sum = 0.0;
    if (m < 2) {
        return KMS_OK; /* no pair, and k == 0 (nothing is read, as dense) */
    }
    if (KMS_ILOCAL(kms__csr_bad_struct)(indices, indptr, n_total, d, rows, m, NULL,
                                        ctx)) {
        return KMS_ERR_BAD_CSR;
    }
    if (KMS_LOCAL(kms__csr_nonfinite)(data, indptr, rows, m, ctx)) {
        return KMS_ERR_NONFINITE;
    }

    const kms_idx nb = (m + KMS_BLOCK - 1) / KMS_BLOCK;
    const kms_idx nsb = (nb + KMS_KNN_SUPER - 1) / KMS_KNN_SUPER;
    const int nt = kms__threads(ctx, nsb);
    const kms_idx len = m * k; /* one thread's lists; k < m, no overflow */
    const kms__csr_row_fn row_fn = kms__csr_row_kernel();
    kms_idx nnz = 0, cmax = 0;
    for (kms_idx i = 0; i < m; i++) {
        kms_idx cnt = 0;
        for (kms_idx e = (kms_idx)indptr[rows[i]]; e < (kms_idx)indptr[rows[i] + 1]; e++) {
            cnt += data[e] != (KMS_T)0;
        }
        nnz += (kms_idx)indptr[rows[i] + 1] - (kms_idx)indptr[rows[i]];
        cmax = KMS_MAX(cmax, cnt);
    }
    /* The screening margin counts the non-zero terms of a pair's sums: at
     * most twice the most non-zero values of a member, exactly as the
     * dense kernel counts them (explicitly stored zeros add nothing). */
    const kms__screen scr = kms__screen_init(KMS_MIN(d, 2 * cmax));
    /* Per thread: dot (m doubles, kept zero between rows), worst (m), e and
     * sq (BLOCK each), then a gap. */
    const kms_idx per = kms__round_up(2 * m + 2 * KMS_BLOCK, 8) + 16;
    int status = KMS_OK;
    double *ldist = NULL;
    kms_idx *lpos = NULL;
    double *scratch = NULL;
    kms__ksum *bsum = NULL;
    double *nrm = NULL;
    kms_idx *colptr = NULL;
    kms_idx *post_j = NULL;
    kms_idx *ucols = NULL;
    kms_idx n_slots = d;
    double *post_v = NULL;
    int stop = 0, interrupted = 0;
    const KMS_LOCAL(kms__csr_set) set = {data, indices, indptr, rows};

    if (len > 0 && (uint64_t)len > (uint64_t)(SIZE_MAX / sizeof(double)) / (uint64_t)nt) {
        status = KMS_ERR_NOMEM;
        goto cleanup;
    }
    if (len > 0) {
        ldist = malloc((size_t)nt * (size_t)len * sizeof(double));
        lpos = malloc((size_t)nt * (size_t)len * sizeof(kms_idx));
    }
    scratch = malloc((size_t)nt * (size_t)per * sizeof(double));
    bsum = malloc((size_t)nsb * sizeof(kms__ksum));
    nrm = malloc((size_t)m * sizeof(double));
    /* The index has one slot per column, or, when the columns far
     * outnumber the set's stored entries, one per distinct column stored
     * (ucols, sorted; a column's slot is its rank). */
    if ((uint64_t)d > 4 * (uint64_t)nnz + 4096) {
        ucols = malloc((size_t)KMS_MAX(nnz, (kms_idx)1) * sizeof(kms_idx));
        if (ucols == NULL) {
            status = KMS_ERR_NOMEM;
            goto cleanup;
        }
        kms_idx o = 0;
        for (kms_idx i = 0; i < m; i++) {
            for (kms_idx e = (kms_idx)indptr[rows[i]]; e < (kms_idx)indptr[rows[i] + 1]; e++) {
                ucols[o++] = (kms_idx)indices[e];
            }
        }
        qsort(ucols, (size_t)nnz, sizeof(kms_idx), kms__idx_cmp);
        n_slots = 0;
        for (kms_idx q = 0; q < nnz; q++) {
            if (n_slots == 0 || ucols[q] != ucols[n_slots - 1]) {
                ucols[n_slots++] = ucols[q];
            }
        }
    }
    colptr = calloc((size_t)n_slots + 1, sizeof(kms_idx));
    post_j = malloc((size_t)KMS_MAX(nnz, (kms_idx)1) * sizeof(kms_idx));
    post_v = malloc((size_t)KMS_MAX(nnz, (kms_idx)1) * sizeof(double));
    if ((len > 0 && (ldist == NULL || lpos == NULL)) || scratch == NULL ||
        bsum == NULL || nrm == NULL || colptr == NULL || post_j == NULL ||
        post_v == NULL) {
        status = KMS_ERR_NOMEM;
        goto cleanup;
    }
    /* Squared norms, stored entries in column order from +0 (the dense
     * kernel's sums without their +0 terms), and the inverted index: for
     * every column, the members that store it, in ascending position, with
     * their values. */
    for (kms_idx i = 0; i < m; i++) {
        double sn = 0.0;
        for (kms_idx e = (kms_idx)indptr[rows[i]]; e < (kms_idx)indptr[rows[i] + 1]; e++) {
            const double v = (double)data[e];
            sn += v * v;
            colptr[kms__slot(ucols, n_slots, (kms_idx)indices[e]) + 1]++;
        }
        nrm[i] = sn;
    }
    for (kms_idx f = 0; f < n_slots; f++) {
        colptr[f + 1] += colptr[f];
    }
    for (kms_idx i = 0; i < m; i++) {
        for (kms_idx e = (kms_idx)indptr[rows[i]]; e < (kms_idx)indptr[rows[i] + 1]; e++) {
            const kms_idx o = colptr[kms__slot(ucols, n_slots, (kms_idx)indices[e])]++;
            post_j[o] = i;
            post_v[o] = (double)data[e];
        }
    }
    for (kms_idx f = n_slots; f > 0; f--) {
        colptr[f] = colptr[f - 1];
    }
    colptr[0] = 0;

#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        const int tid = KMS_THREAD_ID();
        double *restrict myd = ldist != NULL ? ldist + (kms_idx)tid * len : NULL;
        kms_idx *restrict myp = lpos != NULL ? lpos + (kms_idx)tid * len : NULL;
        double *restrict dot = scratch + (kms_idx)tid * per;
        double *restrict worst = dot + m;
        double *restrict ev = worst + m;
        double *restrict sq = ev + KMS_BLOCK;
        kms__poller poller = kms__poller_init(tid == 0 ? ctx : NULL);

        for (kms_idx q = 0; q < len; q++) {
            myd[q] = INFINITY;
            myp[q] = INT64_MAX;
        }
        for (kms_idx j = 0; j < m; j++) {
            dot[j] = 0.0;
            worst[j] = INFINITY;
        }

        /* Work unit: a super-block of the dense kernel (SUPER row blocks),
         * row by row.  A row's dot products with the members after it come
         * from the inverted index (its columns in ascending order, so each
         * dot product adds its terms in column order); its pieces, one per
         * column block J, follow in ascending J, each consumed as the dense
         * kernel consumes the same piece of its tile (I, J). */
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (kms_idx S = 0; S < nsb; S++) {
            kms__ksum acc = {0.0, 0.0};
            const kms_idx i1 = KMS_MIN(m, (S + 1) * KMS_KNN_SUPER * KMS_BLOCK);
            for (kms_idx i = S * KMS_KNN_SUPER * KMS_BLOCK; i < i1; i++) {
                if (kms__flag_get(&stop)) {
                    break;
                }
                const kms_idx ri = rows[i];
                kms_idx work = m - i;
                for (kms_idx e = (kms_idx)indptr[ri]; e < (kms_idx)indptr[ri + 1]; e++) {
                    const kms_idx f = kms__slot(ucols, n_slots, (kms_idx)indices[e]);
                    const double a = (double)data[e];
                    /* First posting after i (postings ascend by member). */
                    kms_idx lo = colptr[f], hi = colptr[f + 1];
                    while (lo < hi) {
                        const kms_idx mid = lo + (hi - lo) / 2;
                        if (post_j[mid] <= i) {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    for (kms_idx q = lo; q < colptr[f + 1]; q++) {
                        dot[post_j[q]] += a * post_v[q];
                    }
                    work += colptr[f + 1] - lo;
                }
                kms__ksum racc = {0.0, 0.0};
                for (kms_idx J0 = (i + 1) / KMS_BLOCK * KMS_BLOCK; J0 < m; J0 += KMS_BLOCK) {
                    const kms_idx j0 = KMS_MAX(J0, i + 1);
                    const kms_idx n = KMS_MIN(m, J0 + KMS_BLOCK) - j0;
                    if (n <= 0) {
                        continue;
                    }
                    row_fn(dot + j0, nrm + j0, nrm[i], n, j0, i, k, myd, myp,
                           worst + j0, &racc, scr, ev, sq,
                           KMS_LOCAL(kms__csr_exact), &set);
                }
                kms__ksum_add(&acc, kms__ksum_value(&racc));
                if (kms__poll(&poller, work)) {
                    kms__flag_set(&interrupted);
                    kms__flag_set(&stop);
                }
            }
            bsum[S] = acc;
        }
    }

    if (interrupted) {
        status = KMS_ERR_INTERRUPTED;
        goto cleanup;
    }

    {
        kms__ksum total = {0.0, 0.0};
        for (kms_idx S = 0; S < nsb; S++) {
            kms__ksum_add(&total, kms__ksum_value(&bsum[S]));
        }
        *pair_dist_sum = kms__ksum_value(&total);
    }
    if (k > 0) {
        kms__knn_merge(m, k, nt, ldist, lpos, nn, nn_dist);
    }

cleanup:
    free(ldist);
    free(lpos);
    free(scratch);
    free(bsum);
    free(nrm);
    free(colptr);
    free(ucols);
    free(post_j);
    free(post_v);
    return status;
}

typedef struct KMS_LOCAL(kms__csr_sets) {
    const KMS_T *data;
    const KMS_I *indices;
    const KMS_I *indptr;
    kms_idx n_total;
    kms_idx d;
    const kms_idx *rows;
} KMS_LOCAL(kms__csr_sets);

static int KMS_LOCAL(kms__csr_one_set)(const void *src_, kms_idx off, kms_idx m,
                                kms_idx k, kms_idx *nn, double *pair_dist_sum,
                                const kms_ctx *ctx)
{
    const KMS_LOCAL(kms__csr_sets) *src = (const KMS_LOCAL(kms__csr_sets) *)src_;
    return KMS_FN_CSR_KNN_SPARSITY(src->data, src->indices, src->indptr,
                                   src->n_total, src->d, src->rows + off, m,
                                   k, nn, NULL, pair_dist_sum, ctx);
}

int KMS_FN_CSR_KNN_SPARSITY_SETS(const KMS_T *data, const KMS_I *indices,
                                 const KMS_I *indptr, kms_idx n_total,
                                 kms_idx d, const kms_idx *rows,
                                 const kms_idx *offsets, kms_idx n_sets,
                                 const kms_idx *ks, kms_idx *nn,
                                 double *pair_dist_sums, const kms_ctx *ctx)
{
    const KMS_LOCAL(kms__csr_sets) src = {data, indices, indptr, n_total, d, rows};
    /* A set's scratch: its rows' share of the stored entries, inverted
     * (value and member), and its lists. */
    const double row_bytes =
        (n_total > 0 ? (double)indptr[n_total] / (double)n_total : 0.0) * 16.0 + 64.0;
    return kms__knn_sets_run(offsets, n_sets, ks, nn, pair_dist_sums, ctx, row_bytes,
                             KMS_LOCAL(kms__csr_one_set), &src);
}

