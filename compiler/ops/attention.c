/* attention.c: the transformer-era ops: Attention (opset 23, 24, 25),
 * LinearAttention, RotaryEmbedding, SwiGLU and CausalConvWithState.
 * FlexAttention of the ai.onnx.preview domain (without its score_mod /
 * prob_mod subgraphs) runs Attention's kernel.
 * Attribute handling, shape rules and lowering; the kernels are
 * runtime/kernels/attention.c, where attention.h states the math.
 *
 * Each op has one "geometry" function that reads its inputs' shapes and
 * attributes and checks them against each other; dims may be unknown (-1)
 * during shape inference and are all known at lowering, which runs the
 * same function again and then also checks element types. Semantics
 * follow the ONNX operator docs and onnx/reference/ops (op_attention.py
 * and friends). */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/kernels/attention.h"

/* ---- helpers: dim arithmetic where -1 is "unknown" ---- */

static int64_t dim_mul(int64_t a, int64_t b)
{
    if (a < 0 || b < 0)
        return -1;
    if (b && a > INT64_MAX / b)
        return -2;
    return a * b;
}

static int64_t dim_add(int64_t a, int64_t b) { return a < 0 || b < 0 ? -1 : a + b; }

/* Two extents that must agree (when both are known). */
static int dims_clash(int64_t a, int64_t b) { return a >= 0 && b >= 0 && a != b; }

/* a / heads, failing when it does not divide; -1 when a is unknown. */
static int split_heads(const char *lb, const char *what, int64_t a, int64_t heads, int64_t *out, oc_diag *d)
{
    *out = -1;
    if (a < 0)
        return 0;
    if (a % heads)
        return oc_fail(d, "%s: %s %lld is not a multiple of %lld heads", lb, what, (long long)a, (long long)heads);
    *out = a / heads;
    return 0;
}

static const oc_value *in_value(const oc_graph *g, const oc_node *n, int k)
{
    return k < n->n_in && n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
}

static int has_out(const oc_node *n, int k) { return k < n->n_out && n->out[k] >= 0; }

/* Input k, which must have rank `rank`, else an error. */
static const oc_value *in_rank(const oc_graph *g, const oc_node *n, int k, const char *what, int rank,
                               const char *lb, oc_diag *d)
{
    const oc_value *v = in_value(g, n, k);
    if (!v) {
        oc_fail(d, "%s: input %d (%s) is missing", lb, k, what);
        return NULL;
    }
    if (v->rank != rank) {
        if (v->rank < 0)
            oc_fail(d, "%s: input %d (%s) has unknown rank", lb, k, what);
        else
            oc_fail(d, "%s: input %d (%s) must be %d-D, got %d-D", lb, k, what, rank, v->rank);
        return NULL;
    }
    return v;
}

/* A positive int attribute; -1 when absent and not required. */
static int pos_attr(const oc_node *n, const char *name, int required, int64_t *out, const char *lb, oc_diag *d)
{
    *out = -1;
    if (!oc_node_attr(n, name)) {
        return required ? oc_fail(d, "%s: attribute '%s' is required", lb, name) : 0;
    }
    *out = oc_attr_int(n, name, 0);
    if (*out <= 0 || *out > (int64_t)1 << 31)
        return oc_fail(d, "%s: '%s' must be positive, got %lld", lb, name, (long long)*out);
    return 0;
}

static int is_float_type(int dt)
{
    return dt == OC_FLOAT || dt == OC_FLOAT16 || dt == OC_BFLOAT16 || dt == OC_DOUBLE;
}

/* Every present input and output of the kinds listed must be of a float
 * type (bit k of in_mask for input k, of out_mask for output k); the
 * kernels compute in float32. */
static int need_float(const oc_graph *g, const oc_node *n, unsigned in_mask, unsigned out_mask, oc_diag *d)
{
    for (int k = 0; k < n->n_in; k++)
        if ((in_mask >> k & 1) && n->in[k] >= 0 && !is_float_type(g->values[n->in[k]].dtype))
            return oc_fail(d, "input %d must be float32, float16, bfloat16 or float64, got %s", k,
                           oc_dtype_name(g->values[n->in[k]].dtype));
    for (int k = 0; k < n->n_out; k++)
        if ((out_mask >> k & 1) && n->out[k] >= 0 && !is_float_type(g->values[n->out[k]].dtype))
            return oc_fail(d, "output %d must be float32, float16, bfloat16 or float64, got %s", k,
                           oc_dtype_name(g->values[n->out[k]].dtype));
    return 0;
}

/* Shared scratch: the kernel's own `own` bytes, then the float32 copies of
 * its tensors of other float types (runtime/kernels/attention.h). */
