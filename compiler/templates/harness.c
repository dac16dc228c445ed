/* harness.c: the command-line harness that `onnxc compile` appends to a
 * generated main.c (after a prologue defining M(sym) and MU(SYM) as the
 * model's prefixed names, and HARNESS_PORTABLE). It reads inputs as ONNX TensorProto
 * (.pb) or numpy (.npy) files, runs the model once and writes each output
 * as OUTDIR/<output name>.pb, the name sanitized as `onnxc run` does
 * (characters other than letters, digits, '_', '-' and '.' become '_').
 * Any error prints one line and exits with status 1.
 *
 * Self-contained C99 (stdio, stdlib, string): it builds with the portable
 * model as well as with the default one. Files are untrusted: every length
 * and count is checked before it is used. */
#include <stdint.h>
#include <stdio.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/stat.h> /* mkdir of the output folder (the prologue asks for POSIX) */
#define H_MKDIR(p) mkdir(p, 0777)
#else
#define H_MKDIR(p) ((void)(p))
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define H_MAX_RANK 8
#define H_MAX_FILE ((size_t)1 << 34) /* 16 GiB: refuse anything larger */

/* ONNX TensorProto.DataType numbers */
enum { H_FLOAT = 1, H_UINT8 = 2, H_INT8 = 3, H_UINT16 = 4, H_INT16 = 5, H_INT32 = 6, H_INT64 = 7, H_BOOL = 9,
       H_FLOAT16 = 10, H_DOUBLE = 11, H_UINT32 = 12, H_UINT64 = 13, H_BFLOAT16 = 16 };

typedef struct h_tensor {
    int dtype;
    int rank;
    int64_t dims[H_MAX_RANK];
    int64_t numel;
    unsigned char *data; /* numel * h_dtype_size(dtype) bytes, malloc'd */
} h_tensor;

static char h_err[8448]; /* room for two paths */

static int h_fail(const char *msg, const char *a, const char *b)
{
    snprintf(h_err, sizeof h_err, msg, a, b);
    return -1;
}

static size_t h_dtype_size(int dtype)
{
    switch (dtype) {
    case H_UINT8: case H_INT8: case H_BOOL: return 1;
    case H_UINT16: case H_INT16: case H_FLOAT16: case H_BFLOAT16: return 2;
    case H_FLOAT: case H_INT32: case H_UINT32: return 4;
    case H_INT64: case H_DOUBLE: case H_UINT64: return 8;
    default: return 0;
    }
}

static const char *h_dtype_name(int dtype)
{
    switch (dtype) {
    case H_FLOAT: return "float32";
    case H_UINT8: return "uint8";
    case H_INT8: return "int8";
    case H_UINT16: return "uint16";
    case H_INT16: return "int16";
    case H_INT32: return "int32";
    case H_INT64: return "int64";
    case H_BOOL: return "bool";
    case H_FLOAT16: return "float16";
    case H_DOUBLE: return "float64";
    case H_UINT32: return "uint32";
    case H_UINT64: return "uint64";
    case H_BFLOAT16: return "bfloat16";
    default: return "unsupported";
    }
}

/* The whole file into a malloc'd buffer (one spare byte, NUL). */
static int h_read_file(const char *path, unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    *buf = NULL;
    if (!f)
        return h_fail("%s: cannot open%s", path, "");
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return h_fail("%s: cannot read%s", path, "");
    }
    if ((unsigned long)n > H_MAX_FILE) {
        fclose(f);
        return h_fail("%s: file too large%s", path, "");
    }
    *buf = malloc((size_t)n + 1);
    if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*buf);
        *buf = NULL;
        return h_fail("%s: cannot read%s", path, "");
    }
    fclose(f);
    (*buf)[n] = 0;
    *len = (size_t)n;
    return 0;
}

/* numel from dims, with overflow and sign checks */
static int h_numel(h_tensor *t, const char *path)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0 || (t->dims[i] && n > INT64_C(0x7fffffffffffffff) / t->dims[i]))
            return h_fail("%s: bad shape%s", path, "");
        n *= t->dims[i];
    }
    if (!h_dtype_size(t->dtype) || (uint64_t)n > H_MAX_FILE / h_dtype_size(t->dtype))
        return h_fail("%s: unsupported element type or too many elements%s", path, "");
    t->numel = n;
    return 0;
}

