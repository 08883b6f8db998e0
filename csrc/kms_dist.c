/*
 * kmsmote C core (private): blocked squared Euclidean distance strips.
 *
 * Dot-product micro-tiles finished by the norm expansion kms__expand
 * (k-means, and the neighbour kernels' pair sums and screening), with or
 * without square roots, and a running nearest point.
 *
 * A micro-tile of accumulators stays in registers across the feature loop:
 * with GCC/Clang vector extensions, 4 points x 8 columns in 8 AVX2
 * registers (chosen at run time on x86 CPUs that have AVX2), or 4 x 4 in 8
 * SSE2/NEON registers (baseline).  No FMA is ever used (the project
 * compiles with -ffp-contract=off and the AVX2 target does not enable FMA),
 * and each output is accumulated over the features in order, so every
 * variant rounds identically; setting KMSMOTE_SIMD=baseline in the
 * environment forces the baseline variant (used by the tests to check it).
 */
#include "kms_dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if KMS_X86_DISPATCH
#include <immintrin.h>
#endif

/* 1 if the AVX2 variants may be used. */
static int kms__use_avx2(void)
{
#if KMS_X86_DISPATCH
    const char *env = getenv("KMSMOTE_SIMD");
    if (env != NULL && strcmp(env, "baseline") == 0) {
        return 0;
    }
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

#if KMS_HAVE_VECTOR_EXT

/* aligned(8): loads and stores may be unaligned. */
typedef double kms__v2d __attribute__((vector_size(16), aligned(8), may_alias));
typedef double kms__v4d __attribute__((vector_size(32), aligned(8), may_alias));
typedef long long kms__v2l __attribute__((vector_size(16)));
typedef long long kms__v4l __attribute__((vector_size(32)));

/* Dot-product micro-tile: acc[p][v] = sum_f Pt[f, p] * Bt[f, c + W*v],
 * features in ascending order from +0, or from FROM[p * LDF + c + W*v]
 * (the sums of the features before these) if FROM is not NULL. */
#define KMS__DOT_TILE_FROM(V, W, NV, FROM, LDF)                               \
    V acc[KMS_DIST_NP][NV];                                                   \
    for (int p = 0; p < KMS_DIST_NP; p++) {                                   \
        for (int v = 0; v < NV; v++) {                                        \
            acc[p][v] = (FROM) != NULL                                        \
                            ? *(const V *)((FROM) + p * (LDF) + c + W * v)    \
                            : (V){0};                                         \
        }                                                                     \
    }                                                                         \
    for (kms_idx f = 0; f < d; f++) {                                         \
        const double *bf = Bt + f * ldb + c;                                  \
        const double *pf = Pt + f * ldp;                                      \
        V b[NV];                                                              \
        for (int v = 0; v < NV; v++) {                                        \
            b[v] = *(const V *)(bf + W * v);                                  \
        }                                                                     \
        for (int p = 0; p < KMS_DIST_NP; p++) {                               \
            const double x = pf[p];                                           \
            for (int v = 0; v < NV; v++) {                                    \
                acc[p][v] += x * b[v];                                        \
            }                                                                 \
        }                                                                     \
    }

#define KMS__DOT_TILE(V, W, NV) KMS__DOT_TILE_FROM(V, W, NV, (const double *)NULL, 0)

/* Partial dot products of a strip: part_out[p * ldo + c] receives
 * part_in[p * ldo + c] (or +0 if part_in is NULL) plus the products of the
 * d features of Pt and Bt, in order.  part_in may be part_out. */
#define KMS__DDOTSTRIP_BODY(V, W, NV)                                         \
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;   \
    for (kms_idx c = 0; c < ncp; c += W * NV) {                               \
        KMS__DOT_TILE_FROM(V, W, NV, part_in, ldo)                            \
        for (int p = 0; p < KMS_DIST_NP; p++) {                               \
            for (int v = 0; v < NV; v++) {                                    \
                *(V *)(part_out + p * ldo + c + W * v) = acc[p][v];           \
            }                                                                 \
        }                                                                     \
    }

/* kms__expand on vectors: (bn - 2 acc) + pn, clamped at 0 (t < 0 -> +0,
 * -0 and NaN kept, as the scalar form). */
#define KMS__EXPAND_V(V, L, BN, ACC, PN, OUT)                                 \
    do {                                                                      \
        V t_ = (BN) - 2.0 * (ACC);                                            \
        t_ = t_ + (PN);                                                       \
        const L neg_ = (L)(t_ < (V){0});                                      \
        (OUT) = (V)((L)t_ & ~neg_);                                           \
    } while (0)

/* Expansion strip: the micro-tiles' distances go to out; AFTER is a
 * statement run after each vector o is stored (at p, c, v), for the square
 * roots: storing them right after each micro-tile lets the unpipelined
 * square roots overlap the next micro-tile's multiplications. */
#define KMS__EXPAND_STRIP(V, L, W, NV, FROM, AFTER)                           \
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;   \
    for (kms_idx c = 0; c < ncp; c += W * NV) {                               \
        KMS__DOT_TILE_FROM(V, W, NV, FROM, ldo)                               \
        for (int p = 0; p < KMS_DIST_NP; p++) {                               \
            const V pnv = (V){0} + pn[p];                                     \
            for (int v = 0; v < NV; v++) {                                    \
                V o;                                                          \
                KMS__EXPAND_V(V, L, *(const V *)(bn + c + W * v), acc[p][v],  \
                              pnv, o);                                        \
                *(V *)(out + p * ldo + c + W * v) = o;                        \
                AFTER                                                         \
            }                                                                 \
        }                                                                     \
    }

#define KMS__DSTRIP_BODY(V, L, W, NV)                                         \
    KMS__EXPAND_STRIP(V, L, W, NV, (const double *)NULL, )

/* As KMS__DSTRIP_BODY, the dot products continuing from part if it is not
 * NULL, and sq receives the square roots. */
#define KMS__DSQSTRIP_BODY(V, L, W, NV, SQRTV)                                \
    KMS__EXPAND_STRIP(V, L, W, NV, part,                                      \
                      *(V *)(sq + p * ldo + c + W * v) = SQRTV(o);)

/* Nearest: fold the micro-tile into the running minimum (strict <, points
 * in ascending order), selecting with masks so that it stays in vectors.
 * With TRACK2 (a constant), second[c] also follows the smallest distance
 * to the points other than the running nearest one. */
#define KMS__DNEAREST_BODY(V, L, W, NV, TRACK2)                               \
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;   \
    for (kms_idx c = 0; c < ncp; c += W * NV) {                               \
        KMS__DOT_TILE(V, W, NV)                                               \
        for (int v = 0; v < NV; v++) {                                        \
            const V bnv = *(const V *)(bn + c + W * v);                       \
            V bd, bc, sd = (V){0} + INFINITY;                                 \
            int p = 0;                                                        \
            if (init) {                                                       \
                KMS__EXPAND_V(V, L, bnv, acc[0][v], (V){0} + pn[0], bd);      \
                bc = (V){0} + c_first;                                        \
                p = 1;                                                        \
            } else {                                                          \
                bd = *(const V *)(best + c + W * v);                          \
                bc = *(const V *)(bestc + c + W * v);                         \
                if (TRACK2) {                                                 \
                    sd = *(const V *)(second + c + W * v);                    \
                }                                                             \
            }                                                                 \
            for (; p < np; p++) {                                             \
                V dv;                                                         \
                KMS__EXPAND_V(V, L, bnv, acc[p][v], (V){0} + pn[p], dv);      \
                const L lt = (L)(dv < bd);                                    \
                const L idx = (L)((V){0} + (c_first + p));                    \
                if (TRACK2) {                                                 \
                    const L lt2 = (L)(dv < sd);                               \
                    const V s2 = (V)(((L)dv & lt2) | ((L)sd & ~lt2));         \
                    sd = (V)(((L)bd & lt) | ((L)s2 & ~lt));                   \
                }                                                             \
                bd = (V)(((L)dv & lt) | ((L)bd & ~lt));                       \
                bc = (V)((idx & lt) | ((L)bc & ~lt));                         \
            }                                                                 \
            *(V *)(best + c + W * v) = bd;                                    \
            *(V *)(bestc + c + W * v) = bc;                                   \
            if (TRACK2) {                                                     \
                *(V *)(second + c + W * v) = sd;                              \
            }                                                                 \
        }                                                                     \
    }

#if KMS_X86_DISPATCH
#define KMS__SQRT_V2D(x) ((kms__v2d)_mm_sqrt_pd((__m128d)(x)))
#define KMS__SQRT_V4D(x) ((kms__v4d)_mm256_sqrt_pd((__m256d)(x)))
#else
static inline kms__v2d kms__sqrt_v2d(kms__v2d x)
{
    kms__v2d r;
    for (int e = 0; e < 2; e++) {
        r[e] = sqrt(x[e]);
    }
    return r;
}
#define KMS__SQRT_V2D(x) kms__sqrt_v2d(x)
#endif

static void kms__dsqstrip_v2d(const double *Pt, kms_idx ldp, const double *pn,
                              const double *Bt, kms_idx ldb, const double *bn,
                              kms_idx d, kms_idx nc, double *out, kms_idx ldo,
                              double *sq, const double *part)
{
    KMS__DSQSTRIP_BODY(kms__v2d, kms__v2l, 2, 2, KMS__SQRT_V2D)
}

static void kms__ddotstrip_v2d(const double *Pt, kms_idx ldp, const double *Bt,
                               kms_idx ldb, kms_idx d, kms_idx nc,
                               const double *part_in, double *part_out,
                               kms_idx ldo)
{
    KMS__DDOTSTRIP_BODY(kms__v2d, 2, 2)
}

static void kms__dstrip_v2d(const double *Pt, kms_idx ldp, const double *pn,
                            const double *Bt, kms_idx ldb, const double *bn,
                            kms_idx d, kms_idx nc, double *out, kms_idx ldo)
{
    KMS__DSTRIP_BODY(kms__v2d, kms__v2l, 2, 2)
}

static void kms__dnearest_v2d(const double *Pt, kms_idx ldp, const double *pn,
                              int np, double c_first, int init,
                              const double *Bt, kms_idx ldb, const double *bn,
                              kms_idx d, kms_idx nc, double *best,
                              double *bestc, double *second)
{
    if (second != NULL) {
        KMS__DNEAREST_BODY(kms__v2d, kms__v2l, 2, 2, 1)
    } else {
        KMS__DNEAREST_BODY(kms__v2d, kms__v2l, 2, 2, 0)
    }
}

#if KMS_X86_DISPATCH
__attribute__((target("avx2")))
static void kms__dsqstrip_v4d(const double *Pt, kms_idx ldp, const double *pn,
                              const double *Bt, kms_idx ldb, const double *bn,
                              kms_idx d, kms_idx nc, double *out, kms_idx ldo,
                              double *sq, const double *part)
{
    KMS__DSQSTRIP_BODY(kms__v4d, kms__v4l, 4, 2, KMS__SQRT_V4D)
}

__attribute__((target("avx2")))
static void kms__ddotstrip_v4d(const double *Pt, kms_idx ldp, const double *Bt,
                               kms_idx ldb, kms_idx d, kms_idx nc,
                               const double *part_in, double *part_out,
                               kms_idx ldo)
{
    KMS__DDOTSTRIP_BODY(kms__v4d, 4, 2)
}

__attribute__((target("avx2")))
static void kms__dstrip_v4d(const double *Pt, kms_idx ldp, const double *pn,
                            const double *Bt, kms_idx ldb, const double *bn,
                            kms_idx d, kms_idx nc, double *out, kms_idx ldo)
{
    KMS__DSTRIP_BODY(kms__v4d, kms__v4l, 4, 2)
}

__attribute__((target("avx2")))
static void kms__dnearest_v4d(const double *Pt, kms_idx ldp, const double *pn,
                              int np, double c_first, int init,
                              const double *Bt, kms_idx ldb, const double *bn,
                              kms_idx d, kms_idx nc, double *best,
                              double *bestc, double *second)
{
    if (second != NULL) {
        KMS__DNEAREST_BODY(kms__v4d, kms__v4l, 4, 2, 1)
    } else {
        KMS__DNEAREST_BODY(kms__v4d, kms__v4l, 4, 2, 0)
    }
}
#endif

#else /* portable C: the same operations, one output at a time */

/* Dot products of one point against the columns, features in order,
 * from +0 or from the partial sums from[c] if from is not NULL. */
static void kms__dot_c(const double *Pt, kms_idx ldp, int p, const double *Bt,
                       kms_idx ldb, kms_idx d, kms_idx ncp, const double *from,
                       double *o)
{
    for (kms_idx c = 0; c < ncp; c++) {
        o[c] = from != NULL ? from[c] : 0.0;
    }
    for (kms_idx f = 0; f < d; f++) {
        const double x = Pt[f * ldp + p];
        const double *b = Bt + f * ldb;
        for (kms_idx c = 0; c < ncp; c++) {
            o[c] += x * b[c];
        }
    }
}

static void kms__dstrip_from_c(const double *Pt, kms_idx ldp, const double *pn,
                               const double *Bt, kms_idx ldb, const double *bn,
                               kms_idx d, kms_idx nc, double *out, kms_idx ldo,
                               const double *part)
{
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;
    for (int p = 0; p < KMS_DIST_NP; p++) {
        double *o = out + p * ldo;
        kms__dot_c(Pt, ldp, p, Bt, ldb, d, ncp, part != NULL ? part + p * ldo : NULL, o);
        for (kms_idx c = 0; c < ncp; c++) {
            o[c] = kms__expand(bn[c], o[c], pn[p]);
        }
    }
}

static void kms__dstrip_c(const double *Pt, kms_idx ldp, const double *pn,
                          const double *Bt, kms_idx ldb, const double *bn,
                          kms_idx d, kms_idx nc, double *out, kms_idx ldo)
{
    kms__dstrip_from_c(Pt, ldp, pn, Bt, ldb, bn, d, nc, out, ldo, NULL);
}

static void kms__ddotstrip_c(const double *Pt, kms_idx ldp, const double *Bt,
                             kms_idx ldb, kms_idx d, kms_idx nc,
                             const double *part_in, double *part_out,
                             kms_idx ldo)
{
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;
    for (int p = 0; p < KMS_DIST_NP; p++) {
        kms__dot_c(Pt, ldp, p, Bt, ldb, d, ncp,
                   part_in != NULL ? part_in + p * ldo : NULL, part_out + p * ldo);
    }
}

static void kms__dsqstrip_c(const double *Pt, kms_idx ldp, const double *pn,
                            const double *Bt, kms_idx ldb, const double *bn,
                            kms_idx d, kms_idx nc, double *out, kms_idx ldo,
                            double *sq, const double *part)
{
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;
    kms__dstrip_from_c(Pt, ldp, pn, Bt, ldb, bn, d, nc, out, ldo, part);
    for (int p = 0; p < KMS_DIST_NP; p++) {
        for (kms_idx c = 0; c < ncp; c++) {
            sq[p * ldo + c] = sqrt(out[p * ldo + c]);
        }
    }
}

static void kms__dnearest_c(const double *Pt, kms_idx ldp, const double *pn,
                            int np, double c_first, int init,
                            const double *Bt, kms_idx ldb, const double *bn,
                            kms_idx d, kms_idx nc, double *best,
                            double *bestc, double *second)
{
    const kms_idx ncp = (nc + KMS_DIST_NC - 1) / KMS_DIST_NC * KMS_DIST_NC;
    double dot[KMS_DIST_NC];
    for (kms_idx c0 = 0; c0 < ncp; c0 += KMS_DIST_NC) {
        for (int p = 0; p < np; p++) {
            kms__dot_c(Pt, ldp, p, Bt + c0, ldb, d, KMS_DIST_NC, NULL, dot);
            for (kms_idx c = 0; c < KMS_DIST_NC; c++) {
                const double dv = kms__expand(bn[c0 + c], dot[c], pn[p]);
                if (init && p == 0) {
                    best[c0 + c] = dv;
                    bestc[c0 + c] = c_first;
                    if (second != NULL) {
                        second[c0 + c] = INFINITY;
                    }
                } else if (dv < best[c0 + c]) {
                    if (second != NULL) {
                        second[c0 + c] = best[c0 + c];
                    }
                    best[c0 + c] = dv;
                    bestc[c0 + c] = c_first + p;
                } else if (second != NULL && dv < second[c0 + c]) {
                    second[c0 + c] = dv;
                }
            }
        }
    }
}

#endif

kms__dsqstrip_fn kms__dsqstrip_kernel(void)
{
#if KMS_HAVE_VECTOR_EXT
#if KMS_X86_DISPATCH
    if (kms__use_avx2()) {
        return kms__dsqstrip_v4d;
    }
#endif
    return kms__dsqstrip_v2d;
#else
    return kms__dsqstrip_c;
#endif
}

kms__ddotstrip_fn kms__ddotstrip_kernel(void)
{
#if KMS_HAVE_VECTOR_EXT
#if KMS_X86_DISPATCH
    if (kms__use_avx2()) {
        return kms__ddotstrip_v4d;
    }
#endif
    return kms__ddotstrip_v2d;
#else
    return kms__ddotstrip_c;
#endif
}

kms__dstrip_fn kms__dstrip_kernel(void)
{
#if KMS_HAVE_VECTOR_EXT
#if KMS_X86_DISPATCH
    if (kms__use_avx2()) {
        return kms__dstrip_v4d;
    }
#endif
    return kms__dstrip_v2d;
#else
    return kms__dstrip_c;
#endif
}

kms__dnearest_fn kms__dnearest_kernel(void)
{
#if KMS_HAVE_VECTOR_EXT
#if KMS_X86_DISPATCH
    if (kms__use_avx2()) {
        return kms__dnearest_v4d;
    }
#endif
    return kms__dnearest_v2d;
#else
    return kms__dnearest_c;
#endif
}

int kms__avx2_enabled(void)
{
    return kms__use_avx2();
}

const char *kms_simd_variant(void)
{
#if KMS_X86_DISPATCH
    if (kms__use_avx2()) {
        return "avx2";
    }
#endif
#if !KMS_HAVE_VECTOR_EXT
    return "scalar";
#elif defined(__SSE2__)
    return "sse2";
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
    return "neon";
#else
    return "generic";
#endif
}
