/* shape_ops.c: see shape_ops.h.
 *
 * Most kernels here move bytes and do not care about the element type:
 * they work on element sizes (1, 2, 4 or 8 bytes). The strided view copy
 * (Transpose, Expand, Slice) walks the output in row-major order with an
 * odometer; the innermost dim is a memcpy when the input is contiguous
 * there, and otherwise it is copied in 16x16 tiles together with the dim
 * that is contiguous in the input, so that a transpose touches both sides
 * in cache-sized blocks. Cast converts through int64 (integer sources) or
 * double (float sources) in chunks, one type switch per chunk. */
#include "shape_ops.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

int64_t oc_index_get(const oc_tensor *t, int64_t i)
{
    if (t->dtype == OC_INT64)
        return ((const int64_t *)t->data)[i];
    if (t->dtype == OC_INT32)
        return ((const int32_t *)t->data)[i];
    return oc_elem_get_i64(t->dtype, t->data, i);
}

static size_t esize(const oc_tensor *t) { return oc_dtype_size(t->dtype); }

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++)
        p *= d[i];
    return p;
}

static int same_shape(const oc_tensor *t, int rank, const int64_t *dims)
{
    if (t->rank != rank)
        return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i])
            return 0;
    return 1;
}

static const char *fmt_dims(char *buf, size_t cap, const oc_tensor *t)
{
    return oc_format_dims(buf, cap, t->dims, t->rank);
}

/* ---------------------------------------------------------------- copies */

int oc_copy_forward(const oc_kargs *a)
{
    const oc_copy_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    if (p && p->check_reshape && a->n_in > 1 && a->in[1]) {
        /* Reshape: each shape entry must give the planned extent (0 copies
         * the input dim unless allowzero, -1 is inferred). */
        const oc_tensor *s = a->in[1];
        int bad = s->numel != y->rank;
        for (int i = 0; !bad && i < y->rank; i++) {
            int64_t v = oc_index_get(s, i);
            if (v == 0 && !p->allowzero)
                bad = i >= x->rank || x->dims[i] != y->dims[i];
            else if (v != -1)
                bad = v != y->dims[i];
        }
        if (bad) {
            char b[256];
            return oc_fail(a->d, "the shape input (%lld entries) does not give the planned output shape %s",
                           (long long)s->numel, fmt_dims(b, sizeof b, y));
        }
    }
    size_t n = oc_tensor_nbytes(y);
    if (oc_tensor_nbytes(x) != n)
        return oc_fail(a->d, "input has %zu bytes, output %zu", oc_tensor_nbytes(x), n);
    if (n && y->data != x->data)
        memcpy(y->data, x->data, n);
    return 0;
}

void oc_view_simplify(oc_view_params *p)
{
    int r = 0;
    for (int d = 0; d < p->rank; d++) { /* size-1 dims never move */
        if (p->dims[d] == 1)
            continue;
        p->dims[r] = p->dims[d];
        p->strides[r] = p->strides[d];
        r++;
    }
    p->rank = r;
    if (r == 0)
        return;
    /* merge d into d+1 when stepping d equals running through all of d+1 */
    int w = r - 1;
    int64_t dims[OC_MAX_RANK], strides[OC_MAX_RANK];
    dims[w] = p->dims[r - 1];
    strides[w] = p->strides[r - 1];
    for (int d = r - 2; d >= 0; d--) {
        if (p->strides[d] == strides[w] * dims[w]) {
            dims[w] *= p->dims[d];
        } else {
            w--;
            dims[w] = p->dims[d];
            strides[w] = p->strides[d];
        }
    }
    p->rank = r - w;
    for (int d = 0; d < p->rank; d++) {
        p->dims[d] = dims[w + d];
        p->strides[d] = strides[w + d];
    }
}

/* 16 x 16 tiles measured fastest for float32 transposes of 32x512x512 (vs 8, 32, 64) */
#define TILE 16

/* 2-D strided block: out[i * os0 + j] = in[i * s0 + j * s1] for i < n0,
 * j < n1, in TILE x TILE blocks unless the rows are contiguous. */
#define BLOCK_COPY(T)                                                                                      \
    static void block_##T(T *o, int64_t os0, const T *in, int64_t n0, int64_t n1, int64_t s0, int64_t s1)  \
    {                                                                                                      \
        if (s1 == 1) {                                                                                     \
            for (int64_t i = 0; i < n0; i++)                                                               \
                memcpy(o + i * os0, in + i * s0, sizeof(T) * (size_t)n1);                                  \
            return;                                                                                        \
        }                                                                                                  \
        for (int64_t i0 = 0; i0 < n0; i0 += TILE)                                                          \
            for (int64_t j0 = 0; j0 < n1; j0 += TILE) {                                                    \
                int64_t ie = i0 + TILE < n0 ? i0 + TILE : n0, je = j0 + TILE < n1 ? j0 + TILE : n1;        \
                for (int64_t i = i0; i < ie; i++) {                                                        \
                    T *orow = o + i * os0;                                                                 \
                    const T *irow = in + i * s0;                                                           \
                    for (int64_t j = j0; j < je; j++)                                                      \
                        orow[j] = irow[j * s1];                                                            \
                }                                                                                          \
            }                                                                                              \
    }

BLOCK_COPY(uint8_t)
BLOCK_COPY(uint16_t)
BLOCK_COPY(uint32_t)
BLOCK_COPY(uint64_t)
typedef struct { uint64_t lo, hi; } pair16; /* a string element (runtime/strtensor.h) */
BLOCK_COPY(pair16)

static void block(int es, void *o, int64_t os0, const void *in, int64_t n0, int64_t n1, int64_t s0, int64_t s1)
{
    switch (es) {
    case 1: block_uint8_t(o, os0, in, n0, n1, s0, s1); break;
    case 2: block_uint16_t(o, os0, in, n0, n1, s0, s1); break;
    case 4: block_uint32_t(o, os0, in, n0, n1, s0, s1); break;
    case 16: block_pair16(o, os0, in, n0, n1, s0, s1); break;
    default: block_uint64_t(o, os0, in, n0, n1, s0, s1); break;
    }
}

