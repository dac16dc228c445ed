/* resize.c: see resize.h.
 *
 * Resize follows the ONNX spec (Resize-19) and its reference
 * implementation: each output coordinate x of a dim maps to an input
 * coordinate x_ori by the coordinate transformation, e.g.
 *   half_pixel:    x_ori = (x + 0.5) / scale - 0.5
 *   align_corners: x_ori = x * (in - 1) / (out_w - 1)
 * where out_w = scale * in is the *unrounded* output extent (as the
 * reference computes it), and the value is a weighted sum of input points
 * near x_ori: 1 (nearest), 2 (linear), 4 (cubic, Keys kernel with
 * coefficient A) or, with antialias while downsampling, a kernel widened
 * by 1 / scale (normalized to sum 1). Indices outside the input are
 * clamped (edge padding), or dropped and the weights renormalized with
 * exclude_outside. Interpolation is separable, so a dim's taps (index,
 * weight) depend only on that dim's output coordinate: the kernel first
 * builds one tap table per dim in scratch, then every output element is
 * the tensor product sum over the tables, accumulated in double.
 *
 * Scratch layout, dim by dim: taps [out_r * cap_r] (oc_tap), then the tap
 * counts int32 [out_r] of all dims, then the tf_crop_and_resize
 * "outside" flags uint8 [out_r] of all dims. */
#include "resize.h"

#include <math.h>
#include <string.h>

typedef struct oc_tap {
    int64_t idx;
    double w;
} oc_tap;

size_t oc_resize_scratch(int rank, const int64_t *out, const int64_t *cap)
{
    size_t taps = 0, counts = 0, flags = 0;
    for (int r = 0; r < rank; r++) {
        taps += (size_t)out[r] * (size_t)cap[r] * sizeof(oc_tap);
        counts += (size_t)out[r] * sizeof(int32_t);
        flags += (size_t)out[r];
    }
    return taps + counts + flags;
}

/* Element i of a float tensor (float32, float64) or int tensor as double. */
static double get_f(const oc_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case OC_FLOAT: return ((const float *)t->data)[i];
    case OC_DOUBLE: return ((const double *)t->data)[i];
    case OC_INT64: return (double)((const int64_t *)t->data)[i];
    case OC_INT32: return ((const int32_t *)t->data)[i];
    default: return NAN;
    }
}

static int64_t get_i(const oc_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case OC_INT64: return ((const int64_t *)t->data)[i];
    case OC_INT32: return ((const int32_t *)t->data)[i];
    default: return -1;
    }
}

/* Input k when present and non-empty (an empty tensor means "not given"). */
static const oc_tensor *given(const oc_kargs *a, int k)
{
    if (k < 0 || k >= a->n_in || !a->in[k] || a->in[k]->numel == 0)
        return NULL;
    return a->in[k];
}

/* Per-dim geometry resolved from the run-time inputs. */
typedef struct dim_geom {
    double scale;   /* output / input factor */
    double out_w;   /* scale * in, unrounded */
    double roi_s, roi_e;
} dim_geom;

/* Fill g[] from scales / sizes / roi; checks that the extents they give
 * are the plan's output extents. */
