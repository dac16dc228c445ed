/* shape_ops.c: data-movement and shape ops: Reshape, Flatten, Transpose,
 * Squeeze, Unsqueeze, Concat, Split, Slice, Gather, Expand, Tile, Pad,
 * Shape, Size, Constant, ConstantOfShape, Range, Identity, Cast, CastLike,
 * Dropout. Shape rules follow each op's opset history (attributes that
 * became inputs: Reshape 5, Slice 10, Pad 11, Squeeze/Unsqueeze/Split 13).
 * Small known data is propagated so exporter shape chains resolve.
 * Gradient rules: view ops reshape or permute dY, Concat/Split slice and
 * concatenate it, Expand sums it back; Slice, Pad, Gather, Tile and
 * training-mode Dropout use onnxc's own gradient ops (SliceGrad, PadGrad,
 * GatherGrad, TileGrad, DropoutGrad; table oc_ops_shape_grad at the end). */
#include "op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/shape_ops.h"

/* Output k gets input 0's data unchanged with the output's (known) shape:
 * the view ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity). */
static int pass_const(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in(cx, 0);
    if (!x || !x->constant || n->out[0] < 0)
        return 0;
    oc_value *y = &cx->g->values[n->out[0]];
    int64_t numel = oc_value_numel(y);
    if (numel < 0 || numel != x->constant->numel || numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_new(x->constant->dtype, y->rank, y->dims, cx->d);
    if (!t)
        return -1;
    memcpy(t->data, x->constant->data, oc_tensor_nbytes(t));
    return oc_infer_set_const(cx, 0, t);
}

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++) {
        if (d[i] < 0)
            return -1;
        p *= d[i];
    }
    return p;
}

static int infer_reshape(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    int64_t shape[OC_MAX_RANK + 1];
    int ns;
    if (cx->g->opset < 5 || n->n_in < 2) {
        const int64_t *s;
        ns = oc_attr_ints(n, "shape", &s);
        if (ns < 0)
            return oc_infer_fail(cx, "needs a 'shape' (attribute before opset 5, input after)");
        if (ns > OC_MAX_RANK)
            return oc_infer_fail(cx, "shape has %d entries; at most %d supported", ns, OC_MAX_RANK);
        memcpy(shape, s, sizeof(int64_t) * (size_t)ns);
    } else {
        ns = oc_infer_const_ints(cx, 1, shape, OC_MAX_RANK);
        if (ns == -3)
            return -1;
        if (ns == -2) { /* shape computed at run time: rank only */
            oc_value *s = oc_infer_in(cx, 1);
            if (s->rank == 1 && s->dims[0] >= 0 && s->dims[0] <= OC_MAX_RANK) {
                int64_t dims[OC_MAX_RANK];
                for (int i = 0; i < s->dims[0]; i++)
                    dims[i] = -1;
                return oc_infer_set_out(cx, 0, x->dtype, (int)s->dims[0], dims);
            }
            return oc_infer_set_out(cx, 0, x->dtype, -1, NULL);
        }
    }
    int allowzero = (int)oc_attr_int(n, "allowzero", 0);
    int64_t dims[OC_MAX_RANK];
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < ns; i++) {
        int64_t s = shape[i];
        if (s == 0 && !allowzero) {
            if (x->rank >= 0 && i >= x->rank)
                return oc_infer_fail(cx, "shape entry %d is 0 (copy) but the input has rank %d", i, x->rank);
            s = x->rank >= 0 ? x->dims[i] : -1;
        } else if (s == -1) {
            if (infer_at >= 0)
                return oc_infer_fail(cx, "shape has more than one -1");
            infer_at = i;
        } else if (s < -1) {
            return oc_infer_fail(cx, "shape entry %d is %lld", i, (long long)s);
        }
        dims[i] = s;
        if (i != infer_at) {
            if (s < 0 || known < 0)
                known = -1;
            else if (s && known > INT64_MAX / s)
                return oc_infer_fail(cx, "shape overflows");
            else
                known *= s;
        }
    }
    int64_t total = oc_value_numel(x);
    if (infer_at >= 0) {
        dims[infer_at] = -1;
        if (total >= 0 && known > 0) {
            if (total % known)
                return oc_infer_fail(cx, "cannot reshape %lld elements with -1 and the rest %lld",
                                     (long long)total, (long long)known);
            dims[infer_at] = total / known;
        } else if (total == 0 && known == 0) {
            return oc_infer_fail(cx, "-1 is ambiguous with a zero-size shape");
        }
    } else if (total >= 0 && known >= 0 && total != known) {
        char a[256], b[256];
        return oc_infer_fail(cx, "cannot reshape %s (%lld elements) to %s",
                             oc_format_dims(a, sizeof a, x->dims, x->rank), (long long)total,
                             oc_format_dims(b, sizeof b, dims, ns));
    }
    if (oc_infer_set_out(cx, 0, x->dtype, ns, dims))
        return -1;
    return pass_const(cx);
}

