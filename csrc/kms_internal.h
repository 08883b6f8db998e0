/*
 * kmsmote C core: private helpers shared by the kernels (not installed).
 *
 * Everything here is static inline so that each translation unit gets its
 * own copy and the public symbol set stays the one of the headers.
 */
#ifndef KMSMOTE_KMS_INTERNAL_H
#define KMSMOTE_KMS_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kms_common.h"
#include "kms_dist.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Rows per gathered tile.  A tile of KMS_BLOCK rows is copied to a
 * feature-major double buffer so that the distance loop below runs over
 * contiguous memory.  Fixed, so that every partial sum has the same shape
 * whatever the number of threads. */
#define KMS_BLOCK 64

/* Leading dimension of those feature-major buffers.  Not KMS_BLOCK itself:
 * a stride of 64 doubles (512 bytes) maps every feature's values to the
 * same few sets of a 32 KiB L1 cache, which a micro-tile walking hundreds
 * of features then thrashes.  The padding changes no operation, only
 * where the values sit. */
#define KMS_GATHER_LD (KMS_BLOCK + 8)

/* Work (about one multiply-add per unit) between two interrupt polls: a few
 * milliseconds, so that Ctrl-C is prompt while the poll, which may have to
 * wait for the GIL, stays rare.  Overridable at compile time (the C tests
 * in csrc/tests build with a tiny budget, so that every polling site
 * fires on small inputs); no result depends on it. */
#ifndef KMS_POLL_WORK
#define KMS_POLL_WORK ((int64_t)1 << 25)
#endif

static inline kms_idx kms__round_up(kms_idx x, kms_idx m)
{
    return (x + m - 1) / m * m;
}

#define KMS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KMS_MAX(a, b) ((a) > (b) ? (a) : (b))

#ifdef _OPENMP
#define KMS_THREAD_ID() omp_get_thread_num()
#else
#define KMS_THREAD_ID() 0
#endif

/* Number of threads to use for n_units independent work units. */
static inline int kms__threads(const kms_ctx *ctx, kms_idx n_units)
{
    int nt = (ctx != NULL && ctx->n_threads > 1) ? ctx->n_threads : 1;
#ifndef _OPENMP
    nt = 1;
#endif
    if ((kms_idx)nt > n_units) {
        nt = n_units > 1 ? (int)n_units : 1;
    }
    return nt;
}

/* Wall-clock time between two interrupt polls at most (seconds), whatever
 * the work estimate says: the estimate counts arithmetic only, not the
 * waits at barriers, which dominate when the CPUs are shared.  Overridable
 * at compile time (the C tests disable it to count polls exactly). */
#ifndef KMS_POLL_SECONDS
#define KMS_POLL_SECONDS 0.02
#endif

