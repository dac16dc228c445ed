/* conv_direct.c: the small-Cin direct conv (conv_direct.h): geometry,
 * the band's phase-split input rows, the portable row loop, threading and
 * the epilogue. The tiles are conv_direct_avx2.c and conv_direct_avx512.c. */
#include "conv_direct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cpu.h"
#include "../threads.h"
#include "conv_direct_ukr.h"

#if defined(__x86_64__) || defined(__i386__)
#define OC_CDIR_X86 1
#endif

#define OC_CONV_DIRECT_MAX_OW 4096 /* keeps a band's scratch small and its offsets in int32 */

typedef struct cd_geom {
    int64_t C, M, H, W, OH, OW, KH, KW, sh, sw, pt, pl;
    int64_t K;       /* taps: C * KH * KW */
    int64_t OWr;     /* OW rounded up to 8 */
    int64_t PL;      /* floats of one column phase of one input row */
    int64_t rstride; /* floats of one input row in the band: C * sw * PL */
    int64_t nr;      /* input rows of a full band */
    int64_t nband;   /* bands per image */
} cd_geom;

static void geom(const oc_conv_params *p, cd_geom *g)
{
    g->C = p->cin;
    g->M = p->cout;
    g->H = p->in[0];
    g->W = p->in[1];
    g->OH = p->out[0];
    g->OW = p->out[1];
    g->KH = p->k[0];
    g->KW = p->k[1];
    g->sh = p->s[0];
    g->sw = p->s[1];
    g->pt = p->pb[0];
    g->pl = p->pb[1];
    g->K = g->C * g->KH * g->KW;
    g->OWr = (g->OW + 7) / 8 * 8;
    /* output ox, tap kw reads phase kw % sw at ox + kw / sw: up to
     * OWr - 1 + (KW - 1) / sw, one more for slack */
    g->PL = g->OWr + (g->KW - 1) / (g->sw > 0 ? g->sw : 1) + 1;
    g->rstride = g->C * g->sw * g->PL;
    g->nr = (OC_CONV_DIRECT_BAND - 1) * g->sh + g->KH;
    g->nband = (g->OH + OC_CONV_DIRECT_BAND - 1) / OC_CONV_DIRECT_BAND;
}

int oc_conv_direct_applicable(const oc_conv_params *p)
{
    if (p->nsp != 2 || p->group != 1 || p->out_c8 || p->in_c8 || p->cin < 1 || p->cin > OC_CONV_DIRECT_MAX_CIN ||
        p->cout < 1)
        return 0;
    if (p->dil[0] != 1 || p->dil[1] != 1 || p->s[0] < 1 || (p->s[1] != 1 && p->s[1] != 2) || p->pb[0] < 0 ||
        p->pb[1] < 0 || p->k[0] < 1 || p->k[1] < 1 || p->k[0] > 64 || p->k[1] > 64 || p->pb[0] >= p->k[0] ||
        p->pb[1] >= p->k[1])
        return 0;
    return p->cin * p->k[0] * p->k[1] <= OC_CONV_DIRECT_MAX_TAPS && p->out[1] >= 8 &&
           p->out[1] <= OC_CONV_DIRECT_MAX_OW && p->out[0] >= 1 && p->in[0] >= 1 && p->in[1] >= 1;
}

int oc_conv_direct_chosen(const oc_conv_params *p)
{
    if (!oc_conv_direct_applicable(p))
        return 0;
    const char *env = getenv("ONNXC_CONV_DIRECT");
    if (env && (!strcmp(env, "0") || !strcmp(env, "1")))
        return env[0] == '1';
    /* With AVX2 (figures in conv_direct_avx2.c) or AVX-512. With the AVX2
     * tile alone an AVX-512 machine ran the stems at 0.6-0.8x of im2col +
     * the 16-wide SGEMM (Zen 5 EPYC, `bench_kernels 20 stem`); the 8 x 48
     * AVX-512 tile runs them at 1.05-1.23x on one thread and 0.93-1.20x
     * on two (MobileNet's stem b1 0.181 -> 0.147 ms, ResNet's 7x7 b1
     * 1.318 -> 1.211, b8 10.97 -> 10.49), and in the models (onnxc bench
     * --profile, ONNXC_CONV_DIRECT=0 against 1, 4 alternating processes)
     * ResNet-50's stem b1 1.31-1.34 -> 1.23-1.36 ms on one thread (one
     * outlier 1.58), 0.79-0.83 -> 0.71-0.81 on two, b8 11.0-12.1 ->
     * 10.3-11.3 on one; MobileNet-v2's b1 0.24-0.34 -> 0.27-0.30, b8
     * 1.72-2.11 -> 1.48-1.78; ResNet-18's b1 on two threads 0.75-0.82 ->
     * 0.73-0.87. */
    return oc_cpu_isa() >= OC_ISA_AVX2;
}

