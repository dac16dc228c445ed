/* controlflow.c: If, Scan and Loop (see controlflow.h). Subgraphs were
 * planned with static shapes matching the node's (checked when planning),
 * so a run is: feed the sub-plan (pointing its inputs at the node's
 * tensors, at slices gathered into scratch, or at the state of the last
 * iteration), run it, copy its outputs out. Nothing is allocated per run;
 * the sub-plans' arenas live as long as the plan. */
#include "controlflow.h"

#include <string.h>

#include "table.h"

/* Points sub-plan input k at the kernel's input slot[k] (constants that
 * planning baked into the sub-plan keep their own data). */
static int feed_sub(oc_plan *sp, const oc_kargs *a, const int *slot, oc_diag *d)
{
    for (int k = 0; k < sp->n_inputs; k++) {
        if (sp->kind[sp->inputs[k]] != OC_T_INPUT)
            continue;
        if (slot[k] < 0 || slot[k] >= a->n_in || !a->in[slot[k]])
            return oc_fail(d, "internal error: subgraph input %d has no source", k);
        if (oc_plan_set_input(sp, k, a->in[slot[k]], d))
            return -1;
    }
    return 0;
}

/* Copies sub-plan output k into the kernel's output k (same dtype and
 * element count, as planned). */
static int copy_outputs(const oc_plan *sp, const oc_kargs *a, oc_diag *d)
{
    if (sp->n_outputs != a->n_out)
        return oc_fail(d, "internal error: the subgraph has %d outputs, the node %d", sp->n_outputs, a->n_out);
    for (int k = 0; k < a->n_out; k++) {
        const oc_tensor *src = &sp->tensors[sp->outputs[k]];
        oc_tensor *dst = a->out[k];
        if (!dst)
            continue;
        if (src->dtype != dst->dtype || src->numel != dst->numel)
            return oc_fail(d, "internal error: subgraph output %d does not match the node's output", k);
        size_t bytes = oc_tensor_nbytes(dst);
        if (bytes && src->data != dst->data)
            memcpy(dst->data, src->data, bytes);
    }
    return 0;
}

int oc_if_forward(const oc_kargs *a)
{
    const oc_if_params *p = a->p;
    if (!p || a->n_sub != 2 || !a->sub)
        return oc_fail(a->d, "internal error: If runs without its branch plans");
    const oc_tensor *c = a->n_in > 0 ? a->in[0] : NULL;
    if (!c || c->numel != 1 || !c->data)
        return oc_fail(a->d, "the condition must hold exactly one element");
    int take;
    switch (c->dtype) { /* bool per the spec; any 1-element integer or float read as truth */
    case OC_FLOAT: take = ((const float *)c->data)[0] != 0.0f; break;
    case OC_DOUBLE: take = ((const double *)c->data)[0] != 0.0; break;
    case OC_INT64: take = ((const int64_t *)c->data)[0] != 0; break;
    case OC_INT32: take = ((const int32_t *)c->data)[0] != 0; break;
    default:
        if (oc_dtype_size(c->dtype) != 1)
            return oc_fail(a->d, "the condition must be bool, got %s", oc_dtype_name(c->dtype));
        take = ((const unsigned char *)c->data)[0] != 0;
    }
    int b = take ? 0 : 1;
    oc_plan *sp = a->sub[b];
    if (!sp) /* the condition was known when planning, and it was the other branch */
        return oc_fail(a->d, "the condition differs from the one known when planning (%s was not planned)",
                       b ? "else_branch" : "then_branch");
    if (sp->n_inputs != p->n_in[b])
        return oc_fail(a->d, "internal error: branch plan inputs do not match the parameters");
    if (feed_sub(sp, a, p->slot + (b ? p->n_in[0] : 0), a->d) || oc_plan_run(sp, a->d) || copy_outputs(sp, a, a->d)) {
        oc_diag_prefix(a->d, "%s: ", b ? "else_branch" : "then_branch");
        return -1;
    }
    return 0;
}

/* Sub-plan input k reads `data` (formal inputs: states, slices, counters). */
static int point_input(oc_plan *sp, int k, void *data, oc_diag *d)
{
    if (k < 0 || k >= sp->n_inputs)
        return oc_fail(d, "internal error: subgraph input %d does not exist", k);
    if (sp->kind[sp->inputs[k]] == OC_T_INPUT)
        sp->tensors[sp->inputs[k]].data = data;
    return 0;
}

/* Captured inputs of a body: those with slot[k] >= 0. */
static int feed_captured(oc_plan *sp, const oc_kargs *a, const int *slot, int n, oc_diag *d)
{
    if (sp->n_inputs != n)
        return oc_fail(d, "internal error: body plan inputs do not match the parameters");
    for (int k = 0; k < n; k++) {
        if (slot[k] < 0 || sp->kind[sp->inputs[k]] != OC_T_INPUT)
            continue;
        if (slot[k] >= a->n_in || !a->in[slot[k]])
            return oc_fail(d, "internal error: body input %d has no source", k);
        if (oc_plan_set_input(sp, k, a->in[slot[k]], d))
            return -1;
    }
    return 0;
}

