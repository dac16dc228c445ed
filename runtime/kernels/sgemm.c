/* sgemm.c: the sgemm driver (see sgemm.h): blocking loops, A packing,
 * the thread split, and the portable generic microkernel. The ISA
 * microkernels are in sgemm_avx512.c / sgemm_avx2.c behind the
 * oc_sgemm_ukr table (sgemm_ukr.h); this file is plain C.
 *
 * Loop nest for rows [m0, m1) and columns [n0, n1) of C (one thread):
 *
 *   for mc in M by MB                       A block (oc_sgemm; a plan-time pack: all rows)
 *     for pc in K by KC                     one K slice
 *       pack A[mc.., pc..] (MB x KC)        unless A was packed at plan time
 *       for nc in N by NB
 *         pack B[pc.., nc..] (KC x NB)      L2 resident (or gather it: B source;
 *                                           or, against a plan-time pack,
 *                                           read full panels in place: direct_b)
 *         for ir in mc.. by MR              A panel: L1 resident
 *           for jr in nc.. by NR            B panel streamed from L2
 *             C tile (+)= A panel * B panel; after the last slice: epilogue
 *         (a remainder of a few columns past the vector width: the narrow
 *          kernel, vectorized along M, every few A panels)
 *
 * The first K slice writes C = acc (+ beta * C when beta != 0), the later
 * ones add. Every C element is the same sequence of FMAs over k whatever
 * the tile position or kernel, so splitting the work over threads does
 * not change a single bit of the result. */
#include "sgemm.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../threads.h"
#include "sgemm_ukr.h"

/* ---- generic microkernel: portable C, any CPU ---- */

enum { G_MR = 4, G_NR = 16, G_KC = 256, G_NB = 256, G_MB = 256 };
enum { MR_MAX = OC_SGEMM_MR_MAX }; /* pack sizes do not depend on the ISA */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static void g_tile(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows, int cols,
                   float beta, int load_c)
{
    float acc[G_MR][G_NR] = {{0}};
    for (int64_t k = 0; k < kc; k++, a += G_MR, b += bw)
        for (int i = 0; i < G_MR; i++) {
            float ai = a[i], *ci = acc[i];
            for (int j = 0; j < G_NR; j++)
                ci[j] += ai * b[j];
        }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            c[i * ldc + j] = load_c ? acc[i][j] + beta * c[i * ldc + j] : acc[i][j];
}

static void g_pack_b(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst)
{
    for (int64_t n = 0; n < nc; n += G_NR) {
        int64_t cols = nc - n < G_NR ? nc - n : G_NR;
        float *d = dst + n * kc;
        for (int64_t k = 0; k < kc; k++, d += G_NR)
            for (int64_t j = 0; j < G_NR; j++)
                d[j] = j >= cols ? 0.0f : trans_b ? b[(n + j) * ldb + k] : b[k * ldb + n + j];
    }
}

void oc_sgemm_pack_a_c(int mr, int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha,
                       float *dst, int64_t stride)
{
    for (int64_t r = 0; r < rows; r += mr, dst += stride) {
        int64_t n = min64(mr, rows - r);
        for (int64_t k = 0; k < kc; k++)
            for (int64_t i = 0; i < mr; i++)
                dst[k * mr + i] = i >= n ? 0.0f : alpha * (trans_a ? a[k * lda + r + i] : a[(r + i) * lda + k]);
    }
}

static void g_pack_a(int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha, float *dst,
                     int64_t stride)
{
    oc_sgemm_pack_a_c(G_MR, rows, kc, a, lda, trans_a, alpha, dst, stride);
}

static void g_epi(const oc_sgemm_epi *e, float *c, int64_t ldc, int rows, int cols, int64_t m, int64_t n)
{
    const float *res = e->res ? e->res + m * e->ldr + n : NULL;
    oc_epilogue_apply(e->ep, c, ldc, rows, cols, m, n, e->shift, res, e->ldr);
}

static const oc_sgemm_ukr ukr_generic = {.isa = OC_ISA_GENERIC, .mr = G_MR, .nr = G_NR, .vw = G_NR,
                                         .kc = G_KC, .nb = G_NB, .mb = G_MB, .tile = g_tile,
                                         .pack_a = g_pack_a, .pack_b = g_pack_b, .epi = g_epi};

static const oc_sgemm_ukr *ukr_for(oc_isa isa)
{
#ifdef OC_SGEMM_X86
    if (isa == OC_ISA_AVX512)
        return &oc_sgemm_ukr_avx512;
    if (isa == OC_ISA_AVX2)
        return &oc_sgemm_ukr_avx2;
#endif
    (void)isa;
    return &ukr_generic;
}

