/* data.c: see data.h. */
#include "data.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Whole (possibly gzipped) file through zlib, at most max bytes. */
static unsigned char *read_gz(const char *path, size_t *len, size_t max, oc_diag *d)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        oc_fail(d, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = max < ((size_t)1 << 20) ? max + 1 : (size_t)1 << 20, n = 0; /* full at max + 1: too long */
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                gzclose(f);
                oc_fail(d, "%s: more than %zu bytes", path, max);
                return NULL;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int r = gzread(f, buf + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
        if (r < 0) {
            free(buf);
            gzclose(f);
            oc_fail(d, "%s: corrupt or truncated compressed data", path);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    gzclose(f);
    if (!buf) {
        oc_fail(d, "out of memory reading %s", path);
        return NULL;
    }
    *len = n;
    return buf;
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Reads up to n bytes of f into buf (in pieces gzread can count); *got
 * says how many came. -1 on corrupt compressed data. */
static int gz_read(gzFile f, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got > (1u << 30) ? (1u << 30) : n - *got;
        int r = gzread(f, buf + *got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* The body of an IDX file after its header: exactly n bytes, then the end
 * of the file. The header was checked first, so a small compressed file
 * that claims (or inflates to) gigabytes costs no more than its header
 * allows. */
static unsigned char *read_body(gzFile f, const char *path, size_t header, uint64_t n, oc_diag *d)
{
    unsigned char *buf = malloc(n ? (size_t)n : 1), extra;
    size_t got, more;
    if (!buf) {
        oc_fail(d, "out of memory reading %s (%llu bytes)", path, (unsigned long long)n);
        return NULL;
    }
    if (gz_read(f, buf, (size_t)n, &got) || gz_read(f, &extra, 1, &more)) {
        free(buf);
        oc_fail(d, "%s: corrupt or truncated compressed data", path);
        return NULL;
    }
    if (got != n || more) {
        free(buf);
        oc_fail(d, "%s: the header says %llu bytes of data but the file has %s%zu", path, (unsigned long long)n,
                more ? "more than " : "", header + got);
        return NULL;
    }
    return buf;
}

static int load_idx(const char *images, const char *labels, size_t max_bytes, oc_dataset *ds, oc_diag *d)
{
    gzFile fi = gzopen(images, "rb"), fl = NULL;
    unsigned char hi[16], hl[8], *im = NULL, *lb = NULL;
    size_t got;
    int rc = -1;
    if (!fi)
        return oc_fail(d, "%s: cannot open", images);
    if (gz_read(fi, hi, sizeof hi, &got)) {
        oc_fail(d, "%s: corrupt or truncated compressed data", images);
        goto out;
    }
    if (got < 16 || be32(hi) != 2051) {
        oc_fail(d, "%s: not an IDX3 image file (magic %u, expected 2051)", images, got >= 4 ? be32(hi) : 0);
        goto out;
    }
    /* header fields are untrusted: at most 4 GiB of pixels (n * h * w
     * cannot wrap: each factor is below 2^32 and h, w at most 4096) */
    uint64_t n = be32(hi + 4), h = be32(hi + 8), w = be32(hi + 12);
    if (n == 0 || h == 0 || w == 0 || h > 4096 || w > 4096 || n * h * w > ((uint64_t)1 << 32) - 16 ||
        n * h * w > SIZE_MAX / sizeof(float)) {
        oc_fail(d, "%s: header says %llu images of %llux%llu, outside the supported size (at most 4096 per side, "
                   "4 GiB in all)", images, (unsigned long long)n, (unsigned long long)h, (unsigned long long)w);
        goto out;
    }
    uint64_t need = n * h * w * sizeof(float) + n * sizeof(int64_t);
    if (max_bytes && need > max_bytes) {
        char a[32], b[32];
        oc_fail(d, "%s: %llu images of %llux%llu take %s as floats, above the limit of %s", images,
                (unsigned long long)n, (unsigned long long)h, (unsigned long long)w,
                oc_format_bytes(a, sizeof a, (double)need), oc_format_bytes(b, sizeof b, (double)max_bytes));
        goto out;
    }
    if (!(fl = gzopen(labels, "rb"))) {
        oc_fail(d, "%s: cannot open", labels);
        goto out;
    }
    if (gz_read(fl, hl, sizeof hl, &got)) {
        oc_fail(d, "%s: corrupt or truncated compressed data", labels);
        goto out;
    }
    if (got < 8 || be32(hl) != 2049) {
        oc_fail(d, "%s: not an IDX1 label file (magic %u, expected 2049)", labels, got >= 4 ? be32(hl) : 0);
        goto out;
    }
    if (be32(hl + 4) != n) {
        oc_fail(d, "%s: %u labels for %llu images in %s", labels, be32(hl + 4), (unsigned long long)n, images);
        goto out;
    }
    if (!(im = read_body(fi, images, sizeof hi, n * h * w, d)) || !(lb = read_body(fl, labels, sizeof hl, n, d)))
        goto out;
    memset(ds, 0, sizeof *ds);
    ds->n = (int64_t)n;
    ds->rank = 3;
    ds->dims[0] = 1;
    ds->dims[1] = (int64_t)h;
    ds->dims[2] = (int64_t)w;
    ds->sample_size = (int64_t)(h * w);
    ds->x = malloc(sizeof(float) * n * h * w);
    ds->y = malloc(sizeof(int64_t) * n);
    if (!ds->x || !ds->y) {
        oc_dataset_free(ds);
        oc_fail(d, "out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < n * h * w; i++)
        ds->x[i] = im[i] / 255.0f;
    for (uint64_t i = 0; i < n; i++) {
        ds->y[i] = lb[i];
        if (ds->y[i] + 1 > ds->classes)
            ds->classes = ds->y[i] + 1;
    }
    snprintf(ds->name, sizeof ds->name, "%s", images);
    rc = 0;
out:
    gzclose(fi);
    if (fl)
        gzclose(fl);
    free(im);
    free(lb);
    return rc;
}

/* UCI digits: rows of 64 pixel values 0..16 and a label, comma-separated. */
static int load_digits_csv(const char *path, size_t max_bytes, oc_dataset *ds, oc_diag *d)
{
    size_t len;
    /* a row takes at least 130 bytes of text ("0,0,...,0,d\n") and becomes
     * 65 * 4 + 8 bytes in memory: the text limit bounds the set's */
    size_t max_text = (size_t)1 << 28;
    if (max_bytes && max_bytes / 2 < max_text)
        max_text = max_bytes / 2 > 4096 ? max_bytes / 2 : 4096;
    unsigned char *buf = read_gz(path, &len, max_text, d);
    if (!buf)
        return -1;
    int64_t rows = 0;
    for (size_t i = 0; i < len; i++)
        rows += buf[i] == '\n';
    if (len && buf[len - 1] != '\n')
        rows++;
    memset(ds, 0, sizeof *ds);
    ds->rank = 1;
    ds->dims[0] = 64;
    ds->sample_size = 64;
    ds->x = malloc(sizeof(float) * (size_t)(rows * 64 + 1));
    ds->y = malloc(sizeof(int64_t) * (size_t)(rows + 1));
    if (!ds->x || !ds->y) {
        free(buf);
        oc_dataset_free(ds);
        return oc_fail(d, "out of memory");
    }
    size_t pos = 0;
    int64_t r = 0, line = 1;
    while (pos < len) {
        if (buf[pos] == '\n' || buf[pos] == '\r') {
            pos++;
            line += buf[pos - 1] == '\n';
            continue;
        }
        for (int c = 0; c < 65; c++) {
            char *end;
            long v = strtol((const char *)buf + pos, &end, 10);
            if (end == (char *)buf + pos || (c < 64 && *end != ',') || (c == 64 && *end != '\n' && *end != '\r' && *end) ||
                v < 0 || (c < 64 && v > 16) || (c == 64 && v > 9)) {
                free(buf);
                oc_dataset_free(ds);
                return oc_fail(d, "%s: line %lld: expected 64 pixel values 0-16 and a label 0-9", path, (long long)line);
            }
            if (c < 64)
                ds->x[r * 64 + c] = (float)v / 16.0f;
            else
                ds->y[r] = v;
            pos = (size_t)(end - (char *)buf) + (c < 64);
        }
        if (ds->y[r] + 1 > ds->classes)
            ds->classes = ds->y[r] + 1;
        r++;
    }
    free(buf);
    if (r == 0) {
        oc_dataset_free(ds);
        return oc_fail(d, "%s: no samples", path);
    }
    ds->n = r;
    snprintf(ds->name, sizeof ds->name, "%s", path);
    return 0;
}

static int find_idx(const char *dir, const char *prefix, const char *kind, char *out, size_t cap)
{
    DIR *dd = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (dd && (e = readdir(dd)) && !found)
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && strstr(e->d_name, kind)) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = 1;
        }
    if (dd)
        closedir(dd);
    return found;
}

int oc_dataset_open(const char *path, const char *split, oc_dataset *ds, oc_diag *d)
{
    return oc_dataset_open_limit(path, split, 0, ds, d);
}

int oc_dataset_open_limit(const char *path, const char *split, size_t max_bytes, oc_dataset *ds, oc_diag *d)
{
    struct stat st;
    memset(ds, 0, sizeof *ds);
    if (stat(path, &st) != 0)
        return oc_fail(d, "%s: no such file or folder", path);
    if (S_ISDIR(st.st_mode)) {
        char im[4096], lb[4096];
        const char *pref = split && !strcmp(split, "test") ? "t10k" : "train";
        if (!find_idx(path, pref, "images-idx3", im, sizeof im) || !find_idx(path, pref, "labels-idx1", lb, sizeof lb)) {
            pref = !strcmp(pref, "train") ? "t10k" : "train";
            if (!find_idx(path, pref, "images-idx3", im, sizeof im) || !find_idx(path, pref, "labels-idx1", lb, sizeof lb))
                return oc_fail(d, "%s: no IDX image and label files (*-images-idx3-ubyte[.gz], *-labels-idx1-ubyte[.gz])",
                               path);
        }
        return load_idx(im, lb, max_bytes, ds, d);
    }
    size_t n = strlen(path);
    if ((n > 4 && !strcmp(path + n - 4, ".csv")) || (n > 7 && !strcmp(path + n - 7, ".csv.gz")))
        return load_digits_csv(path, max_bytes, ds, d);
    return oc_fail(d, "%s: unknown data set format (a folder of IDX files, or the digits .csv[.gz])", path);
}

void oc_dataset_free(oc_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    ds->x = NULL;
    ds->y = NULL;
    ds->n = 0;
}

int oc_dataset_slice(const oc_dataset *ds, int64_t from, int64_t count, oc_dataset *out, oc_diag *d)
{
    if (from < 0 || count < 1 || from + count > ds->n)
        return oc_fail(d, "%s: samples %lld..%lld requested, the set has %lld", ds->name, (long long)from,
                       (long long)(from + count), (long long)ds->n);
    *out = *ds;
    out->n = count;
    out->x = malloc(sizeof(float) * (size_t)(count * ds->sample_size));
    out->y = malloc(sizeof(int64_t) * (size_t)count);
    if (!out->x || !out->y) {
        oc_dataset_free(out);
        return oc_fail(d, "out of memory");
    }
    memcpy(out->x, ds->x + from * ds->sample_size, sizeof(float) * (size_t)(count * ds->sample_size));
    memcpy(out->y, ds->y + from, sizeof(int64_t) * (size_t)count);
    return 0;
}

void oc_dataset_normalize(oc_dataset *ds, float mean, float std)
{
    for (int64_t i = 0; i < ds->n * ds->sample_size; i++)
        ds->x[i] = (ds->x[i] - mean) / std;
}

void oc_dataset_gather(const oc_dataset *ds, const int64_t *order, int64_t start, int64_t batch, float *x, int64_t *y)
{
    for (int64_t b = 0; b < batch; b++) {
        int64_t i = order[(start + b) % ds->n];
        memcpy(x + b * ds->sample_size, ds->x + i * ds->sample_size, sizeof(float) * (size_t)ds->sample_size);
        y[b] = ds->y[i];
    }
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void oc_shuffle(int64_t *order, int64_t n, uint64_t *state)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix64(state) % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}
