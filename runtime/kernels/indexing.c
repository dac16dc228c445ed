/* indexing.c: see indexing.h.
 *
 * Gathers and scatters walk the index tensor in row-major order with an
 * odometer that keeps the data offset of every coordinate except the
 * indexed one, so each element costs one index read and one copy.
 * Scatter reductions apply the ONNX order: updates are applied in index
 * order, so duplicate indices accumulate (and with reduction none the last
 * one wins). TopK sorts each slice with a stable merge sort, which gives
 * the spec's tie rule (the lower index first) for free. */
#include "indexing.h"

#include <string.h>

#include "shape_ops.h"

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++)
        p *= d[i];
    return p;
}

static void strides_of(const oc_tensor *t, int64_t *s)
{
    int64_t acc = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        s[d] = acc;
        acc *= t->dims[d];
    }
}

static void copy_elem(size_t es, void *dst, const void *src)
{
    switch (es) {
    case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, es); break; /* 16: a string element */
    }
}

/* Normalized index into an axis of length n, or -1 when out of range. */
static int64_t wrap_index(int64_t i, int64_t n)
{
    if (i < -n || i >= n)
        return -1;
    return i < 0 ? i + n : i;
}

/* ---------------------------------------------------------------- reductions */

/* dst[di] = dst[di] (op) src[si]. Integer arithmetic runs unsigned so that
 * overflow wraps instead of being undefined. */
#define RED_INT(T, UT)                                                                                     \
    {                                                                                                      \
        T *d = (T *)dst + di;                                                                              \
        T u = ((const T *)src)[si];                                                                        \
        switch (red) {                                                                                     \
        case OC_SCATTER_ADD: *d = (T)((UT)*d + (UT)u); break;                                                  \
        case OC_SCATTER_MUL: *d = (T)((UT)*d * (UT)u); break;                                                  \
        case OC_SCATTER_MAX: *d = u > *d ? u : *d; break;                                                      \
        case OC_SCATTER_MIN: *d = u < *d ? u : *d; break;                                                      \
        default: *d = u; break;                                                                            \
        }                                                                                                  \
        break;                                                                                             \
    }

#define RED_FLOAT(T)                                                                                       \
    {                                                                                                      \
        T *d = (T *)dst + di;                                                                              \
        T u = ((const T *)src)[si];                                                                        \
        switch (red) {                                                                                     \
        case OC_SCATTER_ADD: *d += u; break;                                                                   \
        case OC_SCATTER_MUL: *d *= u; break;                                                                   \
        case OC_SCATTER_MAX: *d = u > *d ? u : *d; break;                                                      \
        case OC_SCATTER_MIN: *d = u < *d ? u : *d; break;                                                      \
        default: *d = u; break;                                                                            \
        }                                                                                                  \
        break;                                                                                             \
    }

static void reduce_elem(int dtype, int red, void *dst, int64_t di, const void *src, int64_t si)
{
    switch (dtype) {
    case OC_FLOAT: RED_FLOAT(float)
    case OC_DOUBLE: RED_FLOAT(double)
    case OC_INT64: RED_INT(int64_t, uint64_t)
    case OC_UINT64: RED_INT(uint64_t, uint64_t)
    case OC_INT32: RED_INT(int32_t, uint32_t)
    case OC_UINT32: RED_INT(uint32_t, uint32_t)
    case OC_INT16: RED_INT(int16_t, uint32_t)
    case OC_UINT16: RED_INT(uint16_t, uint32_t)
    case OC_INT8: RED_INT(int8_t, uint32_t)
    case OC_UINT8: RED_INT(uint8_t, uint32_t)
    case OC_BOOL: { /* add = or, mul = and, as numpy on bools */
        uint8_t *d = (uint8_t *)dst + di, u = ((const uint8_t *)src)[si] != 0;
        *d = red == OC_SCATTER_ADD || red == OC_SCATTER_MAX ? (*d || u) : red == OC_SCATTER_NONE ? u : (*d && u);
        break;
    }
    default: { /* float16, bfloat16: in float */
        double x = oc_elem_get_f64(dtype, dst, di), u = oc_elem_get_f64(dtype, src, si);
        double r = red == OC_SCATTER_ADD ? x + u : red == OC_SCATTER_MUL ? x * u : red == OC_SCATTER_MAX ? (u > x ? u : x)
                   : red == OC_SCATTER_MIN ? (u < x ? u : x) : u;
        oc_elem_set_f64(dtype, dst, di, r);
        break;
    }
    }
}