/* The kernel a plan-time pack of M rows uses: the ISA's, except on AVX2
 * for 4, 8, 16 or 20 rows, which MR = 6 pads to 6, 12, 18 or 24: the
 * 4 x 24 tile pads nothing and needs a third fewer or 11% fewer tiles,
 * but reads 1.5 times as much B per FMA, which costs as much at larger M.
 * Zen 1 class EPYC, one thread, the same product alternating in one
 * process (best of 200, GFLOP/s, 4 x 24 against 6 x 16): 16 x 12544 x 32
 * 32.8 vs 30.2, 16 x 49 x 40 21.0 vs 18.4; 32 x 784 x 192 34.0 vs 33.2,
 * 32 x 12544 x 27 16.2 vs 16.6 (a wash, so 32 stays), 64 x 3136 x 576 27.4
 * vs 32.2 (worse). In MobileNet-v2 against ONNX Runtime's per-layer
 * times, its 1x1 conv 32 -> 16 at 112x112 went 0.462 -> 0.435 ms.
 * Against packed (gathered) B, whose panels stream from L1/L2 in order,
 * 28 and 32 rows take it too: MobileNet-v2's stem (32 x 12544 x 27, B
 * gathered) went 1.103 -> 1.028 ms in the model against ONNX Runtime's
 * 0.94. */
static const oc_sgemm_ukr *pack_ukr_for(int64_t M, int gathered)
{
    const oc_sgemm_ukr *u = ukr_for(oc_cpu_isa());
#ifdef OC_SGEMM_X86
    if (u == &oc_sgemm_ukr_avx2 && M > 0 && M <= (gathered ? 32 : 20) && M % 6 && M % 4 == 0)
        return &oc_sgemm_ukr_avx2_m4;
#endif
    return u;
}

int oc_sgemm_mr(void) { return ukr_for(oc_cpu_isa())->mr; }
int oc_sgemm_kc(void) { return ukr_for(oc_cpu_isa())->kc; }
int oc_sgemm_c8_store(void)
{
#ifdef OC_SGEMM_X86
    return ukr_for(oc_cpu_isa()) == &oc_sgemm_ukr_avx2;
#else
    return 0;
#endif
}
int oc_sgemm_nr(void) { return ukr_for(oc_cpu_isa())->nr; }
const char *oc_sgemm_isa(void) { return oc_isa_name(ukr_for(oc_cpu_isa())->isa); }

/* B block, A block, 16 floats of slack after the A block (the AVX2
 * narrow kernel reads 2 floats past the last panel), and the prefetch
 * tail (sgemm.h: the scratch is prefaulted, so the tail is in memory). */
static size_t ukr_scratch(const oc_sgemm_ukr *u)
{
    return ((size_t)u->kc * u->nb + (size_t)u->mb * u->kc + 16) * 4 + OC_SGEMM_PREFETCH_TAIL;
}

size_t oc_sgemm_scratch_bytes(void)
{
    size_t s = ukr_scratch(&ukr_generic);
#ifdef OC_SGEMM_X86
    if (ukr_scratch(&oc_sgemm_ukr_avx512) > s)
        s = ukr_scratch(&oc_sgemm_ukr_avx512);
    if (ukr_scratch(&oc_sgemm_ukr_avx2) > s)
        s = ukr_scratch(&oc_sgemm_ukr_avx2);
    if (ukr_scratch(&oc_sgemm_ukr_avx2_m4) > s)
        s = ukr_scratch(&oc_sgemm_ukr_avx2_m4);
#endif
    return s + 64; /* room to align the start to a cache line */
}