/* ---- .pb: ONNX TensorProto (onnx.proto: dims = 1, data_type = 2,
 * float_data = 4, int32_data = 5, int64_data = 7, name = 8, raw_data = 9,
 * double_data = 10, uint64_data = 11, data_location = 14) ---- */

static int h_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    int shift = 0;
    *v = 0;
    while (*p < end && shift < 64) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
        shift += 7;
    }
    return -1;
}

/* Element k of a repeated numeric field into t's data (dtype conversion as
 * the TensorProto rules say: int32_data holds the narrow integer types and
 * float16 bit patterns). */
static void h_store(h_tensor *t, int64_t k, uint64_t bits, double f, int is_float)
{
    unsigned char *d = t->data + (size_t)k * h_dtype_size(t->dtype);
    switch (t->dtype) {
    case H_FLOAT: { float x = (float)f; memcpy(d, &x, 4); break; }
    case H_DOUBLE: { memcpy(d, &f, 8); break; }
    case H_INT64: case H_UINT64: memcpy(d, &bits, 8); break;
    case H_INT32: case H_UINT32: { uint32_t x = (uint32_t)bits; memcpy(d, &x, 4); break; }
    case H_INT16: case H_UINT16: case H_FLOAT16: case H_BFLOAT16: { uint16_t x = (uint16_t)bits; memcpy(d, &x, 2); break; }
    default: *d = (unsigned char)bits; break;
    }
    (void)is_float;
}

/* Repeated field `field` (packed or not): counts into *count, stores when t->data is set. */
static int h_pb_values(h_tensor *t, int wire, int field, const unsigned char **p, const unsigned char *end, int64_t *count)
{
    uint64_t v, len;
    if (wire == 2) { /* packed */
        const unsigned char *q, *qe;
        if (h_varint(p, end, &len) || len > (uint64_t)(end - *p))
            return -1;
        q = *p;
        qe = q + len;
        while (q < qe) {
            if (field == 4) { float x; if (qe - q < 4) return -1; memcpy(&x, q, 4); q += 4;
                if (t->data) h_store(t, *count, 0, x, 1); }
            else if (field == 10) { double x; if (qe - q < 8) return -1; memcpy(&x, q, 8); q += 8;
                if (t->data) h_store(t, *count, 0, x, 1); }
            else { if (h_varint(&q, qe, &v)) return -1; if (t->data) h_store(t, *count, v, (double)(int64_t)v, 0); }
            (*count)++;
            if (t->data && *count > t->numel)
                return -1;
        }
        *p = qe;
        return 0;
    }
    if (wire == 5 && field == 4) { float x; if (end - *p < 4) return -1; memcpy(&x, *p, 4); *p += 4;
        if (t->data) h_store(t, *count, 0, x, 1); }
    else if (wire == 1 && field == 10) { double x; if (end - *p < 8) return -1; memcpy(&x, *p, 8); *p += 8;
        if (t->data) h_store(t, *count, 0, x, 1); }
    else if (wire == 0) { if (h_varint(p, end, &v)) return -1; if (t->data) h_store(t, *count, v, (double)(int64_t)v, 0); }
    else return -1;
    (*count)++;
    return t->data && *count > t->numel ? -1 : 0;
}

/* Two passes over the message: the first finds type, dims and the raw
 * data, the second (only without raw_data) decodes the typed fields. */