static int resolve_geometry(const oc_kargs *a, const oc_resize_params *p, dim_geom *g)
{
    const oc_tensor *x = a->in[0], *y = a->out[0];
    int rank = p->rank;
    for (int r = 0; r < rank; r++) {
        g[r].scale = 1.0;
        g[r].out_w = (double)x->dims[r];
        g[r].roi_s = 0.0;
        g[r].roi_e = 1.0;
    }
    const oc_tensor *sc = given(a, p->in_scales), *sz = given(a, p->in_sizes);
    int na = p->n_axes;
    if (p->n_attr_scales || sc) {
        int ns = p->n_attr_scales ? p->n_attr_scales : (int)sc->numel;
        if (ns != na)
            return oc_fail(a->d, "'scales' has %d entries for %d resized dims", ns, na);
        for (int i = 0; i < na; i++) {
            int r = p->axes[i];
            /* float32 as the reference: out_w = float(scale) * in */
            float s = p->n_attr_scales ? p->attr_scales[i] : (float)get_f(sc, i);
            if (!(s > 0))
                return oc_fail(a->d, "scale %g for dim %d must be positive", (double)s, r);
            g[r].scale = s;
            g[r].out_w = (double)(s * (float)x->dims[r]);
            int64_t want = (int64_t)floorf((float)x->dims[r] * s);
            if (want != y->dims[r])
                return oc_fail(a->d, "scale %g gives extent %lld for dim %d, but the output has %lld", (double)s,
                               (long long)want, r, (long long)y->dims[r]);
        }
    } else if (sz) {
        if (sz->numel != na)
            return oc_fail(a->d, "'sizes' has %lld entries for %d resized dims", (long long)sz->numel, na);
        double keep = p->policy == OC_POLICY_NOT_LARGER ? INFINITY : 0.0;
        for (int i = 0; i < na; i++) {
            int r = p->axes[i];
            int64_t s = get_i(sz, i);
            if (s < 0)
                return oc_fail(a->d, "size %lld for dim %d is negative", (long long)s, r);
            g[r].scale = x->dims[r] ? (double)s / (double)x->dims[r] : 1.0;
            g[r].out_w = (double)s;
            if (p->policy == OC_POLICY_NOT_LARGER && g[r].scale < keep)
                keep = g[r].scale;
            if (p->policy == OC_POLICY_NOT_SMALLER && g[r].scale > keep)
                keep = g[r].scale;
        }
        for (int i = 0; i < na; i++) {
            int r = p->axes[i];
            if (p->policy != OC_POLICY_STRETCH) {
                /* one scale for every named dim; extent rounded half up */
                g[r].scale = keep;
                g[r].out_w = keep * (double)x->dims[r];
            }
            int64_t want = p->policy == OC_POLICY_STRETCH ? get_i(sz, i) : (int64_t)(g[r].out_w + 0.5);
            if (want != y->dims[r])
                return oc_fail(a->d, "'sizes' give extent %lld for dim %d, but the output has %lld",
                               (long long)want, r, (long long)y->dims[r]);
        }
    } else {
        return oc_fail(a->d, "needs 'scales' or 'sizes'");
    }
    if (p->coord == OC_COORD_TF_CROP_AND_RESIZE) {
        const oc_tensor *roi = given(a, p->in_roi);
        if (!roi)
            return oc_fail(a->d, "tf_crop_and_resize needs 'roi'");
        if (roi->numel != 2 * na)
            return oc_fail(a->d, "'roi' has %lld entries, expected %d (starts and ends of %d dims)",
                           (long long)roi->numel, 2 * na, na);
        for (int i = 0; i < na; i++) {
            g[p->axes[i]].roi_s = get_f(roi, i);
            g[p->axes[i]].roi_e = get_f(roi, na + i);
        }
    }
    return 0;
}

/* Input coordinate of output coordinate x in one dim. */
static double source_coord(int coord, double x, int64_t in, int64_t out, const dim_geom *g)
{
    double len = (double)in;
    switch (coord) {
    case OC_COORD_ALIGN_CORNERS:
        return g->out_w == 1.0 ? 0.0 : x * (len - 1) / (g->out_w - 1);
    case OC_COORD_ASYMMETRIC:
        return x / g->scale;
    case OC_COORD_TF_CROP_AND_RESIZE: {
        double span = (g->roi_e - g->roi_s) * (len - 1);
        double v = g->out_w == 1.0 ? span / 2 : x * span / (g->out_w - 1);
        return v + g->roi_s * (len - 1);
    }
    case OC_COORD_PYTORCH_HALF_PIXEL:
        return g->out_w == 1.0 ? -0.5 : (x + 0.5) / g->scale - 0.5;
    case OC_COORD_HALF_PIXEL_SYMMETRIC: {
        /* the centre of the implicit roi maps to the centre of the output */
        double adjustment = (double)out / g->out_w;
        double offset = len / 2 * (1 - adjustment);
        return offset + (x + 0.5) / g->scale - 0.5;
    }
    default: /* half_pixel */
        return (x + 0.5) / g->scale - 0.5;
    }
}

/* Keys cubic convolution kernel at distance t (A = cubic_coeff_a). */
static double cubic_kernel(double t, double A)
{
    t = fabs(t);
    if (t <= 1)
        return ((A + 2) * t - (A + 3)) * t * t + 1;
    if (t < 2)
        return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    return 0;
}

static int64_t clamp_idx(int64_t i, int64_t in) { return i < 0 ? 0 : i >= in ? in - 1 : i; }