static int infer_flatten(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t axis = oc_attr_int(oc_infer_node(cx), "axis", 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return oc_infer_fail(cx, "axis %lld is outside [-%d, %d]", (long long)oc_attr_int(oc_infer_node(cx), "axis", 1),
                             x->rank, x->rank);
    int64_t dims[2] = {prod(x->dims, 0, (int)axis), prod(x->dims, (int)axis, x->rank)};
    if (oc_infer_set_out(cx, 0, x->dtype, 2, dims))
        return -1;
    return pass_const(cx);
}

static int infer_transpose(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    const int64_t *perm;
    int np = oc_attr_ints(oc_infer_node(cx), "perm", &perm);
    if (np >= 0 && np != x->rank)
        return oc_infer_fail(cx, "'perm' has %d entries for rank %d", np, x->rank);
    int64_t dims[OC_MAX_RANK];
    int seen = 0;
    for (int i = 0; i < x->rank; i++) {
        int64_t p = np >= 0 ? perm[i] : x->rank - 1 - i;
        if (p < 0 || p >= x->rank || (seen & (1 << p)))
            return oc_infer_fail(cx, "'perm' is not a permutation of 0..%d", x->rank - 1);
        seen |= 1 << p;
        dims[i] = x->dims[p];
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

/* axes from the attribute (before opset 13) or input 1 (from 13). Returns
 * the count, -1 on error, or -2 when the axes are computed at run time. */
static int axes_of(oc_infer *cx, int64_t *axes, int cap, int *present)
{
    oc_node *n = oc_infer_node(cx);
    const int64_t *a;
    int na = oc_attr_ints(n, "axes", &a);
    *present = 1;
    if (na >= 0) {
        if (na > cap)
            return oc_infer_fail(cx, "too many axes (%d)", na);
        memcpy(axes, a, sizeof(int64_t) * (size_t)na);
        return na;
    }
    int k = oc_infer_const_ints(cx, 1, axes, cap);
    if (k == -1)
        *present = 0;
    if (k == -2)
        return -2;
    return k < 0 && k != -1 ? -1 : (k == -1 ? 0 : k);
}

/* Rank of a run-time axes list (input 1): its length, or -1 when unknown. */
static int64_t runtime_axes_count(oc_infer *cx)
{
    oc_value *a = oc_infer_in(cx, 1);
    return a && a->rank == 1 ? a->dims[0] : (a && a->rank == 0 ? 1 : -1);
}

static int infer_squeeze(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t axes[OC_MAX_RANK];
    int present, na = axes_of(cx, axes, OC_MAX_RANK, &present);
    if (na == -2) {
        int64_t k = runtime_axes_count(cx), dims[OC_MAX_RANK];
        if (k < 0 || k > x->rank)
            return oc_infer_set_out(cx, 0, x->dtype, -1, NULL);
        if (k > 0) {
            for (int i = 0; i < x->rank - k; i++)
                dims[i] = -1;
            return oc_infer_set_out(cx, 0, x->dtype, (int)(x->rank - k), dims);
        }
        na = 0; /* empty axes: squeeze every size-1 dim, as with no axes */
        present = 0;
    }
    if (na < 0)
        return -1;
    int drop[OC_MAX_RANK] = {0};
    if (!present || na == 0) {
        for (int i = 0; i < x->rank; i++) {
            if (x->dims[i] < 0)
                return oc_infer_set_out(cx, 0, x->dtype, -1, NULL); /* rank depends on run-time sizes */
            drop[i] = x->dims[i] == 1;
        }
    }
    for (int i = 0; i < na; i++) {
        int a;
        if (oc_infer_axis(cx, axes[i], x->rank, &a))
            return -1;
        if (x->dims[a] >= 0 && x->dims[a] != 1)
            return oc_infer_fail(cx, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
        drop[a] = 1;
    }
    int64_t dims[OC_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[r++] = x->dims[i];
    if (oc_infer_set_out(cx, 0, x->dtype, r, dims))
        return -1;
    return pass_const(cx);
}

static int infer_unsqueeze(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t axes[OC_MAX_RANK];
    int present, na = axes_of(cx, axes, OC_MAX_RANK, &present);
    if (na == -2) {
        int64_t k = runtime_axes_count(cx), dims[OC_MAX_RANK];
        if (k < 0)
            return oc_infer_set_out(cx, 0, x->dtype, -1, NULL);
        if (x->rank + k > OC_MAX_RANK)
            return oc_infer_fail(cx, "output rank %lld exceeds %d", (long long)(x->rank + k), OC_MAX_RANK);
        for (int i = 0; i < x->rank + k; i++)
            dims[i] = -1;
        return oc_infer_set_out(cx, 0, x->dtype, (int)(x->rank + k), dims);
    }
    if (na < 0)
        return -1;
    if (!present)
        return oc_infer_fail(cx, "needs axes");
    int r = x->rank + na;
    if (r > OC_MAX_RANK)
        return oc_infer_fail(cx, "output rank %d exceeds %d", r, OC_MAX_RANK);
    int ins[OC_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int a;
        if (oc_infer_axis(cx, axes[i], r, &a))
            return -1;
        if (ins[a])
            return oc_infer_fail(cx, "axis %d given twice", a);
        ins[a] = 1;
    }
    int64_t dims[OC_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++)
        dims[i] = ins[i] ? 1 : x->dims[j++];
    if (oc_infer_set_out(cx, 0, x->dtype, r, dims))
        return -1;
    return pass_const(cx);
}

static int infer_concat(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x0 = oc_infer_in_ranked(cx, 0);
    if (!x0)
        return -1;
    int axis;
    if (!oc_node_attr(n, "axis"))
        return oc_infer_fail(cx, "needs attribute 'axis'");
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x0->rank, &axis))
        return -1;
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    int all_const = 1;
    for (int k = 0; k < n->n_in; k++) {
        oc_value *x = oc_infer_in_ranked(cx, k);
        if (!x)
            return -1;
        if (x->rank != x0->rank)
            return oc_infer_fail(cx, "input %d has rank %d, input 0 rank %d", k, x->rank, x0->rank);
        for (int i = 0; i < x->rank; i++) {
            if (i == axis) {
                if (dims[i] >= 0 && x->dims[i] >= 0 && dims[i] > INT64_MAX - x->dims[i])
                    return oc_infer_fail(cx, "the concatenated dim %d overflows", i);
                dims[i] = (dims[i] < 0 || x->dims[i] < 0) ? -1 : dims[i] + x->dims[i];
            } else if (x->dims[i] >= 0 && dims[i] >= 0 && x->dims[i] != dims[i])
                return oc_infer_fail(cx, "input %d dim %d is %lld, expected %lld", k, i, (long long)x->dims[i],
                                     (long long)dims[i]);
            else if (dims[i] < 0)
                dims[i] = x->dims[i];
        }
        all_const &= x->constant != NULL && x->constant->dtype == x0->dtype;
    }
    if (oc_infer_set_out(cx, 0, x0->dtype, x0->rank, dims))
        return -1;
    oc_value *y = &cx->g->values[n->out[0]];
    int64_t numel = oc_value_numel(y);
    if (!all_const || numel < 0 || numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_new(y->dtype, y->rank, y->dims, cx->d);
    if (!t)
        return -1;
    size_t es = oc_dtype_size(y->dtype);
    int64_t outer = prod(y->dims, 0, axis), inner = prod(y->dims, axis + 1, y->rank);
    char *o = t->data;
    for (int64_t b = 0; b < outer; b++)
        for (int k = 0; k < n->n_in; k++) {
            oc_value *x = oc_infer_in(cx, k);
            size_t chunk = (size_t)(x->dims[axis] * inner) * es;
            memcpy(o, (char *)x->constant->data + (size_t)b * chunk, chunk);
            o += chunk;
        }
    return oc_infer_set_const(cx, 0, t);
}

static int infer_split(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &axis))
        return -1;
    int64_t split[64];
    int ns;
    const int64_t *s;
    ns = oc_attr_ints(n, "split", &s);
    if (ns > 64)
        return oc_infer_fail(cx, "too many splits");
    if (ns >= 0)
        memcpy(split, s, sizeof(int64_t) * (size_t)ns);
    else if ((ns = oc_infer_const_ints(cx, 1, split, 64)) == -3)
        return -1;
    int64_t len = x->dims[axis];
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    if (ns == -2) { /* sizes computed at run time: only the split axis is unknown */
        dims[axis] = -1;
        for (int k = 0; k < n->n_out; k++)
            if (oc_infer_set_out(cx, k, x->dtype, x->rank, dims))
                return -1;
        return 0;
    }
    if (ns < 0) {
        int nout = n->n_out;
        if (len < 0) {
            dims[axis] = -1;
        }
        for (int k = 0; k < nout; k++) {
            if (len >= 0) {
                /* equal parts; the last one smaller when it does not divide (opset 18) */
                int64_t part = (len + nout - 1) / nout;
                if (cx->g->opset < 18 && len % nout)
                    return oc_infer_fail(cx, "dim %lld does not split into %d equal parts", (long long)len, nout);
                dims[axis] = k < nout - 1 ? part : len - part * (nout - 1);
            }
            if (oc_infer_set_out(cx, k, x->dtype, x->rank, dims))
                return -1;
        }
        return 0;
    }
    if (ns != n->n_out)
        return oc_infer_fail(cx, "'split' has %d entries for %d outputs", ns, n->n_out);
    int64_t sum = 0;
    for (int k = 0; k < ns; k++) {
        if (split[k] < 0)
            return oc_infer_fail(cx, "split size %lld is negative", (long long)split[k]);
        sum += split[k];
        dims[axis] = split[k];
        if (oc_infer_set_out(cx, k, x->dtype, x->rank, dims))
            return -1;
    }
    if (len >= 0 && sum != len)
        return oc_infer_fail(cx, "split sizes add up to %lld, dim is %lld", (long long)sum, (long long)len);
    return 0;
}

/* Clamp a Slice start/end the way the spec says (opset 10+). */
static int64_t clamp_index(int64_t v, int64_t dim, int64_t step, int is_end)
{
    if (v < 0)
        v += dim;
    if (step > 0)
        return v < 0 ? 0 : (v > dim ? dim : v);
    (void)is_end;
    return v < -1 ? -1 : (v > dim - 1 ? dim - 1 : v);
}

static int infer_slice(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t starts[OC_MAX_RANK], ends[OC_MAX_RANK], axes[OC_MAX_RANK], steps[OC_MAX_RANK];
    int ns, ne, na, nst;
    if (cx->g->opset < 10) {
        const int64_t *p;
        ns = oc_attr_ints(n, "starts", &p);
        if (ns < 0 || ns > OC_MAX_RANK)
            return oc_infer_fail(cx, "needs 'starts' (at most %d)", OC_MAX_RANK);
        memcpy(starts, p, sizeof(int64_t) * (size_t)ns);
        ne = oc_attr_ints(n, "ends", &p);
        if (ne < 0 || ne > OC_MAX_RANK)
            return oc_infer_fail(cx, "needs 'ends'");
        memcpy(ends, p, sizeof(int64_t) * (size_t)ne);
        na = oc_attr_ints(n, "axes", &p);
        if (na > OC_MAX_RANK)
            return oc_infer_fail(cx, "too many axes");
        if (na >= 0)
            memcpy(axes, p, sizeof(int64_t) * (size_t)na);
        nst = -1;
    } else {
        ns = oc_infer_const_ints(cx, 1, starts, OC_MAX_RANK);
        ne = oc_infer_const_ints(cx, 2, ends, OC_MAX_RANK);
        na = oc_infer_const_ints(cx, 3, axes, OC_MAX_RANK);
        nst = oc_infer_const_ints(cx, 4, steps, OC_MAX_RANK);
        if (ns == -3 || ne == -3 || na == -3 || nst == -3)
            return -1;
        if (ns == -2 || ne == -2 || na == -2 || nst == -2) { /* run-time bounds: rank only */
            int64_t dims[OC_MAX_RANK];
            for (int i = 0; i < x->rank; i++)
                dims[i] = -1;
            return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
        }
        if (ns < 0 || ne < 0)
            return oc_infer_fail(cx, "needs starts and ends");
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return oc_infer_fail(cx, "starts, ends, axes and steps must have the same length");
    int64_t dims[OC_MAX_RANK], begin[OC_MAX_RANK], step[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < x->rank; i++) {
        begin[i] = 0;
        step[i] = 1;
    }
    int seen = 0;
    for (int i = 0; i < ns; i++) {
        int a;
        if (oc_infer_axis(cx, na >= 0 ? axes[i] : i, x->rank, &a))
            return -1;
        if (seen & (1 << a))
            return oc_infer_fail(cx, "axis %d repeated", a);
        seen |= 1 << a;
        int64_t st = nst >= 0 ? steps[i] : 1;
        if (st == 0)
            return oc_infer_fail(cx, "step 0 on axis %d", a);
        int64_t d = x->dims[a];
        if (d < 0) {
            dims[a] = -1;
            continue;
        }
        int64_t b = clamp_index(starts[i], d, st, 0), e = clamp_index(ends[i], d, st, 1);
        int64_t len = st > 0 ? (e - b + st - 1) / st : (b - e + (-st) - 1) / (-st);
        dims[a] = len > 0 ? len : 0;
        begin[a] = b;
        step[a] = st;
    }
    if (oc_infer_set_out(cx, 0, x->dtype, x->rank, dims))
        return -1;
    /* fold small known data (Shape -> Slice chains) */
    oc_value *y = &cx->g->values[n->out[0]];
    int64_t numel = oc_value_numel(y);
    if (!x->constant || numel < 0 || numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_new(x->dtype, y->rank, y->dims, cx->d);
    if (!t)
        return -1;
    size_t es = oc_dtype_size(x->dtype);
    for (int64_t o = 0; o < numel; o++) {
        int64_t rem = o, src = 0, stride = 1;
        for (int dd = y->rank - 1; dd >= 0; dd--) {
            int64_t c = rem % y->dims[dd];
            rem /= y->dims[dd];
            src += (begin[dd] + c * step[dd]) * stride;
            stride *= x->dims[dd];
        }
        memcpy((char *)t->data + (size_t)o * es, (char *)x->constant->data + (size_t)src * es, es);
    }
    return oc_infer_set_const(cx, 0, t);
}

static int infer_gather(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *idx = oc_infer_in_ranked(cx, 1);
    if (!x || !idx)
        return -1;
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &axis))
        return -1;
    int r = x->rank - 1 + idx->rank;
    if (r > OC_MAX_RANK)
        return oc_infer_fail(cx, "output rank %d exceeds %d", r, OC_MAX_RANK);
    int64_t dims[OC_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++)
        dims[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        dims[k++] = idx->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        dims[k++] = x->dims[i];
    if (oc_infer_set_out(cx, 0, x->dtype, r, dims))
        return -1;
    oc_value *y = &cx->g->values[n->out[0]];
    int64_t numel = oc_value_numel(y);
    if (!x->constant || !idx->constant || numel < 0 || numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_new(x->dtype, r, y->dims, cx->d);
    if (!t)
        return -1;
    size_t es = oc_dtype_size(x->dtype);
    int64_t outer = prod(x->dims, 0, axis), inner = prod(x->dims, axis + 1, x->rank), len = x->dims[axis];
    int64_t ni = idx->constant->numel;
    char *o = t->data;
    for (int64_t b = 0; b < outer; b++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t i = oc_tensor_get_i64(idx->constant, j);
            if (i < 0)
                i += len;
            if (i < 0 || i >= len) {
                oc_tensor_free(t);
                return oc_infer_fail(cx, "index %lld is out of range for dim %lld",
                                     (long long)oc_tensor_get_i64(idx->constant, j), (long long)len);
            }
            memcpy(o, (char *)x->constant->data + (size_t)((b * len + i) * inner) * es, (size_t)inner * es);
            o += (size_t)inner * es;
        }
    return oc_infer_set_const(cx, 0, t);
}

static int infer_shape(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t r = x->rank, start = oc_attr_int(n, "start", 0), end = oc_attr_int(n, "end", r);
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : (start > r ? r : start);
    end = end < 0 ? 0 : (end > r ? r : end);
    int64_t len = end > start ? end - start : 0;
    int known = 1;
    for (int64_t i = start; i < end; i++)
        known &= x->dims[i] >= 0;
    if (!known)
        return oc_infer_set_out(cx, 0, OC_INT64, 1, &len);
    oc_tensor *t = oc_tensor_new(OC_INT64, 1, &len, cx->d);
    if (!t)
        return -1;
    for (int64_t i = start; i < end; i++)
        ((int64_t *)t->data)[i - start] = x->dims[i];
    return oc_infer_set_const(cx, 0, t);
}

static int infer_size(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t numel = oc_value_numel(x);
    if (numel < 0)
        return oc_infer_set_out(cx, 0, OC_INT64, 0, NULL);
    oc_tensor *t = oc_tensor_new(OC_INT64, 0, NULL, cx->d);
    if (!t)
        return -1;
    *(int64_t *)t->data = numel;
    return oc_infer_set_const(cx, 0, t);
}

static int infer_constant(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    if (n->n_attrs != 1)
        return oc_infer_fail(cx, "needs exactly one value attribute, got %d attributes", n->n_attrs);
    const oc_attr *a = &n->attrs[0];
    oc_tensor *t = NULL;
    int64_t len = a->n;
    if (strcmp(a->name, "value") == 0 && a->type == OC_ATTR_TENSOR && a->t) {
        t = oc_tensor_clone(a->t, cx->d);
    } else if (strcmp(a->name, "value_float") == 0 && a->type == OC_ATTR_FLOAT) {
        if ((t = oc_tensor_new(OC_FLOAT, 0, NULL, cx->d)))
            *(float *)t->data = a->f;
    } else if (strcmp(a->name, "value_int") == 0 && a->type == OC_ATTR_INT) {
        if ((t = oc_tensor_new(OC_INT64, 0, NULL, cx->d)))
            *(int64_t *)t->data = a->i;
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == OC_ATTR_FLOATS) {
        if ((t = oc_tensor_new(OC_FLOAT, 1, &len, cx->d)))
            memcpy(t->data, a->floats, sizeof(float) * (size_t)len);
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == OC_ATTR_INTS) {
        if ((t = oc_tensor_new(OC_INT64, 1, &len, cx->d)))
            memcpy(t->data, a->ints, sizeof(int64_t) * (size_t)len);
    } else {
        return oc_infer_fail(cx, "attribute '%s' is not a supported constant value", a->name);
    }
    if (!t)
        return oc_infer_fail(cx, "bad constant value");
    return oc_infer_set_const(cx, 0, t);
}

static int infer_constant_of_shape(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    int64_t shape[OC_MAX_RANK];
    int ns = oc_infer_const_ints(cx, 0, shape, OC_MAX_RANK);
    const oc_attr *va = oc_node_attr(n, "value");
    int dtype = va && va->t ? va->t->dtype : OC_FLOAT;
    if (va && (!va->t || va->t->numel != 1))
        return oc_infer_fail(cx, "'value' must be a one-element tensor");
    if (ns == -3)
        return -1;
    if (ns < 0) {
        oc_value *s = oc_infer_in(cx, 0);
        if (s && s->rank == 1 && s->dims[0] >= 0 && s->dims[0] <= OC_MAX_RANK) {
            int64_t dims[OC_MAX_RANK];
            for (int i = 0; i < s->dims[0]; i++)
                dims[i] = -1;
            return oc_infer_set_out(cx, 0, dtype, (int)s->dims[0], dims);
        }
        return oc_infer_set_out(cx, 0, dtype, -1, NULL);
    }
    if (oc_infer_set_out(cx, 0, dtype, ns, shape))
        return -1;
    int64_t numel;
    if (oc_shape_numel(shape, ns, &numel, cx->d) || numel > OC_FOLD_MAX)
        return cx->d->failed ? -1 : 0;
    oc_tensor *t = oc_tensor_new(dtype, ns, shape, cx->d);
    if (!t)
        return -1;
    size_t es = oc_dtype_size(dtype);
    for (int64_t i = 0; va && i < numel; i++)
        memcpy((char *)t->data + (size_t)i * es, va->t->data, es);
    return oc_infer_set_const(cx, 0, t);
}

static int infer_range(oc_infer *cx)
{
    oc_value *s = oc_infer_in(cx, 0), *l = oc_infer_in(cx, 1), *d = oc_infer_in(cx, 2);
    if (!s || !l || !d)
        return oc_infer_fail(cx, "needs start, limit and delta");
    int64_t len = -1;
    if (s->constant && l->constant && d->constant && s->constant->numel == 1 && l->constant->numel == 1 &&
        d->constant->numel == 1) {
        double a = oc_const_f64(s->constant, 0), b = oc_const_f64(l->constant, 0);
        double st = oc_const_f64(d->constant, 0);
        if (st == 0)
            return oc_infer_fail(cx, "delta is 0");
        double cnt = (b - a) / st;
        if (cnt > 1e12)
            return oc_infer_fail(cx, "range of %.0f elements is too large", cnt);
        len = cnt > 0 ? (int64_t)cnt + ((double)(int64_t)cnt < cnt) : 0;
    }
    if (oc_infer_set_out(cx, 0, s->dtype, 1, &len))
        return -1;
    /* small integer ranges (axes lists in expanded functions) are folded */
    if (len < 0 || len > OC_FOLD_MAX || (s->dtype != OC_INT64 && s->dtype != OC_INT32))
        return 0;
    oc_tensor *t = oc_tensor_new(s->dtype, 1, &len, cx->d);
    if (!t)
        return -1;
    int64_t a = oc_tensor_get_i64(s->constant, 0), st = oc_tensor_get_i64(d->constant, 0);
    for (int64_t i = 0; i < len; i++) {
        if (s->dtype == OC_INT64)
            ((int64_t *)t->data)[i] = a + i * st;
        else
            ((int32_t *)t->data)[i] = (int32_t)(a + i * st);
    }
    return oc_infer_set_const(cx, 0, t);
}

static int infer_identity(oc_infer *cx)
{
    if (!oc_infer_in(cx, 0))
        return oc_infer_fail(cx, "input 0 is missing");
    if (oc_infer_same_as(cx, 0, 0))
        return -1;
    return pass_const(cx);
}

static int infer_cast(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    int to;
    if (strcmp(n->op_type, "CastLike") == 0) {
        oc_value *like = oc_infer_in(cx, 1);
        if (!like)
            return oc_infer_fail(cx, "needs target_type input");
        to = like->dtype;
    } else {
        if (!oc_node_attr(n, "to"))
            return oc_infer_fail(cx, "needs attribute 'to'");
        to = (int)oc_attr_int(n, "to", 0);
    }
    if (to <= 0 || to >= OC_DTYPE_LIMIT)
        return oc_infer_fail(cx, "'to' = %d is not an ONNX element type", to);
    if (oc_infer_set_out(cx, 0, to, x->rank, x->dims))
        return -1;
    /* fold small numeric constants between int and float types */
    if (!x->constant || x->constant->numel > OC_FOLD_MAX || !oc_dtype_size(to) ||
        !oc_dtype_size(x->constant->dtype) || (to != OC_INT64 && to != OC_FLOAT && to != OC_INT32 && to != OC_DOUBLE))
        return 0;
    oc_tensor *t = oc_tensor_new(to, x->constant->rank, x->constant->dims, cx->d);
    if (!t)
        return -1;
    for (int64_t i = 0; i < t->numel; i++) {
        switch (to) {
        case OC_INT64: ((int64_t *)t->data)[i] = oc_tensor_get_i64(x->constant, i); break;
        case OC_INT32: ((int32_t *)t->data)[i] = (int32_t)oc_tensor_get_i64(x->constant, i); break;
        case OC_FLOAT: ((float *)t->data)[i] = (float)oc_tensor_get_f64(x->constant, i); break;
        default: ((double *)t->data)[i] = oc_tensor_get_f64(x->constant, i); break;
        }
    }
    return oc_infer_set_const(cx, 0, t);
}

static int infer_dropout(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (oc_infer_same_as(cx, 0, 0))
        return -1;
    return oc_infer_set_out(cx, 1, OC_BOOL, x->rank, x->dims);
}

static int infer_pad(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t pads[2 * OC_MAX_RANK], axes[OC_MAX_RANK];
    int np, na = -1;
    if (cx->g->opset < 11) {
        const int64_t *p;
        np = oc_attr_ints(n, "pads", &p);
        if (np < 0 || np > 2 * OC_MAX_RANK)
            return oc_infer_fail(cx, "needs attribute 'pads'");
        memcpy(pads, p, sizeof(int64_t) * (size_t)np);
    } else {
        np = oc_infer_const_ints(cx, 1, pads, 2 * OC_MAX_RANK);
        na = oc_infer_const_ints(cx, 3, axes, OC_MAX_RANK);
        if (np == -3 || na == -3)
            return -1;
        if (np == -2 || na == -2) {
            int64_t dims[OC_MAX_RANK];
            for (int i = 0; i < x->rank; i++)
                dims[i] = -1;
            return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
        }
        if (np < 0)
            return oc_infer_fail(cx, "needs input 'pads'");
    }
    int nax = na >= 0 ? na : x->rank;
    if (np != 2 * nax)
        return oc_infer_fail(cx, "'pads' has %d entries; expected %d", np, 2 * nax);
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < nax; i++) {
        int a = i;
        if (na >= 0 && oc_infer_axis(cx, axes[i], x->rank, &a))
            return -1;
        if (pads[i] < -(1LL << 40) || pads[i] > (1LL << 40) || pads[i + nax] < -(1LL << 40) ||
            pads[i + nax] > (1LL << 40))
            return oc_infer_fail(cx, "pads %lld/%lld on dim %d are out of range", (long long)pads[i],
                                 (long long)pads[i + nax], a);
        if (dims[a] >= 0) {
            dims[a] += pads[i] + pads[i + nax];
            if (dims[a] < 0)
                return oc_infer_fail(cx, "padding makes dim %d negative", a);
        }
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

static int infer_expand(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t shape[OC_MAX_RANK];
    int ns = oc_infer_const_ints(cx, 1, shape, OC_MAX_RANK);
    if (ns == -3)
        return -1;
    if (ns < 0) { /* shape computed at run time: rank from its length */
        oc_value *s = oc_infer_in(cx, 1);
        if (!s || s->rank != 1 || s->dims[0] < 0)
            return oc_infer_set_out(cx, 0, x->dtype, -1, NULL);
        if (s->dims[0] > OC_MAX_RANK)
            return oc_infer_fail(cx, "target shape has %lld entries; at most %d are supported",
                                 (long long)s->dims[0], OC_MAX_RANK);
        int r = x->rank > (int)s->dims[0] ? x->rank : (int)s->dims[0];
        int64_t dims[OC_MAX_RANK];
        for (int i = 0; i < r; i++) {
            /* an input dim other than 1 survives broadcasting unchanged */
            int k = i - (r - x->rank);
            dims[i] = k >= 0 && x->dims[k] > 1 ? x->dims[k] : -1;
        }
        return oc_infer_set_out(cx, 0, x->dtype, r, dims);
    }
    oc_value tv = {0};
    tv.rank = ns;
    memcpy(tv.dims, shape, sizeof(int64_t) * (size_t)ns);
    const oc_value *v[2] = {x, &tv};
    int r;
    int64_t dims[OC_MAX_RANK];
    if (oc_infer_broadcast(cx, 2, v, &r, dims))
        return -1;
    return oc_infer_set_out(cx, 0, x->dtype, r, dims);
}

static int infer_tile(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t rep[OC_MAX_RANK];
    int nr = oc_infer_const_ints(cx, 1, rep, OC_MAX_RANK);
    if (nr == -3)
        return -1;
    if (nr < 0) { /* repeats computed at run time: rank only */
        int64_t dims[OC_MAX_RANK];
        for (int i = 0; i < x->rank; i++)
            dims[i] = x->dims[i] == 0 ? 0 : -1;
        return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
    }
    if (nr != x->rank)
        return oc_infer_fail(cx, "'repeats' has %d entries for rank %d", nr, x->rank);
    int64_t dims[OC_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (rep[i] < 0)
            return oc_infer_fail(cx, "negative repeat");
        if (x->dims[i] > 0 && rep[i] > INT64_MAX / x->dims[i])
            return oc_infer_fail(cx, "repeating dim %d (%lld) %lld times overflows", i, (long long)x->dims[i],
                                 (long long)rep[i]);
        dims[i] = x->dims[i] < 0 ? -1 : x->dims[i] * rep[i];
    }
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

/* ---- lowering (kernels in runtime/kernels/shape_ops.c) ----
 * Output shapes are fixed by the plan; inputs that decide a shape (shape,
 * starts, pads, repeats, ...) are read by the kernels at run time and
 * checked against it, so constant and computed inputs take one path. */

/* Element size of value k's type: 1, 2, 4 or 8, else an error. */
static int lower_es(const oc_value *v, oc_diag *d, int *es)
{
    size_t s = oc_dtype_size(v->dtype);
    /* strings move as 16-byte oc_str pairs; the planner lets them reach
     * only the ops that move elements (compiler/planner.c) */
    if (!(s == 1 || s == 2 || s == 4 || s == 8 || (s == 16 && v->dtype == OC_STRING)))
        return oc_fail(d, "element type %s of '%s' is not supported", oc_dtype_name(v->dtype), v->name);
    *es = (int)s;
    return 0;
}

static int lower_axis(const oc_node *n, const char *name, int64_t dflt, int rank, int *axis, oc_diag *d)
{
    int64_t a = oc_attr_int(n, name, dflt);
    if (a < -rank || a >= (rank ? rank : 1))
        return oc_fail(d, "%s %lld is outside [-%d, %d)", name, (long long)a, rank, rank);
    *axis = (int)(a < 0 ? a + rank : a);
    return 0;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity: the bytes do not move. */
static int lower_copy(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int es;
    if (lower_es(&g->values[n->in[0]], d, &es))
        return -1;
    oc_copy_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->check_reshape = !strcmp(n->op_type, "Reshape") && g->opset >= 5 && n->n_in > 1 && n->in[1] >= 0;
    p->allowzero = (int)oc_attr_int(n, "allowzero", 0);
    lw->fn = oc_copy_forward;
    return 0;
}

/* Transpose: output dim i walks input dim perm[i]. */
static int lower_transpose(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_view_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(x, d, &p->es))
        return -1;
    const int64_t *perm;
    int np = oc_attr_ints(n, "perm", &perm);
    if (np >= 0 && np != x->rank)
        return oc_fail(d, "'perm' has %d entries for rank %d", np, x->rank);
    int64_t xs[OC_MAX_RANK], s = 1;
    for (int i = x->rank - 1; i >= 0; i--) {
        xs[i] = s;
        s *= x->dims[i];
    }
    p->rank = x->rank;
    for (int i = 0; i < x->rank; i++) {
        int64_t k = np >= 0 ? perm[i] : x->rank - 1 - i;
        if (k < 0 || k >= x->rank)
            return oc_fail(d, "'perm' is not a permutation of 0..%d", x->rank - 1);
        p->dims[i] = x->dims[k];
        p->strides[i] = xs[k];
    }
    oc_view_simplify(p);
    lw->fn = oc_view_forward;
    return 0;
}

static int lower_expand(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int es;
    if (lower_es(&g->values[n->in[0]], d, &es))
        return -1;
    lw->fn = oc_expand_forward;
    return 0;
}

/* Slice parameters for the forward op and its gradient op, whose bound
 * inputs sit `shift` places later (SliceGrad takes dY before X): bounds
 * are read at run time from inputs (opset 10+) or from attributes. */
static oc_slice_params *slice_params(const oc_graph *g, const oc_node *n, int shift, oc_lowered *lw, oc_diag *d)
{
    oc_slice_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(&g->values[n->in[0]], d, &p->es))
        return NULL;
    if (g->opset >= 10) {
        if (n->n_in < 3 + shift || n->in[1 + shift] < 0 || n->in[2 + shift] < 0) {
            oc_fail(d, "needs starts and ends inputs");
            return NULL;
        }
        p->from_inputs = 1;
        return p;
    }
    const int64_t *st, *e, *ax;
    int ns = oc_attr_ints(n, "starts", &st), ne = oc_attr_ints(n, "ends", &e), na = oc_attr_ints(n, "axes", &ax);
    if (ns < 0 || ns != ne || ns > OC_MAX_RANK || (na >= 0 && na != ns)) {
        oc_fail(d, "starts, ends and axes must have the same length (at most %d)", OC_MAX_RANK);
        return NULL;
    }
    p->n = ns;
    p->has_axes = na >= 0;
    for (int i = 0; i < ns; i++) {
        p->starts[i] = st[i];
        p->ends[i] = e[i];
        p->axes[i] = na >= 0 ? ax[i] : i;
    }
    return p;
}

static int lower_slice(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (!slice_params(g, n, 0, lw, d))
        return -1;
    lw->fn = oc_slice_forward;
    return 0;
}

static int lower_concat(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    oc_axis_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(y, d, &p->es) || lower_axis(n, "axis", 0, y->rank, &p->axis, d))
        return -1;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] < 0 || g->values[n->in[k]].dtype != y->dtype)
            return oc_fail(d, "input %d is missing or not %s", k, oc_dtype_name(y->dtype));
    lw->fn = oc_concat_forward;
    return 0;
}

static int lower_split(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_axis_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(x, d, &p->es) || lower_axis(n, "axis", 0, x->rank, &p->axis, d))
        return -1;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] < 0)
            return oc_fail(d, "output %d is omitted; Split needs every output", k);
    lw->fn = oc_split_forward;
    return 0;
}

