/* cli.c: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "../compiler/onnx_import.h"
#include "../runtime/io.h"
#include "../models/models.h"

/* Inputs (bit k = input k) whose value defines an output's shape, so that
 * a static-shape deployment would fix them; the ops' config inputs that
 * only steer the arithmetic (Clip's bounds, CumSum's axis) are not here. */
static const struct {
    const char *op;
    unsigned inputs;
} shape_inputs[] = {
    {"Reshape", 1u << 1},        {"Expand", 1u << 1},          {"Tile", 1u << 1},
    {"ConstantOfShape", 1u << 0}, {"Range", 7u},               {"Slice", 0x1eu},
    {"Pad", (1u << 1) | (1u << 3)}, {"Resize", (1u << 2) | (1u << 3)}, {"Upsample", 1u << 1},
    {"Unsqueeze", 1u << 1},      {"Squeeze", 1u << 1},         {"TopK", 1u << 1},
    {"OneHot", 1u << 1},         {"Split", 1u << 1},           {"CenterCropPad", 1u << 1},
    {"ReduceSum", 1u << 1},      {"ReduceMean", 1u << 1},      {"ReduceMax", 1u << 1},
    {"ReduceMin", 1u << 1},      {"ReduceProd", 1u << 1},      {"ReduceL1", 1u << 1},
    {"ReduceL2", 1u << 1},       {"ReduceLogSum", 1u << 1},    {"ReduceLogSumExp", 1u << 1},
    {"ReduceSumSquare", 1u << 1},
    {"Loop", 1u << 0}, /* the trip count sizes the stacked scan outputs */
    {"MelWeightMatrix", 3u}, /* num_mel_bins, dft_length */
};

/* Whether the value of v defines a shape: v, or a value computed from it
 * (a window length through Sub and Cast into Range, say), is read by some
 * node at an input listed in shape_inputs. Shape and Size read only v's
 * shape, so nothing flows through them. */
int cli_defines_shape(const oc_graph *g, int v, oc_diag *d)
{
    unsigned char *from_v = calloc((size_t)g->n_values + 1, 1);
    int hit = 0;
    if (!from_v)
        return oc_fail(d, "out of memory");
    from_v[v] = 1;
    for (int i = 0; i < g->n_nodes && !hit; i++) { /* nodes are in topological order */
        const oc_node *n = &g->nodes[i];
        int reads_v = 0;
        for (size_t s = 0; s < sizeof shape_inputs / sizeof shape_inputs[0]; s++) {
            if (strcmp(n->op_type, shape_inputs[s].op) != 0)
                continue;
            unsigned mask = shape_inputs[s].inputs;
            if (!strcmp(n->op_type, "Resize") && n->n_in == 2)
                mask = 1u << 1; /* opset 10: Resize(X, scales) */
            for (int k = 0; k < n->n_in && k < 32; k++)
                hit |= n->in[k] >= 0 && from_v[n->in[k]] && (mask & (1u << k));
        }
        for (int k = 0; k < n->n_in; k++)
            reads_v |= n->in[k] >= 0 && from_v[n->in[k]];
        if (reads_v && strcmp(n->op_type, "Shape") != 0 && strcmp(n->op_type, "Size") != 0)
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0)
                    from_v[n->out[k]] = 1;
    }
    free(from_v);
    return hit;
}

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

int cli_set_flag(const char *cmd, const cli_flag *table, const char *f, const char *v)
{
    for (const cli_flag *t = table; t->name; t++) {
        if (strcmp(t->name, f))
            continue;
        if (t->kind == CLI_INT)
            return cli_int(f, v, 0, (int64_t)1 << 40, t->dst) ? -1 : 0;
        if (t->kind == CLI_STR) {
            *(const char **)t->dst = v;
            return 0;
        }
        char *end;
        double x = strtod(v, &end);
        if (*end || end == v || !isfinite(x) || x < 0) {
            fprintf(stderr, "onnxc %s: %s expects a non-negative number, got '%s'\n", cmd, f, v);
            return -1;
        }
        *(double *)t->dst = x;
        return 0;
    }
    return 1;
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

/* A --passes value: pass-name characters only, and not a file (so that
 * `onnxc info --passes model.onnx` still reads the model). */
static int looks_like_pass_list(const char *s)
{
    struct stat st;
    if (!*s || s[0] == '-' || stat(s, &st) == 0)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == ','))
            return 0;
    return 1;
}

