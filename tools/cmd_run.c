/* cmd_run.c: `onnxc run MODEL.onnx -i [NAME=]FILE ... [-o DIR] [--format npy|pb]
 *            [--batch N] [--dim NAME=N] [--threads N] [--top K] [--mean r,g,b] [--std r,g,b] [--no-crop]
 *            [--max-memory BYTES[K|M|G]] [--no-fuse] [--passes LIST] [--no-pass NAME]`
 * Inference on one set of inputs. Inputs are ONNX TensorProto (.pb), numpy
 * (.npy) or images (decoded by stb_image, resized and normalized, ImageNet
 * mean/std by default). Outputs are written atomically as .npy or .pb into
 * DIR (string outputs always as .pb: .npy has no string type here); a 1-D or
 * 2-D float output also prints its top classes, a string output its first strings. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../compiler/onnx_export.h"
#include "../compiler/onnx_import.h"
#include "../compiler/planner.h"
#include "../compiler/shape.h"
#include "../runtime/strtensor.h"
#include "../runtime/io.h"
#include "../runtime/threads.h"
#include "cli.h"

#define MAX_INPUTS 64

static int has_ext(const char *p, const char *ext)
{
    size_t n = strlen(p), e = strlen(ext);
    if (n < e)
        return 0;
    for (size_t i = 0; i < e; i++)
        if (tolower((unsigned char)p[n - e + i]) != ext[i])
            return 0;
    return 1;
}

static int is_image(const char *p)
{
    static const char *exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm", ".psd", ".hdr"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (has_ext(p, exts[i]))
            return 1;
    return 0;
}

static int parse_triple(const char *flag, const char *s, float *out)
{
    char *end;
    for (int i = 0; i < 3; i++) {
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !isfinite(v) || (i < 2 && *end != ',') || (i == 2 && *end)) {
            fprintf(stderr, "onnxc run: %s expects three numbers like 0.5,0.5,0.5, got '%s'\n", flag, s);
            return -1;
        }
        out[i] = (float)v;
        s = end + 1;
    }
    return 0;
}

static void print_top(const char *name, const oc_tensor *t, int top)
{
    int64_t rows = t->rank == 2 ? t->dims[0] : 1, cols = t->dims[t->rank - 1];
    if (cols < 2 || t->dtype != OC_FLOAT)
        return;
    for (int64_t r = 0; r < rows && r < 8; r++) {
        const float *v = (const float *)t->data + r * cols;
        printf("%s[%lld] top-%d:", name, (long long)r, top);
        int64_t picked[64];
        for (int k = 0; k < top && k < cols && k < 64; k++) {
            int64_t best = -1;
            for (int64_t c = 0; c < cols; c++) {
                int taken = 0;
                for (int j = 0; j < k; j++)
                    taken |= picked[j] == c;
                if (!taken && (best < 0 || v[c] > v[best] || (isnan(v[best]) && !isnan(v[c]))))
                    best = c;
            }
            picked[k] = best;
            printf("  %lld (%.4g)", (long long)best, v[best]);
        }
        printf("\n");
    }
}

int oc_cmd_run(int argc, char **argv)
{
    cli_model_args ma = {0};
    ma.batch = -1;
    const char *in_spec[MAX_INPUTS], *out_dir = NULL, *format = "npy";
    int n_spec = 0, top = 5, threads = 0;
    oc_image_opts io;
    oc_image_opts_default(&io);
    oc_pass_opts popts;
    oc_pass_opts_default(&popts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r = cli_pass_arg("run", &popts, NULL, argc, argv, &i);
        if (!r && strcmp(a, "-i") && strcmp(a, "--input"))
            r = cli_model_arg("run", &ma, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: onnxc run MODEL.onnx -i [NAME=]FILE ... [-o DIR] [--format npy|pb] [--batch N]\n"
                   "       [--dim NAME=N] [--threads N] [--top K] [--mean r,g,b] [--std r,g,b] [--no-crop]\n"
                   "       [--max-memory BYTES[K|M|G]] (default: half the physical RAM)\n"
                   "       [--no-fuse] [--passes LIST] [--no-pass NAME]\n"
                   "FILE: .pb (ONNX TensorProto), .npy, or an image (png, jpg, bmp, ...).\n"
                   "Graph passes (onnxc info --passes lists them) run before planning; --no-fuse turns\n"
                   "off every rewrite, --passes LIST runs exactly those, --no-pass NAME turns one off.\n");
            return 0;
        } else if (!strcmp(a, "-i") || !strcmp(a, "--input")) {
            if (!(v = cli_value("run", argc, argv, &i)))
                return 2;
            if (n_spec == MAX_INPUTS) {
                fprintf(stderr, "onnxc run: at most %d inputs\n", MAX_INPUTS);
                return 2;
            }
            in_spec[n_spec++] = v;
        } else if (!strcmp(a, "-o")) {
            if (!(out_dir = cli_value("run", argc, argv, &i)))
                return 2;
        } else if (!strcmp(a, "--format")) {
            if (!(format = cli_value("run", argc, argv, &i)))
                return 2;
            if (strcmp(format, "npy") && strcmp(format, "pb")) {
                fprintf(stderr, "onnxc run: --format must be npy or pb, got '%s'\n", format);
                return 2;
            }
        } else if (!strcmp(a, "--top")) {
            int64_t x;
            if (!(v = cli_value("run", argc, argv, &i)) || cli_int(a, v, 0, 64, &x))
                return 2;
            top = (int)x;
        } else if (!strcmp(a, "--threads")) {
            int64_t x;
            if (!(v = cli_value("run", argc, argv, &i)) || cli_int(a, v, 1, 1024, &x))
                return 2;
            threads = (int)x;
        } else if (!strcmp(a, "--mean") || !strcmp(a, "--std")) {
            if (!(v = cli_value("run", argc, argv, &i)) || parse_triple(a, v, a[2] == 'm' ? io.mean : io.std))
                return 2;
            if (a[2] == 's' && (io.std[0] <= 0 || io.std[1] <= 0 || io.std[2] <= 0)) {
                fprintf(stderr, "onnxc run: --std values must be positive\n");
                return 2;
            }
        } else if (!strcmp(a, "--no-crop")) {
            io.center_crop = 0;
        } else {
            fprintf(stderr, "onnxc run: unknown argument '%s' (see onnxc run --help)\n", a);
            return 2;
        }
    }
    oc_set_threads(threads);
    if (!ma.path && !ma.model) {
        fprintf(stderr, "onnxc run: no model given\n");
        return 2;
    }
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = ma.path ? oc_onnx_load(ma.path, &d) : NULL;
    oc_tensor *inputs[MAX_INPUTS] = {0};
    oc_plan *p = NULL;
    oc_pass_report rep = {0};
    int rc = 1;
    const char *src = ma.path ? ma.path : ma.model;
    if (!g) {
        if (ma.model)
            fprintf(stderr, "onnxc run: --model is not supported here; export it first (onnxc export)\n");
        else
            fprintf(stderr, "onnxc run: error: %s\n", d.msg);
        return 1;
    }
    if (oc_graph_bind_dims(g, ma.batch, ma.n_dims, ma.dims, &d))
        goto fail;
    if (n_spec > g->n_inputs) {
        oc_fail(&d, "%d inputs given; the model takes %d", n_spec, g->n_inputs);
        goto fail;
    }
    for (int s = 0; s < n_spec; s++) {
        const char *eq = strchr(in_spec[s], '='), *file = in_spec[s];
        int k = s;
        if (eq) {
            char name[512];
            snprintf(name, sizeof name, "%.*s", (int)(eq - in_spec[s]), in_spec[s]);
            file = eq + 1;
            for (k = 0; k < g->n_inputs && strcmp(g->values[g->inputs[k]].name, name); k++)
                ;
            if (k == g->n_inputs) {
                oc_fail(&d, "the model has no input named '%s'", name);
                goto fail;
            }
        }
        if (inputs[k]) {
            oc_fail(&d, "input '%s' is given twice", g->values[g->inputs[k]].name);
            goto fail;
        }
        oc_value *v = &g->values[g->inputs[k]];
        if (is_image(file)) {
            if (v->rank != 4 || (v->dims[1] != 1 && v->dims[1] != 3) || v->dims[2] < 1 || v->dims[3] < 1) {
                oc_fail(&d, "input '%s' is not an image input [N, 1 or 3, H, W] with known H and W", v->name);
                goto fail;
            }
            io.channels = (int)v->dims[1];
            io.height = v->dims[2];
            io.width = v->dims[3];
            inputs[k] = oc_image_load(file, &io, &d);
        } else {
            inputs[k] = cli_load_tensor(file, &d);
        }
        if (!inputs[k])
            goto fail;
        /* symbolic dims take the data's extents; fixed ones must match */
        if (v->rank == inputs[k]->rank)
            for (int i = 0; i < v->rank; i++)
                if (v->dims[i] < 0 || (i == 0 && ma.batch < 0 && is_image(file)))
                    v->dims[i] = inputs[k]->dims[i];
    }
    for (int k = 0; k < g->n_inputs; k++)
        if (!inputs[k]) {
            oc_fail(&d, "input '%s' (%s) was not given; use -i %s=FILE", g->values[g->inputs[k]].name,
                    oc_dtype_name(g->values[g->inputs[k]].dtype), g->values[g->inputs[k]].name);
            goto fail;
        }
    if (oc_graph_infer_shapes(g, &d) || oc_passes_run(g, &popts, &rep, &d))
        goto fail;
    oc_plan_opts po = {oc_get_threads(), 0};
    po.max_memory = ma.max_memory;
    po.views = rep.views;
    if (!(p = oc_plan_build(g, &po, &d)))
        goto fail;
    for (int k = 0; k < g->n_inputs; k++)
        if (oc_plan_set_input(p, k, inputs[k], &d))
            goto fail;
    if (oc_plan_run(p, &d))
        goto fail;
    if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        oc_fail(&d, "%s: cannot create output folder: %s", out_dir, strerror(errno));
        goto fail;
    }
    for (int k = 0; k < p->n_outputs; k++) {
        const oc_tensor *t = &p->tensors[p->outputs[k]];
        char sh[256];
        printf("output '%s': %s %s\n", p->names[p->outputs[k]], oc_dtype_name(t->dtype),
               oc_format_dims(sh, sizeof sh, t->dims, t->rank));
        if (t->dtype == OC_STRING) { /* the first few strings */
            const oc_str *sv = t->data;
            for (int64_t i = 0; i < t->numel && i < 8; i++)
                printf("  [%lld] \"%.200s\"\n", (long long)i, oc_str_bytes(sv[i]));
        } else if (top > 0 && (t->rank == 1 || t->rank == 2))
            print_top(p->names[p->outputs[k]], t, top);
        if (out_dir) {
            char fname[256], path[4096];
            snprintf(fname, sizeof fname, "%s", p->names[p->outputs[k]]);
            for (char *c = fname; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
                    *c = '_';
            /* .npy has no string type onnxc writes: string outputs go out as .pb */
            const char *fmt = t->dtype == OC_STRING ? "pb" : format;
            snprintf(path, sizeof path, "%s/%s.%s", out_dir, fname, fmt);
            int w = !strcmp(fmt, "npy") ? oc_npy_write(path, t, &d)
                                           : oc_onnx_save_tensor(t, p->names[p->outputs[k]], path, &d);
            if (w)
                goto fail;
            printf("wrote %s\n", path);
        }
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc run: error: %s: %s\n", src, d.msg);
done:
    for (int k = 0; k < MAX_INPUTS; k++)
        oc_tensor_free(inputs[k]);
    oc_plan_free(p);
    oc_pass_report_free(&rep);
    oc_graph_free(g);
    return rc;
}
