/*
 * kmsmote C core template: SMOTE interpolation on CSR rows, phase 2 (the
 * fill; phase 1, the count, reads no values and is in
 * csr_index.template.c), one element type and one index type.
 *
 * Included by kms_sparse.c, after csr_index.template.c of the same index
 * type.  Expects:
 *
 *   KMS_T                      element type (double or float)
 *   KMS_I                      index type (int32_t or int64_t)
 *   KMS_ILOCAL(name)           name with the index suffix
 *   KMS_FN_CSR_GENERATE_FILL   the public name this instance defines
 */
#ifndef KMS_T
#error "generate_csr.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_I
#error "generate_csr.template.c: define KMS_I before including this template"
#endif
#ifndef KMS_ILOCAL
#error "generate_csr.template.c: define KMS_ILOCAL before including this template"
#endif
#ifndef KMS_FN_CSR_GENERATE_FILL
#error "generate_csr.template.c: define KMS_FN_CSR_GENERATE_FILL before including this template"
#endif

int KMS_FN_CSR_GENERATE_FILL(const KMS_T *data, const KMS_I *indices,
                             const KMS_I *indptr, kms_idx n_total,
                             kms_idx d, const kms_idx *rows, kms_idx m,
                             const kms_idx *nn, kms_idx k,
                             const kms_idx *sample_idx,
                             const double *steps, kms_idx n_new,
                             const kms_idx *out_indptr, KMS_I *out_indices,
                             KMS_T *out_data, kms_idx *out_nnz,
                             const kms_ctx *ctx)
{
    int status = KMS_ILOCAL(kms__csr_gen_check)(indices, indptr, n_total, d, rows,
                                                m, nn, k, sample_idx, n_new, ctx);
    if (status != KMS_OK || n_new == 0) {
        return status;
    }
    if (!kms__csr_ptrs_ok(data, indices, indptr, n_total) || steps == NULL ||
        out_indptr == NULL || out_nnz == NULL ||
        (out_indptr[n_new] > out_indptr[0] &&
         (out_indices == NULL || out_data == NULL))) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (out_indptr[0] < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    for (kms_idx t = 0; t < n_new; t++) {
        if (out_indptr[t + 1] < out_indptr[t]) {
            return KMS_ERR_BAD_SHAPE;
        }
        if (!isfinite(steps[t])) {
            return KMS_ERR_NONFINITE;
        }
    }

    const KMS_T *restrict x = data;
    const KMS_I *restrict ind = indices;
    KMS_I *restrict oi = out_indices;
    KMS_T *restrict ov = out_data;
    const kms_idx n_units = (n_new + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const int nt = kms__threads(ctx, n_units);
    (void)nt; /* read by the OpenMP pragmas only */
    kms__poller poller = kms__poller_init(ctx);
    /* One chunk of new rows per work unit; thread 0 polls for interrupts
     * between its chunks.  work0: thread 0's last chunk's entries. */
    int stop = 0, overflow = 0, interrupted = 0;
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
            kms__flag_set(&interrupted);
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
            const double step = steps[t];
            const kms_idx o0 = out_indptr[t], o1 = out_indptr[t + 1];
            kms_idx o = o0;
            work += (pe - p) + (qe - q);
            while (p < pe || q < qe) {
                const kms_idx ca = p < pe ? (kms_idx)ind[p] : KMS_CSR_END;
                const kms_idx cb = q < qe ? (kms_idx)ind[q] : KMS_CSR_END;
                const kms_idx col = ca < cb ? ca : cb;
                const KMS_T bv = ca == col ? x[p] : (KMS_T)0;
                const KMS_T obv = cb == col ? x[q] : (KMS_T)0;
                p += ca == col;
                q += cb == col;
                /* NumPy's rounding, as kms_generate: the difference in
                 * the element type, then base + step * diff in double. */
                const KMS_T diff = (KMS_T)(obv - bv);
                const KMS_T v = (KMS_T)((double)bv + step * (double)diff);
                if (v != (KMS_T)0) {
                    if (o == o1) {
                        kms__flag_set(&overflow);
                        kms__flag_set(&stop);
                        break;
                    }
                    oi[o] = (KMS_I)col;
                    ov[o] = v;
                    o++;
                }
            }
            out_nnz[t] = o - o0;
        }
        if (tid == 0) {
            work0 = work;
        }
    }
    if (overflow) {
        return KMS_ERR_BAD_SHAPE;
    }
    return interrupted ? KMS_ERR_INTERRUPTED : KMS_OK;
}