/* The view copy proper. The innermost output dim is paired with a second
 * dim b for 2-D blocks: the previous dim when the innermost one is
 * contiguous in the input (row copies), else the dim that is contiguous
 * (or closest to it) in the input, so both sides are read and written in
 * cache-sized tiles (a transpose). The remaining dims run as an odometer
 * that carries the input and output offsets. */
static void view_copy(const oc_view_params *p, const char *src, char *dst)
{
    size_t es = (size_t)p->es;
    if (p->rank == 0) {
        memcpy(dst, src + p->offset * (int64_t)es, es);
        return;
    }
    int r = p->rank, b = -1;
    int64_t os[OC_MAX_RANK], acc = 1;
    for (int d = r - 1; d >= 0; d--) {
        os[d] = acc;
        acc *= p->dims[d];
    }
    if (r >= 2) {
        b = r - 2;
        if (p->strides[r - 1] != 1)
            for (int d = 0; d < r - 1; d++) {
                int64_t sd = p->strides[d] < 0 ? -p->strides[d] : p->strides[d];
                int64_t sb = p->strides[b] < 0 ? -p->strides[b] : p->strides[b];
                if (sd < sb || (sd == sb && d > b))
                    b = d;
            }
    }
    int64_t n1 = p->dims[r - 1], s1 = p->strides[r - 1];
    int64_t n0 = b >= 0 ? p->dims[b] : 1, s0 = b >= 0 ? p->strides[b] : 0, os0 = b >= 0 ? os[b] : 0;
    int64_t outer = 1;
    for (int d = 0; d < r - 1; d++)
        if (d != b)
            outer *= p->dims[d];
    int64_t c[OC_MAX_RANK] = {0};
    int64_t in_off = p->offset, out_off = 0;
    for (int64_t k = 0; k < outer; k++) {
        block(p->es, dst + (size_t)out_off * es, os0, src + in_off * (int64_t)es, n0, n1, s0, s1);
        for (int d = r - 2; d >= 0; d--) {
            if (d == b)
                continue;
            in_off += p->strides[d];
            out_off += os[d];
            if (++c[d] < p->dims[d])
                break;
            in_off -= p->strides[d] * p->dims[d];
            out_off -= os[d] * p->dims[d];
            c[d] = 0;
        }
    }
}

int oc_view_forward(const oc_kargs *a)
{
    const oc_view_params *p = a->p;
    if (a->out[0]->numel == 0)
        return 0;
    view_copy(p, a->in[0]->data, a->out[0]->data);
    return 0;
}

/* Input strides of x broadcast (right-aligned) over output dims. */
static void bcast_view(const oc_tensor *x, const oc_tensor *y, oc_view_params *v)
{
    v->es = (int)esize(x);
    v->rank = y->rank;
    v->offset = 0;
    int64_t s = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int k = d - (y->rank - x->rank);
        v->dims[d] = y->dims[d];
        v->strides[d] = (k < 0 || x->dims[k] == 1) ? 0 : s;
        if (k >= 0)
            s *= x->dims[k];
    }
    oc_view_simplify(v);
}

int oc_expand_forward(const oc_kargs *a)
{
    const oc_tensor *x = a->in[0], *s = a->in[1];
    oc_tensor *y = a->out[0];
    char b1[256], b2[256];
    if (s->rank > 1 || s->numel > OC_MAX_RANK)
        return oc_fail(a->d, "the shape input must be a list of at most %d entries", OC_MAX_RANK);
    /* y must be broadcast(x.shape, shape) */
    int r = (int)s->numel > x->rank ? (int)s->numel : x->rank;
    int ok = r == y->rank;
    for (int d = 0; ok && d < r; d++) {
        int ks = d - (r - (int)s->numel), kx = d - (r - x->rank);
        int64_t sd = ks >= 0 ? oc_index_get(s, ks) : 1, xd = kx >= 0 ? x->dims[kx] : 1;
        int64_t want = sd == 1 ? xd : (xd == 1 || xd == sd ? sd : -1);
        ok = want >= 0 && want == y->dims[d];
    }
    if (!ok)
        return oc_fail(a->d, "cannot expand %s with a shape of %lld entries to the planned %s",
                       fmt_dims(b1, sizeof b1, x), (long long)s->numel, fmt_dims(b2, sizeof b2, y));
    if (y->numel == 0)
        return 0;
    oc_view_params v;
    bcast_view(x, y, &v);
    view_copy(&v, x->data, y->data);
    return 0;
}

/* Clamp a start/end as Slice-10+ does: negative counts from the end, then
 * into [0, dim] for positive steps and [-1, dim-1] for negative ones. */
static int64_t clamp_index(int64_t v, int64_t dim, int64_t step)
{
    if (v < 0)
        v = v < -dim ? -1 : v + dim; /* anything before the start clamps the same way */
    if (step > 0)
        return v < 0 ? 0 : (v > dim ? dim : v);
    return v < -1 ? -1 : (v > dim - 1 ? dim - 1 : v);
}

/* The view of x that Slice reads, for output y: starts/ends/axes/steps
 * from the attributes or from the tensors b[0..3] (NULL when omitted),
 * checked against y's planned shape. Shared by Slice and SliceGrad. */
