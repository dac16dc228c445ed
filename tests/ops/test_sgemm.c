/* test_sgemm.c: onnxc's sgemm (runtime/kernels/sgemm.h) against a
 * double-precision triple loop, for every ISA this CPU supports (forced
 * with oc_cpu_set_isa), on odd shapes: M, N, K from {1, 3, 7, 17, 33, 65,
 * 129, 300} mixes and K = 4608, column remainders of 1 to 15 past the
 * vector width (the narrow kernel's cases), transposed operands, leading dimensions
 * larger than the rows (the gaps hold NaN, so reading them shows), beta 0
 * over a NaN-filled C, beta 1 and 0.5, alpha, row sub-ranges of a packed
 * A, the threaded entries, and every epilogue (shift per row and per
 * column, residual, each activation). The expected value is the double sum
 * rounded to float, then oc_epilogue_apply; the bound is
 * (8 + 2 sqrt(K)) * FLT_EPSILON * (|alpha| sum |a b| + |beta c| + |shift| + |r|).
 * Elements of C outside the computed block must keep their sentinel.
 *
 * `test_sgemm --env-cap NAME` only checks that ONNXC_ISA=NAME capped the
 * ISA (CTest runs it with that variable set). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/kernels/sgemm.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"

static unsigned rng = 12345u;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

typedef struct shape {
    int64_t m, n, k;
} shape;

static const shape shapes[] = {
    {1, 1, 1},      {3, 7, 17},    {7, 3, 33},    {17, 65, 7},   {33, 17, 129}, {65, 129, 3},  {129, 33, 65},
    {300, 7, 17},   {7, 300, 129}, {17, 33, 300}, {300, 65, 33}, {65, 300, 65}, {17, 49, 4608}, {8, 48, 384},
    {16, 96, 769},  {9, 49, 385},  {129, 129, 129}, {1, 300, 65}, {300, 1, 65}, {64, 200, 147}, {6, 16, 256},
    {13, 1000, 5},  {12, 33, 1},   {24, 97, 1025}, {70, 196, 40}, {200, 50, 30}, {41, 4, 9}, {100, 2, 300},
    {257, 147, 20},
    /* 4, 8, 16 or 20 rows: AVX2 packs use the 4 x 24 tile; N past its full
     * panels: 1 and 3 columns (narrow), 2 with 16 in a tile, 21 (a partial
     * 3-vector tile), 6 (a partial vector), K over two slices */
    {16, 49, 40},   {8, 115, 27},  {20, 90, 33},  {20, 21, 70},  {4, 30, 513}, {16, 3136, 24},
};

/* Large enough (> 1M multiply-adds) for the threaded entries to split:
 * over M with N remainders, over N in vector and in NR-panel units. */
static const shape split_shapes[] = {
    {600, 49, 40}, {1000, 19, 60}, {40, 2000, 14}, {24, 1100, 41}, {300, 300, 12}, {16, 3000, 30},
};

enum { E_GENERAL, E_PACKED, E_PACKED_SUB, E_THREADED, E_PACKED_THREADED, E_COUNT };
static const char *const entry_names[E_COUNT] = {"general", "packed", "packed rows", "threaded", "packed threaded"};

typedef struct epi_kind {
    const char *name;
    int act;
    float alpha, beta;
    int shift, per_col, residual;
} epi_kind;

static const epi_kind epis[] = {
    {"none", OC_ACT_NONE, 0, 0, 0, 0, 0},
    {"shift/row", OC_ACT_NONE, 0, 0, 1, 0, 0},
    {"shift/col+Relu", OC_ACT_RELU, 0, 0, 1, 1, 0},
    {"residual", OC_ACT_NONE, 0, 0, 0, 0, 1},
    {"shift+residual+Relu", OC_ACT_RELU, 0, 0, 1, 0, 1},
    {"Clip(-0.5,0.5)", OC_ACT_CLIP, -0.5f, 0.5f, 1, 0, 0},
    {"Sigmoid", OC_ACT_SIGMOID, 0, 0, 1, 1, 1},
    {"LeakyRelu", OC_ACT_LEAKY_RELU, 0.1f, 0, 0, 0, 1},
    {"Tanh", OC_ACT_TANH, 0, 0, 1, 0, 0},
    {"Gelu", OC_ACT_GELU, 0, 0, 0, 0, 0},
    {"HardSwish", OC_ACT_HARD_SWISH, 0, 0, 1, 1, 0},
    {"HardSigmoid", OC_ACT_HARD_SIGMOID, 0.2f, 0.5f, 0, 0, 1},
    {"Relu", OC_ACT_RELU, 0, 0, 0, 0, 0},
};
enum { N_EPIS = sizeof epis / sizeof epis[0] };

