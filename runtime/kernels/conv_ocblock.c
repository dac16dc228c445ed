/* conv_ocblock.c: the output-channel-blocked direct conv (conv_ocblock.h):
 * geometry, the plan-time pack of W, the padded planes, the portable
 * tile, threading and the epilogue. The AVX-512 tile is
 * conv_ocblock_avx512.c. */
#include "conv_ocblock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cpu.h"
#include "../threads.h"
#include "conv_ocblock_ukr.h"

#if defined(__x86_64__) || defined(__i386__)
#define OC_COB_X86 1
#endif

enum { MB = OC_CONV_OCBLOCK_MB, MAX_K = 16, MAX_R = 14 };

typedef struct cob_geom {
    int64_t C, M, H, W, OH, OW, KH, KW, sh, sw, pt, pl;
    int64_t HP, WP, cs; /* padded planes: rows and columns the windows read; floats per channel (16s) */
    int64_t T, nmb, L;  /* taps C*KH*KW, blocks of MB channels, outputs per channel */
    int two;            /* tiles span two output rows (OW <= 7, OH >= 2) */
    int64_t nseg;       /* tiles along an output row (one-row mode) */
    int64_t rt;         /* row tiles of an image: OH, or ceil(OH / 2) with two */
} cob_geom;

static void geom(const oc_conv_params *p, cob_geom *g)
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
    g->HP = g->OH > 0 ? (g->OH - 1) * g->sh + g->KH : 0;
    g->WP = g->OW > 0 ? (g->OW - 1) * g->sw + g->KW : 0;
    g->cs = (g->HP * g->WP + 15) / 16 * 16;
    g->T = g->C * g->KH * g->KW;
    g->nmb = (g->M + MB - 1) / MB;
    g->L = g->OH * g->OW;
    g->two = g->OW <= MAX_R / 2 && g->OH >= 2;
    g->nseg = (g->OW + MAX_R - 1) / MAX_R;
    g->rt = g->two ? (g->OH + 1) / 2 : g->OH;
}

int oc_conv_ocblock_applicable(const oc_conv_params *p)
{
    if (p->nsp != 2 || p->group != 1 || p->out_c8 || p->in_c8 || p->cin < 1 || p->cout < 1)
        return 0;
    if (p->dil[0] != 1 || p->dil[1] != 1 || p->s[0] < 1 || p->s[0] > 64 || (p->s[1] != 1 && p->s[1] != 2) ||
        p->pb[0] < 0 || p->pb[1] < 0 || p->k[0] < 1 || p->k[1] < 1 || p->k[0] > MAX_K || p->k[1] > MAX_K)
        return 0;
    if (p->out[0] < 1 || p->out[1] < 1 || p->in[0] < 1 || p->in[1] < 1)
        return 0;
    cob_geom g;
    geom(p, &g);
    /* tap offsets (channel planes) and the scatter's channel stride in int32 */
    return (double)g.C * (double)g.cs < 2.0e9 && 16.0 * (double)g.L < 2.0e9 && g.T < ((int64_t)1 << 26);
}

int oc_conv_ocblock_chosen(const oc_conv_params *p)
{
    if (!oc_conv_ocblock_applicable(p))
        return 0;
    const char *env = getenv("ONNXC_CONV_OCBLOCK");
    if (env && (!strcmp(env, "0") || !strcmp(env, "1")))
        return env[0] == '1';
    /* Measured in the models against im2col + SGEMM (Zen 5, 2 vCPUs;
     * `onnxc bench --profile`, ONNXC_CONV_OCBLOCK=0 against the default,
     * 3-6 alternating processes; ms per layer), ResNet-50's 3x3 stride-2
     * convs 128 -> 128 at 56 -> 28 and 256 -> 256 at 28 -> 14: batch 1 one
     * thread 1.59-1.73 -> 1.35-1.43 and 1.58-1.65 -> 1.34-1.41, two
     * threads 0.82-1.71 -> 0.73-0.92 and 0.87-1.92 -> 0.72-0.96; batch 8
     * one thread 12.0-12.5 -> 10.5-11.6 and 11.0-11.6 -> 10.4-11.1, two
     * threads 6.2-7.2 -> 6.3-6.8 and 5.8-6.7 -> 6.1-6.3; ResNet-18's 128
     * -> 256 at 28 -> 14: batch 1 0.73-0.79 -> 0.65-0.76 on one thread,
     * 0.52-0.68 -> 0.46-0.52 on two. Left to im2col: 7x7 outputs (the
     * two-row tiles; ResNet-50's 512 -> 512 at 14 -> 7 at batch 1 1.44-1.75
     * -> 1.62-1.87 ms on one thread, 0.97-1.16 -> 1.04-1.18 on two: its
     * 9.4 MB W streams from memory image by image), fewer than 128 input
     * channels (ResNet-18's 64 -> 128 at 56 -> 28: 0.45-0.52 -> 0.50-0.71
     * on two threads), 1x1 stride-2 convs (155-162 GFLOP/s on one thread
     * against 190-200 for 3x3: each tap reads another channel's plane). */
    return oc_cpu_isa() >= OC_ISA_AVX512 && p->s[0] == 2 && p->s[1] == 2 && p->k[0] == 3 && p->k[1] == 3 &&
           p->cin >= 128 && p->cout >= MB && p->out[1] >= MAX_R;
}