static float *align64(void *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* ---- A packing ---- */

/* A plan-time pack: this header, then K in slices of the ISA's KC (the
 * last one shorter), each slice holding ceil(M / mr) panels of kc x mr:
 * a pass over one K slice reads A as one sequential stream, which the
 * hardware prefetcher follows (panels of K x mr would be far apart). */
typedef struct pack_hdr {
    uint32_t magic;
    int32_t isa, mr, reserved;
    int64_t m, k;
    unsigned char pad[32];
} pack_hdr;
_Static_assert(sizeof(pack_hdr) == 64, "the pack header keeps the panels cache-line aligned");
#define PACK_MAGIC 0x4b504753u /* "SGPK" */

size_t oc_sgemm_pack_a_bytes(int64_t M, int64_t K)
{
    if (M <= 0 || K <= 0)
        return sizeof(pack_hdr);
    /* ceil(M / MR) * MR <= M + MR_MAX - 1 for every ISA; + 16 floats of
     * slack (see ukr_scratch) and the prefetch tail (sgemm.h) */
    return sizeof(pack_hdr) + ((size_t)(M + MR_MAX - 1) * (size_t)K + 16) * sizeof(float) + OC_SGEMM_PREFETCH_TAIL;
}

/* Writes zeros over the slack and the prefetch tail after the panels, so
 * that their pages are in memory (a plan's packs live in a fresh mapping,
 * where a page nobody wrote is not). */
static void pack_tail(const oc_sgemm_ukr *u, int64_t M, int64_t K, void *dst)
{
    if (M <= 0 || K <= 0) /* a header alone */
        return;
    size_t used = sizeof(pack_hdr) + (size_t)(cdiv(M, u->mr) * u->mr * K) * sizeof(float);
    memset((unsigned char *)dst + used, 0, 16 * sizeof(float) + OC_SGEMM_PREFETCH_TAIL);
}

static void pack_with(const oc_sgemm_ukr *u, int64_t M, int64_t K, const float *A, int64_t lda, int trans_a, void *dst)
{
    pack_hdr h = {PACK_MAGIC, (int32_t)u->isa, u->mr, 0, M, K, {0}};
    memcpy(dst, &h, sizeof h);
    if (M > 0 && K > 0)
        for (int64_t pc = 0; pc < K; pc += u->kc) {
            int64_t kc = min64(u->kc, K - pc);
            u->pack_a(M, kc, trans_a ? A + pc * lda : A + pc, lda, trans_a, 1.0f,
                      (float *)((unsigned char *)dst + sizeof h) + pc * cdiv(M, u->mr) * u->mr, kc * u->mr);
        }
    pack_tail(u, M, K, dst);
}

void oc_sgemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, int trans_a, void *dst)
{
    pack_with(pack_ukr_for(M, 0), M, K, A, lda, trans_a, dst);
}

void oc_sgemm_pack_a_gathered(int64_t M, int64_t K, const float *A, int64_t lda, int trans_a, void *dst)
{
    pack_with(pack_ukr_for(M, 1), M, K, A, lda, trans_a, dst);
}

int oc_sgemm_pack_mr(int64_t M) { return pack_ukr_for(M, 0)->mr; }

void oc_sgemm_pack_a_header(int64_t M, int64_t K, void *dst)
{
    const oc_sgemm_ukr *u = pack_ukr_for(M, 0);
    pack_hdr h = {PACK_MAGIC, (int32_t)u->isa, u->mr, 0, M, K, {0}};
    memcpy(dst, &h, sizeof h);
    pack_tail(u, M, K, dst);
}

void oc_sgemm_pack_a_rows(int64_t M, int64_t K, int64_t m0, int64_t m1, const float *A, int64_t lda, int trans_a,
                          void *dst)
{
    const oc_sgemm_ukr *u = pack_ukr_for(M, 0);
    if (m1 <= m0 || K <= 0 || m0 % u->mr)
        return;
    float *base = (float *)((unsigned char *)dst + sizeof(pack_hdr));
    for (int64_t pc = 0; pc < K; pc += u->kc) {
        int64_t kc = min64(u->kc, K - pc);
        u->pack_a(m1 - m0, kc, trans_a ? A + pc * lda : A + pc, lda, trans_a, 1.0f,
                  base + pc * cdiv(M, u->mr) * u->mr + m0 / u->mr * kc * u->mr, kc * u->mr);
    }
}

/* The pack's kernel table, or NULL when Ap is not a pack of M x K. */
static const oc_sgemm_ukr *pack_ukr(const void *Ap, int64_t M, int64_t K)
{
    pack_hdr h;
    memcpy(&h, Ap, sizeof h);
    if (h.magic != PACK_MAGIC || h.m != M || h.k != K || h.isa > (int32_t)oc_cpu_isa_detected() ||
        h.isa < OC_ISA_GENERIC)
        return NULL;
    const oc_sgemm_ukr *u = ukr_for((oc_isa)h.isa);
#ifdef OC_SGEMM_X86
    if (u == &oc_sgemm_ukr_avx2 && h.mr == oc_sgemm_ukr_avx2_m4.mr)
        u = &oc_sgemm_ukr_avx2_m4;
#endif
    return u->mr == h.mr ? u : NULL;
}

int oc_sgemm_packed_mr(const void *Ap)
{
    pack_hdr h;
    memcpy(&h, Ap, sizeof h);
    return h.magic == PACK_MAGIC ? h.mr : 0;
}

/* ---- the blocked product ---- */

