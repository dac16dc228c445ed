/* common.c: helpers shared by the shape rules (see op.h). */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

oc_value *oc_infer_in(oc_infer *cx, int k)
{
    oc_node *n = oc_infer_node(cx);
    if (k < 0 || k >= n->n_in || n->in[k] < 0)
        return NULL;
    return &cx->g->values[n->in[k]];
}

int oc_infer_fail(oc_infer *cx, const char *fmt, ...)
{
    char msg[768], lb[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return oc_fail(cx->d, "%s: %s", oc_node_label(oc_infer_node(cx), lb, sizeof lb), msg);
}

oc_value *oc_infer_in_ranked(oc_infer *cx, int k)
{
    oc_value *v = oc_infer_in(cx, k);
    if (!v) {
        oc_infer_fail(cx, "input %d is missing", k);
        return NULL;
    }
    if (v->rank < 0) {
        oc_infer_fail(cx, "input %d '%s' has an unknown shape", k, v->name);
        return NULL;
    }
    return v;
}

int64_t oc_value_numel(const oc_value *v)
{
    if (v->rank < 0)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] < 0)
            return -1;
        if (v->dims[i] && n > INT64_MAX / v->dims[i])
            return -1;
        n *= v->dims[i];
    }
    return n;
}

/* IEEE half -> double (subnormals, inf and NaN included). */
static double half_to_f64(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

double oc_const_f64(const oc_tensor *t, int64_t i)
{
    if (t->dtype == OC_FLOAT16)
        return half_to_f64(((const uint16_t *)t->data)[i]);
    if (t->dtype == OC_BFLOAT16) {
        uint32_t u = (uint32_t)((const uint16_t *)t->data)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    return oc_tensor_get_f64(t, i);
}

int oc_infer_set_out(oc_infer *cx, int k, int dtype, int rank, const int64_t *dims)
{
    oc_node *n = oc_infer_node(cx);
    if (k >= n->n_out || n->out[k] < 0)
        return 0; /* omitted optional output */
    oc_value *v = &cx->g->values[n->out[k]];
    char a[256], b[256];
    if (rank > OC_MAX_RANK)
        return oc_infer_fail(cx, "output %d would have rank %d; at most %d is supported", k, rank,
                             OC_MAX_RANK);
    for (int i = 0; i < rank; i++)
        if (dims[i] < -1)
            return oc_infer_fail(cx, "output %d would have a negative dimension (%lld)", k,
                                 (long long)dims[i]);
    if (dtype && v->dtype && v->dtype != dtype)
        return oc_infer_fail(cx, "output %d '%s' is declared %s but computes %s", k, v->name,
                             oc_dtype_name(v->dtype), oc_dtype_name(dtype));
    if (rank >= 0 && v->rank >= 0) {
        int clash = v->rank != rank;
        for (int i = 0; !clash && i < rank; i++)
            clash = dims[i] >= 0 && v->dims[i] >= 0 && dims[i] != v->dims[i];
        if (clash)
            return oc_infer_fail(cx, "output %d '%s' is declared %s but computes %s", k, v->name,
                                 oc_format_dims(a, sizeof a, v->dims, v->rank),
                                 oc_format_dims(b, sizeof b, dims, rank));
    }
    if (dtype)
        v->dtype = dtype;
    if (rank >= 0) {
        if (v->rank < 0) {
            for (int i = 0; i < OC_MAX_RANK; i++)
                v->dims[i] = -1;
        }
        v->rank = rank;
        for (int i = 0; i < rank; i++)
            if (dims[i] >= 0)
                v->dims[i] = dims[i];
    }
    /* A checked product now saves every later consumer from overflow. */
    if (v->rank >= 0) {
        int known = 1;
        for (int i = 0; i < v->rank; i++)
            known &= v->dims[i] >= 0;
        int64_t numel;
        oc_diag tmp;
        oc_diag_init(&tmp);
        if (known && oc_shape_numel(v->dims, v->rank, &numel, &tmp))
            return oc_infer_fail(cx, "output %d '%s': %s", k, v->name, tmp.msg);
        /* ...and a byte cap keeps the planner's sizes far from wrapping:
         * ConstantOfShape, Expand, Tile or Range can ask for any size */
        size_t es = oc_dtype_size(v->dtype);
        if (known && es && numel > OC_MAX_TENSOR_BYTES / (int64_t)es) {
            char sz[32], lim[32];
            return oc_infer_fail(cx, "output %d '%s': %s %s is %s, above the %s limit per tensor", k, v->name,
                                 oc_format_dims(a, sizeof a, v->dims, v->rank), oc_dtype_name(v->dtype),
                                 oc_format_bytes(sz, sizeof sz, (double)numel * (double)es),
                                 oc_format_bytes(lim, sizeof lim, (double)OC_MAX_TENSOR_BYTES));
        }
    }
    return 0;
}

int oc_infer_same_as(oc_infer *cx, int k, int j)
{
    oc_value *in = oc_infer_in(cx, j);
    if (!in)
        return oc_infer_fail(cx, "input %d is missing", j);
    return oc_infer_set_out(cx, k, in->dtype, in->rank, in->dims);
}

int oc_infer_set_const(oc_infer *cx, int k, oc_tensor *t)
{
    oc_node *n = oc_infer_node(cx);
    if (k >= n->n_out || n->out[k] < 0) {
        oc_tensor_free(t);
        return 0;
    }
    if (oc_infer_set_out(cx, k, t->dtype, t->rank, t->dims)) {
        oc_tensor_free(t);
        return -1;
    }
    oc_value *v = &cx->g->values[n->out[k]];
    oc_tensor_free(v->constant);
    v->constant = t;
    return 0;
}

int oc_infer_const_ints(oc_infer *cx, int k, int64_t *out, int cap)
{
    oc_value *v = oc_infer_in(cx, k);
    if (!v)
        return -1;
    if (!v->constant)
        return -2;
    const oc_tensor *t = v->constant;
    if (t->rank > 1)
        return oc_infer_fail(cx, "input %d '%s' must be a 1-D list of integers, got rank %d", k,
                             v->name, t->rank),
               -3;
    if (t->numel > cap)
        return oc_infer_fail(cx, "input %d '%s' has %lld entries; at most %d are supported", k,
                             v->name, (long long)t->numel, cap),
               -3;
    if (t->dtype != OC_INT64 && t->dtype != OC_INT32)
        return oc_infer_fail(cx, "input %d '%s' must be int64, got %s", k, v->name,
                             oc_dtype_name(t->dtype)),
               -3;
    for (int64_t i = 0; i < t->numel; i++)
        out[i] = oc_tensor_get_i64(t, i);
    return (int)t->numel;
}

int oc_infer_axis(oc_infer *cx, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= (rank ? rank : 1))
        return oc_infer_fail(cx, "axis %lld is outside [-%d, %d)", (long long)axis, rank, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

int oc_infer_broadcast(oc_infer *cx, int n, const oc_value *const *vals, int *rank, int64_t *dims)
{
    int r = 0;
    for (int i = 0; i < n; i++) {
        if (vals[i]->rank < 0) {
            *rank = -1;
            return 0;
        }
        if (vals[i]->rank > r)
            r = vals[i]->rank;
    }
    for (int d = 0; d < r; d++) {
        int64_t out = 1;
        int unknown = 0;
        for (int i = 0; i < n; i++) {
            const oc_value *v = vals[i];
            int k = d - (r - v->rank);
            if (k < 0)
                continue;
            int64_t x = v->dims[k];
            if (x < 0) {
                unknown = 1;
                continue;
            }
            if (x == 1)
                continue;
            if (out != 1 && out != x) {
                char a[256], b[256];
                return oc_infer_fail(cx, "shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)",
                                     oc_format_dims(a, sizeof a, vals[0]->dims, vals[0]->rank),
                                     oc_format_dims(b, sizeof b, v->dims, v->rank), d,
                                     (long long)out, (long long)x);
            }
            out = x;
        }
        dims[d] = (unknown && out == 1) ? -1 : out;
    }
    *rank = r;
    return 0;
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

int oc_window_resolve(const oc_node *n, int nsp, const int64_t *in, const int64_t *k,
                      int ceil_mode, oc_window *w, oc_diag *d)
{
    char lb[300];
    const int64_t *strides, *dil, *pads;
    int ns = oc_attr_ints(n, "strides", &strides);
    int nd = oc_attr_ints(n, "dilations", &dil);
    int np = oc_attr_ints(n, "pads", &pads);
    const char *auto_pad = oc_attr_string(n, "auto_pad", "NOTSET");
    oc_node_label(n, lb, sizeof lb);
    if (nsp < 1 || nsp > OC_MAX_SPATIAL)
        return oc_fail(d, "%s: %d spatial dimensions; 1 to %d are supported", lb, nsp, OC_MAX_SPATIAL);
    if (ns >= 0 && ns != nsp)
        return oc_fail(d, "%s: 'strides' has %d entries for %d spatial dims", lb, ns, nsp);
    if (nd >= 0 && nd != nsp)
        return oc_fail(d, "%s: 'dilations' has %d entries for %d spatial dims", lb, nd, nsp);
    if (np >= 0 && np != 2 * nsp)
        return oc_fail(d, "%s: 'pads' has %d entries; expected %d", lb, np, 2 * nsp);
    w->nsp = nsp;
    for (int i = 0; i < nsp; i++) {
        w->in[i] = in[i];
        w->k[i] = k[i];
        w->s[i] = ns >= 0 ? strides[i] : 1;
        w->dil[i] = nd >= 0 ? dil[i] : 1;
        w->pb[i] = np >= 0 ? pads[i] : 0;
        w->pe[i] = np >= 0 ? pads[i + nsp] : 0;
        if (w->s[i] < 1 || w->dil[i] < 1 || w->k[i] < 1 || w->pb[i] < 0 || w->pe[i] < 0 ||
            w->s[i] > (1 << 30) || w->dil[i] > (1 << 30) || w->k[i] > (1 << 30) ||
            w->pb[i] > (1 << 30) || w->pe[i] > (1 << 30))
            return oc_fail(d, "%s: spatial dim %d has kernel %lld, stride %lld, dilation %lld, pads %lld/%lld; "
                              "kernel, stride, dilation must be >= 1 and pads >= 0",
                           lb, i, (long long)w->k[i], (long long)w->s[i], (long long)w->dil[i],
                           (long long)w->pb[i], (long long)w->pe[i]);
        int64_t ext = (w->k[i] - 1) * w->dil[i] + 1; /* effective kernel extent */
        if (in[i] < 0) {
            w->out[i] = -1;
            continue;
        }
        if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
            w->out[i] = ceil_div(in[i], w->s[i]);
            int64_t total = (w->out[i] - 1) * w->s[i] + ext - in[i];
            if (total < 0)
                total = 0;
            int upper = auto_pad[5] == 'U';
            w->pb[i] = upper ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
        } else if (strcmp(auto_pad, "VALID") == 0) {
            w->pb[i] = w->pe[i] = 0;
            w->out[i] = in[i] >= ext ? (in[i] - ext) / w->s[i] + 1 : 0;
        } else if (strcmp(auto_pad, "NOTSET") == 0) {
            int64_t span = in[i] + w->pb[i] + w->pe[i] - ext;
            if (span < 0)
                return oc_fail(d, "%s: spatial dim %d: kernel extent %lld exceeds padded input %lld", lb, i,
                               (long long)ext, (long long)(in[i] + w->pb[i] + w->pe[i]));
            if (ceil_mode) {
                w->out[i] = ceil_div(span, w->s[i]) + 1;
                /* the last window must start inside the input or its start pad */
                if ((w->out[i] - 1) * w->s[i] >= in[i] + w->pb[i])
                    w->out[i]--;
            } else {
                w->out[i] = span / w->s[i] + 1;
            }
        } else {
            return oc_fail(d, "%s: unknown auto_pad '%s'", lb, auto_pad);
        }
    }
    return 0;
}

void *oc_lower_params(oc_lowered *out, size_t size, oc_diag *d)
{
    out->params = calloc(1, size ? size : 1);
    out->params_size = size;
    if (!out->params)
        oc_fail(d, "out of memory");
    return out->params;
}

void oc_value_view(const oc_value *v, oc_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->dtype = v->dtype;
    t->rank = v->rank;
    for (int i = 0; i < v->rank; i++)
        t->dims[i] = v->dims[i];
    /* -1 (never a wrapped product) while a dim is unknown or the count
     * overflows; the planner refuses such values before using a view */
    t->numel = oc_value_numel(v);
}
