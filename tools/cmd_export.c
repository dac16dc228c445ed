/* cmd_export.c: `onnxc export --model NAME -o OUT.onnx [--batch N] [--classes N] [--seed S]`
 * Writes one of onnxc's own networks (models/) as an ONNX file. */
#include <stdio.h>
#include <string.h>

#include "../compiler/onnx_export.h"
#include "../compiler/shape.h"
#include "../models/models.h"
#include "cli.h"

int oc_cmd_export(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *v;
    int64_t batch = -1, classes = -1, seed = 1, size = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: onnxc export --model NAME -o OUT.onnx [--batch N] [--classes N] [--size HW] [--seed S]\n"
                   "models: %s\n", oc_model_names());
            return 0;
        }
        if (strcmp(a, "--model") == 0 || strcmp(a, "-o") == 0) {
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