/* Taps of every output coordinate of one dim. */
static int build_taps(const oc_kargs *a, const oc_resize_params *p, int r, const dim_geom *g, oc_tap *taps,
                      int32_t *cnt, uint8_t *outside)
{
    int64_t in = a->in[0]->dims[r], out = a->out[0]->dims[r], cap = p->cap[r];
    for (int64_t o = 0; o < out; o++) {
        oc_tap *t = taps + o * cap;
        double x = source_coord(p->coord, (double)o, in, out, g);
        outside[o] = 0;
        cnt[o] = 0;
        if (p->coord == OC_COORD_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1))) {
            outside[o] = 1; /* TF CropAndResize returns extrapolation_value */
            continue;
        }
        double fl = floor(x);
        if (p->mode == OC_RESIZE_NEAREST) {
            int64_t i;
            if (p->nearest == OC_NEAREST_SIMPLE) {
                i = (int64_t)(g->scale < 1 ? ceil(x) : fl);
            } else if (x == fl) {
                i = (int64_t)x;
            } else {
                double ratio = x - fl;
                int up;
                switch (p->nearest) {
                case OC_NEAREST_ROUND_PREFER_CEIL: up = ratio >= 0.5; break;
                case OC_NEAREST_FLOOR: up = 0; break;
                case OC_NEAREST_CEIL: up = 1; break;
                default: up = ratio > 0.5; break;
                }
                i = (int64_t)fl + up;
            }
            t[0].idx = clamp_idx(i, in);
            t[0].w = 1.0;
            cnt[o] = 1;
            continue;
        }
        /* x_ori = base + ratio with ratio in (0, 1]: an integer x_ori takes
         * the point on its left as base, as the reference does */
        int64_t base = x == fl ? (int64_t)fl - 1 : (int64_t)fl;
        double ratio = x == fl ? 1.0 : x - fl;
        double s = g->scale < 1 ? g->scale : 1.0; /* antialias widens only when downsampling */
        double sup = p->mode == OC_RESIZE_CUBIC ? 2.0 : 1.0;
        /* taps at base + j for j in [start, start + n) */
        int64_t start = p->antialias ? (int64_t)floor(-sup / s) + 1 : 1 - (int64_t)sup;
        int64_t n = 2 - 2 * start;
        if (n > cap)
            return oc_fail(a->d, "resize dim %d needs %lld taps, planned for %lld", r, (long long)n, (long long)cap);
        double sum = 0;
        for (int64_t k = 0; k < n; k++) {
            int64_t j = start + k;
            double w;
            if (p->antialias && p->mode == OC_RESIZE_CUBIC) {
                w = cubic_kernel(s * ((double)j - ratio), p->cubic_a);
            } else if (p->antialias) {
                double v = 1 - fabs(((double)j - ratio) * s);
                w = v < 0 ? 0 : v > 1 ? 1 : v;
            } else if (p->mode == OC_RESIZE_CUBIC) {
                w = cubic_kernel((double)j - ratio, p->cubic_a);
            } else {
                w = j == 0 ? 1 - ratio : ratio;
            }
            int64_t idx = base + j;
            if (p->exclude_outside && (idx < 0 || idx >= in))
                w = 0;
            t[k].idx = idx;
            t[k].w = w;
            sum += w;
        }
        /* antialias kernels are normalized; exclude_outside renormalizes */
        int norm = p->antialias || p->exclude_outside;
        int m = 0;
        for (int64_t k = 0; k < n; k++) {
            if (t[k].w == 0)
                continue; /* drop zero taps (integer x_ori, cubic zeros) */
            t[m].idx = clamp_idx(t[k].idx, in);
            t[m].w = norm ? t[k].w / sum : t[k].w;
            m++;
        }
        cnt[o] = m;
    }
    return 0;
}

static double load(const void *x, int dt, int64_t i)
{
    return dt == OC_DOUBLE ? ((const double *)x)[i] : (double)((const float *)x)[i];
}

/* Sum over dims r.. of the taps' tensor product (offset and weight so far). */
static double gather(const oc_tap *const *tp, const int32_t *const *cnt, const int64_t *cap, const int64_t *o,
                     const int64_t *stride, int r, int rank, int64_t off, double w, const void *x, int dt)
{
    if (r == rank)
        return w * load(x, dt, off);
    const oc_tap *t = tp[r] + o[r] * cap[r];
    int32_t n = cnt[r][o[r]];
    double acc = 0;
    for (int32_t k = 0; k < n; k++)
        acc += gather(tp, cnt, cap, o, stride, r + 1, rank, off + t[k].idx * stride[r], w * t[k].w, x, dt);
    return acc;
}

