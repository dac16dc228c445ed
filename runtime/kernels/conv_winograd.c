/* conv_winograd.c: see conv_winograd.h.
 *
 * Transform matrices (Lavin & Gray 2016), interpolation points 0, 1, -1
 * (and 2, -2 for m = 4) and infinity:
 *   F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *                G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *                A^T = [1 1 1 0; 0 1 -1 -1]
 *   F(4x4, 3x3): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *                       0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *                G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *                       1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *                A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * Tile (ty, tx) covers output rows m*ty .. m*ty + m - 1 (columns alike)
 * and reads the alpha x alpha input window from row m*ty - pad_top,
 * column m*tx - pad_left (zero outside the image).
 *
 * Work decomposition: a tile row of one image is cut into segments of at
 * most OC_WINO_SEG_MAX tiles (the transforms' vector direction); rows of
 * fewer than SEG_ROW_MIN tiles are grouped instead, k rows a segment with
 * a gap lane after each (conv_winograd_ukr.h), so the vectors stay full; a
 * block is a run of consecutive segments (of any images), sized so its V
 * and M fit in about TILE_BLOCK_BYTES. Per block (one thread, its own
 * scratch), channel by channel, the window rows of all its segments are
 * staged zero-padded first (stage_rows), then transformed:
 *   V [P][C][cap]  input transform, segment after segment (columns = lanes);
 *   M_xi = U_xi . V_xi, P products on onnxc's packed SGEMM (U packed at plan time);
 *   Y  output transform + bias, then residual and activation on the
 *      finished tile rows while they are in L1 (the fused epilogue).
 * Threads take whole blocks; when there are fewer than two blocks per
 * thread the blocks shrink (never below one segment, nor below
 * TILE_BLOCK_MIN tiles), and when that cannot be, the threads share each
 * block, splitting its input channels, then its P products, then its
 * output channels. */
#include "conv_winograd.h"

#include <string.h>

#include "../cpu.h"
#include "../threads.h"
#include "conv_winograd_ukr.h"
#include "epilogue.h"
#include "runs.h"
#include "sgemm.h"
#include "vmath.h"

/* The portable transforms: the same source the ISA files compile. */
#define OC_WINO_TABLE oc_wino_ukr_generic
#include "conv_winograd_tf.h"
#undef OC_WINO_TABLE

#define TILE_BLOCK_BYTES ((size_t)1 << 20) /* V and M of one block: about L2 (1 MB on Zen 5); 0.5-8 MB measured, 0.5-1 best */
#define TILE_BLOCK_MIN 48                   /* tiles: below that the SGEMM's 48-wide panels run part empty */
#define SEG_ROW_MIN 12                      /* tiles: narrower tile rows are grouped into one segment */

typedef struct wino_geom {
    int m, alpha, P;                           /* output tile m x m, window alpha x alpha, P = alpha^2 */
    int64_t C, M, H, W, OH, OW, pt, pl, th, tw; /* th x tw tiles per image */
    int64_t segk, segw, nseg;                  /* tile rows and tiles per row of a segment; segments per row group */
    int64_t srs;                               /* floats per staged super row */
    int64_t per_img;                           /* segments per image */
    int64_t spb, cap;                          /* segments per block; tile columns of V and M (spb * segk * segw) */
    int64_t ld;                                /* row stride of V and M: cap + the transforms' slack */
    int64_t vs, ms;                            /* stride between positions xi in V and in M */
} wino_geom;

/* Lanes of a segment of k tile rows of n tiles: a gap lane after each row when k > 1. */
static int64_t lanes_of(int64_t k, int64_t n) { return k == 1 ? n : k * (n + 1); }

static void geometry(const oc_conv_params *p, int m, wino_geom *g)
{
    g->m = m;
    g->alpha = m + 2;
    g->P = g->alpha * g->alpha;
    g->C = p->cin;
    g->M = p->cout;
    g->H = p->in[0];
    g->W = p->in[1];
    g->OH = p->out[0];
    g->OW = p->out[1];
    g->pt = p->pb[0];
    g->pl = p->pb[1];
    g->th = (g->OH + m - 1) / m;
    g->tw = (g->OW + m - 1) / m;
    g->nseg = (g->tw + OC_WINO_SEG_MAX - 1) / OC_WINO_SEG_MAX;
    g->segw = (g->tw + g->nseg - 1) / g->nseg;
    g->segk = 1;
    if (g->tw < SEG_ROW_MIN) {
        g->segk = OC_WINO_SEG_MAX / (g->tw + 1);
        g->segk = g->segk > g->th ? g->th : g->segk;
    }
    g->per_img = (g->th + g->segk - 1) / g->segk * g->nseg;
    int64_t seg_tiles = g->segk * g->segw, seg_lanes = lanes_of(g->segk, g->segw);
    int64_t np = (seg_lanes + OC_WINO_LANES - 1) / OC_WINO_LANES * OC_WINO_LANES;
    g->srs = (m * np + g->alpha + 15) / 16 * 16;
    int64_t per_tile = (int64_t)g->P * (g->C + g->M) * (int64_t)sizeof(float);
    int64_t want = per_tile > 0 ? (int64_t)TILE_BLOCK_BYTES / per_tile : TILE_BLOCK_MIN;
    want = want < TILE_BLOCK_MIN ? TILE_BLOCK_MIN : want;
    g->spb = want / seg_tiles < 1 ? 1 : want / seg_tiles;
    g->cap = g->spb * seg_tiles;
    g->ld = (g->cap + 2 * OC_WINO_LANES - 1) / OC_WINO_LANES * OC_WINO_LANES;
    /* The transforms write (read) the P positions of a lane group as P
     * streams xs floats apart; one extra cache line per position keeps
     * those streams off a single L1 set and 4 KB alias (with the stride a
     * multiple of 4 KB every store would alias the transform's own loads). */
    g->vs = g->C * g->ld + 16;
    g->ms = g->M * g->ld + 16;
}