/* Output channels a micro-kernel call computes: 8 on AVX-512, else 4. */
enum { CD_MAX_CB = 8 };

/* Floats of a thread's scratch: the band's rows, a padded input row, and
 * for a last block of fewer than CD_MAX_CB channels its weights and bias
 * padded to a block and a block's output rows to compute into. */
static int64_t tscratch_floats(const cd_geom *g)
{
    return g->nr * g->rstride + g->sw * g->PL + CD_MAX_CB * g->K + CD_MAX_CB + CD_MAX_CB * g->OWr + 64;
}

size_t oc_conv_direct_tscratch(const oc_conv_params *p)
{
    if (!oc_conv_direct_applicable(p))
        return 0;
    cd_geom g;
    geom(p, &g);
    return sizeof(float) * (size_t)tscratch_floats(&g);
}

/* Input rows r0 .. r0 + nr - 1 of one image into ph: per row, per channel,
 * sw phases of PL floats, dst[q * PL + j] = X[c, iy, sw * j + q - pl], 0
 * outside X. row: a scratch row of sw * PL floats. */
static void build_band(const cd_geom *g, const float *x, int64_t r0, int64_t nr, float *ph, float *row, int avx2)
{
    int64_t span = g->sw * g->PL; /* padded columns 0 .. span - 1 <-> input columns -pl .. span - pl - 1 */
    int64_t lead = g->pl < span ? g->pl : span;
    int64_t n = g->W < span - lead ? g->W : span - lead;
    for (int64_t r = 0; r < nr; r++) {
        int64_t iy = r0 + r;
        for (int64_t c = 0; c < g->C; c++) {
            float *dst = ph + r * g->rstride + c * span;
            if (iy < 0 || iy >= g->H) {
                memset(dst, 0, sizeof(float) * (size_t)span);
                continue;
            }
            const float *xr = x + (c * g->H + iy) * g->W;
            float *pad = g->sw == 1 ? dst : row;
            memset(pad, 0, sizeof(float) * (size_t)lead);
            memcpy(pad + lead, xr, sizeof(float) * (size_t)n);
            memset(pad + lead + n, 0, sizeof(float) * (size_t)(span - lead - n));
            if (g->sw == 1)
                continue;
#ifdef OC_CDIR_X86
            if (avx2) {
                oc_cdir_split2_avx2(dst, dst + g->PL, row, g->PL);
                continue;
            }
#endif
            (void)avx2;
            for (int64_t j = 0; j < g->PL; j++) {
                dst[j] = row[2 * j];
                dst[g->PL + j] = row[2 * j + 1];
            }
        }
    }
}

/* ocb channels x OW outputs of one row, plain C (the ISA has no AVX2). */
static void row_portable(const float *ph, const int32_t *off, int64_t T, const float *w, int64_t K, const float *b,
                         int ocb, float *y, int64_t ldy, int64_t OW)
{
    for (int j = 0; j < ocb; j++) {
        float *yr = y + j * ldy;
        for (int64_t ox = 0; ox < OW; ox++)
            yr[ox] = b[j];
        for (int64_t t = 0; t < T; t++) {
            const float *q = ph + off[t];
            float wv = w[j * K + t];
            for (int64_t ox = 0; ox < OW; ox++)
                yr[ox] += wv * q[ox];
        }
    }
}

typedef struct cd_job {
    const oc_conv_params *p;
    const oc_kargs *a;
    cd_geom g;
    const float *x, *w, *bias, *res;
    float *y;
    int avx2, avx512; /* the ISA allows AVX2 (set on AVX-512 CPUs too), AVX-512 */
} cd_job;

