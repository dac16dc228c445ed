/* spatial.c: ops that sample or rearrange images by coordinates:
 * GridSample (opset 16, 20, 22), AffineGrid (20), RoiAlign (10, 16, 22),
 * DeformConv (19, 22), Col2Im (18), MaxUnpool (9, 11, 22) and
 * CenterCropPad (18). Shape rules and lowering; the kernels are
 * runtime/kernels/spatial.c.
 *
 * Inputs that decide an output extent (AffineGrid's size, Col2Im's
 * image_shape and block_shape, MaxUnpool's output_shape, CenterCropPad's
 * shape) give the extents here when they are constants; otherwise the
 * model's declared output shape does, and the kernels check the data. */
#include "op.h"

#include <string.h>

#include "../../runtime/kernels/spatial.h"

static int is_real_type(int dt) { return dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_FLOAT16 || dt == OC_BFLOAT16; }

/* Float element types only (dtype 0 = not known yet). */
static int check_real(oc_infer *cx, const oc_value *v, const char *what)
{
    if (v->dtype && !is_real_type(v->dtype))
        return oc_infer_fail(cx, "%s of type %s is not supported (float types only)", what, oc_dtype_name(v->dtype));
    return 0;
}

static int pick(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Integer list from constant input k into v (at most cap): count, or -1
 * when the input is absent or not constant, -3 on error. */
static int const_list(oc_infer *cx, int k, int64_t *v, int cap)
{
    int c = oc_infer_const_ints(cx, k, v, cap);
    return c == -2 ? -1 : c;
}

/* Entry count of 1-D input k from its static shape, -1 when unknown. */
static int64_t list_len(oc_infer *cx, int k)
{
    oc_value *v = oc_infer_in(cx, k);
    return v && v->rank == 1 ? v->dims[0] : -1;
}

/* Prefixes a diagnostic from a lowering helper with the node's label. */
static int infer_prefix(oc_infer *cx)
{
    char lb[300];
    oc_diag_prefix(cx->d, "%s: ", oc_node_label(oc_infer_node(cx), lb, sizeof lb));
    return -1;
}

/* ---- GridSample ---- */

static int infer_grid_sample(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *g = oc_infer_in_ranked(cx, 1);
    if (!x || !g)
        return -1;
    int k = x->rank - 2;
    if (k < 1 || k > OC_SPATIAL_MAX || g->rank != x->rank || (g->dims[k + 1] >= 0 && g->dims[k + 1] != k))
        return oc_infer_fail(cx, "expects X [N, C, D1..Dk] and grid [N, O1..Ok, k] with 1 <= k <= %d", OC_SPATIAL_MAX);
    if (check_real(cx, x, "X") || check_real(cx, g, "grid"))
        return -1;
    int64_t dims[OC_MAX_RANK] = {x->dims[0] >= 0 ? x->dims[0] : g->dims[0], x->dims[1]};
    for (int i = 0; i < k; i++)
        dims[2 + i] = g->dims[1 + i];
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int lower_grid_sample(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    /* opset 16 spells bilinear / bicubic, opset 20 linear / cubic */
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear", "bicubic", NULL};
    static const char *const pads[] = {"zeros", "border", "reflection", NULL};
    oc_grid_sample_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    const char *m = oc_attr_string(n, "mode", g->opset >= 20 ? "linear" : "bilinear");
    const char *pm = oc_attr_string(n, "padding_mode", "zeros");
    int mi = pick(m, modes);
    if (mi < 0)
        return oc_fail(d, "unknown mode '%s'", m);
    p->mode = mi == 3 ? OC_GRID_LINEAR : mi == 4 ? OC_GRID_CUBIC : mi;
    if ((p->padding = pick(pm, pads)) < 0)
        return oc_fail(d, "unknown padding_mode '%s'", pm);
    p->align_corners = oc_attr_int(n, "align_corners", 0) != 0;
    lw->fn = oc_grid_sample_forward;
    return 0;
}

/* ---- AffineGrid ---- */

static int infer_affine_grid(oc_infer *cx)
{
    oc_value *th = oc_infer_in_ranked(cx, 0);
    if (!th)
        return -1;
    if (check_real(cx, th, "theta"))
        return -1;
    int64_t len = list_len(cx, 1), sz[5];
    if (len != 4 && len != 5)
        return oc_infer_fail(cx, "size must be a 1-D tensor of 4 ([N, C, H, W]) or 5 ([N, C, D, H, W]) entries");
    int nd = (int)len - 2;
    if (th->rank != 3 || (th->dims[1] >= 0 && th->dims[1] != nd) || (th->dims[2] >= 0 && th->dims[2] != nd + 1))
        return oc_infer_fail(cx, "theta must be [N, %d, %d] for %d-D grids", nd, nd + 1, nd);
    int64_t dims[5] = {th->dims[0], -1, -1, -1, -1};
    int c = const_list(cx, 1, sz, 5);
    if (c == -3)
        return -1;
    if (c == len) {
        for (int i = 0; i < (int)len; i++)
            if (sz[i] < 0)
                return oc_infer_fail(cx, "size has a negative entry");
        if (th->dims[0] >= 0 && sz[0] != th->dims[0])
            return oc_infer_fail(cx, "size N = %lld but theta has %lld", (long long)sz[0], (long long)th->dims[0]);
        dims[0] = sz[0];
        for (int i = 0; i < nd; i++)
            dims[1 + i] = sz[2 + i];
    }
    dims[nd + 1] = nd;
    return oc_infer_set_out(cx, 0, th->dtype, nd + 2, dims);
}

static int lower_affine_grid(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_affine_grid_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->align_corners = oc_attr_int(n, "align_corners", 0) != 0;
    lw->fn = oc_affine_grid_forward;
    return 0;
}

/* ---- RoiAlign ---- */

static int infer_roi_align(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *r = oc_infer_in_ranked(cx, 1), *b = oc_infer_in_ranked(cx, 2);
    if (!x || !r || !b)
        return -1;
    if (x->rank != 4 || r->rank != 2 || (r->dims[1] >= 0 && r->dims[1] != 4) || b->rank != 1)
        return oc_infer_fail(cx, "expects X [N, C, H, W], rois [R, 4] and batch_indices [R]");
    if (check_real(cx, x, "X") || check_real(cx, r, "rois"))
        return -1;
    if (r->dims[0] >= 0 && b->dims[0] >= 0 && r->dims[0] != b->dims[0])
        return oc_infer_fail(cx, "%lld rois but %lld batch indices", (long long)r->dims[0], (long long)b->dims[0]);
    int64_t oh = oc_attr_int(n, "output_height", 1), ow = oc_attr_int(n, "output_width", 1);
    if (oh < 1 || ow < 1 || oh > (1 << 24) || ow > (1 << 24))
        return oc_infer_fail(cx, "output_height and output_width must be in [1, 2^24]");
    int64_t dims[4] = {r->dims[0] >= 0 ? r->dims[0] : b->dims[0], x->dims[1], oh, ow};
    return oc_infer_set_out(cx, 0, x->dtype, 4, dims);
}

static int lower_roi_align(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_roi_align_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    const char *m = oc_attr_string(n, "mode", "avg");
    /* opset 10 has no coordinate_transformation_mode: output_half_pixel */
    const char *ct = oc_attr_string(n, "coordinate_transformation_mode", g->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(m, "avg") && strcmp(m, "max"))
        return oc_fail(d, "unknown mode '%s'", m);
    if (strcmp(ct, "half_pixel") && strcmp(ct, "output_half_pixel"))
        return oc_fail(d, "unknown coordinate_transformation_mode '%s'", ct);
    p->max_mode = strcmp(m, "max") == 0;
    p->half_pixel = strcmp(ct, "half_pixel") == 0;
    p->sampling_ratio = oc_attr_int(n, "sampling_ratio", 0);
    p->spatial_scale = oc_attr_float(n, "spatial_scale", 1.0f);
    if (p->sampling_ratio < 0 || p->sampling_ratio > 4096)
        return oc_fail(d, "sampling_ratio %lld is outside [0, 4096]", (long long)p->sampling_ratio);
    lw->fn = oc_roi_align_forward;
    return 0;
}

/* ---- DeformConv ---- */

/* Kernel extent from the attribute or W; resolved window into w. */
static int deform_window(const oc_node *n, const oc_value *x, const oc_value *wv, oc_window *w, oc_diag *d)
{
    int64_t k[2] = {wv->dims[2], wv->dims[3]};
    const int64_t *ks;
    int nk = oc_attr_ints(n, "kernel_shape", &ks);
    if (nk >= 0) {
        if (nk != 2)
            return oc_fail(d, "kernel_shape has %d entries for 2 spatial dims", nk);
        for (int i = 0; i < 2; i++) {
            if (k[i] >= 0 && ks[i] != k[i])
                return oc_fail(d, "kernel_shape %lld does not match W's %lld", (long long)ks[i], (long long)k[i]);
            k[i] = ks[i];
        }
    }
    return oc_window_resolve(n, 2, x->dims + 2, k, 0, w, d);
}

static int infer_deform_conv(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *w = oc_infer_in_ranked(cx, 1), *of = oc_infer_in_ranked(cx, 2);
    if (!x || !w || !of)
        return -1;
    if (x->rank != 4 || w->rank != 4 || of->rank != 4)
        return oc_infer_fail(cx, "only 2-D DeformConv is supported (X, W and offset of rank 4)");
    if (check_real(cx, x, "X") || check_real(cx, w, "W") || check_real(cx, of, "offset"))
        return -1;
    oc_window win;
    if (deform_window(n, x, w, &win, cx->d))
        return -1;
    int64_t dims[4] = {x->dims[0], w->dims[0], win.out[0], win.out[1]};
    return oc_infer_set_out(cx, 0, x->dtype, 4, dims);
}

static int lower_deform_conv(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]], *of = &g->values[n->in[2]];
    const oc_value *b = n->n_in > 3 && n->in[3] >= 0 ? &g->values[n->in[3]] : NULL;
    const oc_value *m = n->n_in > 4 && n->in[4] >= 0 ? &g->values[n->in[4]] : NULL;
    const oc_value *y = &g->values[n->out[0]];
    oc_deform_conv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    oc_window win;
    if (deform_window(n, x, w, &win, d))
        return -1;
    p->group = oc_attr_int(n, "group", 1);
    p->offset_group = oc_attr_int(n, "offset_group", 1);
    int64_t C = x->dims[1], M = w->dims[0];
    if (p->group < 1 || p->offset_group < 1 || C % p->group || M % p->group || C % p->offset_group ||
        w->dims[1] * p->group != C)
        return oc_fail(d, "channels (X %lld, W %lld x %lld) do not split into group %lld / offset_group %lld",
                       (long long)C, (long long)M, (long long)w->dims[1], (long long)p->group, (long long)p->offset_group);
    int64_t taps = p->offset_group * win.k[0] * win.k[1];
    if (of->dims[0] != x->dims[0] || of->dims[1] != taps * 2 || of->dims[2] != win.out[0] || of->dims[3] != win.out[1])
        return oc_fail(d, "offset must be [N, %lld, %lld, %lld]", (long long)(taps * 2), (long long)win.out[0],
                       (long long)win.out[1]);
    if (m && (m->rank != 4 || m->dims[0] != x->dims[0] || m->dims[1] != taps || m->dims[2] != win.out[0] ||
              m->dims[3] != win.out[1]))
        return oc_fail(d, "mask must be [N, %lld, %lld, %lld]", (long long)taps, (long long)win.out[0],
                       (long long)win.out[1]);
    if (b && oc_value_numel(b) != M)
        return oc_fail(d, "B must hold %lld values", (long long)M);
    if (y->dims[2] != win.out[0] || y->dims[3] != win.out[1])
        return oc_fail(d, "the window gives %lld x %lld outputs; the plan has %lld x %lld", (long long)win.out[0],
                       (long long)win.out[1], (long long)y->dims[2], (long long)y->dims[3]);
    for (int i = 0; i < 2; i++) {
        p->k[i] = win.k[i];
        p->s[i] = win.s[i];
        p->dil[i] = win.dil[i];
        p->pb[i] = win.pb[i];
    }
    lw->fn = oc_deform_conv_forward;
    return 0;
}

