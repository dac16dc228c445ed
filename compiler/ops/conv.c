/* conv.c: Conv and ConvTranspose (ONNX opset 1..22): attribute checks,
 * shape rules and MAC counts. Layout NC[D]HW, weights [M, C/group, k...]
 * for Conv and [C, M/group, k...] for ConvTranspose. */
#include "op.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/conv.h"
#include "../../runtime/kernels/conv_depthwise.h"
#include "../../runtime/kernels/conv_direct.h"
#include "../../runtime/kernels/conv_ocblock.h"
#include "../../runtime/kernels/conv_winograd.h"
#include "../../runtime/kernels/sgemm.h"
#include "fused.h"

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
        if (s < 1 || dl < 1 || op < 0 || s > (1 << 30) || dl > (1 << 30) || op > (1 << 30) || k[i] > (1 << 30))
            return oc_infer_fail(cx, "stride/dilation must be in [1, 2^30] and output_padding in [0, 2^30]");
        int64_t in = x->dims[2 + i];
        if (nos >= 0) {
            dims[2 + i] = oshape[nos == nsp ? i : 2 + i];
        } else if (in < 0) {
            dims[2 + i] = -1;
        } else if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
            dims[2 + i] = in > INT64_MAX / s ? -2 : in * s;
        } else {
            int64_t pb = (np >= 0 && strcmp(auto_pad, "VALID") != 0) ? pads[i] : 0;
            int64_t pe = (np >= 0 && strcmp(auto_pad, "VALID") != 0) ? pads[i + nsp] : 0;
            if (pb < 0 || pe < 0 || pb > (1LL << 40) || pe > (1LL << 40) || in > (INT64_MAX / 8) / s)
                return oc_infer_fail(cx, "spatial dim %d: pads %lld/%lld or extent %lld out of range", i,
                                     (long long)pb, (long long)pe, (long long)in);
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

/* ---- lowering ---- */

/* Floor division by 2 (Python's t // 2), for the ConvTranspose pad split. */
static int64_t floor_half(int64_t t) { return t >= 0 ? t / 2 : -((-t + 1) / 2); }

/* Geometry both ops share: dtypes, batch, channels, group, extents. */
static int conv_lower_common(const oc_graph *g, const oc_node *n, oc_conv_params *p, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
    const oc_value *b = n->n_in > 2 && n->in[2] >= 0 ? &g->values[n->in[2]] : NULL;
    if (x->dtype != OC_FLOAT || w->dtype != OC_FLOAT || (b && b->dtype != OC_FLOAT))
        return oc_fail(d, "%s supports float32 only, got X %s, W %s", n->op_type, oc_dtype_name(x->dtype),
                       oc_dtype_name(w->dtype));
    p->nsp = x->rank - 2;
    if (p->nsp < 1 || p->nsp > OC_CONV_MAX_SPATIAL || y->rank != x->rank)
        return oc_fail(d, "%s: %d spatial dims; 1 to %d are supported", n->op_type, p->nsp, OC_CONV_MAX_SPATIAL);
    p->batch = x->dims[0];
    p->cin = x->dims[1];
    p->cout = y->dims[1];
    p->group = oc_attr_int(n, "group", 1);
    if (p->group < 1 || p->cin % p->group || p->cout % p->group)
        return oc_fail(d, "%lld input and %lld output channels do not divide into %lld groups",
                       (long long)p->cin, (long long)p->cout, (long long)p->group);
    for (int i = 0; i < p->nsp; i++) {
        p->in[i] = x->dims[2 + i];
        p->out[i] = y->dims[2 + i];
        p->k[i] = w->dims[2 + i];
    }
    return 0;
}

/* BLAS takes int sizes: every matrix extent must fit. */
static int blas_fits(const int64_t *v, int nv, oc_diag *d)
{
    for (int i = 0; i < nv; i++)
        if (v[i] < 0 || v[i] > INT_MAX)
            return oc_fail(d, "a GEMM extent of %lld exceeds the BLAS int range", (long long)v[i]);
    return 0;
}

static int64_t prod_n(const int64_t *v, int n)
{
    int64_t r = 1;
    for (int i = 0; i < n; i++)
        r *= v[i];
    return r;
}

/* Which Winograd variant a 3x3 stride-1 conv takes: 0 (im2col + SGEMM),
 * 2 for F(2x2, 3x3) or 4 for F(4x4, 3x3). Measured with `bench_kernels 5
 * conv` (Zen 5, one thread, pad 1, residual + Relu; tools/bench):
 *   F(4x4) beats im2col 1.6-2.7x from 16 channels up whenever the batch
 *   has 16 or more 4x4 tiles (ResNet layer1-3 and every VGG layer at
 *   batch 1, layer4 7x7 from batch 2; 14x14 b1 1.8x, 7x7 b8 1.8x), and
 *   beats F(2x2) there in that loop (F(2x2) 1.4-1.9x), though not in a
 *   model at 16 tiles (below).
 *   With fewer 4x4 tiles (7x7 at batch 1: 4 tiles, each 8x8 of which 49
 *   are kept) F(4x4) loses (0.55x: its 36 products have N = 4 columns and
 *   stream 4x W's bytes of U), F(2x2) still wins 1.14-1.24x (16 tiles).
 *   With 3 input channels (VGG's first layer) both lose (0.57x, 0.84x):
 *   the transforms cost more than the few multiplies they save.
 * A trained W (fixed = 0) is transformed at every run, a cost of P M C
 * that only the batch's tiles amortize: F(4x4)'s 36 transformed filters
 * need many more tiles than F(2x2)'s 16. Measured on ResNet-18's training
 * step at batch 8 (Zen 5, one thread, `onnxc bench --train full
 * --profile`, forward convs and their ConvTranspose data gradients):
 * F(4x4) wins at 56x56 and 28x28 (49+ tiles per image: 6 against 7.5-9
 * ms), F(2x2) at 14x14 and 7x7 (16 and 4 per image: 7.4 against 7.6-10
 * ms, 12.3 against 14.5 ms), and both beat im2col (17-26 ms there). The
 * rule counts tiles per image, not per batch, so that data-parallel ranks
 * (each with a part of the batch) run the same kernels as one process.
 * A trained ConvTranspose (the data gradient) at 7x7 took im2col, whose
 * GEMM multiplies all images at once (oc_conv_transpose_scratch), while
 * the SGEMM streamed Winograd's transformed filters slowly (ResNet-18
 * layer4 at batch 8, Zen 3, one thread: 31 ms against F(2x2)'s 39); since
 * the SGEMM prefetches A, F(2x2) wins there too (Zen 5, three layer4 data
 * gradients: 33 -> 27 ms on one thread, 20 -> 15-20 on two; F(4x4) 30-32).
 * In a model, unlike in bench_kernels' loop, the transformed filters are
 * not in cache: each run streams them from memory, F(4x4)'s 36 per input
 * and output channel against F(2x2)'s 16. With 16 4x4 tiles (14x14 at
 * batch 1) that stream is what F(4x4) waits on, so a constant W too takes
 * F(4x4) only from 32 tiles. In the model (Zen 5, 2 vCPUs; `onnxc bench
 * --profile`, ONNXC_CONV_WINOGRAD=4 against 2, best of 3 alternating
 * processes), F(4x4) / F(2x2) ms per layer at 14x14, batch 1: ResNet-50's
 * 256-channel layer3 0.70-0.75 / 0.70-0.75 on one thread, 0.52-0.58 /
 * 0.47-0.51 on two; ResNet-18's the same; VGG-16's 512-channel conv5
 * 3.08-3.18 / 2.58-2.62 on one thread (9.4 and 38 MB of F(4x4) filters);
 * with 32 tiles (7x7 at batch 8) F(4x4) still wins (ResNet-50 layer4
 * 7.1-7.4 / 7.7 one thread, 4.0-4.1 / 4.5-4.6 two), and with 49 (28x28
 * at batch 1) clearly (0.51-0.53 / 0.82 one thread).
 * ONNXC_CONV_WINOGRAD=0|2|4 forces a choice (measurements; read at each
 * lowering). */
static int conv_winograd_choice(const oc_conv_params *p, int fixed)
{
    const char *env = getenv("ONNXC_CONV_WINOGRAD");
    if (env && (!strcmp(env, "0") || !strcmp(env, "2") || !strcmp(env, "4")))
        return atoi(env);
    if (p->cin < 16 || p->cout < 16)
        return 0;
    int64_t tiles4 = p->batch * ((p->out[0] + 3) / 4) * ((p->out[1] + 3) / 4);
    int64_t tiles2 = p->batch * ((p->out[0] + 1) / 2) * ((p->out[1] + 1) / 2);
    if (!fixed) /* per image, so that data-parallel ranks (a smaller batch each) run the kernels one process would */
        return tiles4 / p->batch >= 32 ? 4 : tiles2 / p->batch >= 16 ? 2 : 0;
    return tiles4 >= 32 ? 4 : tiles2 >= 16 ? 2 : 0;
}

/* W (input 1) is a constant the planner prepares once (not trained). */
static int weight_is_fixed(const oc_graph *g, const oc_node *n)
{
    const oc_value *wv = &g->values[n->in[1]];
    return wv->constant && !(wv->flags & OC_VALUE_VARIABLE);
}

static int lower_conv(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_conv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || conv_lower_common(g, n, p, d))
        return -1;
    oc_window win;
    if (oc_window_resolve(n, p->nsp, p->in, p->k, 0, &win, d))
        return -1;
    int pointwise = 1;
    for (int i = 0; i < p->nsp; i++) {
        if (win.out[i] != p->out[i])
            return oc_fail(d, "Conv: window gives spatial extent %lld but the output has %lld",
                           (long long)win.out[i], (long long)p->out[i]);
        p->s[i] = win.s[i];
        p->dil[i] = win.dil[i];
        p->pb[i] = win.pb[i];
        pointwise &= p->k[i] == 1 && p->s[i] == 1 && win.pb[i] == 0 && win.pe[i] == 0;
    }
    p->pointwise = pointwise;
    int64_t ext[3] = {p->cout / p->group, prod_n(p->out, p->nsp), p->cin / p->group * prod_n(p->k, p->nsp)};
    if (blas_fits(ext, 3, d))
        return -1;
    /* Depthwise and few-channels-per-group convs (MobileNet) run direct:
     * im2col would multiply tiny matrices. Everything else is im2col (or
     * pointwise) + SGEMM. */
    if (oc_conv_depthwise_applicable(p)) {
        lw->fn = oc_conv_depthwise_forward;
        lw->tscratch = oc_conv_depthwise_tscratch(p);
        return 0;
    }
    /* Convs with few input channels (an image net's stem: 3 in) run direct
     * on AVX2 and AVX-512 (oc_conv_direct_chosen): MobileNet-v2's 3x3
     * stride-2 stem and ResNet's 7x7 one (figures there). */
    if (oc_conv_direct_chosen(p)) {
        lw->fn = oc_conv_direct_forward;
        lw->tscratch = oc_conv_direct_tscratch(p);
        return 0;
    }
    /* 3x3 stride-2 convs with a constant W run direct, vectorized over
     * output channels, on AVX-512 (oc_conv_ocblock_chosen). */
    int fixed = weight_is_fixed(g, n);
    if (fixed && oc_conv_ocblock_chosen(p)) {
        lw->fn = oc_conv_ocblock_forward;
        lw->scratch = oc_conv_ocblock_scratch(p);
        lw->tscratch = oc_conv_ocblock_tscratch(p);
        return 0;
    }
    /* 3x3 stride-1 convs run as Winograd when the choice rule
     * (conv_winograd_choice) says it beats im2col + SGEMM. A constant W is
     * transformed once at plan time; a trained one at every run, into
     * shared scratch. */
    int wm = oc_conv_winograd_applicable(p) ? conv_winograd_choice(p, fixed) : 0;
    if (wm) {
        lw->fn = wm == 4 ? oc_conv_winograd4_forward : oc_conv_winograd_forward;
        lw->tscratch = oc_conv_winograd_tscratch(p, wm);
        lw->scratch = fixed ? 0 : oc_conv_winograd_runtime_scratch(p, wm);
        return 0;
    }
    lw->fn = oc_conv_forward;
    lw->tscratch = oc_conv_thread_scratch(p);
    size_t col = oc_conv_scratch(p) <= OC_CONV_SHARED_COL_MAX ? oc_conv_scratch(p) : 0;
    lw->scratch = col;
    /* A trained W is packed into the shared scratch at each run, so the
     * conv takes the packed (implicit, staged) path instead of packing W
     * again for every column block: ResNet-18's training step at batch 8,
     * its seven im2col convs 29.7 -> 25.1 ms (Zen 5, one thread).
     * ONNXC_CONV_NOWPACK=1 turns it off (measurements). */
    if (!fixed && !getenv("ONNXC_CONV_NOWPACK")) {
        p->wpack = col ? 1 : 2;
        lw->scratch = oc_conv_wpack_bytes(p) + col;
    }
    return 0;
}

