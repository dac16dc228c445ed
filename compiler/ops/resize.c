/* resize.c: ops that change spatial extents by a factor: Resize (opset 10,
 * 11, 13, 18, 19), Upsample (opset 7, 9) and the block rearrangements
 * DepthToSpace and SpaceToDepth. Shape rules and lowering; the kernels are
 * runtime/kernels/resize.c.
 *
 * Resize's output extent per dim is floor(in * scale) from `scales`, or
 * `sizes` directly; opset 18 adds `axes` (which dims scales/sizes name) and
 * keep_aspect_ratio_policy, where one scale min/max(sizes[i] / in[i]) is
 * applied to every named dim and rounded: roundf(scale * in). The float
 * arithmetic is single precision, as in the ONNX reference shape rules, so
 * that results agree at the boundaries (e.g. 4 * 0.6f). */
#include "op.h"

#include <math.h>
#include <string.h>

#include "../../runtime/kernels/resize.h"

/* Largest extent a scale may produce; beyond it the float -> int
 * conversion would overflow (the element-count check catches the rest). */
#define MAX_EXTENT 4.0e18f

/* floor(in * scale) in float, as ONNX computes it; -1 for unknown in,
 * -2 when out of range. */
static int64_t scaled_extent(int64_t in, float scale)
{
    if (in < 0)
        return -1;
    float v = floorf((float)in * scale);
    return v >= 0 && v <= MAX_EXTENT ? (int64_t)v : -2;
}

/* Float list from constant input k: count, -1 absent (or an empty
 * tensor, which older exporters use for "not given"), -2 not constant. */
static int const_floats(oc_infer *cx, int k, float *out, int cap)
{
    oc_value *v = oc_infer_in(cx, k);
    if (!v || (v->rank == 1 && v->dims[0] == 0))
        return -1;
    if (!v->constant)
        return -2;
    const oc_tensor *t = v->constant;
    if (t->numel == 0)
        return -1;
    if (t->rank != 1 || t->numel > cap)
        return oc_infer_fail(cx, "input %d '%s' must be a 1-D list of at most %d scales", k, v->name, cap), -3;
    for (int64_t i = 0; i < t->numel; i++)
        out[i] = (float)oc_tensor_get_f64(t, i);
    return (int)t->numel;
}

/* Input k is given (present and not an empty tensor). */
static int given(oc_infer *cx, int k)
{
    oc_value *v = oc_infer_in(cx, k);
    return v && !(v->rank == 1 && v->dims[0] == 0) && !(v->constant && v->constant->numel == 0);
}