size_t oc_conv_ocblock_tscratch(const oc_conv_params *p)
{
    if (!oc_conv_ocblock_applicable(p))
        return 0;
    cob_geom g;
    geom(p, &g);
    return sizeof(float) * (size_t)(g.C * g.cs + 16);
}

size_t oc_conv_ocblock_scratch(const oc_conv_params *p)
{
    size_t planes = oc_conv_ocblock_tscratch(p);
    return planes ? planes + sizeof(int32_t) * (size_t)(p->cin * p->k[0] * p->k[1]) : 0;
}

size_t oc_conv_ocblock_prep_bytes(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    if (!oc_conv_ocblock_applicable(p))
        return 0;
    cob_geom g;
    geom(p, &g);
    return sizeof(float) * (size_t)(g.nmb * g.T * MB);
}

int oc_conv_ocblock_prep(const oc_kargs *a, void *dst)
{
    const oc_conv_params *p = a->p;
    if (!oc_conv_ocblock_applicable(p))
        return oc_fail(a->d, "Conv (channel blocks): parameters outside the kernel's range");
    cob_geom g;
    geom(p, &g);
    float *d = dst;
    const float *w = a->in[1]->data; /* [M][C][KH][KW] = [M][T] */
    memset(d, 0, sizeof(float) * (size_t)(g.nmb * g.T * MB));
    for (int64_t m = 0; m < g.M; m++) {
        float *db = d + (m / MB) * g.T * MB + m % MB;
        for (int64_t t = 0; t < g.T; t++)
            db[t * MB] = w[m * g.T + t];
    }
    return 0;
}

typedef struct cob_job {
    const oc_conv_params *p;
    const oc_kargs *a;
    cob_geom g;
    const float *x0, *res0, *w, *bias;
    float *y0;
    const float *x, *res; /* this image's */
    float *y;
    float *pad;
    const int32_t *off;
    int64_t nrg;    /* groups of row tiles per block */
    int band_outer; /* unit u is group u / nmb, block u % nmb (else block u / nrg, group u % nrg) */
    int vec;     /* the AVX-512 tile */
    int on, active;
    float lo, hi;
} cob_job;

/* Channels [b, e) of the image into their padded planes. */
static void pad_task(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const cob_job *j = ctx;
    const cob_geom *g = &j->g;
    int64_t lead = g->pl < g->WP ? g->pl : g->WP;
    int64_t n = g->W < g->WP - lead ? g->W : g->WP - lead;
    for (int64_t c = b; c < e; c++) {
        float *dst = j->pad + c * g->cs;
        for (int64_t r = 0; r < g->HP; r++, dst += g->WP) {
            int64_t iy = r - g->pt;
            if (iy < 0 || iy >= g->H) {
                memset(dst, 0, sizeof(float) * (size_t)g->WP);
                continue;
            }
            memset(dst, 0, sizeof(float) * (size_t)lead);
            memcpy(dst + lead, j->x + (c * g->H + iy) * g->W, sizeof(float) * (size_t)n);
            memset(dst + lead + n, 0, sizeof(float) * (size_t)(g->WP - lead - n));
        }
    }
}

/* oc_clamp_avx512's rule in plain C (max/min return the second operand
 * on NaN). */
static float clamp1(float v, int on, float lo, float hi)
{
    if (on == 1)
        v = v > lo ? v : lo;
    else if (on == 2)
        v = lo > v ? lo : v;
    else
        return v;
    return hi < v ? hi : v;
}

/* The tile in plain C (conv_ocblock_ukr.h). */
static void tile_portable(const oc_cob_tile *t)
{
    for (int i = 0; i < t->R; i++) {
        const float *xi = t->x + (i < t->R1 ? (int64_t)t->S * i : t->xstep + (int64_t)t->S * (i - t->R1));
        float *yi = t->y + (i < t->R1 ? i : t->ystep + i - t->R1);
        float acc[MB];
        for (int c = 0; c < MB; c++)
            acc[c] = t->bias[c];
        const float *w = t->wp;
        for (int64_t k = 0; k < t->T; k++, w += MB) {
            float xv = xi[t->off[k]];
            for (int c = 0; c < MB; c++)
                acc[c] += w[c] * xv;
        }
        for (int c = 0; c < t->nvalid; c++)
            yi[c * t->L] = clamp1(acc[c], t->on, t->lo, t->hi);
    }
}