/* ------------------------------------------------------- GatherElements */

int oc_gather_elements_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *idx = a->in[1];
    oc_tensor *y = a->out[0];
    size_t es = (size_t)p->es;
    int r = x->rank, ax = p->axis;
    int64_t xs[OC_MAX_RANK], c[OC_MAX_RANK] = {0};
    strides_of(x, xs);
    for (int d = 0; d < r; d++)
        if (d != ax && idx->dims[d] > x->dims[d])
            return oc_fail(a->d, "indices dim %d (%lld) exceeds the data's (%lld)", d, (long long)idx->dims[d],
                           (long long)x->dims[d]);
    int64_t base = 0, len = x->dims[ax];
    const char *xd = x->data;
    char *o = y->data;
    for (int64_t j = 0; j < idx->numel; j++) {
        int64_t i = wrap_index(oc_index_get(idx, j), len);
        if (i < 0)
            return oc_fail(a->d, "index %lld is out of range for axis %d of length %lld",
                           (long long)oc_index_get(idx, j), ax, (long long)len);
        copy_elem(es, o + (size_t)j * es, xd + (size_t)(base + i * xs[ax]) * es);
        for (int d = r - 1; d >= 0; d--) {
            if (d != ax)
                base += xs[d];
            if (++c[d] < idx->dims[d])
                break;
            if (d != ax)
                base -= xs[d] * idx->dims[d];
            c[d] = 0;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- GatherND */

/* With b = batch_dims and m = indices.shape[-1]: for every batch index and
 * every index tuple, copy the slice data[batch, tuple, ...] (data.shape[b+m:]). */
int oc_gather_nd_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *idx = a->in[1];
    oc_tensor *y = a->out[0];
    size_t es = (size_t)p->es;
    int r = x->rank, q = idx->rank, b = p->batch_dims;
    int64_t m = idx->dims[q - 1];
    if (m < 0 || b + m > r)
        return oc_fail(a->d, "indices.shape[-1] = %lld does not fit data of rank %d", (long long)m, r);
    int64_t xs[OC_MAX_RANK];
    strides_of(x, xs);
    int64_t nb = prod(x->dims, 0, b), nt = prod(idx->dims, b, q - 1);
    int64_t slice = prod(x->dims, (int)(b + m), r), xbatch = prod(x->dims, b, r);
    if (nb * nt * slice != y->numel)
        return oc_fail(a->d, "GatherND gives %lld elements; the plan has %lld", (long long)(nb * nt * slice),
                       (long long)y->numel);
    char *o = y->data;
    for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t t = 0; t < nt; t++) {
            int64_t at = (bi * nt + t) * m, off = bi * xbatch;
            for (int64_t j = 0; j < m; j++) {
                int64_t dim = x->dims[b + j], v = wrap_index(oc_index_get(idx, at + j), dim);
                if (v < 0)
                    return oc_fail(a->d, "index %lld is out of range for data dim %lld of length %lld",
                                   (long long)oc_index_get(idx, at + j), (long long)(b + j), (long long)dim);
                off += v * xs[b + j];
            }
            if (slice)
                memcpy(o, (const char *)x->data + (size_t)off * es, (size_t)slice * es);
            o += (size_t)slice * es;
        }
    return 0;
}

/* --------------------------------------------------- Scatter(Elements) */

static void copy_data(const oc_tensor *x, oc_tensor *y)
{
    size_t n = oc_tensor_nbytes(y);
    if (n && x->data != y->data)
        memcpy(y->data, x->data, n);
}