/* Rows [pre] of `post` bytes at position t of a [pre, len, post] block,
 * gathered into / scattered from a dense [pre, post] slice. */
static void gather_slice(unsigned char *dst, const unsigned char *src, int64_t pre, int64_t len, int64_t t,
                         int64_t post)
{
    for (int64_t p = 0; p < pre; p++)
        memcpy(dst + p * post, src + (p * len + t) * post, (size_t)post);
}

static void scatter_slice(unsigned char *dst, const unsigned char *src, int64_t pre, int64_t len, int64_t t,
                          int64_t post)
{
    for (int64_t p = 0; p < pre; p++)
        memcpy(dst + (p * len + t) * post, src + p * post, (size_t)post);
}

static const unsigned char *out_bytes(const oc_plan *sp, int k) { return sp->tensors[sp->outputs[k]].data; }

int oc_scan_forward(const oc_kargs *a)
{
    const oc_scan_params *p = a->p;
    if (!p || a->n_sub != 1 || !a->sub || !a->sub[0])
        return oc_fail(a->d, "internal error: Scan runs without its body plan");
    oc_plan *sp = a->sub[0];
    int N = p->n_state, M = p->n_scan_in, K = p->n_scan_out;
    if (sp->n_outputs != N + K || a->n_out != N + K || a->n_in < p->first_in + N + M)
        return oc_fail(a->d, "internal error: Scan body and node do not match");
    if (feed_captured(sp, a, p->slot, p->n_body_in, a->d))
        return -1;
    /* the body plan must match the layout the parameters describe */
    for (int k = 0; k < N; k++)
        if (oc_tensor_nbytes(&sp->tensors[sp->outputs[k]]) != (size_t)p->state_bytes[k] ||
            oc_tensor_nbytes(&sp->tensors[sp->inputs[k]]) != (size_t)p->state_bytes[k])
            return oc_fail(a->d, "internal error: Scan state %d does not match its body", k);
    for (int i = 0; i < M; i++)
        if (oc_tensor_nbytes(&sp->tensors[sp->inputs[N + i]]) != (size_t)(p->in_pre[i] * p->in_post[i]))
            return oc_fail(a->d, "internal error: Scan input %d does not match its body", i);
    for (int j = 0; j < K; j++)
        if (a->out[N + j] && oc_tensor_nbytes(&sp->tensors[sp->outputs[N + j]]) != (size_t)(p->out_pre[j] * p->out_post[j]))
            return oc_fail(a->d, "internal error: Scan output %d does not match its body", j);
    unsigned char *scratch = a->scratch;
    for (int64_t b = 0; b < p->batch; b++) {
        for (int64_t it = 0; it < p->len; it++) {
            for (int k = 0; k < N; k++) {
                const oc_tensor *init = a->in[p->first_in + k];
                unsigned char *src = it == 0 ? (unsigned char *)init->data : (unsigned char *)a->out[k]->data;
                if (point_input(sp, k, src + b * p->state_bytes[k], a->d))
                    return -1;
            }
            for (int i = 0; i < M; i++) {
                const oc_tensor *x = a->in[p->first_in + N + i];
                int64_t t = p->in_rev[i] ? p->len - 1 - it : it;
                const unsigned char *base = (const unsigned char *)x->data + b * p->in_pre[i] * p->len * p->in_post[i];
                void *slice;
                if (p->in_pre[i] == 1) { /* contiguous: no copy */
                    slice = (void *)(base + t * p->in_post[i]);
                } else {
                    slice = scratch + p->slice_off[i];
                    gather_slice(slice, base, p->in_pre[i], p->len, t, p->in_post[i]);
                }
                if (point_input(sp, N + i, slice, a->d))
                    return -1;
            }
            if (oc_plan_run(sp, a->d)) {
                oc_diag_prefix(a->d, "iteration %lld: ", (long long)it);
                return -1;
            }
            for (int k = 0; k < N; k++) {
                unsigned char *dst = (unsigned char *)a->out[k]->data + b * p->state_bytes[k];
                if (dst != out_bytes(sp, k))
                    memmove(dst, out_bytes(sp, k), (size_t)p->state_bytes[k]);
            }
            for (int j = 0; j < K; j++) {
                if (!a->out[N + j])
                    continue;
                int64_t t = p->out_rev[j] ? p->len - 1 - it : it;
                unsigned char *base = (unsigned char *)a->out[N + j]->data + b * p->out_pre[j] * p->len * p->out_post[j];
                scatter_slice(base, out_bytes(sp, N + j), p->out_pre[j], p->len, t, p->out_post[j]);
            }
        }
        if (p->len == 0)
            for (int k = 0; k < N; k++)
                memcpy((unsigned char *)a->out[k]->data + b * p->state_bytes[k],
                       (const unsigned char *)a->in[p->first_in + k]->data + b * p->state_bytes[k], (size_t)p->state_bytes[k]);
    }
    return 0;
}

