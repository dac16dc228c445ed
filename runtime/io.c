/* io.c: see io.h. */
#include "io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
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

int oc_map_file(const char *path, const unsigned char **buf, size_t *len, size_t max_len, oc_diag *d)
{
    struct stat st;
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return oc_fail(d, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return oc_fail(d, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return oc_fail(d, "%s: the file is empty", path);
    }
    if ((unsigned long long)st.st_size > max_len) {
        close(fd);
        return oc_fail(d, "%s: %lld bytes is more than the %zu-byte limit for this kind of file", path,
                       (long long)st.st_size, max_len);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return oc_fail(d, "%s: cannot map: %s", path, strerror(errno));
    *buf = m;
    *len = (size_t)st.st_size;
    return 0;
}

void oc_unmap_file(const unsigned char *buf, size_t len)
{
    if (buf)
        munmap((void *)buf, len);
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

/* ---------------- named tensors (io.h) ---------------- */

uint64_t oc_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void tns_put(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t tns_get(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int oc_tensors_save(const char *path, int n, const char *const *names, const oc_tensor *const *t, oc_diag *d)
{
    size_t len = 16 + 8;
    for (int k = 0; k < n; k++) {
        size_t el = oc_dtype_size(t[k]->dtype);
        if (!el || t[k]->dtype == OC_STRING || !names[k] || t[k]->rank < 0 || t[k]->rank > OC_MAX_RANK)
            return oc_fail(d, "%s: tensor %d ('%s') cannot be saved", path, k, names[k] ? names[k] : "");
        len += 12 + strlen(names[k]) + 8 * (size_t)t[k]->rank + el * (size_t)t[k]->numel;
    }
    unsigned char *buf = malloc(len), *q = buf;
    if (!buf)
        return oc_fail(d, "%s: out of memory (%zu bytes)", path, len);
    memcpy(q, OC_TENSORS_MAGIC, 8);
    tns_put(q + 8, OC_TENSORS_VERSION, 4);
    tns_put(q + 12, (uint64_t)n, 4);
    q += 16;
    for (int k = 0; k < n; k++) {
        size_t nl = strlen(names[k]), bytes = oc_tensor_nbytes(t[k]);
        tns_put(q, nl, 4);
        memcpy(q + 4, names[k], nl);
        q += 4 + nl;
        tns_put(q, (uint64_t)t[k]->dtype, 4);
        tns_put(q + 4, (uint64_t)t[k]->rank, 4);
        q += 8;
        for (int i = 0; i < t[k]->rank; i++, q += 8)
            tns_put(q, (uint64_t)t[k]->dims[i], 8);
        if (bytes)
            memcpy(q, t[k]->data, bytes);
        q += bytes;
    }
    tns_put(q, oc_fnv1a(OC_FNV_INIT, buf, (size_t)(q - buf)), 8);
    int rc = oc_write_file_atomic(path, buf, len, d);
    free(buf);
    return rc;
}

void oc_tensors_free(int n, char **names, oc_tensor **t)
{
    for (int k = 0; k < n; k++) {
        if (names)
            free(names[k]);
        if (t)
            oc_tensor_free(t[k]);
    }
    free(names);
    free(t);
}

int oc_tensors_load(const char *path, int *n_out, char ***names_out, oc_tensor ***t_out, oc_diag *d)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    *n_out = 0;
    *names_out = NULL;
    *t_out = NULL;
    if (oc_read_file(path, &buf, &len, (size_t)OC_MAX_TENSOR_BYTES, d))
        return -1;
    if (len < 24 || memcmp(buf, OC_TENSORS_MAGIC, 8)) {
        free(buf);
        return oc_fail(d, "%s: not an onnxc tensors file (bad magic or shorter than its header)", path);
    }
    if (tns_get(buf + 8, 4) != OC_TENSORS_VERSION) {
        unsigned v = (unsigned)tns_get(buf + 8, 4);
        free(buf);
        return oc_fail(d, "%s: tensors file version %u, this onnxc reads version %d", path, v, OC_TENSORS_VERSION);
    }
    if (oc_fnv1a(OC_FNV_INIT, buf, len - 8) != tns_get(buf + len - 8, 8)) {
        free(buf);
        return oc_fail(d, "%s: corrupt tensors file (checksum mismatch)", path);
    }
    uint64_t n = tns_get(buf + 12, 4);
    const unsigned char *q = buf + 16, *end = buf + len - 8;
    if (n > (uint64_t)(end - q) / 12) {
        free(buf);
        return oc_fail(d, "%s: %llu tensors cannot fit in %zu bytes", path, (unsigned long long)n, len);
    }
    char **names = calloc((size_t)n + 1, sizeof *names);
    oc_tensor **ts = calloc((size_t)n + 1, sizeof *ts);
    int k = 0;
    if (!names || !ts) {
        oc_fail(d, "%s: out of memory", path);
        goto fail;
    }
    for (; (uint64_t)k < n; k++) {
        if (end - q < 4 || tns_get(q, 4) > (uint64_t)(end - q - 4) || tns_get(q, 4) > 4096) {
            oc_fail(d, "%s: tensor %d: its name runs past the end of the file", path, k);
            goto fail;
        }
        size_t nl = (size_t)tns_get(q, 4);
        if (!(names[k] = malloc(nl + 1))) {
            oc_fail(d, "%s: out of memory", path);
            goto fail;
        }
        memcpy(names[k], q + 4, nl);
        names[k][nl] = 0;
        q += 4 + nl;
        if (end - q < 8) {
            oc_fail(d, "%s: tensor '%s': truncated before its type", path, names[k]);
            goto fail;
        }
        uint64_t dt = tns_get(q, 4), rank = tns_get(q + 4, 4);
        q += 8;
        if (dt > 64 || !oc_dtype_size((int)dt) || dt == OC_STRING || rank > OC_MAX_RANK ||
            (uint64_t)(end - q) < 8 * rank) {
            oc_fail(d, "%s: tensor '%s': bad element type %llu or rank %llu", path, names[k], (unsigned long long)dt,
                    (unsigned long long)rank);
            goto fail;
        }
        int64_t dims[OC_MAX_RANK];
        uint64_t numel = 1;
        for (uint64_t i = 0; i < rank; i++, q += 8) {
            uint64_t v = tns_get(q, 8);
            if (v > (uint64_t)OC_MAX_TENSOR_BYTES || (v && numel > (uint64_t)OC_MAX_TENSOR_BYTES / v)) {
                oc_fail(d, "%s: tensor '%s': dimension %llu is out of range", path, names[k], (unsigned long long)i);
                goto fail;
            }
            dims[i] = (int64_t)v;
            numel *= v;
        }
        uint64_t bytes = numel * oc_dtype_size((int)dt);
        if (bytes > (uint64_t)(end - q)) {
            oc_fail(d, "%s: tensor '%s': %llu bytes of data run past the end of the file", path, names[k],
                    (unsigned long long)bytes);
            goto fail;
        }
        if (!(ts[k] = oc_tensor_new((int)dt, (int)rank, dims, d)))
            goto fail;
        if (bytes)
            memcpy(ts[k]->data, q, (size_t)bytes);
        q += bytes;
    }
    if (q != end) {
        oc_fail(d, "%s: %zu bytes after the last tensor", path, (size_t)(end - q));
        goto fail;
    }
    free(buf);
    *n_out = (int)n;
    *names_out = names;
    *t_out = ts;
    return 0;
fail:
    free(buf);
    oc_tensors_free(k + 1 <= (int)n ? k + 1 : (int)n, names, ts);
    return -1;
}
