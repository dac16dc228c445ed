/* spatial.c: GridSample, AffineGrid, RoiAlign, DeformConv, Col2Im,
 * MaxUnpool and CenterCropPad; see spatial.h. Naive reference kernels:
 * one output element at a time, coordinates in double. */
#include "spatial.h"

#include <math.h>
#include <string.h>

#include "shape_ops.h"

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++)
        p *= d[i];
    return p;
}

static double get(const oc_tensor *t, int64_t i) { return oc_elem_get_f64(t->dtype, t->data, i); }
static void set(oc_tensor *t, int64_t i, double v) { oc_elem_set_f64(t->dtype, t->data, i, v); }

/* Checks the planned output dims against the ones the data asks for. */
static int check_out(const oc_kargs *a, const oc_tensor *y, int rank, const int64_t *want)
{
    if (y->rank == rank && memcmp(y->dims, want, sizeof(int64_t) * (size_t)rank) == 0)
        return 0;
    char g[160], w[160];
    return oc_fail(a->d, "the data gives output %s; the plan has %s", oc_format_dims(w, sizeof w, want, rank),
                   oc_format_dims(g, sizeof g, y->dims, y->rank));
}

/* Reads a 1-D integer shape input of exactly n entries into v. */
static int shape_input(const oc_kargs *a, const oc_tensor *t, const char *what, int n, int64_t *v)
{
    if (t->numel != n || (t->dtype != OC_INT64 && t->dtype != OC_INT32))
        return oc_fail(a->d, "'%s' must hold %d int64 values, got %lld of %s", what, n, (long long)t->numel,
                       oc_dtype_name(t->dtype));
    for (int i = 0; i < n; i++)
        v[i] = oc_index_get(t, i);
    return 0;
}

/* ---------------------------------------------------------------- GridSample */

/* Reflect x into [lo, hi] by folding at the borders (PyTorch's
 * reflect_coordinates on a float range). */
static double reflect(double x, double lo, double hi)
{
    double rng = hi - lo;
    if (!(rng > 0))
        return lo;
    if (x < lo) {
        double dx = lo - x;
        double n = floor(dx / rng), r = dx - n * rng;
        return fmod(n, 2.0) == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double dx = x - hi;
        double n = floor(dx / rng), r = dx - n * rng;
        return fmod(n, 2.0) == 0 ? hi - r : lo + r;
    }
    return x;
}

typedef struct grid_geom {
    int k;                           /* spatial dims */
    const int64_t *dims;             /* their extents */
    double lo[OC_SPATIAL_MAX], hi[OC_SPATIAL_MAX];
    int padding;
} grid_geom;

/* Integer pixel index i of dim d after padding; -1 when it reads zero. */
static int64_t pixel_index(const grid_geom *g, int d, int64_t i)
{
    int64_t n = g->dims[d];
    if (g->padding == OC_GRID_ZEROS)
        return i >= 0 && i < n ? i : -1;
    if (g->padding == OC_GRID_BORDER)
        return i < 0 ? 0 : i >= n ? n - 1 : i;
    int64_t r = (int64_t)reflect((double)i, g->lo[d], g->hi[d]);
    return r < 0 ? 0 : r >= n ? n - 1 : r;
}

