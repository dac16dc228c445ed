/* builder.c: see builder.h. */
#include "builder.h"

#include "../runtime/init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ob_begin(ob *b, const char *name, uint64_t seed, oc_diag *d)
{
    memset(b, 0, sizeof *b);
    b->d = d;
    b->rng = seed;
    b->g = oc_graph_new(name, 17, d);
    b->failed = b->g == NULL;
    if (b->g) {
        free(b->g->producer);
        b->g->producer = oc_strdup("onnxc builder");
    }
    return b->failed ? -1 : 0;
}

static const char *fresh(ob *b, const char *stem, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s_%d", stem, b->counter++);
    return buf;
}

/* Adds node op(x[, extra...]) with one fresh output; returns its name. */
static const char *node(ob *b, const char *op, int n_in, const char *const *in, int *nid)
{
    char out[80], name[64];
    if (b->failed)
        return "";
    fresh(b, op, name, sizeof name);
    snprintf(out, sizeof out, "%s_out", name);
    const char *outs[1] = {out};
    int id = oc_graph_add_node(b->g, op, name, n_in, in, 1, outs, b->d);
    if (id < 0) {
        b->failed = 1;
        return "";
    }
    if (nid)
        *nid = id;
    return b->g->values[b->g->nodes[id].out[0]].name;
}

/* A parameter tensor: init 0 = constant `scale`, 1 = Kaiming normal (ReLU
 * gain, fan_in; the standard deviation is sqrt(2 / fan_in)), 2 = uniform in
 * +-scale (torch.nn.Linear's default). Each tensor draws from its own
 * stream of the model seed (runtime/init.c), so weights do not depend on
 * the order layers are built in beyond their position. */
static const char *param(ob *b, const char *prefix, const char *suffix, int rank, const int64_t *dims,
                         int init, float scale)
{
    if (b->failed)
        return "";
    char name[256];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    oc_tensor *t = oc_tensor_new(OC_FLOAT, rank, dims, b->d);
    if (!t) {
        b->failed = 1;
        return "";
    }
    oc_init c;
    oc_rng r;
    oc_rng_seed_stream(&r, b->rng, (uint64_t)b->counter++);
    if (init == 1) {
        oc_init_default(&c, OC_INIT_KAIMING_NORMAL);
    } else if (init == 2) {
        oc_init_default(&c, OC_INIT_UNIFORM);
        c.a = -scale;
        c.b = scale;
    } else {
        oc_init_default(&c, OC_INIT_CONSTANT);
        c.a = scale;
    }
    if (oc_init_fill(t->data, dims, rank, &c, &r, b->d)) {
        oc_tensor_free(t);
        b->failed = 1;
        return "";
    }
    int id = oc_graph_add_initializer(b->g, name, t, b->d);
    if (id < 0) {
        b->failed = 1;
        return "";
    }
    return b->g->values[id].name;
}

const char *ob_input(ob *b, const char *name, int64_t batch, int rank, const int64_t *dims)
{
    if (b->failed)
        return "";
    int64_t full[OC_MAX_RANK];
    const char *sym[OC_MAX_RANK] = {0};
    full[0] = batch > 0 ? batch : -1;
    sym[0] = batch > 0 ? NULL : "N";
    for (int i = 0; i < rank; i++)
        full[i + 1] = dims[i];
    int id = oc_graph_add_input(b->g, name, OC_FLOAT, rank + 1, full, sym, b->d);
    if (id < 0) {
        b->failed = 1;
        return "";
    }
    return b->g->values[id].name;
}

const char *ob_conv(ob *b, const char *x, const char *prefix, int64_t cin, int64_t cout, int64_t k,
                    int64_t stride, int64_t pad, int bias)
{
    int64_t wd[4] = {cout, cin, k, k};
    const char *in[3] = {x, param(b, prefix, "weight", 4, wd, 1, 0.0f), NULL};
    if (bias)
        in[2] = param(b, prefix, "bias", 1, &cout, 0, 0.0f);
    int nid = 0;
    const char *y = node(b, "Conv", bias ? 3 : 2, in, &nid);
    if (b->failed)
        return "";
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    if (oc_node_set_ints(b->g, nid, "kernel_shape", 2, ks, b->d) ||
        oc_node_set_ints(b->g, nid, "strides", 2, st, b->d) || oc_node_set_ints(b->g, nid, "pads", 4, pads, b->d))
        b->failed = 1;
    return b->failed ? "" : y;
}