static int64_t macs_deform_conv(const oc_graph *g, const oc_node *n)
{
    const oc_value *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
    int64_t out = oc_value_numel(y), wk = oc_value_numel(w);
    if (out < 0 || wk < 0 || w->dims[0] <= 0)
        return -1;
    return out * (wk / w->dims[0]);
}

/* ---- Col2Im ---- */

/* Spatial attribute list (dilations, strides: default 1; pads: 0), n or
 * 2n entries. */
static int spatial_attr(const oc_node *n, const char *name, int cnt, int64_t dflt, int64_t lo, int64_t *out, oc_diag *d)
{
    const int64_t *v;
    int c = oc_attr_ints(n, name, &v);
    if (c >= 0 && c != cnt)
        return oc_fail(d, "'%s' has %d entries; expected %d", name, c, cnt);
    for (int i = 0; i < cnt; i++) {
        out[i] = c >= 0 ? v[i] : dflt;
        if (out[i] < lo || out[i] > (1 << 30))
            return oc_fail(d, "'%s' entry %lld is outside [%lld, 2^30]", name, (long long)out[i], (long long)lo);
    }
    return 0;
}

static int infer_col2im(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t k = list_len(cx, 1), img[OC_SPATIAL_MAX], blk[OC_SPATIAL_MAX];
    if (x->rank != 3)
        return oc_infer_fail(cx, "input must be [N, C * prod(block_shape), L]");
    if (k < 1 || k > OC_SPATIAL_MAX || list_len(cx, 2) != k)
        return oc_infer_fail(cx, "image_shape and block_shape must be 1-D with the same length in [1, %d]",
                             OC_SPATIAL_MAX);
    int64_t dims[OC_MAX_RANK] = {x->dims[0], -1};
    for (int i = 0; i < k; i++)
        dims[2 + i] = -1;
    int ci = const_list(cx, 1, img, OC_SPATIAL_MAX), cb = const_list(cx, 2, blk, OC_SPATIAL_MAX);
    if (ci == -3 || cb == -3)
        return -1;
    if (ci == k)
        for (int i = 0; i < k; i++) {
            if (img[i] < 1)
                return oc_infer_fail(cx, "image_shape entries must be positive");
            dims[2 + i] = img[i];
        }
    if (cb == k && x->dims[1] >= 0) {
        int64_t bl = 1;
        for (int i = 0; i < k; i++) {
            if (blk[i] < 1 || blk[i] > (1 << 30))
                return oc_infer_fail(cx, "block_shape entries must be in [1, 2^30]");
            bl *= blk[i];
            if (bl > x->dims[1])
                return oc_infer_fail(cx, "block_shape holds more than the %lld input rows", (long long)x->dims[1]);
        }
        if (x->dims[1] % bl)
            return oc_infer_fail(cx, "input dim 1 (%lld) is not a multiple of the block size %lld",
                                 (long long)x->dims[1], (long long)bl);
        dims[1] = x->dims[1] / bl;
    }
    return oc_infer_set_out(cx, 0, x->dtype, (int)k + 2, dims);
}