static int is_index_dtype(int t) { return t == OC_INT32 || t == OC_INT64; }

static int lower_gather(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *idx = &g->values[n->in[1]];
    if (!is_index_dtype(idx->dtype))
        return oc_fail(d, "indices must be int32 or int64, got %s", oc_dtype_name(idx->dtype));
    oc_axis_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(x, d, &p->es) || lower_axis(n, "axis", 0, x->rank, &p->axis, d))
        return -1;
    lw->fn = oc_gather_forward;
    return 0;
}

static int lower_tile(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int es;
    if (lower_es(&g->values[n->in[0]], d, &es))
        return -1;
    lw->fn = oc_tile_forward;
    return 0;
}

static int lower_pad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_pad_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(x, d, &p->es))
        return -1;
    p->dtype = x->dtype;
    const char *mode = oc_attr_string(n, "mode", "constant");
    if (!strcmp(mode, "constant"))
        p->mode = OC_PAD_CONSTANT;
    else if (!strcmp(mode, "reflect"))
        p->mode = OC_PAD_REFLECT;
    else if (!strcmp(mode, "edge"))
        p->mode = OC_PAD_EDGE;
    else if (!strcmp(mode, "wrap"))
        p->mode = OC_PAD_WRAP;
    else
        return oc_fail(d, "unknown pad mode '%s'", mode);
    if (g->opset >= 11) {
        if (n->n_in < 2 || n->in[1] < 0)
            return oc_fail(d, "needs input 'pads'");
        p->from_inputs = 1;
    } else {
        const int64_t *pads;
        int np = oc_attr_ints(n, "pads", &pads);
        if (np < 0 || np > 2 * OC_MAX_RANK)
            return oc_fail(d, "needs attribute 'pads' (at most %d entries)", 2 * OC_MAX_RANK);
        p->npads = np;
        memcpy(p->pads, pads, sizeof(int64_t) * (size_t)np);
        p->value = oc_attr_float(n, "value", 0.0f);
    }
    oc_tensor y;
    oc_value_view(&g->values[n->out[0]], &y);
    lw->scratch = oc_pad_scratch(&y);
    lw->fn = oc_pad_forward;
    return 0;
}