static int set_scratch(const oc_graph *g, const oc_node *n, size_t own, oc_lowered *lw, oc_diag *d)
{
    int dt[16], m = 0;
    int64_t ne[16];
    for (int k = 0; k < n->n_in + n->n_out && m < 16; k++) {
        int id = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        if (id < 0)
            continue;
        dt[m] = g->values[id].dtype;
        ne[m] = oc_value_numel(&g->values[id]);
        if (ne[m] < 0 || (size_t)ne[m] > ((size_t)1 << 40))
            return oc_fail(d, "tensor '%s' is too large", g->values[id].name);
        m++;
    }
    size_t conv = oc_attention_convert_bytes(dt, ne, m);
    lw->scratch = conv ? ((own + 63) & ~(size_t)63) + conv : own;
    return 0;
}

/* Sets output k of the node being inferred (skipped when omitted). */
static int set_out(oc_infer *cx, int k, int dtype, int rank, const int64_t *dims)
{
    for (int i = 0; i < rank; i++)
        if (dims[i] == -2)
            return oc_infer_fail(cx, "output %d would have more elements than onnxc can count", k);
    return oc_infer_set_out(cx, k, dtype, rank, dims);
}

/* ==================== Attention ==================== */

typedef struct attn_geo {
    int packed;
    int64_t B, Hq, Hkv, Sq, Skv, P, T, D, Dv;
    int has_past, has_nonpad;
} attn_geo;

static int attention_geometry(const oc_graph *g, const oc_node *n, attn_geo *a, oc_diag *d)
{
    char lb[300];
    oc_node_label(n, lb, sizeof lb);
    memset(a, 0, sizeof *a);
    const oc_value *q = in_value(g, n, 0), *k = in_value(g, n, 1), *v = in_value(g, n, 2);
    if (!q || !k || !v)
        return oc_fail(d, "%s: Q, K and V are required", lb);
    if (q->rank != 3 && q->rank != 4)
        return oc_fail(d, "%s: Q must be 3-D or 4-D, got rank %d", lb, q->rank);
    if (k->rank != q->rank || v->rank != q->rank)
        return oc_fail(d, "%s: Q, K and V must have one rank (got %d, %d, %d)", lb, q->rank, k->rank, v->rank);
    a->packed = q->rank == 3;
    int64_t Dk;
    if (a->packed) {
        if (pos_attr(n, "q_num_heads", 1, &a->Hq, lb, d) || pos_attr(n, "kv_num_heads", 1, &a->Hkv, lb, d))
            return -1;
        a->Sq = q->dims[1];
        a->Skv = k->dims[1];
        if (dims_clash(v->dims[1], a->Skv))
            return oc_fail(d, "%s: K and V have different sequence lengths", lb);
        if (split_heads(lb, "Q's hidden size", q->dims[2], a->Hq, &a->D, d) ||
            split_heads(lb, "K's hidden size", k->dims[2], a->Hkv, &Dk, d) ||
            split_heads(lb, "V's hidden size", v->dims[2], a->Hkv, &a->Dv, d))
            return -1;
    } else {
        a->Hq = q->dims[1];
        a->Sq = q->dims[2];
        a->D = q->dims[3];
        a->Hkv = k->dims[1];
        a->Skv = k->dims[2];
        Dk = k->dims[3];
        a->Dv = v->dims[3];
        if (dims_clash(v->dims[1], a->Hkv) || dims_clash(v->dims[2], a->Skv))
            return oc_fail(d, "%s: K and V differ in heads or sequence length", lb);
    }
    a->B = q->dims[0];
    if (dims_clash(k->dims[0], a->B) || dims_clash(v->dims[0], a->B))
        return oc_fail(d, "%s: Q, K and V have different batch sizes", lb);
    if (dims_clash(Dk, a->D))
        return oc_fail(d, "%s: Q's head size %lld differs from K's %lld", lb, (long long)a->D, (long long)Dk);
    if (a->Hq == 0 || a->Hkv == 0)
        return oc_fail(d, "%s: the head counts must be positive", lb);
    if (a->Hq > 0 && a->Hkv > 0 && a->Hq % a->Hkv)
        return oc_fail(d, "%s: %lld query heads are not a multiple of %lld key/value heads", lb, (long long)a->Hq,
                       (long long)a->Hkv);
    /* past_key / past_value: [B, Hkv, P, D or Dv], both or neither */
    const oc_value *pk = in_value(g, n, 4), *pv = in_value(g, n, 5);
    if (!pk != !pv)
        return oc_fail(d, "%s: past_key and past_value must be given together", lb);
    a->has_past = pk != NULL;
    if (pk) {
        if (pk->rank != 4 || pv->rank != 4)
            return oc_fail(d, "%s: past_key and past_value must be 4-D", lb);
        a->P = pk->dims[2];
        if (dims_clash(pk->dims[0], a->B) || dims_clash(pv->dims[0], a->B) || dims_clash(pk->dims[1], a->Hkv) ||
            dims_clash(pv->dims[1], a->Hkv) || dims_clash(pv->dims[2], a->P) || dims_clash(pk->dims[3], a->D) ||
            dims_clash(pv->dims[3], a->Dv))
            return oc_fail(d, "%s: past_key / past_value do not match [batch, kv heads, past, head size]", lb);
    }
    a->T = dim_add(a->P, a->Skv);
    const oc_value *np = in_value(g, n, 6);
    a->has_nonpad = np != NULL;
    if (np) {
        if (a->has_past)
            return oc_fail(d, "%s: nonpad_kv_seqlen cannot be combined with past_key / past_value", lb);
        if (np->rank != 1 || dims_clash(np->dims[0], a->B))
            return oc_fail(d, "%s: nonpad_kv_seqlen must be 1-D of the batch size", lb);
    }
    return 0;
}

