/* gemm.c: Gemm (Y = alpha * A' * B' + beta * C), MatMul (numpy matmul
 * semantics: 1-D operands are promoted and the added dim removed again,
 * leading dims broadcast) and Einsum (opset 12: explicit and implicit
 * equations with one broadcast ellipsis). Gradient rules: Gemm (two Gemm
 * nodes) and MatMul (onnxc's MatMulGrad op). */
#include "op.h"

#include <limits.h>
#include <string.h>

#include "../../runtime/kernels/gemm.h"
#include "../../runtime/kernels/sgemm.h"
#include "fused.h"

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


/* ---- lowering ---- */

/* BLAS takes int sizes: every matrix extent must fit. */
static int blas_fits(const int64_t *v, int nv, oc_diag *d)
{
    for (int i = 0; i < nv; i++)
        if (v[i] < 0 || v[i] > INT_MAX)
            return oc_fail(d, "a GEMM extent of %lld exceeds the BLAS int range", (long long)v[i]);
    return 0;
}

static int lower_gemm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
    const oc_value *c = n->n_in > 2 && n->in[2] >= 0 ? &g->values[n->in[2]] : NULL;
    if (a->dtype != OC_FLOAT || b->dtype != OC_FLOAT || (c && c->dtype != OC_FLOAT))
        return oc_fail(d, "Gemm supports float32 only, got %s", oc_dtype_name(a->dtype));
    oc_gemm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->trans_a = oc_attr_int(n, "transA", 0) != 0;
    p->trans_b = oc_attr_int(n, "transB", 0) != 0;
    p->alpha = oc_attr_float(n, "alpha", 1.0f);
    p->beta = oc_attr_float(n, "beta", 1.0f);
    p->m = a->dims[p->trans_a ? 1 : 0];
    p->k = a->dims[p->trans_a ? 0 : 1];
    p->n = b->dims[p->trans_b ? 0 : 1];
    int64_t ext[3] = {p->m, p->n, p->k};
    if (blas_fits(ext, 3, d))
        return -1;
    if (c) {
        /* C right-aligned against [M, N]; a dim of extent 1 broadcasts */
        if (c->rank > 2)
            return oc_fail(d, "Gemm: C must have rank <= 2, got %d", c->rank);
        p->has_c = 1;
        p->c_stride[1] = c->rank >= 1 && c->dims[c->rank - 1] != 1 ? 1 : 0;
        p->c_stride[0] = c->rank == 2 && c->dims[0] != 1 ? c->dims[1] : 0;
    }
    lw->fn = oc_gemm_forward;
    lw->tscratch = oc_sgemm_scratch_bytes();
    /* a fully connected layer at small batch with constant weights: the
     * kernel streams the weights, packed once at plan time */
    if (!p->trans_a && p->alpha == 1.0f && p->m <= OC_GEMM_SKINNY_MAX_M && b->constant &&
        !(b->flags & OC_VALUE_VARIABLE)) {
        p->skinny = 1;
        lw->scratch = sizeof(float) * (size_t)(p->m * p->n);
    }
    return 0;
}

/* Promotes 1-D operands, broadcasts the batch dims and records each
 * operand's element stride per output batch dim (0 where it broadcasts). */
static int matmul_geometry(const oc_value *a, const oc_value *b, oc_matmul_params *p, oc_diag *d)
{
    int64_t ad[OC_MAX_RANK + 1], bd[OC_MAX_RANK + 1];
    int ar = a->rank, br = b->rank;
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ar);
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)br);
    if (ar == 1) { /* [K] -> [1, K] */
        ad[1] = ad[0];
        ad[0] = 1;
        ar = 2;
    }
    if (br == 1) { /* [K] -> [K, 1] */
        bd[1] = 1;
        br = 2;
    }
    p->dtype = a->dtype;
    p->m = ad[ar - 2];
    p->k = ad[ar - 1];
    p->n = bd[br - 1];
    if (bd[br - 2] != p->k)
        return oc_fail(d, "MatMul: inner dimensions differ (%lld vs %lld)", (long long)p->k, (long long)bd[br - 2]);
    int ab = ar - 2, bb = br - 2, r = ab > bb ? ab : bb;
    p->batch_rank = r;
    int64_t sa = p->m * p->k, sb = p->k * p->n;
    int fold = 1, b_shared = 1;
    int64_t nb = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ia = i - (r - ab), ib = i - (r - bb);
        int64_t ea = ia >= 0 ? ad[ia] : 1, eb = ib >= 0 ? bd[ib] : 1;
        if (ea != eb && ea != 1 && eb != 1)
            return oc_fail(d, "MatMul: batch dims %lld and %lld do not broadcast", (long long)ea, (long long)eb);
        p->batch[i] = ea > eb ? ea : eb;
        p->a_stride[i] = ea == 1 ? 0 : sa;
        p->b_stride[i] = eb == 1 ? 0 : sb;
        sa *= ea;
        sb *= eb;
        nb *= p->batch[i];
        b_shared &= p->b_stride[i] == 0;
        fold &= p->a_stride[i] != 0 || p->batch[i] == 1;
    }
    p->fold = fold && b_shared && r > 0;
    int64_t ext[3] = {p->fold ? p->m * nb : p->m, p->n, p->k};
    return blas_fits(ext, 3, d);
}