/* Start pads per ONNX ConvTranspose: with output_shape or SAME_* auto_pad,
 *   total = s * (in - 1) + output_padding + (k - 1) * dil + 1 - out
 * is split as start = total // 2 for SAME_UPPER, total - total // 2
 * otherwise; else the 'pads' attribute (0 for VALID). */
static int lower_conv_transpose(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_conv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || conv_lower_common(g, n, p, d))
        return -1;
    const int64_t *strides, *dil, *pads, *opad, *oshape;
    int nsp = p->nsp;
    int ns = oc_attr_ints(n, "strides", &strides), nd = oc_attr_ints(n, "dilations", &dil);
    int np = oc_attr_ints(n, "pads", &pads), nop = oc_attr_ints(n, "output_padding", &opad);
    int nos = oc_attr_ints(n, "output_shape", &oshape);
    const char *auto_pad = oc_attr_string(n, "auto_pad", "NOTSET");
    int same = !strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER");
    if ((ns >= 0 && ns != nsp) || (nd >= 0 && nd != nsp) || (np >= 0 && np != 2 * nsp) || (nop >= 0 && nop != nsp))
        return oc_fail(d, "ConvTranspose: strides/dilations/pads/output_padding do not match %d spatial dims", nsp);
    for (int i = 0; i < nsp; i++) {
        p->s[i] = ns >= 0 ? strides[i] : 1;
        p->dil[i] = nd >= 0 ? dil[i] : 1;
        int64_t op = nop >= 0 ? opad[i] : 0;
        if (p->s[i] < 1 || p->dil[i] < 1 || p->k[i] < 1)
            return oc_fail(d, "ConvTranspose: stride, dilation and kernel must be >= 1");
        if (nos >= 0 || same) {
            int64_t total = p->s[i] * (p->in[i] - 1) + op + (p->k[i] - 1) * p->dil[i] + 1 - p->out[i];
            p->pb[i] = !strcmp(auto_pad, "SAME_UPPER") ? floor_half(total) : total - floor_half(total);
        } else {
            p->pb[i] = np >= 0 && strcmp(auto_pad, "VALID") != 0 ? pads[i] : 0;
        }
    }
    int64_t ext[3] = {p->cout / p->group * prod_n(p->k, nsp), prod_n(p->in, nsp), p->cin / p->group};
    if (blas_fits(ext, 3, d))
        return -1;
    /* 3x3 stride-1 (Conv's data gradient in training) as a Winograd conv
     * with the rotated filter, by the same choice rule as Conv. */
    int fixed = weight_is_fixed(g, n);
    int wm = oc_conv_transpose_winograd_applicable(p) ? conv_winograd_choice(p, fixed) : 0;
    if (wm) {
        lw->fn = wm == 4 ? oc_conv_transpose_winograd4_forward : oc_conv_transpose_winograd_forward;
        lw->tscratch = oc_conv_winograd_tscratch(p, wm);
        lw->scratch = fixed ? 0 : oc_conv_winograd_runtime_scratch(p, wm);
        return 0;
    }
    lw->fn = oc_conv_transpose_forward;
    lw->scratch = oc_conv_transpose_scratch(p);
    lw->tscratch = oc_sgemm_scratch_bytes();
    return 0;
}