typedef struct gemm_args {
    const oc_sgemm_ukr *u;
    int64_t M, N, K;
    const float *ap; /* plan-time panels (after the header), or NULL: pack from A */
    const float *A;
    int64_t lda;
    int trans_a;
    float alpha;
    const float *B;
    int64_t ldb;
    int trans_b;
    float beta;
    float *C;
    int64_t ldc;
    const oc_sgemm_epi *epi; /* NULL when it does nothing */
    const oc_sgemm_bsrc *bsrc; /* B from a gather callback instead of B (packed A only) */
    const float *bpre;         /* B packed beforehand (oc_sgemm_pack_b; one K slice), or NULL */
} gemm_args;

/* Packs B[pc, pc + kc) x [nc, nc + nw) from the B source into bp: one
 * call per NR-wide panel, which is itself a row-major kc x w matrix (w =
 * NR, or the last panel's width rounded up to the vector width, padding
 * columns zero). */
static void gather_b(const gemm_args *g, int64_t pc, int64_t kc, int64_t nc, int64_t nw, float *bp)
{
    const oc_sgemm_ukr *u = g->u;
    for (int64_t n = 0; n < nw; n += u->nr) {
        int64_t cols = min64(u->nr, nw - n), w = cols == u->nr ? u->nr : cdiv(cols, u->vw) * u->vw;
        float *d = bp + n * kc;
        g->bsrc->fill(g->bsrc->ctx, pc, kc, nc + n, cols, d, w);
        if (cols < w)
            for (int64_t k = 0; k < kc; k++)
                memset(d + k * w + cols, 0, sizeof(float) * (size_t)(w - cols));
    }
}

static const oc_sgemm_epi *epi_needed(const oc_sgemm_epi *e)
{
    if (!e)
        return NULL;
    if (e->shift || e->cvs || (e->ep && (e->ep->act != OC_ACT_NONE || (e->ep->has_residual && e->res))))
        return e;
    return NULL;
}

/* Row m, column n of C (n a multiple of 8 when C is in column blocks). */
static float *c_at(const gemm_args *g, int64_t m, int64_t n)
{
    int64_t cvs = g->epi ? g->epi->cvs : 0;
    return g->C + m * g->ldc + (cvs ? n / 8 * cvs + n % 8 : n);
}

/* C = beta * C and the epilogue on a block: the K == 0 / alpha == 0 case. */
static void scale_only(const gemm_args *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    for (int64_t m = m0; m < m1; m++) {
        float *c = g->C + m * g->ldc;
        for (int64_t n = n0; n < n1; n++)
            c[n] = g->beta == 0.0f ? 0.0f : g->beta * c[n];
    }
    if (g->epi)
        oc_epilogue_apply(g->epi->ep, g->C + m0 * g->ldc + n0, g->ldc, m1 - m0, n1 - n0, m0, n0, g->epi->shift,
                          g->epi->res ? g->epi->res + m0 * g->epi->ldr + n0 : NULL, g->epi->ldr);
}

/* The tiles of one packed B block (kc x nw, columns [nc, nc + nw)) against
 * the A panels of rows [mc, mh). A remainder of r columns narrower than a
 * vector goes to the narrow kernel when the ISA has one, every
 * narrow_panels A panels, while those panels are still in cache. */
/* B read in place (direct_b) against at most FEW_PANELS A panels, rows
 * of B at most FEW_PANELS_MAX_LDB floats apart: run_block takes each B
 * panel once, and all the A panels against it, instead of sweeping the B
 * block once per A panel. MobileNet-v2, batch 1, one thread, Zen 1 class
 * EPYC, in the model against ORT's profiler (4 alternating repetitions):
 * its 1x1 convs with 32 and 64 outputs at 28x28 and 14x14 1-3% faster
 * (192 -> 32: 0.276 -> 0.270 ms; 384 -> 64: 0.281 -> 0.277); with 16 and
 * 24 outputs at 112x112 and 56x56, B rows 12544 and 3136 floats apart,
 * 2-6% slower (144 -> 24: 0.438 -> 0.464), hence the limit. */
enum { FEW_PANELS = 6, FEW_PANELS_MAX_LDB = 1024 };

/* The columns of a tail of `tail` (past the last full panel) that
 * run_block gives the narrow kernel: the remainder past a multiple of the
 * vector width, when the ISA's narrow kernel takes that many. When that is
 * all of the tail, the narrow kernel reads B in place like the full panels
 * (it broadcasts single elements: any row stride does). The 7x7 maps of
 * late CNN layers at batch 1 (N = 49: 48 columns of tiles and one narrow
 * column) packed that one column per K slice, a latency-bound
 * walk over every row of B, and perf put the pack at 5.5% of ResNet-18's
 * 256 -> 512 3x3 stride-2 conv on two threads (the col read in place,
 * row-block mode). Zen 5, 2 vCPUs, the conv through oc_conv_forward with
 * W cold (16 copies in turn), best / mean of 300: 0.43-0.46 / 0.57-0.59
 * ms -> 0.40-0.41 / 0.49-0.51; in the model (`onnxc bench --profile`, six
 * alternating pairs of processes) 0.444-0.518 -> 0.400-0.447 ms. One
 * thread (B gathered, not read in place) and the 1x1 convs on 7x7
 * (ResNet-50 layer4) unchanged within noise. */
