/* classify.c: classify one image (or tensor) with an ONNX model through
 * onnxc's public C API, and print the five most likely classes.
 *
 *   classify MODEL.onnx INPUT [--mean M --std S] [--threads N]
 *
 * INPUT is a binary PGM/PPM image (P5 grey or P6 color; resized to the
 * model's input by nearest neighbour, scaled to [0, 1], then (x - M) / S;
 * the defaults 0.1307 / 0.3081 are MNIST's) or a .npy float32 array with
 * exactly the model's input shape. The model takes one float input
 * [1, C, H, W] (C = 1 or 3) and its first output holds the scores.
 *
 * Build: see Makefile (pkg-config) or CMakeLists.txt (find_package). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onnxc.h>

/* Reads a P5/P6 image into floats [c, h, w] resized to h x w; NULL on error. */
static float *read_pnm(const char *path, int c, int64_t h, int64_t w, float mean, float std)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "classify: cannot open %s\n", path);
        return NULL;
    }
    char magic[3] = {0};
    int iw = 0, ih = 0, maxv = 0;
    if (fscanf(f, "%2s %d %d %d", magic, &iw, &ih, &maxv) != 4 || (strcmp(magic, "P5") && strcmp(magic, "P6")) ||
        iw < 1 || ih < 1 || iw > 16384 || ih > 16384 || maxv < 1 || maxv > 255) {
        fprintf(stderr, "classify: %s: not a binary PGM/PPM image with 8-bit samples\n", path);
        fclose(f);
        return NULL;
    }
    fgetc(f); /* the one whitespace byte before the pixels */
    int ic = magic[1] == '5' ? 1 : 3;
    size_t n = (size_t)iw * (size_t)ih * (size_t)ic;
    unsigned char *px = malloc(n);
    float *out = malloc(sizeof(float) * (size_t)(c * h * w));
    if (!px || !out || fread(px, 1, n, f) != n) {
        fprintf(stderr, "classify: %s: %s\n", path, px && out ? "the pixel data is short" : "out of memory");
        free(px);
        free(out);
        fclose(f);
        return NULL;
    }
    fclose(f);
    for (int ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t sy = y * ih / h, sx = x * iw / w;
                const unsigned char *p = px + ((size_t)sy * (size_t)iw + (size_t)sx) * (size_t)ic;
                /* grey from color by BT.601 luma; color from grey by copying */
                float v = ic == c ? p[ch] : ic == 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[0];
                out[(ch * h + y) * w + x] = (v / (float)maxv - mean) / std;
            }
    free(px);
    return out;
}

/* Reads a little-endian float32 C-order .npy of numel values; NULL on error. */
static float *read_npy(const char *path, int64_t numel)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) || pre[6] != 1) {
        fprintf(stderr, "classify: %s: not a version 1 .npy file\n", path);
        if (f)
            fclose(f);
        return NULL;
    }
    size_t hl = (size_t)pre[8] | (size_t)pre[9] << 8;
    char *hdr = calloc(hl + 1, 1);
    float *out = malloc(sizeof(float) * (size_t)numel);
    int ok = hdr && out && fread(hdr, 1, hl, f) == hl && strstr(hdr, "'<f4'") && strstr(hdr, "'fortran_order': False") &&
             fread(out, sizeof(float), (size_t)numel, f) == (size_t)numel && fgetc(f) == EOF;
    fclose(f);
    free(hdr);
    if (!ok) {
        fprintf(stderr, "classify: %s: expected %lld float32 values in C order ('<f4')\n", path, (long long)numel);
        free(out);
        return NULL;
    }
    return out;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *input_path = NULL;
    float mean = 0.1307f, std = 0.3081f;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mean") && i + 1 < argc)
            mean = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--std") && i + 1 < argc)
            std = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!model_path)
            model_path = argv[i];
        else if (!input_path)
            input_path = argv[i];
        else
            model_path = NULL, i = argc;
    }
    if (!model_path || !input_path || !(std > 0)) {
        fprintf(stderr, "usage: classify MODEL.onnx IMAGE.pgm|IMAGE.ppm|TENSOR.npy [--mean M --std S] [--threads N]\n");
        return 2;
    }
    printf("onnxc %s\n", onnxc_version(NULL, NULL, NULL));

    /* load with batch 1 (binds a dynamic batch dim) */
    onnxc_options *opts;
    onnxc_model *model;
    if (onnxc_options_new(&opts) || onnxc_options_set_batch(opts, 1) || onnxc_options_set_threads(opts, threads) ||
        onnxc_model_load(model_path, opts, &model)) {
        fprintf(stderr, "classify: %s\n", onnxc_last_error());
        onnxc_options_free(opts);
        return 1;
    }
    onnxc_options_free(opts);

    onnxc_value_info in, out;
    onnxc_model_input_info(model, 0, &in);
    onnxc_model_output_info(model, 0, &out);
    printf("model %s: input '%s' %s [", model_path, in.name, onnxc_dtype_name(in.dtype));
    for (int i = 0; i < in.rank; i++)
        printf("%s%lld", i ? "," : "", (long long)in.dims[i]);
    printf("], output '%s' %s\n", out.name, onnxc_dtype_name(out.dtype));
    if (onnxc_model_input_count(model) != 1 || in.dtype != ONNXC_FLOAT || in.rank != 4 ||
        (in.dims[1] != 1 && in.dims[1] != 3) || in.dims[2] < 1 || in.dims[3] < 1) {
        fprintf(stderr, "classify: the model must take one float input [1, 1 or 3, H, W]\n");
        onnxc_model_free(model);
        return 1;
    }
    int64_t numel = in.dims[1] * in.dims[2] * in.dims[3];
    size_t n = strlen(input_path);
    float *x = n > 4 && !strcmp(input_path + n - 4, ".npy")
                   ? read_npy(input_path, numel)
                   : read_pnm(input_path, (int)in.dims[1], in.dims[2], in.dims[3], mean, std);
    if (!x) {
        onnxc_model_free(model);
        return 1;
    }

    onnxc_tensor input = {ONNXC_FLOAT, 4, {1, in.dims[1], in.dims[2], in.dims[3]}, x, sizeof(float) * (size_t)numel};
    onnxc_tensor scores = {0}; /* data NULL: the library's buffer */
    if (onnxc_model_run(model, 1, &input, 1, &scores)) {
        fprintf(stderr, "classify: %s\n", onnxc_last_error());
        free(x);
        onnxc_model_free(model);
        return 1;
    }
    if (scores.dtype != ONNXC_FLOAT || scores.rank < 1) {
        fprintf(stderr, "classify: the first output is not float scores\n");
        free(x);
        onnxc_model_free(model);
        return 1;
    }
    int64_t classes = scores.dims[scores.rank - 1];
    const float *s = scores.data;
    printf("top-5 of %lld classes:\n", (long long)classes);
    int64_t used[5];
    for (int k = 0; k < 5 && k < classes; k++) {
        int64_t best = -1;
        for (int64_t c = 0; c < classes; c++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                taken |= used[j] == c;
            if (!taken && (best < 0 || s[c] > s[best]))
                best = c;
        }
        used[k] = best;
        printf("  %d. class %lld  score %.4f\n", k + 1, (long long)best, s[best]);
    }
    free(x);
    onnxc_model_free(model);
    return 0;
}