/* ---- gradient rule and onnxc's own gradient ops ----
 * For Y = Conv(X, W, B) (see runtime/kernels/conv.h for the math):
 *   dX = ConvTranspose(dY, W): the adjoint of Conv's gather, with the same
 *        strides, dilations, group and start pads; W [M, C/group, k...] is
 *        already ConvTranspose's [C_in, C_out/group, k...] layout. The end
 *        pad is chosen so the output has exactly X's extents:
 *          pe' = s*(out - 1) + (k - 1)*dil + 1 - pb - in,
 *        and when pe' < 0 (trailing input rows no window reads, which get
 *        zero gradient) it becomes output_padding -pe' (< stride);
 *   dW = ConvGradWeight(dY, X, W)   (W gives the shape only);
 *   dB = ConvGradBias(dY). */

/* Copies the int, ints, float and string attributes of node `from` onto
 * node `to` (a gradient op reads the forward's window attributes). */
static int copy_attrs(oc_grad_ctx *cx, int from, int to)
{
    for (int i = 0; i < cx->g->nodes[from].n_attrs; i++) {
        const oc_attr *at = &cx->g->nodes[from].attrs[i];
        int rc = 0;
        if (at->type == OC_ATTR_INT)
            rc = oc_node_set_int(cx->g, to, at->name, at->i, cx->d);
        else if (at->type == OC_ATTR_INTS)
            rc = oc_node_set_ints(cx->g, to, at->name, at->n, at->ints, cx->d);
        else if (at->type == OC_ATTR_FLOAT)
            rc = oc_node_set_float(cx->g, to, at->name, at->f, cx->d);
        else if (at->type == OC_ATTR_STRING)
            rc = oc_node_set_string(cx->g, to, at->name, at->s, cx->d);
        if (rc)
            return -1;
    }
    return 0;
}