static int h_read_pb(const char *path, const unsigned char *buf, size_t len, h_tensor *t)
{
    const unsigned char *end = buf + len, *raw = NULL;
    uint64_t raw_len = 0;
    int64_t count = 0;
    int pass;
    for (pass = 0; pass < 2; pass++) {
        const unsigned char *p = buf;
        count = 0;
        while (p < end) {
            uint64_t key, v;
            int field, wire;
            if (h_varint(&p, end, &key))
                return h_fail("%s: not an ONNX TensorProto (bad field)%s", path, "");
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            if (pass == 0 && field == 1) {
                if (wire == 2) {
                    const unsigned char *q, *qe;
                    if (h_varint(&p, end, &v) || v > (uint64_t)(end - p))
                        return h_fail("%s: truncated dims%s", path, "");
                    q = p;
                    qe = p + v;
                    while (q < qe) {
                        if (t->rank == H_MAX_RANK || h_varint(&q, qe, &v))
                            return h_fail("%s: bad dims%s", path, "");
                        t->dims[t->rank++] = (int64_t)v;
                    }
                    p = qe;
                } else {
                    if (wire != 0 || t->rank == H_MAX_RANK || h_varint(&p, end, &v))
                        return h_fail("%s: bad dims%s", path, "");
                    t->dims[t->rank++] = (int64_t)v;
                }
                continue;
            }
            if (pass == 0 && field == 2 && wire == 0) {
                if (h_varint(&p, end, &v))
                    return h_fail("%s: bad data_type%s", path, "");
                t->dtype = (int)v;
                continue;
            }
            if (field == 14 && wire == 0) {
                if (h_varint(&p, end, &v))
                    return h_fail("%s: bad data_location%s", path, "");
                if (v == 1)
                    return h_fail("%s: external data is not supported%s", path, "");
                continue;
            }
            if (field == 4 || field == 5 || field == 7 || field == 10 || field == 11) {
                if (h_pb_values(t, wire, field, &p, end, &count))
                    return h_fail("%s: bad or too many data values%s", path, "");
                continue;
            }
            switch (wire) { /* skip anything else */
            case 0: if (h_varint(&p, end, &v)) return h_fail("%s: truncated%s", path, ""); break;
            case 1: if (end - p < 8) return h_fail("%s: truncated%s", path, ""); p += 8; break;
            case 5: if (end - p < 4) return h_fail("%s: truncated%s", path, ""); p += 4; break;
            case 2:
                if (h_varint(&p, end, &v) || v > (uint64_t)(end - p))
                    return h_fail("%s: truncated%s", path, "");
                if (pass == 0 && field == 9) {
                    raw = p;
                    raw_len = v;
                }
                p += v;
                break;
            default: return h_fail("%s: not an ONNX TensorProto (wire type)%s", path, "");
            }
        }
        if (pass == 0) {
            if (h_numel(t, path))
                return -1;
            t->data = malloc((size_t)t->numel * h_dtype_size(t->dtype) + 1);
            if (!t->data)
                return h_fail("%s: out of memory%s", path, "");
            memset(t->data, 0, (size_t)t->numel * h_dtype_size(t->dtype) + 1);
            if (raw) {
                if (raw_len != (uint64_t)t->numel * h_dtype_size(t->dtype))
                    return h_fail("%s: raw_data has the wrong length for its shape%s", path, "");
                memcpy(t->data, raw, (size_t)raw_len);
                return 0;
            }
        }
    }
    if (count != t->numel)
        return h_fail("%s: the data has the wrong number of elements for its shape%s", path, "");
    return 0;
}

