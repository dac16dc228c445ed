/* reduce.c: see reduce.h.
 *
 * Softmax subtracts the maximum before exponentiating (softmax(x) =
 * exp(x - m) / sum exp(x - m), m = max x) and sums in double, so large
 * logits neither overflow nor lose the small terms.
 *
 * Reduce* walks X once in memory order. Dims are first coalesced (size-1
 * dims dropped, neighbours that are both reduced or both kept merged);
 * each run of the innermost coalesced dim then either folds into one
 * accumulator (reduced) or updates a row of accumulators (kept). The
 * accumulators live in scratch: double for floating and small integer
 * types, int64 for int64/uint64 so large integers stay exact. A final
 * pass turns them into outputs (mean = sum / count, L2 = sqrt, ...). */
#include "reduce.h"

#include <math.h>
#include <string.h>

#include "../threads.h"
#include "vmath.h"

/* ---- Softmax, LogSoftmax, Hardmax ---- */

#define SOFTMAX(name, T, EXP)                                                                               \
    static void name(const oc_softmax_params *p, const T *x, T *y, int64_t o0, int64_t o1)                  \
    {                                                                                                       \
        int64_t n = p->n, in = p->inner;                                                                    \
        for (int64_t o = o0; o < o1; o++) {                                                                 \
            for (int64_t j = 0; j < in; j++) {                                                              \
                const T *xs = x + o * n * in + j;                                                           \
                T *ys = y + o * n * in + j;                                                                 \
                if (n == 0)                                                                                 \
                    continue;                                                                               \
                T m = xs[0];                                                                                \
                int64_t am = 0;                                                                             \
                for (int64_t i = 1; i < n; i++)                                                             \
                    if (xs[i * in] > m) {                                                                   \
                        m = xs[i * in];                                                                     \
                        am = i;                                                                             \
                    }                                                                                       \
                if (p->kind == OC_HARDMAX) {                                                                \
                    for (int64_t i = 0; i < n; i++)                                                         \
                        ys[i * in] = (T)(i == am);                                                          \
                    continue;                                                                               \
                }                                                                                           \
                double sum = 0;                                                                             \
                if (p->kind == OC_SOFTMAX) {                                                                \
                    for (int64_t i = 0; i < n; i++) {                                                       \
                        T e = EXP(xs[i * in] - m);                                                          \
                        ys[i * in] = e;                                                                     \
                        sum += e;                                                                           \
                    }                                                                                       \
                    T inv = (T)(1.0 / sum);                                                                 \
                    for (int64_t i = 0; i < n; i++)                                                         \
                        ys[i * in] *= inv;                                                                  \
                } else {                                                                                    \
                    for (int64_t i = 0; i < n; i++)                                                         \
                        sum += EXP(xs[i * in] - m);                                                         \
                    T lse = (T)log(sum);                                                                    \
                    for (int64_t i = 0; i < n; i++)                                                         \
                        ys[i * in] = xs[i * in] - m - lse;                                                  \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

SOFTMAX(softmax_f32, float, expf)
SOFTMAX(softmax_f64, double, exp)

int oc_softmax_ref(const oc_kargs *a)
{
    const oc_softmax_params *p = a->p;
    switch (p->dtype) {
    case OC_FLOAT: softmax_f32(p, a->in[0]->data, a->out[0]->data, 0, p->outer); return 0;
    case OC_DOUBLE: softmax_f64(p, a->in[0]->data, a->out[0]->data, 0, p->outer); return 0;
    default: return oc_fail(a->d, "softmax: element type %s is not supported", oc_dtype_name(p->dtype));
    }
}

/* float32 Softmax / LogSoftmax of one contiguous row (inner = 1) with the
 * vectorized exp: max in 16 lanes, exponentials stored (Softmax) and
 * summed in 16 double lanes, then one scale (or x - m - log sum). */
#define SM_LANES 16
OC_VEC_CLONES static void softmax_row_f32(int kind, const float *x, float *y, int64_t n)
{
    float mx[SM_LANES];
    for (int j = 0; j < SM_LANES; j++)
        mx[j] = x[0];
    int64_t i = 0;
    for (; i + SM_LANES <= n; i += SM_LANES)
        for (int j = 0; j < SM_LANES; j++)
            mx[j] = x[i + j] > mx[j] ? x[i + j] : mx[j];
    float m = mx[0];
    for (int j = 1; j < SM_LANES; j++)
        m = mx[j] > m ? mx[j] : m;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    double acc[SM_LANES] = {0};
    i = 0;
    if (kind == OC_SOFTMAX) {
        for (; i + SM_LANES <= n; i += SM_LANES)
            for (int j = 0; j < SM_LANES; j++) {
                float e = oc_vexpf(x[i + j] - m);
                y[i + j] = e;
                acc[j] += e;
            }
    } else {
        for (; i + SM_LANES <= n; i += SM_LANES)
            for (int j = 0; j < SM_LANES; j++)
                acc[j] += oc_vexpf(x[i + j] - m);
    }
    double sum = 0;
    for (int j = 0; j < SM_LANES; j++)
        sum += acc[j];
    for (; i < n; i++) {
        float e = oc_vexpf(x[i] - m);
        if (kind == OC_SOFTMAX)
            y[i] = e;
        sum += e;
    }
    if (kind == OC_SOFTMAX) {
        float inv = (float)(1.0 / sum);
        for (i = 0; i < n; i++)
            y[i] *= inv;
    } else {
        float lse = (float)log(sum);
        for (i = 0; i < n; i++)
            y[i] = x[i] - m - lse;
    }
}

typedef struct softmax_job {
    const oc_softmax_params *p;
    const void *x;
    void *y;
} softmax_job;

static void softmax_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const softmax_job *j = ctx;
    const oc_softmax_params *p = j->p;
    (void)tid;
    if (p->dtype == OC_DOUBLE) {
        softmax_f64(p, j->x, j->y, b, e);
    } else if (p->inner == 1 && p->n > 0 && p->kind != OC_HARDMAX) {
        for (int64_t o = b; o < e; o++)
            softmax_row_f32(p->kind, (const float *)j->x + o * p->n, (float *)j->y + o * p->n, p->n);
    } else {
        softmax_f32(p, j->x, j->y, b, e);
    }
}

/* Threaded over the outer index; contiguous float32 rows use the
 * vectorized row above, strided ones (inner > 1) the reference loop. */
int oc_softmax_forward(const oc_kargs *a)
{
    const oc_softmax_params *p = a->p;
    if (p->dtype != OC_FLOAT && p->dtype != OC_DOUBLE)
        return oc_fail(a->d, "softmax: element type %s is not supported", oc_dtype_name(p->dtype));
    softmax_job j = {p, a->in[0]->data, a->out[0]->data};
    int64_t row = p->n * p->inner, grain = 65536 / (row > 0 ? row : 1);
    oc_parallel_for(p->outer, grain > 0 ? grain : 1, a->threads, softmax_task, &j);
    return 0;
}

/* ---- element access for the generic paths ---- */

static double load_f64(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case OC_FLOAT: return ((const float *)p)[i];
    case OC_DOUBLE: return ((const double *)p)[i];
    case OC_INT64: return (double)((const int64_t *)p)[i];
    case OC_UINT64: return (double)((const uint64_t *)p)[i];
    case OC_INT32: return ((const int32_t *)p)[i];
    case OC_UINT32: return ((const uint32_t *)p)[i];
    case OC_INT16: return ((const int16_t *)p)[i];
    case OC_UINT16: return ((const uint16_t *)p)[i];
    case OC_INT8: return ((const int8_t *)p)[i];
    case OC_UINT8: case OC_BOOL: return ((const uint8_t *)p)[i];
    default: return 0;
    }
}

static void store_f64(void *p, int dt, int64_t i, double v)
{
    switch (dt) {
    case OC_FLOAT: ((float *)p)[i] = (float)v; break;
    case OC_DOUBLE: ((double *)p)[i] = v; break;
    case OC_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case OC_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case OC_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case OC_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case OC_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case OC_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case OC_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: break;
    }
}

static int is_wide_int(int dt) { return dt == OC_INT64 || dt == OC_UINT64; }

/* ---- Reduce* ---- */

/* Coalesced view of X: nd dims (row-major), each reduced or kept, and the
 * output stride of each (0 when reduced). */
typedef struct rview {
    int nd;
    int64_t ext[OC_MAX_RANK];
    int64_t ostr[OC_MAX_RANK];
    int red[OC_MAX_RANK];
} rview;

static void make_view(const oc_reduce_params *p, unsigned mask, rview *v)
{
    v->nd = 0;
    for (int i = 0; i < p->rank; i++) {
        int r = (mask >> i) & 1;
        if (p->dims[i] == 1)
            continue;
        if (v->nd > 0 && v->red[v->nd - 1] == r) {
            v->ext[v->nd - 1] *= p->dims[i];
        } else {
            v->ext[v->nd] = p->dims[i];
            v->red[v->nd] = r;
            v->nd++;
        }
    }
    if (v->nd == 0) { /* a single element */
        v->ext[0] = 1;
        v->red[0] = 0;
        v->nd = 1;
    }
    int64_t s = 1;
    for (int d = v->nd - 1; d >= 0; d--) {
        v->ostr[d] = v->red[d] ? 0 : s;
        if (!v->red[d])
            s *= v->ext[d];
    }
}

/* Initial accumulator of each op (the value of an empty reduction before
 * finishing: sum 0, product 1, max -inf, min +inf). */
static double init_f(int op)
{
    switch (op) {
    case OC_RED_PROD: return 1;
    case OC_RED_MAX: case OC_RED_LOG_SUM_EXP: return -INFINITY;
    case OC_RED_MIN: return INFINITY;
    default: return 0;
    }
}

/* Folds one innermost run of `len` elements of X starting at element xi
 * into accumulators acc[oi...] (ostr 0: all into acc[oi]). mx holds the
 * per-output maxima for the second LogSumExp pass. */
static void run_f(int op, int dt, const void *x, int64_t xi, int64_t len, double *acc, const double *mx,
                  int64_t oi, int64_t ostr)
{
    if (dt == OC_FLOAT && ostr == 0 && (op == OC_RED_SUM || op == OC_RED_MEAN || op == OC_RED_LOG_SUM)) {
        const float *xs = (const float *)x + xi; /* the common case, kept tight */
        double s = 0;
        for (int64_t i = 0; i < len; i++)
            s += xs[i];
        acc[oi] += s;
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        double v = load_f64(x, dt, xi + i);
        double *a = &acc[oi + i * ostr];
        switch (op) {
        case OC_RED_SUM: case OC_RED_MEAN: case OC_RED_LOG_SUM: *a += v; break;
        case OC_RED_SUM_SQUARE: case OC_RED_L2: *a += v * v; break;
        case OC_RED_L1: *a += fabs(v); break;
        case OC_RED_PROD: *a *= v; break;
        case OC_RED_MAX: if (v > *a || v != v) *a = v; break;
        case OC_RED_MIN: if (v < *a || v != v) *a = v; break;
        case OC_RED_LOG_SUM_EXP: {
            double m = mx[oi + i * ostr];
            *a += isinf(m) && m < 0 ? 0 : exp(v - m);
            break;
        }
        default: break;
        }
    }
}

/* The same over int64 accumulators, for int64/uint64 data (wrapping
 * arithmetic as numpy's). */
static void run_i(int op, int dt, const void *x, int64_t xi, int64_t len, int64_t *acc, int64_t oi, int64_t ostr)
{
    const int64_t *xs = (const int64_t *)x + xi;
    int uns = dt == OC_UINT64;
    for (int64_t i = 0; i < len; i++) {
        int64_t v = xs[i];
        int64_t *a = &acc[oi + i * ostr];
        switch (op) {
        case OC_RED_SUM: case OC_RED_MEAN: *a = (int64_t)((uint64_t)*a + (uint64_t)v); break;
        case OC_RED_SUM_SQUARE: *a = (int64_t)((uint64_t)*a + (uint64_t)v * (uint64_t)v); break;
        case OC_RED_L1: *a = (int64_t)((uint64_t)*a + (uint64_t)(v < 0 && !uns ? -(uint64_t)v : (uint64_t)v)); break;
        case OC_RED_PROD: *a = (int64_t)((uint64_t)*a * (uint64_t)v); break;
        case OC_RED_MAX: if (uns ? (uint64_t)v > (uint64_t)*a : v > *a) *a = v; break;
        case OC_RED_MIN: if (uns ? (uint64_t)v < (uint64_t)*a : v < *a) *a = v; break;
        default: break;
        }
    }
}

/* Walks X in memory order, calling the run folder for each innermost run. */
static void walk(const rview *v, int op, int dt, const void *x, double *accf, const double *mx, int64_t *acci)
{
    int nd = v->nd;
    int64_t len = v->ext[nd - 1], ostr = v->ostr[nd - 1];
    int64_t idx[OC_MAX_RANK] = {0};
    int64_t oi = 0, xi = 0;
    int64_t runs = 1;
    for (int d = 0; d < nd - 1; d++)
        runs *= v->ext[d];
    for (int64_t r = 0; r < runs; r++, xi += len) {
        if (acci)
            run_i(op, dt, x, xi, len, acci, oi, ostr);
        else
            run_f(op, dt, x, xi, len, accf, mx, oi, ostr);
        for (int d = nd - 2; d >= 0; d--) { /* odometer over the outer dims */
            idx[d]++;
            oi += v->ostr[d];
            if (idx[d] < v->ext[d])
                break;
            oi -= v->ostr[d] * idx[d];
            idx[d] = 0;
        }
    }
}

/* Reduction mask from the run-time axes input; -1 (with a diagnostic)
 * on a bad axis. *empty is set when the list is empty. */
static int runtime_mask(const oc_kargs *a, const oc_reduce_params *p, unsigned *mask, int *empty)
{
    const oc_tensor *ax = a->n_in > 1 ? a->in[1] : NULL;
    *mask = 0;
    *empty = !ax || ax->numel == 0;
    if (*empty)
        return 0;
    if (ax->dtype != OC_INT64 && ax->dtype != OC_INT32)
        return oc_fail(a->d, "reduce: axes must be int64, got %s", oc_dtype_name(ax->dtype));
    for (int64_t i = 0; i < ax->numel; i++) {
        int64_t v = ax->dtype == OC_INT64 ? ((const int64_t *)ax->data)[i] : ((const int32_t *)ax->data)[i];
        if (v < -p->rank || v >= p->rank)
            return oc_fail(a->d, "reduce: axis %lld is outside [-%d, %d)", (long long)v, p->rank, p->rank);
        *mask |= 1u << (v < 0 ? v + p->rank : v);
    }
    return 0;
}

int oc_reduce_forward(const oc_kargs *a)
{
    const oc_reduce_params *p = a->p;
    const oc_tensor *xt = a->in[0];
    oc_tensor *yt = a->out[0];
    unsigned mask = p->mask;
    int empty = 0;
    if (!p->axes_known && runtime_mask(a, p, &mask, &empty))
        return -1;
    if (empty) {
        if (p->noop_with_empty_axes) {
            if (yt->numel != xt->numel)
                return oc_fail(a->d, "reduce: empty axes keep X's %lld elements, but the output holds %lld",
                               (long long)xt->numel, (long long)yt->numel);
            memcpy(yt->data, xt->data, (size_t)xt->numel * oc_dtype_size(xt->dtype));
            return 0;
        }
        mask = (1u << p->rank) - 1;
    }
    int64_t on = 1;
    for (int i = 0; i < p->rank; i++)
        if (!((mask >> i) & 1))
            on *= p->dims[i];
    if (on != yt->numel)
        return oc_fail(a->d, "reduce: the axes give %lld output elements, but the output holds %lld",
                       (long long)on, (long long)yt->numel);
    if (on == 0)
        return 0;
    int64_t count = xt->numel / on; /* elements folded into each output */
    int wide = is_wide_int(p->dtype) && p->op != OC_RED_L2 && p->op != OC_RED_LOG_SUM &&
               p->op != OC_RED_LOG_SUM_EXP;
    double *accf = a->scratch, *mx = accf + on;
    int64_t *acci = a->scratch;
    rview v;
    make_view(p, mask, &v);
    if (wide) {
        /* identities: max starts at the type's minimum, min at its maximum */
        int uns = p->dtype == OC_UINT64;
        int64_t init = p->op == OC_RED_PROD ? 1
                       : p->op == OC_RED_MAX ? (uns ? 0 : INT64_MIN)
                       : p->op == OC_RED_MIN ? (uns ? -1 /* UINT64_MAX */ : INT64_MAX)
                                             : 0;
        for (int64_t i = 0; i < on; i++)
            acci[i] = init;
        if (count > 0)
            walk(&v, p->op, p->dtype, xt->data, NULL, NULL, acci);
        for (int64_t i = 0; i < on; i++) {
            int64_t r = acci[i];
            if (p->op == OC_RED_MEAN)
                r = count ? (p->dtype == OC_UINT64 ? (int64_t)((uint64_t)r / (uint64_t)count) : r / count) : 0;
            ((int64_t *)yt->data)[i] = r;
        }
        return 0;
    }
    if (p->op == OC_RED_LOG_SUM_EXP) {
        /* pass 1: per-output maximum, so exp never overflows */
        for (int64_t i = 0; i < on; i++)
            mx[i] = -INFINITY;
        if (count > 0)
            walk(&v, OC_RED_MAX, p->dtype, xt->data, mx, NULL, NULL);
    }
    double init = init_f(p->op);
    if (p->op == OC_RED_LOG_SUM_EXP)
        init = 0;
    for (int64_t i = 0; i < on; i++)
        accf[i] = init;
    if (count > 0)
        walk(&v, p->op, p->dtype, xt->data, accf, mx, NULL);
    for (int64_t i = 0; i < on; i++) {
        double r = accf[i];
        switch (p->op) {
        case OC_RED_MEAN: r = r / (double)count; break;
        case OC_RED_L2: r = sqrt(r); break;
        case OC_RED_LOG_SUM: r = log(r); break;
        case OC_RED_LOG_SUM_EXP: r = isinf(mx[i]) && mx[i] < 0 ? mx[i] : mx[i] + log(r); break;
        default: break;
        }
        store_f64(yt->data, p->dtype, i, r);
    }
    return 0;
}

/* ---- ArgMax / ArgMin ---- */

#define ARG_REDUCE(name, T)                                                                                 \
    static void name(const oc_arg_params *p, const T *x, int64_t *y)                                        \
    {                                                                                                       \
        int64_t n = p->n, in = p->inner;                                                                    \
        for (int64_t o = 0; o < p->outer; o++)                                                              \
            for (int64_t j = 0; j < in; j++) {                                                              \
                const T *xs = x + o * n * in + j;                                                           \
                T best = xs[0];                                                                             \
                int64_t bi = 0;                                                                             \
                for (int64_t i = 1; i < n; i++) {                                                           \
                    T v = xs[i * in];                                                                       \
                    int better = p->is_min ? (p->select_last ? v <= best : v < best)                        \
                                           : (p->select_last ? v >= best : v > best);                       \
                    if (better) {                                                                           \
                        best = v;                                                                           \
                        bi = i;                                                                             \
                    }                                                                                       \
                }                                                                                           \
                y[o * in + j] = bi;                                                                         \
            }                                                                                               \
    }

ARG_REDUCE(arg_f32, float)
ARG_REDUCE(arg_f64, double)
ARG_REDUCE(arg_i64, int64_t)
ARG_REDUCE(arg_i32, int32_t)
ARG_REDUCE(arg_u8, uint8_t)
ARG_REDUCE(arg_i8, int8_t)

int oc_arg_forward(const oc_kargs *a)
{
    const oc_arg_params *p = a->p;
    int64_t *y = a->out[0]->data;
    const void *x = a->in[0]->data;
    if (p->n == 0)
        return oc_fail(a->d, "%s over an empty axis", p->is_min ? "ArgMin" : "ArgMax");
    switch (p->dtype) {
    case OC_FLOAT: arg_f32(p, x, y); return 0;
    case OC_DOUBLE: arg_f64(p, x, y); return 0;
    case OC_INT64: arg_i64(p, x, y); return 0;
    case OC_INT32: arg_i32(p, x, y); return 0;
    case OC_UINT8: case OC_BOOL: arg_u8(p, x, y); return 0;
    case OC_INT8: arg_i8(p, x, y); return 0;
    default: return oc_fail(a->d, "arg reduce: element type %s is not supported", oc_dtype_name(p->dtype));
    }
}

/* ---- backward ---- */

/* SoftmaxGrad(dY, Y) -> dX over the same [outer, n, inner] view, float32:
 *   Softmax:    dX_i = y_i (dy_i - sum_j dy_j y_j)
 *   LogSoftmax: dX_i = dy_i - exp(y_i) sum_j dy_j   (exp(y) is the softmax)
 * The sums run in double. */
int oc_softmax_backward(const oc_kargs *a)
{
    const oc_softmax_params *p = a->p;
    const float *dy = a->in[0]->data, *y = a->in[1]->data;
    float *dx = a->out[0]->data;
    int64_t n = p->n, in = p->inner;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t j = 0; j < in; j++) {
            int64_t base = o * n * in + j;
            double s = 0;
            if (p->kind == OC_SOFTMAX) {
                for (int64_t i = 0; i < n; i++)
                    s += (double)dy[base + i * in] * y[base + i * in];
                for (int64_t i = 0; i < n; i++)
                    dx[base + i * in] = (float)(y[base + i * in] * (dy[base + i * in] - s));
            } else {
                for (int64_t i = 0; i < n; i++)
                    s += dy[base + i * in];
                for (int64_t i = 0; i < n; i++)
                    dx[base + i * in] = (float)(dy[base + i * in] - exp((double)y[base + i * in]) * s);
            }
        }
    return 0;
}

/* ReduceGrad(dY, X) -> dX[i] = scale * dY[j(i)], X's shape, float32: the
 * reduced dims broadcast dY back (p->strides are dY's element strides over
 * X's dims, 0 on reduced dims; keepdims does not change dY's layout).
 * scale = 1 for ReduceSum, 1 / (elements per output) for ReduceMean. */
int oc_reduce_backward(const oc_kargs *a)
{
    const oc_reduce_grad_params *p = a->p;
    const float *dy = a->in[0]->data;
    float *dx = a->out[0]->data;
    int64_t idx[OC_MAX_RANK] = {0}, off = 0;
    for (int64_t i = 0; i < a->out[0]->numel; i++) {
        dx[i] = p->scale * dy[off];
        for (int d = p->rank - 1; d >= 0; d--) {
            idx[d]++;
            off += p->strides[d];
            if (idx[d] < p->dims[d])
                break;
            off -= p->strides[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}
