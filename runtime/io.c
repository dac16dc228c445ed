/* io.c: see io.h. */
#include "io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

int oc_read_file(const char *path, unsigned char **buf, size_t *len, size_t max_len, oc_diag *d)
{
    struct stat st;
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return oc_fail(d, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return oc_fail(d, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        fclose(f);
        return oc_fail(d, "%s: the file is empty", path);
    }
    if ((unsigned long long)st.st_size > max_len) {
        fclose(f);
        return oc_fail(d, "%s: %lld bytes is more than the %zu-byte limit for this kind of file", path,
                       (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n + 1);
    if (!b) {
        fclose(f);
        return oc_fail(d, "%s: out of memory reading %zu bytes", path, n);
    }
    oc_prefault(b, n);
    if (fread(b, 1, n, f) != n) {
        free(b);
        fclose(f);
        return oc_fail(d, "%s: read error", path);
    }
    fclose(f);
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

int oc_write_file_atomic(const char *path, const void *data, size_t len, oc_diag *d)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return oc_fail(d, "out of memory");
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        free(tmp);
        return oc_fail(d, "%s: cannot write: %s", path, strerror(e));
    }
    int bad = len && fwrite(data, 1, len, f) != len;
    bad |= fflush(f) != 0;
    bad |= !bad && fsync(fileno(f)) != 0; /* the data is on disk before the name points at it */
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        free(tmp);
        return oc_fail(d, "%s: write failed: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

/* ---- .npy (format versions 1-3; little-endian, C order) ---- */

static const struct {
    const char *descr;
    int dtype;
} npy_types[] = {
    {"<f4", OC_FLOAT}, {"<f8", OC_DOUBLE}, {"<i8", OC_INT64}, {"<i4", OC_INT32}, {"<i2", OC_INT16},
    {"|i1", OC_INT8},  {"|u1", OC_UINT8},  {"<u2", OC_UINT16}, {"<u4", OC_UINT32}, {"<u8", OC_UINT64},
    {"|b1", OC_BOOL},  {"<f2", OC_FLOAT16},
};

static const char *dict_value(const char *hdr, const char *key)
{
    const char *p = strstr(hdr, key);
    if (!p)
        return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

oc_tensor *oc_npy_read(const char *path, oc_diag *d)
{
    unsigned char *buf;
    size_t len;
    if (oc_read_file(path, &buf, &len, (size_t)OC_MAX_TENSOR_BYTES + 65536, d))
        return NULL;
    oc_tensor *t = NULL;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        oc_fail(d, "%s: not a .npy file (bad magic)", path);
        goto out;
    }
    int major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            oc_fail(d, "%s: truncated .npy header", path);
            goto out;
        }
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
        hstart = 12;
    } else {
        oc_fail(d, "%s: unsupported .npy version %d", path, major);
        goto out;
    }
    if (hlen > len - hstart || hlen > 65536) {
        oc_fail(d, "%s: truncated .npy header", path);
        goto out;
    }
    char hdr[65537];
    memcpy(hdr, buf + hstart, hlen);
    hdr[hlen] = 0;
    const char *descr = dict_value(hdr, "'descr'"), *fo = dict_value(hdr, "'fortran_order'"),
               *shape = dict_value(hdr, "'shape'");
    if (!descr || !fo || !shape || *descr != '\'' || *shape != '(') {
        oc_fail(d, "%s: malformed .npy header", path);
        goto out;
    }
    if (strncmp(fo, "False", 5) != 0) {
        oc_fail(d, "%s: Fortran-order arrays are not supported; save with np.ascontiguousarray", path);
        goto out;
    }
    int dtype = 0;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (strncmp(descr + 1, npy_types[i].descr, 3) == 0 && descr[4] == '\'')
            dtype = npy_types[i].dtype;
    if (!dtype) {
        oc_fail(d, "%s: unsupported .npy dtype %.8s", path, descr);
        goto out;
    }
    int64_t dims[OC_MAX_RANK];
    int rank = 0;
    const char *p = shape + 1;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0) {
            oc_fail(d, "%s: malformed shape in .npy header", path);
            goto out;
        }
        if (rank == OC_MAX_RANK) {
            oc_fail(d, "%s: rank above %d is not supported", path, OC_MAX_RANK);
            goto out;
        }
        dims[rank++] = v;
        p = end;
        while (*p == 'L' || *p == ' ')
            p++;
    }
    int64_t numel;
    if (oc_shape_numel(dims, rank, &numel, d)) {
        oc_diag_prefix(d, "%s: ", path);
        goto out;
    }
    size_t es = oc_dtype_size(dtype), have = len - hstart - hlen;
    if ((uint64_t)numel > have / es || (size_t)numel * es != have) {
        oc_fail(d, "%s: the shape needs %lld elements of %zu bytes, the file has %zu bytes of data", path,
                (long long)numel, es, have);
        goto out;
    }
    if ((t = oc_tensor_new(dtype, rank, dims, d)))
        memcpy(t->data, buf + hstart + hlen, have);
out:
    free(buf);
    return t;
}