/* ---- .npy (numpy format 1.0-3.0, little-endian, C order) ---- */
static int h_read_npy(const char *path, const unsigned char *buf, size_t len, h_tensor *t)
{
    static const struct { const char *descr; int dtype; } types[] = {
        {"<f4", H_FLOAT}, {"<f8", H_DOUBLE}, {"<i8", H_INT64}, {"<i4", H_INT32}, {"<i2", H_INT16}, {"|i1", H_INT8},
        {"|u1", H_UINT8}, {"<u2", H_UINT16}, {"<u4", H_UINT32}, {"<u8", H_UINT64}, {"|b1", H_BOOL}, {"<f2", H_FLOAT16},
    };
    size_t hlen, off, i;
    const char *h, *q;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return h_fail("%s: not a .npy file%s", path, "");
    if (buf[6] == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else {
        if (len < 12)
            return h_fail("%s: truncated .npy header%s", path, "");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    }
    if (hlen > len - off)
        return h_fail("%s: truncated .npy header%s", path, "");
    h = (const char *)buf + off;
    if (!(q = strstr(h, "'descr'")) || q > h + hlen)
        return h_fail("%s: .npy header has no descr%s", path, "");
    q = strchr(q + 7, '\'');
    for (i = 0; q && i < sizeof types / sizeof types[0]; i++)
        if (!strncmp(q + 1, types[i].descr, 3) && q[4] == '\'')
            t->dtype = types[i].dtype;
    if (!t->dtype)
        return h_fail("%s: unsupported .npy element type%s", path, "");
    if ((q = strstr(h, "'fortran_order'")) && q < h + hlen && strstr(q, "True") == strchr(q, ':') + 2)
        return h_fail("%s: Fortran-order .npy files are not supported%s", path, "");
    if (!(q = strstr(h, "'shape'")) || q > h + hlen || !(q = strchr(q, '(')))
        return h_fail("%s: .npy header has no shape%s", path, "");
    for (q++; *q && *q != ')';) {
        char *e;
        long long v;
        while (*q == ' ' || *q == ',')
            q++;
        if (*q == ')')
            break;
        v = strtoll(q, &e, 10);
        if (e == q || v < 0 || t->rank == H_MAX_RANK)
            return h_fail("%s: bad .npy shape%s", path, "");
        t->dims[t->rank++] = v;
        q = e;
    }
    if (h_numel(t, path))
        return -1;
    off += hlen;
    if ((uint64_t)(len - off) != (uint64_t)t->numel * h_dtype_size(t->dtype))
        return h_fail("%s: .npy data has the wrong length for its shape%s", path, "");
    t->data = malloc((size_t)t->numel * h_dtype_size(t->dtype) + 1);
    if (!t->data)
        return h_fail("%s: out of memory%s", path, "");
    memcpy(t->data, buf + off, len - off);
    return 0;
}

static int h_ends_with(const char *s, const char *ext)
{
    size_t n = strlen(s), e = strlen(ext);
    return n >= e && !strcmp(s + n - e, ext);
}

static int h_read_tensor(const char *path, h_tensor *t)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc;
    memset(t, 0, sizeof *t);
    if (!h_ends_with(path, ".pb") && !h_ends_with(path, ".npy"))
        return h_fail("%s: unknown tensor format (use .pb or .npy)%s", path, "");
    if (h_read_file(path, &buf, &len))
        return -1;
    rc = h_ends_with(path, ".npy") ? h_read_npy(path, buf, len, t) : h_read_pb(path, buf, len, t);
    free(buf);
    return rc;
}

static void h_put_varint(FILE *f, uint64_t v)
{
    while (v >= 0x80) {
        fputc((int)(v & 0x7f) | 0x80, f);
        v >>= 7;
    }
    fputc((int)v, f);
}

/* A TensorProto with dims, data_type, name and raw_data, written to a
 * temporary name and renamed. */
static int h_write_pb(const char *path, const char *name, int dtype, int rank, const int64_t *dims, const void *data,
                      size_t nbytes)
{
    char tmp[4200];
    FILE *f;
    int i, ok;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "wb")))
        return h_fail("%s: cannot create%s", tmp, "");
    for (i = 0; i < rank; i++) {
        h_put_varint(f, 1u << 3 | 0);
        h_put_varint(f, (uint64_t)dims[i]);
    }
    h_put_varint(f, 2u << 3 | 0);
    h_put_varint(f, (uint64_t)dtype);
    h_put_varint(f, 8u << 3 | 2);
    h_put_varint(f, strlen(name));
    fwrite(name, 1, strlen(name), f);
    h_put_varint(f, 9u << 3 | 2);
    h_put_varint(f, nbytes);
    ok = fwrite(data, 1, nbytes, f) == nbytes;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return h_fail("%s: cannot write%s", path, "");
    }
    return 0;
}