static int slice_view(const oc_slice_params *p, const oc_tensor *x, const oc_tensor *y,
                      const oc_tensor *const *b, oc_view_params *v, oc_diag *dg)
{
    int64_t begin[OC_MAX_RANK], step[OC_MAX_RANK], len[OC_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        begin[d] = 0;
        step[d] = 1;
        len[d] = x->dims[d];
    }
    int n = p->n;
    const oc_tensor *ts = NULL, *te = NULL, *ta = NULL, *tp = NULL;
    if (p->from_inputs) {
        ts = b[0];
        te = b[1];
        ta = b[2];
        tp = b[3];
        n = (int)ts->numel;
        if (te->numel != n || (ta && ta->numel != n) || (tp && tp->numel != n))
            return oc_fail(dg, "starts, ends, axes and steps must have the same length");
    }
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        int64_t ax = ta ? oc_index_get(ta, i) : (p->from_inputs || !p->has_axes ? i : p->axes[i]);
        if (ax < -x->rank || ax >= x->rank)
            return oc_fail(dg, "axis %lld is outside [-%d, %d)", (long long)ax, x->rank, x->rank);
        if (ax < 0)
            ax += x->rank;
        if (seen & (1u << ax))
            return oc_fail(dg, "axis %lld is repeated", (long long)ax);
        seen |= 1u << ax;
        int64_t st = tp ? oc_index_get(tp, i) : 1;
        if (st == 0)
            return oc_fail(dg, "step 0 on axis %lld", (long long)ax);
        int64_t dim = x->dims[ax];
        int64_t s = clamp_index(ts ? oc_index_get(ts, i) : p->starts[i], dim, st);
        int64_t e = clamp_index(te ? oc_index_get(te, i) : p->ends[i], dim, st);
        /* ceil((e - s) / st), written so that huge steps cannot overflow */
        int64_t l = st > 0 ? (e > s ? (e - s - 1) / st + 1 : 0)
                           : (s > e ? (st == INT64_MIN ? 0 : (s - e - 1) / (-st)) + 1 : 0);
        begin[ax] = s;
        step[ax] = l > 1 ? st : 1; /* the step only matters for two or more elements */
        len[ax] = l;
    }
    if (!same_shape(y, x->rank, len)) {
        char b1[256], b2[256];
        return oc_fail(dg, "the slice gives %s but the plan has %s",
                       oc_format_dims(b1, sizeof b1, len, x->rank), fmt_dims(b2, sizeof b2, y));
    }
    v->es = p->es;
    v->rank = x->rank;
    v->offset = 0;
    int64_t s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        v->dims[d] = len[d];
        v->strides[d] = step[d] * s;
        v->offset += begin[d] * s;
        s *= x->dims[d];
    }
    oc_view_simplify(v);
    return 0;
}

int oc_slice_forward(const oc_kargs *a)
{
    const oc_slice_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    const oc_tensor *b[4] = {NULL, NULL, NULL, NULL};
    for (int k = 0; p->from_inputs && k < 4; k++)
        b[k] = a->n_in > k + 1 ? a->in[k + 1] : NULL;
    oc_view_params v;
    if (slice_view(p, x, y, b, &v, a->d))
        return -1;
    if (y->numel == 0)
        return 0;
    view_copy(&v, x->data, y->data);
    return 0;
}

/* ------------------------------------------------ Concat, Split, Gather */

int oc_concat_forward(const oc_kargs *a)
{
    const oc_axis_params *p = a->p;
    oc_tensor *y = a->out[0];
    size_t es = (size_t)p->es;
    int64_t outer = prod(y->dims, 0, p->axis), inner = prod(y->dims, p->axis + 1, y->rank);
    int64_t total = 0;
    for (int k = 0; k < a->n_in; k++)
        total += a->in[k]->dims[p->axis];
    if (total != y->dims[p->axis])
        return oc_fail(a->d, "inputs add up to %lld along axis %d, the plan has %lld", (long long)total, p->axis,
                       (long long)y->dims[p->axis]);
    char *o = y->data;
    for (int64_t b = 0; b < outer; b++)
        for (int k = 0; k < a->n_in; k++) {
            size_t chunk = (size_t)(a->in[k]->dims[p->axis] * inner) * es;
            if (chunk)
                memcpy(o, (const char *)a->in[k]->data + (size_t)b * chunk, chunk);
            o += chunk;
        }
    return 0;
}

int oc_split_forward(const oc_kargs *a)
{
    const oc_axis_params *p = a->p;
    const oc_tensor *x = a->in[0], *split = a->n_in > 1 ? a->in[1] : NULL;
    size_t es = (size_t)p->es;
    int64_t outer = prod(x->dims, 0, p->axis), inner = prod(x->dims, p->axis + 1, x->rank);
    int64_t total = 0;
    if (split && split->numel != a->n_out)
        return oc_fail(a->d, "'split' has %lld entries for %d outputs", (long long)split->numel, a->n_out);
    for (int k = 0; k < a->n_out; k++) {
        if (split && oc_index_get(split, k) != a->out[k]->dims[p->axis])
            return oc_fail(a->d, "split %d is %lld but the plan has %lld", k, (long long)oc_index_get(split, k),
                           (long long)a->out[k]->dims[p->axis]);
        total += a->out[k]->dims[p->axis];
    }
    if (total != x->dims[p->axis])
        return oc_fail(a->d, "outputs add up to %lld along axis %d, the input has %lld", (long long)total, p->axis,
                       (long long)x->dims[p->axis]);
    const char *src = x->data;
    for (int64_t b = 0; b < outer; b++)
        for (int k = 0; k < a->n_out; k++) {
            size_t chunk = (size_t)(a->out[k]->dims[p->axis] * inner) * es;
            if (chunk)
                memcpy((char *)a->out[k]->data + (size_t)b * chunk, src, chunk);
            src += chunk;
        }
    return 0;
}

int oc_gather_forward(const oc_kargs *a)
{
    const oc_axis_params *p = a->p;
    const oc_tensor *x = a->in[0], *idx = a->in[1];
    size_t es = (size_t)p->es;
    int64_t outer = prod(x->dims, 0, p->axis), inner = prod(x->dims, p->axis + 1, x->rank);
    int64_t len = x->dims[p->axis], ni = idx->numel;
    size_t row = (size_t)inner * es;
    char *o = a->out[0]->data;
    for (int64_t j = 0; j < ni; j++) { /* check once, not per outer block */
        int64_t i = oc_index_get(idx, j);
        if (i < -len || i >= len)
            return oc_fail(a->d, "index %lld is out of range for axis %d of length %lld", (long long)i, p->axis,
                           (long long)len);
    }
    for (int64_t b = 0; b < outer; b++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t i = oc_index_get(idx, j);
            if (i < 0)
                i += len;
            if (row == 4)
                memcpy(o, (const char *)x->data + (size_t)(b * len + i) * 4, 4);
            else
                memcpy(o, (const char *)x->data + (size_t)(b * len + i) * row, row);
            o += row;
        }
    return 0;
}

