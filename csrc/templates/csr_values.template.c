/*
 * kmsmote C core template: CSR helpers that read the stored values, one
 * element type and one index type.
 *
 * Included by kms_sparse.c before the CSR kernel templates of the same
 * types.  Expects:
 *
 *   KMS_T            element type (double or float)
 *   KMS_I            index type (int32_t or int64_t)
 *   KMS_LOCAL(name)  name with the element and index suffix
 */
#ifndef KMS_T
#error "csr_values.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_I
#error "csr_values.template.c: define KMS_I before including this template"
#endif
#ifndef KMS_LOCAL
#error "csr_values.template.c: define KMS_LOCAL before including this template"
#endif

/* Non-zero if a stored value of the rows rows[0 .. m-1] (0 .. m-1 if rows
 * is NULL) is NaN or infinite.  The structure must have been checked. */
static int KMS_LOCAL(kms__csr_nonfinite)(const KMS_T *restrict data,
                                         const KMS_I *restrict indptr,
                                         const kms_idx *restrict rows, kms_idx m,
                                         const kms_ctx *ctx)
{
    const int nt = kms__threads(ctx, (m + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS);
    (void)nt; /* read by the OpenMP pragmas only */
    int bad = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) \
    reduction(| : bad)
#endif
    for (kms_idx q = 0; q < m; q++) {
        const kms_idx r = rows != NULL ? rows[q] : q;
        int b = 0;
        for (kms_idx p = (kms_idx)indptr[r]; p < (kms_idx)indptr[r + 1]; p++) {
            const double v = (double)data[p];
            b |= (v - v) != 0.0;
        }
        bad |= b;
    }
    return bad;
}