int cli_pass_arg(const char *cmd, oc_pass_opts *o, int *show, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *list = NULL;
    oc_diag d;
    oc_diag_init(&d);
    if (!strcmp(arg, "--no-fuse")) {
        o->no_fuse = 1;
        return 1;
    }
    if (!strcmp(arg, "--no-pass")) {
        if (!(list = cli_value(cmd, argc, argv, i)))
            return -1;
        if (oc_pass_opts_add(o, 0, list, &d)) {
            fprintf(stderr, "onnxc %s: --no-pass: %s\n", cmd, d.msg);
            return -1;
        }
        return 1;
    }
    if (strncmp(arg, "--passes", 8) || (arg[8] && arg[8] != '='))
        return 0;
    if (arg[8] == '=')
        list = arg + 9;
    else if (*i + 1 < argc && looks_like_pass_list(argv[*i + 1]))
        list = argv[++*i];
    if (show)
        *show = 1;
    if (!list) {
        if (show)
            return 1;
        char names[256];
        fprintf(stderr, "onnxc %s: --passes needs a comma-separated list of passes (%s; 'none' for none)\n", cmd,
                oc_pass_names(names, sizeof names));
        return -1;
    }
    if (oc_pass_opts_add(o, 1, strcmp(list, "none") ? list : "", &d)) {
        fprintf(stderr, "onnxc %s: --passes: %s\n", cmd, d.msg);
        return -1;
    }
    return 1;
}

int cli_run_passes(const char *cmd, const char *src, oc_graph *g, const oc_pass_opts *o, oc_pass_report *r)
{
    oc_diag d;
    oc_diag_init(&d);
    if (oc_passes_run(g, o, r, &d) == 0)
        return 0;
    fprintf(stderr, "onnxc %s: error: %s: %s\n", cmd, src, d.msg);
    return -1;
}

void cli_print_passes(FILE *f, const oc_pass_report *r)
{
    int n;
    const oc_pass *t = oc_pass_table(&n);
    fprintf(f, "\npasses (in order):\n%-10s %-8s %-5s %7s  %s\n", "pass", "group", "state", "changes", "description");
    for (int i = 0; i < n && i < r->n; i++) {
        const oc_pass_result *e = &r->r[i];
        const char *state = e->state == OC_PASS_RAN ? "on" : e->state == OC_PASS_SKIPPED ? "off" : "-";
        if (e->state == OC_PASS_RAN)
            fprintf(f, "%-10s %-8s %-5s %7d  %s\n", t[i].name, t[i].group, state, e->changes, t[i].desc);
        else
            fprintf(f, "%-10s %-8s %-5s %7s  %s\n%34s(skipped: %s)\n", t[i].name, t[i].group, state, "-", t[i].desc,
                    "", e->why);
        for (int k = 0; k < e->n_notes; k++)
            fprintf(f, "%34s%s\n", "", e->notes[k]);
        if (e->changes > e->n_notes && e->n_notes)
            fprintf(f, "%34s... and %d more\n", "", e->changes - e->n_notes);
    }
}

void cli_json_passes(FILE *f, const oc_pass_report *r)
{
    int n;
    const oc_pass *t = oc_pass_table(&n);
    fputc('[', f);
    for (int i = 0; i < n && i < r->n; i++) {
        const oc_pass_result *e = &r->r[i];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        cli_json_string(f, t[i].name);
        fputs(",\"group\":", f);
        cli_json_string(f, t[i].group);
        fprintf(f, ",\"ran\":%s,\"changes\":%d,\"skipped\":", e->state == OC_PASS_RAN ? "true" : "false",
                e->changes);
        cli_json_string(f, e->state == OC_PASS_SKIPPED ? e->why : "");
        fputs(",\"description\":", f);
        cli_json_string(f, t[i].desc);
        fputs(",\"notes\":[", f);
        for (int k = 0; k < e->n_notes; k++) {
            if (k)
                fputc(',', f);
            cli_json_string(f, e->notes[k]);
        }
        fputs("]}", f);
    }
    fputc(']', f);
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

int cli_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