/* Cast / CastLike between every type onnxc holds (strings and complex
 * are not). saturate (opset 19) and round_mode (opset 24) only change
 * conversions into the float8 types; runtime/dtype.h has the rules. */
static int lower_cast(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    int es;
    if (lower_es(x, d, &es) || lower_es(y, d, &es)) {
        oc_diag_prefix(d, "Cast from %s to %s: ", oc_dtype_name(x->dtype), oc_dtype_name(y->dtype));
        return -1;
    }
    int64_t saturate = oc_attr_int(n, "saturate", 1);
    if (saturate != 0 && saturate != 1)
        return oc_fail(d, "saturate must be 0 or 1, got %lld", (long long)saturate);
    static const char *const modes[] = {[OC_ROUND_UP] = "up", [OC_ROUND_DOWN] = "down", [OC_ROUND_NEAREST] = "nearest"};
    const char *rm = oc_attr_string(n, "round_mode", "up");
    int mode = -1;
    for (int k = 0; k < (int)(sizeof modes / sizeof modes[0]); k++)
        if (!strcmp(rm, modes[k]))
            mode = k;
    if (mode < 0)
        return oc_fail(d, "round_mode '%s' is not one of up, down, nearest", rm);
    oc_cast_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->from = x->dtype;
    p->to = y->dtype;
    p->saturate = (int)saturate;
    p->round_mode = mode;
    lw->fn = oc_cast_forward;
    return 0;
}

