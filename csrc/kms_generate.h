/*
 * kmsmote C core: SMOTE interpolation.
 */
#ifndef KMSMOTE_KMS_GENERATE_H
#define KMSMOTE_KMS_GENERATE_H

#include "kms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write n_new synthetic rows into out (row-major, n_new * d):
 *
 *   s    = sample_idx[t],  i = s / k,  j = nn[s]   (positions in the set)
 *   base = X[rows[i]],     other = X[rows[j]]
 *   out[t] = base + steps[t] * (other - base)
 *
 * with NumPy's rounding: the difference is rounded to the element type
 * first, then base + step * diff is evaluated in double and rounded once to
 * the element type.  sample_idx must lie in [0, m*k), nn in [0, m) and rows
 * in [0, n_total) (KMS_ERR_BAD_INDEX otherwise, before anything is
 * written).  NaN and infinity propagate as in NumPy.  out must not overlap
 * X. */
int kms_generate_f64(const double *X, kms_idx n_total, kms_idx d,
                     const kms_idx *rows, kms_idx m,
                     const kms_idx *nn, kms_idx k,
                     const kms_idx *sample_idx, const double *steps,
                     kms_idx n_new, double *out, const kms_ctx *ctx);
int kms_generate_f32(const float *X, kms_idx n_total, kms_idx d,
                     const kms_idx *rows, kms_idx m,
                     const kms_idx *nn, kms_idx k,
                     const kms_idx *sample_idx, const double *steps,
                     kms_idx n_new, float *out, const kms_ctx *ctx);

/* Copy n_rows rows of row_bytes bytes each from src to dst (both packed,
 * not overlapping), in chunks of rows spread over ctx's threads, polling
 * for interrupts between chunks.  Used to place the original rows at the
 * top of the output: the first write to fresh memory costs a page fault per
 * page, and several threads take those faults side by side. */
int kms_copy_rows(const void *src, void *dst, kms_idx n_rows, kms_idx row_bytes,
                  const kms_ctx *ctx);

/* *out = the largest |x[i]|, i < n (0 if n == 0), NaN if some x[i] is NaN;
 * one pass spread over ctx's threads (the result does not depend on
 * them).  What the facade needs to know of the values before it starts:
 * whether they are finite, and how large. */
int kms_abs_max_f64(const double *x, kms_idx n, double *out, const kms_ctx *ctx);
int kms_abs_max_f32(const float *x, kms_idx n, double *out, const kms_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KMSMOTE_KMS_GENERATE_H */
