/* conv_depthwise.c: see conv_depthwise.h.
 *
 * One unit of work is one (image n, group g). Its Cg input planes are
 * first copied into per-thread scratch, zero-padded to exactly the extent
 * the windows read,
 *   Hp = (OH-1)*sh + (KH-1)*dh + 1,   Wp = (OW-1)*sw + (KW-1)*dw + 1,
 * with padded position (hp, wp) holding X[hp - pt, wp - pl] (0 outside X),
 * and each padded row stored as sw phases of Lph = ceil(Wp / sw) floats,
 * phase r holding positions wp = sw*j + r. Tap kw of output column ow
 * reads wp = ow*sw + kw*dw, i.e. phase (kw*dw) % sw at j = ow + (kw*dw) / sw:
 * for every stride, a tap is a contiguous run over ow, with no bounds
 * tests. An output row is then a sum of KH*KW shifted rows times scalar
 * weights: one vectorized loop per tap (any kernel), or for 3x3 one loop
 * summing all nine taps and for 5x5 one loop per kernel row. The
 * epilogue (residual, activation) runs on each output plane while it is
 * in cache. Sums run in float, in kernel order (c, kh, kw).
 *
 * Small planes (pure depthwise, OW <= DW_BLOCK_MAX_OW: MobileNet's 28x28,
 * 14x14 and 7x7 stages) vectorize badly along a row of 7 or 14 outputs,
 * so there a unit is (image n, block of DW_CB channels) instead: the
 * block's padded planes are interleaved channel-innermost into scratch
 * ([Hp][Wp][DW_CB]), every output position is one vector of DW_CB
 * channels summing its KH*KW taps (each tap's weights one vector), and
 * the result is written back plane by plane, where the epilogue runs. The
 * sum per output is the same expression in the same order as the plane
 * path's, so both paths give the same bits.
 *
 * Stride-1 3x3 convs with one-pixel pads that keep the plane's size
 * (MobileNet's) on rows of 12 or more skip the padded copy altogether
 * (dw_direct3), again with the same sums.
 *
 * With AVX-512, 3x3 depthwise planes of stride 2, and of stride 1 with
 * pads 1 on planes narrower than 64 columns, go to the masked-load planes
 * of conv_depthwise_avx512.c instead (no padded copy, no scalar border,
 * FMA: the bits differ from the paths above by rounding). MobileNet-v2,
 * batch 1, one thread (Zen 5, alternating runs): 112->56 stride 2 0.34 ->
 * 0.17-0.19 ms, 56->28 0.18 -> 0.055, 14x14 0.052 -> 0.030.
 *
 * With AVX2 only, conv_depthwise_avx2.c takes the 3x3 stride-2 convs
 * (8 channels at a time, transposed to channel-innermost blocks), and the
 * stride-1 ones with pads 1 on planes up to DW3_S1_AVX2_MAX_W wide (a
 * guarded per-plane kernel); again FMA, so rounding differs. */
#include "conv_depthwise.h"

#include <math.h>
#include <string.h>

#include "../cpu.h"
#include "../threads.h"
#include "conv_depthwise_ukr.h"
#include "vmath.h"

#if defined(__x86_64__) || defined(__i386__)
#define OC_DW_X86 1
#endif

/* Geometry of the padded, phase-split planes of one unit. */
typedef struct dw_geom {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl;
    int64_t Hp, Wp, Lph, RW; /* padded rows, padded width, phase length, floats per padded row */
    int64_t cg, mg;
} dw_geom;

