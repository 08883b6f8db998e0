/*
 * kmsmote C core: k-means++ seeding, Lloyd iterations and nearest-centre
 * assignment (float64 and float32 instances).
 *
 * Rows are processed in chunks of KMS_CHUNK_ROWS; inside a chunk, tiles of
 * KMS_BLOCK rows are gathered to a feature-major double buffer and compared
 * with the centres, so the innermost loop runs over contiguous rows
 * whatever k and d are.  Squared distances are kms__expand(||x||^2, x.c,
 * ||c||^2) with every sum taken over the features in ascending order: the
 * form the CSR kernels (kms_sparse.c) reproduce bit for bit from the
 * stored entries alone.  The drivers themselves are in
 * templates/kmeans_driver.template.c, shared with the CSR kernels;
 * templates/kmeans_dense.template.c holds the dense hooks.
 *
 * Determinism: every reduction (centre sums, counts, inertia, k-means++
 * potentials) is formed per chunk, rows in ascending order, and the chunk
 * results are added in chunk order.  Threads only decide who computes a
 * chunk, never how results are combined, so the output does not depend on
 * the number of threads.
 */
#include "kms_kmeans.h"
#include "kms_internal.h"

/* Upper bound on the memory of the per-chunk centre sums kept at once by
 * Lloyd (the chunks of one wave); at least one chunk per thread is kept.
 * Overridable at compile time (the C tests use 1: waves of one chunk per
 * thread); no result depends on it. */
#ifndef KMS_LLOYD_SLOT_BYTES
#define KMS_LLOYD_SLOT_BYTES ((size_t)64 << 20)
#endif

/* Nearest centre for nr gathered rows (At, feature-major, squared norms
 * xx[round_up(nr, NC)]): best[r] (squared distance) and bestc[r] (centre
 * index as a double; ties go to the lowest index), and if second is not
 * NULL second[r], the distance to the nearest other centre.  Ct holds the centres
 * feature-major with leading dimension kp = round_up(k, NP), the padding
 * columns zero, and cn[kp] their squared norms. */
static void kms__nearest_block(kms__dnearest_fn nearest_fn,
                               const double *restrict At,
                               const double *restrict xx, kms_idx nr,
                               kms_idx d, const double *restrict Ct,
                               const double *restrict cn, kms_idx k,
                               kms_idx kp, double *restrict best,
                               double *restrict bestc, double *restrict second)
{
    for (kms_idx c0 = 0; c0 < k; c0 += KMS_DIST_NP) {
        const int np = (int)KMS_MIN((kms_idx)KMS_DIST_NP, k - c0);
        nearest_fn(Ct + c0, kp, cn + c0, np, (double)c0, c0 == 0, At, KMS_GATHER_LD,
                   xx, d, nr, best, bestc, second);
    }
}

/* Work space of the chunked assignment pass. */
typedef struct kms__pass_ws {
    int nt;              /* threads */
    kms_idx wave;        /* chunks per wave (slots) */
    kms_idx per_thread;  /* doubles of thread scratch */
    double *scratch;     /* nt * per_thread: At, xx, best, bestc, second, a
                          * row list, then sums and counts */
    double *slot_sums;   /* wave * k * d, NULL without M-step */
    kms_idx *slot_counts; /* wave * k */
    kms_idx *slot_changed; /* wave */
    kms_idx *slot_skipped; /* wave */
    double *slot_inertia; /* wave */
    int slots_current;   /* one wave, and its slots hold every chunk's sums
                          * and counts for the labels as they are */
} kms__pass_ws;

/* Doubles of thread scratch before the chunk's sums: At (d x GATHER_LD), then
 * xx, best, bestc, second and a row list (BLOCK each). */
#define KMS__PASS_SCRATCH(d) ((d) * KMS_GATHER_LD + 5 * KMS_BLOCK)

static void kms__pass_ws_free(kms__pass_ws *ws)
{
    free(ws->scratch);
    free(ws->slot_sums);
    free(ws->slot_counts);
    free(ws->slot_changed);
    free(ws->slot_skipped);
    free(ws->slot_inertia);
}

