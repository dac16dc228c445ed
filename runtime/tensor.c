/* tensor.c: see tensor.h. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE, MADV_POPULATE_WRITE */
#include "tensor.h"

#include "dtype.h"
#include "strtensor.h"

#include <sys/mman.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oc_shape_numel(const int64_t *dims, int rank, int64_t *numel, oc_diag *d)
{
    int64_t n = 1;
    if (rank < 0 || rank > OC_MAX_RANK)
        return oc_fail(d, "rank %d outside 0..%d", rank, OC_MAX_RANK);
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return oc_fail(d, "dimension %d is negative (%lld)", i, (long long)dims[i]);
        if (dims[i] != 0 && n > INT64_MAX / dims[i]) {
            char buf[256];
            return oc_fail(d, "shape %s overflows when multiplied",
                           oc_format_dims(buf, sizeof buf, dims, rank));
        }
        n *= dims[i];
    }
    *numel = n;
    return 0;
}

oc_tensor *oc_tensor_new(int dtype, int rank, const int64_t *dims, oc_diag *d)
{
    int64_t numel;
    size_t es = oc_dtype_size(dtype);
    if (es == 0) {
        oc_fail(d, "element type %s is not supported", oc_dtype_name(dtype));
        return NULL;
    }
    if (oc_shape_numel(dims, rank, &numel, d))
        return NULL;
    if (numel > OC_MAX_TENSOR_BYTES / (int64_t)es) {
        char buf[256];
        oc_fail(d, "tensor %s of %s is larger than the %lld-byte limit",
                oc_format_dims(buf, sizeof buf, dims, rank), oc_dtype_name(dtype),
                (long long)OC_MAX_TENSOR_BYTES);
        return NULL;
    }
    oc_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    t->dtype = dtype;
    t->rank = rank;
    if (rank)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    t->numel = numel;
    t->data = calloc(numel ? (size_t)numel : 1, es);
    if (t->data)
        oc_prefault(t->data, (size_t)numel * es);
    if (!t->data) {
        free(t);
        oc_fail(d, "out of memory allocating %lld bytes", (long long)(numel * (int64_t)es));
        return NULL;
    }
    return t;
}

/* A string tensor's elements point at bytes it may not own (the plan's
 * string pool, its own block): a clone gets its own copy of them. */
static oc_tensor *clone_strings(const oc_tensor *t, oc_diag *d)
{
    size_t n = (size_t)t->numel + 1;
    const char **bytes = malloc(sizeof *bytes * n);
    size_t *len = malloc(sizeof *len * n);
    oc_tensor *c = NULL;
    if (!bytes || !len) {
        oc_fail(d, "out of memory");
    } else {
        const oc_str *s = t->data;
        for (int64_t i = 0; i < t->numel; i++) {
            bytes[i] = oc_str_bytes(s[i]);
            len[i] = (size_t)s[i].n;
        }
        c = oc_string_tensor_pack(t->rank, t->dims, bytes, len, "string", d);
    }
    free(bytes);
    free(len);
    return c;
}

oc_tensor *oc_tensor_clone(const oc_tensor *t, oc_diag *d)
{
    if (t->dtype == OC_STRING)
        return clone_strings(t, d);
    oc_tensor *c = oc_tensor_new(t->dtype, t->rank, t->dims, d);
    if (c)
        memcpy(c->data, t->data, oc_tensor_nbytes(t));
    return c;
}

void oc_tensor_free(oc_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    free(t);
}

size_t oc_tensor_nbytes(const oc_tensor *t) { return (size_t)t->numel * oc_dtype_size(t->dtype); }

double oc_tensor_get_f64(const oc_tensor *t, int64_t i) { return oc_elem_get_f64(t->dtype, t->data, i); }

int64_t oc_tensor_get_i64(const oc_tensor *t, int64_t i) { return oc_elem_get_i64(t->dtype, t->data, i); }

char *oc_format_dims(char *buf, size_t cap, const int64_t *dims, int rank)
{
    size_t off = 0;
    if (cap == 0)
        return buf;
    buf[0] = 0;
    off += (size_t)snprintf(buf + off, cap - off, "[");
    for (int i = 0; i < rank && off < cap; i++) {
        if (dims[i] < 0)
            off += (size_t)snprintf(buf + off, cap - off, "%s?", i ? "," : "");
        else
            off += (size_t)snprintf(buf + off, cap - off, "%s%lld", i ? "," : "", (long long)dims[i]);
    }
    if (off < cap)
        snprintf(buf + off, cap - off, "]");
    return buf;
}

char *oc_format_bytes(char *buf, size_t cap, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    int u = 0;
    while (bytes >= 1024 && u < 8) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%.0f B", bytes);
    else
        snprintf(buf, cap, "%.*f %s", bytes < 10 && bytes != (double)(int64_t)bytes ? 1 : 0, bytes, units[u]);
    return buf;
}

void oc_advise_huge(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || n < ((size_t)256 << 10))
        return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + n) & ~(huge - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void oc_prefault(void *p, size_t n)
{
    oc_advise_huge(p, n);
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    const uintptr_t page = 4096;
    if (!p || n < ((size_t)256 << 10))
        return;
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), e = ((uintptr_t)p + n) & ~(page - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#endif
}

void oc_release_pages(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_DONTNEED)
    const uintptr_t page = 4096;
    if (!p)
        return;
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), e = ((uintptr_t)p + n) & ~(page - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
#else
    (void)p;
    (void)n;
#endif
}
