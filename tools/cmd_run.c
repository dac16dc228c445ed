/* cmd_run.c: `onnxc run MODEL.onnx -i [NAME=]FILE ... [-o DIR] [--format npy|pb]
 *            [--batch N] [--dim NAME=N] [--threads N] [--top K] [--mean r,g,b] [--std r,g,b] [--no-crop]
 *            [--max-memory BYTES[K|M|G]] [--max-image-pixels N] [--no-fuse] [--passes LIST] [--no-pass NAME]`
 * Inference on one set of inputs. Inputs are ONNX TensorProto (.pb), numpy
 * (.npy) or images (decoded by stb_image, resized and normalized, ImageNet
 * mean/std by default). Outputs are written atomically as .npy or .pb into
 * DIR (string outputs always as .pb: .npy has no string type here); a 1-D or
 * 2-D float output also prints its top classes, a string output its first strings.
 *
 * The model is loaded, compiled and run through the public API
 * (api/onnxc.h), as an embedder would; this file adds what a command line
 * needs around it: flags, tensor and image files in, files out. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../api/onnxc.h"
#include "../compiler/onnx_export.h"
#include "../runtime/image.h"
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

static void print_top(const char *name, const onnxc_tensor *t, int top)
{
    int64_t rows = t->rank == 2 ? t->dims[0] : 1, cols = t->dims[t->rank - 1];
    if (cols < 2 || t->dtype != ONNXC_FLOAT)
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

/* The load options of the flags: dims, threads, memory cap, passes. */
static onnxc_status make_options(const cli_model_args *ma, int64_t batch, int threads, const oc_pass_opts *popts,
                                 onnxc_options **out)
{
    onnxc_options *o;
    onnxc_status st = onnxc_options_new(&o);
    if (st)
        return st;
    if (batch > 0)
        st = onnxc_options_set_batch(o, batch);
    for (int i = 0; !st && i < ma->n_dims; i++)
        st = onnxc_options_set_dim(o, ma->dims[i].name, ma->dims[i].value);
    if (!st)
        st = onnxc_options_set_threads(o, threads);
    if (!st)
        st = onnxc_options_set_max_memory(o, ma->max_memory);
    if (!st && popts->no_fuse)
        st = onnxc_options_set_optimize(o, 0);
    if (!st && popts->only_set)
        st = onnxc_options_set_passes(o, "");
    for (int k = 0; !st && k < popts->n_only; k++)
        st = onnxc_options_set_passes(o, popts->only[k]);
    for (int k = 0; !st && k < popts->n_off; k++)
        st = onnxc_options_disable_pass(o, popts->off[k]);
    if (st) {
        onnxc_options_free(o);
        return st;
    }
    *out = o;
    return ONNXC_OK;
}