static int infer_attention(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    attn_geo a;
    if (attention_geometry(cx->g, n, &a, cx->d))
        return -1;
    int tq = oc_infer_in(cx, 0)->dtype, tv = oc_infer_in(cx, 2)->dtype;
    int64_t y4[4] = {a.B, a.Hq, a.Sq, a.Dv}, y3[3] = {a.B, a.Sq, dim_mul(a.Hq, a.Dv)};
    int64_t pk[4] = {a.B, a.Hkv, a.T, a.D}, pv[4] = {a.B, a.Hkv, a.T, a.Dv}, qk[4] = {a.B, a.Hq, a.Sq, a.T};
    if (set_out(cx, 0, tq, a.packed ? 3 : 4, a.packed ? y3 : y4) || set_out(cx, 1, tq, 4, pk) ||
        set_out(cx, 2, tv, 4, pv) || set_out(cx, 3, tq, 4, qk))
        return -1;
    return 0;
}

static int lower_attention(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    attn_geo a;
    if (attention_geometry(g, n, &a, d) || need_float(g, n, 0x37, 0xf, d))
        return -1;
    oc_attention_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->batch = a.B;
    p->q_heads = a.Hq;
    p->kv_heads = a.Hkv;
    p->q_len = a.Sq;
    p->kv_len = a.Skv;
    p->past_len = a.P;
    p->total = a.T;
    p->head = a.D;
    p->v_head = a.Dv;
    p->packed = a.packed;
    p->has_past = a.has_past;
    p->has_nonpad = a.has_nonpad;
    const oc_attr *sa = oc_node_attr(n, "scale");
    p->scale = sa ? oc_attr_float(n, "scale", 1.0f) : a.D > 0 ? (float)(1.0 / sqrt((double)a.D)) : 1.0f;
    p->softcap = oc_attr_float(n, "softcap", 0.0f);
    if (!isfinite(p->scale) || !isfinite(p->softcap))
        return oc_fail(d, "'scale' and 'softcap' must be finite");
    int64_t causal = oc_attr_int(n, "is_causal", 0), mode = oc_attr_int(n, "qk_matmul_output_mode", 0);
    if (causal != 0 && causal != 1)
        return oc_fail(d, "is_causal must be 0 or 1, got %lld", (long long)causal);
    if (mode < OC_QK_RAW || mode > OC_QK_SOFTMAX)
        return oc_fail(d, "qk_matmul_output_mode must be 0 to 3, got %lld", (long long)mode);
    p->causal = (int)causal;
    p->qk_mode = (int)mode;
    int64_t sp = oc_attr_int(n, "softmax_precision", 0);
    if (sp != 0 && sp != OC_FLOAT && sp != OC_FLOAT16 && sp != OC_DOUBLE && sp != OC_BFLOAT16)
        return oc_fail(d, "softmax_precision must be 1, 10, 11 or 16, got %lld", (long long)sp);
    p->softmax_dtype = (int)sp;
    p->left_window = p->right_window = -1;
    if (g->opset >= 25) {
        p->left_window = oc_attr_int(n, "left_window_size", -1);
        p->right_window = oc_attr_int(n, "right_window_size", -1);
        if (p->left_window < -1 || p->right_window < -1)
            return oc_fail(d, "left_window_size and right_window_size must be -1 or nonnegative");
    }
    /* attn_mask: broadcast to [B, Hq, Sq, T], aligned right; its last
     * extent may be shorter than T (padded with -inf / False) */
    const oc_value *m = in_value(g, n, 3);
    if (m) {
        if (m->dtype != OC_BOOL && !is_float_type(m->dtype))
            return oc_fail(d, "attn_mask must be bool or of a float type, got %s", oc_dtype_name(m->dtype));
        if (m->rank < 1 || m->rank > 4)
            return oc_fail(d, "attn_mask must have rank 1 to 4, got %d", m->rank);
        p->mask = m->dtype == OC_BOOL ? 2 : 1;
        int64_t target[4] = {a.B, a.Hq, a.Sq, a.T}, stride = 1;
        for (int i = 3; i >= 0; i--) {
            int j = i - (4 - m->rank);
            int64_t e = j < 0 ? 1 : m->dims[j];
            if (i == 3) {
                if (e > a.T)
                    return oc_fail(d, "attn_mask's last dim %lld exceeds the %lld keys", (long long)e,
                                   (long long)a.T);
                p->mask_len = e;
            } else if (e != 1 && e != target[i]) {
                return oc_fail(d, "attn_mask dim %d (%lld) does not broadcast to %lld", j, (long long)e,
                               (long long)target[i]);
            }
            p->mask_stride[i] = e == 1 && i < 3 ? 0 : stride;
            stride *= e;
        }
    }
    const oc_value *np = in_value(g, n, 6);
    if (np && np->dtype != OC_INT64)
        return oc_fail(d, "nonpad_kv_seqlen must be int64, got %s", oc_dtype_name(np->dtype));
    /* scratch: scores per thread; [past | new] K and V when not outputs */
    size_t scores, kv = 0;
    if (__builtin_mul_overflow((size_t)a.Sq, (size_t)a.T, &scores) || scores > ((size_t)1 << 40))
        return oc_fail(d, "the %lld x %lld score block is too large", (long long)a.Sq, (long long)a.T);
    p->thread_scratch = oc_attention_tscratch(a.Sq, a.T);
    for (int w = 0; w < 2 && a.has_past; w++) {
        size_t bytes;
        if (has_out(n, 1 + w))
            continue;
        if (__builtin_mul_overflow((size_t)(a.B * a.Hkv), (size_t)a.T, &bytes) ||
            __builtin_mul_overflow(bytes, sizeof(float) * (size_t)(w ? a.Dv : a.D), &bytes) ||
            __builtin_add_overflow(kv, (bytes + 63) & ~(size_t)63, &kv))
            return oc_fail(d, "the key / value cache is too large");
    }
    p->kv_scratch = kv;
    if (set_scratch(g, n, kv, lw, d))
        return -1;
    lw->tscratch = p->thread_scratch;
    double fl = 2.0 * (double)a.B * (double)a.Hq * (double)a.Sq * (double)a.T * (double)(a.D + a.Dv);
    lw->flops = fl < 1e18 ? (int64_t)fl : 0;
    lw->fn = oc_attention_forward;
    return 0;
}