int oc_npy_write(const char *path, const oc_tensor *t, oc_diag *d)
{
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == t->dtype)
            descr = npy_types[i].descr;
    if (!descr)
        return oc_fail(d, "%s: dtype %s cannot be written as .npy", path, oc_dtype_name(t->dtype));
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld,%s", (long long)t->dims[i],
                      i + 1 < t->rank ? " " : "");
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    /* pad with spaces so data starts on a 64-byte boundary, end with \n */
    size_t total_hdr = 10 + (size_t)n + 1;
    size_t pad = (64 - total_hdr % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    size_t bytes = oc_tensor_nbytes(t);
    unsigned char *buf = malloc(10 + hlen + bytes);
    if (!buf)
        return oc_fail(d, "out of memory");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, hdr, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    memcpy(buf + 10 + hlen, t->data, bytes);
    int rc = oc_write_file_atomic(path, buf, 10 + hlen + bytes, d);
    free(buf);
    return rc;
}

/* ---- images ---- */

void oc_image_opts_default(oc_image_opts *o)
{
    o->height = o->width = 224;
    o->center_crop = 1;
    o->channels = 3;
    o->max_pixels = 0;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(o->mean, mean, sizeof mean);
    memcpy(o->std, std, sizeof std);
}

#define MAX_IMAGE_SIDE 16384

oc_tensor *oc_image_load(const char *path, const oc_image_opts *o, oc_diag *d)
{
    if (o->height < 1 || o->width < 1 || o->height > 16384 || o->width > 16384 || (o->channels != 1 && o->channels != 3)) {
        oc_fail(d, "%s: image size %lldx%lld with %d channels is not supported", path, (long long)o->height,
                (long long)o->width, o->channels);
        return NULL;
    }
    char err[256];
    oc_img8 im;
    if (oc_img_decode(path, o->channels, o->max_pixels, &im, err, sizeof err)) {
        oc_fail(d, "%s: %s", path, err);
        return NULL;
    }
    int64_t dims[4] = {1, o->channels, o->height, o->width};
    oc_tensor *t = oc_tensor_new(OC_FLOAT, 4, dims, d);
    size_t sb = oc_img_scratch_bytes((int)o->width, (int)o->height, 3);
    void *scratch = t ? malloc(sb) : NULL;
    int bad = !t;
    if (t && !scratch) {
        bad = oc_fail(d, "%s: out of memory", path);
    } else if (t) {
        /* 3 planes of room: a gray image is resampled once and replicated */
        oc_img_view v;
        oc_img_view_eval(im.w, im.h, (int)o->height, (int)o->width, o->center_crop, &v);
        if (oc_img_resample(im.px, NULL, im.w, im.h, im.c, &v, t->data, scratch, sb) == 0)
            oc_img_finish(t->data, im.c, o->height * o->width, o->channels, o->mean, o->std, t->data);
        else
            bad = oc_fail(d, "%s: resize failed", path);
    }
    free(scratch);
    oc_img8_free(&im);
    if (bad) {
        oc_tensor_free(t);
        return NULL;
    }
    return t;
}