int oc_scatter_elements_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *idx = a->in[1], *u = a->in[2];
    oc_tensor *y = a->out[0];
    int r = x->rank, ax = p->axis;
    if (u->numel != idx->numel)
        return oc_fail(a->d, "updates have %lld elements, indices %lld", (long long)u->numel, (long long)idx->numel);
    for (int d = 0; d < r; d++)
        if (d != ax && idx->dims[d] > x->dims[d])
            return oc_fail(a->d, "indices dim %d (%lld) exceeds the data's (%lld)", d, (long long)idx->dims[d],
                           (long long)x->dims[d]);
    copy_data(x, y);
    int64_t xs[OC_MAX_RANK], c[OC_MAX_RANK] = {0};
    strides_of(x, xs);
    int64_t base = 0, len = x->dims[ax];
    for (int64_t j = 0; j < idx->numel; j++) {
        int64_t i = wrap_index(oc_index_get(idx, j), len);
        if (i < 0)
            return oc_fail(a->d, "index %lld is out of range for axis %d of length %lld",
                           (long long)oc_index_get(idx, j), ax, (long long)len);
        reduce_elem(p->dtype, p->reduction, y->data, base + i * xs[ax], u->data, j);
        for (int d = r - 1; d >= 0; d--) {
            if (d != ax)
                base += xs[d];
            if (++c[d] < idx->dims[d])
                break;
            if (d != ax)
                base -= xs[d] * idx->dims[d];
            c[d] = 0;
        }
    }
    return 0;
}

/* ScatterND: data[tuple, ...] (op)= updates[t, ...] for each index tuple t. */
int oc_scatter_nd_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *idx = a->in[1], *u = a->in[2];
    oc_tensor *y = a->out[0];
    size_t es = (size_t)p->es;
    int r = x->rank, q = idx->rank;
    int64_t m = idx->dims[q - 1];
    if (m < 1 || m > r)
        return oc_fail(a->d, "indices.shape[-1] = %lld must be in [1, %d]", (long long)m, r);
    int64_t xs[OC_MAX_RANK];
    strides_of(x, xs);
    int64_t nt = idx->numel / m, slice = prod(x->dims, (int)m, r);
    if (nt * slice != u->numel)
        return oc_fail(a->d, "updates have %lld elements; expected %lld", (long long)u->numel,
                       (long long)(nt * slice));
    copy_data(x, y);
    for (int64_t t = 0; t < nt; t++) {
        int64_t off = 0;
        for (int64_t j = 0; j < m; j++) {
            int64_t dim = x->dims[j], v = wrap_index(oc_index_get(idx, t * m + j), dim);
            if (v < 0)
                return oc_fail(a->d, "index %lld is out of range for data dim %lld of length %lld",
                               (long long)oc_index_get(idx, t * m + j), (long long)j, (long long)dim);
            off += v * xs[j];
        }
        if (p->reduction == OC_SCATTER_NONE) {
            if (slice)
                memcpy((char *)y->data + (size_t)off * es, (const char *)u->data + (size_t)(t * slice) * es,
                       (size_t)slice * es);
        } else {
            for (int64_t k = 0; k < slice; k++)
                reduce_elem(p->dtype, p->reduction, y->data, off + k, u->data, t * slice + k);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- TopK */

size_t oc_topk_scratch(int64_t len) { return (size_t)(2 * (len > 0 ? len : 1)) * sizeof(int64_t); }

/* Three-way compare of x[i] and x[j]; NaN sorts above every number. */
static int cmp_at(int dtype, const void *x, int64_t i, int64_t j)
{
#define CMP3(T)                                                                                            \
    {                                                                                                      \
        T u = ((const T *)x)[i], v = ((const T *)x)[j];                                                    \
        return (u > v) - (u < v);                                                                          \
    }
    switch (dtype) {
    case OC_INT64: CMP3(int64_t)
    case OC_UINT64: CMP3(uint64_t)
    case OC_INT32: CMP3(int32_t)
    case OC_UINT32: CMP3(uint32_t)
    case OC_INT16: CMP3(int16_t)
    case OC_UINT16: CMP3(uint16_t)
    case OC_INT8: CMP3(int8_t)
    case OC_UINT8: case OC_BOOL: CMP3(uint8_t)
    default: {
        double u = oc_elem_get_f64(dtype, x, i), v = oc_elem_get_f64(dtype, x, j);
        int nu = u != u, nv = v != v;
        if (nu || nv)
            return nu - nv;
        return (u > v) - (u < v);
    }
    }
#undef CMP3
}

/* Stable bottom-up merge sort of positions ix[0..n) (element offsets into
 * x); descending when largest. Ties keep their order: the lower index. */
static void merge_sort(int dtype, const void *x, int largest, int64_t *ix, int64_t *tmp, int64_t n)
{
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int c = cmp_at(dtype, x, ix[j], ix[i]);
                /* take the right element only when it strictly goes first */
                if (largest ? c > 0 : c < 0)
                    tmp[k++] = ix[j++];
                else
                    tmp[k++] = ix[i++];
            }
            while (i < mid)
                tmp[k++] = ix[i++];
            while (j < hi)
                tmp[k++] = ix[j++];
        }
        memcpy(ix, tmp, sizeof(int64_t) * (size_t)n);
    }
}

