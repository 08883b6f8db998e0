/*
 * kmsmote C core template: SMOTE interpolation on dense rows, one element
 * type.
 *
 * Included by kms_generate.c.  Expects:
 *
 *   KMS_T            element type (double or float)
 *   KMS_FN_GENERATE  the public name this instance defines
 */
#ifndef KMS_T
#error "generate_dense.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_FN_GENERATE
#error "generate_dense.template.c: define KMS_FN_GENERATE before including this template"
#endif

int KMS_FN_GENERATE(const KMS_T *X, kms_idx n_total, kms_idx d,
                    const kms_idx *rows, kms_idx m,
                    const kms_idx *nn, kms_idx k,
                    const kms_idx *sample_idx, const double *steps,
                    kms_idx n_new, KMS_T *out, const kms_ctx *ctx)
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
    if (sample_idx == NULL || steps == NULL || nn == NULL || rows == NULL ||
        (out == NULL && d > 0)) {
        return KMS_ERR_BAD_SHAPE;
    }
    const KMS_T *restrict Xr = X;
    const kms_idx *restrict rws = rows;
    const kms_idx *restrict nnr = nn;
    const kms_idx *restrict sidx = sample_idx;
    const double *restrict st = steps;
    KMS_T *restrict o = out;

    const kms_idx n_units = (n_new + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const int nt = kms__threads(ctx, n_units);
    (void)nt; /* read by the OpenMP pragmas only */
    kms__poller poller = kms__poller_init(ctx);

    /* Validate every index before the first write. */
    int bad = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) \
    reduction(| : bad)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const kms_idx t1 = KMS_MIN(n_new, (u + 1) * KMS_CHUNK_ROWS);
        for (kms_idx t = u * KMS_CHUNK_ROWS; t < t1; t++) {
            const kms_idx s = sidx[t];
            if (s < 0 || s >= mk) {
                bad = 1;
                continue;
            }
            const kms_idx i = s / k;
            const kms_idx j = nnr[s];
            if (j < 0 || j >= m) {
                bad = 1;
                continue;
            }
            const kms_idx ri = rws[i];
            const kms_idx rj = rws[j];
            bad |= (ri < 0) | (ri >= n_total) | (rj < 0) | (rj >= n_total);
        }
    }
    if (bad) {
        return KMS_ERR_BAD_INDEX;
    }
    if (d == 0) {
        return KMS_OK;
    }

    /* One chunk of new rows per work unit; thread 0 polls for interrupts
     * between its chunks (dynamic schedule: it never idles at the barrier
     * while chunks remain). */
    int stop = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const kms_idx t0 = u * KMS_CHUNK_ROWS;
        const kms_idx t1 = KMS_MIN(n_new, t0 + KMS_CHUNK_ROWS);
        if (kms__flag_get(&stop)) {
            continue;
        }
        if (KMS_THREAD_ID() == 0 && kms__poll(&poller, (t1 - t0) * d)) {
            kms__flag_set(&stop);
            continue;
        }
        for (kms_idx t = t0; t < t1; t++) {
            const kms_idx s = sidx[t];
            const KMS_T *restrict base = Xr + rws[s / k] * d;
            const KMS_T *restrict other = Xr + rws[nnr[s]] * d;
            const double step = st[t];
            KMS_T *restrict dst = o + t * d;
            for (kms_idx f = 0; f < d; f++) {
                /* NumPy: diff = other - base in the element type, then
                 * base + step * diff in double, rounded once. */
                const KMS_T diff = (KMS_T)(other[f] - base[f]);
                dst[f] = (KMS_T)((double)base[f] + step * (double)diff);
            }
        }
    }
    return stop ? KMS_ERR_INTERRUPTED : KMS_OK;
}
