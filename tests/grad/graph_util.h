/* graph_util.h: small helpers for the C gradient tests that build a graph
 * by hand, differentiate it and read the plan's outputs. */
#ifndef ONNXC_TESTS_GRAD_GRAPH_UTIL_H
#define ONNXC_TESTS_GRAD_GRAPH_UTIL_H

#include <string.h>

#include "../../compiler/graph.h"
#include "../../runtime/plan.h"

/* A uniform value in [-1, 1] from a 32-bit LCG. */
static inline double frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffff) / 65535.0 * 2.0 - 1.0;
}

/* A float32 initializer `name` of the given shape holding v. */
static inline int add_const(oc_graph *g, const char *name, int rank, const int64_t *dims, const float *v, oc_diag *d)
{
    oc_tensor *t = oc_tensor_new(OC_FLOAT, rank, dims, d);
    if (!t)
        return -1;
    memcpy(t->data, v, sizeof(float) * (size_t)t->numel);
    return oc_graph_add_initializer(g, name, t, d);
}

/* The plan's output `name`, or NULL. */
static inline const oc_tensor *plan_output(const oc_plan *p, const char *name)
{
    for (int k = 0; k < p->n_outputs; k++)
        if (!strcmp(p->names[p->outputs[k]], name))
            return &p->tensors[p->outputs[k]];
    return NULL;
}

/* Nodes of op type `op`. */
static inline int count_op(const oc_graph *g, const char *op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !strcmp(g->nodes[i].op_type, op);
    return c;
}

#endif