static const float SENTINEL = 1234.5f;

/* The logical operands of one shape and their exact product, shared by
 * all cases of the shape: op(A) is M x K, op(B) K x N, P = op(A) op(B) and
 * Mag = |op(A)| |op(B)| in double. */
typedef struct operands {
    float *a, *b;
    double *p, *mag;
} operands;

static operands make_operands(const shape *s)
{
    int64_t M = s->m, N = s->n, K = s->k;
    operands o = {malloc(sizeof(float) * (size_t)(M * K)), malloc(sizeof(float) * (size_t)(K * N)),
                  calloc((size_t)(M * N), sizeof(double)), calloc((size_t)(M * N), sizeof(double))};
    for (int64_t i = 0; i < M * K; i++)
        o.a[i] = frand();
    for (int64_t i = 0; i < K * N; i++)
        o.b[i] = frand();
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) {
            double a = o.a[m * K + k];
            const float *br = o.b + k * N;
            double *pr = o.p + m * N, *mr = o.mag + m * N;
            for (int64_t n = 0; n < N; n++) {
                pr[n] += a * br[n];
                mr[n] += fabs(a * br[n]);
            }
        }
    return o;
}

static void free_operands(operands *o) { free(o->a), free(o->b), free(o->p), free(o->mag); }

/* One case: the operands stored transposed or with wider rows (the gaps
 * NaN), as the variant says, run through one entry point. */