static const oc_wino_ukr *transforms(void)
{
#ifdef OC_WINO_X86
    oc_isa isa = oc_cpu_isa();
    if (isa >= OC_ISA_AVX512)
        return &oc_wino_ukr_avx512;
    if (isa >= OC_ISA_AVX2)
        return &oc_wino_ukr_avx2;
#endif
    return &oc_wino_ukr_generic;
}

int oc_conv_winograd_applicable(const oc_conv_params *p)
{
    return p->nsp == 2 && p->group == 1 && p->k[0] == 3 && p->k[1] == 3 && p->s[0] == 1 && p->s[1] == 1 &&
           p->dil[0] == 1 && p->dil[1] == 1 && p->cin > 0 && p->cout > 0 && p->out[0] > 0 && p->out[1] > 0;
}

/* A 3x3 stride-1 ConvTranspose is the conv of its input with the
 * rotated, transposed filter and start pads 2 - pb: from
 *   Y[o] += X[i] W[kk] for o = i - pb + kk
 * follows Y[o] = sum_t X[o - (2 - pb) + t] W[2 - t] per dim (zero outside
 * X), whatever Y's extent. */
int oc_conv_transpose_winograd_applicable(const oc_conv_params *p)
{
    return oc_conv_winograd_applicable(p) && p->pb[0] >= 0 && p->pb[0] <= 2 && p->pb[1] >= 0 && p->pb[1] <= 2;
}

/* The conv geometry a kernel runs: p itself, or (flip) the conv that a
 * ConvTranspose with parameters p equals, written to *q. */
static const oc_conv_params *conv_view(const oc_conv_params *p, int flip, oc_conv_params *q)
{
    if (!flip)
        return p;
    *q = *p;
    q->pb[0] = 2 - p->pb[0];
    q->pb[1] = 2 - p->pb[1];
    return q;
}

/* Per-thread floats of the run-time weight transform: wt and the P U_xi
 * of one block of output channels. */
static size_t wt_block_floats(const wino_geom *g, int64_t rows) { return (size_t)(9 + g->P) * (size_t)(rows * g->C); }

/* V, M, then the staged rows of a block's segments. */
static size_t block_bytes(const wino_geom *g)
{
    return ((sizeof(float) * (size_t)(g->P * (g->vs + g->ms) + g->spb * g->alpha * g->srs)) + 63) & ~(size_t)63;
}

size_t oc_conv_winograd_tscratch(const oc_conv_params *p, int m)
{
    wino_geom g;
    geometry(p, m, &g);
    size_t run = block_bytes(&g) + oc_sgemm_scratch_bytes();
    size_t wt = sizeof(float) * wt_block_floats(&g, OC_SGEMM_MR_MAX); /* the run-time weight transform's block */
    return run > wt ? run : wt;
}

static size_t pack_stride(const wino_geom *g) { return (oc_sgemm_pack_a_bytes(g->M, g->C) + 63) & ~(size_t)63; }

static size_t prep_bytes(const oc_kargs *a, int m, int flip)
{
    wino_geom g;
    oc_conv_params q;
    geometry(conv_view(a->p, flip, &q), m, &g);
    /* the packs, then room for one unpacked U_xi while packing */
    return (size_t)g.P * pack_stride(&g) + sizeof(float) * (size_t)(g.M * g.C);
}