static int grad_conv_input(oc_grad_ctx *cx, int nid, int dy, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    const oc_value *x = &cx->g->values[n->in[0]], *w = &cx->g->values[n->in[1]], *y = &cx->g->values[n->out[0]];
    int nsp = x->rank - 2;
    if (nsp < 1 || w->rank != x->rank || y->rank != x->rank)
        return oc_fail(cx->d, "Conv gradient: X, W and Y must have the same rank >= 3");
    int64_t k[OC_MAX_SPATIAL], pads[2 * OC_MAX_SPATIAL], opad[OC_MAX_SPATIAL], s[OC_MAX_SPATIAL],
        dil[OC_MAX_SPATIAL];
    for (int i = 0; i < nsp; i++) {
        k[i] = w->dims[2 + i];
        if (k[i] < 1 || x->dims[2 + i] < 0 || y->dims[2 + i] < 0)
            return oc_fail(cx->d, "Conv gradient: spatial shapes must be known");
    }
    oc_window win;
    if (oc_window_resolve(n, nsp, x->dims + 2, k, 0, &win, cx->d))
        return -1;
    int any_opad = 0;
    for (int i = 0; i < nsp; i++) {
        int64_t pe = win.s[i] * (y->dims[2 + i] - 1) + (k[i] - 1) * win.dil[i] + 1 - win.pb[i] - x->dims[2 + i];
        pads[i] = win.pb[i];
        pads[nsp + i] = pe > 0 ? pe : 0;
        opad[i] = pe < 0 ? -pe : 0;
        any_opad |= opad[i] != 0;
        s[i] = win.s[i];
        dil[i] = win.dil[i];
    }
    int group = (int)oc_attr_int(n, "group", 1);
    int in[2] = {dy, n->in[1]};
    int gid = oc_grad_add(cx, "ConvTranspose", 0, 2, in, 1, dx);
    if (gid < 0 || oc_node_set_ints(cx->g, gid, "strides", nsp, s, cx->d) ||
        oc_node_set_ints(cx->g, gid, "dilations", nsp, dil, cx->d) ||
        oc_node_set_ints(cx->g, gid, "pads", 2 * nsp, pads, cx->d) ||
        oc_node_set_int(cx->g, gid, "group", group, cx->d) ||
        (any_opad && oc_node_set_ints(cx->g, gid, "output_padding", nsp, opad, cx->d)))
        return -1;
    return 0;
}

