/*
 * kmsmote C core (private): blocked squared Euclidean distances.
 *
 * Both operands are feature-major double buffers (element f of item i at
 * buf[f * ld + i]).  A "strip" is KMS_DIST_NP points against nc columns:
 * the dot products
 *
 *   sum_{f < d} Pt[f * ldp + p] * Bt[f * ldb + c]
 *
 * for p < KMS_DIST_NP and c < round_up(nc, KMS_DIST_NC) (Pt and Bt must be
 * readable, padded, that far), finished by the norm expansion
 * kms__expand.  Every output is formed by the same sequence of IEEE
 * operations (start at 0, add the product of feature 0, then 1, ..., then
 * the expansion), which is what a scalar loop over the features does: the
 * SIMD variants only compute independent outputs side by side, so every
 * variant, and every thread count, gives bit-identical results.  (The
 * neighbour kernels' exact distances, sums of squared differences, are
 * formed in kms_neighbors.c and templates/knn_csr.template.c.)
 */
#ifndef KMSMOTE_KMS_DIST_H
#define KMSMOTE_KMS_DIST_H

#include "kms_common.h"

/* GCC/Clang vector extensions, and run-time dispatch to AVX2 variants
 * (__attribute__((target("avx2")))) on x86. */
#if defined(__GNUC__) || defined(__clang__)
#define KMS_HAVE_VECTOR_EXT 1
#else
#define KMS_HAVE_VECTOR_EXT 0
#endif

#if KMS_HAVE_VECTOR_EXT && (defined(__x86_64__) || defined(__i386__))
#define KMS_X86_DISPATCH 1
#else
#define KMS_X86_DISPATCH 0
#endif

/* 1 if this CPU runs AVX2 and KMSMOTE_SIMD=baseline is not set: the
 * condition under which every kernel picks its AVX2 variant.  Variants
 * never use FMA and keep every sum's order, so they are bit-identical. */
int kms__avx2_enabled(void);

#define KMS_DIST_NP 4
#define KMS_DIST_NC 8

/* Squared Euclidean distance by the expansion used by k-means, from the
 * squared norms xx = sum_f x_f^2, cc = sum_f c_f^2 and the dot product
 * dot = sum_f x_f c_f (each summed over the features in ascending order
 * from +0.0):  (xx - 2 dot) + cc, clamped at 0.  Every k-means kernel,
 * dense or sparse, scalar or SIMD, forms it with exactly these operations,
 * so that equal inputs give bit-equal distances.  (A sparse row skips the
 * x_f = 0 terms, which add +-0 to a sum that is never -0: no change.) */
static inline double kms__expand(double xx, double dot, double cc)
{
    double t = xx - 2.0 * dot;
    t = t + cc;
    return t < 0.0 ? 0.0 : t;
}

/* Expansion strip: for p < KMS_DIST_NP and c < round_up(nc, KMS_DIST_NC),
 *
 *   out[p * ldo + c] = kms__expand(bn[c], sum_f Pt[f*ldp+p] Bt[f*ldb+c], pn[p])
 *
 * with the dot product summed over the features in ascending order.  pn
 * must hold KMS_DIST_NP readable entries and bn round_up(nc, NC). */
typedef void (*kms__dstrip_fn)(const double *Pt, kms_idx ldp, const double *pn,
                               const double *Bt, kms_idx ldb, const double *bn,
                               kms_idx d, kms_idx nc, double *out, kms_idx ldo);

kms__dstrip_fn kms__dstrip_kernel(void);

/* Expansion strip with square roots: as kms__dstrip_fn, and also
 * sq[p * ldo + c] = sqrt(out[p * ldo + c]) for the same outputs.  If part
 * is not NULL, each dot product starts from part[p * ldo + c] (the sum of
 * the features before those of Pt and Bt, from kms__ddotstrip_fn) instead
 * of +0: splitting the features so gives bit-identical results. */
typedef void (*kms__dsqstrip_fn)(const double *Pt, kms_idx ldp,
                                 const double *pn, const double *Bt,
                                 kms_idx ldb, const double *bn, kms_idx d,
                                 kms_idx nc, double *out, kms_idx ldo,
                                 double *sq, const double *part);

kms__dsqstrip_fn kms__dsqstrip_kernel(void);

/* Partial dot products of a strip over d features: part_out[p * ldo + c]
 * = part_in[p * ldo + c] (+0 if part_in is NULL) + sum_f Pt[f*ldp+p]
 * Bt[f*ldb+c], features in order; part_in may equal part_out.  With it
 * a long feature range is walked in chunks that stay in cache. */
typedef void (*kms__ddotstrip_fn)(const double *Pt, kms_idx ldp,
                                  const double *Bt, kms_idx ldb, kms_idx d,
                                  kms_idx nc, const double *part_in,
                                  double *part_out, kms_idx ldo);

kms__ddotstrip_fn kms__ddotstrip_kernel(void);

/* Running nearest point for the columns of Bt, with the distances of
 * kms__dstrip_fn:  the np (<= NP) points of Pt are numbered c_first,
 * c_first + 1, ...; for every column c < round_up(nc, NC), if init,
 * best[c] and bestc[c] first take the distance to point 0 and its number;
 * then each further point replaces them if it is strictly nearer (so ties
 * keep the lowest number).  bestc holds the numbers as doubles, which
 * keeps the selection in vector registers.  If second is not NULL,
 * second[c] follows the smallest distance to the points other than
 * bestc[c] (+inf after init with one point; a tie with best[c] makes it
 * equal to best[c]). */
typedef void (*kms__dnearest_fn)(const double *Pt, kms_idx ldp,
                                 const double *pn, int np, double c_first,
                                 int init, const double *Bt, kms_idx ldb,
                                 const double *bn, kms_idx d, kms_idx nc,
                                 double *best, double *bestc, double *second);

kms__dnearest_fn kms__dnearest_kernel(void);

#endif /* KMSMOTE_KMS_DIST_H */