int oc_topk_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *kt = a->n_in > 1 ? a->in[1] : NULL;
    oc_tensor *vals = a->out[0], *inds = a->out[1];
    int ax = p->axis;
    int64_t len = x->dims[ax], k = vals->dims[ax];
    if (kt && (kt->numel != 1 || oc_index_get(kt, 0) != k))
        return oc_fail(a->d, "k = %lld at run time, the plan has %lld", (long long)(kt->numel ? oc_index_get(kt, 0) : -1),
                       (long long)k);
    if (k > len)
        return oc_fail(a->d, "k = %lld exceeds the axis length %lld", (long long)k, (long long)len);
    size_t es = (size_t)p->es;
    int64_t outer = prod(x->dims, 0, ax), inner = prod(x->dims, ax + 1, x->rank);
    int64_t *ix = a->scratch, *tmp = ix + (len > 0 ? len : 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i;
            for (int64_t t = 0; t < len; t++)
                ix[t] = base + t * inner;
            merge_sort(p->dtype, x->data, p->largest, ix, tmp, len);
            for (int64_t t = 0; t < k; t++) {
                int64_t at = (o * k + t) * inner + i;
                copy_elem(es, (char *)vals->data + (size_t)at * es, (const char *)x->data + (size_t)ix[t] * es);
                if (inds)
                    ((int64_t *)inds->data)[at] = (ix[t] - base) / inner;
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- CumSum */

/* Along the axis in traversal order p_0, p_1, ...:
 *   inclusive: y[p_t] = y[p_{t-1}] + x[p_t]
 *   exclusive: y[p_t] = y[p_{t-1}] + x[p_{t-1}], y[p_0] = 0
 * with the inner dim as the contiguous inner loop. */
#define CUMSUM(T, ACC)                                                                                     \
    {                                                                                                      \
        const T *xv = x->data;                                                                             \
        T *yv = y->data;                                                                                   \
        for (int64_t o = 0; o < outer; o++)                                                                \
            for (int64_t t = 0; t < len; t++) {                                                            \
                int64_t pos = p->reverse ? len - 1 - t : t, prev = p->reverse ? pos + 1 : pos - 1;         \
                T *yr = yv + (o * len + pos) * inner;                                                      \
                const T *yp = yv + (o * len + prev) * inner;                                               \
                const T *xs = xv + (o * len + (p->exclusive ? prev : pos)) * inner;                        \
                for (int64_t i = 0; i < inner; i++) {                                                      \
                    if (t == 0)                                                                            \
                        yr[i] = p->exclusive ? (T)0 : xs[i];                                               \
                    else                                                                                   \
                        yr[i] = (T)((ACC)yp[i] + (ACC)xs[i]);                                              \
                }                                                                                          \
            }                                                                                              \
        break;                                                                                             \
    }

int oc_cumsum_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *at = a->n_in > 1 ? a->in[1] : NULL;
    oc_tensor *y = a->out[0];
    int64_t ax = p->axis;
    if (at) {
        if (at->numel != 1)
            return oc_fail(a->d, "axis must be a scalar, got %lld values", (long long)at->numel);
        ax = oc_index_get(at, 0);
    }
    int r = x->rank;
    if (ax < -r || ax >= (r ? r : 1))
        return oc_fail(a->d, "axis %lld is outside [-%d, %d)", (long long)ax, r, r);
    if (ax < 0)
        ax += r;
    if (r == 0) { /* a scalar: one element */
        oc_elem_set_f64(y->dtype, y->data, 0, p->exclusive ? 0 : oc_elem_get_f64(x->dtype, x->data, 0));
        return 0;
    }
    int64_t outer = prod(x->dims, 0, (int)ax), len = x->dims[ax], inner = prod(x->dims, (int)ax + 1, r);
    switch (x->dtype) {
    case OC_FLOAT: CUMSUM(float, float)
    case OC_DOUBLE: CUMSUM(double, double)
    case OC_INT64: CUMSUM(int64_t, uint64_t)
    case OC_UINT64: CUMSUM(uint64_t, uint64_t)
    case OC_INT32: CUMSUM(int32_t, uint32_t)
    case OC_UINT32: CUMSUM(uint32_t, uint32_t)
    default: { /* float16, bfloat16 and narrow ints, through double */
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double acc = 0;
                for (int64_t t = 0; t < len; t++) {
                    int64_t pos = p->reverse ? len - 1 - t : t, e = (o * len + pos) * inner + i;
                    double v = oc_elem_get_f64(x->dtype, x->data, e);
                    if (!p->exclusive)
                        acc += v;
                    oc_elem_set_f64(y->dtype, y->data, e, acc);
                    if (p->exclusive)
                        acc += v;
                }
            }
        break;
    }
    }
    return 0;
}

