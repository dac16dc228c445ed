/* resize.c: ops that change spatial extents by a factor: Resize (opset 10,
 * 11, 13, 18, 19), Upsample (opset 7, 9) and the block rearrangements
 * DepthToSpace and SpaceToDepth. Shape rules only.
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

const oc_op oc_ops_resize[] = {
    {"Resize", 1, 4, 1, 1, infer_resize, NULL, 0, (1u << 1) | (1u << 2) | (1u << 3)},
    {"Upsample", 1, 2, 1, 1, infer_upsample, NULL, 0, 1u << 1},
    {"DepthToSpace", 1, 1, 1, 1, infer_depth_space, NULL, 0},
    {"SpaceToDepth", 1, 1, 1, 1, infer_depth_space, NULL, 0},
    {0},
};
