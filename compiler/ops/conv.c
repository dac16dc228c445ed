/* conv.c: Conv and ConvTranspose (ONNX opset 1..22): attribute checks,
 * shape rules and MAC counts. Layout NC[D]HW, weights [M, C/group, k...]
 * for Conv and [C, M/group, k...] for ConvTranspose. */
#include "op.h"

#include <string.h>

static int kernel_of(oc_infer *cx, const oc_value *w, int nsp, int64_t *k)
{
    const int64_t *ks;
    int nk = oc_attr_ints(oc_infer_node(cx), "kernel_shape", &ks);
    if (nk >= 0 && nk != nsp)
        return oc_infer_fail(cx, "'kernel_shape' has %d entries for %d spatial dims", nk, nsp);
    for (int i = 0; i < nsp; i++) {
        k[i] = nk >= 0 ? ks[i] : w->dims[2 + i];
        if (nk >= 0 && w->dims[2 + i] >= 0 && ks[i] != w->dims[2 + i])
            return oc_infer_fail(cx, "'kernel_shape' %lld differs from weight dim %lld", (long long)ks[i],
                                 (long long)w->dims[2 + i]);
        if (k[i] < 0)
            return oc_infer_fail(cx, "weight '%s' has an unknown kernel size", w->name);
    }
    return 0;
}

