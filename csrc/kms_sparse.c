/*
 * kmsmote C core: CSR kernels (k-means, neighbours + pair sum, generation),
 * bit-identical to the dense kernels on the same matrix stored densely.
 *
 * k-means: the drivers of kms_kmeans_drv.inc over CSR hooks.  A row's dot
 * products with the centres run over its stored entries, vectorised across
 * the centres (held feature-major); the Lloyd centre sums of a chunk add
 * the stored entries into a thread-private k x d buffer and remember which
 * cells they touched; those cells' sums go to the chunk's slot, and the
 * slots are added to the totals in chunk order.
 *
 * Neighbours: the dense kernel's tiles (row blocks I against column blocks
 * J >= I, super-blocks of KMS_KNN_SUPER row blocks per work unit) in the
 * same order.  Block J's stored entries are merged into one list sorted by
 * column; a row i of block I sweeps that list once (kms__sweep_body): an
 * entry of member j at a column i does not store adds b^2 to j's
 * accumulator, and each stored entry a of row i adds (a - b_j)^2 (b_j = 0
 * if absent) to all 64 accumulators at once.  Every accumulator thus receives its terms in
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

/* Upper bound on the memory of the (cell, sum) slots of one wave of Lloyd
 * chunks; at least one chunk per thread is kept.
 * Overridable at compile time (the C tests use 1: waves of one chunk per
 * thread); no result depends on it. */
#ifndef KMS_CSR_SLOT_BYTES
#define KMS_CSR_SLOT_BYTES ((size_t)16 << 20)
#endif

/* Most super-blocks (of KMS_KNN_SUPER row blocks) per neighbour work unit:
 * one sorted column block serves all of them.  Changes no result. */
#define KMS_CSR_KNN_GROUP 4

/* Column index past every real one: ends a row in the merges. */
#define KMS_CSR_END INT64_MAX

/* The three arrays of an n-row CSR matrix are usable: indptr given, and
 * data and indices too unless the matrix stores nothing. */
#define kms__csr_ptrs_ok(data, indices, indptr, n)                            \
    ((indptr) != NULL &&                                                      \
     (((data) != NULL && (indices) != NULL) || (indptr)[n] == (indptr)[0]))

/* One stored entry of a column block while the block's list is sorted:
 * column, member (0 .. 63 within the block) and value. */
typedef struct kms__jent {
    kms_idx col;
    kms_idx j;
    double b;
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

/* A column block's stored entries, sorted by column, as arrays, with a
 * bucket index: bucket[c >> shift] is the first entry whose column is >=
 * (c >> shift) << shift (buckets of about one entry). */
typedef struct kms__jblock {
    kms_idx n;
    kms_idx *col;
    int32_t *jj;
    double *b;
    double *bsq;
    kms_idx *bucket; /* room for 2 * capacity + 2 */
    int shift;
} kms__jblock;

/* Fill B from the sorted list E of n entries (d columns). */
static void kms__jblock_fill(kms__jblock *B, const kms__jent *E, kms_idx n,
                             kms_idx d)
{
    B->n = n;
    for (kms_idx q = 0; q < n; q++) {
        B->col[q] = E[q].col;
        B->jj[q] = (int32_t)E[q].j;
        B->b[q] = E[q].b;
        B->bsq[q] = E[q].b * E[q].b;
    }
    int shift = 0;
    while ((d >> shift) > 2 * KMS_MAX(n, (kms_idx)1)) {
        shift++;
    }
    B->shift = shift;
    const kms_idx nbk = (d >> shift) + 1;
    kms_idx bk = 0;
    for (kms_idx q = 0; q < n; q++) {
        const kms_idx bq = B->col[q] >> shift;
        while (bk <= bq) {
            B->bucket[bk++] = q;
        }
    }
    while (bk < nbk) {
        B->bucket[bk++] = n;
    }
}

/* Squared distances of one row (na stored entries: ascending columns icol,
 * values ival) to the ncJ members of block B: acc[c], c < ncJ, each the
 * sum over the union of the two rows' columns, in ascending column order,
 * of (a - b)^2.  B's entries at columns the row does not store add
 * (0 - b)^2 = b^2 to their member's accumulator (a scatter between two
 * consecutive columns of the row); each entry a of the row then adds
 * (a - tmp[c])^2 to all ncJ accumulators at once, tmp[c] holding member
 * c's value at that column (0 if absent).  tmp[BLOCK] must be zero and is
 * left zero; hit[BLOCK] is scratch. */
static inline __attribute__((always_inline)) void
kms__sweep_body(const kms__jblock *restrict B, const kms_idx *restrict icol,
                const double *restrict ival, kms_idx na, kms_idx ncJ,
                double *restrict acc, double *restrict tmp,
                int32_t *restrict hit)
{
    const kms_idx *restrict col = B->col;
    const int32_t *restrict jj = B->jj;
    const double *restrict bsq = B->bsq;
    const kms_idx n = B->n;
    kms_idx e = 0;
    for (kms_idx c = 0; c < ncJ; c++) {
        acc[c] = 0.0;
    }
    for (kms_idx p = 0; p < na; p++) {
        const kms_idx ci = icol[p];
        kms_idx lo = B->bucket[ci >> B->shift];
        lo = lo > e ? lo : e;
        while (lo < n && col[lo] < ci) {
            lo++;
        }
        for (kms_idx q = e; q < lo; q++) {
            acc[jj[q]] += bsq[q];
        }
        int n_hit = 0;
        while (lo < n && col[lo] == ci) {
            tmp[jj[lo]] = B->b[lo];
            hit[n_hit++] = jj[lo];
            lo++;
        }
        e = lo;
        const double a = ival[p];
        for (kms_idx c = 0; c < ncJ; c++) {
            const double t = a - tmp[c];
            acc[c] += t * t;
        }
        for (int h = 0; h < n_hit; h++) {
            tmp[hit[h]] = 0.0;
        }
    }
    for (kms_idx q = e; q < n; q++) {
        acc[jj[q]] += bsq[q];
    }
}

typedef void (*kms__sweep_fn)(const kms__jblock *B, const kms_idx *icol,
                              const double *ival, kms_idx na, kms_idx ncJ,
                              double *acc, double *tmp, int32_t *hit);

static void kms__sweep_base(const kms__jblock *B, const kms_idx *icol,
                            const double *ival, kms_idx na, kms_idx ncJ,
                            double *acc, double *tmp, int32_t *hit)
{
    kms__sweep_body(B, icol, ival, na, ncJ, acc, tmp, hit);
}

#if KMS_X86_DISPATCH
/* The same operations; AVX2 only widens the 64-lane updates (no FMA). */
__attribute__((target("avx2")))
static void kms__sweep_avx2(const kms__jblock *B, const kms_idx *icol,
                            const double *ival, kms_idx na, kms_idx ncJ,
                            double *acc, double *tmp, int32_t *hit)
{
    kms__sweep_body(B, icol, ival, na, ncJ, acc, tmp, hit);
}
#endif

static kms__sweep_fn kms__sweep_kernel(void)
{
#if KMS_X86_DISPATCH
    if (kms__avx2_enabled()) {
        return kms__sweep_avx2;
    }
#endif
    return kms__sweep_base;
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
