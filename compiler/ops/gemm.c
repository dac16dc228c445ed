/* gemm.c: Gemm (Y = alpha * A' * B' + beta * C), MatMul (numpy matmul
 * semantics: 1-D operands are promoted and the added dim removed again,
 * leading dims broadcast) and Einsum (opset 12: explicit and implicit
 * equations with one broadcast ellipsis). */
#include "op.h"

#include <limits.h>
#include <string.h>

#include "../../runtime/kernels/gemm.h"

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

/* Einsum letter -> slot 0..51 ('a'..'z', 'A'..'Z'), -1 otherwise. */
static int letter_slot(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* Merge extent e into *d for one letter or broadcast dim: unknown (-1)
 * yields to known, 1 broadcasts; else they must agree. */
static int merge_extent(int64_t *d, int64_t e, int bcast)
{
    if (e < 0 || *d == e)
        return 0;
    if (*d < 0 || (bcast && *d == 1)) {
        *d = e;
        return 0;
    }
    return bcast && e == 1 ? 0 : -1;
}

static int infer_einsum(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    const char *eq = oc_attr_string(n, "equation", NULL);
    if (!eq)
        return oc_infer_fail(cx, "needs attribute 'equation'");
    char e[512];
    size_t len = 0;
    for (const char *p = eq; *p; p++) /* spaces are allowed anywhere */
        if (*p != ' ') {
            if (len + 1 >= sizeof e)
                return oc_infer_fail(cx, "equation is too long");
            e[len++] = *p;
        }
    e[len] = 0;
    char *arrow = strstr(e, "->");
    if (arrow)
        *arrow = 0;
    int64_t size[52];
    int count[52] = {0};
    for (int i = 0; i < 52; i++)
        size[i] = -1;
    int ell_rank = -1; /* rank of the broadcast ellipsis dims, -1 while none seen */
    int64_t ell[OC_MAX_RANK];
    int dtype = 0, k = 0;
    for (char *term = e;; k++) {
        char *comma = strchr(term, ',');
        if (comma)
            *comma = 0;
        if (k >= n->n_in)
            return oc_infer_fail(cx, "equation '%s' names more operands than the %d inputs", eq, n->n_in);
        oc_value *x = oc_infer_in_ranked(cx, k);
        if (!x)
            return -1;
        if (!dtype)
            dtype = x->dtype;
        int letters = 0, has_ell = 0;
        for (char *p = term; *p; p++) {
            if (p[0] == '.' && p[1] == '.' && p[2] == '.' && !has_ell) {
                has_ell = 1;
                p += 2;
            } else if (letter_slot(*p) >= 0) {
                letters++;
            } else {
                return oc_infer_fail(cx, "equation '%s': unexpected '%c' in term %d", eq, *p, k);
            }
        }
        int er = x->rank - letters;
        if (er < 0 || (!has_ell && er != 0))
            return oc_infer_fail(cx, "equation '%s': term %d names %d dims but input %d has rank %d", eq, k, letters,
                                 k, x->rank);
        int d = 0;
        for (char *p = term; *p; p++) {
            if (*p == '.') {
                /* ellipsis dims broadcast with each other, aligned right */
                p += 2;
                int r = ell_rank > er ? ell_rank : er;
                int64_t merged[OC_MAX_RANK];
                for (int i = 0; i < r; i++) {
                    int a = i - (r - (ell_rank < 0 ? 0 : ell_rank)), b = i - (r - er);
                    merged[i] = a >= 0 ? ell[a] : 1;
                    if (b >= 0 && merge_extent(&merged[i], x->dims[d + b], 1))
                        return oc_infer_fail(cx, "equation '%s': ellipsis dims of input %d do not broadcast", eq, k);
                }
                memcpy(ell, merged, sizeof(int64_t) * (size_t)r);
                ell_rank = r;
                d += er;
                continue;
            }
            int sl = letter_slot(*p);
            count[sl]++;
            if (merge_extent(&size[sl], x->dims[d], 1))
                return oc_infer_fail(cx, "equation '%s': '%c' is %lld in input %d but %lld before", eq, *p,
                                     (long long)x->dims[d], k, (long long)size[sl]);
            d++;
        }
        if (!comma)
            break;
        term = comma + 1;
    }
    if (k + 1 != n->n_in)
        return oc_infer_fail(cx, "equation '%s' names %d operands for %d inputs", eq, k + 1, n->n_in);
    int64_t dims[OC_MAX_RANK];
    int r = 0;
    if (arrow) {
        int seen_ell = 0, used[52] = {0};
        for (char *p = arrow + 2; *p; p++) {
            if (p[0] == '.' && p[1] == '.' && p[2] == '.' && !seen_ell) {
                seen_ell = 1;
                p += 2;
                for (int i = 0; i < ell_rank; i++) {
                    if (r >= OC_MAX_RANK)
                        return oc_infer_fail(cx, "output rank exceeds %d", OC_MAX_RANK);
                    dims[r++] = ell[i];
                }
                continue;
            }
            int sl = letter_slot(*p);
            if (sl < 0 || !count[sl] || used[sl])
                return oc_infer_fail(cx, "equation '%s': output letter '%c' is not an input letter or repeats", eq, *p);
            used[sl] = 1;
            if (r >= OC_MAX_RANK)
                return oc_infer_fail(cx, "output rank exceeds %d", OC_MAX_RANK);
            dims[r++] = size[sl];
        }
        if (!seen_ell && ell_rank > 0)
            return oc_infer_fail(cx, "equation '%s': the output must keep the ellipsis dims", eq);
    } else {
        /* implicit output: ellipsis dims, then letters used once, sorted */
        for (int i = 0; i < ell_rank; i++)
            dims[r++] = ell[i];
        static const char order[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (const char *c = order; *c; c++) {
            int sl = letter_slot(*c);
            if (count[sl] != 1)
                continue;
            if (r >= OC_MAX_RANK)
                return oc_infer_fail(cx, "output rank exceeds %d", OC_MAX_RANK);
            dims[r++] = size[sl];
        }
    }
    return oc_infer_set_out(cx, 0, dtype, r, dims);
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
    return 0;
}

/* Promotes 1-D operands, broadcasts the batch dims and records each
 * operand's element stride per output batch dim (0 where it broadcasts). */
static int lower_matmul(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
    if (a->dtype != b->dtype ||
        (a->dtype != OC_FLOAT && a->dtype != OC_DOUBLE && a->dtype != OC_INT32 && a->dtype != OC_INT64))
        return oc_fail(d, "MatMul supports float32, float64, int32 and int64 operands of one type, got %s and %s",
                       oc_dtype_name(a->dtype), oc_dtype_name(b->dtype));
    oc_matmul_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
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
    if (blas_fits(ext, 3, d))
        return -1;
    lw->fn = oc_matmul_forward;
    return 0;
}

const oc_op oc_ops_gemm[] = {
    {"Gemm", 2, 3, 1, 1, infer_gemm, macs_gemm, 0, 0, lower_gemm},
    {"MatMul", 2, 2, 1, 1, infer_matmul, macs_matmul, 0, 0, lower_matmul},
    {"Einsum", 1, 64, 1, 1, infer_einsum, NULL, 0},
    {0},
};