static int64_t narrow_cols(const oc_sgemm_ukr *u, int64_t tail)
{
    int64_t r = tail % u->vw;
    return u->narrow && r <= u->narrow_max ? r : 0;
}

/* What the tiles of one run_block call share. */
typedef struct block {
    const gemm_args *g;
    const float *abase, *bp, *bdir;
    int64_t astride, mc, nc, kc, nfull, wtail;
    float beta;
    int load_c, last;
} block;

/* The tile of A panel rows [ir, ir + rows) and B panel columns jr.. of a
 * block, with the epilogue after the last K slice. */
static void block_tile(const block *k, int64_t ir, int rows, int64_t jr, int cols)
{
    const gemm_args *g = k->g;
    const oc_sgemm_ukr *u = g->u;
    const float *a = k->abase + (ir - k->mc) / u->mr * k->astride;
    float *c = c_at(g, ir, k->nc + jr);
    /* a full panel straight from B (bdir), or the packed one */
    const float *b = k->bdir && jr < k->nfull ? k->bdir + jr : k->bp + jr * k->kc;
    int64_t bw = k->bdir && jr < k->nfull ? g->ldb : jr < k->nfull ? u->nr : k->wtail;
    if (k->last && g->epi && u->tile_epi) {
        u->tile_epi(k->kc, a, b, bw, c, g->ldc, rows, cols, k->beta, k->load_c, g->epi, ir, k->nc + jr);
        return;
    }
    u->tile(k->kc, a, b, bw, c, g->ldc, rows, cols, k->beta, k->load_c);
    if (k->last && g->epi)
        u->epi(g->epi, c, g->ldc, rows, cols, ir, k->nc + jr);
}

static void run_block(const gemm_args *g, const float *abase, int64_t astride, int64_t mc, int64_t mh, int64_t nc,
                      int64_t nw, int64_t kc, const float *bp, const float *bdir, float beta, int load_c, int last)
{
    const oc_sgemm_ukr *u = g->u;
    const int mr = u->mr, nr = u->nr;
    int64_t nfull = nw / nr * nr, tail = nw - nfull, wtail = (tail + u->vw - 1) / u->vw * u->vw;
    int r = (int)narrow_cols(u, tail);
    int64_t ncols = nw - r; /* columns done by tiles */
    int64_t chunk = r ? (int64_t)u->narrow_panels * mr : mh - mc;
    block k = {g, abase, bp, bdir, astride, mc, nc, kc, nfull, wtail, beta, load_c, last};
    for (int64_t ic = mc; ic < mh; ic += chunk) {
        int64_t ih = min64(ic + chunk, mh);
        if ((bdir && ih - ic <= FEW_PANELS * mr && g->ldb <= FEW_PANELS_MAX_LDB) || (g->bpre && !r)) {
            /* B panel major (few A panels against B read in place, or B
             * packed beforehand): each B panel once, all the A panels
             * against it while it is in L1 */
            for (int64_t jr = 0; jr < ncols; jr += nr)
                for (int64_t ir = ic; ir < ih; ir += mr)
                    block_tile(&k, ir, (int)min64(mr, ih - ir), jr, (int)min64(nr, ncols - jr));
        } else
            for (int64_t ir = ic; ir < ih; ir += mr)
                for (int64_t jr = 0; jr < ncols; jr += nr)
                    block_tile(&k, ir, (int)min64(mr, ih - ir), jr, (int)min64(nr, ncols - jr));
        if (r) {
            /* B in place when the narrow columns are all of the tail (run packed none of it) */
            int inplace = bdir && r == tail;
            float *c = c_at(g, ic, nc + ncols);
            u->narrow(kc, abase + (ic - mc) / mr * astride, astride, (int)(ih - ic),
                      inplace ? bdir + ncols : bp + nfull * kc + (tail - r), inplace ? g->ldb : wtail, r, c, g->ldc,
                      beta, load_c);
            if (last && g->epi)
                u->epi(g->epi, c, g->ldc, (int)(ih - ic), r, ic, nc + ncols);
        }
    }
}