static void geom(const oc_conv_params *p, dw_geom *g)
{
    g->H = p->in[0], g->W = p->in[1], g->OH = p->out[0], g->OW = p->out[1];
    g->KH = p->k[0], g->KW = p->k[1], g->sh = p->s[0], g->sw = p->s[1];
    g->dh = p->dil[0], g->dw = p->dil[1], g->pt = p->pb[0], g->pl = p->pb[1];
    g->Hp = g->OH > 0 ? (g->OH - 1) * g->sh + (g->KH - 1) * g->dh + 1 : 0;
    g->Wp = g->OW > 0 ? (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1 : 0;
    g->Lph = (g->Wp + g->sw - 1) / g->sw;
    g->RW = g->sw * g->Lph;
    g->cg = p->group > 0 ? p->cin / p->group : 0;
    g->mg = p->group > 0 ? p->cout / p->group : 0;
}

int oc_conv_depthwise_applicable(const oc_conv_params *p)
{
    if (p->nsp != 2 || p->group <= 1 || p->cin % p->group || p->cout % p->group)
        return 0;
    if (p->cin / p->group > OC_CONV_DW_MAX_CG)
        return 0;
    for (int i = 0; i < 2; i++)
        if (p->k[i] < 1 || p->s[i] < 1 || p->dil[i] < 1 || p->pb[i] < 0 || p->in[i] < 0 || p->out[i] < 0)
            return 0;
    return 1;
}

#define DW_CB 16          /* channels per block of the small-plane path */
#define DW_BLOCK_MAX_OW 28 /* widest output row that takes it */
#define DW_FLAT_MIN_OW 12  /* from here the flattened plane sum beats the channel blocks (stride-1 3x3) */

/* Stride-1 3x3 depthwise on narrow rows: the plane path sums the taps over
 * the flattened padded plane (outputs at padded width, the extra columns
 * dropped afterwards), so its vectors run across rows. */
static int dw_flat(const dw_geom *g)
{
    return g->cg == 1 && g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && g->OW >= DW_FLAT_MIN_OW &&
           g->OW <= DW_BLOCK_MAX_OW;
}

/* The small-plane path: one input and one output channel per group, narrow rows. */
static int dw_blocked(const dw_geom *g) { return g->cg == 1 && g->mg == 1 && g->OW <= DW_BLOCK_MAX_OW && !dw_flat(g); }

/* Floats of one unit's scratch in the small-plane path: the interleaved
 * padded block, the interleaved outputs, the block's weights per tap. */
static int64_t dw_block_floats(const dw_geom *g)
{
    return DW_CB * (g->Hp * g->Wp + g->OH * g->OW + g->KH * g->KW + 1);
}

/* Widest plane for the masked stride-1 plane: on MobileNet's 112x112
 * planes dw_direct3's plain loads are faster (Zen 5, batch 1: 0.125 vs
 * 0.153 ms; batch 8: 1.41-1.63 vs 1.57-1.85), at 56x56 the masked plane
 * is as fast at batch 1 and a little faster at batch 8 (1.68-1.88 vs
 * 1.78-1.94 ms); 28x28 0.067 -> 0.056, 14x14 0.052 -> 0.030, 7x7 0.047
 * -> 0.029 ms at batch 1. */
#define DW3_S1_MAX_W 64

/* The ISA planes of conv_depthwise_ukr.h: 3x3, dilation 1, one channel
 * per group; stride 1 with pads 1 keeping the plane's size (1), or stride
 * 2 with any pads (2). */
static int dw3_kind(const dw_geom *g)
{
    if (g->cg != 1 || g->mg != 1 || g->KH != 3 || g->KW != 3 || g->dh != 1 || g->dw != 1)
        return 0;
    if (g->sh == 1 && g->sw == 1 && g->pt == 1 && g->pl == 1 && g->OH == g->H && g->OW == g->W &&
        g->W < DW3_S1_MAX_W)
        return 1;
    if (g->sh == 2 && g->sw == 2)
        return 2;
    return 0;
}

/* Widest plane for the AVX2 stride-1 plane (guarded copy, masked left
 * and right taps): MobileNet-v2, batch 1, one thread, AVX2 EPYC (Zen 1
 * class) KVM guest, against dw_direct3 (14, 28) and the 16-channel blocks
 * (7): 7x7 0.148 -> 0.107 ms, 14x14 0.133 -> 0.109 (in the model; 0.106
 * -> 0.095 alone), 28x28 0.186 -> 0.180; at 56x56 it was slower (0.480 ->
 * 0.609: dw_direct3 reads the plane once, the copy reads it twice). */
#define DW3_S1_AVX2_MAX_W 28

/* Which plane code runs: 1 or 2 as dw3_kind when the CPU allows the
 * AVX-512 planes; with AVX2, 3 for dw3_kind's 1 (the guarded plane) and
 * 4 for its 2 (the 8-channel blocks, oc_dw3_c8_avx2, at every plane size
 * measured: figures in conv_depthwise_ukr.h). Decided at each run: tests
 * cap the ISA in-process. */
static int dw3_fast(const dw_geom *g)
{
#ifdef OC_DW_X86
    oc_isa isa = oc_cpu_isa();
    if (isa >= OC_ISA_AVX512)
        return dw3_kind(g);
    if (isa >= OC_ISA_AVX2) {
        int k = dw3_kind(g);
        return k == 2 ? 4 : k == 1 && g->W <= DW3_S1_AVX2_MAX_W ? 3 : 0;
    }
#endif
    return 0;
}

size_t oc_conv_depthwise_tscratch(const oc_conv_params *p)
{
    dw_geom g;
    geom(p, &g);
    size_t need;
    if (dw_blocked(&g))
        need = sizeof(float) * (size_t)dw_block_floats(&g);
    else /* the padded planes, and for the flat sum one output plane at padded width */
        need = sizeof(float) * (size_t)(g.cg * g.Hp * g.RW + (dw_flat(&g) ? g.OH * g.RW : 0));
    if (dw3_kind(&g) == 1) { /* the stride-1 plane's lane masks, for either ISA */
        size_t m = sizeof(uint16_t) * (size_t)OC_DW3_S1_MASKS(g.H, g.W);
        need = need > m ? need : m;
        m = g.W <= DW3_S1_AVX2_MAX_W ? sizeof(int32_t) * (size_t)OC_DW3_S1_MASKS_AVX2(g.H, g.W) +
                                           sizeof(float) * (size_t)OC_DW3_S1_GUARDED(g.H, g.W)
                                     : 0;
        need = need > m ? need : m;
    }
    if (dw3_kind(&g) == 2 || p->in_c8) { /* the AVX2 eight-channel blocks */
        size_t m = sizeof(float) * (size_t)OC_DW3_C8_SCRATCH(g.OH, g.OW, g.sh);
        need = need > m ? need : m;
    }
    return need;
}

/* d[i] = s[2 i]: stride 2 spelled as a constant, so the compiler turns it
 * into vector loads and permutes. */
OC_VEC_CLONES static void gather2(float *restrict d, const float *restrict s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = s[2 * i];
}

/* Phase r of a padded row: ph[j] = row position wp = j*s + r, i.e. src[wp - pl]
 * for wp in [lo, hi), pad elsewhere; the valid j form one strided run. */
static inline void split_phase(float *ph, int64_t len, const float *src, int64_t s, int64_t r, int64_t pl,
                               int64_t lo, int64_t hi, float pad)
{
    int64_t jl = lo > r ? (lo - r + s - 1) / s : 0, jh = hi > r ? (hi - r + s - 1) / s : 0;
    jl = jl < len ? jl : len;
    jh = jh < len ? jh : len;
    jh = jh > jl ? jh : jl;
    for (int64_t j = 0; j < jl; j++)
        ph[j] = pad;
    int64_t base = r - pl; /* src index of j = 0 (may be < 0: only j >= jl are read) */
    if (s == 2 && jh > jl)
        gather2(ph + jl, src + jl * 2 + base, jh - jl);
    else
        for (int64_t j = jl; j < jh; j++)
            ph[j] = src[j * s + base];
    for (int64_t j = jh; j < len; j++)
        ph[j] = pad;
}

/* Copies plane x [H, W] into the padded, phase-split layout at dst. */
static void pad_plane(const dw_geom *g, const float *x, float *dst)
{
    for (int64_t hp = 0; hp < g->Hp; hp++) {
        float *row = dst + hp * g->RW;
        int64_t ih = hp - g->pt;
        if (ih < 0 || ih >= g->H) {
            memset(row, 0, sizeof(float) * (size_t)g->RW);
            continue;
        }
        const float *xr = x + ih * g->W;
        /* valid padded columns [lo, hi): those with 0 <= wp - pl < W */
        int64_t lo = g->pl < g->Wp ? g->pl : g->Wp, hi = g->pl + g->W < g->Wp ? g->pl + g->W : g->Wp;
        if (g->sw == 1) {
            memset(row, 0, sizeof(float) * (size_t)lo);
            if (hi > lo)
                memcpy(row + lo, xr + (lo - g->pl), sizeof(float) * (size_t)(hi - lo));
            memset(row + (hi > lo ? hi : lo), 0, sizeof(float) * (size_t)(g->RW - (hi > lo ? hi : lo)));
            continue;
        }
        for (int64_t r = 0; r < g->sw; r++)
            split_phase(row + r * g->Lph, g->Lph, xr, g->sw, r, g->pl, lo, hi, 0.0f);
    }
}

/* Offset of tap kw within a padded row (phase and shift). */
static inline int64_t tap_off(const dw_geom *g, int64_t kw)
{
    int64_t o = kw * g->dw;
    return (o % g->sw) * g->Lph + o / g->sw;
}

/* y = b + the nine taps of a 3x3 window (rows r0..r2, tap offsets o[]). */
static inline void row3x3(float *restrict y, const float *restrict r0, const float *restrict r1,
                          const float *restrict r2, const int64_t *o, const float *w, float b, int64_t n)
{
    const float *restrict a0 = r0 + o[0], *restrict a1 = r0 + o[1], *restrict a2 = r0 + o[2];
    const float *restrict b0 = r1 + o[0], *restrict b1 = r1 + o[1], *restrict b2 = r1 + o[2];
    const float *restrict c0 = r2 + o[0], *restrict c1 = r2 + o[1], *restrict c2 = r2 + o[2];
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    for (int64_t i = 0; i < n; i++)
        y[i] = b + w0 * a0[i] + w1 * a1[i] + w2 * a2[i] + w3 * b0[i] + w4 * b1[i] + w5 * b2[i] + w6 * c0[i] +
               w7 * c1[i] + w8 * c2[i];
}

/* y (+)= the five taps of one kernel row of a 5x5 window. */
static inline void row5(float *restrict y, const float *restrict r, const int64_t *o, const float *w, float init,
                        int first, int64_t n)
{
    const float *restrict a0 = r + o[0], *restrict a1 = r + o[1], *restrict a2 = r + o[2];
    const float *restrict a3 = r + o[3], *restrict a4 = r + o[4];
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4];
    if (first)
        for (int64_t i = 0; i < n; i++)
            y[i] = init + w0 * a0[i] + w1 * a1[i] + w2 * a2[i] + w3 * a3[i] + w4 * a4[i];
    else
        for (int64_t i = 0; i < n; i++)
            y[i] = y[i] + w0 * a0[i] + w1 * a1[i] + w2 * a2[i] + w3 * a3[i] + w4 * a4[i];
}