int oc_resize_forward(const oc_kargs *a)
{
    const oc_resize_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int rank = p->rank;
    if (y->numel == 0)
        return 0;
    if (x->numel == 0)
        return oc_fail(a->d, "cannot resize an empty input to a non-empty output");
    dim_geom g[OC_MAX_RANK];
    if (resolve_geometry(a, p, g))
        return -1;
    /* carve the tap tables out of scratch */
    oc_tap *tp[OC_MAX_RANK];
    int32_t *cnt[OC_MAX_RANK];
    uint8_t *outside[OC_MAX_RANK];
    unsigned char *s = a->scratch;
    for (int r = 0; r < rank; r++) {
        tp[r] = (oc_tap *)(void *)s;
        s += (size_t)y->dims[r] * (size_t)p->cap[r] * sizeof(oc_tap);
    }
    for (int r = 0; r < rank; r++) {
        cnt[r] = (int32_t *)(void *)s;
        s += (size_t)y->dims[r] * sizeof(int32_t);
    }
    for (int r = 0; r < rank; r++) {
        outside[r] = s;
        s += (size_t)y->dims[r];
    }
    for (int r = 0; r < rank; r++)
        if (build_taps(a, p, r, &g[r], tp[r], cnt[r], outside[r]))
            return -1;
    int64_t stride[OC_MAX_RANK], o[OC_MAX_RANK] = {0};
    int64_t st = 1;
    for (int r = rank - 1; r >= 0; r--) {
        stride[r] = st;
        st *= x->dims[r];
    }
    size_t es = oc_dtype_size(p->dtype);
    const oc_tap *const *ctp = (const oc_tap *const *)tp;
    const int32_t *const *ccnt = (const int32_t *const *)cnt;
    for (int64_t i = 0; i < y->numel; i++) {
        int out = 0;
        for (int r = 0; r < rank; r++)
            out |= outside[r][o[r]];
        if (p->mode == OC_RESIZE_NEAREST && !out) {
            /* one tap per dim: a copy, exact for every element type */
            int64_t off = 0;
            for (int r = 0; r < rank; r++)
                off += tp[r][o[r] * p->cap[r]].idx * stride[r];
            memcpy((char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)off * es, es);
        } else {
            double v = out ? p->extrapolation
                           : gather(ctp, ccnt, p->cap, o, stride, 0, rank, 0, 1.0, x->data, p->dtype);
            if (p->dtype == OC_DOUBLE)
                ((double *)y->data)[i] = v;
            else if (p->dtype == OC_FLOAT)
                ((float *)y->data)[i] = (float)v;
            else
                return oc_fail(a->d, "extrapolation needs a float type, got %s", oc_dtype_name(p->dtype));
        }
        for (int r = rank - 1; r >= 0; r--) {
            if (++o[r] < y->dims[r])
                break;
            o[r] = 0;
        }
    }
    return 0;
}

/* DepthToSpace DCR: y[n, c, h*b + i, w*b + j] = x[n, (i*b + j) * C' + c, h, w];
 * CRD: x[n, c*b*b + i*b + j, h, w]; SpaceToDepth is the inverse of DCR:
 * y[n, (i*b + j) * C + c, h, w] = x[n, c, h*b + i, w*b + j]. */
int oc_depth_space_forward(const oc_kargs *a)
{
    const oc_depth_space_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int64_t b = p->block;
    size_t es = p->esize;
    const char *xs = x->data;
    char *ys = y->data;
    if (p->kind == OC_S2D) {
        int64_t N = x->dims[0], C = x->dims[1], H = y->dims[2], W = y->dims[3], Hi = x->dims[2], Wi = x->dims[3];
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < b; i++)
                for (int64_t j = 0; j < b; j++)
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t h = 0; h < H; h++)
                            for (int64_t w = 0; w < W; w++) {
                                int64_t yo = ((n * (C * b * b) + (i * b + j) * C + c) * H + h) * W + w;
                                int64_t xo = ((n * C + c) * Hi + h * b + i) * Wi + w * b + j;
                                memcpy(ys + (size_t)yo * es, xs + (size_t)xo * es, es);
                            }
        return 0;
    }
    int64_t N = y->dims[0], C = y->dims[1], Ho = y->dims[2], Wo = y->dims[3], H = x->dims[2], W = x->dims[3];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t ho = 0; ho < Ho; ho++)
                for (int64_t wo = 0; wo < Wo; wo++) {
                    int64_t h = ho / b, i = ho % b, w = wo / b, j = wo % b;
                    int64_t xc = p->kind == OC_D2S_DCR ? (i * b + j) * C + c : c * b * b + i * b + j;
                    int64_t yo = ((n * C + c) * Ho + ho) * Wo + wo;
                    int64_t xo = ((n * (C * b * b) + xc) * H + h) * W + w;
                    memcpy(ys + (size_t)yo * es, xs + (size_t)xo * es, es);
                }
    return 0;
}
