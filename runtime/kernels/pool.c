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

/* Valid taps [lo, hi) of one spatial dim for window start st, and the
 * number of taps inside the padded extent (for count_include_pad). */
typedef struct taps {
    int64_t lo, hi, padded;
} taps;

static taps clip_taps(int64_t st, int64_t k, int64_t dil, int64_t in, int64_t pe)
{
    taps t;
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

/* Global pools: one value per plane. Sums run in double. */
#define GLOBAL_POOL(name, T)                                                                                \
    static void name(const oc_global_pool_params *p, const T *x, T *y)                                      \
    {                                                                                                       \
        for (int64_t c = 0; c < p->planes; c++) {                                                           \
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

int oc_global_pool_forward(const oc_kargs *a)
{
    const oc_global_pool_params *p = a->p;
    switch (p->dtype) {
    case OC_FLOAT: global_pool_f32(p, a->in[0]->data, a->out[0]->data); return 0;
    case OC_DOUBLE: global_pool_f64(p, a->in[0]->data, a->out[0]->data); return 0;
    default: return oc_fail(a->d, "global pool: element type %s is not supported", oc_dtype_name(p->dtype));
    }
}

/* ---- backward (see pool.h for the math) ----
 * The loop nest is the forward's: output positions of one plane, each
 * window's valid taps from clip_taps; the gradient is scattered into the
 * zeroed dX plane, so overlapping windows (stride < kernel) accumulate. */
int oc_pool_backward(const oc_kargs *a)
{
    const oc_pool_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data;
    float *dx = a->out[0]->data;
    if (p->dtype != OC_FLOAT || (p->kind != OC_POOL_MAX && p->kind != OC_POOL_AVG))
        return oc_fail(a->d, "pool backward: only float32 MaxPool and AveragePool are supported");
    int64_t isz = p->in[0] * p->in[1] * p->in[2], osz = p->out[0] * p->out[1] * p->out[2];
    memset(dx, 0, sizeof(float) * (size_t)(p->planes * isz));
    for (int64_t c = 0; c < p->planes; c++) {
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
                        float best = 0;
                        int64_t at = -1;
                        for (int64_t j0 = t0.lo; j0 < t0.hi; j0++)
                            for (int64_t j1 = t1.lo; j1 < t1.hi; j1++) {
                                int64_t row = ((s0 + j0 * p->dil[0]) * p->in[1] + s1 + j1 * p->dil[1]) * p->in[2];
                                for (int64_t j2 = t2.lo; j2 < t2.hi; j2++) {
                                    int64_t i = row + s2 + j2 * p->dil[2];
                                    if (at < 0 || xp[i] > best) {
                                        best = xp[i];
                                        at = i;
                                    }
                                }
                            }
                        if (at >= 0)
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
    return 0;
}

int oc_global_pool_backward(const oc_kargs *a)
{
    const oc_global_pool_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data;
    float *dx = a->out[0]->data;
    if (p->dtype != OC_FLOAT || (p->kind != OC_POOL_MAX && p->kind != OC_POOL_AVG))
        return oc_fail(a->d, "global pool backward: only float32 GlobalMaxPool and GlobalAveragePool are supported");
    for (int64_t c = 0; c < p->planes; c++) {
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
    return 0;
}
