/* manager.c: the pass table, its switches and the run loop (see pass.h),
 * plus small helpers the passes share. */
#include "pass.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/op.h"
#include "../shape.h"

static const oc_pass passes[] = {
    {"fold", oc_pass_fold, "fold", 0,
     "evaluate nodes whose inputs are all constants with their kernels, then drop every node whose outputs "
     "are all known"},
    {"widen", oc_pass_widen, "types", 0,
     "run float16/bfloat16 nodes whose kernels take float32 only in float32, between Casts (rounding once per "
     "output)"},
    {"identity", oc_pass_identity, "cleanup", 0,
     "remove Identity and inference Dropout; run Reshape/Flatten/Squeeze/Unsqueeze as views of their input"},
    {"bn_fold", oc_pass_bn_fold, "fuse", 1,
     "fold an inference BatchNormalization into the weights and bias of the Conv before it"},
    {"fuse", oc_pass_fuse, "fuse", 1,
     "Conv/Gemm + activation (+ residual Add) -> FusedConv/FusedGemm; training BatchNormalization + residual "
     "Add and/or activation -> FusedBatchNormalization; 2-D MatMul + bias Add -> Gemm"},
    {"dce", oc_pass_dce, "cleanup", 0, "remove nodes no graph output depends on, and the data of constants no node reads"},
    {"slice", oc_pass_slice, "fuse", 1,
     "run chains of convs with a grouped conv (expand -> depthwise -> project) one image at a time, so the "
     "expanded tensor stays in cache (the plan's schedule; the graph is unchanged)"},
    {"c8", oc_pass_c8, "fuse", 1,
     "hand a 1x1 conv's output to the depthwise conv that alone reads it in blocks of 8 channels, no "
     "transposes (the plan's layout, on AVX2; the graph is unchanged)"},
};
#define N_PASSES ((int)(sizeof passes / sizeof passes[0]))

const oc_pass *oc_pass_table(int *n)
{
    *n = N_PASSES;
    return passes;
}

int oc_pass_find(const char *name)
{
    for (int i = 0; i < N_PASSES; i++)
        if (!strcmp(passes[i].name, name))
            return i;
    return -1;
}

const char *oc_pass_names(char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < N_PASSES && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", passes[i].name);
    return buf;
}

void oc_pass_opts_default(oc_pass_opts *o) { memset(o, 0, sizeof *o); }

int oc_pass_opts_add(oc_pass_opts *o, int only, const char *list, oc_diag *d)
{
    char valid[256];
    if (only)
        o->only_set = 1;
    const char *s = list;
    while (*s) {
        size_t len = strcspn(s, ",");
        char name[OC_PASS_NAME_MAX];
        if (len == 0 || len >= sizeof name)
            return oc_fail(d, "bad pass name '%.*s' in '%s'; passes: %s", (int)len, s, list,
                           oc_pass_names(valid, sizeof valid));
        memcpy(name, s, len);
        name[len] = 0;
        if (oc_pass_find(name) < 0)
            return oc_fail(d, "unknown pass '%s'; passes: %s", name, oc_pass_names(valid, sizeof valid));
        int *n = only ? &o->n_only : &o->n_off;
        char(*arr)[OC_PASS_NAME_MAX] = only ? o->only : o->off;
        int dup = 0;
        for (int k = 0; k < *n; k++)
            dup |= !strcmp(arr[k], name);
        if (!dup) {
            if (*n >= OC_PASS_MAX)
                return oc_fail(d, "too many pass names");
            memcpy(arr[(*n)++], name, len + 1);
        }
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

void oc_pass_report_free(oc_pass_report *r)
{
    for (int i = 0; i < r->n; i++) {
        for (int k = 0; k < r->r[i].n_notes; k++)
            free(r->r[i].notes[k]);
        free(r->r[i].notes);
        r->r[i].notes = NULL;
        r->r[i].n_notes = 0;
    }
}

void oc_pass_note(const oc_pass_ctx *cx, const char *fmt, ...)
{
    oc_pass_result *r = cx->res;
    if (!r || r->n_notes >= OC_PASS_MAX_NOTES)
        return;
    if (r->n_notes % 64 == 0) {
        char **nn = realloc(r->notes, sizeof(char *) * (size_t)(r->n_notes + 64));
        if (!nn)
            return; /* the change count stays exact; only the line is lost */
        r->notes = nn;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if ((r->notes[r->n_notes] = oc_strdup(buf)))
        r->n_notes++;
}

int oc_pass_add_const(oc_graph *g, const char *base, const char *suffix, oc_tensor *t, oc_diag *d)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    for (int k = 2; oc_graph_find(g, name) >= 0; k++) {
        if (k > 1000000) {
            oc_tensor_free(t);
            return oc_fail(d, "no free name for a constant derived from '%s'", base);
        }
        snprintf(name, sizeof name, "%s%s_%d", base, suffix, k);
    }
    return oc_graph_add_initializer(g, name, t, d);
}

int oc_pass_is_op(const oc_node *n, const char *op)
{
    return !strcmp(n->op_type, op) && (!n->domain || !*n->domain || !strcmp(n->domain, "ai.onnx"));
}

int oc_pass_set_op(oc_graph *g, oc_node *n, const char *domain, const char *op, oc_diag *d)
{
    (void)g;
    char *t = oc_strdup(op), *dm = oc_strdup(domain);
    if (!t || !dm) {
        free(t);
        free(dm);
        return oc_fail(d, "out of memory");
    }
    free(n->op_type);
    free(n->domain);
    n->op_type = t;
    n->domain = dm;
    n->op = oc_op_find(domain, op);
    return 0;
}

int oc_pass_grow_inputs(oc_node *n, int count, oc_diag *d)
{
    if (count <= n->n_in)
        return 0;
    int *in = realloc(n->in, sizeof(int) * (size_t)(count + 1));
    if (!in)
        return oc_fail(d, "out of memory");
    for (int k = n->n_in; k <= count; k++)
        in[k] = -1;
    n->in = in;
    n->n_in = count;
    return 0;
}

static int listed(const char (*names)[OC_PASS_NAME_MAX], int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], name))
            return 1;
    return 0;
}