/* Rows of G (alpha x 3) for F(2x2, 3x3) and F(4x4, 3x3). */
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double G4[6][3] = {{0.25, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

/* Filter tap t (0..8, row major) of the conv filter from input channel
 * ch to output channel o. Conv's W is [M, C, 3, 3]; a ConvTranspose run
 * as a conv (flip) reads its W [C_in, C_out, 3, 3] transposed and rotated
 * by 180 degrees: tap t of the conv is tap 8 - t of W[ch][o]. */
static float filter_tap(const float *w, int64_t o, int64_t ch, int t, const wino_geom *g, int flip)
{
    return flip ? w[(ch * g->M + o) * 9 + (8 - t)] : w[(o * g->C + ch) * 9 + t];
}

/* U_xi [M, C] = (G g G^T)[r][c] (xi = alpha r + c) for every filter g,
 * in double, rounded once; packed one xi at a time through the tail of
 * dst. The plan-time path (constant W). */
static int prep(const oc_kargs *a, void *dst, int m, int flip)
{
    wino_geom g;
    oc_conv_params q;
    geometry(conv_view(a->p, flip, &q), m, &g);
    const double(*G)[3] = m == 2 ? G2 : G4;
    const float *w = a->in[1]->data;
    size_t stride = pack_stride(&g);
    float *u = (float *)((unsigned char *)dst + (size_t)g.P * stride);
    for (int xi = 0; xi < g.P; xi++) {
        const double *gr = G[xi / g.alpha], *gc = G[xi % g.alpha];
        for (int64_t o = 0; o < g.M; o++)
            for (int64_t ch = 0; ch < g.C; ch++) {
                double v = 0;
                for (int i = 0; i < 3; i++) {
                    double row = gr[0] * filter_tap(w, o, ch, i, &g, flip) + gr[1] * filter_tap(w, o, ch, 3 + i, &g, flip) +
                                 gr[2] * filter_tap(w, o, ch, 6 + i, &g, flip); /* (G g)[r][i] */
                    v += row * gc[i];
                }
                u[o * g.C + ch] = (float)v;
            }
        oc_sgemm_pack_a(g.M, g.C, u, g.C, 0, (unsigned char *)dst + (size_t)xi * stride);
    }
    return 0;
}

/* The run-time path (W trained, so new at every step): the same U in
 * float, vectorizable and split over threads by blocks of MR output
 * channels (one SGEMM panel). Per block, in the thread's scratch, its
 * filters are laid out tap major, wt[t][o C + ch], so that
 *   U_xi = sum_t coef_xi[t] wt[t]     (coef_xi[t] = G[r][t/3] G[c][t%3])
 * is nine contiguous streams; the block's rows of all P U_xi are computed
 * while wt is in L2 and packed straight into their place in each pack. */
typedef struct wt_job {
    const float *w;
    unsigned char *packs;
    const wino_geom *g;
    const oc_kargs *a;
    size_t stride;
    int64_t rows; /* output channels per block */
    int flip;
} wt_job;

static void wt_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const wt_job *j = ctx;
    const wino_geom *g = j->g;
    oc_wino_filter_fn filter = g->m == 2 ? transforms()->filter2 : transforms()->filter4;
    float *wt = (float *)(j->a->tscratch + (size_t)tid * j->a->tscratch_stride);
    for (int64_t blk = b; blk < e; blk++) {
        int64_t o0 = blk * j->rows, o1 = o0 + j->rows < g->M ? o0 + j->rows : g->M, n = (o1 - o0) * g->C;
        float *u = wt + 9 * n;
        /* filter f = ch R + r (input channel major, r = o - o0): each U_xi
         * comes out k major, [C][R], which is the pack's own panel layout */
        int64_t R = o1 - o0;
        for (int64_t r = 0; r < R; r++)
            for (int64_t ch = 0; ch < g->C; ch++) {
                int64_t f = ch * R + r;
                if (!j->flip) { /* W [M, C, 3, 3] */
                    const float *src = j->w + ((o0 + r) * g->C + ch) * 9;
                    for (int t = 0; t < 9; t++)
                        wt[t * n + f] = src[t];
                } else { /* ConvTranspose's W [C_in, C_out, 3, 3], rotated */
                    const float *src = j->w + (ch * g->M + o0 + r) * 9;
                    for (int t = 0; t < 9; t++)
                        wt[t * n + f] = src[8 - t];
                }
            }
        filter(wt, n, u, n);
        for (int xi = 0; xi < g->P; xi++)
            oc_sgemm_pack_a_rows(g->M, g->C, o0, o1, u + xi * n, R, 1, j->packs + (size_t)xi * j->stride);
    }
}

/* Shared scratch of the run-time path: the P packs. */
static size_t runtime_bytes(const wino_geom *g) { return (size_t)g->P * pack_stride(g); }

static int transform_at_run_time(const oc_kargs *a, const wino_geom *g, int flip, int threads)
{
    if (!a->scratch)
        return oc_fail(a->d, "Conv (Winograd): no scratch for the run-time weight transform");
    wt_job j = {.w = a->in[1]->data, .packs = a->scratch, .g = g, .a = a, .stride = pack_stride(g), .flip = flip,
                .rows = oc_sgemm_pack_mr(g->M)};
    if (a->tscratch_stride < sizeof(float) * wt_block_floats(g, j.rows))
        return oc_fail(a->d, "Conv (Winograd): per-thread scratch too small for the run-time weight transform");
    for (int xi = 0; xi < g->P; xi++)
        oc_sgemm_pack_a_header(g->M, g->C, j.packs + (size_t)xi * j.stride);
    oc_parallel_for((g->M + j.rows - 1) / j.rows, 1, threads, wt_task, &j);
    return 0;
}

size_t oc_conv_winograd_prep_bytes(const oc_kargs *a) { return prep_bytes(a, 2, 0); }
int oc_conv_winograd_prep(const oc_kargs *a, void *dst) { return prep(a, dst, 2, 0); }
size_t oc_conv_winograd4_prep_bytes(const oc_kargs *a) { return prep_bytes(a, 4, 0); }
int oc_conv_winograd4_prep(const oc_kargs *a, void *dst) { return prep(a, dst, 4, 0); }
size_t oc_conv_transpose_winograd_prep_bytes(const oc_kargs *a) { return prep_bytes(a, 2, 1); }
int oc_conv_transpose_winograd_prep(const oc_kargs *a, void *dst) { return prep(a, dst, 2, 1); }
size_t oc_conv_transpose_winograd4_prep_bytes(const oc_kargs *a) { return prep_bytes(a, 4, 1); }
int oc_conv_transpose_winograd4_prep(const oc_kargs *a, void *dst) { return prep(a, dst, 4, 1); }

typedef struct wino_job {
    const oc_kargs *a;
    const oc_conv_params *p;
    const oc_wino_ukr *uk;
    wino_geom g;
    const float *x, *bias, *res;
    float *y;
    const unsigned char *packs;
    size_t stride, vm_bytes;
    int64_t segs; /* segments of the whole batch */
    int64_t nblk; /* blocks they are cut into (near-equal, none over spb segments) */
} wino_job;

/* Segments [s0, s1) of block blk: nblk near-equal runs, so that threads
 * taking equal counts of blocks get equal work (14 segments cut 4+4+4+2
 * ran 8 rows against 6 on 2 threads; 3+4+3+4 runs 7 against 7). */
static void block_span(const wino_job *j, int64_t blk, int64_t *s0, int64_t *s1)
{
    *s0 = j->segs * blk / j->nblk;
    *s1 = j->segs * (blk + 1) / j->nblk;
}

/* Blocks of at most spb segments, rounded up to a multiple of the
 * threads while every block keeps a segment. */
static int64_t block_count(int64_t segs, int64_t spb, int threads)
{
    int64_t nb = spb > 0 ? (segs + spb - 1) / spb : segs;
    if (threads > 1 && nb % threads) {
        int64_t up = (nb + threads - 1) / threads * threads;
        nb = up <= segs ? up : nb;
    }
    return nb > 0 ? nb : 1;
}

/* Segment s of the batch: image, first tile row, tile rows, first tile
 * column, tiles per row. */
static void segment(const wino_geom *g, int64_t s, int64_t *img, int64_t *ty, int64_t *k, int64_t *tx0, int64_t *n)
{
    int64_t r = s % g->per_img;
    *img = s / g->per_img;
    *ty = r / g->nseg * g->segk;
    *k = g->th - *ty < g->segk ? g->th - *ty : g->segk;
    *tx0 = r % g->nseg * g->segw;
    *n = g->tw - *tx0 < g->segw ? g->tw - *tx0 : g->segw;
}

/* Window row r of every lane of a segment, one super row each
 * (conv_winograd_ukr.h): tile row kk's piece is input row
 * m (ty + kk) - pt + r from column m tx0 - pl, m (n + 1) floats, zero
 * outside the image; the rest of the row is zero. Borders and short
 * pieces are inline stores (runs.h), not library calls. */
static void stage_rows(const wino_geom *g, const float *plane, int64_t ty, int64_t k, int64_t tx0, int64_t n,
                       float *dst)
{
    int m = g->m;
    int64_t len = m * (n + 1), x0 = m * tx0 - g->pl;
    int64_t a = x0 < 0 ? -x0 : 0, b = g->W - x0 < len ? g->W - x0 : len; /* valid columns [a, b) of a piece */
    for (int r = 0; r < g->alpha; r++) {
        float *row = dst + r * g->srs;
        for (int64_t kk = 0; kk < k; kk++) {
            float *piece = row + kk * len;
            int64_t y = m * (ty + kk) - g->pt + r;
            if (y < 0 || y >= g->H || b <= a) {
                memset(piece, 0, sizeof(float) * (size_t)len);
                continue;
            }
            oc_zero_run(piece, a);
            oc_copy_run(piece + a, plane + y * g->W + x0 + a, b - a);
            oc_zero_run(piece + b, len - b);
        }
        oc_zero_run(row + k * len, g->srs - k * len);
    }
}

/* The three steps of a block, each over a range of its own dimension so
 * that threads can share one block (phase_task) or own whole blocks
 * (block_task). A thread's tscratch holds V, M, its staged rows and its
 * SGEMM scratch; a shared block uses thread 0's V and M. */

/* Input transform of channels [c0, c1) of block blk into V; returns the
 * block's tiles (V's columns). */
static int64_t block_in(const wino_job *j, int64_t blk, int64_t c0, int64_t c1, float *V, float *stage)
{
    const wino_geom *g = &j->g;
    oc_wino_in_fn in = g->m == 2 ? j->uk->in2 : j->uk->in4;
    int64_t s0, s1, nt = 0, plane_in = g->H * g->W;
    block_span(j, blk, &s0, &s1);
    for (int64_t s = s0; s < s1; s++) {
        int64_t img, ty, k, tx0, n;
        segment(g, s, &img, &ty, &k, &tx0, &n);
        nt += k * n;
    }
    /* channel outer: the block's rows of one input plane are read in order
     * (prefetch-friendly), each V row written left to right; all of a
     * channel's rows are staged before any is transformed */
    for (int64_t c = c0; c < c1; c++) {
        for (int64_t s = s0; s < s1; s++) {
            int64_t img, ty, k, tx0, n;
            segment(g, s, &img, &ty, &k, &tx0, &n);
            stage_rows(g, j->x + (img * g->C + c) * plane_in, ty, k, tx0, n, stage + (s - s0) * g->alpha * g->srs);
        }
        int64_t off = 0;
        for (int64_t s = s0; s < s1; s++) {
            int64_t img, ty, k, tx0, n;
            segment(g, s, &img, &ty, &k, &tx0, &n);
            in(stage + (s - s0) * g->alpha * g->srs, g->srs, k, n, V + c * g->ld + off, g->vs);
            off += k * n;
        }
    }
    return nt;
}

/* M_xi = U_xi . V_xi for positions [x0, x1). */
static void block_gemm(const wino_job *j, int64_t nt, int64_t x0, int64_t x1, const float *V, float *Mx, void *gs)
{
    const wino_geom *g = &j->g;
    for (int64_t xi = x0; xi < x1; xi++)
        oc_sgemm_packed(g->M, nt, g->C, j->packs + (size_t)xi * j->stride, 0, g->M, V + xi * g->vs, g->ld, 0, 0.0f,
                        Mx + xi * g->ms, g->ld, NULL, gs);
}

/* Output transform (+ bias, residual, activation) of channels [o0, o1). */
static void block_out(const wino_job *j, int64_t blk, int64_t o0, int64_t o1, const float *Mx)
{
    const wino_geom *g = &j->g;
    int m = g->m;
    oc_wino_out_fn out = m == 2 ? j->uk->out2 : j->uk->out4;
    int64_t s0, s1, off = 0;
    block_span(j, blk, &s0, &s1);
    int64_t plane_out = g->OH * g->OW;
    for (int64_t s = s0; s < s1; s++) {
        int64_t img, ty, k, tx0, n;
        segment(g, s, &img, &ty, &k, &tx0, &n);
        int64_t rows = g->OH - m * ty < m * k ? g->OH - m * ty : m * k;
        int64_t cols = g->OW - m * tx0 < m * n ? g->OW - m * tx0 : m * n;
        int64_t at = (m * ty) * g->OW + m * tx0; /* the segment's first output in a plane */
        for (int64_t o = o0; o < o1; o++) {
            int64_t plane = (img * g->M + o) * plane_out;
            out(Mx + o * g->ld + off, g->ms, k, n, j->bias ? j->bias[o] : 0.0f, &j->p->ep,
                j->res ? j->res + plane + at : NULL, j->y + plane + at, g->OW, rows, cols);
        }
        off += k * n;
    }
}

typedef struct scratch_view {
    float *V, *Mx, *stage;
    void *gs;
} scratch_view;

static scratch_view thread_scratch(const wino_job *j, int tid)
{
    unsigned char *ts = j->a->tscratch + (size_t)tid * j->a->tscratch_stride;
    scratch_view v;
    v.V = (float *)ts;
    v.Mx = v.V + j->g.P * j->g.vs;
    v.stage = v.Mx + j->g.P * j->g.ms;
    v.gs = ts + j->vm_bytes;
    return v;
}

/* Whole blocks [b, e) on one thread, in its own scratch. */
static void block_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const wino_job *j = ctx;
    scratch_view sv = thread_scratch(j, tid);
    for (int64_t blk = b; blk < e; blk++) {
        int64_t nt = block_in(j, blk, 0, j->g.C, sv.V, sv.stage);
        block_gemm(j, nt, 0, j->g.P, sv.V, sv.Mx, sv.gs);
        block_out(j, blk, 0, j->g.M, sv.Mx);
    }
}

