/*
 * kmsmote C core template: CSR helpers that read no values (structure
 * checks, phase 1 of the generation), one index type.
 *
 * Included by kms_sparse.c before the element-type templates of the same
 * index type.  Expects:
 *
 *   KMS_I                       index type (int32_t or int64_t)
 *   KMS_ILOCAL(name)            name with the index suffix (static functions)
 *   KMS_FN_CSR_GENERATE_COUNT   the public name this instance defines
 */
#ifndef KMS_I
#error "csr_index.template.c: define KMS_I before including this template"
#endif
#ifndef KMS_ILOCAL
#error "csr_index.template.c: define KMS_ILOCAL before including this template"
#endif
#ifndef KMS_FN_CSR_GENERATE_COUNT
#error "csr_index.template.c: define KMS_FN_CSR_GENERATE_COUNT before including this template"
#endif

/* Non-zero if one of the rows rows[0 .. m-1] (rows 0 .. m-1 if rows is
 * NULL; those with used[q] != 0 only, if used is not NULL) is malformed:
 * its entries outside [0, indptr[n_total]], a column outside [0, d), or
 * columns not strictly increasing. */
static int KMS_ILOCAL(kms__csr_bad_struct)(const KMS_I *restrict indices,
                                           const KMS_I *restrict indptr,
                                           kms_idx n_total, kms_idx d,
                                           const kms_idx *restrict rows,
                                           kms_idx m,
                                           const unsigned char *restrict used,
                                           const kms_ctx *ctx)
{
    const kms_idx nnz = (kms_idx)indptr[n_total];
    const int nt = kms__threads(ctx, (m + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS);
    (void)nt; /* read by the OpenMP pragmas only */
    int bad = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) \
    reduction(| : bad)
#endif
    for (kms_idx q = 0; q < m; q++) {
        if (used != NULL && !used[q]) {
            continue;
        }
        const kms_idx r = rows != NULL ? rows[q] : q;
        const kms_idx s = (kms_idx)indptr[r], e = (kms_idx)indptr[r + 1];
        if (s < 0 || s > e || e > nnz) {
            bad = 1;
            continue;
        }
        kms_idx prev = -1;
        int b = 0;
        for (kms_idx p = s; p < e; p++) {
            const kms_idx c = (kms_idx)indices[p];
            b |= (c <= prev) | (c >= d);
            prev = c;
        }
        bad |= b;
    }
    return bad;
}

/* The checks shared by both phases of CSR generation, in the dense
 * kernel's order: shapes, then every index (KMS_ERR_BAD_INDEX), then the
 * structure of the rows actually read (KMS_ERR_BAD_CSR). */