const char *ob_bn(ob *b, const char *x, const char *prefix, int64_t c)
{
    const char *in[5] = {x, param(b, prefix, "weight", 1, &c, 0, 1.0f), param(b, prefix, "bias", 1, &c, 0, 0.0f),
                         param(b, prefix, "running_mean", 1, &c, 0, 0.0f),
                         param(b, prefix, "running_var", 1, &c, 0, 1.0f)};
    int nid = 0;
    const char *y = node(b, "BatchNormalization", 5, in, &nid);
    if (!b->failed && (oc_node_set_float(b->g, nid, "epsilon", 1e-5f, b->d) ||
                       oc_node_set_float(b->g, nid, "momentum", 0.9f, b->d)))
        b->failed = 1;
    return b->failed ? "" : y;
}

const char *ob_relu(ob *b, const char *x) { return node(b, "Relu", 1, &x, NULL); }

const char *ob_maxpool(ob *b, const char *x, int64_t k, int64_t stride, int64_t pad)
{
    int nid = 0;
    const char *y = node(b, "MaxPool", 1, &x, &nid);
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    if (!b->failed && (oc_node_set_ints(b->g, nid, "kernel_shape", 2, ks, b->d) ||
                       oc_node_set_ints(b->g, nid, "strides", 2, st, b->d) ||
                       oc_node_set_ints(b->g, nid, "pads", 4, pads, b->d)))
        b->failed = 1;
    return b->failed ? "" : y;
}

const char *ob_gap(ob *b, const char *x) { return node(b, "GlobalAveragePool", 1, &x, NULL); }

const char *ob_flatten(ob *b, const char *x)
{
    int nid = 0;
    const char *y = node(b, "Flatten", 1, &x, &nid);
    if (!b->failed && oc_node_set_int(b->g, nid, "axis", 1, b->d))
        b->failed = 1;
    return b->failed ? "" : y;
}

const char *ob_add(ob *b, const char *x, const char *y)
{
    const char *in[2] = {x, y};
    return node(b, "Add", 2, in, NULL);
}

const char *ob_dropout(ob *b, const char *x, float ratio)
{
    /* opset 12+: ratio is an optional input; kept as an initializer */
    char name[64];
    if (b->failed)
        return "";
    fresh(b, "dropout_ratio", name, sizeof name);
    oc_tensor *t = oc_tensor_new(OC_FLOAT, 0, NULL, b->d);
    if (!t) {
        b->failed = 1;
        return "";
    }
    *(float *)t->data = ratio;
    int id = oc_graph_add_initializer(b->g, name, t, b->d);
    if (id < 0) {
        b->failed = 1;
        return "";
    }
    const char *in[2] = {x, b->g->values[id].name};
    return node(b, "Dropout", 2, in, NULL);
}

const char *ob_linear(ob *b, const char *x, const char *prefix, int64_t in_f, int64_t out_f)
{
    int64_t wd[2] = {out_f, in_f};
    float bound = 1.0f / sqrtf((float)in_f);
    const char *in[3] = {x, param(b, prefix, "weight", 2, wd, 2, bound), param(b, prefix, "bias", 1, &out_f, 2, bound)};
    int nid = 0;
    const char *y = node(b, "Gemm", 3, in, &nid);
    if (!b->failed && oc_node_set_int(b->g, nid, "transB", 1, b->d))
        b->failed = 1;
    return b->failed ? "" : y;
}

oc_graph *ob_finish(ob *b, const char *out)
{
    if (!b->failed) {
        int id = oc_graph_find(b->g, out);
        if (id < 0 || oc_graph_mark_output(b->g, id, b->d))
            b->failed = 1;
    }
    if (b->failed) {
        oc_fail(b->d, "building model '%s' failed", b->g ? b->g->name : "?");
        oc_graph_free(b->g);
        b->g = NULL;
        return NULL;
    }
    return b->g;
}