static void h_format_dims(char *buf, size_t cap, const int64_t *dims, int rank)
{
    size_t n = 0;
    int i;
    n += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

#ifndef HARNESS_TRAIN
#define HARNESS_TRAIN 0
#endif

#if !HARNESS_TRAIN
static int h_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s -i [INPUT=]FILE ... -o OUTDIR [-w WEIGHTS (default: the model's, here or beside this program)] [-t RUNS]\n"
                    "Inputs (.pb or .npy) in graph-input order, or named; each output is written as "
                    "OUTDIR/<output name>.pb. -t times RUNS more runs after the first and prints the\n"
                    "median and fastest latency.\n", argv0);
    return 1;
}

static int h_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and fastest of `runs` more runs (wall clock: clock_gettime where
 * POSIX has it, else clock()). */
static int h_time_runs(M(ctx) *ctx, const void *const *in, void *const *out, int runs)
{
    double *t = malloc(sizeof(double) * (size_t)runs);
    int r;
    if (!t)
        return -1;
    for (r = 0; r < runs; r++) {
#if defined(CLOCK_MONOTONIC)
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (M(run)(ctx, in, out)) {
            free(t);
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[r] = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
#else
        clock_t a = clock();
        if (M(run)(ctx, in, out)) {
            free(t);
            return -1;
        }
        t[r] = (double)(clock() - a) / CLOCKS_PER_SEC;
#endif
    }
    qsort(t, (size_t)runs, sizeof *t, h_cmp_double);
    printf("timed %d runs: median %.3f ms, min %.3f ms\n", runs, 1e3 * t[runs / 2], 1e3 * t[0]);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *spec[MU(N_INPUTS) + 1] = {0}, *out_dir = NULL, *weights = MU(WEIGHTS_FILE);
    h_tensor in[MU(N_INPUTS) + 1];
    const void *in_ptr[MU(N_INPUTS) + 1];
    void *out_ptr[MU(N_OUTPUTS) + 1];
    char err[1024], path[4096], fname[512], a[256], b[256], wpath[4096];
    int n_spec = 0, i, k, rc = 1, runs = 0, default_w = 1;
    M(ctx) *ctx = NULL;
#if HARNESS_PORTABLE
    M(regions) reg;
    memset(&reg, 0, sizeof reg);
#endif
    memset(in, 0, sizeof in);
    memset(out_ptr, 0, sizeof out_ptr);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-i") && i + 1 < argc) {
            if (n_spec == MU(N_INPUTS)) {
                fprintf(stderr, "error: the model takes %d inputs\n", MU(N_INPUTS));
                return 1;
            }
            spec[n_spec++] = argv[++i];
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out_dir = argv[++i];
        } else if (!strcmp(argv[i], "-w") && i + 1 < argc) {
            weights = argv[++i];
            default_w = 0;
        } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            runs = atoi(argv[++i]);
            if (runs < 1 || runs > 100000)
                return h_usage(argv[0]);
        } else {
            return h_usage(argv[0]);
        }
    }
    if (!out_dir)
        return h_usage(argv[0]);
    if (default_w) { /* the model's weights file: in the current folder, else beside this program */
        FILE *wf = fopen(weights, "rb");
        const char *slash = strrchr(argv[0], '/');
        if (wf) {
            fclose(wf);
        } else if (slash && (size_t)(slash - argv[0]) + strlen(weights) + 2 < sizeof wpath) {
            memcpy(wpath, argv[0], (size_t)(slash - argv[0]) + 1);
            strcpy(wpath + (slash - argv[0]) + 1, weights);
            weights = wpath;
        }
    }
    for (i = 0; i < n_spec; i++) {
        const char *eq = strchr(spec[i], '='), *file = spec[i];
        k = i;
        if (eq) {
            file = eq + 1;
            for (k = 0; k < MU(N_INPUTS); k++) {
                const char *nm = M(input_info)(k)->name;
                if (strlen(nm) == (size_t)(eq - spec[i]) && !strncmp(nm, spec[i], (size_t)(eq - spec[i])))
                    break;
            }
            if (k == MU(N_INPUTS)) {
                fprintf(stderr, "error: the model has no input named '%.*s'\n", (int)(eq - spec[i]), spec[i]);
                goto done;
            }
        }
        if (in[k].data) {
            fprintf(stderr, "error: input '%s' is given twice\n", M(input_info)(k)->name);
            goto done;
        }
        if (h_read_tensor(file, &in[k])) {
            fprintf(stderr, "error: %s\n", h_err);
            goto done;
        }
    }
    for (k = 0; k < MU(N_INPUTS); k++) {
        const M(tensor_info) *ti = M(input_info)(k);
        int same;
        if (!in[k].data) {
            fprintf(stderr, "error: input '%s' was not given; use -i %s=FILE\n", ti->name, ti->name);
            goto done;
        }
        same = in[k].rank == ti->rank && in[k].dtype == ti->dtype;
        for (i = 0; same && i < ti->rank; i++)
            same = in[k].dims[i] == ti->dims[i];
        if (!same) {
            h_format_dims(a, sizeof a, ti->dims, ti->rank);
            h_format_dims(b, sizeof b, in[k].dims, in[k].rank);
            fprintf(stderr, "error: input '%s' must be %s %s, got %s %s\n", ti->name, h_dtype_name(ti->dtype), a,
                    h_dtype_name(in[k].dtype), b);
            goto done;
        }
        in_ptr[k] = in[k].data;
    }
    for (k = 0; k < MU(N_OUTPUTS); k++)
        if (!(out_ptr[k] = malloc(M(output_info)(k)->bytes + 1))) {
            fprintf(stderr, "error: out of memory\n");
            goto done;
        }
