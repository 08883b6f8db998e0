/*
 * kmsmote C core: SMOTE interpolation (float64 and float32 instances).
 */
#include "kms_generate.h"
#include "kms_internal.h"

#define KMS_T double
#define KMS_FN(name) name##_f64
#include "kms_generate.inc"
#undef KMS_T
#undef KMS_FN

#define KMS_T float
#define KMS_FN(name) name##_f32
#include "kms_generate.inc"
#undef KMS_T
#undef KMS_FN

#include <string.h>

/* Rows per work unit of kms_copy_rows: about 1 MiB. */
static kms_idx kms__copy_unit_rows(kms_idx row_bytes)
{
    const kms_idx target = (kms_idx)1 << 20;
    return row_bytes >= target ? 1 : target / row_bytes;
}

int kms_copy_rows(const void *src, void *dst, kms_idx n_rows, kms_idx row_bytes,
                  const kms_ctx *ctx)
{
    if (n_rows < 0 || row_bytes < 0) {
        return KMS_ERR_BAD_SHAPE;
    }
    if (n_rows == 0 || row_bytes == 0) {
        return KMS_OK;
    }
    if (src == NULL || dst == NULL || n_rows > INT64_MAX / row_bytes) {
        return KMS_ERR_BAD_SHAPE;
    }
    const char *restrict from = (const char *)src;
    char *restrict to = (char *)dst;
    const kms_idx unit = kms__copy_unit_rows(row_bytes);
    const kms_idx n_units = (n_rows + unit - 1) / unit;
    const int nt = kms__threads(ctx, n_units);
    (void)nt; /* read by the OpenMP pragma only */
    kms__poller poller = kms__poller_init(ctx);
    int stop = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const kms_idx r0 = u * unit;
        const kms_idx r1 = KMS_MIN(n_rows, r0 + unit);
        if (kms__flag_get(&stop)) {
            continue;
        }
        if (KMS_THREAD_ID() == 0 && kms__poll(&poller, (r1 - r0) * row_bytes / 8)) {
            kms__flag_set(&stop);
            continue;
        }
        memcpy(to + r0 * row_bytes, from + r0 * row_bytes, (size_t)((r1 - r0) * row_bytes));
    }
    return stop ? KMS_ERR_INTERRUPTED : KMS_OK;
}