/* Whether full B panels are read in place instead of packed: B row-major
 * (no gather, not transposed) against an A packed at plan time, whose row
 * stride is not a multiple of 4 KB (every row of the panel would map to the
 * same L1 sets). The microkernel reads the same B values in the same order
 * either way, so the bits do not change; only the copy goes. The copy is a
 * pass over B per K slice that the A panels then amortize: with few rows
 * (MobileNet's 1x1 projections, 16-96 outputs; ResNet-50's 64-row 1x1s) it
 * cost 10-25% of the product. ONNXC_SGEMM_DIRECT_B=0 turns it off
 * (measurements; read once). */
static int direct_b(const gemm_args *g)
{
    static atomic_int on = -1;
    int v = atomic_load_explicit(&on, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("ONNXC_SGEMM_DIRECT_B");
        v = !(e && !strcmp(e, "0"));
        atomic_store_explicit(&on, v, memory_order_relaxed);
    }
    return v && !g->bsrc && !g->trans_b && g->ap && g->ldb % 1024 != 0;
}

static void run(const gemm_args *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, void *scratch)
{
    if (m0 >= m1 || n0 >= n1)
        return;
    if (g->K <= 0 || (!g->ap && g->alpha == 0.0f)) {
        scale_only(g, m0, m1, n0, n1);
        return;
    }
    const oc_sgemm_ukr *u = g->u;
    const int mr = u->mr;
    const int64_t K = g->K;
    float *bp = align64(scratch);
    float *ablk = bp + (size_t)u->kc * u->nb;
    /* A packed at plan time needs no A block: one pass over all rows packs
     * each B block once. */
    int64_t mb = g->ap ? m1 - m0 : u->mb;
    int direct = direct_b(g);
    for (int64_t mc = m0; mc < m1; mc += mb) {
        int64_t mh = min64(mc + mb, m1);
        for (int64_t pc = 0; pc < K; pc += u->kc) {
            int64_t kc = min64(u->kc, K - pc);
            const float *abase;
            int64_t astride;
            if (g->ap) {
                abase = g->ap + pc * cdiv(g->M, mr) * mr + (mc / mr) * kc * mr;
                astride = kc * mr;
            } else {
                u->pack_a(mh - mc, kc, g->trans_a ? g->A + pc * g->lda + mc : g->A + mc * g->lda + pc, g->lda,
                          g->trans_a, g->alpha, ablk, kc * mr);
                abase = ablk;
                astride = kc * mr;
            }
            int first = pc == 0, last = pc + kc >= K;
            float beta = first ? g->beta : 1.0f;
            int load_c = !first || g->beta != 0.0f;
            for (int64_t nc = n0; nc < n1; nc += u->nb) {
                int64_t nw = min64(u->nb, n1 - nc);
                const float *bdir = NULL;
                if (g->bpre) /* its panels for columns nc.. follow each other as pack_b writes them */
                    bp = (float *)(g->bpre + nc * kc);
                else if (g->bsrc)
                    gather_b(g, pc, kc, nc, nw, bp);
                else if (direct) {
                    /* full panels read B in place; only the last partial one is
                     * packed, unless it is all narrow columns, which the narrow
                     * kernel reads in place too (run_block) */
                    int64_t nfull = nw / u->nr * u->nr;
                    bdir = g->B + pc * g->ldb + nc;
                    if (nw > nfull && narrow_cols(u, nw - nfull) != nw - nfull)
                        u->pack_b(kc, nw - nfull, bdir + nfull, g->ldb, 0, bp + nfull * kc);
                } else
                    u->pack_b(kc, nw, g->trans_b ? g->B + nc * g->ldb + pc : g->B + pc * g->ldb + nc, g->ldb,
                              g->trans_b, bp);
                run_block(g, abase, astride, mc, mh, nc, nw, kc, bp, bdir, beta, load_c, last);
            }
        }
    }
}

/* ---- entry points ---- */

static int packed_args(gemm_args *g, int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1,
                       const float *B, int64_t ldb, int trans_b, float beta, float *C, int64_t ldc,
                       const oc_sgemm_epi *epi)
{
    if (!Ap || M < 0 || N < 0 || K < 0 || m0 < 0 || m0 > m1 || m1 > M)
        return -1;
    const oc_sgemm_ukr *u = pack_ukr(Ap, M, K);
    if (!u || m0 % u->mr)
        return -1;
    *g = (gemm_args){u,    M, N, K, (const float *)((const unsigned char *)Ap + sizeof(pack_hdr)), NULL, 0, 0,
                     1.0f, B, ldb, trans_b, beta, C, ldc, epi_needed(epi), NULL};
    return 0;
}