static inline void row_fill(float *restrict y, float v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = v;
}

static inline void row_axpy(float *restrict y, const float *restrict x, float w, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = y[i] + w * x[i];
}

/* Output plane of channel m [OH, OW] from the unit's padded planes. */
OC_VEC_CLONES static void dw_plane(const dw_geom *g, const float *pad, const float *wm, float bias, float *y,
                                   float *flat)
{
    int64_t KH = g->KH, KW = g->KW, OW = g->OW, K = KH * KW;
    int64_t o[5];
    if (KW == 3 || KW == 5)
        for (int64_t kw = 0; kw < KW; kw++)
            o[kw] = tap_off(g, kw);
    if (dw_flat(g)) { /* one run over rows at padded width RW, then the OW valid columns of each */
        int64_t n = (g->OH - 1) * g->RW + OW;
        row3x3(flat, pad, pad + g->dh * g->RW, pad + 2 * g->dh * g->RW, o, wm, bias, n);
        for (int64_t oh = 0; oh < g->OH; oh++)
            memcpy(y + oh * OW, flat + oh * g->RW, sizeof(float) * (size_t)OW);
        return;
    }
    for (int64_t oh = 0; oh < g->OH; oh++) {
        float *yr = y + oh * OW;
        const float *base = pad + oh * g->sh * g->RW;
        if (g->cg == 1 && KH == 3 && KW == 3) {
            row3x3(yr, base, base + g->dh * g->RW, base + 2 * g->dh * g->RW, o, wm, bias, OW);
            continue;
        }
        if (KW == 5 && KH == 5) {
            for (int64_t c = 0; c < g->cg; c++)
                for (int64_t kh = 0; kh < 5; kh++)
                    row5(yr, base + c * g->Hp * g->RW + kh * g->dh * g->RW, o, wm + c * K + kh * 5, bias,
                         c == 0 && kh == 0, OW);
            continue;
        }
        row_fill(yr, bias, OW);
        for (int64_t c = 0; c < g->cg; c++)
            for (int64_t kh = 0; kh < KH; kh++) {
                const float *r = base + c * g->Hp * g->RW + kh * g->dh * g->RW;
                for (int64_t kw = 0; kw < KW; kw++)
                    row_axpy(yr, r + tap_off(g, kw), wm[c * K + kh * KW + kw], OW);
            }
    }
}

