/* train.c: BatchNormalization modes, the loss and the backward pass
 * appended to a model graph (see train.h). The modes are decided here,
 * once, per node, and stored on the node; the gradient rule of
 * BatchNormalization (compiler/ops/norm.c) only reads them. */
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "onnx_export.h"
#include "onnx_import.h"
#include "shape.h"

int oc_bn_policy_parse(const char *s, oc_bn_policy *p)
{
    if (!strcmp(s, "auto"))
        *p = OC_BN_AUTO;
    else if (!strcmp(s, "train"))
        *p = OC_BN_TRAIN;
    else if (!strcmp(s, "eval"))
        *p = OC_BN_EVAL;
    else if (!strcmp(s, "model"))
        *p = OC_BN_MODEL;
    else
        return -1;
    return 0;
}

int oc_bn_set_mode(oc_graph *g, int nid, int training, oc_diag *d)
{
    oc_node *n = &g->nodes[nid];
    if (strcmp(n->op_type, "BatchNormalization") || n->n_in < 5)
        return oc_fail(d, "node '%s' (%s) is not a BatchNormalization with running statistics", n->name, n->op_type);
    int found = 0;
    for (int k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, "training_mode")) {
            n->attrs[k].type = OC_ATTR_INT;
            n->attrs[k].i = training;
            found = 1;
        }
    if (!found && oc_node_set_int(g, nid, "training_mode", training, d))
        return -1;
    if (!training)
        return 0;
    n = &g->nodes[nid];
    if (n->n_out < 3) {
        int *no = realloc(n->out, sizeof(int) * 3);
        if (!no)
            return oc_fail(d, "out of memory");
        for (int k = n->n_out; k < 3; k++)
            no[k] = -1;
        n->out = no;
        n->n_out = 3;
    }
    for (int k = 1; k <= 2; k++) {
        n = &g->nodes[nid];
        if (n->out[k] >= 0)
            continue;
        char name[300];
        snprintf(name, sizeof name, "updated_%s", g->values[n->in[k + 2]].name);
        int id = oc_graph_add_value(g, name, d);
        if (id < 0) {
            oc_diag_prefix(d, "BatchNormalization '%s': ", g->nodes[nid].name);
            return -1;
        }
        g->nodes[nid].out[k] = id;
        g->values[id].producer = nid;
        if (oc_graph_mark_output(g, id, d))
            return -1;
    }
    return 0;
}

int oc_bn_mark(oc_graph *g, const unsigned char *trainable, oc_bn_policy policy, int *n_training, oc_diag *d)
{
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "BatchNormalization"))
            continue;
        int train = policy == OC_BN_TRAIN;
        if (policy == OC_BN_MODEL) {
            const oc_attr *tm = oc_node_attr(n, "training_mode");
            train = tm ? tm->i != 0 : 0;
            for (int k = 1; !tm && g->opset < 14 && k < n->n_out; k++)
                train |= n->out[k] >= 0;
        }
        if (policy == OC_BN_AUTO)
            train = !trainable || (n->n_in > 1 && n->in[1] >= 0 && trainable[n->in[1]]) ||
                    (n->n_in > 2 && n->in[2] >= 0 && trainable[n->in[2]]);
        if (n->n_in < 5 || n->in[3] < 0 || n->in[4] < 0)
            return oc_fail(d, "BatchNormalization '%s': expected 5 inputs (X, scale, B, mean, var)", n->name);
        if (oc_bn_set_mode(g, i, train, d))
            return -1;
        count += train;
    }
    if (n_training)
        *n_training = count;
    return 0;
}

oc_graph *oc_graph_clone(const oc_graph *g, oc_diag *d)
{
    unsigned char *buf;
    size_t len;
    if (oc_onnx_encode(g, &buf, &len, d))
        return NULL;
    oc_graph *c = oc_onnx_load_memory(buf, len, g->source && *g->source ? g->source : g->name, d);
    free(buf);
    if (c && oc_graph_infer_shapes(c, d)) {
        oc_graph_free(c);
        return NULL;
    }
    return c;
}

void oc_train_graph_free(oc_train_graph *tg)
{
    oc_graph_free(tg->g);
    free(tg->params);
    free(tg->grads);
    free(tg->stat_out);
    free(tg->stat_state);
    memset(tg, 0, sizeof *tg);
}