/* Dropout: a copy (and an all-true mask) in inference mode; in training
 * mode (training_mode input true, or is_test = 0 before opset 7) a mask
 * drawn from the node's seed (OC_DROPOUT_SEED when absent). Before opset
 * 12 the ratio is an attribute. */
static int lower_dropout(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int es;
    if (lower_es(&g->values[n->in[0]], d, &es))
        return -1;
    oc_dropout_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->ratio = g->opset < 12 ? oc_attr_float(n, "ratio", 0.5f) : -1.0f;
    p->training = g->opset < 7 && !oc_attr_int(n, "is_test", 0);
    p->seed = oc_node_attr(n, "seed") ? (uint64_t)oc_attr_int(n, "seed", 0) : OC_DROPOUT_SEED;
    if (n->n_out > 1 && n->out[1] >= 0 && g->values[n->out[1]].dtype != OC_BOOL)
        return oc_fail(d, "the mask output must be bool");
    lw->fn = oc_dropout_forward;
    return 0;
}

static int lower_constant_of_shape(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    const oc_attr *va = oc_node_attr(n, "value");
    oc_fill_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(y, d, &p->es))
        return -1;
    if (va && va->t) {
        if (va->t->dtype != y->dtype || va->t->numel != 1)
            return oc_fail(d, "'value' must be one %s element", oc_dtype_name(y->dtype));
        memcpy(p->value, va->t->data, (size_t)p->es);
    } /* default: float 0, all-zero bytes */
    lw->fn = oc_constant_of_shape_forward;
    return 0;
}

