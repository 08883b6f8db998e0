/*
 * C-level tests of the kmsmote core (no Python): the public kernels of
 * the csrc headers -- dense float32/float64 assign, k-means++, Lloyd, knn_sparsity,
 * generate, and their CSR variants with int32 and int64 indices, and
 * knn_cells of kms_approx.h (its other kernels are tested from Python,
 * tests/test_approx.py) -- on small
 * random data with edge cases (k = 0, m = 1, duplicate rows, empty clusters,
 * CSR rows without entries, 1 and 2 threads, every error status, interrupt
 * callbacks), checked against plain reference computations written here.
 *
 * Build: `meson test -C <builddir>` builds and runs it (csrc/tests/meson.build);
 * tools/sanitize.sh builds it under ASan/UBSan and valgrind.  By hand: compile
 * this file together with every csrc .c file, with
 *
 *   -std=c11 -ffp-contract=off -fno-math-errno -D_POSIX_C_SOURCE=200809L
 *   -DKMS_POLL_WORK=2048 -Icsrc -lm -lpthread [-fopenmp]
 *
 * -ffp-contract=off is required: the references reproduce the kernels'
 * rounding bit for bit, which a fused multiply-add would change.  A small
 * KMS_POLL_WORK makes every interrupt-polling site fire on small inputs;
 * -DKMS_POLL_SECONDS=1e9 in addition (no time-based polls) makes the
 * number of polls of a 1-thread run exact, which the interrupt tests then
 * check strictly.
 *
 * Usage: test_core [--quick]   (--quick: smaller sizes, for valgrind)
 * Exit status 0 if every check passed, 1 otherwise.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_approx.h"
#include "kms_common.h"
#include "kms_generate.h"
#include "kms_internal.h"
#include "kms_kmeans.h"
#include "kms_neighbors.h"
#include "kms_sparse.h"

/* ------------------------------------------------------------------------
 * Bookkeeping
 */

static long g_checks = 0;
static long g_failures = 0;
static int g_quick = 0;
static const char *g_section = "";

static void fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    g_failures++;
    if (g_failures > 200) {
        return; /* counted, not printed */
    }
    fprintf(stderr, "FAIL [%s] %s:%d: ", g_section, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        g_checks++;                                                           \
        if (!(cond)) {                                                        \
            fail_at(__FILE__, __LINE__, __VA_ARGS__);                         \
        }                                                                     \
    } while (0)

#define CHECK_STATUS(got, want, what)                                         \
    CHECK((got) == (want), "%s: status %d (%s), expected %d (%s)", (what),    \
          (int)(got), kms_status_message(got), (int)(want),                   \
          kms_status_message(want))

static void *xmalloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "test_core: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n > 0 ? n : 1, s > 0 ? s : 1);
    if (p == NULL) {
        fprintf(stderr, "test_core: out of memory\n");
        exit(2);
    }
    return p;
}

/* Bitwise equality of doubles (so NaN == NaN and +0 != -0). */
static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(double)) == 0;
}