static void cd_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const cd_job *j = ctx;
    const cd_geom *g = &j->g;
    const oc_conv_params *p = j->p;
    float *ph = (float *)(j->a->tscratch + (size_t)tid * j->a->tscratch_stride);
    float *row = ph + g->nr * g->rstride, *wpad = row + g->sw * g->PL, *bpad = wpad + CD_MAX_CB * g->K;
    float *tmp = bpad + CD_MAX_CB;
    int64_t L = g->OH * g->OW, M = g->M, K = g->K, span = g->sw * g->PL;
    int32_t off[OC_CONV_DIRECT_MAX_TAPS];
    int64_t T = 0;
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t kh = 0; kh < g->KH; kh++)
            for (int64_t kw = 0; kw < g->KW; kw++)
                off[T++] = (int32_t)(kh * g->rstride + c * span + (kw % g->sw) * g->PL + kw / g->sw);
    const int cb = j->avx512 ? 8 : 4; /* channels per micro-kernel call */
    int64_t mfull = M / cb * cb;
    if (mfull < M) { /* the last channels' weights and bias, padded with zero channels */
        memset(wpad, 0, sizeof(float) * (size_t)(cb * K + cb));
        memcpy(wpad, j->w + mfull * K, sizeof(float) * (size_t)((M - mfull) * K));
        for (int64_t m = mfull; m < M; m++)
            bpad[m - mfull] = j->bias ? j->bias[m] : 0.0f;
    }
    float zero[CD_MAX_CB] = {0};
    int active = oc_epilogue_active(&p->ep);
    /* ReLU or Clip alone is applied at the vector kernels' store (avx2 is
     * set on AVX-512 CPUs too) */
    int on = 0, vec = j->avx2;
    float lo = 0.0f, hi = 0.0f;
    if (vec && !p->ep.has_residual && p->ep.act == OC_ACT_RELU)
        on = 1, lo = 0.0f, hi = INFINITY;
    if (vec && !p->ep.has_residual && p->ep.act == OC_ACT_CLIP)
        on = 2, lo = p->ep.alpha, hi = p->ep.beta;
    if (on)
        active = 0;
    for (int64_t u = b; u < e; u++) {
        int64_t n = u / g->nband, oy0 = (u % g->nband) * OC_CONV_DIRECT_BAND;
        int64_t oy1 = oy0 + OC_CONV_DIRECT_BAND < g->OH ? oy0 + OC_CONV_DIRECT_BAND : g->OH;
        int64_t nr = (oy1 - oy0 - 1) * g->sh + g->KH;
        build_band(g, j->x + n * g->C * g->H * g->W, oy0 * g->sh - g->pt, nr, ph, row, j->avx2);
        for (int64_t oy = oy0; oy < oy1; oy++) {
            const float *phr = ph + (oy - oy0) * g->sh * g->rstride;
            float *yr = j->y + n * M * L + oy * g->OW;
            for (int64_t m0 = 0; m0 < M; m0 += cb) {
                int ocb = M - m0 < cb ? (int)(M - m0) : cb;
                const float *w = ocb == cb ? j->w + m0 * K : wpad;
                const float *bb = ocb < cb ? bpad : j->bias ? j->bias + m0 : zero;
                float *dst = ocb == cb ? yr + m0 * L : tmp;
                int64_t ldd = ocb == cb ? L : g->OWr;
#ifdef OC_CDIR_X86
                if (j->avx512)
                    oc_cdir_row8_avx512(phr, off, T, w, K, bb, dst, ldd, g->OW, on, lo, hi);
                else if (j->avx2)
                    oc_cdir_row4_avx2(phr, off, T, w, K, bb, dst, ldd, g->OW, on, lo, hi);
                else
#endif
                    row_portable(phr, off, T, w, K, bb, ocb, dst, ldd, g->OW);
                if (ocb < cb)
                    for (int k = 0; k < ocb; k++)
                        memcpy(yr + (m0 + k) * L, tmp + k * g->OWr, sizeof(float) * (size_t)g->OW);
            }
            if (active)
                oc_epilogue_apply(&p->ep, yr, L, M, g->OW, 0, 0, NULL, j->res ? j->res + n * M * L + oy * g->OW : NULL,
                                  L);
        }
    }
}

int oc_conv_direct_forward(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    if (!oc_conv_direct_applicable(p))
        return oc_fail(a->d, "direct conv: parameters outside the small-channel kernel's range");
    size_t need = oc_conv_direct_tscratch(p);
    if (!a->tscratch || a->tscratch_stride < need)
        return oc_fail(a->d, "direct conv: needs %zu bytes of per-thread scratch", need);
    cd_job j = {p, a, {0}, a->in[0]->data, a->in[1]->data, a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL,
                p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL, a->out[0]->data, 0};
    geom(p, &j.g);
    if (p->batch == 0 || j.g.OH == 0)
        return 0;
#ifdef OC_CDIR_X86
    j.avx512 = oc_cpu_isa() >= OC_ISA_AVX512;
    j.avx2 = oc_cpu_isa() >= OC_ISA_AVX2;
#endif
    oc_parallel_for(p->batch * j.g.nband, 1, a->threads, cd_task, &j);
    return 0;
}