static int lower_col2im(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *is = &g->values[n->in[1]];
    oc_col2im_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (is->rank != 1 || is->dims[0] < 1 || is->dims[0] > OC_SPATIAL_MAX)
        return oc_fail(d, "image_shape must be 1-D with 1 to %d entries", OC_SPATIAL_MAX);
    p->nsp = (int)is->dims[0];
    int64_t pads[2 * OC_SPATIAL_MAX];
    if (spatial_attr(n, "dilations", p->nsp, 1, 1, p->dil, d) || spatial_attr(n, "strides", p->nsp, 1, 1, p->s, d) ||
        spatial_attr(n, "pads", 2 * p->nsp, 0, 0, pads, d))
        return -1;
    for (int i = 0; i < p->nsp; i++) {
        p->pb[i] = pads[i];
        p->pe[i] = pads[p->nsp + i];
    }
    lw->fn = oc_col2im_forward;
    return 0;
}

/* ---- MaxUnpool ---- */

/* Unpooled extents (in - 1) * s - pads + k of X's spatial dims. */
static int unpool_geometry(const oc_node *n, const oc_value *x, oc_max_unpool_params *p, int64_t *dims, oc_diag *d)
{
    p->nsp = x->rank - 2;
    if (p->nsp < 1 || p->nsp > OC_SPATIAL_MAX)
        return oc_fail(d, "X must have rank 3 to %d", OC_MAX_RANK);
    int64_t pads[2 * OC_SPATIAL_MAX];
    const int64_t *ks;
    if (oc_attr_ints(n, "kernel_shape", &ks) != p->nsp)
        return oc_fail(d, "needs kernel_shape with %d entries", p->nsp);
    if (spatial_attr(n, "kernel_shape", p->nsp, 1, 1, p->k, d) || spatial_attr(n, "strides", p->nsp, 1, 1, p->s, d) ||
        spatial_attr(n, "pads", 2 * p->nsp, 0, 0, pads, d))
        return -1;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < p->nsp; i++) {
        p->pb[i] = pads[i];
        p->pe[i] = pads[p->nsp + i];
        int64_t in = x->dims[2 + i];
        dims[2 + i] = in < 0 ? -1 : (in - 1) * p->s[i] - p->pb[i] - p->pe[i] + p->k[i];
        if (in > ((int64_t)1 << 31) || (in >= 0 && dims[2 + i] < 0))
            return oc_fail(d, "spatial dim %d gives a negative or huge unpooled extent", i);
    }
    return 0;
}