static int grad_conv(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (dy[0] < 0)
        return 0;
    if (need[0] && grad_conv_input(cx, nid, dy[0], &dx[0]))
        return -1;
    if (need[1]) {
        const oc_node *n = &cx->g->nodes[nid];
        int in[3] = {dy[0], n->in[0], n->in[1]};
        int gid = oc_grad_add(cx, "ConvGradWeight", 1, 3, in, 1, &dx[1]);
        if (gid < 0 || copy_attrs(cx, nid, gid))
            return -1;
    }
    if (cx->g->nodes[nid].n_in > 2 && need[2]) {
        int in[1] = {dy[0]};
        if (oc_grad_add(cx, "ConvGradBias", 1, 1, in, 1, &dx[2]) < 0)
            return -1;
    }
    return 0;
}

/* ConvGradWeight(dY, X, W) -> dW: W's type. */
static int infer_conv_grad_weight(oc_infer *cx)
{
    oc_value *dy = oc_infer_in_ranked(cx, 0), *x = oc_infer_in_ranked(cx, 1), *w = oc_infer_in_ranked(cx, 2);
    if (!dy || !x || !w)
        return -1;
    if (x->rank < 3 || dy->rank != x->rank || w->rank != x->rank)
        return oc_infer_fail(cx, "dY, X and W must have the same rank >= 3");
    return oc_infer_same_as(cx, 0, 2);
}