/* Why pass p does not run under o, or NULL when it runs. */
static const char *skip_reason(const oc_pass *p, const oc_pass_opts *o)
{
    if (o->only_set && !listed(o->only, o->n_only, p->name))
        return "not selected (--passes)";
    if (listed(o->off, o->n_off, p->name))
        return "turned off (--no-pass)";
    if (o->no_fuse && (!strcmp(p->group, "cleanup") || !strcmp(p->group, "fuse")))
        return "no rewrites (--no-fuse)";
    if (o->training && p->inference_only)
        return "inference only (training)";
    return NULL;
}

int oc_pass_enabled(const oc_pass_opts *o, const char *name)
{
    int i = oc_pass_find(name);
    if (i < 0)
        return -1;
    oc_pass_opts dflt;
    if (!o) {
        oc_pass_opts_default(&dflt);
        o = &dflt;
    }
    return skip_reason(&passes[i], o) == NULL;
}

/* Every node input produced by an earlier node. Passes keep the order
 * they found; sorting an ordered graph again would still reshuffle it
 * (breadth-first), which changes liveness, so it is only done when needed. */
static int in_order(const oc_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= i)
                return 0;
        }
    return 1;
}

int oc_passes_run(oc_graph *g, const oc_pass_opts *o, oc_pass_report *report, oc_diag *d)
{
    oc_pass_opts dflt;
    if (!o) {
        oc_pass_opts_default(&dflt);
        o = &dflt;
    }
    memset(report, 0, sizeof *report);
    char valid[256];
    for (int k = 0; k < o->n_only + o->n_off; k++) {
        const char *name = k < o->n_only ? o->only[k] : o->off[k - o->n_only];
        if (oc_pass_find(name) < 0)
            return oc_fail(d, "unknown pass '%s'; passes: %s", name, oc_pass_names(valid, sizeof valid));
    }
    report->n = N_PASSES;
    for (int i = 0; i < N_PASSES; i++)
        report->r[i].name = passes[i].name;
    for (int i = 0; i < N_PASSES; i++) {
        const oc_pass *p = &passes[i];
        oc_pass_result *r = &report->r[i];
        const char *why = skip_reason(p, o);
        if (why) {
            r->state = OC_PASS_SKIPPED;
            snprintf(r->why, sizeof r->why, "%s", why);
            continue;
        }
        oc_pass_ctx cx = {o, r, report};
        int changes = p->run(g, &cx, d);
        r->state = OC_PASS_RAN;
        if (changes < 0) {
            oc_diag_prefix(d, "pass '%s': ", p->name);
            return -1;
        }
        r->changes = changes;
        if (changes && ((!in_order(g) && oc_graph_toposort(g, d)) || oc_graph_validate(g, d) ||
                        oc_graph_infer_shapes(g, d))) {
            oc_diag_prefix(d, "after pass '%s': ", p->name);
            return -1;
        }
    }
    return 0;
}