/* One block shared by all threads, one step at a time: input channels,
 * then positions, then output channels are split. */
typedef struct phase_job {
    const wino_job *j;
    int64_t blk, nt;
    int step; /* 0 input, 1 products, 2 output */
    float *V, *Mx;
} phase_job;

static void phase_task(void *ctx, int64_t b, int64_t e, int tid)
{
    phase_job *ph = ctx;
    scratch_view sv = thread_scratch(ph->j, tid);
    if (ph->step == 0)
        block_in(ph->j, ph->blk, b, e, ph->V, sv.stage);
    else if (ph->step == 1)
        block_gemm(ph->j, ph->nt, b, e, ph->V, ph->Mx, sv.gs);
    else
        block_out(ph->j, ph->blk, b, e, ph->Mx);
}

static int forward(const oc_kargs *a, int m, int flip)
{
    oc_conv_params q;
    const oc_conv_params *p = conv_view(a->p, flip, &q);
    wino_job j = {.a = a, .p = p, .uk = transforms(), .x = a->in[0]->data, .y = a->out[0]->data, .packs = a->prep};
    geometry(p, m, &j.g);
    j.bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    j.res = p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    j.stride = pack_stride(&j.g);
    j.vm_bytes = block_bytes(&j.g);
    j.segs = p->batch * j.g.per_img;
    int threads = a->threads > 0 ? a->threads : 1;
    if (!a->tscratch || a->tscratch_stride < j.vm_bytes + oc_sgemm_scratch_bytes())
        return oc_fail(a->d, "Conv (Winograd): per-thread scratch missing or too small");
    if (!j.packs) { /* W is not a constant: transform it now */
        if (transform_at_run_time(a, &j.g, flip, threads))
            return -1;
        j.packs = a->scratch;
    }
    if (oc_sgemm_packed_mr(j.packs) < 1)
        return oc_fail(a->d, "Conv (Winograd): the transformed weights were not prepared");
    j.nblk = block_count(j.segs, j.g.spb, threads);
    if (threads > 1 && j.nblk < 2 * threads) {
        /* Few blocks: smaller ones when each still has a full SGEMM panel
         * row of tiles, else every block shared by all threads step by
         * step (batch 1 on late layers: one block of 16-49 tiles). */
        int64_t spb = (j.segs + 2 * threads - 1) / (2 * threads);
        int64_t tiles = p->batch * j.g.th * j.g.tw;
        if (j.segs >= 2 * threads && tiles / (2 * threads) >= TILE_BLOCK_MIN) {
            j.g.spb = spb < j.g.spb ? spb : j.g.spb;
            j.nblk = block_count(j.segs, j.g.spb, threads);
        } else {
            phase_job ph = {.j = &j, .V = thread_scratch(&j, 0).V, .Mx = thread_scratch(&j, 0).Mx};
            j.nblk = block_count(j.segs, j.g.spb, 1); /* shared blocks: as few as fit */
            for (ph.blk = 0; ph.blk < j.nblk; ph.blk++) {
                ph.step = 0;
                oc_parallel_for(j.g.C, 1, threads, phase_task, &ph);
                int64_t s0, s1;
                block_span(&j, ph.blk, &s0, &s1);
                ph.nt = 0;
                for (int64_t s = s0; s < s1; s++) {
                    int64_t img, ty, k, tx0, n;
                    segment(&j.g, s, &img, &ty, &k, &tx0, &n);
                    ph.nt += k * n;
                }
                ph.step = 1;
                oc_parallel_for(j.g.P, 1, threads, phase_task, &ph);
                ph.step = 2;
                oc_parallel_for(j.g.M, 1, threads, phase_task, &ph);
            }
            return 0;
        }
    }
    oc_parallel_for(j.nblk, 1, threads, block_task, &j);
    return 0;
}

