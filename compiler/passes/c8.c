/* c8.c: the c8 pass. Like slice, it changes nothing in the graph: it lets
 * the planner hand a 1x1 conv's output to the depthwise conv that alone
 * reads it in blocks of 8 channels, [N][C/8][H][W][8] (oc_plan_opts.c8,
 * planner.c pair_c8, which decides per step pair from the kernels the plan
 * runs: AVX2's 8-channel depthwise blocks, stride 1 or 2). The 1x1 conv
 * then writes its output 16 channels x 6 positions a tile (X^T W^T, W^T
 * packed at plan time) and the depthwise conv reads the blocks in place,
 * instead of C planes that it would copy 8 at a time, transposed, into a
 * zero-padded block (on Zen 1 those stores cost as much as the sum). This
 * is ONNX Runtime's channel-blocked layout (NCHWc) kept for one hand-over,
 * MobileNet's expand -> depthwise. Here the pass notes the candidate pairs
 * in the graph; the planner takes those its kernels run on this CPU, in
 * one-thread plans (on two the 1x1
 * conv's transposed product lost more than the depthwise convs gained);
 * training plans and `onnxc compile` never pair. */
#include "pass.h"

#include <stdlib.h>
#include <string.h>

static int is_conv(const oc_node *n)
{
    return n->op_type && (!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "FusedConv")) && n->n_in >= 2 &&
           n->n_out >= 1 && n->in[0] >= 0 && n->in[1] >= 0 && n->out[0] >= 0;
}

int oc_pass_c8(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    int *uses = calloc((size_t)g->n_values + 1, sizeof(int));
    if (!uses)
        return oc_fail(d, "out of memory");
    for (int s = 0; s < g->n_nodes; s++)
        for (int k = 0; k < g->nodes[s].n_in; k++)
            if (g->nodes[s].in[k] >= 0)
                uses[g->nodes[s].in[k]]++;
    for (int s = 0; s < g->n_nodes; s++) {
        const oc_node *a = &g->nodes[s];
        if (!is_conv(a) || oc_attr_int(a, "group", 1) != 1)
            continue;
        const oc_value *w = &g->values[a->in[1]];
        int y = a->out[0];
        if (w->rank != 4 || w->dims[2] != 1 || w->dims[3] != 1 || w->dims[0] % 8 || uses[y] != 1 ||
            (g->values[y].flags & OC_VALUE_OUTPUT))
            continue;
        for (int t = 0; t < g->n_nodes; t++) {
            const oc_node *b = &g->nodes[t];
            if (t != s && is_conv(b) && b->in[0] == y && oc_attr_int(b, "group", 1) == w->dims[0] &&
                g->values[b->in[1]].rank == 4 && g->values[b->in[1]].dims[2] == 3 && g->values[b->in[1]].dims[3] == 3)
                oc_pass_note(cx, "'%s' -> depthwise '%s': %lld channels in blocks of 8 where the plan's kernels allow",
                             a->name, b->name, (long long)w->dims[0]);
        }
    }
    cx->report->c8 = 1;
    free(uses);
    return 0;
}
