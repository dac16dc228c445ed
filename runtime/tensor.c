/* tensor.c: see tensor.h. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE, MADV_POPULATE_WRITE */
#include "tensor.h"

#include <sys/mman.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t oc_dtype_size(int dtype)
{
    switch (dtype) {
    case OC_FLOAT: case OC_INT32: case OC_UINT32: return 4;
    case OC_UINT8: case OC_INT8: case OC_BOOL: return 1;
    case OC_UINT16: case OC_INT16: case OC_FLOAT16: case OC_BFLOAT16: return 2;
    case OC_INT64: case OC_DOUBLE: case OC_UINT64: return 8;
    default: return 0;
    }
}

const char *oc_dtype_name(int dtype)
{
    static const char *names[] = {
        "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
        "string", "bool", "float16", "float64", "uint32", "uint64", "complex64",
        "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
        "float8e5m2fnuz", "uint4", "int4", "float4e2m1"};
    if (dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0]))
        return names[dtype];
    return "unknown-dtype";
}

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

oc_tensor *oc_tensor_clone(const oc_tensor *t, oc_diag *d)
{
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

/* IEEE 754 binary16 -> double, including subnormals, inf and NaN. */
static double half_to_f64(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m | 0x400, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double bf16_to_f64(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

double oc_tensor_get_f64(const oc_tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case OC_FLOAT: return ((const float *)p)[i];
    case OC_DOUBLE: return ((const double *)p)[i];
    case OC_INT64: return (double)((const int64_t *)p)[i];
    case OC_INT32: return ((const int32_t *)p)[i];
    case OC_UINT32: return ((const uint32_t *)p)[i];
    case OC_INT16: return ((const int16_t *)p)[i];
    case OC_UINT16: return ((const uint16_t *)p)[i];
    case OC_INT8: return ((const int8_t *)p)[i];
    case OC_UINT8: case OC_BOOL: return ((const uint8_t *)p)[i];
    case OC_UINT64: return (double)((const uint64_t *)p)[i];
    case OC_FLOAT16: return half_to_f64(((const uint16_t *)p)[i]);
    case OC_BFLOAT16: return bf16_to_f64(((const uint16_t *)p)[i]);
    default: return 0;
    }
}

int64_t oc_tensor_get_i64(const oc_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case OC_INT64: return ((const int64_t *)t->data)[i];
    case OC_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case OC_FLOAT: case OC_DOUBLE: case OC_FLOAT16: case OC_BFLOAT16: {
        double v = oc_tensor_get_f64(t, i);
        if (v != v || v >= 9.2e18 || v <= -9.2e18)
            return v < 0 ? INT64_MIN : INT64_MAX;
        return (int64_t)v;
    }
    default: return (int64_t)oc_tensor_get_f64(t, i);
    }
}

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