/* Tile: output coordinate c reads input coordinate c mod in_dim; each
 * output row (the last dim) is the input row repeated. */
int oc_tile_forward(const oc_kargs *a)
{
    const oc_tensor *x = a->in[0], *rep = a->in[1];
    oc_tensor *y = a->out[0];
    size_t es = esize(x);
    int r = x->rank;
    if (y->rank != r || (rep && rep->numel != r))
        return oc_fail(a->d, "'repeats' must have one entry per input dim (%d)", r);
    for (int d = 0; d < r; d++) {
        int64_t k = rep ? oc_index_get(rep, d) : -1;
        /* out = in * repeats, compared without forming a product that could overflow */
        int bad = x->dims[d] == 0 ? y->dims[d] != 0
                                  : (y->dims[d] % x->dims[d] != 0 || (rep && k != y->dims[d] / x->dims[d]));
        if (bad) {
            char b1[256], b2[256];
            return oc_fail(a->d, "tiling %s by the repeats does not give the planned %s",
                           fmt_dims(b1, sizeof b1, x), fmt_dims(b2, sizeof b2, y));
        }
    }
    if (y->numel == 0)
        return 0;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return 0;
    }
    int64_t n_in = x->dims[r - 1], n_out = y->dims[r - 1];
    int64_t rows = y->numel / n_out;
    int64_t c[OC_MAX_RANK] = {0}, xs[OC_MAX_RANK];
    xs[r - 1] = 1;
    for (int d = r - 2; d >= 0; d--)
        xs[d] = xs[d + 1] * x->dims[d + 1];
    char *o = y->data;
    for (int64_t b = 0; b < rows; b++) {
        int64_t off = 0;
        for (int d = 0; d < r - 1; d++)
            off += (c[d] % x->dims[d]) * xs[d];
        const char *src = (const char *)x->data + (size_t)off * es;
        for (int64_t k = 0; k < n_out; k += n_in) {
            memcpy(o, src, (size_t)n_in * es);
            o += (size_t)n_in * es;
        }
        for (int d = r - 2; d >= 0; d--) {
            if (++c[d] < y->dims[d])
                break;
            c[d] = 0;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Pad */

size_t oc_pad_scratch(const oc_tensor *out)
{
    size_t n = 0;
    for (int d = 0; d < out->rank; d++)
        n += (size_t)out->dims[d];
    return n * sizeof(int64_t);
}

/* Source index for output position o of a dim of n inputs padded by pb at
 * the start, or -1 for the constant. Reflect mirrors without repeating
 * the edge (period 2(n-1)), wrap is periodic with period n, as numpy.pad. */
static int64_t pad_src(int mode, int64_t o, int64_t pb, int64_t n)
{
    int64_t i = o - pb;
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case OC_PAD_EDGE: return i < 0 ? 0 : n - 1;
    case OC_PAD_WRAP: return ((i % n) + n) % n;
    case OC_PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t per = 2 * (n - 1);
        i = ((i % per) + per) % per;
        return i < n ? i : per - i;
    }
    default: return -1;
    }
}

/* Pads per dim (pb at the start, pe at the end) and the constant, from
 * the attributes or the tensors pads / val / axes (NULL when omitted),
 * checked against y's planned shape. Shared by Pad and PadGrad. */
static int pad_resolve(const oc_pad_params *p, const oc_tensor *x, const oc_tensor *y, const oc_tensor *pads,
                       const oc_tensor *val, const oc_tensor *axes, int64_t *pb, int64_t *pe,
                       unsigned char *value, oc_diag *dg)
{
    int r = x->rank;
    size_t es = (size_t)p->es;
    for (int d = 0; d < r; d++)
        pb[d] = pe[d] = 0;
    if (p->from_inputs) {
        int64_t nax = axes ? axes->numel : r;
        if (pads->numel != 2 * nax)
            return oc_fail(dg, "'pads' has %lld entries; expected %lld", (long long)pads->numel,
                           (long long)(2 * nax));
        for (int64_t i = 0; i < nax; i++) {
            int64_t ax = axes ? oc_index_get(axes, i) : i;
            if (ax < -r || ax >= r)
                return oc_fail(dg, "axis %lld is outside [-%d, %d)", (long long)ax, r, r);
            if (ax < 0)
                ax += r;
            pb[ax] = oc_index_get(pads, i);
            pe[ax] = oc_index_get(pads, i + nax);
        }
        if (val && val->numel > 0) {
            if (val->dtype != x->dtype)
                return oc_fail(dg, "constant_value is %s but the data is %s", oc_dtype_name(val->dtype),
                               oc_dtype_name(x->dtype));
            memcpy(value, val->data, es);
        }
    } else {
        if (p->npads != 2 * r)
            return oc_fail(dg, "'pads' has %d entries; expected %d", p->npads, 2 * r);
        for (int d = 0; d < r; d++) {
            pb[d] = p->pads[d];
            pe[d] = p->pads[d + r];
        }
        oc_elem_set_f64(p->dtype, value, 0, p->value);
    }
    for (int d = 0; d < r; d++) {
        const int64_t lim = (int64_t)1 << 40; /* far beyond any tensor, small enough not to overflow */
        if (pb[d] < -lim || pb[d] > lim || pe[d] < -lim || pe[d] > lim)
            return oc_fail(dg, "pads %lld/%lld on dim %d are out of range", (long long)pb[d], (long long)pe[d], d);
        if (x->dims[d] + pb[d] + pe[d] != y->dims[d]) {
            char b1[256], b2[256];
            return oc_fail(dg, "padding %s gives a different shape from the planned %s",
                           fmt_dims(b1, sizeof b1, x), fmt_dims(b2, sizeof b2, y));
        }
        if (x->dims[d] == 0 && y->dims[d] > 0 && p->mode != OC_PAD_CONSTANT)
            return oc_fail(dg, "cannot pad an empty dim %d in this mode", d);
    }
    return 0;
}