/* Stride-1 3x3 with one-pixel pads and the input's own size (MobileNet's
 * stride-1 depthwise convs, 12 columns and wider), straight from X with
 * no padded copy: a 14x14 plane spent more time copying its 16 padded
 * rows and its 14 output rows than summing. The interior rows are one run
 * over the flattened plane (the first and last column of each row read
 * across the row boundary there and are redone below); the first and last
 * rows read a zero row for the one outside; the border columns take the
 * window with the zeros the padding gives. Every sum is the padded paths'
 * expression in the same order, so the bits are theirs. */
static int dw_direct3(const dw_geom *g)
{
    return g->cg == 1 && g->mg == 1 && g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 &&
           g->dw == 1 && g->pt == 1 && g->pl == 1 && g->OH == g->H && g->OW == g->W && g->H >= 3 &&
           g->W >= DW_FLAT_MIN_OW;
}

/* Output (i, j) of a padded 3x3 window: zeros outside the plane. */
static float dw3_at(const float *x, int64_t H, int64_t W, int64_t i, int64_t j, const float *w, float b)
{
    float s = b;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            int64_t ii = i + r - 1, jj = j + c - 1;
            float v = ii >= 0 && ii < H && jj >= 0 && jj < W ? x[ii * W + jj] : 0.0f;
            s = s + w[r * 3 + c] * v;
        }
    return s;
}

