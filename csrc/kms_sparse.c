/*
 * kmsmote C core: CSR kernels (k-means, neighbours + pair sum, generation),
 * bit-identical to the dense kernels on the same matrix stored densely.
 *
 * k-means: the drivers of kmeans_driver.template.c over CSR hooks.  A row's dot
 * products with the centres run over its stored entries, vectorised across
 * the centres (held feature-major); the Lloyd centre sums of a chunk add
 * the stored entries into a thread-private k x d buffer and remember which
 * cells they touched; those cells' sums go to the chunk's slot, and the
 * slots are added to the totals in chunk order.
 *
 * Neighbours: row by row, in the dense kernel's super-blocks.  An inverted
 * index of the set (column -> members storing it, in ascending position)
 * gives a row's dot products with all the members after it at the cost of
 * its shared-column postings, each summed in ascending column order (the
 * dense dot product without its +-0 terms).  The row's pieces, one per
 * column block in ascending order, are then consumed as the dense kernel
 * consumes the same pieces of its tiles: expansion values for the pair sum
 * and the screening, exact merged differences (the dense kernel's sums
 * without their +0 terms) for the pairs that may enter a list
 * (kms_knn_internal.h).
 *
 * Generation: two phases, a count (union of the two rows' columns) and a
 * fill (merge, dense arithmetic per column, keep the non-zeros).
 *
 * Instances, at the end of this file (every public name written out
 * there): templates/csr_index.template.c per index type (int32, int64),
 * then per element and index type csr_values, kmeans_csr, knn_csr,
 * generate_csr and approx_csr (the CSR half of kms_approx.h).
 */
#include "kms_sparse.h"
#include "kms_approx.h"
#include "kms_knn_internal.h"

/* Upper bound on the memory of the (cell, sum) slots of one wave of Lloyd
 * chunks; at least one chunk per thread is kept.
 * Overridable at compile time (the C tests use 1: waves of one chunk per
 * thread); no result depends on it. */
#ifndef KMS_CSR_SLOT_BYTES
#define KMS_CSR_SLOT_BYTES ((size_t)16 << 20)
#endif

/* Column index past every real one: ends a row in the merges. */
#define KMS_CSR_END INT64_MAX

/* The three arrays of an n-row CSR matrix are usable: indptr given, and
 * data and indices too unless the matrix stores nothing. */
#define kms__csr_ptrs_ok(data, indices, indptr, n)                            \
    ((indptr) != NULL &&                                                      \
     (((data) != NULL && (indices) != NULL) || (indptr)[n] == (indptr)[0]))

/* qsort order of column indices. */
static int kms__idx_cmp(const void *a, const void *b)
{
    const kms_idx x = *(const kms_idx *)a, y = *(const kms_idx *)b;
    return (x > y) - (x < y);
}

/* Slot of column f in the inverted index: f itself, or its rank among the
 * sorted distinct columns ucols[0 .. n) (f is one of them). */
