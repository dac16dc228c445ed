/* pool.c: see pool.h.
 *
 * Every pool walks the output positions of one (n, c) plane and, per
 * spatial dim, clips the kernel taps to the ones that land inside the
 * input: tap j of output o reads input start + j*dil with start =
 * o*stride - pad_begin, valid when 0 <= start + j*dil < in. Taps in the
 * padding are skipped (MaxPool ignores them, LpPool's zero padding adds
 * nothing); AveragePool counts them in the divisor only with
 * count_include_pad, and then only the taps inside the padded input
 * [-pad_begin, in + pad_end): ceil_mode windows that run past the end
 * pad do not count those taps (ONNX reference semantics). */
#include "pool.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../cpu.h"
#include "../threads.h"
#include "pool_ukr.h"
#include "vmath.h"

#if defined(__x86_64__) || defined(__i386__)
#define OC_POOL_X86 1
#endif

/* Valid taps [lo, hi) of one spatial dim for window start st, and the
 * number of taps inside the padded extent (for count_include_pad). */
typedef struct taps {
    int64_t lo, hi, padded;
} taps;

static taps clip_taps(int64_t st, int64_t k, int64_t dil, int64_t in, int64_t pe)
{
    taps t;
    if (dil == 1) { /* the common case, without the divisions (they dominated pooling backward) */
        int64_t hi = in - st, end = in + pe - st;
        t.lo = st < 0 ? -st : 0;
        t.hi = hi < 0 ? 0 : hi > k ? k : hi;
        if (t.lo > t.hi)
            t.lo = t.hi;
        t.padded = end < 0 ? 0 : end > k ? k : end;
        return t;
    }
    t.lo = st < 0 ? (-st + dil - 1) / dil : 0;
    t.hi = in - st > 0 ? (in - st + dil - 1) / dil : 0;
    if (t.hi > k)
        t.hi = k;
    if (t.lo > t.hi)
        t.lo = t.hi;
    int64_t end = in + pe - st; /* taps with st + j*dil < in + pe */
    t.padded = end > 0 ? (end + dil - 1) / dil : 0;
    if (t.padded > k)
        t.padded = k;
    return t;
}

/* Spatial index of input position (h, w, z) in the requested order. */
static int64_t spatial_index(const oc_pool_params *p, int64_t h, int64_t w, int64_t z)
{
    if (p->storage_order)
        return h + w * p->in[0] + z * p->in[0] * p->in[1];
    return (h * p->in[1] + w) * p->in[2] + z;
}

/* MaxPool for one element type: the first maximal tap wins (ties keep the
 * earlier index in row-major tap order). */