/* One plane [H, W] -> y [H, W]; zrow: W zero floats. */
OC_VEC_CLONES static void dw_direct3_plane(const float *x, int64_t H, int64_t W, const float *w, float b, float *y,
                                           const float *zrow)
{
    static const int64_t o[3] = {0, 1, 2};
    int64_t k0 = W + 1; /* row 1, column 1 .. row H-2, column W-2 */
    row3x3(y + k0, x + k0 - W - 1, x + k0 - 1, x + k0 + W - 1, o, w, b, (H - 2) * W - 2);
    row3x3(y + 1, zrow, x, x + W, o, w, b, W - 2);
    row3x3(y + (H - 1) * W + 1, x + (H - 2) * W, x + (H - 1) * W, zrow, o, w, b, W - 2);
    for (int64_t i = 0; i < H; i++) {
        y[i * W] = dw3_at(x, H, W, i, 0, w, b);
        y[i * W + W - 1] = dw3_at(x, H, W, i, W - 1, w, b);
    }
}

/* Asks for a plane of n floats to be brought into L2 (one request per
 * cache line): a batch's inputs come from memory, and the strided order
 * the stride-2 plane reads them in starts the hardware prefetchers late. */
static void prefetch_plane(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16)
        __builtin_prefetch(x + i, 0, 2);
}

typedef struct dw_job {
    const oc_conv_params *p;
    const oc_kargs *a;
    dw_geom g;
    const float *x, *w, *bias, *res; /* X, W, optional B and residual R (NULL when absent) */
    float *y;
    int fast; /* dw3_fast: the ISA planes */
} dw_job;

#ifdef OC_DW_X86
/* ReLU and Clip with no residual: clamped at the ISA kernels' store. */
static oc_dw3_clamp store_clamp(const oc_conv_params *p, const float *res)
{
    if (!res && p->ep.act == OC_ACT_RELU)
        return (oc_dw3_clamp){1, 0.0f, INFINITY};
    if (!res && p->ep.act == OC_ACT_CLIP)
        return (oc_dw3_clamp){2, p->ep.alpha, p->ep.beta};
    return (oc_dw3_clamp){0, 0.0f, 0.0f};
}
#endif

static void dw_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const dw_job *j = ctx;
    const oc_conv_params *p = j->p;
    const dw_geom *g = &j->g;
    const oc_kargs *a = j->a;
    const float *x = j->x, *w = j->w, *bias = j->bias, *res = j->res;
    float *y = j->y;
    float *pad = (float *)(a->tscratch + (size_t)tid * a->tscratch_stride);
    int64_t G = p->group, L = g->OH * g->OW, Lin = g->H * g->W, K = g->KH * g->KW;
    int active = oc_epilogue_active(&p->ep);
    int fast = j->fast, direct = !fast && dw_direct3(g);
    if (direct)
        memset(pad, 0, sizeof(float) * (size_t)g->W); /* the zero row */
#ifdef OC_DW_X86
    if (fast == 1)
        oc_dw3_s1_masks_avx512(g->H, g->W, (uint16_t *)pad);
    else if (fast == 3)
        oc_dw3_s1_masks_avx2(g->H, g->W, (int32_t *)pad, pad + OC_DW3_S1_MASKS_AVX2(g->H, g->W));
    oc_dw3_clamp cl = store_clamp(p, res);