/* As many multiply-adds as the forward: one per (dY element, weight of its group). */
static int64_t macs_conv_grad_weight(const oc_graph *g, const oc_node *n)
{
    const oc_value *dy = &g->values[n->in[0]], *w = &g->values[n->in[2]];
    int64_t out = oc_value_numel(dy), wk = 1;
    if (out < 0 || w->rank < 2)
        return -1;
    for (int i = 1; i < w->rank; i++)
        wk *= w->dims[i];
    return out * wk;
}

/* ConvGradBias(dY) -> dB [M]. */
static int infer_conv_grad_bias(oc_infer *cx)
{
    oc_value *dy = oc_infer_in_ranked(cx, 0);
    if (!dy)
        return -1;
    if (dy->rank < 3)
        return oc_infer_fail(cx, "dY must have rank >= 3");
    return oc_infer_set_out(cx, 0, dy->dtype, 1, &dy->dims[1]);
}

/* The forward Conv's geometry rebuilt from the gradient node: X = input 1,
 * dY = input 0 (Y's shape), kernel from W = input 2 (ConvGradWeight) or
 * absent (ConvGradBias needs only N, M and the output extents). */
static int lower_conv_grad_weight(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]], *x = &g->values[n->in[1]], *w = &g->values[n->in[2]];
    oc_conv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (dy->dtype != OC_FLOAT || x->dtype != OC_FLOAT)
        return oc_fail(d, "ConvGradWeight supports float32 only");
    p->nsp = x->rank - 2;
    if (p->nsp < 1 || p->nsp > OC_CONV_MAX_SPATIAL || dy->rank != x->rank || w->rank != x->rank)
        return oc_fail(d, "ConvGradWeight: %d spatial dims; 1 to %d are supported", p->nsp, OC_CONV_MAX_SPATIAL);
    p->batch = x->dims[0];
    p->cin = x->dims[1];
    p->cout = dy->dims[1];
    p->group = oc_attr_int(n, "group", 1);
    if (p->group < 1 || p->cin % p->group || p->cout % p->group || w->dims[0] != p->cout ||
        w->dims[1] * p->group != p->cin || dy->dims[0] != p->batch)
        return oc_fail(d, "ConvGradWeight: dY, X and W shapes do not agree with group %lld", (long long)p->group);
    for (int i = 0; i < p->nsp; i++) {
        p->in[i] = x->dims[2 + i];
        p->out[i] = dy->dims[2 + i];
        p->k[i] = w->dims[2 + i];
    }
    oc_window win;
    if (oc_window_resolve(n, p->nsp, p->in, p->k, 0, &win, d))
        return -1;
    int pointwise = 1;
    for (int i = 0; i < p->nsp; i++) {
        if (win.out[i] != p->out[i])
            return oc_fail(d, "ConvGradWeight: window gives extent %lld but dY has %lld", (long long)win.out[i],
                           (long long)p->out[i]);
        p->s[i] = win.s[i];
        p->dil[i] = win.dil[i];
        p->pb[i] = win.pb[i];
        pointwise &= p->k[i] == 1 && p->s[i] == 1 && win.pb[i] == 0 && win.pe[i] == 0;
    }
    p->pointwise = pointwise;
    int64_t ext[3] = {p->cout / p->group, prod_n(p->out, p->nsp), p->cin / p->group * prod_n(p->k, p->nsp)};
    if (blas_fits(ext, 3, d))
        return -1;
    /* 3x3 stride-1 by F(3x3, 2x2) where Winograd would run the forward
     * (the choice rule of a trained W); else im2col + SGEMM */
    if (oc_conv_grad_weight_winograd_applicable(p) && conv_winograd_choice(p, 0)) {
        lw->fn = oc_conv_grad_weight_winograd;
        lw->scratch = oc_conv_grad_weight_winograd_scratch(p);
        lw->tscratch = oc_conv_grad_weight_winograd_tscratch(p);
        return 0;
    }
    lw->fn = oc_conv_grad_weight;
    lw->scratch = oc_conv_grad_weight_scratch(p);
    lw->tscratch = p->batch > 1 ? oc_conv_grad_weight_tscratch(p) : oc_sgemm_scratch_bytes();
    return 0;
}