static int infer_conv(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *w = oc_infer_in_ranked(cx, 1);
    if (!x || !w)
        return -1;
    char a[256], b[256];
    if (x->rank < 3 || w->rank != x->rank)
        return oc_infer_fail(cx, "expected X of rank >= 3 and W of the same rank, got X %s and W %s",
                             oc_format_dims(a, sizeof a, x->dims, x->rank),
                             oc_format_dims(b, sizeof b, w->dims, w->rank));
    int nsp = x->rank - 2;
    int64_t group = oc_attr_int(n, "group", 1);
    if (group < 1)
        return oc_infer_fail(cx, "group must be >= 1, got %lld", (long long)group);
    if (x->dims[1] >= 0 && w->dims[1] >= 0 && x->dims[1] != w->dims[1] * group)
        return oc_infer_fail(cx, "input has %lld channels but weight %s with group %lld expects %lld",
                             (long long)x->dims[1], oc_format_dims(a, sizeof a, w->dims, w->rank),
                             (long long)group, (long long)(w->dims[1] * group));
    if (w->dims[0] >= 0 && w->dims[0] % group)
        return oc_infer_fail(cx, "%lld output channels do not divide into %lld groups",
                             (long long)w->dims[0], (long long)group);
    oc_value *bias = oc_infer_in(cx, 2);
    if (bias && bias->rank >= 0 && (bias->rank != 1 || (bias->dims[0] >= 0 && w->dims[0] >= 0 &&
                                                         bias->dims[0] != w->dims[0])))
        return oc_infer_fail(cx, "bias %s does not match %lld output channels",
                             oc_format_dims(a, sizeof a, bias->dims, bias->rank), (long long)w->dims[0]);
    int64_t k[OC_MAX_SPATIAL];
    if (kernel_of(cx, w, nsp, k))
        return -1;
    oc_window win;
    if (oc_window_resolve(n, nsp, x->dims + 2, k, 0, &win, cx->d))
        return -1;
    int64_t dims[OC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = w->dims[0];
    memcpy(dims + 2, win.out, sizeof(int64_t) * (size_t)nsp);
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int64_t macs_conv(const oc_graph *g, const oc_node *n)
{
    const oc_value *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
    int64_t out = oc_value_numel(y), wk = 1;
    if (out < 0 || w->rank < 2 || w->dims[0] <= 0)
        return -1;
    for (int i = 1; i < w->rank; i++)
        wk *= w->dims[i]; /* C/group * k... per output element */
    return out * wk;
}

static int infer_conv_transpose(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *w = oc_infer_in_ranked(cx, 1);
    if (!x || !w)
        return -1;
    char a[256], b[256];
    if (x->rank < 3 || w->rank != x->rank)
        return oc_infer_fail(cx, "expected X of rank >= 3 and W of the same rank, got X %s and W %s",
                             oc_format_dims(a, sizeof a, x->dims, x->rank),
                             oc_format_dims(b, sizeof b, w->dims, w->rank));
    int nsp = x->rank - 2;
    int64_t group = oc_attr_int(n, "group", 1);
    if (group < 1)
        return oc_infer_fail(cx, "group must be >= 1, got %lld", (long long)group);
    if (x->dims[1] >= 0 && w->dims[0] >= 0 && x->dims[1] != w->dims[0])
        return oc_infer_fail(cx, "input has %lld channels but weight %s expects %lld",
                             (long long)x->dims[1], oc_format_dims(a, sizeof a, w->dims, w->rank),
                             (long long)w->dims[0]);
    int64_t k[OC_MAX_SPATIAL];
    if (kernel_of(cx, w, nsp, k))
        return -1;
    const int64_t *strides, *dil, *pads, *opad, *oshape;
    int ns = oc_attr_ints(n, "strides", &strides), nd = oc_attr_ints(n, "dilations", &dil);
    int np = oc_attr_ints(n, "pads", &pads), nop = oc_attr_ints(n, "output_padding", &opad);
    int nos = oc_attr_ints(n, "output_shape", &oshape);
    const char *auto_pad = oc_attr_string(n, "auto_pad", "NOTSET");
    if ((ns >= 0 && ns != nsp) || (nd >= 0 && nd != nsp) || (np >= 0 && np != 2 * nsp) ||
        (nop >= 0 && nop != nsp))
        return oc_infer_fail(cx, "strides/dilations/pads/output_padding lengths do not match %d spatial dims",
                             nsp);
    if (nos >= 0 && nos != nsp && nos != x->rank)
        return oc_infer_fail(cx, "'output_shape' has %d entries for %d spatial dims", nos, nsp);
    int64_t dims[OC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = w->dims[1] >= 0 ? w->dims[1] * group : -1;
    for (int i = 0; i < nsp; i++) {
        int64_t s = ns >= 0 ? strides[i] : 1, dl = nd >= 0 ? dil[i] : 1;
        int64_t op = nop >= 0 ? opad[i] : 0;
        if (s < 1 || dl < 1 || op < 0)
            return oc_infer_fail(cx, "stride/dilation must be >= 1 and output_padding >= 0");
        int64_t in = x->dims[2 + i];
        if (nos >= 0) {
            dims[2 + i] = oshape[nos == nsp ? i : 2 + i];
        } else if (in < 0) {
            dims[2 + i] = -1;
        } else if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
            dims[2 + i] = in * s;
        } else {
            int64_t pb = (np >= 0 && strcmp(auto_pad, "VALID") != 0) ? pads[i] : 0;
            int64_t pe = (np >= 0 && strcmp(auto_pad, "VALID") != 0) ? pads[i + nsp] : 0;
            dims[2 + i] = s * (in - 1) + op + (k[i] - 1) * dl + 1 - pb - pe;
        }
        if (dims[2 + i] < -1 || (in >= 0 && dims[2 + i] < 0))
            return oc_infer_fail(cx, "spatial dim %d would be negative", i);
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int64_t macs_conv_transpose(const oc_graph *g, const oc_node *n)
{
    const oc_value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
    int64_t in = oc_value_numel(x), wk = 1;
    if (in < 0 || w->rank < 2 || x->dims[1] <= 0)
        return -1;
    for (int i = 1; i < w->rank; i++)
        wk *= w->dims[i]; /* M/group * k... per input element */
    return in * wk;
}

const oc_op oc_ops_conv[] = {
    {"Conv", 2, 3, 1, 1, infer_conv, macs_conv, 0},
    {"ConvTranspose", 2, 3, 1, 1, infer_conv_transpose, macs_conv_transpose, 0},
    {0},
};