#endif
    for (int64_t u = b; u < e; u++) {
        int64_t n = u / G, grp = u % G;
#ifdef OC_DW_X86
        if (fast) { /* one input and one output channel per group */
            if (u + 1 < e) /* the next plane towards L2 while this one is summed */
                prefetch_plane(x + ((u + 1) / G * p->cin + (u + 1) % G) * Lin, Lin);
            int64_t m = grp;
            float *ym = y + (n * p->cout + m) * L;
            const float *xm = x + (n * p->cin + grp) * Lin;
            float bm = bias ? bias[m] : 0.0f;
            if (fast == 1)
                oc_dw3_s1_plane_avx512(xm, g->H, g->W, w + m * K, bm, ym, (const uint16_t *)pad, &cl);
            else if (fast == 2)
                oc_dw3_s2_plane_avx512(xm, g->H, g->W, g->OH, g->OW, g->pt, g->pl, w + m * K, bm, ym, &cl);
            else if (fast == 3)
                oc_dw3_s1_plane_avx2(xm, g->H, g->W, w + m * K, bm, ym, (const int32_t *)pad,
                                     pad + OC_DW3_S1_MASKS_AVX2(g->H, g->W), &cl);
            if (active && !cl.on)
                oc_epilogue_apply(&p->ep, ym, L, 1, L, m, 0, NULL, res ? res + (n * p->cout + m) * L : NULL, L);
            continue;
        }
#endif
        if (direct) {
            int64_t m = grp; /* one input and one output channel per group */
            float *ym = y + (n * p->cout + m) * L;
            dw_direct3_plane(x + (n * p->cin + grp) * Lin, g->H, g->W, w + m * K, bias ? bias[m] : 0.0f, ym, pad);
            if (active)
                oc_epilogue_apply(&p->ep, ym, L, 1, L, m, 0, NULL, res ? res + (n * p->cout + m) * L : NULL, L);
            continue;
        }
        for (int64_t c = 0; c < g->cg; c++)
            pad_plane(g, x + (n * p->cin + grp * g->cg + c) * Lin, pad + c * g->Hp * g->RW);
        for (int64_t mm = 0; mm < g->mg; mm++) {
            int64_t m = grp * g->mg + mm;
            float *ym = y + (n * p->cout + m) * L;
            dw_plane(g, pad, w + m * g->cg * K, bias ? bias[m] : 0.0f, ym, pad + g->cg * g->Hp * g->RW);
            if (active)
                oc_epilogue_apply(&p->ep, ym, L, 1, L, m, 0, NULL, res ? res + (n * p->cout + m) * L : NULL, L);
        }
    }
}

/* Outputs of one channel block: out[(oh*OW + ow)*DW_CB + l] from the
 * interleaved padded input xin [Hp][wp][DW_CB] (wp = g->Wp: no phase
 * split) and the taps' weights wt [K][DW_CB]; the sum is
 * bias + w0*x0 + w1*x1 + ... in (kh, kw) order, as dw_plane's. */
OC_VEC_CLONES static void dw_block_sum(const dw_geom *g, int64_t wp, const float *restrict xin,
                                       const float *restrict wt, const float *restrict bias, float *restrict out)
{
    int64_t KH = g->KH, KW = g->KW;
    for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) {
            float acc[DW_CB];
            for (int l = 0; l < DW_CB; l++)
                acc[l] = bias[l];
            for (int64_t kh = 0; kh < KH; kh++) {
                const float *row = xin + ((oh * g->sh + kh * g->dh) * wp + ow * g->sw) * DW_CB;
                for (int64_t kw = 0; kw < KW; kw++) {
                    const float *xv = row + kw * g->dw * DW_CB, *wv = wt + (kh * KW + kw) * DW_CB;
                    for (int l = 0; l < DW_CB; l++)
                        acc[l] = acc[l] + wv[l] * xv[l];
                }
            }
            float *o = out + (oh * g->OW + ow) * DW_CB;
            for (int l = 0; l < DW_CB; l++)
                o[l] = acc[l];
        }
}

/* One padded row of the block, channel innermost: d[q*DW_CB + l] = plane
 * l's element at column q - pl (0 outside the row and for l >= cb). */