/* Every dim unknown, rank kept: for scales or sizes known only at run time. */
static int rank_only(oc_infer *cx, const oc_value *x)
{
    int64_t dims[OC_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = -1;
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int apply_scales(oc_infer *cx, const oc_value *x, int ns, const float *scales, int na,
                        const int *axes)
{
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    if (ns != na)
        return oc_infer_fail(cx, "'scales' has %d entries for %d resized dims", ns, na);
    for (int i = 0; i < ns; i++) {
        if (!(scales[i] > 0) || scales[i] > 1e9f)
            return oc_infer_fail(cx, "scale %g for dim %d must be positive", (double)scales[i], axes[i]);
        dims[axes[i]] = scaled_extent(x->dims[axes[i]], scales[i]);
        if (dims[axes[i]] == -2)
            return oc_infer_fail(cx, "scale %g makes dim %d too large", (double)scales[i], axes[i]);
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int infer_resize(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int opset = (int)cx->g->opset;
    /* the dims scales/sizes refer to: all, or the 'axes' attribute (18+) */
    int axes[OC_MAX_RANK], na = x->rank;
    const int64_t *ax;
    int nax = opset >= 18 ? oc_attr_ints(n, "axes", &ax) : -1;
    if (nax > x->rank)
        return oc_infer_fail(cx, "'axes' has %d entries for rank %d", nax, x->rank);
    if (nax >= 0) {
        int seen = 0;
        na = nax;
        for (int i = 0; i < nax; i++) {
            if (oc_infer_axis(cx, ax[i], x->rank, &axes[i]))
                return -1;
            if (seen & (1 << axes[i]))
                return oc_infer_fail(cx, "axis %d is named twice in 'axes'", axes[i]);
            seen |= 1 << axes[i];
        }
    } else {
        for (int i = 0; i < x->rank; i++)
            axes[i] = i;
    }
    float scales[OC_MAX_RANK];
    if (opset < 11) { /* X, scales */
        int ns = const_floats(cx, 1, scales, OC_MAX_RANK);
        if (ns == -3)
            return -1;
        if (ns == -1)
            return oc_infer_fail(cx, "needs 'scales'");
        if (ns == -2)
            return rank_only(cx, x);
        return apply_scales(cx, x, ns, scales, na, axes);
    }
    /* X, roi, scales, sizes: exactly one of scales and sizes */
    int has_scales = given(cx, 2), has_sizes = given(cx, 3);
    if (has_scales == has_sizes)
        return oc_infer_fail(cx, "exactly one of 'scales' and 'sizes' must be given");
    if (has_scales) {
        int ns = const_floats(cx, 2, scales, OC_MAX_RANK);
        if (ns == -3)
            return -1;
        if (ns < 0)
            return rank_only(cx, x);
        return apply_scales(cx, x, ns, scales, na, axes);
    }
    int64_t sizes[OC_MAX_RANK];
    int nz = oc_infer_const_ints(cx, 3, sizes, OC_MAX_RANK);
    if (nz == -3)
        return -1;
    if (nz < 0)
        return rank_only(cx, x);
    if (nz != na)
        return oc_infer_fail(cx, "'sizes' has %d entries for %d resized dims", nz, na);
    for (int i = 0; i < nz; i++)
        if (sizes[i] < 0)
            return oc_infer_fail(cx, "size %lld for dim %d is negative", (long long)sizes[i], axes[i]);
    const char *policy = opset >= 18 ? oc_attr_string(n, "keep_aspect_ratio_policy", "stretch") : "stretch";
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    if (strcmp(policy, "stretch") == 0) {
        for (int i = 0; i < nz; i++)
            dims[axes[i]] = sizes[i];
        return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
    }
    int larger = strcmp(policy, "not_smaller") == 0;
    if (!larger && strcmp(policy, "not_larger") != 0)
        return oc_infer_fail(cx, "unknown keep_aspect_ratio_policy '%s'", policy);
    /* one scale for all named dims, so the aspect ratio is kept */
    float scale = larger ? 0.0f : INFINITY;
    int unknown = 0;
    for (int i = 0; i < nz; i++) {
        int64_t in = x->dims[axes[i]];
        if (in <= 0) {
            unknown |= in < 0;
            if (in == 0)
                return oc_infer_fail(cx, "cannot keep the aspect ratio of a zero-size dim %d", axes[i]);
            continue;
        }
        float s = (float)sizes[i] / (float)in;
        scale = larger ? (s > scale ? s : scale) : (s < scale ? s : scale);
    }
    for (int i = 0; i < nz; i++) {
        float v = roundf(scale * (float)x->dims[axes[i]]);
        if (!unknown && !(v >= 0 && v <= MAX_EXTENT))
            return oc_infer_fail(cx, "sizes make dim %d too large", axes[i]);
        dims[axes[i]] = unknown ? -1 : (int64_t)v;
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

/* Upsample: scales is an attribute in opset 7, input 1 from opset 9. */
static int infer_upsample(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    float scales[OC_MAX_RANK];
    int ns, axes[OC_MAX_RANK];
    const oc_attr *a = oc_node_attr(n, "scales");
    if (a) {
        if (a->type != OC_ATTR_FLOATS || a->n > OC_MAX_RANK)
            return oc_infer_fail(cx, "'scales' must be a list of at most %d floats", OC_MAX_RANK);
        ns = a->n;
        memcpy(scales, a->floats, sizeof(float) * (size_t)ns);
    } else {
        ns = const_floats(cx, 1, scales, OC_MAX_RANK);
        if (ns == -3)
            return -1;
        if (ns == -1)
            return oc_infer_fail(cx, "needs 'scales' (an attribute before opset 9, an input after)");
        if (ns == -2)
            return rank_only(cx, x);
    }
    for (int i = 0; i < x->rank; i++)
        axes[i] = i;
    return apply_scales(cx, x, ns, scales, x->rank, axes);
}

/* DepthToSpace: [N, C, H, W] -> [N, C / b^2, H * b, W * b];
 * SpaceToDepth the inverse. */
static int infer_depth_space(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank != 4)
        return oc_infer_fail(cx, "expected a 4-D input (N, C, H, W), got rank %d", x->rank);
    if (!oc_node_attr(n, "blocksize"))
        return oc_infer_fail(cx, "needs attribute 'blocksize'");
    int64_t b = oc_attr_int(n, "blocksize", 0);
    if (b < 1 || b > (1 << 16))
        return oc_infer_fail(cx, "blocksize %lld must be in [1, 65536]", (long long)b);
    int64_t bb = b * b, dims[4];
    dims[0] = x->dims[0];
    if (strcmp(n->op_type, "DepthToSpace") == 0) {
        const char *mode = oc_attr_string(n, "mode", "DCR");
        if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
            return oc_infer_fail(cx, "mode must be DCR or CRD, got '%s'", mode);
        if (x->dims[1] >= 0 && x->dims[1] % bb)
            return oc_infer_fail(cx, "%lld channels are not divisible by blocksize^2 = %lld", (long long)x->dims[1],
                                 (long long)bb);
        dims[1] = x->dims[1] < 0 ? -1 : x->dims[1] / bb;
        for (int i = 2; i < 4; i++)
            dims[i] = x->dims[i] < 0 ? -1 : x->dims[i] * b;
    } else {
        for (int i = 2; i < 4; i++) {
            if (x->dims[i] >= 0 && x->dims[i] % b)
                return oc_infer_fail(cx, "spatial dim %d (%lld) is not divisible by blocksize %lld", i,
                                     (long long)x->dims[i], (long long)b);
            dims[i] = x->dims[i] < 0 ? -1 : x->dims[i] / b;
        }
        dims[1] = x->dims[1] < 0 ? -1 : x->dims[1] * bb;
    }
    return oc_infer_set_out(cx, 0, x->dtype, 4, dims);
}

/* ---- lowering ---- */

/* Index of name in list (NULL-terminated), -1 when absent. */
static int pick(const char *name, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(name, list[i]) == 0)
            return i;
    return -1;
}

/* Taps per output coordinate in each dim: 1 / 2 / 4 for nearest / linear
 * / cubic; antialias widens linear and cubic by 1 / scale when
 * downsampling. The run-time scale s of a dim satisfies s * in >= out - 0.5
 * (floor of scales, or sizes rounded half up), and the kernel takes
 * 2 * ceil(support / min(s, 1)) taps, which bounds the table. */
static int resize_caps(const oc_resize_params *p, const oc_value *x, const oc_value *y, int64_t *cap, oc_diag *d)
{
    double sup = p->mode == OC_RESIZE_CUBIC ? 2.0 : 1.0;
    for (int r = 0; r < x->rank; r++) {
        cap[r] = p->mode == OC_RESIZE_NEAREST ? 1 : (int64_t)(2 * sup);
        if (p->antialias && p->mode != OC_RESIZE_NEAREST && y->dims[r] > 0) {
            double smin = ((double)y->dims[r] - 0.5) / (double)x->dims[r] * (1 - 1e-6);
            double c = 2 * ceil(sup / (smin < 1 ? smin : 1)) + 2;
            if (!(c < 1e9))
                return oc_fail(d, "antialias over dim %d (%lld -> %lld) needs too many taps", r,
                               (long long)x->dims[r], (long long)y->dims[r]);
            if ((int64_t)c > cap[r])
                cap[r] = (int64_t)c;
        }
    }
    size_t bytes = oc_resize_scratch(x->rank, y->dims, cap);
    if (bytes > (size_t)OC_MAX_TENSOR_BYTES)
        return oc_fail(d, "interpolation tables would take %zu bytes", bytes);
    return 0;
}

/* Shared by Resize and Upsample once the op-specific fields are set. */
static int finish_resize(const oc_graph *g, const oc_node *n, oc_resize_params *p, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    p->dtype = x->dtype;
    p->rank = x->rank;
    if (x->rank < 1 || !oc_dtype_size(x->dtype))
        return oc_fail(d, "cannot resize a %d-D %s tensor", x->rank, oc_dtype_name(x->dtype));
    int fl = x->dtype == OC_FLOAT || x->dtype == OC_DOUBLE;
    if (!fl && (p->mode != OC_RESIZE_NEAREST || p->coord == OC_COORD_TF_CROP_AND_RESIZE))
        return oc_fail(d, "linear, cubic and tf_crop_and_resize support float32 and float64 only, got %s",
                       oc_dtype_name(x->dtype));
    if (resize_caps(p, x, y, p->cap, d))
        return -1;
    p->scratch = oc_resize_scratch(x->rank, y->dims, p->cap);
    lw->scratch = p->scratch;
    lw->fn = oc_resize_forward;
    return 0;
}

static int lower_resize(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                         "align_corners", "asymmetric", "tf_crop_and_resize", NULL};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller", NULL};
    const oc_value *x = &g->values[n->in[0]];
    int opset = (int)g->opset;
    oc_resize_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    const char *mode = oc_attr_string(n, "mode", "nearest");
    if ((p->mode = pick(mode, modes)) < 0 || (opset < 11 && p->mode == OC_RESIZE_CUBIC))
        return oc_fail(d, "unknown mode '%s'", mode);
    p->in_roi = p->in_scales = p->in_sizes = -1;
    if (opset < 11) { /* X, scales; asymmetric coordinates (as Upsample) */
        p->in_scales = 1;
        p->coord = OC_COORD_ASYMMETRIC;
        p->nearest = OC_NEAREST_SIMPLE;
    } else {
        p->in_roi = 1;
        p->in_scales = 2;
        p->in_sizes = 3;
        const char *c = oc_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        const char *nm = oc_attr_string(n, "nearest_mode", "round_prefer_floor");
        if ((p->coord = pick(c, coords)) < 0 || (opset < 19 && p->coord == OC_COORD_HALF_PIXEL_SYMMETRIC))
            return oc_fail(d, "unknown coordinate_transformation_mode '%s'", c);
        if ((p->nearest = pick(nm, nearests)) < 0)
            return oc_fail(d, "unknown nearest_mode '%s'", nm);
        p->cubic_a = oc_attr_float(n, "cubic_coeff_a", -0.75f);
        p->exclude_outside = oc_attr_int(n, "exclude_outside", 0) != 0;
        p->extrapolation = oc_attr_float(n, "extrapolation_value", 0.0f);
    }
    p->n_axes = x->rank;
    for (int i = 0; i < x->rank; i++)
        p->axes[i] = i;
    if (opset >= 18) {
        const char *pol = oc_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        if ((p->policy = pick(pol, policies)) < 0)
            return oc_fail(d, "unknown keep_aspect_ratio_policy '%s'", pol);
        p->antialias = oc_attr_int(n, "antialias", 0) != 0 && p->mode != OC_RESIZE_NEAREST;
        const int64_t *ax;
        int nax = oc_attr_ints(n, "axes", &ax);
        if (nax > x->rank)
            return oc_fail(d, "'axes' has %d entries for rank %d", nax, x->rank);
        if (nax >= 0) {
            p->n_axes = nax;
            for (int i = 0; i < nax; i++) {
                int64_t a = ax[i] < 0 ? ax[i] + x->rank : ax[i];
                if (a < 0 || a >= x->rank)
                    return oc_fail(d, "axis %lld is out of range for rank %d", (long long)ax[i], x->rank);
                p->axes[i] = (int)a;
            }
        }
    }
    return finish_resize(g, n, p, lw, d);
}

/* Upsample (7, 9): nearest or (bi)linear with asymmetric coordinates. */
static int lower_upsample(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_resize_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    const char *mode = oc_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        p->mode = OC_RESIZE_NEAREST;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0)
        p->mode = OC_RESIZE_LINEAR;
    else
        return oc_fail(d, "unknown mode '%s'", mode);
    p->coord = OC_COORD_ASYMMETRIC;
    p->nearest = OC_NEAREST_SIMPLE;
    p->in_roi = p->in_sizes = -1;
    p->in_scales = 1;
    p->n_axes = x->rank;
    for (int i = 0; i < x->rank; i++)
        p->axes[i] = i;
    const oc_attr *a = oc_node_attr(n, "scales");
    if (a) {
        if (a->type != OC_ATTR_FLOATS || a->n != x->rank)
            return oc_fail(d, "'scales' must list %d floats", x->rank);
        p->n_attr_scales = a->n;
        memcpy(p->attr_scales, a->floats, sizeof(float) * (size_t)a->n);
    }
    return finish_resize(g, n, p, lw, d);
}

static int lower_depth_space(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_depth_space_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (!(p->esize = oc_dtype_size(x->dtype)))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(x->dtype));
    p->block = oc_attr_int(n, "blocksize", 1);
    if (strcmp(n->op_type, "SpaceToDepth") == 0)
        p->kind = OC_S2D;
    else
        p->kind = strcmp(oc_attr_string(n, "mode", "DCR"), "CRD") == 0 ? OC_D2S_CRD : OC_D2S_DCR;
    lw->fn = oc_depth_space_forward;
    return 0;
}

const oc_op oc_ops_resize[] = {
    {"Resize", 1, 4, 1, 1, infer_resize, NULL, 0, (1u << 1) | (1u << 2) | (1u << 3), lower_resize},
    {"Upsample", 1, 2, 1, 1, infer_upsample, NULL, 0, 1u << 1, lower_upsample},
    {"DepthToSpace", 1, 1, 1, 1, infer_depth_space, NULL, 0, 0, lower_depth_space},
    {"SpaceToDepth", 1, 1, 1, 1, infer_depth_space, NULL, 0, 0, lower_depth_space},
    {0},
};