/* ==================== FlexAttention (ai.onnx.preview, 1) ====================
 * Attention over 4-D Q, K, V with no mask: Y = softmax(scale Q K^T) V,
 * GQA as in Attention. Its optional score_mod / prob_mod subgraphs would
 * rewrite the scores / probabilities; onnxc records subgraph attributes
 * by type only and refuses them. */

static int flex_geometry(const oc_graph *g, const oc_node *n, attn_geo *a, oc_diag *d)
{
    char lb[300];
    oc_node_label(n, lb, sizeof lb);
    memset(a, 0, sizeof *a);
    const oc_value *q = in_rank(g, n, 0, "Q", 4, lb, d), *k = q ? in_rank(g, n, 1, "K", 4, lb, d) : NULL,
                   *v = k ? in_rank(g, n, 2, "V", 4, lb, d) : NULL;
    if (!v)
        return -1;
    a->B = q->dims[0];
    a->Hq = q->dims[1];
    a->Sq = q->dims[2];
    a->D = q->dims[3];
    a->Hkv = k->dims[1];
    a->Skv = a->T = k->dims[2];
    a->Dv = v->dims[3];
    if (dims_clash(k->dims[0], a->B) || dims_clash(v->dims[0], a->B) || dims_clash(v->dims[1], a->Hkv) ||
        dims_clash(v->dims[2], a->Skv) || dims_clash(k->dims[3], a->D))
        return oc_fail(d, "%s: Q [B, Hq, L, E], K [B, Hkv, S, E] and V [B, Hkv, S, Ev] do not match", lb);
    if (a->Hq == 0 || a->Hkv == 0 || (a->Hq > 0 && a->Hkv > 0 && a->Hq % a->Hkv))
        return oc_fail(d, "%s: %lld query heads are not a positive multiple of %lld key/value heads", lb,
                       (long long)a->Hq, (long long)a->Hkv);
    return 0;
}