OC_VEC_CLONES static void dw_pack_row(float *restrict d, const float *restrict src, int64_t Lin, int64_t wp,
                                      int64_t pl, int64_t W, int64_t cb)
{
    for (int64_t q = 0; q < wp; q++) {
        int64_t iw = q - pl;
        float *dq = d + q * DW_CB;
        if (iw < 0 || iw >= W || cb < DW_CB) {
            for (int l = 0; l < DW_CB; l++)
                dq[l] = iw >= 0 && iw < W && l < cb ? src[l * Lin + iw] : 0.0f;
            continue;
        }
        for (int l = 0; l < DW_CB; l++)
            dq[l] = src[l * Lin + iw];
    }
}

/* Plane l of the interleaved outputs: y[i] = out[i*DW_CB + l]. */
OC_VEC_CLONES static void dw_unpack(float *restrict y, const float *restrict out, int64_t L, int64_t l)
{
    for (int64_t i = 0; i < L; i++)
        y[i] = out[i * DW_CB + l];
}

static void dw_block_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const dw_job *j = ctx;
    const oc_conv_params *p = j->p;
    const dw_geom *g = &j->g;
    const oc_kargs *a = j->a;
    const float *x = j->x, *w = j->w, *bias = j->bias, *res = j->res;
    float *y = j->y;
    int64_t C = p->cout, nb = (C + DW_CB - 1) / DW_CB, K = g->KH * g->KW;
    int64_t L = g->OH * g->OW, Lin = g->H * g->W;
    int64_t wp = g->Wp; /* the block's padded width (no phase split) */
    float *xin = (float *)(a->tscratch + (size_t)tid * a->tscratch_stride);
    float *out = xin + DW_CB * g->Hp * wp, *wt = out + DW_CB * L, *bv = wt + DW_CB * K;
    int active = oc_epilogue_active(&p->ep);
    for (int64_t u = b; u < e; u++) {
        int64_t n = u / nb, c0 = (u % nb) * DW_CB, cb = C - c0 < DW_CB ? C - c0 : DW_CB;
        /* weights and bias of the block, lanes past the last channel zero */
        for (int64_t k = 0; k < K; k++)
            for (int64_t l = 0; l < DW_CB; l++)
                wt[k * DW_CB + l] = l < cb ? w[(c0 + l) * K + k] : 0.0f;
        for (int64_t l = 0; l < DW_CB; l++)
            bv[l] = l < cb && bias ? bias[c0 + l] : 0.0f;
        /* the padded block, channel innermost */
        for (int64_t hp = 0; hp < g->Hp; hp++) {
            int64_t ih = hp - g->pt;
            float *dst = xin + hp * wp * DW_CB;
            if (ih < 0 || ih >= g->H) {
                memset(dst, 0, sizeof(float) * (size_t)(wp * DW_CB));
                continue;
            }
            dw_pack_row(dst, x + (n * C + c0) * Lin + ih * g->W, Lin, wp, g->pl, g->W, cb);
        }
        dw_block_sum(g, wp, xin, wt, bv, out);
        /* an activation alone is elementwise: one pass over the interleaved
         * block while it is in L1 (the same bits as per plane) */
        int act_only = active && !res;
        if (act_only)
            oc_act_apply(p->ep.act, p->ep.alpha, p->ep.beta, out, L * DW_CB);
        /* back to NCHW, plane by plane, with a residual epilogue */
        for (int64_t l = 0; l < cb; l++) {
            int64_t m = c0 + l;
            float *ym = y + (n * C + m) * L;
            dw_unpack(ym, out, L, l);
            if (active && !act_only)
                oc_epilogue_apply(&p->ep, ym, L, 1, L, m, 0, NULL, res ? res + (n * C + m) * L : NULL, L);
        }
    }
}

#ifdef OC_DW_X86
/* dw3_fast 4: blocks of 8 channels through oc_dw3_c8_avx2. */
static void dw_c8_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const dw_job *j = ctx;
    const oc_conv_params *p = j->p;
    const dw_geom *g = &j->g;
    const oc_kargs *a = j->a;
    float *scr = (float *)(a->tscratch + (size_t)tid * a->tscratch_stride);
    int64_t C = p->cout, nb = (C + 7) / 8, L = g->OH * g->OW, Lin = g->H * g->W;
    int active = oc_epilogue_active(&p->ep);
    oc_dw3_clamp cl = store_clamp(p, j->res);
    for (int64_t u = b; u < e; u++) {
        int64_t n = u / nb, c0 = (u % nb) * 8;
        int cb = (int)(C - c0 < 8 ? C - c0 : 8);
        float *yb = j->y + (n * C + c0) * L;
        oc_dw3_c8_avx2(j->x + (n * C + c0) * Lin, Lin, cb, g->H, g->W, g->OH, g->OW, g->sh, g->pt, g->pl,
                       j->w + c0 * 9, j->bias ? j->bias + c0 : NULL, yb, &cl, scr, p->in_c8);
        if (active && !cl.on)
            for (int l = 0; l < cb; l++)
                oc_epilogue_apply(&p->ep, yb + l * L, L, 1, L, c0 + l, 0, NULL,
                                  j->res ? j->res + (n * C + c0 + l) * L : NULL, L);
    }
}
#endif