#if HARNESS_PORTABLE
    reg.ctx = malloc(MU(CTX_BYTES));
    reg.arena = malloc(MU(ARENA_BYTES) + 1);
    reg.weights = malloc(MU(WEIGHTS_BYTES) + 1);
    reg.scratch = malloc(MU(SCRATCH_BYTES) + 1);
    if (!reg.ctx || !reg.arena || !reg.weights || !reg.scratch) {
        fprintf(stderr, "error: out of memory\n");
        goto done;
    }
    if (M(init_static_file)(&ctx, &reg, weights, err, sizeof err)) {
#else
    if (M(init)(&ctx, weights, err, sizeof err)) {
#endif
        fprintf(stderr, "error: %s\n", err);
        goto done;
    }
    if (M(run)(ctx, in_ptr, out_ptr)) {
        fprintf(stderr, "error: %s\n", M(error)(ctx));
        goto done;
    }
    if (runs && h_time_runs(ctx, in_ptr, out_ptr, runs)) {
        fprintf(stderr, "error: %s\n", M(error)(ctx));
        goto done;
    }
    H_MKDIR(out_dir); /* an existing folder is fine; a failed write is reported below */
    for (k = 0; k < MU(N_OUTPUTS); k++) {
        const M(tensor_info) *ti = M(output_info)(k);
        char *c;
        snprintf(fname, sizeof fname, "%s", ti->name);
        for (c = fname; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
                  *c == '-' || *c == '.'))
                *c = '_';
        snprintf(path, sizeof path, "%s/%s.pb", out_dir, fname);
        if (h_write_pb(path, ti->name, ti->dtype, ti->rank, ti->dims, out_ptr[k], ti->bytes)) {
            fprintf(stderr, "error: %s\n", h_err);
            goto done;
        }
        printf("wrote %s\n", path);
    }
    rc = 0;
done:
    M(free)(ctx);
    for (k = 0; k < MU(N_INPUTS); k++)
        free(in[k].data);
    for (k = 0; k < MU(N_OUTPUTS); k++)
        free(out_ptr[k]);
#if HARNESS_PORTABLE
    free(reg.ctx);
    free(reg.arena);
    free(reg.weights);
    free(reg.scratch);
#endif
    return rc;
}
#else /* HARNESS_TRAIN: the harness of a training module */

static int h_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s -i SAMPLES --labels LABELS [--steps K] [--lr X] [-w WEIGHTS] [--save FILE]\n"
                    "SAMPLES (.pb or .npy): N samples of the model's input shape (N a multiple of the batch, %d);\n"
                    "LABELS: N int64 class indices. Runs K training steps (default: one pass) over the batches\n"
                    "in order, printing each step's loss, and with --save writes the trained parameters and\n"
                    "BatchNorm statistics (onnxc export MODEL.onnx --trained FILE -o OUT.onnx reads them).\n",
            argv0, (int)MU(BATCH));
    return 1;
}

