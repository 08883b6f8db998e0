/*
 * kmsmote C core: SMOTE interpolation (float64 and float32 instances).
 */
#include "kms_generate.h"
#include "kms_internal.h"

#define KMS_T double
#define KMS_FN_GENERATE kms_generate_f64
#include "templates/generate_dense.template.c"
#undef KMS_T
#undef KMS_FN_GENERATE

#define KMS_T float
#define KMS_FN_GENERATE kms_generate_f32
#include "templates/generate_dense.template.c"
#undef KMS_T
#undef KMS_FN_GENERATE

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

/* Values per work unit of kms_abs_max: 512 KiB of doubles. */
#define KMS__ABS_MAX_UNIT ((kms_idx)1 << 16)

/* Largest |v[i]| of one unit, and whether it holds a NaN. */
#define KMS__DEFINE_UNIT_MAX(SUFFIX, TYPE, FABS)                              \
    static double kms__unit_max_##SUFFIX(const TYPE *restrict v, kms_idx len, \
                                         int *nan)                            \
    {                                                                         \
        /* Eight running maxima (independent, so they vectorise); a NaN   \
         * never wins a > m, and is counted aside. */                         \
        TYPE m[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                 \
        int bad[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                \
        kms_idx i = 0;                                                        \
        for (; i + 8 <= len; i += 8) {                                        \
            for (int l = 0; l < 8; l++) {                                     \
                const TYPE a = FABS(v[i + l]);                                \
                m[l] = a > m[l] ? a : m[l];                                   \
                bad[l] |= a != a;                                             \
            }                                                                 \
        }                                                                     \
        for (int l = 0; i + l < len; l++) {                                   \
            const TYPE a = FABS(v[i + l]);                                    \
            m[l] = a > m[l] ? a : m[l];                                       \
            bad[l] |= a != a;                                                 \
        }                                                                     \
        TYPE top = 0;                                                         \
        int any = 0;                                                          \
        for (int l = 0; l < 8; l++) {                                         \
            top = m[l] > top ? m[l] : top;                                    \
            any |= bad[l];                                                    \
        }                                                                     \
        *nan = any;                                                           \
        return (double)top;                                                   \
    }

KMS__DEFINE_UNIT_MAX(f64, double, fabs)
KMS__DEFINE_UNIT_MAX(f32, float, fabsf)

/* The units spread over the threads; max and | are order-free. */
#define KMS__ABS_MAX_BODY(SUFFIX)                                             \
    if (n < 0 || out == NULL || (n > 0 && x == NULL)) {                       \
        return KMS_ERR_BAD_SHAPE;                                             \
    }                                                                         \
    const kms_idx n_units = (n + KMS__ABS_MAX_UNIT - 1) / KMS__ABS_MAX_UNIT;  \
    const int nt = kms__threads(ctx, n_units);                                \
    (void)nt;                                                                 \
    double peak = 0.0;                                                        \
    int nan = 0;                                                              \
    KMS__ABS_MAX_LOOP                                                         \
    for (kms_idx u = 0; u < n_units; u++) {                                   \
        int bad;                                                              \
        const kms_idx u0 = u * KMS__ABS_MAX_UNIT;                             \
        const double m = kms__unit_max_##SUFFIX(                              \
            x + u0, KMS_MIN(KMS__ABS_MAX_UNIT, n - u0), &bad);                \
        peak = m > peak ? m : peak;                                           \
        nan |= bad;                                                           \
    }                                                                         \
    *out = nan ? (double)NAN : peak;                                          \
    return KMS_OK;

#ifdef _OPENMP
#define KMS__ABS_MAX_LOOP                                                     \
    _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static) reduction(max : peak) reduction(| : nan)")
#else
#define KMS__ABS_MAX_LOOP
#endif

int kms_abs_max_f64(const double *x, kms_idx n, double *out, const kms_ctx *ctx)
{
    KMS__ABS_MAX_BODY(f64)
}

int kms_abs_max_f32(const float *x, kms_idx n, double *out, const kms_ctx *ctx)
{
    KMS__ABS_MAX_BODY(f32)
}
