/* gemm.c: Gemm (Y = alpha * A' * B' + beta * C) and MatMul (numpy matmul
 * semantics: 1-D operands are promoted and the added dim removed again,
 * leading dims broadcast). */
#include "op.h"

static int infer_gemm(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *a = oc_infer_in_ranked(cx, 0), *b = oc_infer_in_ranked(cx, 1);
    if (!a || !b)
        return -1;
    char sa[256], sb[256];
    if (a->rank != 2 || b->rank != 2)
        return oc_infer_fail(cx, "A and B must be 2-D, got %s and %s",
                             oc_format_dims(sa, sizeof sa, a->dims, a->rank),
                             oc_format_dims(sb, sizeof sb, b->dims, b->rank));
    int ta = oc_attr_int(n, "transA", 0) != 0, tb = oc_attr_int(n, "transB", 0) != 0;
    int64_t m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1];
    int64_t kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return oc_infer_fail(cx, "inner dimensions differ: A%s %s, B%s %s (K %lld vs %lld)", ta ? "'" : "",
                             oc_format_dims(sa, sizeof sa, a->dims, 2), tb ? "'" : "",
                             oc_format_dims(sb, sizeof sb, b->dims, 2), (long long)ka, (long long)kb);
    int64_t dims[2] = {m, nn};
    oc_value *c = oc_infer_in(cx, 2);
    if (c && c->rank >= 0) {
        oc_value tmp = {0};
        tmp.rank = 2;
        tmp.dims[0] = m;
        tmp.dims[1] = nn;
        const oc_value *v[2] = {&tmp, c};
        int r;
        int64_t bd[OC_MAX_RANK];
        if (c->rank > 2 || oc_infer_broadcast(cx, 2, v, &r, bd))
            return oc_infer_fail(cx, "C %s does not broadcast to [M, N]",
                                 oc_format_dims(sa, sizeof sa, c->dims, c->rank));
    }
    return oc_infer_set_out(cx, 0, a->dtype, 2, dims);
}

static int64_t macs_gemm(const oc_graph *g, const oc_node *n)
{
    const oc_value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    int64_t out = oc_value_numel(y);
    int64_t k = a->rank == 2 ? a->dims[oc_attr_int(n, "transA", 0) ? 0 : 1] : -1;
    return out < 0 || k < 0 ? -1 : out * k;
}

static int infer_matmul(oc_infer *cx)
{
    oc_value *a = oc_infer_in_ranked(cx, 0), *b = oc_infer_in_ranked(cx, 1);
    if (!a || !b)
        return -1;
    if (a->rank < 1 || b->rank < 1)
        return oc_infer_fail(cx, "operands must have rank >= 1");
    oc_value ea = *a, eb = *b; /* promoted copies */
    if (a->rank == 1) {
        ea.rank = 2;
        ea.dims[0] = 1;
        ea.dims[1] = a->dims[0];
    }
    if (b->rank == 1) {
        eb.rank = 2;
        eb.dims[0] = b->dims[0];
        eb.dims[1] = 1;
    }
    int64_t ka = ea.dims[ea.rank - 1], kb = eb.dims[eb.rank - 2];
    char sa[256], sb[256];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return oc_infer_fail(cx, "inner dimensions differ: %s x %s", oc_format_dims(sa, sizeof sa, a->dims, a->rank),
                             oc_format_dims(sb, sizeof sb, b->dims, b->rank));
    /* broadcast the batch dims */
    oc_value ba = ea, bb = eb;
    ba.rank -= 2;
    bb.rank -= 2;
    const oc_value *v[2] = {&ba, &bb};
    int r;
    int64_t dims[OC_MAX_RANK + 2];
    if (oc_infer_broadcast(cx, 2, v, &r, dims))
        return -1;
    if (a->rank > 1)
        dims[r++] = ea.dims[ea.rank - 2];
    if (b->rank > 1)
        dims[r++] = eb.dims[eb.rank - 1];
    return oc_infer_set_out(cx, 0, a->dtype, r, dims);
}

static int64_t macs_matmul(const oc_graph *g, const oc_node *n)
{
    const oc_value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    int64_t out = oc_value_numel(y);
    int64_t k = a->rank >= 1 ? a->dims[a->rank - 1] : -1;
    return out < 0 || k < 0 ? -1 : out * k;
}

const oc_op oc_ops_gemm[] = {
    {"Gemm", 2, 3, 1, 1, infer_gemm, macs_gemm, 0},
    {"MatMul", 2, 2, 1, 1, infer_matmul, macs_matmul, 0},
    {0},
};
