/*
 * kmsmote C core: shared types, status codes and the call context.
 *
 * Plain C11, no Python.h.  Every public symbol is prefixed kms_.  The caller
 * allocates every output; the kernels allocate scratch only.
 */
#ifndef KMSMOTE_KMS_COMMON_H
#define KMSMOTE_KMS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Index and size type of the C core: 64-bit everywhere, so that n * d never
 * overflows for arrays with more than 2^31 elements. */
typedef int64_t kms_idx;

/* Status codes returned by every kernel (0 = success).  Values are part of
 * the ABI: add, never renumber. */
typedef enum kms_status {
    KMS_OK = 0,
    KMS_ERR_NOMEM = 1,        /* a scratch allocation failed */
    KMS_ERR_BAD_SHAPE = 2,    /* a size argument is negative or inconsistent */
    KMS_ERR_BAD_K = 3,        /* k is < 1 or larger than the set allows */
    KMS_ERR_BAD_INDEX = 4,    /* an index argument points outside its array */
    KMS_ERR_INTERRUPTED = 5,  /* the ctx->interrupted callback asked to stop */
    KMS_ERR_NONFINITE = 6,    /* a NaN or infinity was met where none may be */
    KMS_ERR_BAD_CSR = 7       /* a CSR matrix is malformed: indptr not
                                 non-decreasing, a column index outside
                                 [0, d), or columns not strictly increasing
                                 within a row */
} kms_status;

/* Optional callback polled at chunk boundaries of long loops, from the
 * calling thread only (OpenMP thread 0 inside parallel regions), about
 * every 20 ms of wall time while the kernel runs.  Returns non-zero to ask
 * the kernel to stop with KMS_ERR_INTERRUPTED; the kernel then polls no
 * more, frees its scratch and returns (outputs partly written). */
typedef int (*kms_interrupt_fn)(void *data);

/* Per-call context.  n_threads < 1 means 1.  A NULL ctx means one thread and
 * no interrupt polling.  Results never depend on n_threads.  New fields are
 * only ever appended. */
typedef struct kms_ctx {
    int n_threads;
    kms_interrupt_fn interrupted;
    void *interrupt_data;
} kms_ctx;

/* Rows processed per work unit.  Fixed, so that partial sums are merged in
 * the same order whatever the number of threads. */
#define KMS_CHUNK_ROWS 1024

/* Human readable, static description of a status code. */
const char *kms_status_message(int status);

/* 1 if the core was compiled with OpenMP, 0 otherwise. */
int kms_openmp_enabled(void);

/* Threads OpenMP would use by default (omp_get_max_threads), 1 without it. */
int kms_max_threads(void);

/* The distance kernels' variant this process runs, a static string:
 * "avx2" (chosen at run time on x86 CPUs that have it, unless the
 * environment variable KMSMOTE_SIMD=baseline is set), else the baseline
 * the core was compiled for: "sse2" (x86), "neon" (ARM), "generic" (the
 * compiler's vector extensions on another CPU) or "scalar" (no vector
 * extensions).  Every variant gives bit-identical results. */
const char *kms_simd_variant(void);

#ifdef __cplusplus
}
#endif

#endif /* KMSMOTE_KMS_COMMON_H */