int main(int argc, char **argv)
{
    const char *samples = NULL, *labels = NULL, *save = NULL, *weights = MU(WEIGHTS_FILE);
    const M(tensor_info) *ti = M(input_info)(0);
    h_tensor x, y;
    char err[1024], a[256], b[256];
    long steps = -1, s, n_batches;
    double lr = 0.01;
    int i, k, same, rc = 1;
    M(ctx) *ctx = NULL;
    (void)h_write_pb; /* the inference harness's writer */
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-i") && i + 1 < argc)
            samples = argv[++i];
        else if (!strcmp(argv[i], "--labels") && i + 1 < argc)
            labels = argv[++i];
        else if (!strcmp(argv[i], "--save") && i + 1 < argc)
            save = argv[++i];
        else if (!strcmp(argv[i], "-w") && i + 1 < argc)
            weights = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = atol(argv[++i]);
            if (steps < 1 || steps > 100000000L)
                return h_usage(argv[0]);
        } else if (!strcmp(argv[i], "--lr") && i + 1 < argc) {
            char *end;
            lr = strtod(argv[++i], &end);
            if (*end || !(lr >= 0 && lr < 1e6))
                return h_usage(argv[0]);
        } else
            return h_usage(argv[0]);
    }
    if (!samples || !labels || MU(N_INPUTS) != 1)
        return h_usage(argv[0]);
    if (h_read_tensor(samples, &x) || h_read_tensor(labels, &y)) {
        fprintf(stderr, "error: %s\n", h_err);
        goto done;
    }
    same = x.rank == ti->rank && x.dtype == ti->dtype && x.rank >= 1 && x.dims[0] > 0 && x.dims[0] % ti->dims[0] == 0;
    for (k = 1; same && k < ti->rank; k++)
        same = x.dims[k] == ti->dims[k];
    if (!same) {
        h_format_dims(a, sizeof a, ti->dims + 1, ti->rank - 1);
        h_format_dims(b, sizeof b, x.dims, x.rank);
        fprintf(stderr, "error: %s: samples must be %s [N]+%s with N a multiple of %d, got %s %s\n", samples,
                h_dtype_name(ti->dtype), a, (int)ti->dims[0], h_dtype_name(x.dtype), b);
        goto done;
    }
    if (y.dtype != H_INT64 || y.rank != 1 || y.dims[0] != x.dims[0]) {
        h_format_dims(b, sizeof b, y.dims, y.rank);
        fprintf(stderr, "error: %s: labels must be int64 [%lld], got %s %s\n", labels, (long long)x.dims[0],
                h_dtype_name(y.dtype), b);
        goto done;
    }
    n_batches = (long)(x.dims[0] / ti->dims[0]);
    if (steps < 0)
        steps = n_batches;
    if (M(init)(&ctx, weights, err, sizeof err)) {
        fprintf(stderr, "error: %s\n", err);
        goto done;
    }
    for (s = 0; s < steps; s++) {
        long bi = s % n_batches;
        const void *in_ptr[1];
        float loss;
        in_ptr[0] = x.data + (size_t)bi * ti->bytes;
        if (M(step)(ctx, in_ptr, (const int64_t *)(const void *)y.data + bi * ti->dims[0], lr, &loss, NULL)) {
            fprintf(stderr, "error: step %ld: %s\n", s + 1, M(error)(ctx));
            goto done;
        }
        printf("step %ld loss %.6f\n", s + 1, (double)loss);
    }
    if (save) {
        if (M(save_weights)(ctx, save)) {
            fprintf(stderr, "error: %s\n", M(error)(ctx));
            goto done;
        }
        printf("wrote %s\n", save);
    }
    rc = 0;
done:
    M(free)(ctx);
    free(x.data);
    free(y.data);
    return rc;
}
#endif