static int infer_max_unpool(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *ix = oc_infer_in_ranked(cx, 1), *os = oc_infer_in(cx, 2);
    if (!x || !ix)
        return -1;
    if (ix->rank != x->rank)
        return oc_infer_fail(cx, "I must have X's shape");
    if (ix->dtype && ix->dtype != OC_INT64)
        return oc_infer_fail(cx, "I must be int64");
    oc_max_unpool_params p;
    int64_t dims[OC_MAX_RANK];
    if (unpool_geometry(oc_infer_node(cx), x, &p, dims, cx->d))
        return infer_prefix(cx);
    if (os) {
        int64_t v[OC_MAX_RANK];
        int c = const_list(cx, 2, v, OC_MAX_RANK);
        if (c == -3)
            return -1;
        for (int i = 0; i < x->rank; i++)
            dims[i] = c == x->rank ? v[i] : -1;
        if (c >= 0 && c != x->rank)
            return oc_infer_fail(cx, "output_shape has %d entries for a rank-%d input", c, x->rank);
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int lower_max_unpool(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_max_unpool_params *p = oc_lower_params(lw, sizeof *p, d);
    int64_t dims[OC_MAX_RANK];
    if (!p || unpool_geometry(n, x, p, dims, d))
        return -1;
    if (!oc_dtype_size(x->dtype))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(x->dtype));
    lw->fn = oc_max_unpool_forward;
    return 0;
}

/* ---- CenterCropPad ---- */

/* Normalized, distinct axes (all dims when the attribute is absent). */
static int crop_axes(const oc_node *n, int rank, int *axes, oc_diag *d)
{
    const int64_t *v;
    int c = oc_attr_ints(n, "axes", &v);
    if (c < 0) {
        for (int i = 0; i < rank; i++)
            axes[i] = i;
        return rank;
    }
    if (c > rank)
        return oc_fail(d, "'axes' has %d entries for a rank-%d input", c, rank), -1;
    for (int i = 0; i < c; i++) {
        if (v[i] < -rank || v[i] >= rank)
            return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)v[i], rank, rank), -1;
        axes[i] = (int)(v[i] < 0 ? v[i] + rank : v[i]);
        for (int j = 0; j < i; j++)
            if (axes[j] == axes[i])
                return oc_fail(d, "axis %d is named twice", axes[i]), -1;
    }
    return c;
}