static void run_case(const shape *s, const operands *o, int entry, int variant, unsigned char *scratch,
                     size_t sstride)
{
    int64_t M = s->m, N = s->n, K = s->k;
    int ta = variant & 1, tb = (variant >> 1) & 1, pad = (variant >> 2) & 1;
    const epi_kind *ek = &epis[variant % N_EPIS];
    float betas[3] = {0.0f, 1.0f, 0.5f};
    float beta = betas[variant % 3];
    int packed = entry == E_PACKED || entry == E_PACKED_SUB || entry == E_PACKED_THREADED;
    float alpha = packed || variant % 4 ? 1.0f : -0.75f;

    int64_t lda = (ta ? M : K) + (pad ? 5 : 0), ldb = (tb ? K : N) + (pad ? 3 : 0), ldc = N + (pad ? 7 : 0);
    int64_t arows = ta ? K : M, brows = tb ? N : K;
    float *A = malloc(sizeof(float) * (size_t)(arows * lda));
    float *B = malloc(sizeof(float) * (size_t)(brows * ldb));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc));
    float *C0 = malloc(sizeof(float) * (size_t)(M * N));
    float *R = malloc(sizeof(float) * (size_t)(M * ldc));
    float *shift = malloc(sizeof(float) * (size_t)(M > N ? M : N));
    float *expect = malloc(sizeof(float) * (size_t)(M * N));
    double *bound = malloc(sizeof(double) * (size_t)(M * N));
    for (int64_t i = 0; i < arows * lda; i++) {
        int64_t r = i / lda, c = i % lda;
        A[i] = c >= (ta ? M : K) ? NAN : ta ? o->a[c * K + r] : o->a[r * K + c];
    }
    for (int64_t i = 0; i < brows * ldb; i++) {
        int64_t r = i / ldb, c = i % ldb;
        B[i] = c >= (tb ? K : N) ? NAN : tb ? o->b[c * N + r] : o->b[r * N + c];
    }
    for (int64_t i = 0; i < M * ldc; i++)
        R[i] = frand();
    for (int64_t i = 0; i < (M > N ? M : N); i++)
        shift[i] = frand();
    for (int64_t i = 0; i < M * N; i++)
        C0[i] = frand();

    /* the row range computed */
    int64_t m0 = 0, m1 = M;
    void *Ap = NULL;
    if (packed) {
        Ap = malloc(oc_sgemm_pack_a_bytes(M, K));
        oc_sgemm_pack_a(M, K, A, lda, ta, Ap);
        int mr = oc_sgemm_packed_mr(Ap);
        CHECK(mr == oc_sgemm_pack_mr(M), "pack mr %d vs %d", mr, oc_sgemm_pack_mr(M));
        if (entry == E_PACKED_SUB || (entry == E_PACKED_THREADED && variant % 2)) {
            m0 = M > mr ? mr : 0;
            m1 = M - M / 4;
            if (m1 <= m0)
                m1 = M;
        }
    }

    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < ldc; n++)
            C[m * ldc + n] = n >= N || m < m0 || m >= m1 ? SENTINEL : beta == 0.0f ? NAN : C0[m * N + n];

    /* reference: the double product, rounded once, then the epilogue in float */
    for (int64_t i = 0; i < M * N; i++) {
        double c0 = beta != 0.0f ? (double)beta * C0[i] : 0.0;
        expect[i] = (float)(alpha * o->p[i] + c0);
        bound[i] = fabs(alpha) * o->mag[i] + fabs(c0);
    }
    oc_epilogue ep = {ek->act, ek->alpha, ek->beta, ek->per_col, ek->residual};
    oc_sgemm_epi epi = {&ep, ek->shift ? shift : NULL, ek->residual ? R : NULL, ldc};
    oc_epilogue_apply(&ep, expect, N, M, N, 0, 0, epi.shift, epi.res, ldc);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++)
            bound[m * N + n] +=
                (epi.shift ? fabs(shift[ek->per_col ? n : m]) : 0) + (epi.res ? fabs(R[m * ldc + n]) : 0);

    int rc = 0;
    switch (entry) {
    case E_GENERAL:
        oc_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &epi, scratch);
        break;
    case E_THREADED:
        oc_sgemm_threaded(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &epi, 2, scratch, sstride);
        break;
    case E_PACKED:
    case E_PACKED_SUB:
        rc = oc_sgemm_packed(M, N, K, Ap, m0, m1, B, ldb, tb, beta, C, ldc, &epi, scratch);
        break;
    default:
        rc = oc_sgemm_packed_threaded(M, N, K, Ap, m0, m1, B, ldb, tb, beta, C, ldc, &epi, 2, scratch, sstride);
        break;
    }
    CHECK(rc == 0, "packed entry returned %d", rc);

    double worst = 0, worst_rel = 0;
    int64_t bad = 0, touched = 0;
    double tol = (8.0 + 2.0 * sqrt((double)K)) * FLT_EPSILON;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < ldc; n++) {
            float got = C[m * ldc + n];
            if (n >= N || m < m0 || m >= m1) {
                touched += got != SENTINEL;
                continue;
            }
            double want = expect[m * N + n], err = fabs((double)got - want);
            double lim = tol * bound[m * N + n] + 1e-30;
            if (!(err <= lim))
                bad++;
            if (err > worst || err != err)
                worst = err;
            if (err / lim > worst_rel || err != err)
                worst_rel = err / lim;
        }
    printf("  %-7s %-15s %4lld x %4lld x %4lld ta=%d tb=%d pad=%d alpha=%5.2f beta=%.1f rows [%lld,%lld) %-20s "
           "worst %.2e (%.3f of bound)\n",
           oc_sgemm_isa(), entry_names[entry], (long long)M, (long long)N, (long long)K, ta, tb, pad, alpha, beta,
           (long long)m0, (long long)m1, ek->name, worst, worst_rel);
    CHECK(bad == 0, "%lld elements beyond the bound", (long long)bad);
    CHECK(touched == 0, "%lld elements outside the block written", (long long)touched);
    free(A), free(B), free(C), free(C0), free(R), free(shift), free(expect), free(bound), free(Ap);
}