int oc_conv_depthwise_c8_ok(const oc_conv_params *p)
{
#ifdef OC_DW_X86
    dw_geom g;
    geom(p, &g);
    return oc_cpu_isa() >= OC_ISA_AVX2 && p->nsp == 2 && g.cg == 1 && g.mg == 1 && g.KH == 3 && g.KW == 3 &&
           g.dh == 1 && g.dw == 1 && g.sh == g.sw && (g.sh == 1 || g.sh == 2) && p->cout % 8 == 0;
#else
    (void)p;
    return 0;
#endif
}

/* in_c8 where the 8-channel blocks do not run: each output plane summed
 * straight from the channel-blocked X (taps in (kh, kw) order after the
 * bias), then the epilogue. */
static void dw_c8_portable_task(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const dw_job *j = ctx;
    const oc_conv_params *p = j->p;
    const dw_geom *g = &j->g;
    int64_t C = p->cout, L = g->OH * g->OW;
    for (int64_t u = b; u < e; u++) {
        int64_t n = u / C, c = u % C;
        const float *xb = j->x + (n * C + c / 8 * 8) * g->H * g->W + c % 8, *wc = j->w + c * g->KH * g->KW;
        float *yc = j->y + (n * C + c) * L;
        for (int64_t oh = 0; oh < g->OH; oh++)
            for (int64_t ow = 0; ow < g->OW; ow++) {
                float acc = j->bias ? j->bias[c] : 0.0f;
                for (int64_t kh = 0; kh < g->KH; kh++) {
                    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                    if (ih < 0 || ih >= g->H)
                        continue;
                    for (int64_t kw = 0; kw < g->KW; kw++) {
                        int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                        if (iw >= 0 && iw < g->W)
                            acc += wc[kh * g->KW + kw] * xb[(ih * g->W + iw) * 8];
                    }
                }
                yc[oh * g->OW + ow] = acc;
            }
        if (oc_epilogue_active(&p->ep))
            oc_epilogue_apply(&p->ep, yc, L, 1, L, c, 0, NULL, j->res ? j->res + (n * C + c) * L : NULL, L);
    }
}

int oc_conv_depthwise_forward(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    if (!oc_conv_depthwise_applicable(p))
        return oc_fail(a->d, "depthwise conv: parameters outside the direct kernel's range");
    dw_job j = {p, a, {0}, a->in[0]->data, a->in[1]->data, a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL,
                p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL, a->out[0]->data};
    geom(p, &j.g);
    size_t need = oc_conv_depthwise_tscratch(p);
    if (need && (!a->tscratch || a->tscratch_stride < need))
        return oc_fail(a->d, "depthwise conv: needs %zu bytes of per-thread scratch", need);
    if (j.g.OH == 0 || j.g.OW == 0)
        return 0;
    if (p->in_c8) {
        if (p->cin != p->cout || p->cout != p->group || p->cout % 8)
            return oc_fail(a->d, "depthwise conv: a channel-blocked X needs one channel per group, in 8s");
#ifdef OC_DW_X86
        if (oc_conv_depthwise_c8_ok(p)) {
            oc_parallel_for(p->batch * (p->cout / 8), 1, a->threads, dw_c8_task, &j);
            return 0;
        }
#endif
        oc_parallel_for(p->batch * p->cout, 1, a->threads, dw_c8_portable_task, &j);
        return 0;
    }
    j.fast = dw3_fast(&j.g);
#ifdef OC_DW_X86
    if (j.fast == 4) {
        oc_parallel_for(p->batch * ((p->cout + 7) / 8), 1, a->threads, dw_c8_task, &j);
        return 0;
    }
#endif
    if (dw_blocked(&j.g) && !j.fast)
        oc_parallel_for(p->batch * ((p->cout + DW_CB - 1) / DW_CB), 1, a->threads, dw_block_task, &j);
    else
        oc_parallel_for(p->batch * p->group, 1, a->threads, dw_task, &j);
    return 0;
}
