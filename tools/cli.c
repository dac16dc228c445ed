/* cli.c: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../compiler/onnx_import.h"
#include "../runtime/io.h"
#include "../models/models.h"

int cli_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "onnxc: %s expects an integer in %lld..%lld, got '%s'\n", flag, (long long)lo,
                (long long)hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_bytes(const char *flag, const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (SIZE_MAX >> shift)) {
        fprintf(stderr, "onnxc: %s expects a positive byte count like 4096, 512K, 64M or 2G, got '%s'\n", flag, s);
        return -1;
    }
    *out = (size_t)v << shift;
    return 0;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "onnxc %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_model_arg(const char *cmd, cli_model_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *v;
    if (strcmp(arg, "--batch") == 0) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_int("--batch", v, 1, 1 << 24, &a->batch))
            return -1;
        return 1;
    }
    if (strcmp(arg, "--dim") == 0) {
        if (!(v = cli_value(cmd, argc, argv, i)))
            return -1;
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || (size_t)(eq - v) >= sizeof a->dim_names[0]) {
            fprintf(stderr, "onnxc %s: --dim expects NAME=SIZE, got '%s'\n", cmd, v);
            return -1;
        }
        if (a->n_dims >= 16) {
            fprintf(stderr, "onnxc %s: at most 16 --dim bindings\n", cmd);
            return -1;
        }
        memcpy(a->dim_names[a->n_dims], v, (size_t)(eq - v));
        a->dim_names[a->n_dims][eq - v] = 0;
        if (cli_int("--dim", eq + 1, 0, 1 << 30, &a->dims[a->n_dims].value))
            return -1;
        a->dims[a->n_dims].name = a->dim_names[a->n_dims];
        a->n_dims++;
        return 1;
    }
    if (strcmp(arg, "--max-memory") == 0) {
        if (!(v = cli_value(cmd, argc, argv, i)) || cli_bytes("--max-memory", v, &a->max_memory))
            return -1;
        return 1;
    }
    if (strcmp(arg, "--model") == 0) {
        if (!(v = cli_value(cmd, argc, argv, i)))
            return -1;
        a->model = v;
        return 1;
    }
    if (arg[0] != '-' && !a->path) {
        a->path = arg;
        return 1;
    }
    return 0;
}

oc_graph *cli_load_model(const char *cmd, const cli_model_args *a)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = NULL;
    if (a->path && a->model) {
        fprintf(stderr, "onnxc %s: give a model file or --model, not both\n", cmd);
        return NULL;
    }
    if (a->model) {
        oc_model_opts o;
        oc_model_opts_default(a->model, &o);
        g = oc_model_build(a->model, &o, &d);
    } else if (a->path) {
        g = oc_onnx_load(a->path, &d);
    } else {
        fprintf(stderr, "onnxc %s: no model given (a .onnx file or --model NAME)\n", cmd);
        return NULL;
    }
    const char *src = a->path ? a->path : a->model;
    if (g && (oc_graph_bind_dims(g, a->batch, a->n_dims, a->dims, &d) || oc_graph_infer_shapes(g, &d))) {
        oc_diag_prefix(&d, "%s: ", src);
        oc_graph_free(g);
        g = NULL;
    }
    for (int i = 0; i < d.n_warn; i++)
        fprintf(stderr, "onnxc %s: warning: %s: %s\n", cmd, src, d.warn[i]);
    if (!g)
        fprintf(stderr, "onnxc %s: error: %s\n", cmd, d.msg);
    return g;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

oc_tensor *cli_load_tensor(const char *file, oc_diag *d)
{
    size_t n = strlen(file);
    if (n > 4 && !strcmp(file + n - 4, ".npy"))
        return oc_npy_read(file, d);
    if (n > 3 && !strcmp(file + n - 3, ".pb"))
        return oc_onnx_load_tensor(file, NULL, d);
    oc_fail(d, "%s: unknown tensor format (use .pb or .npy; onnxc run also reads images)", file);
    return NULL;
}