static inline kms_idx kms__slot(const kms_idx *restrict ucols, kms_idx n,
                                kms_idx f)
{
    if (ucols == NULL) {
        return f;
    }
    kms_idx lo = 0, hi = n;
    while (hi - lo > 1) {
        const kms_idx mid = lo + (hi - lo) / 2;
        if (ucols[mid] <= f) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* One row piece of the CSR neighbour kernel: member i (squared norm nrm_i)
 * against the members j0 + c, c < n (squared norms nrmJ[c], dot products
 * dot[c], which are reset to 0): the expansion values (kms__expand, the
 * dense kernel's expansion strip's operations), their square roots, then
 * kms__knn_consume_row_screened.  An AVX2 variant (the same IEEE
 * operations, wider) where the CPU has it. */
typedef void (*kms__csr_row_fn)(double *dot, const double *nrmJ, double nrm_i,
                                kms_idx n, kms_idx j0, kms_idx i, kms_idx k,
                                double *ldist, kms_idx *lpos, double *worstJ,
                                kms__ksum *acc, kms__screen scr, double *ev,
                                double *sq, kms__exact_fn exact,
                                const void *src);

#define KMS__CSR_ROW_PARAMS                                                   \
    double *restrict dot, const double *restrict nrmJ, double nrm_i,          \
        kms_idx n, kms_idx j0, kms_idx i, kms_idx k, double *restrict ldist,  \
        kms_idx *restrict lpos, double *restrict worstJ, kms__ksum *acc,      \
        kms__screen scr, double *restrict ev, double *restrict sq,            \
        kms__exact_fn exact, const void *src

#define KMS__CSR_ROW_BODY(CONSUME)                                            \
    for (kms_idx c = 0; c < n; c++) {                                         \
        ev[c] = kms__expand(nrmJ[c], dot[c], nrm_i);                          \
        dot[c] = 0.0;                                                         \
    }                                                                         \
    for (kms_idx c = 0; c < n; c++) {                                         \
        sq[c] = sqrt(ev[c]);                                                  \
    }                                                                         \
    CONSUME(ev, sq, n, j0, i, k, ldist, lpos, worstJ, acc, nrmJ, nrm_i, scr,  \
            exact, src);

static void kms__csr_row_base(KMS__CSR_ROW_PARAMS)
{
    KMS__CSR_ROW_BODY(kms__knn_consume_row_screened)
}

#if KMS_X86_DISPATCH
__attribute__((target("avx2")))
static void kms__csr_row_avx2(KMS__CSR_ROW_PARAMS)
{
    KMS__CSR_ROW_BODY(kms__knn_consume_row_screened_avx2)
}
#endif

static kms__csr_row_fn kms__csr_row_kernel(void)
{
#if KMS_X86_DISPATCH
    if (kms__avx2_enabled()) {
        return kms__csr_row_avx2;
    }
#endif
    return kms__csr_row_base;
}

#define KMS_I int32_t
#define KMS_ILOCAL(name) name##_i32
#define KMS_FN_CSR_GENERATE_COUNT kms_csr_generate_count_i32
#include "templates/csr_index.template.c"
#undef KMS_FN_CSR_GENERATE_COUNT

#define KMS_T double
#define KMS_LOCAL(name) name##_f64_i32
#define KMS_FN_CSR_ASSIGN kms_csr_assign_f64_i32
#define KMS_FN_CSR_LLOYD kms_csr_lloyd_f64_i32
#define KMS_FN_CSR_KMEANSPP kms_csr_kmeanspp_f64_i32
#define KMS_FN_CSR_KNN_SPARSITY kms_csr_knn_sparsity_f64_i32
#define KMS_FN_CSR_KNN_SPARSITY_SETS kms_csr_knn_sparsity_sets_f64_i32
#define KMS_FN_CSR_GENERATE_FILL kms_csr_generate_fill_f64_i32
#define KMS_FN_CSR_PAIR_DISTANCES kms_csr_pair_distances_f64_i32
#define KMS_FN_CSR_NEAREST_CENTERS kms_csr_nearest_centers_f64_i32
#define KMS_FN_CSR_SAMPLE_PAIR_DISTANCES kms_csr_sample_pair_distances_f64_i32
#include "templates/csr_values.template.c"
#include "templates/kmeans_csr.template.c"
#include "templates/knn_csr.template.c"
#include "templates/generate_csr.template.c"
#include "templates/approx_csr.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_FN_CSR_ASSIGN
#undef KMS_FN_CSR_LLOYD
#undef KMS_FN_CSR_KMEANSPP
#undef KMS_FN_CSR_KNN_SPARSITY
#undef KMS_FN_CSR_KNN_SPARSITY_SETS
#undef KMS_FN_CSR_GENERATE_FILL
#undef KMS_FN_CSR_PAIR_DISTANCES
#undef KMS_FN_CSR_NEAREST_CENTERS
#undef KMS_FN_CSR_SAMPLE_PAIR_DISTANCES

#define KMS_T float
#define KMS_LOCAL(name) name##_f32_i32
#define KMS_FN_CSR_ASSIGN kms_csr_assign_f32_i32
#define KMS_FN_CSR_LLOYD kms_csr_lloyd_f32_i32
#define KMS_FN_CSR_KMEANSPP kms_csr_kmeanspp_f32_i32
#define KMS_FN_CSR_KNN_SPARSITY kms_csr_knn_sparsity_f32_i32
#define KMS_FN_CSR_KNN_SPARSITY_SETS kms_csr_knn_sparsity_sets_f32_i32
#define KMS_FN_CSR_GENERATE_FILL kms_csr_generate_fill_f32_i32
#define KMS_FN_CSR_PAIR_DISTANCES kms_csr_pair_distances_f32_i32
#define KMS_FN_CSR_NEAREST_CENTERS kms_csr_nearest_centers_f32_i32
#define KMS_FN_CSR_SAMPLE_PAIR_DISTANCES kms_csr_sample_pair_distances_f32_i32
#include "templates/csr_values.template.c"
#include "templates/kmeans_csr.template.c"
#include "templates/knn_csr.template.c"
#include "templates/generate_csr.template.c"
#include "templates/approx_csr.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_FN_CSR_ASSIGN
#undef KMS_FN_CSR_LLOYD
#undef KMS_FN_CSR_KMEANSPP
#undef KMS_FN_CSR_KNN_SPARSITY
#undef KMS_FN_CSR_KNN_SPARSITY_SETS
#undef KMS_FN_CSR_GENERATE_FILL
#undef KMS_FN_CSR_PAIR_DISTANCES
#undef KMS_FN_CSR_NEAREST_CENTERS
#undef KMS_FN_CSR_SAMPLE_PAIR_DISTANCES

#undef KMS_I
#undef KMS_ILOCAL

#define KMS_I int64_t
#define KMS_ILOCAL(name) name##_i64
#define KMS_FN_CSR_GENERATE_COUNT kms_csr_generate_count_i64
#include "templates/csr_index.template.c"
#undef KMS_FN_CSR_GENERATE_COUNT

#define KMS_T double
#define KMS_LOCAL(name) name##_f64_i64
#define KMS_FN_CSR_ASSIGN kms_csr_assign_f64_i64
#define KMS_FN_CSR_LLOYD kms_csr_lloyd_f64_i64
#define KMS_FN_CSR_KMEANSPP kms_csr_kmeanspp_f64_i64
#define KMS_FN_CSR_KNN_SPARSITY kms_csr_knn_sparsity_f64_i64
#define KMS_FN_CSR_KNN_SPARSITY_SETS kms_csr_knn_sparsity_sets_f64_i64
#define KMS_FN_CSR_GENERATE_FILL kms_csr_generate_fill_f64_i64
#define KMS_FN_CSR_PAIR_DISTANCES kms_csr_pair_distances_f64_i64
#define KMS_FN_CSR_NEAREST_CENTERS kms_csr_nearest_centers_f64_i64
#define KMS_FN_CSR_SAMPLE_PAIR_DISTANCES kms_csr_sample_pair_distances_f64_i64
#include "templates/csr_values.template.c"
#include "templates/kmeans_csr.template.c"
#include "templates/knn_csr.template.c"
#include "templates/generate_csr.template.c"
#include "templates/approx_csr.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_FN_CSR_ASSIGN
#undef KMS_FN_CSR_LLOYD
#undef KMS_FN_CSR_KMEANSPP
#undef KMS_FN_CSR_KNN_SPARSITY
#undef KMS_FN_CSR_KNN_SPARSITY_SETS
#undef KMS_FN_CSR_GENERATE_FILL
#undef KMS_FN_CSR_PAIR_DISTANCES
#undef KMS_FN_CSR_NEAREST_CENTERS
#undef KMS_FN_CSR_SAMPLE_PAIR_DISTANCES

#define KMS_T float
#define KMS_LOCAL(name) name##_f32_i64
#define KMS_FN_CSR_ASSIGN kms_csr_assign_f32_i64
#define KMS_FN_CSR_LLOYD kms_csr_lloyd_f32_i64
#define KMS_FN_CSR_KMEANSPP kms_csr_kmeanspp_f32_i64
#define KMS_FN_CSR_KNN_SPARSITY kms_csr_knn_sparsity_f32_i64
#define KMS_FN_CSR_KNN_SPARSITY_SETS kms_csr_knn_sparsity_sets_f32_i64
#define KMS_FN_CSR_GENERATE_FILL kms_csr_generate_fill_f32_i64
#define KMS_FN_CSR_PAIR_DISTANCES kms_csr_pair_distances_f32_i64
#define KMS_FN_CSR_NEAREST_CENTERS kms_csr_nearest_centers_f32_i64
#define KMS_FN_CSR_SAMPLE_PAIR_DISTANCES kms_csr_sample_pair_distances_f32_i64
#include "templates/csr_values.template.c"
#include "templates/kmeans_csr.template.c"
#include "templates/knn_csr.template.c"
#include "templates/generate_csr.template.c"
#include "templates/approx_csr.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_FN_CSR_ASSIGN
#undef KMS_FN_CSR_LLOYD
#undef KMS_FN_CSR_KMEANSPP
#undef KMS_FN_CSR_KNN_SPARSITY
#undef KMS_FN_CSR_KNN_SPARSITY_SETS
#undef KMS_FN_CSR_GENERATE_FILL
#undef KMS_FN_CSR_PAIR_DISTANCES
#undef KMS_FN_CSR_NEAREST_CENTERS
#undef KMS_FN_CSR_SAMPLE_PAIR_DISTANCES

#undef KMS_I
#undef KMS_ILOCAL