static int infer_center_crop_pad(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int axes[OC_MAX_RANK], na = crop_axes(oc_infer_node(cx), x->rank, axes, cx->d);
    if (na < 0)
        return infer_prefix(cx);
    int64_t sl = list_len(cx, 1), v[OC_MAX_RANK], dims[OC_MAX_RANK];
    if (sl >= 0 && sl != na)
        return oc_infer_fail(cx, "shape has %lld entries for %d axes", (long long)sl, na);
    int c = const_list(cx, 1, v, OC_MAX_RANK);
    if (c == -3)
        return -1;
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < na; i++) {
        if (c == na && v[i] < 0)
            return oc_infer_fail(cx, "shape entry %lld is negative", (long long)v[i]);
        dims[axes[i]] = c == na ? v[i] : -1;
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int lower_center_crop_pad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_center_crop_pad_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if ((p->n_axes = crop_axes(n, x->rank, p->axes, d)) < 0)
        return -1;
    if (!(p->es = (int)oc_dtype_size(x->dtype)))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(x->dtype));
    lw->fn = oc_center_crop_pad_forward;
    return 0;
}

const oc_op oc_ops_spatial[] = {
    {"GridSample", 2, 2, 1, 1, infer_grid_sample, NULL, 0, 0, lower_grid_sample},
    {"AffineGrid", 2, 2, 1, 1, infer_affine_grid, NULL, 0, 1u << 1, lower_affine_grid},
    {"RoiAlign", 3, 3, 1, 1, infer_roi_align, NULL, 0, 0, lower_roi_align},
    {"DeformConv", 3, 5, 1, 1, infer_deform_conv, macs_deform_conv, 0, 0, lower_deform_conv},
    {"Col2Im", 3, 3, 1, 1, infer_col2im, NULL, 0, (1u << 1) | (1u << 2), lower_col2im},
    {"MaxUnpool", 2, 3, 1, 1, infer_max_unpool, NULL, 0, 1u << 2, lower_max_unpool},
    {"CenterCropPad", 2, 2, 1, 1, infer_center_crop_pad, NULL, 0, 1u << 1, lower_center_crop_pad},
    {0},
};