int oc_conv_winograd_forward(const oc_kargs *a) { return forward(a, 2, 0); }
int oc_conv_winograd4_forward(const oc_kargs *a) { return forward(a, 4, 0); }
int oc_conv_transpose_winograd_forward(const oc_kargs *a) { return forward(a, 2, 1); }
int oc_conv_transpose_winograd4_forward(const oc_kargs *a) { return forward(a, 4, 1); }

size_t oc_conv_winograd_runtime_scratch(const oc_conv_params *p, int m)
{
    wino_geom g;
    geometry(p, m, &g);
    return runtime_bytes(&g);
}

/* ---- weight gradient: F(3x3, 2x2) ----
 * dW[o, c, i, j] = sum over n, oh, ow of dY[n, o, oh, ow] X[n, c, oh + i - pt, ow + j - pl].
 * Cut dY into the 2x2 tiles of the forward's F(2x2, 3x3) grid: each tile H
 * and the 4x4 input window D under it (the forward's window, zero outside
 * the image) give a 3x3 correlation, which is F(3, 2) in each direction.
 * That is F(2, 3)'s algorithm transposed (its trilinear form read with the
 * output and the filter swapped):
 *   dW_tile = G^T [ (A H A^T) (.) (B^T D B) ] G
 * with F(2x2, 3x3)'s own A (4x2), B^T and G (4x3). The transforms are
 * linear, so the sum over tiles and images happens between them: per
 * position xi a matrix product
 *   Acc_xi [M, C] += U_xi [M, tiles] . V_xi [C, tiles]^T,
 * 16 products of K = tiles where im2col's one has K = 9 x (output
 * pixels), 2.25x fewer multiplies. V is the forward's input transform
 * (block_in, vectorized), U the 2x2 tiles of dY through A (plain C), the
 * 3x3 result through G once at the end. Tiles go in blocks of
 * GW_BLOCK_BYTES of U and V, all threads on one block: transforms split
 * over channels, products over positions. */