/* A one-element tensor's truth value (bool per the spec). */
static int truth(const oc_tensor *c, int *v, oc_diag *d)
{
    if (!c || c->numel != 1 || !c->data)
        return oc_fail(d, "a condition must hold exactly one element");
    if (oc_dtype_size(c->dtype) != 1)
        return oc_fail(d, "a condition must be bool, got %s", oc_dtype_name(c->dtype));
    *v = ((const unsigned char *)c->data)[0] != 0;
    return 0;
}

int oc_loop_forward(const oc_kargs *a)
{
    const oc_loop_params *p = a->p;
    if (!p || a->n_sub != 1 || !a->sub || !a->sub[0])
        return oc_fail(a->d, "internal error: Loop runs without its body plan");
    oc_plan *sp = a->sub[0];
    int N = p->n_state, K = p->n_scan_out;
    if (sp->n_outputs != 1 + N + K || a->n_out != N + K || a->n_in < 2 + N || sp->n_inputs < 2 + N)
        return oc_fail(a->d, "internal error: Loop body and node do not match");
    int64_t m = INT64_MAX;
    if (a->in[0]) {
        if (a->in[0]->numel != 1 || a->in[0]->dtype != OC_INT64)
            return oc_fail(a->d, "the trip count M must be one int64");
        m = ((const int64_t *)a->in[0]->data)[0];
        if (m < 0)
            m = 0;
    }
    if (p->trip >= 0 && m != p->trip)
        return oc_fail(a->d, "the trip count is %lld at run time but %lld when planned", (long long)m,
                       (long long)p->trip);
    int cond = 1;
    if (a->in[1] && truth(a->in[1], &cond, a->d))
        return -1;
    if (feed_captured(sp, a, p->slot, p->n_body_in, a->d))
        return -1;
    for (int k = 0; k < N; k++)
        if (oc_tensor_nbytes(&sp->tensors[sp->outputs[1 + k]]) != (size_t)p->state_bytes[k] ||
            oc_tensor_nbytes(&sp->tensors[sp->inputs[2 + k]]) != (size_t)p->state_bytes[k] ||
            oc_tensor_nbytes(a->out[k]) != (size_t)p->state_bytes[k])
            return oc_fail(a->d, "internal error: Loop state %d does not match its body", k);
    for (int j = 0; j < K; j++)
        if (oc_tensor_nbytes(&sp->tensors[sp->outputs[1 + N + j]]) != (size_t)p->scan_bytes[j] ||
            (a->out[N + j] && oc_tensor_nbytes(a->out[N + j]) != (size_t)(p->scan_bytes[j] * p->trip)))
            return oc_fail(a->d, "internal error: Loop scan output %d does not match its body", j);
    if (oc_tensor_nbytes(&sp->tensors[sp->inputs[0]]) != 8 || oc_tensor_nbytes(&sp->tensors[sp->inputs[1]]) != 1)
        return oc_fail(a->d, "internal error: Loop body counters are not int64 and bool scalars");
    unsigned char *scratch = a->scratch;
    int64_t *iter = (int64_t *)scratch;
    unsigned char *cin = scratch + 8;
    if (point_input(sp, 0, iter, a->d) || point_input(sp, 1, cin, a->d))
        return -1;
    for (int k = 0; k < N; k++) /* a loop that runs no iteration returns its initial values */
        if (a->out[k]->data != a->in[2 + k]->data)
            memcpy(a->out[k]->data, a->in[2 + k]->data, (size_t)p->state_bytes[k]);
    int64_t i = 0;
    for (; i < m && cond; i++) {
        *iter = i;
        *cin = 1;
        for (int k = 0; k < N; k++)
            if (point_input(sp, 2 + k, a->out[k]->data, a->d))
                return -1;
        if (oc_plan_run(sp, a->d)) {
            oc_diag_prefix(a->d, "iteration %lld: ", (long long)i);
            return -1;
        }
        if (truth(&sp->tensors[sp->outputs[0]], &cond, a->d))
            return -1;
        for (int k = 0; k < N; k++)
            if (a->out[k]->data != out_bytes(sp, 1 + k))
                memmove(a->out[k]->data, out_bytes(sp, 1 + k), (size_t)p->state_bytes[k]);
        for (int j = 0; j < K; j++)
            if (a->out[N + j])
                memcpy((unsigned char *)a->out[N + j]->data + i * p->scan_bytes[j], out_bytes(sp, 1 + N + j),
                       (size_t)p->scan_bytes[j]);
    }
    if (K > 0 && i < p->trip)
        return oc_fail(a->d, "the loop condition ended the loop after %lld of %lld iterations; onnxc planned its "
                             "scan outputs for all %lld (outputs sized by data are not supported yet)",
                       (long long)i, (long long)p->trip, (long long)p->trip);
    return 0;
}

const oc_kernel_info oc_kernels_controlflow[] = {
    {.name = "oc_scan_forward", .fn = oc_scan_forward, .params_type = "oc_scan_params", .ref = NULL},
    {.name = "oc_loop_forward", .fn = oc_loop_forward, .params_type = "oc_loop_params", .ref = NULL},
    {.name = "oc_if_forward", .fn = oc_if_forward, .params_type = "oc_if_params", .ref = NULL},
    {0},
};
