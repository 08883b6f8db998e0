/*
 * kmsmote C core: CSR kernels (k-means, neighbours + pair sum, generation),
 * bit-identical to the dense kernels on the same matrix stored densely.
 *
 * k-means: the drivers of kms_kmeans_drv.inc over CSR hooks.  A row's dot
 * products with the centres run over its stored entries, vectorised across
 * the centres (held feature-major); the Lloyd centre sums of a chunk add
 * the stored entries into a thread-private k x d buffer, remember which
 * cells they touched, and the chunks are merged in chunk order (an OpenMP
 * ordered section) through those cells only.
 *
 * Neighbours: the dense kernel's tiles (row blocks I against column blocks
 * J >= I, super-blocks of KMS_KNN_SUPER row blocks per work unit) in the
 * same order.  Block J's stored entries are merged into one list sorted by
 * column; a row i of block I sweeps that list once: an entry of member j
 * at a column i does not store adds b^2 to j's accumulator, and each
 * stored entry a of row i adds (a - b_j)^2 (b_j = 0 if absent) to all 64
 * accumulators at once.  Every accumulator thus receives its terms in
 * ascending column order, the dense kernel's sum without its +0 terms.
 * The rows are then consumed exactly as the dense kernel consumes them
 * (kms__knn_consume_row).
 *
 * Generation: two phases, a count (union of the two rows' columns) and a
 * fill (merge, dense arithmetic per column, keep the non-zeros).
 *
 * Instances: kms_sparse_idx.inc per index type (int32, int64), then
 * kms_sparse.inc per element and index type.
 */
#include "kms_sparse.h"
#include "kms_knn_internal.h"

/* Column index past every real one: ends a row in the merges. */
#define KMS_CSR_END INT64_MAX

/* The three arrays of an n-row CSR matrix are usable: indptr given, and
 * data and indices too unless the matrix stores nothing. */
#define kms__csr_ptrs_ok(data, indices, indptr, n)                            \
    ((indptr) != NULL &&                                                      \
     (((data) != NULL && (indices) != NULL) || (indptr)[n] == (indptr)[0]))

/* One stored entry of a column block, for the neighbour sweep: column,
 * member (0 .. 63 within the block), value and squared value. */
typedef struct kms__jent {
    kms_idx col;
    kms_idx j;
    double b;
    double bsq;
} kms__jent;

/* Merge the sorted runs a[run[r] .. run[r+1]), r < nrun, into one run
 * sorted by column (stable), ping-ponging between a and b; returns the
 * buffer that holds the result.  run[] is overwritten. */
static kms__jent *kms__jlist_merge_runs(kms__jent *a, kms__jent *b,
                                        kms_idx *run, kms_idx nrun)
{
    while (nrun > 1) {
        kms_idx w = 0;
        for (kms_idx r = 0; r < nrun; r += 2) {
            const kms_idx s0 = run[r];
            if (r + 1 == nrun) {
                const kms_idx e0 = run[r + 1];
                memcpy(b + s0, a + s0, (size_t)(e0 - s0) * sizeof(kms__jent));
                run[w++] = s0;
                continue;
            }
            const kms_idx s1 = run[r + 1], e1 = run[r + 2];
            kms_idx p = s0, q = s1, o = s0;
            while (p < s1 && q < e1) {
                b[o++] = a[q].col < a[p].col ? a[q++] : a[p++];
            }
            while (p < s1) {
                b[o++] = a[p++];
            }
            while (q < e1) {
                b[o++] = a[q++];
            }
            run[w++] = s0;
        }
        run[w] = run[nrun];
        nrun = w;
        kms__jent *t = a;
        a = b;
        b = t;
    }
    return a;
}

/* acc[c] += (a - tmp[c])^2 for c < n: one stored entry of the sweeping row
 * against every member of the block (tmp[c] = b_c, or 0 if absent). */
static inline void kms__sweep_flush(double a, const double *restrict tmp,
                                    kms_idx n, double *restrict acc)
{
    for (kms_idx c = 0; c < n; c++) {
        const double t = a - tmp[c];
        acc[c] += t * t;
    }
}

#define KMS_I int32_t
#define KMS_IFN(name) name##_i32
#include "kms_sparse_idx.inc"

#define KMS_T double
#define KMS_FN(name) name##_f64_i32
#include "kms_sparse.inc"
#undef KMS_T
#undef KMS_FN

#define KMS_T float
#define KMS_FN(name) name##_f32_i32
#include "kms_sparse.inc"
#undef KMS_T
#undef KMS_FN

#undef KMS_I
#undef KMS_IFN

#define KMS_I int64_t
#define KMS_IFN(name) name##_i64
#include "kms_sparse_idx.inc"

#define KMS_T double
#define KMS_FN(name) name##_f64_i64
#include "kms_sparse.inc"
#undef KMS_T
#undef KMS_FN

#define KMS_T float
#define KMS_FN(name) name##_f32_i64
#include "kms_sparse.inc"
#undef KMS_T
#undef KMS_FN

#undef KMS_I
#undef KMS_IFN