static int infer_flex_attention(oc_infer *cx)
{
    attn_geo a;
    if (flex_geometry(cx->g, oc_infer_node(cx), &a, cx->d))
        return -1;
    int64_t y[4] = {a.B, a.Hq, a.Sq, a.Dv};
    return set_out(cx, 0, oc_infer_in(cx, 2)->dtype, 4, y);
}

static int lower_flex_attention(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    attn_geo a;
    if (flex_geometry(g, n, &a, d) || need_float(g, n, 0x7, 0x1, d))
        return -1;
    for (int i = 0; i < 2; i++) {
        const char *mod = i ? "prob_mod" : "score_mod";
        if (oc_node_attr(n, mod))
            return oc_fail(d, "the %s subgraph is not supported (onnxc does not run subgraph attributes yet)", mod);
    }
    oc_attention_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->batch = a.B;
    p->q_heads = a.Hq;
    p->kv_heads = a.Hkv;
    p->q_len = a.Sq;
    p->kv_len = p->total = a.T;
    p->head = a.D;
    p->v_head = a.Dv;
    p->left_window = p->right_window = -1;
    p->scale = oc_node_attr(n, "scale") ? oc_attr_float(n, "scale", 1.0f)
               : a.D > 0                ? (float)(1.0 / sqrt((double)a.D))
                                        : 1.0f;
    if (!isfinite(p->scale))
        return oc_fail(d, "'scale' must be finite");
    int64_t sp = oc_attr_int(n, "softmax_precision", 0);
    if (sp != 0 && sp != OC_FLOAT && sp != OC_FLOAT16 && sp != OC_DOUBLE && sp != OC_BFLOAT16)
        return oc_fail(d, "softmax_precision must be 1, 10, 11 or 16, got %lld", (long long)sp);
    p->softmax_dtype = (int)sp;
    size_t scores;
    if (__builtin_mul_overflow((size_t)a.Sq, (size_t)a.T, &scores) || scores > ((size_t)1 << 40))
        return oc_fail(d, "the %lld x %lld score block is too large", (long long)a.Sq, (long long)a.T);
    p->thread_scratch = oc_attention_tscratch(a.Sq, a.T);
    if (set_scratch(g, n, 0, lw, d))
        return -1;
    lw->tscratch = p->thread_scratch;
    double fl = 2.0 * (double)a.B * (double)a.Hq * (double)a.Sq * (double)a.T * (double)(a.D + a.Dv);
    lw->flops = fl < 1e18 ? (int64_t)fl : 0;
    lw->fn = oc_attention_forward;
    return 0;
}

/* ==================== LinearAttention ==================== */

typedef struct lin_geo {
    int64_t B, T, Hq, Hkv, Dk, Dv;
    int gated, delta, decay_per_key;
    int64_t beta_heads;
} lin_geo;