/* K == 0 and alpha == 0: C = beta * C, then the epilogue; A and B unread. */
static void check_degenerate(unsigned char *scratch)
{
    float C[6] = {1, 2, 3, 4, 5, 6}, shift[2] = {10, 20};
    oc_epilogue ep = {OC_ACT_RELU, 0, 0, 0, 0};
    oc_sgemm_epi epi = {&ep, shift, NULL, 0};
    oc_sgemm(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.5f, C, 3, &epi, scratch);
    CHECK(C[0] == 10.5f && C[5] == 23.0f, "K = 0: C[0] = %g, C[5] = %g", C[0], C[5]);
    float A[2] = {NAN, NAN}, B[3] = {NAN, NAN, NAN};
    oc_sgemm(0, 0, 2, 3, 1, 0.0f, A, 1, B, 3, 0.0f, C, 3, &epi, scratch);
    CHECK(C[0] == 10.0f && C[4] == 20.0f, "alpha = 0: C[0] = %g, C[4] = %g", C[0], C[4]);
    oc_sgemm(0, 0, 0, 3, 4, 1.0f, A, 1, B, 3, 0.0f, C, 3, NULL, scratch); /* M = 0: nothing */
    float junk[16] = {0}; /* a 64-byte header that is not a pack */
    CHECK(oc_sgemm_packed(2, 3, 1, junk, 0, 2, B, 3, 0, 0.0f, C, 3, NULL, scratch) == -1, "not a pack");
    printf("  degenerate shapes (K = 0, alpha = 0, M = 0, bad pack): checked\n");
}

/* Threads must not change a bit of the result; a pack made under one ISA
 * keeps its kernel when the ISA in force changes. */
static void check_determinism(unsigned char *scratch, size_t sstride)
{
    int64_t M = 100, N = 301, K = 777;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = frand();
    for (int64_t i = 0; i < K * N; i++)
        B[i] = frand();
    oc_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N, NULL, scratch);
    oc_sgemm_threaded(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N, NULL, 2, scratch, sstride);
    CHECK(!memcmp(C1, C2, sizeof(float) * M * N), "threaded result differs from single-threaded");
    void *Ap = malloc(oc_sgemm_pack_a_bytes(M, K));
    oc_sgemm_pack_a(M, K, A, K, 0, Ap);
    oc_isa was = oc_cpu_isa();
    oc_cpu_set_isa(OC_ISA_GENERIC);
    int rc = oc_sgemm_packed(M, N, K, Ap, 0, M, B, N, 0, 0.0f, C2, N, NULL, scratch);
    oc_cpu_set_isa(was);
    CHECK(rc == 0 && !memcmp(C1, C2, sizeof(float) * M * N), "pack used after an ISA change differs");
    /* against a packed A, full B panels are read in place unless B's row
     * stride is a multiple of 4 KB (then packed): the same B at ldb = N
     * and at ldb = 1024 takes both paths, with the same bits */
    float *Bw = malloc(sizeof(float) * K * 1024), *C3 = malloc(sizeof(float) * M * N);
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < 1024; n++)
            Bw[k * 1024 + n] = n < N ? B[k * N + n] : NAN;
    oc_sgemm_pack_a(M, K, A, K, 0, Ap);
    int rc2 = oc_sgemm_packed(M, N, K, Ap, 0, M, B, N, 0, 0.0f, C2, N, NULL, scratch);
    int rc3 = oc_sgemm_packed(M, N, K, Ap, 0, M, Bw, 1024, 0, 0.0f, C3, N, NULL, scratch);
    CHECK(rc2 == 0 && rc3 == 0 && !memcmp(C1, C2, sizeof(float) * M * N) && !memcmp(C1, C3, sizeof(float) * M * N),
          "B read in place and B packed differ");
    printf("  threads 1 vs 2, a pack used under another ISA, B in place vs packed: bitwise equal\n");
    free(A), free(B), free(C1), free(C2), free(Ap), free(Bw), free(C3);
}

/* B source of check_gather: reads a stored matrix, counting the elements
 * asked for (each must be asked once per row block). */
typedef struct gather_src {
    const float *b;
    int64_t ldb, K, N, asked;
    int bad;
} gather_src;

static void gather_fill(void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst, int64_t ldd)
{
    gather_src *g = ctx;
    if (kc < 1 || kc > 512 || nc < 1 || nc > oc_sgemm_nr() || n0 < 0 || k0 < 0 || k0 + kc > g->K ||
        n0 + nc > g->N || ldd < nc)
        g->bad++;
    for (int64_t k = 0; k < kc; k++)
        for (int64_t n = 0; n < nc; n++)
            dst[k * ldd + n] = g->b[(k0 + k) * g->ldb + n0 + n];
    g->asked += kc * nc;
}