int oc_pad_forward(const oc_kargs *a)
{
    const oc_pad_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int r = x->rank;
    int64_t pb[OC_MAX_RANK] = {0}, pe[OC_MAX_RANK] = {0};
    unsigned char value[8] = {0};
    size_t es = (size_t)p->es;
    const oc_tensor *pads = NULL, *val = NULL, *axes = NULL;
    if (p->from_inputs) {
        pads = a->in[1];
        val = a->n_in > 2 ? a->in[2] : NULL;
        axes = a->n_in > 3 ? a->in[3] : NULL;
    }
    if (pad_resolve(p, x, y, pads, val, axes, pb, pe, value, a->d))
        return -1;
    if (y->numel == 0)
        return 0;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return 0;
    }
    /* per-dim maps from output position to input position (or -1) */
    int64_t *map[OC_MAX_RANK], *m = a->scratch;
    for (int d = 0; d < r; d++) {
        map[d] = m;
        for (int64_t o = 0; o < y->dims[d]; o++)
            m[o] = pad_src(p->mode, o, pb[d], x->dims[d]);
        m += y->dims[d];
    }
    int64_t xs[OC_MAX_RANK];
    xs[r - 1] = 1;
    for (int d = r - 2; d >= 0; d--)
        xs[d] = xs[d + 1] * x->dims[d + 1];
    int64_t n_out = y->dims[r - 1], rows = y->numel / n_out;
    int64_t c[OC_MAX_RANK] = {0};
    const int64_t *ml = map[r - 1];
    char *o = y->data;
    const char *xd = x->data;
    for (int64_t b = 0; b < rows; b++) {
        int64_t off = 0, outside = 0;
        for (int d = 0; d < r - 1; d++) {
            int64_t s = map[d][c[d]];
            outside |= s < 0;
            off += s * xs[d];
        }
        /* runs of consecutive source positions (the unpadded middle) are
         * one memcpy; padding elements are written one by one */
        for (int64_t k = 0; k < n_out;) {
            int64_t s = ml[k];
            if (outside || s < 0) {
                memcpy(o + (size_t)k * es, value, es);
                k++;
                continue;
            }
            int64_t e = k + 1;
            while (e < n_out && ml[e] == ml[e - 1] + 1)
                e++;
            memcpy(o + (size_t)k * es, xd + (size_t)(off + s) * es, (size_t)(e - k) * es);
            k = e;
        }
        o += (size_t)n_out * es;
        for (int d = r - 2; d >= 0; d--) {
            if (++c[d] < y->dims[d])
                break;
            c[d] = 0;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Cast */

static void load_f64(int dt, const void *src, int64_t at, int64_t n, double *buf)
{
    switch (dt) {
    case OC_FLOAT: for (int64_t i = 0; i < n; i++) buf[i] = ((const float *)src)[at + i]; break;
    case OC_DOUBLE: memcpy(buf, (const double *)src + at, sizeof(double) * (size_t)n); break;
    default: for (int64_t i = 0; i < n; i++) buf[i] = oc_elem_get_f64(dt, src, at + i); break;
    }
}

static void load_i64(int dt, const void *src, int64_t at, int64_t n, int64_t *buf)
{
    switch (dt) {
    case OC_INT64: case OC_UINT64: memcpy(buf, (const int64_t *)src + at, sizeof(int64_t) * (size_t)n); break;
    case OC_INT32: for (int64_t i = 0; i < n; i++) buf[i] = ((const int32_t *)src)[at + i]; break;
    case OC_UINT32: for (int64_t i = 0; i < n; i++) buf[i] = ((const uint32_t *)src)[at + i]; break;
    case OC_INT16: for (int64_t i = 0; i < n; i++) buf[i] = ((const int16_t *)src)[at + i]; break;
    case OC_UINT16: for (int64_t i = 0; i < n; i++) buf[i] = ((const uint16_t *)src)[at + i]; break;
    case OC_INT8: for (int64_t i = 0; i < n; i++) buf[i] = ((const int8_t *)src)[at + i]; break;
    case OC_UINT8: for (int64_t i = 0; i < n; i++) buf[i] = ((const uint8_t *)src)[at + i]; break;
    case OC_BOOL: for (int64_t i = 0; i < n; i++) buf[i] = ((const uint8_t *)src)[at + i] != 0; break;
    default: for (int64_t i = 0; i < n; i++) buf[i] = oc_elem_get_i64(dt, src, at + i); break;
    }
}

/* Float targets round to nearest even; the float8 types follow Cast's
 * saturate (and float8e8m0 its round_mode), see runtime/dtype.h. */
static void store_f64(int dt, void *dst, int64_t at, int64_t n, const double *buf, const oc_cvt_mode *m)
{
    switch (dt) {
    case OC_FLOAT: for (int64_t i = 0; i < n; i++) ((float *)dst)[at + i] = (float)buf[i]; break;
    case OC_DOUBLE: memcpy((double *)dst + at, buf, sizeof(double) * (size_t)n); break;
    default: for (int64_t i = 0; i < n; i++) oc_elem_set_f64_mode(dt, dst, at + i, buf[i], m); break;
    }
}

/* Integer to integer: C conversions (wrap to the target width), bool is
 * "not zero". */
static void store_i64(int dt, void *dst, int64_t at, int64_t n, const int64_t *buf, int src_unsigned64,
                      const oc_cvt_mode *m)
{
    switch (dt) {
    case OC_INT64: case OC_UINT64: memcpy((int64_t *)dst + at, buf, sizeof(int64_t) * (size_t)n); break;
    case OC_INT32: for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[at + i] = (int32_t)buf[i]; break;
    case OC_UINT32: for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[at + i] = (uint32_t)buf[i]; break;
    case OC_INT16: for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[at + i] = (int16_t)buf[i]; break;
    case OC_UINT16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[at + i] = (uint16_t)buf[i]; break;
    case OC_INT8: for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[at + i] = (int8_t)buf[i]; break;
    case OC_UINT8: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[at + i] = (uint8_t)buf[i]; break;
    case OC_BOOL: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[at + i] = buf[i] != 0; break;
    case OC_INT4: case OC_UINT4: case OC_INT2: case OC_UINT2:
        for (int64_t i = 0; i < n; i++)
            oc_elem_set_i64(dt, dst, at + i, buf[i]);
        break;
    case OC_FLOAT:
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[at + i] = src_unsigned64 ? (float)(uint64_t)buf[i] : (float)buf[i];
        break;
    case OC_DOUBLE:
        for (int64_t i = 0; i < n; i++)
            ((double *)dst)[at + i] = src_unsigned64 ? (double)(uint64_t)buf[i] : (double)buf[i];
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            oc_elem_set_f64_mode(dt, dst, at + i, src_unsigned64 ? (double)(uint64_t)buf[i] : (double)buf[i], m);
        break;
    }
}

#define CAST_CHUNK 256

int oc_cast_forward(const oc_kargs *a)
{
    const oc_cast_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int64_t n = y->numel;
    if (p->from == p->to) {
        if (n)
            memcpy(y->data, x->data, oc_tensor_nbytes(y));
        return 0;
    }
    oc_cvt_mode mode = {p->saturate, p->round_mode};
    if (oc_dtype_is_float(p->from)) {
        double buf[CAST_CHUNK];
        for (int64_t at = 0; at < n; at += CAST_CHUNK) {
            int64_t m = n - at < CAST_CHUNK ? n - at : CAST_CHUNK;
            load_f64(p->from, x->data, at, m, buf);
            store_f64(p->to, y->data, at, m, buf, &mode);
        }
    } else {
        int64_t buf[CAST_CHUNK];
        for (int64_t at = 0; at < n; at += CAST_CHUNK) {
            int64_t m = n - at < CAST_CHUNK ? n - at : CAST_CHUNK;
            load_i64(p->from, x->data, at, m, buf);
            store_i64(p->to, y->data, at, m, buf, p->from == OC_UINT64, &mode);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Dropout */

/* splitmix64 (Steele, Lea, Flood 2014): a bijective 64-bit mixer; applied
 * to seed + (i + 1) * golden it is a counter-based generator, so element i
 * needs no state and the mask does not depend on the loop order. */
static uint64_t splitmix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Dropout's ratio: input 1, else the attribute (opset < 12), else 0.5. */
static double dropout_ratio(const oc_dropout_params *p, const oc_tensor *r)
{
    return r && r->numel > 0 ? oc_elem_get_f64(r->dtype, r->data, 0) : (p->ratio >= 0 ? p->ratio : 0.5);
}

static int dropout_training(const oc_dropout_params *p, const oc_tensor *tm)
{
    return p->training || (tm && tm->numel > 0 && oc_elem_get_f64(tm->dtype, tm->data, 0) != 0);
}

int oc_dropout_forward(const oc_kargs *a)
{
    const oc_dropout_params *p = a->p;
    const oc_tensor *x = a->in[0];
    const oc_tensor *r = a->n_in > 1 ? a->in[1] : NULL, *tm = a->n_in > 2 ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    unsigned char *mask = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    double ratio = dropout_ratio(p, r);
    if (!dropout_training(p, tm) || ratio == 0) {
        if (oc_tensor_nbytes(y) && y->data != x->data)
            memcpy(y->data, x->data, oc_tensor_nbytes(y));
        if (mask && a->out[1]->numel)
            memset(mask, 1, (size_t)a->out[1]->numel); /* bool true */
        return 0;
    }
    if (!(ratio >= 0 && ratio <= 1))
        return oc_fail(a->d, "Dropout ratio %g is outside [0, 1]", ratio);
    double scale = ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0;
    for (int64_t i = 0; i < y->numel; i++) {
        /* u in [0, 1) from the top 53 bits */
        double u = (double)(splitmix64(p->seed + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1p-53;
        int keep = u >= ratio;
        if (mask)
            mask[i] = (unsigned char)keep;
        if (x->dtype == OC_FLOAT)
            ((float *)y->data)[i] = keep ? (float)(((const float *)x->data)[i] * scale) : 0.0f;
        else
            oc_elem_set_f64(x->dtype, y->data, i, keep ? oc_elem_get_f64(x->dtype, x->data, i) * scale : 0.0);
    }
    return 0;
}

/* ---------------------------------------------------------------- generators */

int oc_constant_of_shape_forward(const oc_kargs *a)
{
    const oc_fill_params *p = a->p;
    const oc_tensor *s = a->in[0];
    oc_tensor *y = a->out[0];
    int bad = s->numel != y->rank;
    for (int i = 0; !bad && i < y->rank; i++)
        bad = oc_index_get(s, i) != y->dims[i];
    if (bad) {
        char b[256];
        return oc_fail(a->d, "the shape input does not match the planned output %s", fmt_dims(b, sizeof b, y));
    }
    size_t es = (size_t)p->es;
    char *o = y->data;
    for (int64_t i = 0; i < y->numel; i++)
        memcpy(o + (size_t)i * es, p->value, es);
    return 0;
}

int oc_range_forward(const oc_kargs *a)
{
    const oc_tensor *ts = a->in[0], *tl = a->in[1], *td = a->in[2];
    oc_tensor *y = a->out[0];
    int dt = y->dtype;
    if (oc_dtype_is_float(dt)) {
        double s = oc_elem_get_f64(ts->dtype, ts->data, 0), l = oc_elem_get_f64(tl->dtype, tl->data, 0);
        double d = oc_elem_get_f64(td->dtype, td->data, 0);
        double cnt = d != 0 ? ceil((l - s) / d) : -1;
        if (d == 0 || (cnt > 0 ? cnt : 0) != (double)y->numel)
            return oc_fail(a->d, "range(%g, %g, %g) does not have the planned %lld elements", s, l, d,
                           (long long)y->numel);
        for (int64_t i = 0; i < y->numel; i++)
            oc_elem_set_f64(dt, y->data, i, s + (double)i * d);
        return 0;
    }
    int64_t s = oc_index_get(ts, 0), l = oc_index_get(tl, 0), d = oc_index_get(td, 0);
    /* ceil((l - s) / d) in unsigned arithmetic: the difference of two
     * int64 values always fits in uint64 */
    uint64_t ad = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
    int64_t cnt = -1;
    if (d > 0)
        cnt = l > s ? (int64_t)(((uint64_t)l - (uint64_t)s - 1) / ad + 1) : 0;
    else if (d < 0)
        cnt = l < s ? (int64_t)(((uint64_t)s - (uint64_t)l - 1) / ad + 1) : 0;
    if (cnt != y->numel)
        return oc_fail(a->d, "range(%lld, %lld, %lld) does not have the planned %lld elements", (long long)s,
                       (long long)l, (long long)d, (long long)y->numel);
    for (int64_t i = 0; i < y->numel; i++) {
        int64_t v = (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d); /* in range by the count */
        if (dt == OC_INT64)
            ((int64_t *)y->data)[i] = v; /* exact beyond 2^53 */
        else
            oc_elem_set_f64(dt, y->data, i, (double)v);
    }
    return 0;
}

int oc_shape_forward(const oc_kargs *a)
{
    const oc_shape_params *p = a->p;
    const oc_tensor *x = a->in[0];
    int64_t *o = a->out[0]->data;
    for (int64_t i = p->start; i < p->end && i < x->rank; i++)
        o[i - p->start] = x->dims[i];
    return 0;
}

int oc_size_forward(const oc_kargs *a)
{
    *(int64_t *)a->out[0]->data = a->in[0]->numel;
    return 0;
}

int oc_constant_forward(const oc_kargs *a)
{
    const oc_const_params *p = a->p;
    if (p->nbytes != oc_tensor_nbytes(a->out[0]))
        return oc_fail(a->d, "constant has %zu bytes, the output %zu", p->nbytes, oc_tensor_nbytes(a->out[0]));
    if (p->nbytes)
        memcpy(a->out[0]->data, p->data, p->nbytes);
    return 0;
}

/* ---------------------------------------------------------------- backward
 * Gradient kernels of Slice, Pad, Gather, Tile and Dropout (the math of
 * each is in shape_ops.h). Gradients are float32 or float64, row-major,
 * with dX shaped like the forward's input. */

/* dst[i] += src[j] for a float32 or float64 gradient */
static inline void grad_acc(int dtype, void *dst, int64_t i, const void *src, int64_t j)
{
    if (dtype == OC_FLOAT)
        ((float *)dst)[i] += ((const float *)src)[j];
    else
        ((double *)dst)[i] += ((const double *)src)[j];
}

static int grad_dtype_ok(const oc_kargs *a)
{
    int t = a->out[0]->dtype;
    if ((t != OC_FLOAT && t != OC_DOUBLE) || a->in[0]->dtype != t)
        return oc_fail(a->d, "gradients must be float32 or float64, got %s", oc_dtype_name(a->in[0]->dtype));
    return 0;
}

int oc_slice_backward(const oc_kargs *a)
{
    const oc_slice_params *p = a->p;
    const oc_tensor *dy = a->in[0];
    oc_tensor *dx = a->out[0];
    const oc_tensor *b[4] = {NULL, NULL, NULL, NULL};
    for (int k = 0; p->from_inputs && k < 4; k++)
        b[k] = a->n_in > k + 2 ? a->in[k + 2] : NULL;
    oc_view_params v;
    if (slice_view(p, dx, dy, b, &v, a->d))
        return -1;
    size_t es = (size_t)p->es;
    if (oc_tensor_nbytes(dx))
        memset(dx->data, 0, oc_tensor_nbytes(dx));
    /* walk dY in row-major order; v maps each position to its source in X */
    int64_t c[OC_MAX_RANK] = {0}, off = v.offset;
    const char *src = dy->data;
    char *dst = dx->data;
    for (int64_t i = 0; i < dy->numel; i++) {
        memcpy(dst + (size_t)off * es, src + (size_t)i * es, es);
        for (int d = v.rank - 1; d >= 0; d--) {
            off += v.strides[d];
            if (++c[d] < v.dims[d])
                break;
            off -= v.strides[d] * v.dims[d];
            c[d] = 0;
        }
    }
    return 0;
}

int oc_pad_backward(const oc_kargs *a)
{
    const oc_pad_params *p = a->p;
    const oc_tensor *dy = a->in[0];
    oc_tensor *dx = a->out[0];
    int r = dx->rank, dt = dx->dtype;
    int64_t pb[OC_MAX_RANK], pe[OC_MAX_RANK];
    unsigned char value[8] = {0};
    if (grad_dtype_ok(a))
        return -1;
    const oc_tensor *pads = p->from_inputs ? a->in[2] : NULL, *axes = p->from_inputs && a->n_in > 4 ? a->in[4] : NULL;
    if (pad_resolve(p, dx, dy, pads, NULL, axes, pb, pe, value, a->d))
        return -1;
    if (oc_tensor_nbytes(dx))
        memset(dx->data, 0, oc_tensor_nbytes(dx));
    if (dy->numel == 0)
        return 0;
    if (r == 0) {
        grad_acc(dt, dx->data, 0, dy->data, 0);
        return 0;
    }
    /* the forward's per-dim maps from output position to source (or -1) */
    int64_t *map[OC_MAX_RANK], *m = a->scratch;
    for (int d = 0; d < r; d++) {
        map[d] = m;
        for (int64_t o = 0; o < dy->dims[d]; o++)
            m[o] = pad_src(p->mode, o, pb[d], dx->dims[d]);
        m += dy->dims[d];
    }
    int64_t xs[OC_MAX_RANK];
    xs[r - 1] = 1;
    for (int d = r - 2; d >= 0; d--)
        xs[d] = xs[d + 1] * dx->dims[d + 1];
    int64_t n_out = dy->dims[r - 1], rows = dy->numel / n_out, c[OC_MAX_RANK] = {0};
    const int64_t *ml = map[r - 1];
    for (int64_t b = 0; b < rows; b++) {
        int64_t off = 0, outside = 0;
        for (int d = 0; d < r - 1; d++) {
            int64_t s = map[d][c[d]];
            outside |= s < 0;
            off += s * xs[d];
        }
        for (int64_t k = 0; !outside && k < n_out; k++)
            if (ml[k] >= 0)
                grad_acc(dt, dx->data, off + ml[k], dy->data, b * n_out + k);
        for (int d = r - 2; d >= 0; d--) {
            if (++c[d] < dy->dims[d])
                break;
            c[d] = 0;
        }
    }
    return 0;
}

int oc_gather_backward(const oc_kargs *a)
{
    const oc_axis_params *p = a->p;
    const oc_tensor *dy = a->in[0], *idx = a->in[2];
    oc_tensor *dx = a->out[0];
    int dt = dx->dtype;
    if (grad_dtype_ok(a))
        return -1;
    int64_t outer = prod(dx->dims, 0, p->axis), inner = prod(dx->dims, p->axis + 1, dx->rank);
    int64_t len = dx->dims[p->axis], ni = idx->numel;
    if (dy->numel != outer * ni * inner)
        return oc_fail(a->d, "dY has %lld elements; expected %lld", (long long)dy->numel, (long long)(outer * ni * inner));
    for (int64_t j = 0; j < ni; j++) {
        int64_t i = oc_index_get(idx, j);
        if (i < -len || i >= len)
            return oc_fail(a->d, "index %lld is out of range for axis %d of length %lld", (long long)i, p->axis,
                           (long long)len);
    }
    if (oc_tensor_nbytes(dx))
        memset(dx->data, 0, oc_tensor_nbytes(dx));
    for (int64_t b = 0; b < outer; b++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t i = oc_index_get(idx, j);
            if (i < 0)
                i += len;
            int64_t to = (b * len + i) * inner, from = (b * ni + j) * inner;
            for (int64_t k = 0; k < inner; k++)
                grad_acc(dt, dx->data, to + k, dy->data, from + k);
        }
    return 0;
}

int oc_tile_backward(const oc_kargs *a)
{
    const oc_tensor *dy = a->in[0];
    oc_tensor *dx = a->out[0];
    int r = dx->rank, dt = dx->dtype;
    if (grad_dtype_ok(a))
        return -1;
    if (dy->rank != r)
        return oc_fail(a->d, "dY has rank %d; expected %d", dy->rank, r);
    for (int d = 0; d < r; d++)
        if (dx->dims[d] == 0 ? dy->dims[d] != 0 : dy->dims[d] % dx->dims[d] != 0)
            return oc_fail(a->d, "dY dim %d (%lld) is not a multiple of %lld", d, (long long)dy->dims[d],
                           (long long)dx->dims[d]);
    if (oc_tensor_nbytes(dx))
        memset(dx->data, 0, oc_tensor_nbytes(dx));
    if (dy->numel == 0)
        return 0;
    if (r == 0) {
        grad_acc(dt, dx->data, 0, dy->data, 0);
        return 0;
    }
    int64_t n_in = dx->dims[r - 1], n_out = dy->dims[r - 1], rows = dy->numel / n_out;
    int64_t c[OC_MAX_RANK] = {0}, xs[OC_MAX_RANK];
    xs[r - 1] = 1;
    for (int d = r - 2; d >= 0; d--)
        xs[d] = xs[d + 1] * dx->dims[d + 1];
    for (int64_t b = 0; b < rows; b++) {
        int64_t off = 0;
        for (int d = 0; d < r - 1; d++)
            off += (c[d] % dx->dims[d]) * xs[d];
        for (int64_t k = 0; k < n_out; k++)
            grad_acc(dt, dx->data, off + k % n_in, dy->data, b * n_out + k);
        for (int d = r - 2; d >= 0; d--) {
            if (++c[d] < dy->dims[d])
                break;
            c[d] = 0;
        }
    }
    return 0;
}

int oc_dropout_backward(const oc_kargs *a)
{
    const oc_dropout_params *p = a->p;
    const oc_tensor *dy = a->in[0], *mask = a->in[1];
    const oc_tensor *r = a->n_in > 2 ? a->in[2] : NULL, *tm = a->n_in > 3 ? a->in[3] : NULL;
    oc_tensor *dx = a->out[0];
    if (grad_dtype_ok(a))
        return -1;
    double ratio = dropout_ratio(p, r);
    if (!dropout_training(p, tm) || ratio == 0) {
        if (oc_tensor_nbytes(dx) && dx->data != dy->data)
            memcpy(dx->data, dy->data, oc_tensor_nbytes(dx));
        return 0;
    }
    if (!mask || mask->numel != dx->numel)
        return oc_fail(a->d, "the mask has %lld elements; expected %lld", mask ? (long long)mask->numel : 0LL,
                       (long long)dx->numel);
    double scale = ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0;
    const unsigned char *m = mask->data;
    for (int64_t i = 0; i < dx->numel; i++) {
        if (dx->dtype == OC_FLOAT)
            ((float *)dx->data)[i] = m[i] ? (float)(((const float *)dy->data)[i] * scale) : 0.0f;
        else
            ((double *)dx->data)[i] = m[i] ? ((const double *)dy->data)[i] * scale : 0.0;
    }
    return 0;
}