static int lower_conv_grad_bias(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]];
    oc_conv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (dy->dtype != OC_FLOAT)
        return oc_fail(d, "ConvGradBias supports float32 only");
    p->nsp = dy->rank - 2;
    if (p->nsp < 1 || p->nsp > OC_CONV_MAX_SPATIAL)
        return oc_fail(d, "ConvGradBias: %d spatial dims; 1 to %d are supported", p->nsp, OC_CONV_MAX_SPATIAL);
    p->batch = dy->dims[0];
    p->cout = dy->dims[1];
    p->group = 1;
    for (int i = 0; i < p->nsp; i++)
        p->out[i] = dy->dims[2 + i];
    lw->fn = oc_conv_grad_bias;
    return 0;
}

const oc_op oc_ops_conv_grad[] = {
    {.name = "ConvGradWeight", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .infer = infer_conv_grad_weight, .macs = macs_conv_grad_weight, .lower = lower_conv_grad_weight,
     .domain = OC_DOMAIN_ONNXC},
    {.name = "ConvGradBias", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .infer = infer_conv_grad_bias, .lower = lower_conv_grad_bias, .domain = OC_DOMAIN_ONNXC},
    {0},
};

/* FusedConv (ai.onnxc, see fused.h): Conv plus epilogue; X, W, B, R. */
static int infer_fused_conv(oc_infer *cx) { return infer_conv(cx) || oc_fused_check_residual(cx, 3) ? -1 : 0; }

static int lower_fused_conv(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (lower_conv(g, n, lw, d))
        return -1;
    return oc_fused_epilogue(g, n, 3, &((oc_conv_params *)lw->params)->ep, d);
}

const oc_op oc_ops_conv[] = {
    {"Conv", 2, 3, 1, 1, infer_conv, macs_conv, 0, 0, lower_conv, grad_conv},
    {"FusedConv", 2, 4, 1, 1, infer_fused_conv, macs_conv, 0, 0, lower_fused_conv, .domain = OC_DOMAIN_ONNXC},
    {"ConvTranspose", 2, 3, 1, 1, infer_conv_transpose, macs_conv_transpose, 0, 0, lower_conv_transpose},
    {0},
};
