/*
 * kmsmote C core: k nearest neighbours and summed pairwise distance inside a
 * set of rows.
 *
 * One tiled pass over the unordered pairs {i, j}: the set is cut into
 * blocks of KMS_BLOCK rows and every tile (I, J) with J >= I is computed
 * once, by the thread that owns row block I.  A tile gathers both blocks
 * into feature-major double buffers and computes every pair's squared
 * distance by the norm expansion (kms__expand, as k-means), whose square
 * root goes to the pair sum.  The lists use exact squared distances (the
 * differences summed over the features in ascending order, so equal
 * inputs give bit-equal distances and ties are real ties), computed only
 * for the pairs whose expansion value, within a rounding-error margin,
 * could enter the list of one of its members (kms_knn_internal.h).
 *
 * Determinism: the k nearest neighbours under the total order (distance,
 * position) form a unique set, so lists filled in any order and merged give
 * the same answer; each thread fills its own lists for all rows and the
 * lists are merged at the end.  The pair sum is accumulated per row (its
 * pieces in ascending J), the rows' sums are added in row order per
 * super-block and the super-blocks' sums in order: the CSR kernel, which
 * goes row by row, forms the same sums.  Neither depends on the number of
 * threads.
 */
#include "kms_neighbors.h"
#include "kms_knn_internal.h"

/* Largest gathered copy of the set (bytes) that the kernel makes once and
 * shares between the threads; a larger set is gathered tile by tile.
 * Overridable at compile time (the C tests use 0 in one build, so that
 * both paths run); no result depends on it. */
#ifndef KMS_KNN_SET_BYTES
#define KMS_KNN_SET_BYTES ((size_t)256 << 20)
#endif

/* Most non-zero values among the columns c < nc of a feature-major
 * buffer (leading dimension ld, d features). */
static kms_idx kms__col_nonzeros_max(const double *restrict M, kms_idx ld,
                                     kms_idx nc, kms_idx d)
{
    kms_idx cnt[KMS_BLOCK] = {0};
    for (kms_idx f = 0; f < d; f++) {
        for (kms_idx c = 0; c < nc; c++) {
            cnt[c] += M[f * ld + c] != 0.0;
        }
    }
    kms_idx mx = 0;
    for (kms_idx c = 0; c < nc; c++) {
        mx = KMS_MAX(mx, cnt[c]);
    }
    return mx;
}

/* The exact squared distance of two members from the gathered tile
 * buffers: the differences summed over the features in ascending order
 * from +0, exactly as the exact strip kernels form them. */
typedef struct kms__tile_src {
    const double *At; /* row block, feature-major, leading dimension KMS_GATHER_LD */
    const double *Bt; /* column block, the same */
    kms_idx d;
    kms_idx I0;
    kms_idx J0;
} kms__tile_src;

static void kms__tile_exact(const void *src_, kms_idx i, kms_idx j0,
                            unsigned mask, double *restrict out)
{
    const kms__tile_src *src = (const kms__tile_src *)src_;
    const double *restrict a = src->At + (i - src->I0);
    const kms_idx c0 = j0 - src->J0;
    const kms_idx d = src->d;
    if (c0 + 8 <= KMS_BLOCK && (mask & (mask - 1u)) != 0) {
        /* Two or more: the 8 columns side by side (each lane's own sum,
         * in feature order), within the block's buffer. */
        double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        for (kms_idx f = 0; f < d; f++) {
            const double x = a[f * KMS_GATHER_LD];
            const double *restrict b = src->Bt + f * KMS_GATHER_LD + c0;
            for (int l = 0; l < 8; l++) {
                const double t = x - b[l];
                acc[l] += t * t;
            }
        }
        for (int l = 0; l < 8; l++) {
            out[l] = acc[l];
        }
        return;
    }
    for (int l = 0; l < 8; l++) {
        if ((mask >> l) & 1u) {
            const double *restrict b = src->Bt + c0 + l;
            double acc = 0.0;
            for (kms_idx f = 0; f < d; f++) {
                const double t = a[f * KMS_GATHER_LD] - b[f * KMS_GATHER_LD];
                acc += t * t;
            }
            out[l] = acc;
        }
    }
}

/* The tile's strips: kms__knn_tile's strip loop, with its columns. */
#define KMS__TILE_STRIPS(BODY)                                                \
    for (kms_idx r0 = 0; r0 < nrI; r0 += KMS_DIST_NP) {                      \
        /* On the diagonal, columns below the strip's first row are skipped \
         * in whole micro-tiles. */                                         \
        const kms_idx cs = diag ? (r0 + 1) / KMS_DIST_NC * KMS_DIST_NC : 0;   \
        if (cs >= ncJ) {                                                      \
            break;                                                            \
        }                                                                     \
        BODY                                                                  \
    }