#define GW_BLOCK_BYTES ((size_t)8 << 20)

typedef struct gw_geom {
    wino_geom g;
    int64_t us;    /* stride between positions in U */
    int64_t segs;  /* segments of the batch */
    size_t stage;  /* bytes of staged rows per thread */
} gw_geom;

static void gw_geometry(const oc_conv_params *p, gw_geom *q)
{
    wino_geom *g = &q->g;
    geometry(p, 2, g);
    int64_t seg_tiles = g->segk * g->segw;
    int64_t per_tile = 16 * (g->C + g->M) * (int64_t)sizeof(float);
    int64_t want = (int64_t)GW_BLOCK_BYTES / (per_tile > 0 ? per_tile : 1);
    want = want < TILE_BLOCK_MIN ? TILE_BLOCK_MIN : want;
    q->segs = p->batch * g->per_img;
    g->spb = want / seg_tiles < 1 ? 1 : want / seg_tiles;
    g->spb = g->spb > q->segs ? (q->segs > 0 ? q->segs : 1) : g->spb;
    g->cap = g->spb * seg_tiles;
    g->ld = (g->cap + 2 * OC_WINO_LANES - 1) / OC_WINO_LANES * OC_WINO_LANES;
    g->vs = g->C * g->ld + 16;
    q->us = g->M * g->ld + 16;
    q->stage = ((size_t)g->spb * (size_t)g->alpha * (size_t)g->srs * sizeof(float) + 63) & ~(size_t)63;
}

int oc_conv_grad_weight_winograd_applicable(const oc_conv_params *p)
{
    return oc_conv_winograd_applicable(p) && p->batch > 0;
}

/* Stride between the positions' Acc [M, C]: one cache line more than
 * M C, so that the 16 rows gw_out reads together (M C floats apart, a
 * power of two for ResNet's channels: 1 MB at 512) do not all fall in
 * one L1 set (12 ways); layer4's gw_out 4.9 -> 2.8 ms with the vector
 * loop, the rest with the stride. */
