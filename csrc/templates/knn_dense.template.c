/*
 * kmsmote C core template: k nearest neighbours and pair sum on dense
 * rows, one element type.
 *
 * Included by kms_neighbors.c, after the tile kernel it defines
 * (kms__knn_tile).  Expects:
 *
 *   KMS_T                      element type (double or float)
 *   KMS_LOCAL(name)            name with the type suffix (static functions)
 *   KMS_GATHER                 the row gather of this type
 *   KMS_FN_KNN_SPARSITY        the public names this instance defines
 *   KMS_FN_KNN_SPARSITY_SETS
 */
#ifndef KMS_T
#error "knn_dense.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_LOCAL
#error "knn_dense.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_GATHER
#error "knn_dense.template.c: define KMS_GATHER before including this template"
#endif
#ifndef KMS_FN_KNN_SPARSITY
#error "knn_dense.template.c: define KMS_FN_KNN_SPARSITY before including this template"
#endif
#ifndef KMS_FN_KNN_SPARSITY_SETS
#error "knn_dense.template.c: define KMS_FN_KNN_SPARSITY_SETS before including this template"
#endif

int KMS_FN_KNN_SPARSITY(const KMS_T *X, kms_idx n_total, kms_idx d,
                        const kms_idx *rows, kms_idx m, kms_idx k,
                        kms_idx *nn, double *nn_dist,
                        double *pair_dist_sum, const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || m < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (k < 0 || (k > 0 && k > m - 1)) {
        return KMS_ERR_BAD_K;
    }
    if (pair_dist_sum == NULL || (m > 0 && rows == NULL) ||
        (k > 0 && nn == NULL)) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n_total) {
            return KMS_ERR_BAD_INDEX;
        }
    }
    *pair_dist_sum = 0.0;
    if (m < 2) {
        return KMS_OK; /* no pair, and k == 0 */
    }

    const kms_idx nb = (m + KMS_BLOCK - 1) / KMS_BLOCK;
    const kms_idx nsb = (nb + KMS_KNN_SUPER - 1) / KMS_KNN_SUPER;
    const int nt = kms__threads(ctx, nsb);
    const kms_idx len = m * k; /* one thread's lists; k < m, no overflow */
    /* The whole set gathered once (blocks of BLOCK rows, feature-major,
     * with their squared norms) when it fits in KMS_KNN_SET_BYTES: every
     * tile then reads it in place.  Otherwise each thread gathers the
     * blocks of its tiles: At (SUPER blocks) and Bt (one block), d x BLOCK
     * each, and their norms.  Per thread also: strip and sq (NP x BLOCK
     * each); worstJ (BLOCK); then a gap so that no two threads write the
     * same cache line. */
    const kms_idx blk = d * KMS_GATHER_LD;
    const int whole = (uint64_t)nb * (uint64_t)(blk + KMS_BLOCK) <=
                      (uint64_t)(KMS_KNN_SET_BYTES / sizeof(double));
    const kms_idx abuf = whole ? 0
                               : (KMS_KNN_SUPER + 1) * blk + (KMS_KNN_SUPER + 1) * KMS_BLOCK;
    const kms_idx part_len = d > KMS_KNN_FEATURE_CHUNK ? KMS_BLOCK * KMS_BLOCK : 0;
    const kms_idx per = abuf + (2 * KMS_DIST_NP + 1) * KMS_BLOCK + part_len + 16;
    const kms__dsqstrip_fn dstrip_fn = kms__dsqstrip_kernel();
    const kms__ddotstrip_fn ddot_fn = kms__ddotstrip_kernel();
    const kms__screen_row_fn row_fn = kms__screen_row_kernel();
    int status = KMS_OK;
    double *ldist = NULL;
    kms_idx *lpos = NULL;
    double *scratch = NULL;
    kms__ksum *bsum = NULL;
    kms__ksum *rsum = NULL;
    double *G = NULL;
    kms_idx *bmax = NULL;
    int stop = 0, nonfinite = 0, interrupted = 0;

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
    /* Per thread, the pair-sum accumulators of a super-block's rows. */
    rsum = malloc((size_t)nt * KMS_KNN_SUPER * KMS_BLOCK * sizeof(kms__ksum));
    bmax = malloc((size_t)nb * sizeof(kms_idx));
    if (whole) {
        G = malloc((size_t)nb * (size_t)(blk + KMS_BLOCK) * sizeof(double));
    }
    if ((len > 0 && (ldist == NULL || lpos == NULL)) || scratch == NULL ||
        bsum == NULL || rsum == NULL || bmax == NULL || (whole && G == NULL)) {
        status = KMS_ERR_NOMEM;
        goto cleanup;
    }
    if (whole) {
        /* Blocks first (nb * blk), then their norms (nb * BLOCK). */
        double *Gn = G + nb * blk;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) \
    reduction(| : nonfinite)