/* oc_sgemm_packed_gather equals oc_sgemm_packed on the stored B bit for
 * bit (odd M, N past NB with a narrow remainder, K past KC, row ranges,
 * fused epilogue), and asks for every element of B exactly once. */
static void check_gather(unsigned char *scratch)
{
    int64_t M = 45, N = 389, K = 421, ldb = N + 5, ldc = N + 2;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * ldb), *sh = malloc(sizeof(float) * M);
    float *C1 = malloc(sizeof(float) * M * ldc), *C2 = malloc(sizeof(float) * M * ldc);
    float *R = malloc(sizeof(float) * M * ldc);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = frand();
    for (int64_t i = 0; i < K * ldb; i++)
        B[i] = frand();
    for (int64_t i = 0; i < M * ldc; i++)
        R[i] = frand();
    for (int64_t i = 0; i < M; i++)
        sh[i] = frand();
    void *Ap = malloc(oc_sgemm_pack_a_bytes(M, K));
    oc_sgemm_pack_a(M, K, A, K, 0, Ap);
    int mr = oc_sgemm_packed_mr(Ap);
    oc_epilogue ep = {OC_ACT_RELU, 0.0f, 0.0f, 0, 1};
    oc_sgemm_epi epi = {&ep, sh, R, ldc};
    int bad = 0;
    for (int v = 0; v < 2; v++) {
        int64_t m0 = v ? mr : 0, m1 = v ? M - 3 : M;
        const oc_sgemm_epi *e = v ? &epi : NULL;
        gather_src gs = {B, ldb, K, N, 0, 0};
        oc_sgemm_bsrc src = {gather_fill, &gs};
        for (int64_t i = 0; i < M * ldc; i++)
            C1[i] = C2[i] = SENTINEL;
        int rc1 = oc_sgemm_packed(M, N, K, Ap, m0, m1, B, ldb, 0, 0.0f, C1, ldc, e, scratch);
        int rc2 = oc_sgemm_packed_gather(M, N, K, Ap, m0, m1, &src, 0.0f, C2, ldc, e, scratch);
        if (rc1 || rc2 || gs.bad || gs.asked != K * N || memcmp(C1, C2, sizeof(float) * M * ldc))
            bad++;
    }
    oc_sgemm_bsrc none = {NULL, NULL};
    CHECK(oc_sgemm_packed_gather(M, N, K, Ap, 0, M, &none, 0.0f, C2, ldc, NULL, scratch) == -1, "no fill accepted");
    CHECK(bad == 0, "%s: gathered B differs from stored B in %d runs", oc_sgemm_isa(), bad);
    printf("  %s: B gathered by a callback bitwise equal to B from memory\n", oc_sgemm_isa());
    free(A), free(B), free(sh), free(C1), free(C2), free(R), free(Ap);
}

/* The fused epilogue must give exactly what oc_epilogue_apply gives on the
 * finished product (the vector Relu/none path included), for tiles, edge
 * tiles and narrow columns, with beta 0 and 1 (C holding some NaN). */