static int64_t gw_acc_stride(const wino_geom *g) { return g->M * g->C + 16; }

static size_t gw_align64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t oc_conv_grad_weight_winograd_scratch(const oc_conv_params *p)
{
    gw_geom q;
    gw_geometry(p, &q);
    return gw_align64(sizeof(float) * (size_t)(16 * q.g.vs)) + gw_align64(sizeof(float) * (size_t)(16 * q.us)) +
           gw_align64(sizeof(float) * (size_t)(16 * gw_acc_stride(&q.g)));
}

size_t oc_conv_grad_weight_winograd_tscratch(const oc_conv_params *p)
{
    gw_geom q;
    gw_geometry(p, &q);
    return q.stage + oc_sgemm_scratch_bytes();
}

typedef struct gw_job {
    wino_job j; /* x, g, uk for block_in */
    gw_geom q;
    const float *dy;
    float *V, *U, *acc, *dw;
    int64_t blk, nt;
    int step; /* 0: V, 1: U, 2: products, 3: output */
} gw_job;

/* One tile row of U: the n 2x2 tiles of dY rows r0 and r1 (r1 NULL past
 * the bottom) from column pair c0 on, A H A^T with A = [1 0; 1 1; 1 -1;
 * 0 -1], position xi = 4 uu + vv at u[xi us + t]. The two rows are
 * copied (zero past the right edge) and split into even and odd columns
 * first, so that every step is a plain vector loop. */
OC_VEC_CLONES static void gw_dy_row(const float *r0, const float *r1, int64_t c0, int64_t n, int64_t OW,
                                    float *restrict u, int64_t us)
{
    float in0[2 * OC_WINO_SEG_MAX], in1[2 * OC_WINO_SEG_MAX];
    float e0[OC_WINO_SEG_MAX], o0[OC_WINO_SEG_MAX], e1[OC_WINO_SEG_MAX], o1[OC_WINO_SEG_MAX];
    int64_t have = OW - 2 * c0 < 2 * n ? OW - 2 * c0 : 2 * n; /* columns inside the row */
    memcpy(in0, r0 + 2 * c0, sizeof(float) * (size_t)have);
    memset(in0 + have, 0, sizeof(float) * (size_t)(2 * n - have));
    if (r1) {
        memcpy(in1, r1 + 2 * c0, sizeof(float) * (size_t)have);
        memset(in1 + have, 0, sizeof(float) * (size_t)(2 * n - have));
    } else {
        memset(in1, 0, sizeof(float) * (size_t)(2 * n));
    }
    for (int64_t t = 0; t < n; t++) {
        e0[t] = in0[2 * t];
        o0[t] = in0[2 * t + 1];
        e1[t] = in1[2 * t];
        o1[t] = in1[2 * t + 1];
    }
    /* rows of A H: (e0, o0), (e0 + e1, o0 + o1), (e0 - e1, o0 - o1), (-e1, -o1);
     * each row (a, b) -> (a, a + b, a - b, -b) */
    float ta[OC_WINO_SEG_MAX], tb[OC_WINO_SEG_MAX];
    for (int uu = 0; uu < 4; uu++) {
        const float *a = ta, *b = tb;
        if (uu == 0) {
            a = e0, b = o0;
        } else if (uu == 1) {
            for (int64_t t = 0; t < n; t++)
                ta[t] = e0[t] + e1[t], tb[t] = o0[t] + o1[t];
        } else if (uu == 2) {
            for (int64_t t = 0; t < n; t++)
                ta[t] = e0[t] - e1[t], tb[t] = o0[t] - o1[t];
        } else {
            for (int64_t t = 0; t < n; t++)
                ta[t] = -e1[t], tb[t] = -o1[t];
        }
        float *restrict u0 = u + (4 * uu) * us, *restrict u1 = u0 + us, *restrict u2 = u1 + us, *restrict u3 = u2 + us;
        for (int64_t t = 0; t < n; t++) {
            u0[t] = a[t];
            u1[t] = a[t] + b[t];
            u2[t] = a[t] - b[t];
            u3[t] = -b[t];
        }
    }
}

/* U of output channels [o0, o1) of block blk: A H A^T of each 2x2 tile of
 * dY (zero past the edges). */
static void gw_dy(const gw_job *w, int64_t o0, int64_t o1)
{
    const wino_geom *g = &w->q.g;
    int64_t s0, s1;
    block_span(&w->j, w->blk, &s0, &s1);
    int64_t plane = g->OH * g->OW;
    for (int64_t o = o0; o < o1; o++) {
        int64_t off = 0;
        for (int64_t s = s0; s < s1; s++) {
            int64_t img, ty, k, tx0, n;
            segment(g, s, &img, &ty, &k, &tx0, &n);
            const float *src = w->dy + (img * g->M + o) * plane;
            for (int64_t kk = 0; kk < k; kk++) {
                int64_t r = 2 * (ty + kk);
                const float *row0 = src + r * g->OW, *row1 = r + 1 < g->OH ? row0 + g->OW : NULL;
                gw_dy_row(row0, row1, tx0, n, g->OW, w->U + o * g->ld + off + kk * n, w->q.us);
            }
            off += k * n;
        }
    }
}

