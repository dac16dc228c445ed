/* untie.c: gives every parameter its own storage before training.
 *
 * PyTorch's exporter stores one initializer for parameters that happen to
 * hold equal values (all zero biases, all-one BatchNorm scales) and feeds
 * each user through an Identity node named after the original parameter.
 * Trained as imported, those parameters would stay tied and take the sum
 * of their gradients. This pass turns each Identity-of-an-initializer into
 * an initializer of its own (a copy, under the Identity output's name, the
 * original parameter name) and removes the Identity node, so training
 * follows the model as it was written. Genuinely shared weights exported
 * the same way are untied too; the pass is for training graphs only. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

int oc_pass_untie_params(oc_graph *g, int *n_untied, oc_diag *d)
{
    unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
    if (!dead)
        return oc_fail(d, "out of memory");
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        oc_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "Identity") || n->n_in != 1 || n->n_out != 1 || n->in[0] < 0 || n->out[0] < 0)
            continue;
        oc_value *src = &g->values[n->in[0]], *dst = &g->values[n->out[0]];
        if (!(src->flags & OC_VALUE_INITIALIZER) || !src->constant || src->dtype != OC_FLOAT ||
            (dst->flags & OC_VALUE_OUTPUT))
            continue;
        oc_tensor *copy = oc_tensor_clone(src->constant, d);
        if (!copy) {
            free(dead);
            return -1;
        }
        oc_tensor_free(dst->constant);
        dst->constant = copy;
        dst->flags |= OC_VALUE_INITIALIZER;
        oc_value_set_type(dst, copy->dtype, copy->rank, copy->dims);
        dead[i] = 1;
        count++;
    }
    int rc = count ? oc_graph_remove_nodes(g, dead, d) : 0;
    free(dead);
    if (n_untied)
        *n_untied = count;
    return rc;
}