static int linear_attention_geometry(const oc_graph *g, const oc_node *n, lin_geo *a, oc_diag *d)
{
    char lb[300];
    oc_node_label(n, lb, sizeof lb);
    memset(a, 0, sizeof *a);
    const oc_value *q = in_rank(g, n, 0, "query", 3, lb, d), *k = q ? in_rank(g, n, 1, "key", 3, lb, d) : NULL,
                   *v = k ? in_rank(g, n, 2, "value", 3, lb, d) : NULL;
    if (!v)
        return -1;
    if (pos_attr(n, "q_num_heads", 1, &a->Hq, lb, d) || pos_attr(n, "kv_num_heads", 1, &a->Hkv, lb, d))
        return -1;
    if (a->Hq % a->Hkv)
        return oc_fail(d, "%s: q_num_heads %lld is not a multiple of kv_num_heads %lld", lb, (long long)a->Hq,
                       (long long)a->Hkv);
    const char *rule = oc_attr_string(n, "update_rule", "gated_delta");
    if (!strcmp(rule, "linear"))
        ;
    else if (!strcmp(rule, "gated"))
        a->gated = 1;
    else if (!strcmp(rule, "delta"))
        a->delta = 1;
    else if (!strcmp(rule, "gated_delta"))
        a->gated = a->delta = 1;
    else
        return oc_fail(d, "%s: unknown update_rule '%s' (linear, gated, delta, gated_delta)", lb, rule);
    a->B = q->dims[0];
    a->T = q->dims[1];
    int64_t Dk2;
    if (split_heads(lb, "query's hidden size", q->dims[2], a->Hq, &a->Dk, d) ||
        split_heads(lb, "key's hidden size", k->dims[2], a->Hkv, &Dk2, d) ||
        split_heads(lb, "value's hidden size", v->dims[2], a->Hkv, &a->Dv, d))
        return -1;
    if (dims_clash(a->Dk, Dk2))
        return oc_fail(d, "%s: query's head size %lld differs from key's %lld", lb, (long long)a->Dk,
                       (long long)Dk2);
    for (int i = 0; i < 2; i++)
        if (dims_clash(k->dims[i], q->dims[i]) || dims_clash(v->dims[i], q->dims[i]))
            return oc_fail(d, "%s: query, key and value differ in batch or sequence length", lb);
    const oc_value *decay = in_value(g, n, 4), *beta = in_value(g, n, 5), *past = in_value(g, n, 3);
    if (!!decay != a->gated)
        return oc_fail(d, "%s: update_rule '%s' %s the decay input", lb, rule, a->gated ? "needs" : "forbids");
    if (!!beta != a->delta)
        return oc_fail(d, "%s: update_rule '%s' %s the beta input", lb, rule, a->delta ? "needs" : "forbids");
    if (decay) {
        if (decay->rank != 3 || dims_clash(decay->dims[0], a->B) || dims_clash(decay->dims[1], a->T))
            return oc_fail(d, "%s: decay must be 3-D [batch, seq, heads or heads * head size]", lb);
        int64_t e = decay->dims[2];
        a->decay_per_key = e >= 0 && e != a->Hkv;
        if (e >= 0 && e != a->Hkv && dims_clash(e, dim_mul(a->Hkv, a->Dk)))
            return oc_fail(d, "%s: decay's last dim %lld is neither kv_num_heads %lld nor kv_num_heads * head size",
                           lb, (long long)e, (long long)a->Hkv);
    }
    if (beta) {
        if (beta->rank != 3 || dims_clash(beta->dims[0], a->B) || dims_clash(beta->dims[1], a->T))
            return oc_fail(d, "%s: beta must be 3-D [batch, seq, kv heads or 1]", lb);
        a->beta_heads = beta->dims[2];
        if (a->beta_heads >= 0 && a->beta_heads != a->Hkv && a->beta_heads != 1)
            return oc_fail(d, "%s: beta's last dim %lld is neither kv_num_heads %lld nor 1", lb,
                           (long long)a->beta_heads, (long long)a->Hkv);
    }
    if (past) {
        int64_t want[4] = {a->B, a->Hkv, a->Dk, a->Dv};
        int bad = past->rank != 4;
        for (int i = 0; !bad && i < 4; i++)
            bad = dims_clash(past->dims[i], want[i]);
        if (bad)
            return oc_fail(d, "%s: past_state must be [batch, kv heads, key head size, value head size]", lb);
    }
    return 0;
}

static int infer_linear_attention(oc_infer *cx)
{
    lin_geo a;
    if (linear_attention_geometry(cx->g, oc_infer_node(cx), &a, cx->d))
        return -1;
    int tq = oc_infer_in(cx, 0)->dtype;
    const oc_value *past = oc_infer_in(cx, 3);
    int64_t y[3] = {a.B, a.T, dim_mul(a.Hq, a.Dv)}, st[4] = {a.B, a.Hkv, a.Dk, a.Dv};
    return set_out(cx, 0, tq, 3, y) || set_out(cx, 1, past ? past->dtype : tq, 4, st) ? -1 : 0;
}

static int lower_linear_attention(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    lin_geo a;
    if (linear_attention_geometry(g, n, &a, d) || need_float(g, n, 0x3f, 0x3, d))
        return -1;
    oc_linear_attention_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->batch = a.B;
    p->seq = a.T;
    p->q_heads = a.Hq;
    p->kv_heads = a.Hkv;
    p->dk = a.Dk;
    p->dv = a.Dv;
    p->gated = a.gated;
    p->delta = a.delta;
    p->decay_per_key = a.decay_per_key;
    p->beta_heads = a.beta_heads;
    float scale = oc_attr_float(n, "scale", 0.0f);
    p->scale = scale != 0.0f ? scale : a.Dk > 0 ? (float)(1.0 / sqrt((double)a.Dk)) : 1.0f;
    if (!isfinite(p->scale))
        return oc_fail(d, "'scale' must be finite");
    if (!has_out(n, 1)) {
        size_t bytes;
        if (__builtin_mul_overflow((size_t)(a.B * a.Hkv), (size_t)(a.Dk * a.Dv), &bytes) ||
            __builtin_mul_overflow(bytes, sizeof(float), &bytes))
            return oc_fail(d, "the state is too large");
        p->state_scratch = bytes;
    }
    if (set_scratch(g, n, p->state_scratch, lw, d))
        return -1;
    lw->tscratch = sizeof(float) * (size_t)a.Dv;
    double fl = 2.0 * (double)a.B * (double)a.T * (double)a.Dk * (double)a.Dv * (double)(a.Hq + 2 * a.Hkv);
    lw->flops = fl < 1e18 ? (int64_t)fl : 0;
    lw->fn = oc_linear_attention_forward;
    return 0;
}

