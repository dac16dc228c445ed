/* cmd_export.c: `onnxc export --model NAME -o OUT.onnx [--batch N] [--classes N] [--seed S]`
 *            or `onnxc export MODEL.onnx --trained FILE -o OUT.onnx`
 * Writes one of onnxc's own networks (models/) as an ONNX file, or an ONNX
 * model with its initializers replaced by trained values: an onnxc tensors
 * file (runtime/io.h) such as generated training code writes
 * (NAME_train_save_weights, onnxc compile --train). */
#include <stdio.h>
#include <string.h>

#include "../compiler/onnx_export.h"
#include "../compiler/onnx_import.h"
#include "../runtime/io.h"
#include "../compiler/shape.h"
#include "../models/models.h"
#include "cli.h"

/* Replaces g's initializers by the tensors of `path`, matched by name;
 * every tensor must name an initializer of the same type and shape. */
static int apply_trained(oc_graph *g, const char *path, int *replaced, oc_diag *d)
{
    int n = 0, rc = -1;
    char **names = NULL;
    oc_tensor **t = NULL;
    if (oc_tensors_load(path, &n, &names, &t, d))
        return -1;
    for (int k = 0; k < n; k++) {
        int v = oc_graph_find(g, names[k]);
        oc_value *val = v >= 0 ? &g->values[v] : NULL;
        if (!val || !val->constant) {
            oc_fail(d, "%s: tensor '%s' is not an initializer of the model", path, names[k]);
            goto out;
        }
        oc_tensor *c = val->constant;
        int same = c->dtype == t[k]->dtype && c->rank == t[k]->rank;
        for (int i = 0; same && i < c->rank; i++)
            same = c->dims[i] == t[k]->dims[i];
        if (!same) {
            char a[128], b[128];
            oc_fail(d, "%s: tensor '%s' is %s %s, the model's initializer is %s %s", path, names[k],
                    oc_dtype_name(t[k]->dtype), oc_format_dims(a, sizeof a, t[k]->dims, t[k]->rank),
                    oc_dtype_name(c->dtype), oc_format_dims(b, sizeof b, c->dims, c->rank));
            goto out;
        }
        memcpy(c->data, t[k]->data, oc_tensor_nbytes(c));
    }
    *replaced = n;
    rc = 0;
out:
    oc_tensors_free(n, names, t);
    return rc;
}

static int export_trained(const char *src, const char *trained, const char *out)
{
    oc_diag d;
    oc_diag_init(&d);
    int n = 0;
    oc_graph *g = oc_onnx_load(src, &d);
    if (!g || apply_trained(g, trained, &n, &d) || oc_onnx_save(g, out, &d)) {
        fprintf(stderr, "onnxc export: error: %s\n", d.msg);
        oc_graph_free(g);
        return 1;
    }
    printf("wrote %s (%s with %d tensors from %s)\n", out, src, n, trained);
    oc_graph_free(g);
    return 0;
}

int oc_cmd_export(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *v, *src = NULL, *trained = NULL;
    int64_t batch = -1, classes = -1, seed = 1, size = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: onnxc export --model NAME -o OUT.onnx [--batch N] [--classes N] [--size HW] [--seed S]\n"
                   "       onnxc export MODEL.onnx --trained FILE -o OUT.onnx\n"
                   "The second form replaces the model's initializers by the tensors of FILE (an onnxc tensors\n"
                   "file, as generated training code writes: onnxc compile --train).\n"
                   "models: %s\n", oc_model_names());
            return 0;
        }
        if (strcmp(a, "--trained") == 0) {
            if (!(trained = cli_value("export", argc, argv, &i)))
                return 2;
        } else if (a[0] != '-' && !src) {
            src = a;
        } else if (strcmp(a, "--model") == 0 || strcmp(a, "-o") == 0) {
            if (!(v = cli_value("export", argc, argv, &i)))
                return 2;
            *(a[1] == 'o' ? &out : &model) = v;
        } else if (strcmp(a, "--batch") == 0 || strcmp(a, "--classes") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--size") == 0) {
            int64_t *dst = a[2] == 'b' ? &batch : a[2] == 'c' ? &classes : a[3] == 'e' ? &seed : &size;
            if (!(v = cli_value("export", argc, argv, &i)) || cli_int(a, v, 1, (int64_t)1 << 30, dst))
                return 2;
        } else {
            fprintf(stderr, "onnxc export: unknown argument '%s' (see onnxc export --help)\n", a);
            return 2;
        }
    }
    if (src || trained) {
        if (!src || !trained || !out || model) {
            fprintf(stderr, "onnxc export: MODEL.onnx --trained FILE -o OUT.onnx (no --model)\n");
            return 2;
        }
        return export_trained(src, trained, out);
    }
    if (!model || !out) {
        fprintf(stderr, "onnxc export: needs --model NAME and -o OUT.onnx\n");
        return 2;
    }
    oc_model_opts o;
    oc_model_opts_default(model, &o);
    o.batch = batch;
    o.seed = (uint64_t)seed;
    if (classes > 0)
        o.classes = classes;
    if (size > 0)
        o.height = o.width = size;
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_model_build(model, &o, &d);
    if (!g || oc_graph_infer_shapes(g, &d) || oc_onnx_save(g, out, &d)) {
        fprintf(stderr, "onnxc export: error: %s\n", d.msg);
        oc_graph_free(g);
        return 1;
    }
    printf("wrote %s (%s, %d nodes)\n", out, model, g->n_nodes);
    oc_graph_free(g);
    return 0;
}