/* ------------------------------------------------------------------------
 * Random numbers for the test data (splitmix64)
 */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double rng_unif(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static kms_idx rng_int(rng *r, kms_idx n)
{
    return (kms_idx)(rng_next(r) % (uint64_t)n);
}

/* ------------------------------------------------------------------------
 * Interrupt callback: counts its calls, checks it runs on the thread that
 * called the kernel, and asks to stop from call number stop_at on (never
 * if stop_at <= 0).
 */

typedef struct poll_state {
    pthread_t owner;
    long calls;
    long stop_at;
    long wrong_thread;
} poll_state;

static int poll_cb(void *data)
{
    poll_state *ps = data;
    ps->calls++;
    if (!pthread_equal(pthread_self(), ps->owner)) {
        ps->wrong_thread++;
    }
    return ps->stop_at > 0 && ps->calls >= ps->stop_at;
}

static kms_ctx make_ctx(int nt, poll_state *ps, long stop_at)
{
    kms_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.n_threads = nt;
    if (ps != NULL) {
        ps->owner = pthread_self();
        ps->calls = 0;
        ps->stop_at = stop_at;
        ps->wrong_thread = 0;
        ctx.interrupted = poll_cb;
        ctx.interrupt_data = ps;
    }
    return ctx;
}

/* Sort (d2, position) pairs: the neighbour order of kms_knn_sparsity. */
typedef struct dp {
    double d2;
    kms_idx p;
} dp;

static int dp_cmp(const void *a, const void *b)
{
    const dp *x = a, *y = b;
    if (x->d2 < y->d2) {
        return -1;
    }
    if (x->d2 > y->d2) {
        return 1;
    }
    return (x->p > y->p) - (x->p < y->p);
}

/* The kernels of the interrupt tests. */
enum {
    IJ_ASSIGN, IJ_PP, IJ_LLOYD, IJ_KNN, IJ_GEN,
    IJ_CASSIGN, IJ_CPP, IJ_CLLOYD, IJ_CKNN, IJ_CCOUNT, IJ_CFILL, IJ_N
};

static const char *const ij_names[IJ_N] = {
    "assign", "kmeans++", "lloyd", "knn", "generate",
    "csr assign", "csr kmeans++", "csr lloyd", "csr knn", "csr count", "csr fill",
};

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

/* ------------------------------------------------------------------------
 * The per-type tests
 */

#define T double
#define TS f64
#define TNAME "float64"
#include "test_core_t.inc"
#undef T
#undef TS
#undef TNAME

#define T float
#define TS f32
#define TNAME "float32"
#include "test_core_t.inc"
#undef T
#undef TS
#undef TNAME

/* ------------------------------------------------------------------------
 * Type-independent checks
 */

static void test_common(void)
{
    g_section = "common";
    for (int s = 0; s <= 8; s++) {
        const char *msg = kms_status_message(s);
        CHECK(msg != NULL && msg[0] != '\0', "empty message for status %d", s);
    }
    CHECK(strcmp(kms_status_message(KMS_OK), "success") == 0, "status 0 text");
    CHECK(strcmp(kms_status_message(12345), "unknown kmsmote status code") == 0,
          "unknown status text");
    CHECK(kms_max_threads() >= 1, "kms_max_threads() = %d", kms_max_threads());
#ifdef _OPENMP
    CHECK(kms_openmp_enabled() == 1, "built with OpenMP but kms_openmp_enabled() = 0");
#else
    CHECK(kms_openmp_enabled() == 0, "built without OpenMP but kms_openmp_enabled() = 1");
#endif
    /* The SIMD variant: one of the documented names, never AVX2 when the
     * environment asks for the baseline or the CPU is not x86. */
    const char *variant = kms_simd_variant();
    static const char *const names[] = {"avx2", "sse2", "neon", "generic", "scalar"};
    int known = 0;
    for (size_t v = 0; v < sizeof(names) / sizeof(names[0]); v++) {
        known |= variant != NULL && strcmp(variant, names[v]) == 0;
    }
    CHECK(known, "kms_simd_variant() = %s", variant != NULL ? variant : "NULL");
    const char *want = getenv("KMSMOTE_SIMD");
    if (known && want != NULL && strcmp(want, "baseline") == 0) {
        CHECK(strcmp(variant, "avx2") != 0, "KMSMOTE_SIMD=baseline but variant avx2");
    }
#if defined(__x86_64__)
    CHECK(known && strcmp(variant, "generic") != 0 && strcmp(variant, "scalar") != 0,
          "x86_64 runs the %s variant", variant);
#endif
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) {
            g_quick = 1;
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    const char *simd = getenv("KMSMOTE_SIMD");
    printf("test_core: %s, OpenMP %s, SIMD %s, KMS_POLL_WORK %lld, "
           "KMS_POLL_SECONDS %g\n",
           g_quick ? "quick" : "full", kms_openmp_enabled() ? "on" : "off",
           simd != NULL ? simd : "auto", (long long)KMS_POLL_WORK,
           (double)KMS_POLL_SECONDS);

    test_common();
    run_all_f64();
    run_all_f32();

    printf("test_core: %ld checks, %ld failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