static int lower_range(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    int es;
    if (lower_es(y, d, &es) || y->dtype == OC_BOOL)
        return oc_fail(d, "Range over %s is not supported", oc_dtype_name(y->dtype));
    for (int k = 0; k < 3; k++)
        if (oc_value_numel(&g->values[n->in[k]]) != 1)
            return oc_fail(d, "input %d must be a scalar", k);
    lw->fn = oc_range_forward;
    return 0;
}

static int lower_shape(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_shape_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    int64_t r = x->rank, s = oc_attr_int(n, "start", 0), e = oc_attr_int(n, "end", r);
    s = s < 0 ? s + r : s;
    e = e < 0 ? e + r : e;
    p->start = s < 0 ? 0 : (s > r ? r : s);
    p->end = e < p->start ? p->start : (e > r ? r : e);
    lw->fn = oc_shape_forward;
    return 0;
}

static int lower_size(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    (void)n;
    (void)d;
    lw->fn = oc_size_forward;
    return 0;
}

/* Constant is normally folded by shape inference; when it reaches the
 * plan, its bytes travel in the parameter block. */
static int lower_constant(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    int es;
    if (lower_es(y, d, &es))
        return -1;
    if (!y->constant)
        return oc_fail(d, "the constant's value is not known");
    size_t nb = oc_tensor_nbytes(y->constant);
    oc_const_params *p = oc_lower_params(lw, sizeof *p + nb, d);
    if (!p)
        return -1;
    p->nbytes = nb;
    if (nb)
        memcpy(p->data, y->constant->data, nb);
    lw->fn = oc_constant_forward;
    return 0;
}

/* ---- gradient rules ---- */

/* Identity: dX = dY */
static int grad_identity(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    (void)cx;
    (void)nid;
    if (need[0])
        dx[0] = dy[0];
    return 0;
}

/* Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze): dX = reshape(dY,
 * shape of X), with X's shape as a constant. */
static int grad_reshape(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    int x = cx->g->nodes[nid].in[0];
    const oc_value *xv = &cx->g->values[x];
    int64_t r = xv->rank;
    oc_tensor *shape = oc_tensor_new(OC_INT64, 1, &r, cx->d);
    if (!shape)
        return -1;
    for (int i = 0; i < xv->rank; i++)
        ((int64_t *)shape->data)[i] = xv->dims[i];
    char name[96];
    snprintf(name, sizeof name, "grad/shape_%d", cx->counter++);
    int sid = oc_graph_add_initializer(cx->g, name, shape, cx->d);
    if (sid < 0)
        return -1;
    cx->g->values[sid].flags &= ~OC_VALUE_INITIALIZER; /* a constant, not a weight */
    int in[2] = {dy[0], sid};
    return oc_grad_add(cx, "Reshape", 0, 2, in, 1, &dx[0]) < 0 ? -1 : 0;
}

/* Value id of a constant t (taken) for gradient nodes: data, not a
 * trainable initializer. */
static int grad_constant(oc_grad_ctx *cx, const char *stem, oc_tensor *t)
{
    char name[96];
    snprintf(name, sizeof name, "grad/%s_%d", stem, cx->counter++);
    int id = oc_graph_add_initializer(cx->g, name, t, cx->d);
    if (id >= 0)
        cx->g->values[id].flags &= ~OC_VALUE_INITIALIZER;
    return id;
}

static int grad_ints(oc_grad_ctx *cx, int n, const int64_t *v)
{
    int64_t len = n;
    oc_tensor *t = oc_tensor_new(OC_INT64, 1, &len, cx->d);
    if (!t)
        return -1;
    if (n)
        memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    return grad_constant(cx, "ints", t);
}

/* Zeros shaped like value `like`, in the gradient's dtype. */
static int grad_zeros(oc_grad_ctx *cx, int like, int dtype)
{
    const oc_value *v = &cx->g->values[like];
    oc_tensor *t = oc_tensor_new(dtype, v->rank, v->dims, cx->d);
    return t ? grad_constant(cx, "zeros", t) : -1;
}

/* Static shapes are needed wherever a rule reads a dim. */
static int grad_static(oc_grad_ctx *cx, int v)
{
    if (oc_value_numel(&cx->g->values[v]) < 0)
        return oc_fail(cx->d, "'%s' needs a static shape to be differentiated", cx->g->values[v].name);
    return 0;
}

/* dY[begin:end] along axis: a Slice node in the graph opset's form. */
static int grad_slice_axis(oc_grad_ctx *cx, int dy, int64_t axis, int64_t begin, int64_t end, int *out)
{
    if (cx->g->opset >= 10) {
        int in[4] = {dy, grad_ints(cx, 1, &begin), grad_ints(cx, 1, &end), grad_ints(cx, 1, &axis)};
        if (in[1] < 0 || in[2] < 0 || in[3] < 0)
            return -1;
        return oc_grad_add(cx, "Slice", 0, 4, in, 1, out) < 0 ? -1 : 0;
    }
    int gid = oc_grad_add(cx, "Slice", 0, 1, &dy, 1, out);
    if (gid < 0 || oc_node_set_ints(cx->g, gid, "starts", 1, &begin, cx->d) ||
        oc_node_set_ints(cx->g, gid, "ends", 1, &end, cx->d) || oc_node_set_ints(cx->g, gid, "axes", 1, &axis, cx->d))
        return -1;
    return 0;
}

/* Concat along axis: dX_k = dY[offset_k : offset_k + len_k] along axis. */
static int grad_concat(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int rank = cx->g->values[n->out[0]].rank;
    int64_t axis = oc_attr_int(n, "axis", 0), at = 0;
    int n_in = n->n_in;
    if (axis < 0)
        axis += rank;
    for (int k = 0; k < n_in; k++) {
        n = &cx->g->nodes[nid]; /* the node array grows */
        if (grad_static(cx, n->in[k]))
            return -1;
        int64_t len = cx->g->values[n->in[k]].dims[axis];
        if (need[k] && grad_slice_axis(cx, dy[0], axis, at, at + len, &dx[k]))
            return -1;
        at += len;
    }
    return 0;
}