/* ==================== RotaryEmbedding ==================== */

static int rotary_geometry(const oc_graph *g, const oc_node *n, oc_rotary_params *p, oc_diag *d)
{
    char lb[300];
    oc_node_label(n, lb, sizeof lb);
    memset(p, 0, sizeof *p);
    const oc_value *x = in_value(g, n, 0), *cc = in_value(g, n, 1), *sc = in_value(g, n, 2),
                   *pos = in_value(g, n, 3);
    if (!x || !cc || !sc)
        return oc_fail(d, "%s: input, cos_cache and sin_cache are required", lb);
    if (x->rank != 3 && x->rank != 4)
        return oc_fail(d, "%s: the input must be 3-D or 4-D, got rank %d", lb, x->rank);
    p->packed = x->rank == 3;
    p->batch = x->dims[0];
    if (p->packed) {
        int64_t h;
        if (pos_attr(n, "num_heads", 1, &h, lb, d))
            return -1;
        p->heads = h;
        p->seq = x->dims[1];
        if (split_heads(lb, "the hidden size", x->dims[2], h, &p->head, d))
            return -1;
    } else {
        p->heads = x->dims[1];
        p->seq = x->dims[2];
        p->head = x->dims[3];
    }
    int64_t rot = oc_attr_int(n, "rotary_embedding_dim", 0);
    if (rot < 0 || (p->head >= 0 && rot > p->head))
        return oc_fail(d, "%s: rotary_embedding_dim %lld is outside [0, head size %lld]", lb, (long long)rot,
                       (long long)p->head);
    p->rot = rot ? rot : p->head;
    if (p->rot > 0 && p->rot % 2)
        return oc_fail(d, "%s: the rotated dims (%lld) must be even", lb, (long long)p->rot);
    int64_t half = p->rot < 0 ? -1 : p->rot / 2;
    p->interleaved = oc_attr_int(n, "interleaved", 0) != 0;
    p->has_pos = pos != NULL;
    int want_rank = pos ? 2 : 3;
    if (cc->rank != want_rank || sc->rank != want_rank)
        return oc_fail(d, "%s: cos_cache and sin_cache must be %d-D %s", lb, want_rank,
                       pos ? "[max position, rotary dim / 2] with position_ids" : "[batch, seq, rotary dim / 2]");
    for (int i = 0; i < want_rank; i++)
        if (dims_clash(cc->dims[i], sc->dims[i]))
            return oc_fail(d, "%s: cos_cache and sin_cache differ in shape", lb);
    if (dims_clash(cc->dims[want_rank - 1], half))
        return oc_fail(d, "%s: the caches' last dim %lld is not half the rotated dims (%lld)", lb,
                       (long long)cc->dims[want_rank - 1], (long long)p->rot);
    if (pos) {
        if (pos->rank != 2 || dims_clash(pos->dims[0], p->batch) || dims_clash(pos->dims[1], p->seq))
            return oc_fail(d, "%s: position_ids must be [batch, seq]", lb);
        p->max_pos = cc->dims[0];
    } else if (dims_clash(cc->dims[0], p->batch) || dims_clash(cc->dims[1], p->seq)) {
        return oc_fail(d, "%s: without position_ids the caches must be [batch, seq, rotary dim / 2]", lb);
    }
    return 0;
}

static int infer_rotary(oc_infer *cx)
{
    oc_rotary_params p;
    if (rotary_geometry(cx->g, oc_infer_node(cx), &p, cx->d))
        return -1;
    return oc_infer_same_as(cx, 0, 0);
}

static int lower_rotary(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_rotary_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || rotary_geometry(g, n, p, d) || need_float(g, n, 0x7, 0x1, d))
        return -1;
    if (p->has_pos && g->values[n->in[3]].dtype != OC_INT64)
        return oc_fail(d, "position_ids must be int64, got %s", oc_dtype_name(g->values[n->in[3]].dtype));
    if (set_scratch(g, n, 0, lw, d))
        return -1;
    lw->fn = oc_rotary_forward;
    return 0;
}

/* ==================== SwiGLU ==================== */

static int infer_swiglu(oc_infer *cx)
{
    oc_value *a = oc_infer_in_ranked(cx, 0), *b = a ? oc_infer_in_ranked(cx, 1) : NULL;
    if (!b)
        return -1;
    int same = a->rank == b->rank && a->dtype == b->dtype;
    for (int i = 0; same && i < a->rank; i++)
        same = !dims_clash(a->dims[i], b->dims[i]);
    if (!same)
        return oc_infer_fail(cx, "A and B must have one shape and type (SwiGLU does not broadcast)");
    return oc_infer_same_as(cx, 0, 0);
}