static void run_tile(const cob_job *j, const oc_cob_tile *t)
{
#ifdef OC_COB_X86
    if (j->vec && oc_cob_tile_avx512(t) == 0)
        return;
#endif
    (void)j;
    tile_portable(t);
}

/* Tile it of a unit's nt prefetches its share of the next block's taps,
 * [it T / nt, (it + 1) T / nt) (none when pfw is NULL). */
static void share_prefetch(oc_cob_tile *t, const float *pfw, int64_t T, int64_t it, int64_t nt)
{
    if (!pfw)
        return;
    t->pf = pfw + MB * (T * it / nt);
    t->npf = T * (it + 1) / nt - T * it / nt;
}

/* Units of one image: unit u is block u / nrg and its group of row tiles
 * u % nrg, or with band_outer group u / nmb and block u % nmb. */
static int64_t unit_block(const cob_job *j, int64_t u) { return j->band_outer ? u % j->g.nmb : u / j->nrg; }
static int64_t unit_group(const cob_job *j, int64_t u) { return j->band_outer ? u / j->g.nmb : u % j->nrg; }

/* Units [b, e). */
static void tile_task(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const cob_job *j = ctx;
    const cob_geom *g = &j->g;
    for (int64_t u = b; u < e; u++) {
        int64_t mb = unit_block(j, u), rg = unit_group(j, u);
        int64_t m0 = mb * MB;
        int nvalid = g->M - m0 < MB ? (int)(g->M - m0) : MB;
        float bias[MB] = {0};
        for (int c = 0; c < nvalid; c++)
            bias[c] = j->bias ? j->bias[m0 + c] : 0.0f;
        int64_t r0 = g->rt * rg / j->nrg, r1 = g->rt * (rg + 1) / j->nrg;
        oc_cob_tile t = {.off = j->off, .T = g->T, .wp = j->w + mb * g->T * MB, .bias = bias, .L = g->L,
                         .xstep = g->sh * g->WP, .ystep = g->OW, .S = (int)g->sw, .nvalid = nvalid, .on = j->on,
                         .lo = j->lo, .hi = j->hi};
        int64_t oy0 = g->two ? 2 * r0 : r0, oy1 = g->two ? (2 * r1 < g->OH ? 2 * r1 : g->OH) : r1;
        /* the next unit's block, when it is another, streams in meanwhile */
        int64_t nt = (r1 - r0) * (g->two ? 1 : g->nseg), it = 0;
        int64_t mb_next = u + 1 < e ? unit_block(j, u + 1) : mb;
        const float *pfw = mb_next != mb && !j->band_outer ? j->w + mb_next * g->T * MB : NULL;
        for (int64_t r = r0; r < r1; r++) {
            if (g->two) {
                share_prefetch(&t, pfw, g->T, it++, nt);
                int64_t oy = 2 * r;
                t.x = j->pad + oy * g->sh * g->WP;
                t.y = j->y + m0 * g->L + oy * g->OW;
                t.R1 = (int)g->OW;
                t.R = oy + 1 < g->OH ? 2 * t.R1 : t.R1;
                run_tile(j, &t);
                continue;
            }
            for (int64_t s = 0; s < g->nseg; s++) {
                int64_t ox0 = g->OW * s / g->nseg, ox1 = g->OW * (s + 1) / g->nseg;
                t.x = j->pad + r * g->sh * g->WP + ox0 * g->sw;
                t.y = j->y + m0 * g->L + r * g->OW + ox0;
                t.R1 = t.R = (int)(ox1 - ox0);
                share_prefetch(&t, pfw, g->T, it++, nt);
                run_tile(j, &t);
            }
        }
        if (j->active && oy1 > oy0)
            oc_epilogue_apply(&j->p->ep, j->y + m0 * g->L + oy0 * g->OW, g->L, nvalid, (oy1 - oy0) * g->OW, m0, 0,
                              NULL, j->res ? j->res + m0 * g->L + oy0 * g->OW : NULL, g->L);
    }
}

/* Units of an image for `threads` threads: enough for every thread to
 * take a few, each block's rows in as few groups as that allows (a group
 * re-reads the block's W); when all of W stays in L2 but not the image,
 * bands of rows (about 256 KB of input) outermost, every block on a band
 * while it is in L2 (ResNet-50's 128-channel 56 -> 28 conv, two threads:
 * 0.94 -> 0.84 ms). */