static void check_epilogue_bitwise(unsigned char *scratch)
{
    int64_t M = 37, N = 50, K = 70, ldc = N + 3;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *R = malloc(sizeof(float) * M * ldc);
    float *C0 = malloc(sizeof(float) * M * ldc), *C1 = malloc(sizeof(float) * M * ldc),
          *C2 = malloc(sizeof(float) * M * ldc), *shift = malloc(sizeof(float) * N);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = frand();
    for (int64_t i = 0; i < K * N; i++)
        B[i] = frand();
    for (int64_t i = 0; i < M * ldc; i++)
        R[i] = frand(), C0[i] = i % 11 == 5 ? NAN : frand(); /* NaN through beta 1: Relu zeroes it, Clip keeps it */
    for (int64_t i = 0; i < N; i++)
        shift[i] = frand();
    int bad = 0;
    for (int e = 0; e < N_EPIS; e++)
        for (int b = 0; b < 2; b++) {
            const epi_kind *ek = &epis[e];
            oc_epilogue ep = {ek->act, ek->alpha, ek->beta, ek->per_col, ek->residual};
            oc_sgemm_epi epi = {&ep, ek->shift ? shift : NULL, ek->residual ? R : NULL, ldc};
            memcpy(C1, C0, sizeof(float) * M * ldc);
            memcpy(C2, C0, sizeof(float) * M * ldc);
            oc_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, (float)b, C1, ldc, NULL, scratch);
            oc_epilogue_apply(&ep, C1, ldc, M, N, 0, 0, epi.shift, epi.res, ldc);
            oc_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, (float)b, C2, ldc, &epi, scratch);
            if (memcmp(C1, C2, sizeof(float) * M * ldc)) {
                bad++;
                printf("  fused %s (beta %d) differs from oc_epilogue_apply\n", ek->name, b);
            }
        }
    CHECK(bad == 0, "%d fused epilogues differ", bad);
    printf("  %s: fused epilogues bitwise equal to oc_epilogue_apply (%d kinds x beta 0/1)\n", oc_sgemm_isa(),
           (int)N_EPIS);
    free(A), free(B), free(R), free(C0), free(C1), free(C2), free(shift);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--env-cap")) {
        oc_isa want = !strcmp(argv[2], "generic") ? OC_ISA_GENERIC : !strcmp(argv[2], "avx2") ? OC_ISA_AVX2
                                                                                               : OC_ISA_AVX512;
        oc_isa got = oc_cpu_isa(), det = oc_cpu_isa_detected();
        printf("ONNXC_ISA=%s: detected %s, in force %s\n", argv[2], oc_isa_name(det), oc_isa_name(got));
        CHECK(got == (want < det ? want : det), "cap not applied");
        CHECK(oc_cpu_set_isa(OC_ISA_AVX512) == det, "set_isa must clamp to the detected ISA");
        return check_finish("sgemm env cap");
    }
    oc_set_threads(2);
    size_t sstride = oc_sgemm_scratch_bytes();
    unsigned char *scratch = malloc(2 * sstride);
    oc_isa det = oc_cpu_isa_detected();
    printf("detected ISA: %s\n", oc_isa_name(det));
    for (int isa = OC_ISA_GENERIC; isa <= (int)det; isa++) {
        CHECK(oc_cpu_set_isa((oc_isa)isa) == (oc_isa)isa, "cannot force %s", oc_isa_name((oc_isa)isa));
        printf("ISA %s: MR x NR = %d x %d\n", oc_sgemm_isa(), oc_sgemm_mr(), oc_sgemm_nr());
        CHECK(!strcmp(oc_sgemm_isa(), oc_isa_name((oc_isa)isa)), "sgemm runs %s", oc_sgemm_isa());
        check_degenerate(scratch);
        check_determinism(scratch, sstride);
        check_epilogue_bitwise(scratch);
        check_gather(scratch);
    }
    int variant = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        operands o = make_operands(&shapes[s]);
        double macs = (double)shapes[s].m * shapes[s].n * shapes[s].k;
        for (int isa = OC_ISA_GENERIC; isa <= (int)det; isa++) {
            oc_cpu_set_isa((oc_isa)isa);
            for (int e = 0; e < E_COUNT; e++) /* the largest shapes: alternate entries (keeps ASan runs short) */
                if (macs < 2e5 || (e + isa) % 2 == 0)
                    run_case(&shapes[s], &o, e, variant++, scratch, sstride);
        }
        free_operands(&o);
    }
    for (size_t s = 0; s < sizeof split_shapes / sizeof split_shapes[0]; s++) {
        operands o = make_operands(&split_shapes[s]);
        oc_cpu_set_isa(s == 0 ? OC_ISA_GENERIC : det); /* the split is ISA-independent: generic once */
        run_case(&split_shapes[s], &o, E_THREADED, variant++, scratch, sstride);
        run_case(&split_shapes[s], &o, E_PACKED_THREADED, variant++, scratch, sstride);
        free_operands(&o);
    }
    oc_cpu_set_isa(det);
    free(scratch);
    oc_threads_shutdown();
    return check_finish("sgemm");
}