/* Split along axis: dX = Concat(dY_0, ..., dY_{n-1}) with zeros for the
 * outputs no gradient reaches; chained in groups (a gradient node takes
 * at most 16 inputs). */
static int grad_split(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int n_out = n->n_out, dtype = cx->g->values[n->in[0]].dtype;
    int64_t axis = oc_attr_int(n, "axis", 0);
    int parts[64];
    for (int k = 0; k < n_out; k++) {
        n = &cx->g->nodes[nid];
        if (dy[k] >= 0) {
            parts[k] = dy[k];
            continue;
        }
        int o = n->out[k];
        if (o < 0 || grad_static(cx, o))
            return oc_fail(cx->d, "output %d of Split needs a static shape to be differentiated", k);
        if ((parts[k] = grad_zeros(cx, o, dtype)) < 0)
            return -1;
    }
    if (n_out == 1) {
        dx[0] = parts[0];
        return 0;
    }
    int acc = -1;
    for (int at = 0; at < n_out;) {
        int in[16], m = 0;
        if (acc >= 0)
            in[m++] = acc;
        while (at < n_out && m < 16)
            in[m++] = parts[at++];
        int gid = oc_grad_add(cx, "Concat", 0, m, in, 1, &acc);
        if (gid < 0 || oc_node_set_int(cx->g, gid, "axis", axis, cx->d))
            return -1;
    }
    dx[0] = acc;
    return 0;
}

/* Copies integer-list attribute `name` (when present) from node src to
 * gradient node dst. */
static int grad_copy_ints(oc_grad_ctx *cx, int src, int dst, const char *name)
{
    const int64_t *v;
    int k = oc_attr_ints(&cx->g->nodes[src], name, &v);
    if (k < 0)
        return 0;
    int64_t buf[2 * OC_MAX_RANK];
    if (k > 2 * OC_MAX_RANK)
        return oc_fail(cx->d, "attribute '%s' has %d entries", name, k);
    memcpy(buf, v, sizeof(int64_t) * (size_t)k); /* the attribute array may move */
    return oc_node_set_ints(cx->g, dst, name, k, buf, cx->d);
}

/* Slice: dX = zeros with dY written back where the slice read
 * (SliceGrad, same bounds as the forward). */
static int grad_slice(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int in[6] = {dy[0], n->in[0], -1, -1, -1, -1}, nin = 2;
    if (cx->g->opset >= 10)
        for (int k = 1; k < n->n_in && k < 5; k++)
            in[nin++] = n->in[k];
    int gid = oc_grad_add(cx, "SliceGrad", 1, nin, in, 1, &dx[0]);
    if (gid < 0)
        return -1;
    if (cx->g->opset < 10 && (grad_copy_ints(cx, nid, gid, "starts") || grad_copy_ints(cx, nid, gid, "ends") ||
                              grad_copy_ints(cx, nid, gid, "axes")))
        return -1;
    return 0;
}

/* Transpose by perm: dX = Transpose(dY) by the inverse permutation. */
static int grad_transpose(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int rank = cx->g->values[n->in[0]].rank;
    const int64_t *perm;
    int np = oc_attr_ints(n, "perm", &perm);
    int64_t inv[OC_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        int64_t p = np >= 0 ? perm[i] : rank - 1 - i;
        if (p < 0 || p >= rank)
            return oc_fail(cx->d, "'perm' is not a permutation");
        inv[p] = i;
    }
    int gid = oc_grad_add(cx, "Transpose", 0, 1, &dy[0], 1, &dx[0]);
    return gid < 0 || oc_node_set_ints(cx->g, gid, "perm", rank, inv, cx->d) ? -1 : 0;
}

/* Pad: dX[s] = sum of dY over the positions whose source is s (PadGrad;
 * for constant mode exactly the interior, cropped or zero-extended where
 * the pads are negative). The constant value is not differentiated. */
static int grad_pad(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int in[5] = {dy[0], n->in[0], -1, -1, -1}, nin = 2;
    if (cx->g->opset >= 11) {
        in[2] = n->in[1];
        in[4] = n->n_in > 3 ? n->in[3] : -1;
        nin = in[4] >= 0 ? 5 : 3;
    }
    char mode[16];
    snprintf(mode, sizeof mode, "%s", oc_attr_string(n, "mode", "constant"));
    int gid = oc_grad_add(cx, "PadGrad", 1, nin, in, 1, &dx[0]);
    if (gid < 0 || oc_node_set_string(cx->g, gid, "mode", mode, cx->d))
        return -1;
    return cx->g->opset < 11 ? grad_copy_ints(cx, nid, gid, "pads") : 0;
}

/* Gather along axis: dData = scatter-add of dY at the indices
 * (GatherGrad); the indices get no gradient. */
static int grad_gather(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int64_t axis = oc_attr_int(n, "axis", 0);
    int in[3] = {dy[0], n->in[0], n->in[1]};
    int gid = oc_grad_add(cx, "GatherGrad", 1, 3, in, 1, &dx[0]);
    return gid < 0 || oc_node_set_int(cx->g, gid, "axis", axis, cx->d) ? -1 : 0;
}

/* Expand: dX = dY summed over the broadcast dims. */
static int grad_expand(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (need[0] && (dx[0] = oc_grad_unbroadcast(cx, dy[0], cx->g->nodes[nid].in[0])) < 0)
        return -1;
    return 0;
}

/* Tile: dX = the sum of dY's tiles (TileGrad). */
static int grad_tile(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    int in[2] = {dy[0], cx->g->nodes[nid].in[0]};
    return oc_grad_add(cx, "TileGrad", 1, 2, in, 1, &dx[0]) < 0 ? -1 : 0;
}

/* The mask output of Dropout node nid, added when the model omitted it. */
static int dropout_mask(oc_grad_ctx *cx, int nid)
{
    oc_graph *g = cx->g;
    oc_node *n = &g->nodes[nid];
    if (n->n_out > 1 && n->out[1] >= 0)
        return n->out[1];
    char name[300];
    snprintf(name, sizeof name, "%s/mask_%d", g->values[n->out[0]].name, cx->counter++);
    int v = oc_graph_add_value(g, name, cx->d);
    if (v < 0)
        return -1;
    n = &g->nodes[nid];
    if (n->n_out < 2) {
        int *out = realloc(n->out, sizeof(int) * 3); /* graph arrays keep one spare slot */
        if (!out)
            return oc_fail(cx->d, "out of memory");
        out[1] = -1;
        out[2] = 0;
        n->out = out;
        n->n_out = 2;
    }
    n->out[1] = v;
    g->values[v].producer = nid;
    const oc_value *x = &g->values[n->in[0]];
    oc_value_set_type(&g->values[v], OC_BOOL, x->rank, x->dims);
    return v;
}

/* Gives Dropout node nid a constant true training_mode input (opset 12+). */
static int dropout_set_training(oc_grad_ctx *cx, int nid)
{
    oc_tensor *t = oc_tensor_new(OC_BOOL, 0, NULL, cx->d);
    if (!t)
        return -1;
    *(unsigned char *)t->data = 1;
    int id = grad_constant(cx, "training_mode", t);
    if (id < 0)
        return -1;
    oc_node *n = &cx->g->nodes[nid];
    int *in = realloc(n->in, sizeof(int) * 4);
    if (!in)
        return oc_fail(cx->d, "out of memory");
    for (int k = n->n_in; k < 4; k++)
        in[k] = k == 3 ? 0 : -1;
    in[2] = id;
    n->in = in;
    n->n_in = 3;
    return 0;
}

/* Dropout. Inference: dX = dY. Training (training_mode input, is_test = 0
 * before opset 7, or an autodiff context in training mode when the model
 * leaves training_mode out): dX = dY * mask / (1 - ratio) (DropoutGrad,
 * which also checks training_mode at run time). */