static int KMS_ILOCAL(kms__csr_gen_check)(const KMS_I *indices,
                                          const KMS_I *indptr, kms_idx n_total,
                                          kms_idx d, const kms_idx *rows,
                                          kms_idx m, const kms_idx *nn, kms_idx k,
                                          const kms_idx *sample_idx,
                                          kms_idx n_new, const kms_ctx *ctx)
{
    if (n_total < 0 || d < 0 || m < 0 || k < 0 || n_new < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (n_new == 0) {
        return KMS_OK;
    }
    if (m > 0 && k > INT64_MAX / m) {
        return KMS_ERR_BAD_SHAPE;
    }
    const kms_idx mk = m * k;
    if (mk == 0) {
        return KMS_ERR_BAD_INDEX; /* no valid sample index exists */
    }
    if (sample_idx == NULL || nn == NULL || rows == NULL || indptr == NULL ||
        (indices == NULL && indptr[n_total] != indptr[0])) {
        return KMS_ERR_BAD_SHAPE;
    }
    const kms_idx n_units = (n_new + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const int nt = kms__threads(ctx, n_units);
    (void)nt; /* read by the OpenMP pragmas only */
    int bad = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) \
    reduction(| : bad)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const kms_idx t1 = KMS_MIN(n_new, (u + 1) * KMS_CHUNK_ROWS);
        for (kms_idx t = u * KMS_CHUNK_ROWS; t < t1; t++) {
            const kms_idx s = sample_idx[t];
            if (s < 0 || s >= mk) {
                bad = 1;
                continue;
            }
            const kms_idx j = nn[s];
            if (j < 0 || j >= m) {
                bad = 1;
                continue;
            }
            const kms_idx ri = rows[s / k];
            const kms_idx rj = rows[j];
            bad |= (ri < 0) | (ri >= n_total) | (rj < 0) | (rj >= n_total);
        }
    }
    if (bad) {
        return KMS_ERR_BAD_INDEX;
    }
    /* Structure of the member rows that are read (each once). */
    unsigned char *used = calloc((size_t)m, 1);
    if (used == NULL) {
        return KMS_ERR_NOMEM;
    }
    for (kms_idx t = 0; t < n_new; t++) {
        const kms_idx s = sample_idx[t];
        used[s / k] = 1;
        used[nn[s]] = 1;
    }
    bad = KMS_ILOCAL(kms__csr_bad_struct)(indices, indptr, n_total, d, rows, m,
                                          used, ctx);
    free(used);
    return bad ? KMS_ERR_BAD_CSR : KMS_OK;
}

int KMS_FN_CSR_GENERATE_COUNT(const KMS_I *indices, const KMS_I *indptr,
                                    kms_idx n_total, kms_idx d,
                                    const kms_idx *rows, kms_idx m,
                                    const kms_idx *nn, kms_idx k,
                                    const kms_idx *sample_idx, kms_idx n_new,
                                    kms_idx *counts, const kms_ctx *ctx)
{
    int status = KMS_ILOCAL(kms__csr_gen_check)(indices, indptr, n_total, d, rows,
                                                m, nn, k, sample_idx, n_new, ctx);
    if (status != KMS_OK || n_new == 0) {
        return status;
    }
    if (counts == NULL) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_I *restrict ind = indices;
    const kms_idx n_units = (n_new + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const int nt = kms__threads(ctx, n_units);
    (void)nt; /* read by the OpenMP pragmas only */
    kms__poller poller = kms__poller_init(ctx);
    /* One chunk of new rows per work unit; thread 0 polls for interrupts
     * between its chunks.  work0: thread 0's last chunk's entries. */
    int stop = 0;
    int64_t work0 = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const int tid = KMS_THREAD_ID();
        if (kms__flag_get(&stop)) {
            continue;
        }
        if (tid == 0 && kms__poll(&poller, work0)) {
            kms__flag_set(&stop);
            continue;
        }
        kms_idx work = 0;
        const kms_idx t1 = KMS_MIN(n_new, (u + 1) * KMS_CHUNK_ROWS);
        for (kms_idx t = u * KMS_CHUNK_ROWS; t < t1; t++) {
            const kms_idx s = sample_idx[t];
            const kms_idx a = rows[s / k], b = rows[nn[s]];
            kms_idx p = (kms_idx)indptr[a], pe = (kms_idx)indptr[a + 1];
            kms_idx q = (kms_idx)indptr[b], qe = (kms_idx)indptr[b + 1];
            const kms_idx na = pe - p, nb = qe - q;
            work += na + nb;
            if (a == b) {
                counts[t] = na;
                continue;
            }
            kms_idx both = 0;
            /* |union| = na + nb - |common|, the common columns by a
             * merge. */
            while (p < pe && q < qe) {
                const kms_idx ca = (kms_idx)ind[p], cb = (kms_idx)ind[q];
                both += ca == cb;
                p += ca <= cb;
                q += cb <= ca;
            }
            counts[t] = na + nb - both;
        }
        if (tid == 0) {
            work0 = work;
        }
    }
    return stop ? KMS_ERR_INTERRUPTED : KMS_OK;
}