/* Monotonic seconds (C11 timespec_get where POSIX clocks are missing). */
static inline double kms__now(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Interrupt polling.  Called from the calling thread only (outside parallel
 * regions or from OpenMP thread 0, which is the encountering thread), at
 * chunk boundaries. */
typedef struct kms__poller {
    const kms_ctx *ctx;
    int64_t work;
    double last; /* kms__now() at the last poll */
} kms__poller;

static inline kms__poller kms__poller_init(const kms_ctx *ctx)
{
    kms__poller p;
    p.ctx = ctx;
    p.work = 0;
    p.last = (ctx != NULL && ctx->interrupted != NULL) ? kms__now() : 0.0;
    return p;
}

/* Account for `work` units done; poll when the budget is exhausted or
 * KMS_POLL_SECONDS have passed since the last poll.  Returns non-zero if
 * the callback asked to stop. */
static inline int kms__poll(kms__poller *p, int64_t work)
{
    if (p->ctx == NULL || p->ctx->interrupted == NULL) {
        return 0;
    }
    p->work += work;
    const double now = kms__now();
    if (p->work < KMS_POLL_WORK && now - p->last < KMS_POLL_SECONDS) {
        return 0;
    }
    p->work = 0;
    p->last = now;
    return p->ctx->interrupted(p->ctx->interrupt_data) != 0;
}

/* A flag shared between the threads of a parallel region, set once and
 * read often.  OpenMP 3.1 atomics where available; older OpenMP (MSVC's
 * 2.0) gets volatile accesses, enough for a flag that only goes 0 -> 1. */
#if defined(_OPENMP) && _OPENMP >= 201107
static inline int kms__flag_get(const int *flag)
{
    int v;
#pragma omp atomic read
    v = *flag;
    return v;
}

static inline void kms__flag_set(int *flag)
{
#pragma omp atomic write
    *flag = 1;
}
#else
static inline int kms__flag_get(const int *flag)
{
    return *(const volatile int *)flag;
}

static inline void kms__flag_set(int *flag)
{
    *(volatile int *)flag = 1;
}
#endif

/* Neumaier's compensated sum: error O(eps) independent of the count. */
typedef struct kms__ksum {
    double s;
    double c;
} kms__ksum;

static inline void kms__ksum_add(kms__ksum *a, double x)
{
    double t = a->s + x;
    if (fabs(a->s) >= fabs(x)) {
        a->c += (a->s - t) + x;
    } else {
        a->c += (x - t) + a->s;
    }
    a->s = t;
}

static inline double kms__ksum_value(const kms__ksum *a)
{
    return a->s + a->c;
}

/* Counter-based random numbers: a stateless 64-bit hash of (seed, counter)
 * built from the splitmix64 finaliser, so that draw number `counter` is the
 * same whatever happened before it. */
static inline uint64_t kms__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double kms__uniform(uint64_t seed, uint64_t counter)
{
    uint64_t h = kms__mix64(seed + UINT64_C(0x9e3779b97f4a7c15));
    h = kms__mix64(h ^ (counter * UINT64_C(0xd1b54a32d192ed03) +
                        UINT64_C(0x8bb84b93962eacc9)));
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Pair number t of the sampled pairs of a set of m >= 2 members (seed):
 * i uniform in [0, m), j uniform among the other m - 1 members, from the
 * two 32-bit halves of one hash of (seed, t) (the bias, below m / 2^32,
 * is far below any sampling error). */
static inline void kms__sample_pair(uint64_t seed, uint64_t t, kms_idx m,
                                    kms_idx *i, kms_idx *j)
{
    const uint64_t h = kms__mix64(seed ^ kms__mix64(t + UINT64_C(0x9e3779b97f4a7c15)));
    const kms_idx a = (kms_idx)(((h >> 32) * (uint64_t)m) >> 32);
    const kms_idx b = (kms_idx)(((h & UINT64_C(0xffffffff)) * (uint64_t)(m - 1)) >> 32);
    *i = a;
    *j = b + (b >= a);
}

/* Squared distances of the pairs (i[t], j[t]), t < n, of members of a set
 * (kms__sample_pairs_run), each the exact kernels' sum. */
typedef void (*kms__pairs_sq_fn)(const void *src, const kms_idx *i,
                                 const kms_idx *j, kms_idx n, double *out);

/* Chunks of KMS_CHUNK_ROWS pairs: chunk(job, u, t0, t1) does chunk number
 * u, pairs t0 .. t1 - 1, on the calling thread and returns 1 if it met a
 * non-finite distance.  kms__pairs_chunks runs the chunks of n_pairs on nt
 * threads (dynamic), thread 0 polling for interrupts between chunks.
 * Returns a status. */
typedef int (*kms__pairs_chunk_fn)(void *job, kms_idx u, kms_idx t0, kms_idx t1);

static inline kms_idx kms__pairs_units(kms_idx n_pairs)
{
    return (n_pairs + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
}

static inline int kms__pairs_chunks(kms__pairs_chunk_fn chunk, void *job, kms_idx n_pairs,
                                    int nt, const kms_ctx *ctx)
{
    const kms_idx n_units = kms__pairs_units(n_pairs);
    (void)nt; /* read by the OpenMP pragmas only */
    kms__poller poller = kms__poller_init(ctx);
    int stop = 0, bad = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1) \
    reduction(| : bad)
#endif
    for (kms_idx u = 0; u < n_units; u++) {
        const kms_idx t0 = u * KMS_CHUNK_ROWS;
        const kms_idx t1 = KMS_MIN(n_pairs, t0 + KMS_CHUNK_ROWS);
        if (kms__flag_get(&stop)) {
            continue;
        }
        if (KMS_THREAD_ID() == 0 && kms__poll(&poller, (t1 - t0) * 64)) {
            kms__flag_set(&stop);
            continue;
        }
        bad |= chunk(job, u, t0, t1);
    }
    if (stop) {
        return KMS_ERR_INTERRUPTED;
    }
    return bad ? KMS_ERR_NONFINITE : KMS_OK;
}

/* kms_pair_distances' chunks (dense and CSR): out[t] = sqrt(squared
 * distance of rows a[t], b[t]) (``sq`` on a set whose members are X's
 * rows). */
typedef struct kms__pairs_job {
    kms__pairs_sq_fn sq;
    const void *src;
    const kms_idx *a, *b;
    double *out;
    /* kms__sample_pairs_run: */
    kms_idx m, first;
    uint64_t seed;
    double inv2;
    double *part, *work;
    /* kms_pair_moments: the given squared distances. */
    const double *d2;
    /* kms_pair_sqdistances: no square root. */
    int squared;
} kms__pairs_job;

static inline int kms__pair_distances_chunk(void *job_, kms_idx u, kms_idx t0, kms_idx t1)
{
    const kms__pairs_job *job = (const kms__pairs_job *)job_;
    (void)u;
    double *out = job->out;
    int bad = 0;
    job->sq(job->src, job->a + t0, job->b + t0, t1 - t0, out + t0);
    for (kms_idx t = t0; t < t1; t++) {
        bad |= (out[t] - out[t]) != 0.0;
        if (!job->squared) {
            out[t] = sqrt(out[t]);
        }
    }
    return bad;
}

/* The driver of kms_pair_distances (squared: kms_pair_sqdistances).
 * Returns a status. */
static inline int kms__pair_distances_run(kms__pairs_sq_fn sq, const void *src,
                                          const kms_idx *a, const kms_idx *b,
                                          kms_idx n_pairs, double *out, int squared,
                                          const kms_ctx *ctx)
{
    kms__pairs_job job = {sq, src, a, b, out, 0, 0, 0, 0.0, NULL, NULL, NULL, squared};
    return kms__pairs_chunks(kms__pair_distances_chunk, &job, n_pairs,
                             kms__threads(ctx, kms__pairs_units(n_pairs)), ctx);
}

/* The sums of the powers 1 to 4 of distance / scale of n squared
 * distances d2 (inv2 = 1 / scale^2), each compensated, in order, into
 * part[0..3]; returns 1 if one is not finite.  One chunk of
 * kms_sample_pair_distances and of kms_pair_moments. */
static inline int kms__moments_chunk(const double *d2, kms_idx n, double inv2, double *part)
{
    int bad = 0;
    kms__ksum acc[4] = {{0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}};
    for (kms_idx t = 0; t < n; t++) {
        const double s2 = d2[t] * inv2; /* (distance / scale)^2 */
        bad |= (s2 - s2) != 0.0;
        const double s1 = sqrt(s2);
        kms__ksum_add(&acc[0], s1);
        kms__ksum_add(&acc[1], s2);
        kms__ksum_add(&acc[2], s1 * s2);
        kms__ksum_add(&acc[3], s2 * s2);
    }
    for (int q = 0; q < 4; q++) {
        part[q] = kms__ksum_value(&acc[q]);
    }
    return bad;
}

/* kms_sample_pair_distances' chunks: pairs first + t of kms__sample_pair,
 * the chunk's sums of the powers 1 to 4 of distance / scale into
 * part[4 u ..] (the calling thread's pairs and distances in work). */
static inline int kms__sample_pairs_chunk(void *job_, kms_idx u, kms_idx t0, kms_idx t1)
{
    const kms__pairs_job *job = (const kms__pairs_job *)job_;
    double *d2 = job->work + (size_t)KMS_THREAD_ID() * 3 * KMS_CHUNK_ROWS;
    kms_idx *pi = (kms_idx *)(d2 + KMS_CHUNK_ROWS);
    kms_idx *pj = pi + KMS_CHUNK_ROWS;
    for (kms_idx t = t0; t < t1; t++) {
        kms__sample_pair(job->seed, (uint64_t)(job->first + t), job->m, &pi[t - t0],
                         &pj[t - t0]);
    }
    job->sq(job->src, pi, pj, t1 - t0, d2);
    return kms__moments_chunk(d2, t1 - t0, job->inv2, job->part + 4 * u);
}

/* kms_pair_moments' chunks: the moments of the given d2[t0 .. t1 - 1]. */
static inline int kms__given_moments_chunk(void *job_, kms_idx u, kms_idx t0, kms_idx t1)
{
    const kms__pairs_job *job = (const kms__pairs_job *)job_;
    return kms__moments_chunk(job->d2 + t0, t1 - t0, job->inv2, job->part + 4 * u);
}

/* The driver of kms_sample_pair_distances (dense and CSR): pairs
 * first .. first + n_pairs - 1 of kms__sample_pair, by chunks of
 * KMS_CHUNK_ROWS, each chunk's sums of the powers 1 to 4 of
 * distance / scale kept apart and added in chunk order.  With sq NULL
 * (kms_pair_moments) the pairs' squared distances are the given
 * d2[0 .. n_pairs - 1] instead.  Returns a status. */
static inline int kms__sample_pairs_run(kms__pairs_sq_fn sq, const void *src,
                                        kms_idx m, uint64_t seed, kms_idx first,
                                        kms_idx n_pairs, double scale, const double *d2,
                                        double *sums, const kms_ctx *ctx)
{
    for (int q = 0; q < 4; q++) {
        sums[q] = 0.0;
    }
    if (n_pairs == 0) {
        return KMS_OK;
    }
    const kms_idx n_units = kms__pairs_units(n_pairs);
    const int nt = kms__threads(ctx, n_units);
    /* Per chunk four sums; per thread the chunk's pairs and distances. */
    double *part = (double *)malloc(((size_t)n_units * 4 +
                                     (size_t)nt * 3 * KMS_CHUNK_ROWS) * sizeof(double));
    if (part == NULL) {
        return KMS_ERR_NOMEM;
    }
    kms__pairs_job job = {sq, src, NULL, NULL, NULL, m, first, seed,
                          1.0 / (scale * scale), part, part + 4 * n_units, d2, 0};
    const int status = kms__pairs_chunks(sq != NULL ? kms__sample_pairs_chunk
                                                    : kms__given_moments_chunk,
                                         &job, n_pairs, nt, ctx);
    if (status == KMS_OK) {
        for (int q = 0; q < 4; q++) {
            kms__ksum tot = {0.0, 0.0};
            for (kms_idx u = 0; u < n_units; u++) {
                kms__ksum_add(&tot, part[4 * u + q]);
            }
            sums[q] = kms__ksum_value(&tot);
        }
    }
    free(part);
    return status;
}

/* out[c] = sum_{f < d} M[f * ld + c]^2 for c < ncols, summed over f in
 * ascending order from +0 (the squared norms of the columns of a
 * feature-major buffer; the loop runs across columns, never across
 * features). */
static inline void kms__col_sqnorms(const double *restrict M, kms_idx ld,
                                    kms_idx ncols, kms_idx d,
                                    double *restrict out)
{
    for (kms_idx c = 0; c < ncols; c++) {
        out[c] = 0.0;
    }
    for (kms_idx f = 0; f < d; f++) {
        const double *restrict m = M + f * ld;
        for (kms_idx c = 0; c < ncols; c++) {
            out[c] += m[c] * m[c];
        }
    }
}

/* Copy nr rows of X (row indices rows[r], or row0 + r if rows is NULL) to
 * the feature-major double buffer At[f * ldA + r], zero the columns
 * nr .. round_up(nr, KMS_DIST_NC) - 1 that the strip kernels read as
 * padding (ldA must allow it), and put the columns' squared norms in
 * xx[round_up(nr, KMS_DIST_NC)] (summed as kms__col_sqnorms sums them).
 * Returns non-zero if a NaN or infinity was met: a row's norm is finite
 * unless one of its values is not, or it overflows, so only rows with a
 * non-finite norm have their values looked at.
 *
 * The rows go eight at a time (kms__gather_group): each feature's eight
 * values then fill one run of At (a cache line) at once, instead of eight
 * scattered writes of one value each, and the squared norms are summed on
 * the way, in feature order from +0. */

/* Rows past the current eight whose cache lines the gather asks for
 * (prefetch). */
#define KMS__GATHER_AHEAD 8

#define KMS__DEFINE_GATHER(SUFFIX, TYPE)                                      \
    /* Rows r .. r+g-1 (g <= 8) of the gather; called with a constant g,   \
     * so that each call compiles to its own unrolled loop. */              \
    static inline __attribute__((always_inline)) void                        \
    kms__gather_group_##SUFFIX(const TYPE *restrict X, kms_idx d,            \
                               const kms_idx *restrict rows, kms_idx row0,   \
                               kms_idx nr, kms_idx r, int g,                 \
                               double *restrict At, kms_idx ldA,             \
                               double *restrict xx)                          \
    {                                                                         \
        const TYPE *restrict xg[8];                                           \
        double sg[8];                                                         \
        for (int p = 0; p < g; p++) {                                         \
            xg[p] = X + (rows != NULL ? rows[r + p] : row0 + r + p) * d;      \
            sg[p] = 0.0;                                                      \
        }                                                                     \
        for (kms_idx a = r + g; a < KMS_MIN(nr, r + g + KMS__GATHER_AHEAD); a++) { \
            const TYPE *ahead = X + (rows != NULL ? rows[a] : row0 + a) * d;  \
            for (kms_idx f = 0; f < d; f += 64 / (kms_idx)sizeof(TYPE)) {     \
                __builtin_prefetch(ahead + f);                                \
            }                                                                 \
            __builtin_prefetch(ahead + d - 1);                                \
        }                                                                     \
        for (kms_idx f = 0; f < d; f++) {                                     \
            double *restrict o = At + f * ldA + r;                            \
            for (int p = 0; p < g; p++) {                                     \
                const double v = (double)xg[p][f];                            \
                o[p] = v;                                                     \
                sg[p] += v * v;                                               \
            }                                                                 \
        }                                                                     \
        for (int p = 0; p < g; p++) {                                         \
            xx[r + p] = sg[p];                                                \
        }                                                                     \
    }                                                                         \
                                                                              \
    static inline int kms__gather_##SUFFIX(                                   \
        const TYPE *restrict X, kms_idx d, const kms_idx *restrict rows,      \
        kms_idx row0, kms_idx nr, double *restrict At, kms_idx ldA,           \
        double *restrict xx)                                                  \
    {                                                                         \
        kms_idx r = 0;                                                        \
        for (; r + 8 <= nr; r += 8) {                                         \
            kms__gather_group_##SUFFIX(X, d, rows, row0, nr, r, 8, At, ldA, xx); \
        }                                                                     \
        if (r < nr) {                                                         \
            kms__gather_group_##SUFFIX(X, d, rows, row0, nr, r, (int)(nr - r), \
                                       At, ldA, xx);                          \
        }                                                                     \
        const kms_idx npad = kms__round_up(nr, KMS_DIST_NC);                  \
        for (kms_idx f = 0; f < d; f++) {                                     \
            for (kms_idx q = nr; q < npad; q++) {                             \
                At[f * ldA + q] = 0.0;                                        \
            }                                                                 \
        }                                                                     \
        for (kms_idx q = nr; q < npad; q++) {                                 \
            xx[q] = 0.0;                                                      \
        }                                                                     \
        int bad = 0;                                                          \
        for (kms_idx q = 0; q < nr; q++) {                                    \
            if ((xx[q] - xx[q]) != 0.0) {                                     \
                for (kms_idx f = 0; f < d; f++) {                             \
                    const double v = At[f * ldA + q];                         \
                    bad |= (v - v) != 0.0;                                    \
                }                                                             \
            }                                                                 \
        }                                                                     \
        return bad;                                                           \
    }

/* Non-zero if a pair (a[t], b[t]), t < n, names a row outside [0, n_total). */
static inline int kms__pairs_bad_index(const kms_idx *a, const kms_idx *b,
                                       kms_idx n, kms_idx n_total)
{
    int bad = 0;
    for (kms_idx t = 0; t < n; t++) {
        bad |= (a[t] < 0) | (a[t] >= n_total) | (b[t] < 0) | (b[t] >= n_total);
    }
    return bad;
}

KMS__DEFINE_GATHER(f64, double)
KMS__DEFINE_GATHER(f32, float)

#undef KMS__DEFINE_GATHER

#endif /* KMSMOTE_KMS_INTERNAL_H */