/* One tile: rows I0 .. I0+nrI-1 (feature-major in At, squared norms an)
 * against columns J0 .. J0+ncJ-1 (feature-major in Bt, squared norms bn).
 * On the diagonal (Bt == At) only the pairs c > r are visited.  The
 * expansion strip gives every pair's screening value and its square root,
 * which goes to the pair sum (row r's piece to racc[r]); the pairs that may enter a list get
 * their exact distance (kms__knn_consume_row_screened, shared with the CSR
 * kernel).  strip and sq are NP x BLOCK scratch.
 *
 * With more than KMS_KNN_FEATURE_CHUNK features, the dot products are
 * first summed over all but the last chunk of features, the whole tile
 * one chunk at a time (into part, BLOCK x BLOCK scratch), so that the
 * chunk of both blocks stays in cache; the strips then finish from part.
 * The sums are the same, bit for bit. */
static void kms__knn_tile(kms__dsqstrip_fn dstrip_fn, kms__ddotstrip_fn ddot_fn,
                          kms__screen_row_fn row_fn,
                          const double *restrict At,
                          const double *restrict an, const double *restrict Bt,
                          const double *restrict bn, kms_idx d, kms_idx I0,
                          kms_idx nrI, kms_idx J0, kms_idx ncJ, int diag,
                          kms_idx k, kms__screen scr, double *restrict ldist,
                          kms_idx *restrict lpos, double *restrict strip,
                          double *restrict sq, double *restrict worstJ,
                          double *restrict part, kms__ksum *racc)
{
    const kms__tile_src src = {At, Bt, d, I0, J0};
    kms__knn_worst_init(ldist, J0, ncJ, k, worstJ);
    kms_idx f0 = 0;
    for (; d - f0 > KMS_KNN_FEATURE_CHUNK; f0 += KMS_KNN_FEATURE_CHUNK) {
        const double *Af = At + f0 * KMS_GATHER_LD, *Bf = Bt + f0 * KMS_GATHER_LD;
        KMS__TILE_STRIPS(
            double *pr = part + r0 * KMS_BLOCK + cs;
            ddot_fn(Af + r0, KMS_GATHER_LD, Bf + cs, KMS_GATHER_LD, KMS_KNN_FEATURE_CHUNK,
                    ncJ - cs, f0 == 0 ? NULL : pr, pr, KMS_BLOCK);
        )
    }
    const double *Af = At + f0 * KMS_GATHER_LD, *Bf = Bt + f0 * KMS_GATHER_LD;
    KMS__TILE_STRIPS(
        dstrip_fn(Af + r0, KMS_GATHER_LD, an + r0, Bf + cs, KMS_GATHER_LD, bn + cs, d - f0,
                  ncJ - cs, strip + cs, KMS_BLOCK, sq + cs,
                  f0 == 0 ? NULL : part + r0 * KMS_BLOCK + cs);
        const kms_idx r1 = KMS_MIN(nrI, r0 + KMS_DIST_NP);
        for (kms_idx r = r0; r < r1; r++) {
            const kms_idx c0 = diag ? r + 1 : 0;
            const kms_idx n = ncJ - c0;
            if (n <= 0) {
                break;
            }
            const double *restrict erow = strip + (r - r0) * KMS_BLOCK;
            double *restrict srow = sq + (r - r0) * KMS_BLOCK;
            row_fn(erow + c0, srow + c0, n, J0 + c0, I0 + r, k, ldist, lpos,
                   worstJ + c0, &racc[r], bn + c0, an[r], scr, kms__tile_exact,
                   &src);
        }
    )
}

#undef KMS__TILE_STRIPS

/* The instances: every public name written out here, where grep finds it. */
#define KMS_T double
#define KMS_LOCAL(name) name##_f64
#define KMS_GATHER kms__gather_f64
#define KMS_FN_KNN_SPARSITY kms_knn_sparsity_f64
#define KMS_FN_KNN_SPARSITY_SETS kms_knn_sparsity_sets_f64
#include "templates/knn_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_KNN_SPARSITY
#undef KMS_FN_KNN_SPARSITY_SETS

#define KMS_T float
#define KMS_LOCAL(name) name##_f32
#define KMS_GATHER kms__gather_f32
#define KMS_FN_KNN_SPARSITY kms_knn_sparsity_f32
#define KMS_FN_KNN_SPARSITY_SETS kms_knn_sparsity_sets_f32
#include "templates/knn_dense.template.c"
#undef KMS_T
#undef KMS_LOCAL
#undef KMS_GATHER
#undef KMS_FN_KNN_SPARSITY
#undef KMS_FN_KNN_SPARSITY_SETS