/* ---------------------------------------------------------------- OneHot */

/* Output = indices' shape with depth inserted at axis; off everywhere, on
 * where the (truncated) index, negative ones plus depth, hits. */
int oc_one_hot_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *idx = a->in[0], *dt = a->in[1], *vals = a->in[2];
    oc_tensor *y = a->out[0];
    int ax = p->axis;
    int64_t depth = y->dims[ax];
    size_t es = (size_t)p->es;
    double dv = dt->numel == 1 ? oc_elem_get_f64(dt->dtype, dt->data, 0) : -1.0;
    if (!(dv >= 1 && dv < 9.0e18) || (int64_t)dv != depth) /* depth is truncated to an integer */
        return oc_fail(a->d, "depth %g at run time, the plan has %lld", dv, (long long)depth);
    if (vals->numel != 2)
        return oc_fail(a->d, "'values' must hold [off_value, on_value], got %lld values", (long long)vals->numel);
    const char *off = vals->data, *on = off + es;
    char *o = y->data;
    for (int64_t i = 0; i < y->numel; i++)
        copy_elem(es, o + (size_t)i * es, off);
    int64_t outer = prod(idx->dims, 0, ax), inner = prod(idx->dims, ax, idx->rank);
    for (int64_t b = 0; b < outer; b++)
        for (int64_t i = 0; i < inner; i++) {
            double dv = oc_elem_get_f64(idx->dtype, idx->data, b * inner + i);
            if (!(dv > -9.0e18 && dv < 9.0e18))
                continue;
            int64_t v = idx->dtype == OC_INT64 ? ((const int64_t *)idx->data)[b * inner + i] : (int64_t)dv;
            if (v < 0)
                v += depth;
            if (v >= 0 && v < depth)
                copy_elem(es, o + (size_t)((b * depth + v) * inner + i) * es, on);
        }
    return 0;
}

/* ---------------------------------------------------------------- Trilu */

/* Keeps element (i, j) of each trailing matrix when j - i >= k (upper) or
 * j - i <= k (lower); zeros the rest. */