static void plan_units(cob_job *j, int threads)
{
    const cob_geom *g = &j->g;
    int64_t want = (4 * (int64_t)threads + g->nmb - 1) / g->nmb;
    double wbytes = 4.0 * (double)(g->nmb * g->T * MB), xrow = 4.0 * (double)(g->C * g->sh * g->WP);
    j->band_outer = 0;
    if (wbytes <= 1048576.0 && (double)g->C * (double)g->cs * 4.0 > 524288.0) {
        int64_t rows = (int64_t)(262144.0 / (xrow * (g->two ? 2 : 1)));
        rows = rows < 1 ? 1 : rows;
        want = (g->rt + rows - 1) / rows > want ? (g->rt + rows - 1) / rows : want;
        j->band_outer = 1;
    }
    j->nrg = want < 1 ? 1 : want > g->rt ? g->rt : want;
}

static void set_image(cob_job *j, int64_t n)
{
    const cob_geom *g = &j->g;
    j->x = j->x0 + n * g->C * g->H * g->W;
    j->y = j->y0 + n * g->M * g->L;
    j->res = j->res0 ? j->res0 + n * g->M * g->L : NULL;
}

/* Images [b, e) on this thread alone, in its own padded planes. */
static void image_task(void *ctx, int64_t b, int64_t e, int tid)
{
    cob_job j = *(const cob_job *)ctx;
    j.pad = (float *)(j.a->tscratch + (size_t)tid * j.a->tscratch_stride);
    plan_units(&j, 1);
    for (int64_t n = b; n < e; n++) {
        set_image(&j, n);
        pad_task(&j, 0, j.g.C, tid);
        tile_task(&j, 0, j.g.nmb * j.nrg, tid);
    }
}

int oc_conv_ocblock_forward(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    if (!oc_conv_ocblock_applicable(p))
        return oc_fail(a->d, "Conv (channel blocks): parameters outside the kernel's range");
    if (!a->prep)
        return oc_fail(a->d, "Conv (channel blocks): W was not prepared (it must be a constant)");
    if (!a->scratch)
        return oc_fail(a->d, "Conv (channel blocks): needs %zu bytes of shared scratch", oc_conv_ocblock_scratch(p));
    cob_job j = {.p = p, .a = a, .w = a->prep, .bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL};
    geom(p, &j.g);
    const cob_geom *g = &j.g;
    if (p->batch == 0)
        return 0;
    j.x0 = a->in[0]->data;
    j.y0 = a->out[0]->data;
    j.res0 = p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    if (p->ep.has_residual && !j.res0)
        return oc_fail(a->d, "Conv (channel blocks): the fused residual input is missing");
    j.pad = a->scratch;
    int32_t *off = (int32_t *)(j.pad + g->C * g->cs + 16);
    for (int64_t c = 0, t = 0; c < g->C; c++)
        for (int64_t kh = 0; kh < g->KH; kh++)
            for (int64_t kw = 0; kw < g->KW; kw++)
                off[t++] = (int32_t)(c * g->cs + kh * g->WP + kw);
    j.off = off;
#ifdef OC_COB_X86
    j.vec = oc_cpu_isa() >= OC_ISA_AVX512;
#endif
    j.active = oc_epilogue_active(&p->ep);
    if (!p->ep.has_residual && (p->ep.act == OC_ACT_RELU || p->ep.act == OC_ACT_CLIP)) {
        j.on = p->ep.act == OC_ACT_RELU ? 1 : 2;
        j.lo = p->ep.act == OC_ACT_RELU ? 0.0f : p->ep.alpha;
        j.hi = p->ep.act == OC_ACT_RELU ? INFINITY : p->ep.beta;
        j.active = 0;
    }
    int threads = oc_threads_for_work(a->threads, (double)g->M * (double)g->T * (double)g->L);
    /* Images split between the threads when they divide evenly enough,
     * each in the thread's own planes (no barrier between the copy and the
     * tiles, each thread's image in its own L2: ResNet-18's 64 -> 128
     * stride-2 conv at batch 8 on two threads ...); else one image at a
     * time, its blocks split. */
    if (threads > 1 && (p->batch >= 2 * threads || p->batch % threads == 0) && a->tscratch &&
        a->tscratch_stride >= oc_conv_ocblock_tscratch(p)) {
        oc_parallel_for(p->batch, 1, threads, image_task, &j);
        return 0;
    }
    plan_units(&j, threads);
    /* the copy goes on the compute's threads: they are about to start */
    int pthreads = g->C >= 8 * threads ? threads : 1;
    for (int64_t n = 0; n < p->batch; n++) {
        set_image(&j, n);
        oc_parallel_for(g->C, 1, pthreads, pad_task, &j);
        oc_parallel_for(g->nmb * j.nrg, 1, threads, tile_task, &j);
    }
    return 0;
}