int oc_train_graph_build(oc_graph *g, const oc_loss_spec *loss, const unsigned char *trainable, oc_bn_policy bn,
                         int dropout_train, oc_train_graph *tg, oc_diag *d)
{
    memset(tg, 0, sizeof *tg);
    tg->g = g;
    tg->loss = tg->prediction = -1;
    if (loss->prediction) {
        if ((tg->prediction = oc_graph_find(g, loss->prediction)) < 0) {
            oc_fail(d, "the model has no value '%s' to take the loss of", loss->prediction);
            goto fail;
        }
    } else if (loss->output < 0 || loss->output >= g->n_outputs) {
        oc_fail(d, "the model has %d outputs; the loss cannot take output %d", g->n_outputs, loss->output);
        goto fail;
    } else {
        tg->prediction = g->outputs[loss->output];
    }
    /* the trainable set, in graph order, before anything is appended */
    int n_cand = 0, *cand = oc_trainable_params(g, &n_cand, d);
    if (!cand)
        goto fail;
    tg->params = malloc(sizeof(int) * (size_t)(n_cand + 1));
    tg->grads = malloc(sizeof(int) * (size_t)(n_cand + 1));
    if (!tg->params || !tg->grads) {
        free(cand);
        oc_fail(d, "out of memory");
        goto fail;
    }
    for (int k = 0; k < n_cand; k++)
        if (!trainable || trainable[cand[k]])
            tg->params[tg->n_params++] = cand[k];
    free(cand);
    if (tg->n_params == 0) {
        oc_fail(d, "the model has no trainable parameters (float initializers)%s", trainable ? " among those selected" : "");
        goto fail;
    }
    /* BatchNormalization modes, explicit on every node */
    unsigned char *flags = NULL;
    if (trainable || bn == OC_BN_AUTO) {
        if (!(flags = calloc((size_t)g->n_values + 1, 1))) {
            oc_fail(d, "out of memory");
            goto fail;
        }
        for (int k = 0; k < tg->n_params; k++)
            flags[tg->params[k]] = 1;
    }
    int rc = oc_bn_mark(g, flags, bn, &tg->n_bn_train, d);
    free(flags);
    if (rc)
        goto fail;
    /* which output of a training BN replaces which running statistic */
    tg->stat_out = malloc(sizeof(int) * (size_t)(2 * tg->n_bn_train + 1));
    tg->stat_state = malloc(sizeof(int) * (size_t)(2 * tg->n_bn_train + 1));
    if (!tg->stat_out || !tg->stat_state) {
        oc_fail(d, "out of memory");
        goto fail;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "BatchNormalization") || !oc_attr_int(n, "training_mode", 0))
            continue;
        for (int k = 1; k <= 2; k++) {
            tg->stat_out[tg->n_stats] = n->out[k];
            tg->stat_state[tg->n_stats++] = n->in[k + 2];
        }
    }
    /* loss = op(prediction, labels[, class weights]) */
    if (oc_graph_add_input(g, "onnxc_labels", loss->label_dtype, loss->label_rank, loss->label_dims, NULL, d) < 0)
        goto fail;
    int64_t cw[1] = {loss->class_weights};
    if (loss->class_weights > 0 && oc_graph_add_input(g, "onnxc_class_weights", OC_FLOAT, 1, cw, NULL, d) < 0)
        goto fail;
    const char *lin[3] = {g->values[tg->prediction].name, "onnxc_labels", "onnxc_class_weights"};
    const char *lout[1] = {"onnxc_loss"};
    int ln = oc_graph_add_node_in(g, loss->domain ? loss->domain : "", loss->op ? loss->op : "SoftmaxCrossEntropyLoss",
                                  "onnxc_loss", loss->class_weights > 0 ? 3 : 2, lin, 1, lout, d);
    if (ln < 0)
        goto fail;
    for (int k = 0; k < loss->n_fattrs && k < 4; k++)
        if (oc_node_set_float(g, ln, loss->fattr_name[k], loss->fattr[k], d))
            goto fail;
    if (oc_graph_infer_shapes(g, d))
        goto fail;
    tg->loss = oc_graph_find(g, "onnxc_loss");
    if (oc_graph_mark_output(g, tg->loss, d))
        goto fail;
    oc_autodiff_opts ao = {0, dropout_train};
    if (oc_autodiff(g, tg->loss, tg->n_params, tg->params, &ao, tg->grads, d))
        goto fail;
    return 0;
fail:
    oc_train_graph_free(tg);
    return -1;
}