int oc_trilu_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *kt = a->n_in > 1 ? a->in[1] : NULL;
    oc_tensor *y = a->out[0];
    size_t es = (size_t)p->es;
    int r = x->rank;
    int64_t rows = x->dims[r - 2], cols = x->dims[r - 1];
    int64_t k = kt && kt->numel ? oc_index_get(kt, 0) : 0;
    int64_t lim = rows + cols + 1; /* beyond this every k behaves the same */
    k = k > lim ? lim : (k < -lim ? -lim : k);
    copy_data(x, y);
    int64_t mats = rows > 0 && cols > 0 ? y->numel / (rows * cols) : 0;
    char *o = y->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            char *row = o + (size_t)((m * rows + i) * cols) * es;
            int64_t edge = i + k; /* first kept column (upper) / last kept column (lower) */
            if (p->upper) {
                int64_t z = edge < 0 ? 0 : (edge > cols ? cols : edge);
                memset(row, 0, (size_t)z * es);
            } else {
                int64_t z = edge + 1 < 0 ? 0 : (edge + 1 > cols ? cols : edge + 1);
                memset(row + (size_t)z * es, 0, (size_t)(cols - z) * es);
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- NonZero, Compress */

static int nonzero_at(const oc_tensor *t, int64_t i)
{
    switch (oc_dtype_size(t->dtype)) {
    case 1: return ((const uint8_t *)t->data)[i] != 0;
    default: return oc_elem_get_f64(t->dtype, t->data, i) != 0; /* -0.0 is zero, NaN is not */
    }
}

int oc_nonzero_forward(const oc_kargs *a)
{
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int64_t cnt = 0;
    for (int64_t i = 0; i < x->numel; i++)
        cnt += nonzero_at(x, i);
    if (y->rank != 2 || y->dims[0] != x->rank || y->dims[1] != cnt)
        return oc_fail(a->d, "NonZero finds %lld non-zero elements; the plan has %lld", (long long)cnt,
                       (long long)(y->rank == 2 ? y->dims[1] : -1));
    int64_t *o = y->data, c[OC_MAX_RANK] = {0}, at = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (nonzero_at(x, i)) {
            for (int d = 0; d < x->rank; d++)
                o[d * cnt + at] = c[d];
            at++;
        }
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++c[d] < x->dims[d])
                break;
            c[d] = 0;
        }
    }
    return 0;
}

/* Compress: the slices along axis (or elements of the flattened input)
 * whose condition entry is true; a short condition selects only within
 * its length. */
int oc_compress_forward(const oc_kargs *a)
{
    const oc_index_params *p = a->p;
    const oc_tensor *x = a->in[0], *cond = a->in[1];
    oc_tensor *y = a->out[0];
    size_t es = (size_t)p->es;
    int64_t outer = 1, len = x->numel, inner = 1;
    if (p->has_axis) {
        outer = prod(x->dims, 0, p->axis);
        len = x->dims[p->axis];
        inner = prod(x->dims, p->axis + 1, x->rank);
    }
    int64_t n = cond->numel < len ? cond->numel : len, cnt = 0;
    for (int64_t i = 0; i < n; i++)
        cnt += nonzero_at(cond, i);
    if (outer * cnt * inner != y->numel || (p->has_axis && y->dims[p->axis] != cnt))
        return oc_fail(a->d, "the condition selects %lld entries; the plan has %lld", (long long)cnt,
                       (long long)(p->has_axis ? y->dims[p->axis] : y->numel));
    char *o = y->data;
    size_t row = (size_t)inner * es;
    for (int64_t b = 0; b < outer; b++)
        for (int64_t i = 0; i < n; i++)
            if (nonzero_at(cond, i)) {
                memcpy(o, (const char *)x->data + (size_t)(b * len + i) * row, row);
                o += row;
            }
    return 0;
}

/* ---------------------------------------------------------------- EyeLike */

/* EyeLike: ones on the k-th diagonal (j = i + k), zeros elsewhere. */
int oc_eye_like_forward(const oc_kargs *a)
{
    const oc_eye_params *p = a->p;
    oc_tensor *y = a->out[0];
    if (y->numel)
        memset(y->data, 0, oc_tensor_nbytes(y));
    int64_t rows = y->dims[0], cols = y->dims[1];
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + p->k;
        if (j >= 0 && j < cols)
            oc_elem_set_f64(y->dtype, y->data, i * cols + j, 1.0);
    }
    return 0;
}