#define MAX_POOL(name, T)                                                                                   \
    static void name(const oc_pool_params *p, const T *x, T *y, int64_t *ind)                               \
    {                                                                                                       \
        int64_t isz = p->in[0] * p->in[1] * p->in[2], osz = p->out[0] * p->out[1] * p->out[2];            \
        for (int64_t c = 0; c < p->planes; c++) {                                                           \
            const T *xp = x + c * isz;                                                                      \
            int64_t oi = c * osz;                                                                           \
            for (int64_t o0 = 0; o0 < p->out[0]; o0++) {                                                    \
                int64_t s0 = o0 * p->s[0] - p->pb[0];                                                       \
                taps t0 = clip_taps(s0, p->k[0], p->dil[0], p->in[0], p->pe[0]);                            \
                for (int64_t o1 = 0; o1 < p->out[1]; o1++) {                                                \
                    int64_t s1 = o1 * p->s[1] - p->pb[1];                                                   \
                    taps t1 = clip_taps(s1, p->k[1], p->dil[1], p->in[1], p->pe[1]);                        \
                    for (int64_t o2 = 0; o2 < p->out[2]; o2++, oi++) {                                      \
                        int64_t s2 = o2 * p->s[2] - p->pb[2];                                               \
                        taps t2 = clip_taps(s2, p->k[2], p->dil[2], p->in[2], p->pe[2]);                    \
                        T best = 0;                                                                         \
                        int64_t bh = -1, bw = -1, bz = -1;                                                  \
                        for (int64_t j0 = t0.lo; j0 < t0.hi; j0++) {                                        \
                            int64_t h = s0 + j0 * p->dil[0];                                                \
                            for (int64_t j1 = t1.lo; j1 < t1.hi; j1++) {                                    \
                                int64_t w = s1 + j1 * p->dil[1];                                            \
                                const T *row = xp + (h * p->in[1] + w) * p->in[2];                          \
                                for (int64_t j2 = t2.lo; j2 < t2.hi; j2++) {                                \
                                    int64_t z = s2 + j2 * p->dil[2];                                        \
                                    if (bh < 0 || row[z] > best) {                                          \
                                        best = row[z];                                                      \
                                        bh = h;                                                             \
                                        bw = w;                                                             \
                                        bz = z;                                                             \
                                    }                                                                       \
                                }                                                                           \
                            }                                                                               \
                        }                                                                                   \
                        y[oi] = best;                                                                       \
                        if (ind)                                                                            \
                            ind[oi] = bh < 0 ? -1 : c * isz + spatial_index(p, bh, bw, bz);                 \
                    }                                                                                       \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

MAX_POOL(max_pool_f32, float)
MAX_POOL(max_pool_f64, double)
MAX_POOL(max_pool_i8, int8_t)
MAX_POOL(max_pool_u8, uint8_t)
MAX_POOL(max_pool_i32, int32_t)
MAX_POOL(max_pool_i64, int64_t)

/* AveragePool: mean of the valid taps (sum in double); LpPool:
 * (sum |x|^p)^(1/p) over the valid taps. */
#define AVG_LP_POOL(name, T)                                                                                \
    static void name(const oc_pool_params *p, const T *x, T *y)                                             \
    {                                                                                                       \
        int64_t isz = p->in[0] * p->in[1] * p->in[2], osz = p->out[0] * p->out[1] * p->out[2];            \
        int lp = p->kind == OC_POOL_LP;                                                                     \
        for (int64_t c = 0; c < p->planes; c++) {                                                           \
            const T *xp = x + c * isz;                                                                      \
            int64_t oi = c * osz;                                                                           \
            for (int64_t o0 = 0; o0 < p->out[0]; o0++) {                                                    \
                int64_t s0 = o0 * p->s[0] - p->pb[0];                                                       \
                taps t0 = clip_taps(s0, p->k[0], p->dil[0], p->in[0], p->pe[0]);                            \
                for (int64_t o1 = 0; o1 < p->out[1]; o1++) {                                                \
                    int64_t s1 = o1 * p->s[1] - p->pb[1];                                                   \
                    taps t1 = clip_taps(s1, p->k[1], p->dil[1], p->in[1], p->pe[1]);                        \
                    for (int64_t o2 = 0; o2 < p->out[2]; o2++, oi++) {                                      \
                        int64_t s2 = o2 * p->s[2] - p->pb[2];                                               \
                        taps t2 = clip_taps(s2, p->k[2], p->dil[2], p->in[2], p->pe[2]);                    \
                        double acc = 0;                                                                     \
                        for (int64_t j0 = t0.lo; j0 < t0.hi; j0++) {                                        \
                            int64_t h = s0 + j0 * p->dil[0];                                                \
                            for (int64_t j1 = t1.lo; j1 < t1.hi; j1++) {                                    \
                                int64_t w = s1 + j1 * p->dil[1];                                            \
                                const T *row = xp + (h * p->in[1] + w) * p->in[2];                          \
                                for (int64_t j2 = t2.lo; j2 < t2.hi; j2++) {                                \
                                    double v = row[s2 + j2 * p->dil[2]];                                    \
                                    acc += lp ? pow(fabs(v), p->p) : v;                                     \
                                }                                                                           \
                            }                                                                               \
                        }                                                                                   \
                        if (lp) {                                                                           \
                            y[oi] = (T)pow(acc, 1.0 / p->p);                                                \
                        } else {                                                                            \
                            int64_t cnt = p->count_include_pad                                              \
                                              ? t0.padded * t1.padded * t2.padded                           \
                                              : (t0.hi - t0.lo) * (t1.hi - t1.lo) * (t2.hi - t2.lo);        \
                            y[oi] = (T)(cnt > 0 ? acc / (double)cnt : 0.0);                                 \
                        }                                                                                   \
                    }                                                                                       \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

AVG_LP_POOL(avg_pool_f32, float)
AVG_LP_POOL(avg_pool_f64, double)

int oc_pool_forward(const oc_kargs *a)
{
    const oc_pool_params *p = a->p;
    const void *x = a->in[0]->data;
    void *y = a->out[0]->data;
    int64_t *ind = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    if (p->kind == OC_POOL_MAX) {
        switch (p->dtype) {
        case OC_FLOAT: max_pool_f32(p, x, y, ind); return 0;
        case OC_DOUBLE: max_pool_f64(p, x, y, ind); return 0;
        case OC_INT8: max_pool_i8(p, x, y, ind); return 0;
        case OC_UINT8: max_pool_u8(p, x, y, ind); return 0;
        case OC_INT32: max_pool_i32(p, x, y, ind); return 0;
        case OC_INT64: max_pool_i64(p, x, y, ind); return 0;
        default: break;
        }
    } else {
        switch (p->dtype) {
        case OC_FLOAT: avg_pool_f32(p, x, y); return 0;
        case OC_DOUBLE: avg_pool_f64(p, x, y); return 0;
        default: break;
        }
    }
    return oc_fail(a->d, "pool: element type %s is not supported", oc_dtype_name(p->dtype));
}

/* ---- 2-D fast path (MaxPool / AveragePool, float32, no Indices) ----
 * Per (n, c) plane and output row oh: the valid kernel rows (pads are
 * skipped, as in the general kernel) are reduced into one row vr [W]
 * (max or sum, a vector loop per row), which is copied into a padded row
 * of exactly the extent the windows read,
 *   Wp = (OW-1)*sw + (KW-1)*dw + 1,  position wp = iw + pl,
 * filled with -inf (max) or 0 (sum) outside X and split into sw stride
 * phases of Lph = ceil(Wp / sw) floats (phase r holds wp = sw*j + r); tap
 * kw of column ow is then phase (kw*dw) % sw at j = ow + (kw*dw) / sw, a
 * contiguous run over ow for any stride. The row's outputs are the max /
 * sum over kw of those runs; AveragePool divides by the window's count
 * (valid taps, or taps inside the padded input with count_include_pad),
 * cnt_h(oh) * cnt_w(ow), as the general kernel. Every window must hold at
 * least one valid tap per dim (oc_pool2d_applicable), so -inf pads never
 * reach an output. Sums run in float (the general kernel: double).
 * MaxPool 3x3 stride 2 (ResNet's) on an AVX-512 CPU runs the intrinsics
 * plane of pool_avx512.c instead: the same comparisons in the same order,
 * 16 outputs a vector, no padded row. */
typedef struct p2_geom {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, pbot, pr;
    int64_t Wp, Lph, RW;
} p2_geom;

static void p2_geometry(const oc_pool_params *p, p2_geom *g)
{
    g->H = p->in[1], g->W = p->in[2], g->OH = p->out[1], g->OW = p->out[2];
    g->KH = p->k[1], g->KW = p->k[2], g->sh = p->s[1], g->sw = p->s[2];
    g->dh = p->dil[1], g->dw = p->dil[2], g->pt = p->pb[1], g->pl = p->pb[2], g->pbot = p->pe[1], g->pr = p->pe[2];
    g->Wp = g->OW > 0 ? (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1 : 0;
    g->Lph = (g->Wp + g->sw - 1) / g->sw;
    g->RW = g->sw * g->Lph;
}

/* Every window of one dim has a valid tap. */
static int all_windows_valid(int64_t out, int64_t s, int64_t pb, int64_t k, int64_t dil, int64_t in, int64_t pe)
{
    for (int64_t o = 0; o < out; o++) {
        taps t = clip_taps(o * s - pb, k, dil, in, pe);
        if (t.hi <= t.lo)
            return 0;
    }
    return 1;
}

int oc_pool2d_applicable(const oc_pool_params *p)
{
    if (p->dtype != OC_FLOAT || (p->kind != OC_POOL_MAX && p->kind != OC_POOL_AVG))
        return 0;
    if (p->in[0] != 1 || p->out[0] != 1 || p->k[0] != 1 || p->pb[0] != 0 || p->pe[0] != 0)
        return 0;
    for (int d = 1; d < 3; d++)
        if (p->k[d] < 1 || p->s[d] < 1 || p->dil[d] < 1 || p->pb[d] < 0 || p->pe[d] < 0 ||
            !all_windows_valid(p->out[d], p->s[d], p->pb[d], p->k[d], p->dil[d], p->in[d], p->pe[d]))
            return 0;
    return 1;
}

size_t oc_pool2d_tscratch(const oc_pool_params *p)
{
    p2_geom g;
    p2_geometry(p, &g);
    return sizeof(float) * (size_t)(g.W + g.RW + g.OW);
}

OC_VEC_CLONES static void p2_plane(const p2_geom *g, int max, int include_pad, const float *x, float *y, float *tmp)
{
    float *vr = tmp, *pr = tmp + g->W, *cw = pr + g->RW;
    const float padv = max ? -INFINITY : 0.0f;
    int64_t OW = g->OW, W = g->W, sw = g->sw;
    /* per-column window counts (AveragePool) */
    if (!max)
        for (int64_t ow = 0; ow < OW; ow++) {
            taps t = clip_taps(ow * sw - g->pl, g->KW, g->dw, W, g->pr);
            cw[ow] = (float)(include_pad ? t.padded : t.hi - t.lo);
        }
    int64_t lo = g->pl < g->Wp ? g->pl : g->Wp, hi = g->pl + W < g->Wp ? g->pl + W : g->Wp;
    for (int64_t oh = 0; oh < g->OH; oh++) {
        taps th = clip_taps(oh * g->sh - g->pt, g->KH, g->dh, g->H, g->pbot);
        const float *src = x + (oh * g->sh - g->pt + th.lo * g->dh) * W;
        if (th.hi - th.lo > 1) {
            for (int64_t i = 0; i < W; i++)
                vr[i] = src[i];
            for (int64_t j = th.lo + 1; j < th.hi; j++) {
                const float *r = x + (oh * g->sh - g->pt + j * g->dh) * W;
                if (max)
                    for (int64_t i = 0; i < W; i++)
                        vr[i] = r[i] > vr[i] ? r[i] : vr[i];
                else
                    for (int64_t i = 0; i < W; i++)
                        vr[i] = vr[i] + r[i];
            }
            src = vr;
        }
        /* padded, phase-split row */
        if (sw == 1) {
            for (int64_t i = 0; i < lo; i++)
                pr[i] = padv;
            for (int64_t i = lo; i < hi; i++)
                pr[i] = src[i - g->pl];
            for (int64_t i = hi > lo ? hi : lo; i < g->RW; i++)
                pr[i] = padv;
        } else {
            for (int64_t r = 0; r < sw; r++) {
                /* phase r: wp = j*sw + r, valid j one strided run */
                float *ph = pr + r * g->Lph;
                int64_t len = g->Lph, jl = lo > r ? (lo - r + sw - 1) / sw : 0, jh = hi > r ? (hi - r + sw - 1) / sw : 0;
                jl = jl < len ? jl : len;
                jh = jh < len ? jh : len;
                jh = jh > jl ? jh : jl;
                int64_t base = r - g->pl; /* src index of j = 0 (only j >= jl are read) */
                for (int64_t j = 0; j < jl; j++)
                    ph[j] = padv;
                if (sw == 2) /* a constant stride the compiler vectorizes (ResNet's 3x3/2 MaxPool: 2.2 -> 1.5 ms) */
                    for (int64_t j = jl; j < jh; j++)
                        ph[j] = src[j * 2 + base];
                else
                    for (int64_t j = jl; j < jh; j++)
                        ph[j] = src[j * sw + base];
                for (int64_t j = jh; j < len; j++)
                    ph[j] = padv;
            }
        }
        float *yr = y + oh * OW;
        const float *t0 = pr + ((0 * g->dw) % sw) * g->Lph + (0 * g->dw) / sw;
        for (int64_t i = 0; i < OW; i++)
            yr[i] = t0[i];
        for (int64_t kw = 1; kw < g->KW; kw++) {
            const float *t = pr + ((kw * g->dw) % sw) * g->Lph + (kw * g->dw) / sw;
            if (max)
                for (int64_t i = 0; i < OW; i++)
                    yr[i] = t[i] > yr[i] ? t[i] : yr[i];
            else
                for (int64_t i = 0; i < OW; i++)
                    yr[i] = yr[i] + t[i];
        }
        if (!max) {
            float chh = (float)(include_pad ? th.padded : th.hi - th.lo);
            for (int64_t i = 0; i < OW; i++)
                yr[i] = yr[i] / (chh * cw[i]);
        }
    }
}

typedef struct p2_job {
    const oc_pool_params *p;
    const oc_kargs *a;
    p2_geom g;
    int fast; /* the AVX-512 MaxPool 3x3/2 plane (pool_ukr.h) */
} p2_job;

/* MaxPool 3x3 stride 2, dilation 1 (ResNet's) on an AVX-512 CPU: the
 * intrinsics plane, the same bits as p2_plane (ResNet-50's [1,64,112,112]
 * on one thread: see the commit). Decided at each run: tests cap the ISA
 * in-process. */
static int p2_fast(const oc_pool_params *p, const p2_geom *g)
{
#ifdef OC_POOL_X86
    return p->kind == OC_POOL_MAX && g->KH == 3 && g->KW == 3 && g->sh == 2 && g->sw == 2 && g->dh == 1 &&
           g->dw == 1 && oc_cpu_isa() >= OC_ISA_AVX512;
#else
    (void)p, (void)g;
    return 0;
#endif
}

static void p2_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const p2_job *j = ctx;
    const p2_geom *g = &j->g;
    const float *x = j->a->in[0]->data;
    float *y = j->a->out[0]->data;
    float *tmp = (float *)(j->a->tscratch + (size_t)tid * j->a->tscratch_stride);
    int max = j->p->kind == OC_POOL_MAX;
#ifdef OC_POOL_X86
    if (j->fast) {
        for (int64_t c = b; c < e; c++)
            oc_maxpool3s2_plane_avx512(x + c * g->H * g->W, g->H, g->W, g->OH, g->OW, g->pt, g->pl,
                                       y + c * g->OH * g->OW);
        return;
    }
#endif
    for (int64_t c = b; c < e; c++)
        p2_plane(g, max, j->p->count_include_pad, x + c * g->H * g->W, y + c * g->OH * g->OW, tmp);
}

int oc_pool2d_forward(const oc_kargs *a)
{
    const oc_pool_params *p = a->p;
    if ((a->n_out > 1 && a->out[1]) || !oc_pool2d_applicable(p))
        return oc_pool_forward(a); /* Indices wanted, or outside the fast path */
    size_t need = oc_pool2d_tscratch(p);
    if (!a->tscratch || a->tscratch_stride < need)
        return oc_fail(a->d, "pool: needs %zu bytes of per-thread scratch", need);
    p2_job j = {p, a, {0}, 0};
    p2_geometry(p, &j.g);
    j.fast = p2_fast(p, &j.g);
    int64_t plane = j.g.H * j.g.W, grain = 65536 / (plane > 0 ? plane : 1);
    oc_parallel_for(p->planes, grain > 0 ? grain : 1, a->threads, p2_task, &j);
    return 0;
}

/* Global pools: one value per plane. Sums run in double. */
#define GLOBAL_POOL(name, T)                                                                                \
    static void name(const oc_global_pool_params *p, const T *x, T *y, int64_t c0, int64_t c1)              \
    {                                                                                                       \
        for (int64_t c = c0; c < c1; c++) {                                                                 \
            const T *xp = x + c * p->plane;                                                                 \
            if (p->kind == OC_POOL_MAX) {                                                                   \
                T best = p->plane ? xp[0] : 0;                                                              \
                for (int64_t i = 1; i < p->plane; i++)                                                      \
                    if (xp[i] > best)                                                                       \
                        best = xp[i];                                                                       \
                y[c] = best;                                                                                \
            } else if (p->kind == OC_POOL_AVG) {                                                            \
                double acc = 0;                                                                             \
                for (int64_t i = 0; i < p->plane; i++)                                                      \
                    acc += xp[i];                                                                           \
                y[c] = (T)(acc / (double)p->plane);                                                         \
            } else {                                                                                        \
                double acc = 0;                                                                             \
                for (int64_t i = 0; i < p->plane; i++)                                                      \
                    acc += pow(fabs((double)xp[i]), p->p);                                                  \
                y[c] = (T)pow(acc, 1.0 / p->p);                                                             \
            }                                                                                               \
        }                                                                                                   \
    }

GLOBAL_POOL(global_pool_f32, float)
GLOBAL_POOL(global_pool_f64, double)

int oc_global_pool_ref(const oc_kargs *a)
{
    const oc_global_pool_params *p = a->p;
    switch (p->dtype) {
    case OC_FLOAT: global_pool_f32(p, a->in[0]->data, a->out[0]->data, 0, p->planes); return 0;
    case OC_DOUBLE: global_pool_f64(p, a->in[0]->data, a->out[0]->data, 0, p->planes); return 0;
    default: return oc_fail(a->d, "global pool: element type %s is not supported", oc_dtype_name(p->dtype));
    }
}

/* float32 plane sum in 16 double lanes (a vectorizable stand-in for one
 * running double sum; the lanes are added at the end), and plane max in
 * 16 float lanes. */
#define LANES 16
static inline double plane_sum(const float *x, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += x[i + j];
    double s = 0;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    for (; i < n; i++)
        s += x[i];
    return s;
}

static inline float plane_max(const float *x, int64_t n)
{
    float acc[LANES];
    for (int j = 0; j < LANES; j++)
        acc[j] = x[0];
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    float best = acc[0];
    for (int j = 1; j < LANES; j++)
        best = acc[j] > best ? acc[j] : best;
    for (; i < n; i++)
        best = x[i] > best ? x[i] : best;
    return best;
}

typedef struct gpool_job {
    const oc_global_pool_params *p;
    const void *x;
    void *y;
} gpool_job;

OC_VEC_CLONES static void gpool_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const gpool_job *j = ctx;
    const oc_global_pool_params *p = j->p;
    (void)tid;
    if (p->dtype == OC_DOUBLE) {
        global_pool_f64(p, j->x, j->y, b, e);
        return;
    }
    if (p->kind == OC_POOL_LP || p->plane == 0) {
        global_pool_f32(p, j->x, j->y, b, e);
        return;
    }
    const float *x = j->x;
    float *y = j->y;
    for (int64_t c = b; c < e; c++) {
        const float *xp = x + c * p->plane;
        y[c] = p->kind == OC_POOL_MAX ? plane_max(xp, p->plane) : (float)(plane_sum(xp, p->plane) / (double)p->plane);
    }
}

/* Threaded over planes; float32 Max / Average planes reduce in vector lanes. */
int oc_global_pool_forward(const oc_kargs *a)
{
    const oc_global_pool_params *p = a->p;
    if (p->dtype != OC_FLOAT && p->dtype != OC_DOUBLE)
        return oc_fail(a->d, "global pool: element type %s is not supported", oc_dtype_name(p->dtype));
    gpool_job j = {p, a->in[0]->data, a->out[0]->data};
    int64_t grain = 65536 / (p->plane > 0 ? p->plane : 1);
    oc_parallel_for(p->planes, grain > 0 ? grain : 1, a->threads, gpool_task, &j);
    return 0;
}

/* ---- backward (see pool.h for the math) ----
 * The loop nest is the forward's: output positions of one plane, each
 * window's valid taps from clip_taps; the gradient is scattered into the
 * zeroed dX plane, so overlapping windows (stride < kernel) accumulate. */
typedef struct pool_bwd_job {
    const oc_pool_params *p;
    const float *dy, *x;
    float *dx;
} pool_bwd_job;

/* Planes [c0, c1) of dX; planes are independent, so threads split them. */
static void pool_bwd_task(void *ctx, int64_t c0, int64_t c1, int tid)
{
    const pool_bwd_job *j = ctx;
    const oc_pool_params *p = j->p;
    const float *dy = j->dy, *x = j->x;
    float *dx = j->dx;
    (void)tid;
    int64_t isz = p->in[0] * p->in[1] * p->in[2], osz = p->out[0] * p->out[1] * p->out[2];
    memset(dx + c0 * isz, 0, sizeof(float) * (size_t)((c1 - c0) * isz));
    for (int64_t c = c0; c < c1; c++) {
        const float *xp = x + c * isz;
        float *dxp = dx + c * isz;
        int64_t oi = c * osz;
        for (int64_t o0 = 0; o0 < p->out[0]; o0++) {
            int64_t s0 = o0 * p->s[0] - p->pb[0];
            taps t0 = clip_taps(s0, p->k[0], p->dil[0], p->in[0], p->pe[0]);
            for (int64_t o1 = 0; o1 < p->out[1]; o1++) {
                int64_t s1 = o1 * p->s[1] - p->pb[1];
                taps t1 = clip_taps(s1, p->k[1], p->dil[1], p->in[1], p->pe[1]);
                for (int64_t o2 = 0; o2 < p->out[2]; o2++, oi++) {
                    int64_t s2 = o2 * p->s[2] - p->pb[2];
                    taps t2 = clip_taps(s2, p->k[2], p->dil[2], p->in[2], p->pe[2]);
                    float g = dy[oi];
                    if (p->kind == OC_POOL_MAX) {
                        if (t0.lo >= t0.hi || t1.lo >= t1.hi || t2.lo >= t2.hi)
                            continue;
                        int64_t at = ((s0 + t0.lo * p->dil[0]) * p->in[1] + s1 + t1.lo * p->dil[1]) * p->in[2] + s2 +
                                     t2.lo * p->dil[2];
                        float best = xp[at];
                        for (int64_t j0 = t0.lo; j0 < t0.hi; j0++)
                            for (int64_t j1 = t1.lo; j1 < t1.hi; j1++) {
                                int64_t row = ((s0 + j0 * p->dil[0]) * p->in[1] + s1 + j1 * p->dil[1]) * p->in[2];
                                for (int64_t j2 = t2.lo; j2 < t2.hi; j2++) {
                                    /* a mask, not a branch: the comparison is data-dependent
                                     * and mispredicts; the first maximum wins, as in the forward */
                                    int64_t i = row + s2 + j2 * p->dil[2];
                                    float v = xp[i];
                                    int64_t m = -(int64_t)(v > best);
                                    at = (at & ~m) | (i & m);
                                    best = v > best ? v : best;
                                }
                            }
                        dxp[at] += g;
                        continue;
                    }
                    int64_t cnt = p->count_include_pad ? t0.padded * t1.padded * t2.padded
                                                       : (t0.hi - t0.lo) * (t1.hi - t1.lo) * (t2.hi - t2.lo);
                    if (cnt <= 0)
                        continue;
                    float share = (float)((double)g / (double)cnt);
                    for (int64_t j0 = t0.lo; j0 < t0.hi; j0++)
                        for (int64_t j1 = t1.lo; j1 < t1.hi; j1++) {
                            float *row = dxp + ((s0 + j0 * p->dil[0]) * p->in[1] + s1 + j1 * p->dil[1]) * p->in[2];
                            for (int64_t j2 = t2.lo; j2 < t2.hi; j2++)
                                row[s2 + j2 * p->dil[2]] += share;
                        }
                }
            }
        }
    }
}

/* MaxPoolGrad of 2-D windows with dilation 1, a chunk of output columns
 * at a time: taps outer, output columns inner, so the search for each
 * window's maximum runs in vector lanes (one output per lane) instead of
 * one dependent compare-and-select chain per window. Taps go in the
 * general loop's order and the first visited tap or a strictly greater
 * value wins, so each window picks the element the general loop picks,
 * and the scatter adds in the same order: the results are bitwise
 * oc_pool_backward_ref's. */
#define MAXPOOL_BWD_CHUNK 256

static int maxpool2d_bwd_applicable(const oc_pool_params *p)
{
    return p->kind == OC_POOL_MAX && p->in[0] == 1 && p->out[0] == 1 && p->k[0] == 1 && p->pb[0] == 0 &&
           p->dil[1] == 1 && p->dil[2] == 1 && p->in[1] * p->in[2] < ((int64_t)1 << 31);
}

OC_VEC_CLONES static void maxpool2d_bwd_plane(const oc_pool_params *p, const float *dy, const float *xp, float *dxp)
{
    int64_t H = p->in[1], W = p->in[2], OH = p->out[1], OW = p->out[2];
    int64_t kh = p->k[1], kw = p->k[2], sh = p->s[1], sw = p->s[2], ph = p->pb[1], pw = p->pb[2];
    float best[MAXPOOL_BWD_CHUNK];
    int32_t at[MAXPOOL_BWD_CHUNK];
    memset(dxp, 0, sizeof(float) * (size_t)(H * W));
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t h0 = oh * sh - ph;
        for (int64_t c0 = 0; c0 < OW; c0 += MAXPOOL_BWD_CHUNK) {
            int64_t c1 = c0 + MAXPOOL_BWD_CHUNK < OW ? c0 + MAXPOOL_BWD_CHUNK : OW;
            for (int64_t ow = c0; ow < c1; ow++) {
                best[ow - c0] = 0.0f;
                at[ow - c0] = -1;
            }
            for (int64_t i = 0; i < kh; i++) {
                int64_t h = h0 + i;
                if (h < 0 || h >= H)
                    continue;
                const float *row = xp + h * W;
                for (int64_t j = 0; j < kw; j++) {
                    /* output columns whose tap j is inside the row: 0 <= ow*sw - pw + j < W */
                    int64_t off = j - pw, lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
                    lo = lo < c0 ? c0 : lo;
                    hi = hi > c1 ? c1 : hi;
                    int32_t base = (int32_t)(h * W + off);
                    for (int64_t ow = lo; ow < hi; ow++) {
                        float v = row[ow * sw + off];
                        int32_t idx = base + (int32_t)(ow * sw);
                        int take = (at[ow - c0] < 0) | (v > best[ow - c0]);
                        best[ow - c0] = take ? v : best[ow - c0];
                        at[ow - c0] = take ? idx : at[ow - c0];
                    }
                }
            }
            const float *g = dy + oh * OW;
            for (int64_t ow = c0; ow < c1; ow++)
                if (at[ow - c0] >= 0)
                    dxp[at[ow - c0]] += g[ow];
        }
    }
}

static void maxpool2d_bwd_task(void *ctx, int64_t c0, int64_t c1, int tid)
{
    const pool_bwd_job *j = ctx;
    const oc_pool_params *p = j->p;
    int64_t isz = p->in[1] * p->in[2], osz = p->out[1] * p->out[2];
    (void)tid;
    for (int64_t c = c0; c < c1; c++)
        maxpool2d_bwd_plane(p, j->dy + c * osz, j->x + c * isz, j->dx + c * isz);
}

static int pool_backward(const oc_kargs *a, int fast)
{
    const oc_pool_params *p = a->p;
    if (p->dtype != OC_FLOAT || (p->kind != OC_POOL_MAX && p->kind != OC_POOL_AVG))
        return oc_fail(a->d, "pool backward: only float32 MaxPool and AveragePool are supported");
    pool_bwd_job j = {p, a->in[0]->data, a->in[1]->data, a->out[0]->data};
    int64_t isz = p->in[0] * p->in[1] * p->in[2], grain = 65536 / (isz > 0 ? isz : 1);
    oc_parallel_for(p->planes, grain > 0 ? grain : 1, a->threads,
                    fast && maxpool2d_bwd_applicable(p) ? maxpool2d_bwd_task : pool_bwd_task, &j);
    return 0;
}

int oc_pool_backward(const oc_kargs *a) { return pool_backward(a, 1); }
int oc_pool_backward_ref(const oc_kargs *a) { return pool_backward(a, 0); }

typedef struct gpool_bwd_job {
    const oc_global_pool_params *p;
    const float *dy, *x;
    float *dx;
} gpool_bwd_job;

static void gpool_bwd_task(void *ctx, int64_t c0, int64_t c1, int tid)
{
    const gpool_bwd_job *j = ctx;
    const oc_global_pool_params *p = j->p;
    const float *dy = j->dy, *x = j->x;
    float *dx = j->dx;
    (void)tid;
    for (int64_t c = c0; c < c1; c++) {
        const float *xp = x + c * p->plane;
        float *dxp = dx + c * p->plane;
        if (p->kind == OC_POOL_AVG) {
            float share = (float)((double)dy[c] / (double)p->plane);
            for (int64_t i = 0; i < p->plane; i++)
                dxp[i] = share;
            continue;
        }
        int64_t at = 0;
        for (int64_t i = 1; i < p->plane; i++)
            if (xp[i] > xp[at])
                at = i;
        memset(dxp, 0, sizeof(float) * (size_t)p->plane);
        if (p->plane)
            dxp[at] = dy[c];
    }
}

int oc_global_pool_backward(const oc_kargs *a)
{
    const oc_global_pool_params *p = a->p;
    if (p->dtype != OC_FLOAT || (p->kind != OC_POOL_MAX && p->kind != OC_POOL_AVG))
        return oc_fail(a->d, "global pool backward: only float32 GlobalMaxPool and GlobalAveragePool are supported");
    gpool_bwd_job j = {p, a->in[0]->data, a->in[1]->data, a->out[0]->data};
    int64_t grain = 65536 / (p->plane > 0 ? p->plane : 1);
    oc_parallel_for(p->planes, grain > 0 ? grain : 1, a->threads, gpool_bwd_task, &j);
    return 0;
}