/* dW of output channel o, input channels [c0, c0 + cn) (cn <= GW_OUT_CB):
 * G^T Acc G per (o, c), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], with c
 * the vector direction (Acc_xi rows are contiguous in c); the nine taps
 * of each c are then stored together. */
#define GW_OUT_CB 64
OC_VEC_CLONES static void gw_out_run(const float *restrict acc, int64_t MC, int64_t cn, float *restrict d)
{
    float t[4][3][GW_OUT_CB], r[9][GW_OUT_CB];
    for (int uu = 0; uu < 4; uu++) { /* t = Acc G, row uu */
        const float *m0 = acc + (4 * uu + 0) * MC, *m1 = acc + (4 * uu + 1) * MC;
        const float *m2 = acc + (4 * uu + 2) * MC, *m3 = acc + (4 * uu + 3) * MC;
        for (int64_t c = 0; c < cn; c++) {
            t[uu][0][c] = m0[c] + 0.5f * (m1[c] + m2[c]);
            t[uu][1][c] = 0.5f * (m1[c] - m2[c]);
            t[uu][2][c] = 0.5f * (m1[c] + m2[c]) + m3[c];
        }
    }
    for (int jj = 0; jj < 3; jj++) /* G^T t */
        for (int64_t c = 0; c < cn; c++) {
            r[0 * 3 + jj][c] = t[0][jj][c] + 0.5f * (t[1][jj][c] + t[2][jj][c]);
            r[1 * 3 + jj][c] = 0.5f * (t[1][jj][c] - t[2][jj][c]);
            r[2 * 3 + jj][c] = 0.5f * (t[1][jj][c] + t[2][jj][c]) + t[3][jj][c];
        }
    for (int64_t c = 0; c < cn; c++)
        for (int tap = 0; tap < 9; tap++)
            d[c * 9 + tap] = r[tap][c];
}

/* dW of output channels [o0, o1). */
static void gw_out(const gw_job *w, int64_t o0, int64_t o1)
{
    const wino_geom *g = &w->q.g;
    int64_t C = g->C, MC = gw_acc_stride(g);
    for (int64_t o = o0; o < o1; o++)
        for (int64_t c = 0; c < C; c += GW_OUT_CB) {
            int64_t cn = C - c < GW_OUT_CB ? C - c : GW_OUT_CB;
            gw_out_run(w->acc + o * C + c, MC, cn, w->dw + (o * C + c) * 9);
        }
}

static void gw_task(void *ctx, int64_t b, int64_t e, int tid)
{
    gw_job *w = ctx;
    unsigned char *ts = w->j.a->tscratch + (size_t)tid * w->j.a->tscratch_stride;
    const wino_geom *g = &w->q.g;
    if (w->step == 0) {
        block_in(&w->j, w->blk, b, e, w->V, (float *)ts);
    } else if (w->step == 1) {
        gw_dy(w, b, e);
    } else if (w->step == 2) {
        for (int64_t xi = b; xi < e; xi++)
            oc_sgemm(0, 1, g->M, g->C, w->nt, 1.0f, w->U + xi * w->q.us, g->ld, w->V + xi * g->vs, g->ld,
                     w->blk ? 1.0f : 0.0f, w->acc + xi * gw_acc_stride(g), g->C, NULL, ts + w->q.stage);
    } else {
        gw_out(w, b, e);
    }
}

int oc_conv_grad_weight_winograd(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    gw_job w = {.j = {.a = a, .p = p, .uk = transforms(), .x = a->in[1]->data}, .dy = a->in[0]->data,
                .dw = a->out[0]->data};
    gw_geometry(p, &w.q);
    w.j.g = w.q.g;
    w.j.segs = w.q.segs;
    int threads = a->threads > 0 ? a->threads : 1;
    if (!a->tscratch || a->tscratch_stride < oc_conv_grad_weight_winograd_tscratch(p) || !a->scratch)
        return oc_fail(a->d, "ConvGradWeight (Winograd): scratch missing or too small");
    unsigned char *sc = a->scratch;
    w.V = (float *)sc;
    w.U = (float *)(sc + gw_align64(sizeof(float) * (size_t)(16 * w.q.g.vs)));
    w.acc = (float *)((unsigned char *)w.U + gw_align64(sizeof(float) * (size_t)(16 * w.q.us)));
    const wino_geom *g = &w.q.g;
    if (w.q.segs == 0) {
        memset(w.dw, 0, sizeof(float) * (size_t)(g->M * g->C * 9));
        return 0;
    }
    w.j.nblk = block_count(w.q.segs, g->spb, 1); /* all threads share each block */
    int64_t nblocks = w.j.nblk;
    for (w.blk = 0; w.blk < nblocks; w.blk++) {
        int64_t s0, s1;
        block_span(&w.j, w.blk, &s0, &s1);
        w.nt = 0;
        for (int64_t s = s0; s < s1; s++) {
            int64_t img, ty, k, tx0, n;
            segment(g, s, &img, &ty, &k, &tx0, &n);
            w.nt += k * n;
        }
        w.step = 0;
        oc_parallel_for(g->C, 1, threads, gw_task, &w);
        w.step = 1;
        oc_parallel_for(g->M, 1, threads, gw_task, &w);
        w.step = 2;
        oc_parallel_for(16, 1, threads, gw_task, &w);
    }
    w.step = 3;
    oc_parallel_for(g->M, 1, threads, gw_task, &w);
    return 0;
}