#endif
        for (kms_idx b = 0; b < nb; b++) {
            const kms_idx nr = KMS_MIN(KMS_BLOCK, m - b * KMS_BLOCK);
            nonfinite |= KMS_GATHER(X, d, rows + b * KMS_BLOCK, 0, nr, G + b * blk,
                                    KMS_GATHER_LD, Gn + b * KMS_BLOCK);
            bmax[b] = kms__col_nonzeros_max(G + b * blk, KMS_GATHER_LD, nr, d);
        }
        if (nonfinite) {
            status = KMS_ERR_NONFINITE;
            goto cleanup;
        }
    } else {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
#endif
        for (kms_idx b = 0; b < nb; b++) {
            kms_idx mx = 0;
            for (kms_idx i = b * KMS_BLOCK; i < KMS_MIN(m, (b + 1) * KMS_BLOCK); i++) {
                const KMS_T *restrict x = X + rows[i] * d;
                kms_idx cnt = 0;
                for (kms_idx f = 0; f < d; f++) {
                    cnt += x[f] != (KMS_T)0;
                }
                mx = KMS_MAX(mx, cnt);
            }
            bmax[b] = mx;
        }
    }
    /* The screening margin counts the non-zero terms of a pair's sums: at
     * most twice the most non-zero values of a member (zeros add no
     * rounding error).  The CSR kernel counts the same values. */
    kms_idx cmax = 0;
    for (kms_idx b = 0; b < nb; b++) {
        cmax = KMS_MAX(cmax, bmax[b]);
    }
    const kms__screen scr = kms__screen_init(KMS_MIN(d, 2 * cmax));