/* Allocate the work space; with_sums reserves the per-chunk centre sums. */
static int kms__pass_ws_alloc(kms__pass_ws *ws, kms_idx n, kms_idx d,
                              kms_idx k, int with_sums, const kms_ctx *ctx)
{
    const kms_idx n_chunks = (n + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    memset(ws, 0, sizeof(*ws));
    ws->nt = kms__threads(ctx, n_chunks);
    /* As few waves as memory allows: each wave is one parallel region and
     * ends in a barrier, which costs much when the CPUs are shared. */
    ws->wave = KMS_MAX((kms_idx)1, n_chunks);
    if (with_sums) {
        const kms_idx slot = (k * d + k) * (kms_idx)sizeof(double);
        const kms_idx fit = (kms_idx)(KMS_LLOYD_SLOT_BYTES / (size_t)slot);
        ws->wave = KMS_MIN(ws->wave, KMS_MAX(fit, (kms_idx)ws->nt));
    }
    /* KMS__PASS_SCRATCH, and with sums the chunk's centre sums (k x d) and
     * counts (k); a gap of a cache line or more between the threads'
     * regions keeps them from sharing lines. */
    ws->per_thread = KMS__PASS_SCRATCH(d);
    if (with_sums) {
        ws->per_thread += k * d + k;
    }
    ws->per_thread = kms__round_up(ws->per_thread, 8) + 16;
    ws->scratch = malloc((size_t)ws->nt * (size_t)ws->per_thread * sizeof(double));
    ws->slot_changed = malloc((size_t)ws->wave * sizeof(kms_idx));
    ws->slot_skipped = malloc((size_t)ws->wave * sizeof(kms_idx));
    ws->slot_inertia = malloc((size_t)ws->wave * sizeof(double));
    if (ws->scratch == NULL || ws->slot_changed == NULL ||
        ws->slot_skipped == NULL || ws->slot_inertia == NULL) {
        return KMS_ERR_NOMEM;
    }
    if (with_sums) {
        ws->slot_sums = malloc((size_t)ws->wave * (size_t)k * (size_t)d * sizeof(double) + 1);
        ws->slot_counts = malloc((size_t)ws->wave * (size_t)k * sizeof(kms_idx));
        if (ws->slot_sums == NULL || ws->slot_counts == NULL) {
            return KMS_ERR_NOMEM;
        }
    }
    return KMS_OK;
}

/* ------------------------------------------------------------------------
 * Bounded Lloyd passes (dense rows; Hamerly's bounds).
 *
 * Each row keeps ub, an upper bound of its true Euclidean distance to the
 * centre it is labelled with, and lb, a lower bound of its true distance
 * to every other centre.  When the centres move, the triangle inequality
 * keeps them bounds: ub grows by its centre's move, lb shrinks by the
 * largest move of the other centres.  The assignment itself compares the
 * expansion values e(x, c) (kms__expand), which differ from the true d^2
 * by at most margin.  A row whose ub^2 + margin < lb^2 - margin therefore
 * has e(own centre) < e(any other centre): the full pass would give it the
 * same label, and it is skipped.  Every other row is assigned as in a full
 * pass (the same kernel and operations) and gets fresh bounds from its
 * nearest and second-nearest expansion values.  Labels, centre sums and
 * counts are thus bit-identical to those of full passes.  Where every
 * row's distance is needed, the driver runs a full pass (relocating empty
 * clusters) or gives the skipped rows their own-centre distance (the final
 * inertia, bnd->own).  Every bound is rounded
 * outwards by a relative 2^-50, far above the few roundings it takes. */
typedef struct kms__bounds {
    double *ub;      /* n */
    double *lb;      /* n */
    double *drift;   /* k: upper bound of each centre's move since the pass */
    double drift1;   /* the largest drift, at centre drift1_c */
    kms_idx drift1_c;
    double drift2;   /* the largest drift of the other centres */
    double margin;   /* bound on |e(x, c) - d(x, c)^2|, every row and centre */
    int valid;       /* ub, lb, drift hold bounds for the current labels */
    int own;         /* skipped rows still get their distance to their centre */
} kms__bounds;

#define KMS__UP(x) ((x) * (1.0 + 0x1p-50))
#define KMS__DOWN(x) ((x) * (1.0 - 0x1p-50))

/* Bounds of one row after an exact assignment: e1, e2 its nearest and
 * second-nearest expansion values. */
static inline void kms__bounds_set(kms__bounds *bnd, kms_idx i, double e1,
                                   double e2)
{
    bnd->ub[i] = KMS__UP(sqrt(KMS__UP(e1 + bnd->margin)));
    const double l2 = KMS__DOWN(e2 - bnd->margin);
    bnd->lb[i] = l2 > 0.0 ? KMS__DOWN(sqrt(l2)) : 0.0;
}

/* Moves the bounds of row i (label a) by the drifts; non-zero if the row's
 * label is certain to stay a. */
static inline int kms__bounds_skip(kms__bounds *bnd, kms_idx i, kms_idx a)
{
    const double u = KMS__UP(bnd->ub[i] + bnd->drift[a]);
    const double l0 = KMS__DOWN(bnd->lb[i] - (a == bnd->drift1_c ? bnd->drift2
                                                                 : bnd->drift1));
    const double l = l0 > 0.0 ? l0 : 0.0;
    bnd->ub[i] = u;
    bnd->lb[i] = l;
    return KMS__UP(KMS__UP(u * u) + bnd->margin) < KMS__DOWN(KMS__DOWN(l * l) - bnd->margin);
}

/* Record the centres' moves: drift[c] an upper bound of the distance
 * between the old and new centre c given sq[c], the sum over the features
 * of the rounded squared differences (d terms). */
static void kms__bounds_drift(kms__bounds *bnd, const double *sq, kms_idx k,
                              kms_idx d)
{
    const double grow = 1.0 + (double)(2 * d + 8) * 0x1p-52;
    bnd->drift1 = 0.0;
    bnd->drift2 = 0.0;
    bnd->drift1_c = 0;
    for (kms_idx c = 0; c < k; c++) {
        const double v = sq[c] > 0.0 ? KMS__UP(sqrt(sq[c] * grow)) + 0x1p-1000 : 0.0;
        bnd->drift[c] = v;
        if (v > bnd->drift1) {
            bnd->drift2 = bnd->drift1;
            bnd->drift1 = v;
            bnd->drift1_c = c;
        } else if (v > bnd->drift2) {
            bnd->drift2 = v;
        }
    }
}

/* The instances: every public name written out here, where grep finds it. */
#define KMS_T double
#define KMS_LOCAL(name) name##_f64
#define KMS_GATHER kms__gather_f64
#define KMS_FN_ASSIGN kms_assign_f64
#define KMS_FN_LLOYD kms_lloyd_f64
#define KMS_FN_KMEANSPP kms_kmeanspp_f64
#include "templates/kmeans_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_ASSIGN
#undef KMS_FN_LLOYD
#undef KMS_FN_KMEANSPP

#define KMS_T float
#define KMS_LOCAL(name) name##_f32
#define KMS_GATHER kms__gather_f32
#define KMS_FN_ASSIGN kms_assign_f32
#define KMS_FN_LLOYD kms_lloyd_f32
#define KMS_FN_KMEANSPP kms_kmeanspp_f32
#include "templates/kmeans_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_ASSIGN
#undef KMS_FN_LLOYD
#undef KMS_FN_KMEANSPP