static int lower_swiglu(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (need_float(g, n, 0x3, 0x1, d))
        return -1;
    oc_swiglu_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->n = oc_value_numel(&g->values[n->in[0]]);
    if (p->n != oc_value_numel(&g->values[n->in[1]]))
        return oc_fail(d, "A and B must have one shape");
    p->alpha = oc_attr_float(n, "alpha", 1.0f);
    if (set_scratch(g, n, 0, lw, d))
        return -1;
    lw->fn = oc_swiglu_forward;
    return 0;
}

/* ==================== CausalConvWithState ==================== */

static int causal_conv_geometry(const oc_graph *g, const oc_node *n, oc_causal_conv_params *p, oc_diag *d)
{
    char lb[300];
    oc_node_label(n, lb, sizeof lb);
    memset(p, 0, sizeof *p);
    const oc_value *x = in_rank(g, n, 0, "input", 3, lb, d), *w = x ? in_rank(g, n, 1, "weight", 3, lb, d) : NULL;
    if (!w)
        return -1;
    p->batch = x->dims[0];
    p->channels = x->dims[1];
    p->len = x->dims[2];
    p->k = w->dims[2];
    if (dims_clash(w->dims[0], p->channels) || dims_clash(w->dims[1], 1))
        return oc_fail(d, "%s: weight must be [channels, 1, kernel size]", lb);
    if (p->k == 0)
        return oc_fail(d, "%s: the kernel size must be at least 1", lb);
    const char *act = oc_attr_string(n, "activation", "none");
    if (!strcmp(act, "silu") || !strcmp(act, "swish"))
        p->silu = 1;
    else if (strcmp(act, "none"))
        return oc_fail(d, "%s: unknown activation '%s' (none, silu, swish)", lb, act);
    const oc_value *b = in_value(g, n, 2), *st = in_value(g, n, 3);
    if (b && (b->rank != 1 || dims_clash(b->dims[0], p->channels)))
        return oc_fail(d, "%s: bias must be [channels]", lb);
    if (st) {
        int64_t want[3] = {p->batch, p->channels, p->k < 0 ? -1 : p->k - 1};
        int bad = st->rank != 3;
        for (int i = 0; !bad && i < 3; i++)
            bad = dims_clash(st->dims[i], want[i]);
        if (bad)
            return oc_fail(d, "%s: past_state must be [batch, channels, kernel size - 1]", lb);
    }
    return 0;
}

static int infer_causal_conv(oc_infer *cx)
{
    oc_causal_conv_params p;
    if (causal_conv_geometry(cx->g, oc_infer_node(cx), &p, cx->d))
        return -1;
    int t = oc_infer_in(cx, 0)->dtype;
    int64_t st[3] = {p.batch, p.channels, p.k < 0 ? -1 : p.k - 1};
    return oc_infer_same_as(cx, 0, 0) || set_out(cx, 1, t, 3, st) ? -1 : 0;
}

static int lower_causal_conv(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_causal_conv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || causal_conv_geometry(g, n, p, d) || need_float(g, n, 0xf, 0x3, d))
        return -1;
    if (set_scratch(g, n, 0, lw, d))
        return -1;
    lw->fn = oc_causal_conv_forward;
    return 0;
}

/* MACs of Attention's two products, for `onnxc info`. */
static int64_t attention_macs(const oc_graph *g, const oc_node *n)
{
    attn_geo a;
    oc_diag quiet;
    oc_diag_init(&quiet);
    if (attention_geometry(g, n, &a, &quiet) || a.B < 0 || a.Hq < 0 || a.Sq < 0 || a.T < 0 || a.D < 0 || a.Dv < 0)
        return -1;
    double m = (double)a.B * (double)a.Hq * (double)a.Sq * (double)a.T * (double)(a.D + a.Dv);
    return m < 1e18 ? (int64_t)m : -1;
}

const oc_op oc_ops_attention[] = {
    {"Attention", 3, 7, 1, 4, infer_attention, attention_macs, 0, 0, lower_attention},
    {"LinearAttention", 3, 6, 1, 2, infer_linear_attention, NULL, 0, 0, lower_linear_attention},
    {"RotaryEmbedding", 3, 4, 1, 1, infer_rotary, NULL, 0, 0, lower_rotary},
    {"SwiGLU", 2, 2, 1, 1, infer_swiglu, NULL, 0, 0, lower_swiglu},
    {"CausalConvWithState", 2, 4, 1, 2, infer_causal_conv, NULL, 0, 0, lower_causal_conv},
    {"FlexAttention", 3, 3, 1, 1, infer_flex_attention, NULL, 0, 0, lower_flex_attention, NULL, OC_DOMAIN_PREVIEW},
    {0},
};