static int lower_matmul(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
    if (a->dtype != b->dtype ||
        (a->dtype != OC_FLOAT && a->dtype != OC_DOUBLE && a->dtype != OC_INT32 && a->dtype != OC_INT64))
        return oc_fail(d, "MatMul supports float32, float64, int32 and int64 operands of one type, got %s and %s",
                       oc_dtype_name(a->dtype), oc_dtype_name(b->dtype));
    oc_matmul_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || matmul_geometry(a, b, p, d))
        return -1;
    lw->fn = oc_matmul_forward;
    lw->tscratch = oc_sgemm_scratch_bytes();
    return 0;
}

/* ---- gradient rule ----
 * Y = alpha * op(A) * op(B) + beta * C, op = transpose when trans* is set:
 *   transA=0, transB=0: dA = dY B'      dB = A' dY
 *   transA=0, transB=1: dA = dY B       dB = dY' A
 *   transA=1, transB=0: dA = B dY'      dB = A dY
 *   transA=1, transB=1: dA = B' dY'     dB = dY' A'
 * each scaled by alpha; dC = beta * unbroadcast(dY). */
static int gemm_node(oc_grad_ctx *cx, int x, int y, int ta, int tb, float alpha, int *out)
{
    int in[2] = {x, y};
    int nid = oc_grad_add(cx, "Gemm", 0, 2, in, 1, out);
    if (nid < 0 || oc_node_set_int(cx->g, nid, "transA", ta, cx->d) || oc_node_set_int(cx->g, nid, "transB", tb, cx->d))
        return -1;
    if (alpha != 1.0f && oc_node_set_float(cx->g, nid, "alpha", alpha, cx->d))
        return -1;
    return 0;
}

static int grad_gemm(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int a = n->in[0], b = n->in[1], c = n->n_in > 2 ? n->in[2] : -1;
    int ta = oc_attr_int(n, "transA", 0) != 0, tb = oc_attr_int(n, "transB", 0) != 0;
    float alpha = oc_attr_float(n, "alpha", 1.0f), beta = oc_attr_float(n, "beta", 1.0f);
    int g = dy[0];
    if (need[0]) {
        int rc = !ta ? gemm_node(cx, g, b, 0, !tb, alpha, &dx[0]) : gemm_node(cx, b, g, tb, 1, alpha, &dx[0]);
        if (rc)
            return -1;
    }
    if (need[1]) {
        int rc = !tb ? gemm_node(cx, a, g, !ta, 0, alpha, &dx[1]) : gemm_node(cx, g, a, 1, ta, alpha, &dx[1]);
        if (rc)
            return -1;
    }
    if (c >= 0 && need[2]) {
        if (beta != 1.0f)
            return oc_fail(cx->d, "the gradient of C with beta != 1 is not supported yet");
        if ((dx[2] = oc_grad_unbroadcast(cx, g, c)) < 0)
            return -1;
    }
    return 0;
}

/* MatMul, Y = A B with numpy semantics: dA = MatMulGrad(dY, A, B; wrt 0)
 * = dY B^T and dB = MatMulGrad(dY, A, B; wrt 1) = A^T dY per batch, summed
 * over the batch dims an operand broadcast along; 1-D operands are
 * promoted as in the forward, so the results have A's and B's shapes. */
static int grad_matmul(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int in[3] = {dy[0], n->in[0], n->in[1]};
    for (int k = 0; k < 2; k++) {
        if (!need[k])
            continue;
        int gid = oc_grad_add(cx, "MatMulGrad", 1, 3, in, 1, &dx[k]);
        if (gid < 0 || oc_node_set_int(cx->g, gid, "wrt", k, cx->d))
            return -1;
    }
    return 0;
}

static int infer_matmul_grad(oc_infer *cx)
{
    int k = oc_attr_int(oc_infer_node(cx), "wrt", 0) ? 2 : 1;
    if (!oc_infer_in(cx, 0) || !oc_infer_in(cx, 1) || !oc_infer_in(cx, 2))
        return oc_infer_fail(cx, "needs dY, A and B");
    return oc_infer_same_as(cx, 0, k);
}

static int lower_matmul_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]], *a = &g->values[n->in[1]], *b = &g->values[n->in[2]];
    if (dy->dtype != OC_FLOAT || a->dtype != OC_FLOAT || b->dtype != OC_FLOAT)
        return oc_fail(d, "MatMulGrad supports float32 only");
    oc_matmul_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || matmul_geometry(a, b, p, d))
        return -1;
    p->fold = 0;
    lw->fn = oc_attr_int(n, "wrt", 0) ? oc_matmul_backward_b : oc_matmul_backward_a;
    lw->tscratch = oc_sgemm_scratch_bytes();
    return 0;
}

const oc_op oc_ops_gemm_grad[] = {
    {.name = "MatMulGrad", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .infer = infer_matmul_grad, .lower = lower_matmul_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

/* FusedGemm (ai.onnxc, see fused.h): Gemm plus epilogue; A, B, C, R. */
static int infer_fused_gemm(oc_infer *cx) { return infer_gemm(cx) || oc_fused_check_residual(cx, 3) ? -1 : 0; }

static int lower_fused_gemm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (lower_gemm(g, n, lw, d))
        return -1;
    return oc_fused_epilogue(g, n, 3, &((oc_gemm_params *)lw->params)->ep, d);
}

const oc_op oc_ops_gemm[] = {
    {"Gemm", 2, 3, 1, 1, infer_gemm, macs_gemm, 0, 0, lower_gemm, grad_gemm},
    {"FusedGemm", 2, 4, 1, 1, infer_fused_gemm, macs_gemm, 0, 0, lower_fused_gemm, .domain = OC_DOMAIN_ONNXC},
    {"MatMul", 2, 2, 1, 1, infer_matmul, macs_matmul, 0, 0, lower_matmul, grad_matmul},
    {0},
};