static void cubic_coeffs(double t, double c[4])
{
    const double A = -0.75;
    double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
    c[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
    c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
    c[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

int oc_grid_sample_forward(const oc_kargs *a)
{
    const oc_grid_sample_params *p = a->p;
    const oc_tensor *x = a->in[0], *grid = a->in[1];
    oc_tensor *y = a->out[0];
    int k = x->rank - 2;
    if (k < 1 || k > OC_SPATIAL_MAX || grid->rank != k + 2 || grid->dims[k + 1] != k || grid->dims[0] != x->dims[0])
        return oc_fail(a->d, "grid must be [N, out..., %d] for a rank-%d input", k, x->rank);
    int64_t want[OC_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < k; i++)
        want[2 + i] = grid->dims[1 + i];
    if (check_out(a, y, x->rank, want))
        return -1;
    grid_geom g = {.k = k, .dims = x->dims + 2, .padding = p->padding};
    for (int d = 0; d < k; d++) {
        g.lo[d] = p->align_corners ? 0 : -0.5;
        g.hi[d] = p->align_corners ? (double)g.dims[d] - 1 : (double)g.dims[d] - 0.5;
    }
    int taps = p->mode == OC_GRID_NEAREST ? 1 : p->mode == OC_GRID_LINEAR ? 2 : 4;
    int64_t npts = prod(grid->dims, 1, k + 1), plane = prod(x->dims, 2, x->rank), total_taps = 1;
    for (int d = 0; d < k; d++)
        total_taps *= taps;
    for (int64_t n = 0; n < x->dims[0]; n++)
        for (int64_t q = 0; q < npts; q++) {
            /* per dim: first tap index and tap weights */
            int64_t base[OC_SPATIAL_MAX];
            double w[OC_SPATIAL_MAX][4];
            for (int d = 0; d < k; d++) {
                double gv = get(grid, (n * npts + q) * k + (k - 1 - d)), len = (double)g.dims[d];
                double c = p->align_corners ? (gv + 1) / 2 * (len - 1) : ((gv + 1) * len - 1) / 2;
                if (p->mode == OC_GRID_NEAREST)
                    c = nearbyint(c); /* half to even, as PyTorch */
                if (c < g.lo[d] || c > g.hi[d]) {
                    if (p->padding == OC_GRID_BORDER)
                        c = c < 0 ? 0 : c > len - 1 ? len - 1 : c;
                    else if (p->padding == OC_GRID_REFLECTION)
                        c = reflect(c, g.lo[d], g.hi[d]);
                }
                /* zeros padding: far outside (or NaN) reads zero whatever the
                 * taps; keeping c small keeps the integer casts defined */
                if (!(c > -4 && c < len + 3))
                    c = -8;
                if (p->mode == OC_GRID_NEAREST) {
                    base[d] = (int64_t)c;
                    w[d][0] = 1;
                } else {
                    double f = floor(c), t = c - f;
                    if (p->mode == OC_GRID_LINEAR) {
                        base[d] = (int64_t)f;
                        w[d][0] = 1 - t;
                        w[d][1] = t;
                    } else {
                        base[d] = (int64_t)f - 1;
                        cubic_coeffs(t, w[d]);
                    }
                }
            }
            for (int64_t ch = 0; ch < x->dims[1]; ch++) {
                int64_t xoff = (n * x->dims[1] + ch) * plane;
                double acc = 0;
                for (int64_t tap = 0; tap < total_taps; tap++) {
                    int64_t rem = tap, off = 0;
                    double wt = 1;
                    for (int d = k - 1; d >= 0; d--) {
                        int j = (int)(rem % taps);
                        rem /= taps;
                        int64_t idx = pixel_index(&g, d, base[d] + j);
                        if (idx < 0) {
                            off = -1;
                            break;
                        }
                        wt *= w[d][j];
                        off += idx * prod(g.dims, d + 1, k);
                    }
                    if (off >= 0)
                        acc += wt * get(x, xoff + off);
                }
                set(y, ((n * x->dims[1] + ch) * npts) + q, acc);
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- AffineGrid */

/* Normalized coordinate of pixel i of an extent-n axis. */
static double base_coord(int64_t i, int64_t n, int align)
{
    if (align)
        return n > 1 ? -1.0 + 2.0 * (double)i / (double)(n - 1) : -1.0;
    return -1.0 + (2.0 * (double)i + 1.0) / (double)n;
}

int oc_affine_grid_forward(const oc_kargs *a)
{
    const oc_affine_grid_params *p = a->p;
    const oc_tensor *th = a->in[0], *sz = a->in[1];
    oc_tensor *y = a->out[0];
    int64_t s[5];
    int nd = (int)sz->numel - 2;
    if ((nd != 2 && nd != 3) || shape_input(a, sz, "size", nd + 2, s))
        return oc_fail(a->d, "size must be [N, C, H, W] or [N, C, D, H, W]");
    if (th->rank != 3 || th->dims[0] != s[0] || th->dims[1] != nd || th->dims[2] != nd + 1)
        return oc_fail(a->d, "theta must be [N, %d, %d] for size N = %lld", nd, nd + 1, (long long)s[0]);
    int64_t want[5] = {s[0]};
    for (int i = 0; i < nd; i++) {
        if (s[2 + i] < 0)
            return oc_fail(a->d, "size has a negative extent");
        want[1 + i] = s[2 + i];
    }
    want[nd + 1] = nd;
    if (check_out(a, y, nd + 2, want))
        return -1;
    int64_t D = nd == 3 ? s[2] : 1, H = s[nd], W = s[nd + 1], at = 0;
    for (int64_t n = 0; n < s[0]; n++)
        for (int64_t dz = 0; dz < D; dz++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    double v[4] = {base_coord(w, W, p->align_corners), base_coord(h, H, p->align_corners), 0, 0};
                    if (nd == 3)
                        v[2] = base_coord(dz, D, p->align_corners);
                    v[nd] = 1;
                    for (int r = 0; r < nd; r++) {
                        double acc = 0;
                        for (int c = 0; c <= nd; c++)
                            acc += get(th, (n * nd + r) * (nd + 1) + c) * v[c];
                        set(y, at++, acc);
                    }
                }
    return 0;
}

/* ---------------------------------------------------------------- RoiAlign */

/* Bilinear sample of one H x W plane at (yy, xx), as the ONNX reference
 * (and ONNX Runtime) compute it; the four weighted taps go to v[]. */
static void roi_taps(const oc_tensor *x, int64_t off, int64_t H, int64_t W, double yy, double xx, double v[4])
{
    v[0] = v[1] = v[2] = v[3] = 0;
    if (!(yy >= -1.0 && yy <= (double)H && xx >= -1.0 && xx <= (double)W)) /* NaN too */
        return;
    if (yy < 0)
        yy = 0;
    if (xx < 0)
        xx = 0;
    int64_t yl = (int64_t)yy, xl = (int64_t)xx, yh, xh;
    if (yl >= H - 1) {
        yh = yl = H - 1;
        yy = (double)yl;
    } else
        yh = yl + 1;
    if (xl >= W - 1) {
        xh = xl = W - 1;
        xx = (double)xl;
    } else
        xh = xl + 1;
    double ly = yy - (double)yl, lx = xx - (double)xl, hy = 1 - ly, hx = 1 - lx;
    v[0] = hy * hx * get(x, off + yl * W + xl);
    v[1] = hy * lx * get(x, off + yl * W + xh);
    v[2] = ly * hx * get(x, off + yh * W + xl);
    v[3] = ly * lx * get(x, off + yh * W + xh);
}

int oc_roi_align_forward(const oc_kargs *a)
{
    const oc_roi_align_params *p = a->p;
    const oc_tensor *x = a->in[0], *rois = a->in[1], *bi = a->in[2];
    oc_tensor *y = a->out[0];
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 || bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return oc_fail(a->d, "expects X [N, C, H, W], rois [R, 4] and batch_indices [R]");
    int64_t R = rois->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (y->rank != 4 || y->dims[0] != R || y->dims[1] != C)
        return oc_fail(a->d, "the plan's output does not match [R, C, oh, ow]");
    int64_t oh = y->dims[2], ow = y->dims[3];
    double off = p->half_pixel ? 0.5 : 0.0;
    for (int64_t r = 0; r < R; r++) {
        int64_t b = oc_index_get(bi, r);
        if (b < 0 || b >= x->dims[0])
            return oc_fail(a->d, "batch index %lld is outside [0, %lld)", (long long)b, (long long)x->dims[0]);
        double x0 = get(rois, r * 4) * p->spatial_scale - off, y0 = get(rois, r * 4 + 1) * p->spatial_scale - off;
        double x1 = get(rois, r * 4 + 2) * p->spatial_scale - off, y1 = get(rois, r * 4 + 3) * p->spatial_scale - off;
        double rw = x1 - x0, rh = y1 - y0;
        if (!p->half_pixel) {
            rw = rw > 1 ? rw : 1;
            rh = rh > 1 ? rh : 1;
        }
        double bh = rh / (double)oh, bw = rw / (double)ow;
        double gh_d = p->sampling_ratio > 0 ? (double)p->sampling_ratio : ceil(rh / (double)oh);
        double gw_d = p->sampling_ratio > 0 ? (double)p->sampling_ratio : ceil(rw / (double)ow);
        if (!(gh_d >= 0 && gw_d >= 0 && gh_d <= (double)(1 << 24) && gw_d <= (double)(1 << 24) &&
              gh_d * gw_d <= (double)(1 << 24))) /* each bounded too: 0 times 1e31 passes the product */
            return oc_fail(a->d, "roi %lld asks for an unreasonable sampling grid", (long long)r);
        int64_t gh = (int64_t)gh_d, gw = (int64_t)gw_d, count = gh * gw > 1 ? gh * gw : 1;
        for (int64_t c = 0; c < C; c++) {
            int64_t xoff = (b * C + c) * H * W;
            for (int64_t ph = 0; ph < oh; ph++)
                for (int64_t pw = 0; pw < ow; pw++) {
                    double acc = 0;
                    int first = 1;
                    for (int64_t iy = 0; iy < gh; iy++) {
                        double yy = y0 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                        for (int64_t ix = 0; ix < gw; ix++) {
                            double xx = x0 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw, v[4];
                            roi_taps(x, xoff, H, W, yy, xx, v);
                            if (p->max_mode) {
                                double m = fmax(fmax(v[0], v[1]), fmax(v[2], v[3]));
                                acc = first ? m : fmax(acc, m);
                                first = 0;
                            } else
                                acc += v[0] + v[1] + v[2] + v[3];
                        }
                    }
                    set(y, ((r * C + c) * oh + ph) * ow + pw, p->max_mode ? acc : acc / (double)count);
                }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- DeformConv */

/* Bilinear sample of an H x W plane at (h, w), zero outside. */
static double bilinear_zero(const oc_tensor *x, int64_t off, int64_t H, int64_t W, double h, double w)
{
    if (!(h > -1 && h < (double)H && w > -1 && w < (double)W))
        return 0;
    double fh = floor(h), fw = floor(w), th = h - fh, tw = w - fw, acc = 0;
    int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            int64_t hh = h0 + i, ww = w0 + j;
            if (hh < 0 || hh >= H || ww < 0 || ww >= W)
                continue;
            acc += (i ? th : 1 - th) * (j ? tw : 1 - tw) * get(x, off + hh * W + ww);
        }
    return acc;
}

int oc_deform_conv_forward(const oc_kargs *a)
{
    const oc_deform_conv_params *p = a->p;
    const oc_tensor *x = a->in[0], *wt = a->in[1], *of = a->in[2];
    const oc_tensor *bias = a->n_in > 3 ? a->in[3] : NULL, *mask = a->n_in > 4 ? a->in[4] : NULL;
    oc_tensor *y = a->out[0];
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], M = wt->dims[0];
    int64_t oh = y->dims[2], ow = y->dims[3], kh = p->k[0], kw = p->k[1];
    int64_t cpg = C / p->group, mpg = M / p->group, cpog = C / p->offset_group;
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++) {
            int64_t g = m / mpg;
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = bias ? get(bias, m) : 0;
                    for (int64_t ci = 0; ci < cpg; ci++) {
                        int64_t c = g * cpg + ci, og = c / cpog, xoff = (n * C + c) * H * W;
                        for (int64_t i = 0; i < kh; i++)
                            for (int64_t j = 0; j < kw; j++) {
                                int64_t tap = (og * kh + i) * kw + j;
                                int64_t ob = ((n * of->dims[1] + tap * 2) * oh + oy) * ow + ox;
                                double dy = get(of, ob), dx = get(of, ob + oh * ow);
                                double hh = (double)(oy * p->s[0] - p->pb[0] + i * p->dil[0]) + dy;
                                double ww = (double)(ox * p->s[1] - p->pb[1] + j * p->dil[1]) + dx;
                                double v = bilinear_zero(x, xoff, H, W, hh, ww);
                                if (mask)
                                    v *= get(mask, ((n * mask->dims[1] + tap) * oh + oy) * ow + ox);
                                acc += v * get(wt, ((m * cpg + ci) * kh + i) * kw + j);
                            }
                    }
                    set(y, ((n * M + m) * oh + oy) * ow + ox, acc);
                }
        }
    return 0;
}

/* ---------------------------------------------------------------- Col2Im */

int oc_col2im_forward(const oc_kargs *a)
{
    const oc_col2im_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int k = p->nsp;
    int64_t img[OC_SPATIAL_MAX], blk[OC_SPATIAL_MAX], cols[OC_SPATIAL_MAX];
    if (shape_input(a, a->in[1], "image_shape", k, img) || shape_input(a, a->in[2], "block_shape", k, blk))
        return -1;
    int64_t bl = 1, L = 1;
    for (int i = 0; i < k; i++) {
        if (img[i] < 1 || blk[i] < 1 || img[i] > ((int64_t)1 << 31) || blk[i] > ((int64_t)1 << 31))
            return oc_fail(a->d, "image_shape and block_shape must be positive");
        bl *= blk[i];
        int64_t span = p->dil[i] * (blk[i] - 1) + 1;
        cols[i] = (img[i] + p->pb[i] + p->pe[i] - span) / p->s[i] + 1;
        if (img[i] + p->pb[i] + p->pe[i] < span)
            return oc_fail(a->d, "block %lld does not fit the padded image %lld", (long long)span, (long long)img[i]);
        L *= cols[i];
    }
    if (x->rank != 3 || x->dims[1] % bl || x->dims[2] != L)
        return oc_fail(a->d, "input must be [N, C * %lld, %lld]", (long long)bl, (long long)L);
    int64_t C = x->dims[1] / bl, want[OC_MAX_RANK] = {x->dims[0], C};
    memcpy(want + 2, img, sizeof(int64_t) * (size_t)k);
    if (check_out(a, y, k + 2, want))
        return -1;
    if (y->numel)
        memset(y->data, 0, oc_tensor_nbytes(y));
    int64_t plane = prod(img, 0, k);
    for (int64_t nc = 0; nc < x->dims[0] * C; nc++)
        for (int64_t b = 0; b < bl; b++)
            for (int64_t l = 0; l < L; l++) {
                int64_t rb = b, rl = l, off = 0, stride = 1, ok = 1;
                for (int d = k - 1; d >= 0; d--) {
                    int64_t kb = rb % blk[d], cl = rl % cols[d];
                    rb /= blk[d];
                    rl /= cols[d];
                    int64_t pos = cl * p->s[d] - p->pb[d] + kb * p->dil[d];
                    if (pos < 0 || pos >= img[d]) {
                        ok = 0;
                        break;
                    }
                    off += pos * stride;
                    stride *= img[d];
                }
                if (ok) {
                    int64_t yo = nc * plane + off;
                    set(y, yo, get(y, yo) + get(x, (nc * bl + b) * L + l));
                }
            }
    return 0;
}

/* ---------------------------------------------------------------- MaxUnpool */

int oc_max_unpool_forward(const oc_kargs *a)
{
    const oc_max_unpool_params *p = a->p;
    const oc_tensor *x = a->in[0], *idx = a->in[1];
    const oc_tensor *os = a->n_in > 2 ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    int k = p->nsp, r = k + 2;
    if (x->rank != r || idx->rank != r || memcmp(x->dims, idx->dims, sizeof(int64_t) * (size_t)r))
        return oc_fail(a->d, "X and I must have the same rank-%d shape", r);
    int64_t inf[OC_MAX_RANK] = {x->dims[0], x->dims[1]}, want[OC_MAX_RANK];
    for (int i = 0; i < k; i++)
        inf[2 + i] = (x->dims[2 + i] - 1) * p->s[i] - (p->pb[i] + p->pe[i]) + p->k[i];
    memcpy(want, inf, sizeof want);
    if (os && os->numel) {
        if (shape_input(a, os, "output_shape", r, want))
            return -1;
        for (int i = 0; i < r; i++)
            if (want[i] < inf[i])
                return oc_fail(a->d, "output_shape dim %d (%lld) is smaller than the unpooled %lld", i,
                               (long long)want[i], (long long)inf[i]);
    }
    if (check_out(a, y, r, want))
        return -1;
    if (y->numel)
        memset(y->data, 0, oc_tensor_nbytes(y));
    int64_t inf_numel = prod(inf, 0, r);
    for (int64_t e = 0; e < x->numel; e++) {
        int64_t j = oc_index_get(idx, e);
        if (j < 0 || j >= inf_numel)
            return oc_fail(a->d, "index %lld is outside the unpooled tensor of %lld elements", (long long)j,
                           (long long)inf_numel);
        /* flat index in the unpooled shape -> the same position in y */
        int64_t off = 0, stride = 1, rem = j;
        for (int d = r - 1; d >= 0; d--) {
            off += (rem % inf[d]) * stride;
            rem /= inf[d];
            stride *= want[d];
        }
        set(y, off, get(x, e));
    }
    return 0;
}

/* ---------------------------------------------------------------- CenterCropPad */

int oc_center_crop_pad_forward(const oc_kargs *a)
{
    const oc_center_crop_pad_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int r = x->rank;
    int64_t sh[OC_MAX_RANK], want[OC_MAX_RANK], shift[OC_MAX_RANK] = {0};
    if (shape_input(a, a->in[1], "shape", p->n_axes, sh))
        return -1;
    memcpy(want, x->dims, sizeof want);
    for (int i = 0; i < p->n_axes; i++) {
        int ax = p->axes[i];
        if (sh[i] < 0)
            return oc_fail(a->d, "shape[%d] = %lld is negative", i, (long long)sh[i]);
        want[ax] = sh[i];
        /* output position o reads input o + shift (crop) or o - pad */
        shift[ax] = sh[i] < x->dims[ax] ? (x->dims[ax] - sh[i]) / 2 : -((sh[i] - x->dims[ax]) / 2);
    }
    if (check_out(a, y, r, want))
        return -1;
    size_t es = (size_t)p->es;
    for (int64_t e = 0; e < y->numel; e++) {
        int64_t rem = e, src = 0, stride = 1;
        for (int d = r - 1; d >= 0 && src >= 0; d--) {
            int64_t i = rem % y->dims[d] + shift[d];
            rem /= y->dims[d];
            if (i < 0 || i >= x->dims[d])
                src = -1;
            else {
                src += i * stride;
                stride *= x->dims[d];
            }
        }
        char *dst = (char *)y->data + (size_t)e * es;
        if (src < 0)
            memset(dst, 0, es);
        else
            memcpy(dst, (const char *)x->data + (size_t)src * es, es);
    }
    return 0;
}