static int grad_dropout(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0] || dy[0] < 0)
        return 0;
    oc_graph *g = cx->g;
    const oc_node *n = &g->nodes[nid];
    int tm = n->n_in > 2 ? n->in[2] : -1;
    int training = g->opset < 7 ? !oc_attr_int(n, "is_test", 0) : tm >= 0;
    const oc_tensor *tc = tm >= 0 ? g->values[tm].constant : NULL;
    if (tc && tc->numel == 1 && oc_tensor_get_f64(tc, 0) == 0)
        training = 0; /* constant false */
    if (tm < 0 && g->opset >= 12 && cx->train_mode) {
        if (dropout_set_training(cx, nid))
            return -1;
        training = 1;
    }
    if (!training) {
        dx[0] = dy[0];
        return 0;
    }
    int mask = dropout_mask(cx, nid);
    if (mask < 0)
        return -1;
    n = &g->nodes[nid];
    int in[4] = {dy[0], mask, n->n_in > 1 ? n->in[1] : -1, n->n_in > 2 ? n->in[2] : -1};
    int gid = oc_grad_add(cx, "DropoutGrad", 1, in[3] >= 0 ? 4 : (in[2] >= 0 ? 3 : 2), in, 1, &dx[0]);
    if (gid < 0)
        return -1;
    n = &g->nodes[nid];
    if (g->opset < 12 && oc_node_set_float(g, gid, "ratio", oc_attr_float(n, "ratio", 0.5f), cx->d))
        return -1;
    n = &g->nodes[nid];
    if (g->opset < 7 && oc_node_set_int(g, gid, "is_test", oc_attr_int(n, "is_test", 0), cx->d))
        return -1;
    return 0;
}

/* ---- gradient ops (domain ai.onnxc): shape rules and lowering ---- */

/* dX (output 0) has the forward input's shape (input 1), dY's dtype. */
static int infer_grad_like_x(oc_infer *cx)
{
    oc_value *dy = oc_infer_in(cx, 0), *x = oc_infer_in_ranked(cx, 1);
    if (!dy || !x)
        return dy ? -1 : oc_infer_fail(cx, "needs dY");
    return oc_infer_set_out(cx, 0, dy->dtype, x->rank, x->dims);
}

static int infer_grad_like_dy(oc_infer *cx)
{
    if (!oc_infer_in(cx, 0))
        return oc_infer_fail(cx, "needs dY");
    return oc_infer_same_as(cx, 0, 0);
}

static int lower_float_grad(const oc_graph *g, const oc_node *n, oc_diag *d)
{
    int t = g->values[n->in[0]].dtype;
    if (t != OC_FLOAT && t != OC_DOUBLE)
        return oc_fail(d, "%s supports float32 and float64 gradients, got %s", n->op_type, oc_dtype_name(t));
    return 0;
}

static int lower_slice_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (!slice_params(g, n, 1, lw, d))
        return -1;
    lw->fn = oc_slice_backward;
    return 0;
}

static int lower_pad_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]];
    oc_pad_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_float_grad(g, n, d) || lower_es(dy, d, &p->es))
        return -1;
    p->dtype = dy->dtype;
    const char *mode = oc_attr_string(n, "mode", "constant");
    p->mode = !strcmp(mode, "reflect") ? OC_PAD_REFLECT
              : !strcmp(mode, "edge")  ? OC_PAD_EDGE
              : !strcmp(mode, "wrap")  ? OC_PAD_WRAP
                                       : OC_PAD_CONSTANT;
    if (p->mode == OC_PAD_CONSTANT && strcmp(mode, "constant"))
        return oc_fail(d, "unknown pad mode '%s'", mode);
    if (g->opset >= 11) {
        if (n->n_in < 3 || n->in[2] < 0)
            return oc_fail(d, "needs input 'pads'");
        p->from_inputs = 1;
    } else {
        const int64_t *pads;
        int np = oc_attr_ints(n, "pads", &pads);
        if (np < 0 || np > 2 * OC_MAX_RANK)
            return oc_fail(d, "needs attribute 'pads' (at most %d entries)", 2 * OC_MAX_RANK);
        p->npads = np;
        memcpy(p->pads, pads, sizeof(int64_t) * (size_t)np);
    }
    oc_tensor t;
    oc_value_view(dy, &t);
    lw->scratch = oc_pad_scratch(&t);
    lw->fn = oc_pad_backward;
    return 0;
}

static int lower_gather_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[1]], *idx = &g->values[n->in[2]];
    if (!is_index_dtype(idx->dtype))
        return oc_fail(d, "indices must be int32 or int64, got %s", oc_dtype_name(idx->dtype));
    oc_axis_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_float_grad(g, n, d) || lower_es(&g->values[n->in[0]], d, &p->es) ||
        lower_axis(n, "axis", 0, x->rank, &p->axis, d))
        return -1;
    lw->fn = oc_gather_backward;
    return 0;
}

static int lower_tile_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (lower_float_grad(g, n, d))
        return -1;
    lw->fn = oc_tile_backward;
    return 0;
}

static int lower_dropout_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_dropout_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_float_grad(g, n, d))
        return -1;
    if (g->values[n->in[1]].dtype != OC_BOOL)
        return oc_fail(d, "the mask must be bool");
    p->ratio = g->opset < 12 ? oc_attr_float(n, "ratio", 0.5f) : -1.0f;
    p->training = g->opset < 7 && !oc_attr_int(n, "is_test", 0);
    lw->fn = oc_dropout_backward;
    return 0;
}

const oc_op oc_ops_shape_grad[] = {
    {.name = "SliceGrad", .min_in = 2, .max_in = 6, .min_out = 1, .max_out = 1,
     .infer = infer_grad_like_x, .lower = lower_slice_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "PadGrad", .min_in = 2, .max_in = 5, .min_out = 1, .max_out = 1,
     .infer = infer_grad_like_x, .lower = lower_pad_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "GatherGrad", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .infer = infer_grad_like_x, .lower = lower_gather_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "TileGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_grad_like_x, .lower = lower_tile_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "DropoutGrad", .min_in = 2, .max_in = 4, .min_out = 1, .max_out = 1,
     .infer = infer_grad_like_dy, .lower = lower_dropout_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

const oc_op oc_ops_shape[] = {
    {"Reshape", 1, 2, 1, 1, infer_reshape, NULL, 0, 0, lower_copy, grad_reshape},
    {"Flatten", 1, 1, 1, 1, infer_flatten, NULL, 0, 0, lower_copy, grad_reshape},
    {"Transpose", 1, 1, 1, 1, infer_transpose, NULL, 0, 0, lower_transpose, grad_transpose},
    {"Squeeze", 1, 2, 1, 1, infer_squeeze, NULL, 0, 0, lower_copy, grad_reshape},
    {"Unsqueeze", 1, 2, 1, 1, infer_unsqueeze, NULL, 0, 0, lower_copy, grad_reshape},
    {"Concat", 1, 1024, 1, 1, infer_concat, NULL, 0, 0, lower_concat, grad_concat},
    {"Split", 1, 2, 1, 64, infer_split, NULL, 0, 0, lower_split, grad_split},
    {"Slice", 1, 5, 1, 1, infer_slice, NULL, 0, 0, lower_slice, grad_slice},
    {"Gather", 2, 2, 1, 1, infer_gather, NULL, 0, 0, lower_gather, grad_gather},
    {"Shape", 1, 1, 1, 1, infer_shape, NULL, 0, 0, lower_shape},
    {"Size", 1, 1, 1, 1, infer_size, NULL, 0, 0, lower_size},
    {"Constant", 0, 0, 1, 1, infer_constant, NULL, 0, 0, lower_constant},
    {"ConstantOfShape", 1, 1, 1, 1, infer_constant_of_shape, NULL, 0, 0, lower_constant_of_shape},
    {"Range", 3, 3, 1, 1, infer_range, NULL, 0, 0, lower_range},
    {"Identity", 1, 1, 1, 1, infer_identity, NULL, 0, 0, lower_copy, grad_identity},
    {"Cast", 1, 1, 1, 1, infer_cast, NULL, 0, 0, lower_cast},
    {"CastLike", 2, 2, 1, 1, infer_cast, NULL, 0, 0, lower_cast},
    {"Dropout", 1, 3, 1, 2, infer_dropout, NULL, 0, (1u << 1) | (1u << 2), lower_dropout, grad_dropout},
    {"Pad", 1, 4, 1, 1, infer_pad, NULL, 0, (1u << 1) | (1u << 2) | (1u << 3), lower_pad, grad_pad},
    {"Expand", 2, 2, 1, 1, infer_expand, NULL, 0, 0, lower_expand, grad_expand},
    {"Tile", 2, 2, 1, 1, infer_tile, NULL, 0, 0, lower_tile, grad_tile},
    {0},
};