int oc_sgemm_packed(int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1, const float *B,
                    int64_t ldb, int trans_b, float beta, float *C, int64_t ldc, const oc_sgemm_epi *epi,
                    void *scratch)
{
    gemm_args g;
    if (packed_args(&g, M, N, K, Ap, m0, m1, B, ldb, trans_b, beta, C, ldc, epi))
        return -1;
    run(&g, m0, m1, 0, N, scratch);
    return 0;
}

static gemm_args general_args(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                              int64_t ldc, const oc_sgemm_epi *epi)
{
    return (gemm_args){ukr_for(oc_cpu_isa()), M, N, K, NULL, A, lda, trans_a, alpha, B, ldb, trans_b, beta, C, ldc,
                       epi_needed(epi), NULL};
}

void oc_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, const oc_sgemm_epi *epi,
              void *scratch)
{
    gemm_args g = general_args(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epi);
    run(&g, 0, M, 0, N, scratch);
}

static void run_threaded(const gemm_args *g, int64_t m0, int64_t m1, int threads, unsigned char *ts, size_t stride);

/* A B pack: this header, then the panels pack_b writes for all N columns. */
typedef struct bpack_hdr {
    uint32_t magic;
    int32_t isa;
    int64_t k, n;
    unsigned char pad[40];
} bpack_hdr;
_Static_assert(sizeof(bpack_hdr) == 64, "the B pack header keeps the panels cache-line aligned");
#define BPACK_MAGIC 0x4b504742u /* "BGPK" */

size_t oc_sgemm_pack_b_bytes(int64_t K, int64_t N)
{
    const oc_sgemm_ukr *u = ukr_for(oc_cpu_isa());
    int64_t w = cdiv(N > 0 ? N : 1, u->nr) * u->nr;
    return sizeof(bpack_hdr) + (size_t)(K > 0 ? K : 1) * (size_t)w * sizeof(float);
}

void oc_sgemm_pack_b(int64_t K, int64_t N, const float *B, int64_t ldb, int trans_b, void *dst)
{
    const oc_sgemm_ukr *u = ukr_for(oc_cpu_isa());
    bpack_hdr h = {BPACK_MAGIC, (int32_t)u->isa, K, N, {0}};
    memcpy(dst, &h, sizeof h);
    if (K > 0 && N > 0 && K <= u->kc)
        u->pack_b(K, N, B, ldb, trans_b, (float *)((unsigned char *)dst + sizeof h));
}

int oc_sgemm_threaded_bpacked(int trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                              int64_t lda, const void *Bp, float beta, float *C, int64_t ldc,
                              const oc_sgemm_epi *epi, int threads, unsigned char *tscratch,
                              size_t tscratch_stride)
{
    bpack_hdr h;
    if (!Bp)
        return -1;
    memcpy(&h, Bp, sizeof h);
    gemm_args g = general_args(trans_a, 0, M, N, K, alpha, A, lda, NULL, N, beta, C, ldc, epi);
    if (h.magic != BPACK_MAGIC || h.isa != (int32_t)g.u->isa || h.k != K || h.n != N || K > g.u->kc)
        return -1;
    g.bpre = (const float *)((const unsigned char *)Bp + sizeof h);
    run_threaded(&g, 0, M, threads, tscratch, tscratch_stride);
    return 0;
}

int oc_sgemm_packed_gather(int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1,
                           const oc_sgemm_bsrc *src, float beta, float *C, int64_t ldc, const oc_sgemm_epi *epi,
                           void *scratch)
{
    gemm_args g;
    if (!src || !src->fill || packed_args(&g, M, N, K, Ap, m0, m1, NULL, 0, 0, beta, C, ldc, epi))
        return -1;
    g.bsrc = src;
    run(&g, m0, m1, 0, N, scratch);
    return 0;
}

/* ---- the thread split ---- */

/* Below this many multiply-adds a product runs on one thread: waking the
 * pool costs microseconds (1M multiply-adds take ~5-10 us on one core). */
#define SERIAL_MACS (1 << 20)
/* Costs in units of one microkernel step (MR rows x one vector x one k:
 * MR FMAs, 3-4 cycles), rough ratios that only tip near-ties: packing one
 * element from cache, and streaming one element of A from L3 or memory
 * (a tall-skinny product split over N would read all of A on every core). */
#define PACK_COST 0.05
#define AREAD_COST 0.25
/* Work items per thread when repacking allows it (see run_threaded). */
#define CHUNKS_PER_THREAD 4

typedef struct split_job {
    const gemm_args *g;
    int by_n;
    int64_t m0, m1;
    int64_t unit;    /* rows (MR) or columns (a multiple of the vector width) per unit */
    int64_t units;   /* units in [m0, m1) or [0, N) */
    int64_t nchunks; /* work items, claimed in order by whichever thread is free */
    atomic_llong next;
    unsigned char *tscratch;
    size_t stride;
} split_job;