static onnxc_status load_model(const char *path, const cli_model_args *ma, int64_t batch, int threads,
                               const oc_pass_opts *popts, onnxc_model **m)
{
    onnxc_options *o;
    onnxc_status st = make_options(ma, batch, threads, popts, &o);
    if (st)
        return st;
    st = onnxc_model_load(path, o, m);
    onnxc_options_free(o);
    return st;
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
                   "       [--max-image-pixels N] (default 268435456) [--no-fuse] [--passes LIST] [--no-pass NAME]\n"
                   "FILE: .pb (ONNX TensorProto), .npy, or an image (png, jpg, bmp, ...); an image above\n"
                   "--max-image-pixels pixels is refused from its header, before decoding.\n"
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
        } else if (!strcmp(a, "--max-image-pixels")) {
            int64_t x;
            if (!(v = cli_value("run", argc, argv, &i)) || cli_int(a, v, 1, OC_IMG_MAX_PIXELS, &x))
                return 2;
            io.max_pixels = x;
        } else if (!strcmp(a, "--no-crop")) {
            io.center_crop = 0;
        } else {
            fprintf(stderr, "onnxc run: unknown argument '%s' (see onnxc run --help)\n", a);
            return 2;
        }
    }
    /* the pool is process-wide: --threads 1 also shrinks it */
    oc_set_threads(threads);
    if (!ma.path) {
        fprintf(stderr, ma.model ? "onnxc run: --model is not supported here; export it first (onnxc export)\n"
                                 : "onnxc run: no model given\n");
        return ma.model ? 1 : 2;
    }
    const char *src = ma.path;
    onnxc_model *m = NULL;
    if (load_model(src, &ma, ma.batch, threads, &popts, &m)) {
        fprintf(stderr, "onnxc run: error: %s\n", onnxc_last_error());
        return 1;
    }
    oc_tensor *files[MAX_INPUTS] = {0};
    onnxc_tensor in[MAX_INPUTS], out[MAX_INPUTS];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    oc_diag d;
    oc_diag_init(&d);
    int rc = 1, n_in = onnxc_model_input_count(m), n_out = onnxc_model_output_count(m);
    int64_t image_batch = -1; /* an image input's batch dim when it differs from the model's */
    if (n_spec > n_in) {
        oc_fail(&d, "%d inputs given; the model takes %d", n_spec, n_in);
        goto fail;
    }
    if (n_in > MAX_INPUTS || n_out > MAX_INPUTS) {
        oc_fail(&d, "the model has %d inputs and %d outputs; at most %d each are supported here", n_in, n_out,
                MAX_INPUTS);
        goto fail;
    }
    for (int s = 0; s < n_spec; s++) {
        const char *eq = strchr(in_spec[s], '='), *file = in_spec[s];
        int k = s;
        if (eq) {
            char name[512];
            snprintf(name, sizeof name, "%.*s", (int)(eq - in_spec[s]), in_spec[s]);
            file = eq + 1;
            if ((k = onnxc_model_input_index(m, name)) < 0) {
                oc_fail(&d, "the model has no input named '%s'", name);
                goto fail;
            }
        }
        onnxc_value_info v;
        onnxc_model_input_info(m, k, &v);
        if (files[k]) {
            oc_fail(&d, "input '%s' is given twice", v.name);
            goto fail;
        }
        if (is_image(file)) {
            if (v.rank != 4 || (v.dims[1] != 1 && v.dims[1] != 3) || v.dims[2] < 1 || v.dims[3] < 1) {
                oc_fail(&d, "input '%s' is not an image input [N, 1 or 3, H, W] with known H and W", v.name);
                goto fail;
            }
            io.channels = (int)v.dims[1];
            io.height = v.dims[2];
            io.width = v.dims[3];
            files[k] = oc_image_load(file, &io, &d);
            /* one image is a batch of one, whatever batch the model fixes */
            if (files[k] && ma.batch < 0 && v.dims[0] >= 0 && v.dims[0] != files[k]->dims[0])
                image_batch = files[k]->dims[0];
        } else {
            files[k] = cli_load_tensor(file, &d);
        }
        if (!files[k])
            goto fail;
        const oc_tensor *t = files[k];
        in[k] = (onnxc_tensor){.dtype = t->dtype, .rank = t->rank, .data = t->data, .bytes = oc_tensor_nbytes(t)};
        memcpy(in[k].dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    }
    for (int k = 0; k < n_in; k++)
        if (!files[k]) {
            onnxc_value_info v;
            onnxc_model_input_info(m, k, &v);
            oc_fail(&d, "input '%s' (%s) was not given; use -i %s=FILE", v.name, onnxc_dtype_name(v.dtype), v.name);
            goto fail;
        }
    if (image_batch > 0) { /* compiled again for the image's batch */
        onnxc_model_free(m);
        if (load_model(src, &ma, image_batch, threads, &popts, &m)) {
            m = NULL;
            goto api_fail;
        }
    }
    if (onnxc_model_run(m, n_in, in, n_out, out))
        goto api_fail;
    if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        oc_fail(&d, "%s: cannot create output folder: %s", out_dir, strerror(errno));
        goto fail;
    }
    for (int k = 0; k < n_out; k++) {
        const onnxc_tensor *t = &out[k];
        onnxc_value_info v;
        onnxc_model_output_info(m, k, &v);
        char sh[256];
        printf("output '%s': %s %s\n", v.name, onnxc_dtype_name(t->dtype),
               oc_format_dims(sh, sizeof sh, t->dims, t->rank));
        if (t->dtype == OC_STRING) { /* the first few strings */
            const oc_str *sv = t->data;
            int64_t numel = 0;
            if (oc_shape_numel(t->dims, t->rank, &numel, &d))
                goto fail;
            for (int64_t i = 0; i < numel && i < 8; i++)
                printf("  [%lld] \"%.200s\"\n", (long long)i, oc_str_bytes(sv[i]));
        } else if (top > 0 && (t->rank == 1 || t->rank == 2))
            print_top(v.name, t, top);
        if (out_dir) {
            char fname[256], path[4096];
            snprintf(fname, sizeof fname, "%s", v.name);
            for (char *c = fname; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
                    *c = '_';
            /* .npy has no string type onnxc writes: string outputs go out as .pb */
            const char *fmt = t->dtype == OC_STRING ? "pb" : format;
            snprintf(path, sizeof path, "%s/%s.%s", out_dir, fname, fmt);
            oc_tensor ot = {.dtype = t->dtype, .rank = t->rank, .data = t->data};
            memcpy(ot.dims, t->dims, sizeof ot.dims);
            if (oc_shape_numel(ot.dims, ot.rank, &ot.numel, &d))
                goto fail;
            int w = !strcmp(fmt, "npy") ? oc_npy_write(path, &ot, &d) : oc_onnx_save_tensor(&ot, v.name, path, &d);
            if (w)
                goto fail;
            printf("wrote %s\n", path);
        }
    }
    rc = 0;
    goto done;
api_fail:
    fprintf(stderr, "onnxc run: error: %s\n", onnxc_last_error());
    goto done;
fail:
    fprintf(stderr, "onnxc run: error: %s: %s\n", src, d.msg);
done:
    for (int k = 0; k < MAX_INPUTS; k++)
        oc_tensor_free(files[k]);
    onnxc_model_free(m);
    return rc;
}