#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        const int tid = KMS_THREAD_ID();
        double *restrict myd = ldist != NULL ? ldist + (kms_idx)tid * len : NULL;
        kms_idx *restrict myp = lpos != NULL ? lpos + (kms_idx)tid * len : NULL;
        double *restrict At = scratch + (kms_idx)tid * per;
        double *restrict Bt = At + KMS_KNN_SUPER * blk;
        double *restrict An = Bt + blk;
        double *restrict Bn = An + KMS_KNN_SUPER * KMS_BLOCK;
        double *restrict strip = At + abuf;
        double *restrict sq = strip + KMS_DIST_NP * KMS_BLOCK;
        double *restrict worstJ = sq + KMS_DIST_NP * KMS_BLOCK;
        double *restrict part = worstJ + KMS_BLOCK; /* part_len */
        kms__ksum *restrict racc = rsum + (kms_idx)tid * KMS_KNN_SUPER * KMS_BLOCK;
        kms__poller poller = kms__poller_init(tid == 0 ? ctx : NULL);

        for (kms_idx q = 0; q < len; q++) {
            myd[q] = INFINITY;
            myp[q] = INT64_MAX;
        }

        /* Work unit: a super-block of SUPER row blocks, so that each
         * gathered column block serves SUPER row blocks. */
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (kms_idx S = 0; S < nsb; S++) {
            kms__ksum acc = {0.0, 0.0};
            const kms_idx Ib0 = S * KMS_KNN_SUPER;
            const kms_idx Ib1 = KMS_MIN(nb, Ib0 + KMS_KNN_SUPER);
            for (kms_idx r = 0; r < KMS_KNN_SUPER * KMS_BLOCK; r++) {
                racc[r].s = 0.0;
                racc[r].c = 0.0;
            }
            /* The super-block's row blocks (Ab) and norms (Abn). */
            const double *Ab = At, *Abn = An;
            if (whole) {
                Ab = G + Ib0 * blk;
                Abn = G + nb * blk + Ib0 * KMS_BLOCK;
            }
            for (kms_idx I = Ib0; I < Ib1 && !whole && !kms__flag_get(&stop); I++) {
                const kms_idx I0 = I * KMS_BLOCK;
                const kms_idx nrI = KMS_MIN(KMS_BLOCK, m - I0);
                if (KMS_GATHER(X, d, rows + I0, 0, nrI, At + (I - Ib0) * blk,
                               KMS_GATHER_LD, An + (I - Ib0) * KMS_BLOCK)) {
                    kms__flag_set(&nonfinite);
                    kms__flag_set(&stop);
                }
            }
            for (kms_idx J = Ib0; J < nb && !kms__flag_get(&stop); J++) {
                const kms_idx J0 = J * KMS_BLOCK;
                const kms_idx ncJ = KMS_MIN(KMS_BLOCK, m - J0);
                const double *Bj, *Bjn;
                if (whole) {
                    Bj = G + J * blk;
                    Bjn = G + nb * blk + J * KMS_BLOCK;
                } else if (J < Ib1) {
                    Bj = At + (J - Ib0) * blk;
                    Bjn = An + (J - Ib0) * KMS_BLOCK;
                } else {
                    if (KMS_GATHER(X, d, rows + J0, 0, ncJ, Bt, KMS_GATHER_LD, Bn)) {
                        kms__flag_set(&nonfinite);
                        kms__flag_set(&stop);
                        break;
                    }
                    Bj = Bt;
                    Bjn = Bn;
                }
                const kms_idx Ilast = KMS_MIN(J, Ib1 - 1);
                for (kms_idx I = Ib0; I <= Ilast; I++) {
                    const kms_idx I0 = I * KMS_BLOCK;
                    const kms_idx nrI = KMS_MIN(KMS_BLOCK, m - I0);
                    kms__knn_tile(dstrip_fn, ddot_fn, row_fn, Ab + (I - Ib0) * blk,
                                  Abn + (I - Ib0) * KMS_BLOCK, Bj, Bjn, d, I0, nrI,
                                  J0, ncJ, J == I, k, scr, myd, myp, strip, sq,
                                  worstJ, part, racc + (I - Ib0) * KMS_BLOCK);
                }
                if (kms__poll(&poller, (Ilast - Ib0 + 1) * KMS_BLOCK * ncJ * (d + 1))) {
                    kms__flag_set(&interrupted);
                    kms__flag_set(&stop);
                }
            }
            /* The rows' sums in row order. */
            for (kms_idx i = Ib0 * KMS_BLOCK; i < KMS_MIN(m, Ib1 * KMS_BLOCK); i++) {
                kms__ksum_add(&acc, kms__ksum_value(&racc[i - Ib0 * KMS_BLOCK]));
            }
            bsum[S] = acc;
        }
    }

    if (nonfinite) {
        status = KMS_ERR_NONFINITE;
        goto cleanup;
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
    free(rsum);
    free(G);
    free(bmax);
    return status;
}

typedef struct KMS_LOCAL(kms__dense_sets) {
    const KMS_T *X;
    kms_idx n_total;
    kms_idx d;
    const kms_idx *rows;
} KMS_LOCAL(kms__dense_sets);

static int KMS_LOCAL(kms__dense_set)(const void *src_, kms_idx off, kms_idx m,
                                     kms_idx k, kms_idx *nn, double *pair_dist_sum,
                                     const kms_ctx *ctx)
{
    const KMS_LOCAL(kms__dense_sets) *src = (const KMS_LOCAL(kms__dense_sets) *)src_;
    return KMS_FN_KNN_SPARSITY(src->X, src->n_total, src->d, src->rows + off, m,
                               k, nn, NULL, pair_dist_sum, ctx);
}

int KMS_FN_KNN_SPARSITY_SETS(const KMS_T *X, kms_idx n_total, kms_idx d,
                             const kms_idx *rows, const kms_idx *offsets,
                             kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                             double *pair_dist_sums, const kms_ctx *ctx)
{
    const KMS_LOCAL(kms__dense_sets) src = {X, n_total, d, rows};
    /* A set's scratch: its gathered rows and norms, and its lists. */
    const double row_bytes = (double)(d + 1) * sizeof(double) + 32.0;
    return kms__knn_sets_run(offsets, n_sets, ks, nn, pair_dist_sums, ctx, row_bytes,
                             KMS_LOCAL(kms__dense_set), &src);
}