/* One pool thread: claims chunks until none is left. Which thread computes
 * a chunk does not change its bits, so this dynamic assignment keeps runs
 * repeatable, and a core slowed by another process does less of the work. */
static void split_part(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)b, (void)e;
    split_job *j = ctx;
    void *s = j->tscratch + (size_t)tid * j->stride;
    for (int64_t c; (c = atomic_fetch_add(&j->next, 1)) < j->nchunks;) {
        int64_t u0 = j->units * c / j->nchunks, u1 = j->units * (c + 1) / j->nchunks;
        if (j->by_n)
            run(j->g, j->m0, j->m1, u0 * j->unit, min64(u1 * j->unit, j->g->N), s);
        else
            run(j->g, j->m0 + u0 * j->unit, min64(j->m0 + u1 * j->unit, j->m1), 0, j->g->N, s);
    }
}

/* Splits rows [m0, m1) x all columns over the pool, over M panels or over
 * N vectors: whichever gives the cheaper largest part, counting padded
 * tiles, the packing each part repeats (B when split over M, A when split
 * over N and A is not pre-packed) and the A each part streams. Ties go to
 * M: each part keeps full-width tiles. Each thread gets up to
 * CHUNKS_PER_THREAD chunks, as many as keep the repeated packing under
 * 5% of a chunk's work. */
static void run_threaded(const gemm_args *g, int64_t m0, int64_t m1, int threads, unsigned char *ts, size_t stride)
{
    const oc_sgemm_ukr *u = g->u;
    int64_t rows = m1 - m0, N = g->N, K = g->K;
    if (rows <= 0 || N <= 0)
        return;
    if (threads <= 1 || (double)rows * N * K < SERIAL_MACS) {
        run(g, m0, m1, 0, N, ts);
        return;
    }
    int64_t mu = cdiv(rows, u->mr), nu = cdiv(N, u->vw);
    int pm = oc_parallel_parts(mu, 1, threads), pn = oc_parallel_parts(nu, 1, threads);
    double acost = (g->ap ? 0.0 : PACK_COST) + AREAD_COST;
    double bcost = g->bpre ? 0.0 : PACK_COST; /* B packed beforehand: no part packs it */
    double cm = (double)cdiv(mu, pm) * nu * K + bcost * K * N + acost * cdiv(mu, pm) * u->mr * K;
    double cn = (double)mu * cdiv(nu, pn) * K + PACK_COST * K * cdiv(nu, pn) * u->vw + acost * rows * K;
    /* with B packed beforehand, parts over M pack nothing twice; over N
     * every chunk would pack all of A again (MobileNet-v2's 14x14 1x1
     * convs into blocks, 2 threads: 0.38 ms over N, 0.32 over M) */
    int by_n = !g->bpre && cn < cm, parts = by_n ? pn : pm;
    if (parts <= 1) {
        run(g, m0, m1, 0, N, ts);
        return;
    }
    /* N chunks in whole NR panels when there are enough of them */
    int64_t unit = by_n ? u->vw : u->mr, units = by_n ? nu : mu;
    if (by_n && nu >= (int64_t)CHUNKS_PER_THREAD * parts * (u->nr / u->vw)) {
        unit = u->nr;
        units = cdiv(N, u->nr);
    }
    double redo = by_n ? (g->ap ? 0.0 : PACK_COST * rows * K) : bcost * K * N; /* packing each chunk repeats */
    double work = (double)mu * nu * K;
    int q = CHUNKS_PER_THREAD;
    while (q > 1 && (units < (int64_t)q * parts || redo > 0.05 * work / ((double)q * parts)))
        q /= 2;
    split_job j = {g, by_n, m0, m1, unit, units, (int64_t)q * parts, 0, ts, stride};
    oc_parallel_for(parts, 1, threads, split_part, &j);
}

void oc_sgemm_threaded(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                       const oc_sgemm_epi *epi, int threads, unsigned char *tscratch, size_t tscratch_stride)
{
    gemm_args g = general_args(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epi);
    run_threaded(&g, 0, M, threads, tscratch, tscratch_stride);
}

int oc_sgemm_packed_threaded(int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1,
                             const float *B, int64_t ldb, int trans_b, float beta, float *C, int64_t ldc,
                             const oc_sgemm_epi *epi, int threads, unsigned char *tscratch, size_t tscratch_stride)
{
    gemm_args g;
    if (packed_args(&g, M, N, K, Ap, m0, m1, B, ldb, trans_b, beta, C, ldc, epi))
        return -1;
    run_threaded(&g, m0, m1, threads, tscratch, tscratch_stride);
    return 0;
}
