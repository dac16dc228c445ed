/* elementwise.c: see elementwise.h.
 *
 * Unary kernels are one loop each (the expression is inlined by the
 * macro), so the compiler can vectorize them. Binary kernels walk the
 * output in row-major order with an odometer over broadcast strides; the
 * innermost dim runs as a tight loop with the inputs' inner strides
 * (0 or 1), which covers the common bias/scale broadcasts. */
#include "elementwise.h"
#include "table.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

#include "../threads.h"

/* Unary kernels. Each op's expression becomes a float32 loop over one
 * contiguous run (compiled in AVX-512, AVX2 and baseline clones, and
 * vectorized: the transcendental functions come from vmath.h), run by
 * the thread pool over blocks of UNARY_BLOCK elements, and a float64 loop
 * that evaluates the same single-precision expression per element (within
 * the suite's tolerance, not a full double implementation). The
 * parameters are copied into locals (alpha, beta, gamma, approximate) so
 * the loops do not reload them after every store. */
#define UNARY_BLOCK 4096
#define UNARY_GRAIN 16 /* blocks per thread at least: 256 KB of input (a region costs a hand-off) */

typedef void (*unary_run_fn)(const oc_unary_params *p, const float *x, float *y, int64_t n);

typedef struct unary_job {
    unary_run_fn run;
    const oc_unary_params *p;
    const float *x;
    float *y;
    int64_t n;
} unary_job;

static void unary_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const unary_job *j = ctx;
    (void)tid;
    int64_t lo = b * UNARY_BLOCK, hi = e * UNARY_BLOCK < j->n ? e * UNARY_BLOCK : j->n;
    j->run(j->p, j->x + lo, j->y + lo, hi - lo);
}

/* Runs a float32 unary loop over all of in[0] -> out[0], threaded. */
static int unary_threaded(const oc_kargs *a, unary_run_fn run)
{
    unary_job j = {run, a->p, a->in[0]->data, a->out[0]->data, a->out[0]->numel};
    oc_parallel_for((j.n + UNARY_BLOCK - 1) / UNARY_BLOCK, UNARY_GRAIN, a->threads, unary_task, &j);
    return 0;
}

#define UNARY_LOCALS(p)                                                                                    \
    const float alpha = (p)->alpha, beta = (p)->beta, gamma = (p)->gamma;                                  \
    const int approximate = (p)->approximate;                                                              \
    (void)alpha, (void)beta, (void)gamma, (void)approximate

#define UNARY(fname, expr)                                                                                 \
    OC_VEC_CLONES static void fname##_run(const oc_unary_params *p, const float *xs, float *ys, int64_t n) \
    {                                                                                                      \
        UNARY_LOCALS(p);                                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                                  \
            float x = xs[i];                                                                               \
            ys[i] = (expr);                                                                                \
        }                                                                                                  \
    }                                                                                                      \
    static int fname(const oc_kargs *a)                                                                    \
    {                                                                                                      \
        if (a->in[0]->dtype == OC_DOUBLE) {                                                                \
            UNARY_LOCALS((const oc_unary_params *)a->p);                                                   \
            const double *xd = a->in[0]->data;                                                             \
            double *yd = a->out[0]->data;                                                                  \
            for (int64_t i = 0; i < a->out[0]->numel; i++) {                                               \
                float x = (float)xd[i];                                                                    \
                yd[i] = (double)(expr);                                                                    \
            }                                                                                              \
            return 0;                                                                                      \
        }                                                                                                  \
        return unary_threaded(a, fname##_run);                                                             \
    }

static float signf(float x) { return (float)((x > 0) - (x < 0)); }
/* round half to even, as ONNX Round */
static float round_even(float x) { return nearbyintf(x); }
/* min(max(v, 0), 1) with fmaxf(0, fminf(1, v))'s NaN rule (NaN -> 1), as selects */
static inline float clamp01(float v)
{
    v = v < 1.0f ? v : 1.0f;
    return v > 0.0f ? v : 0.0f;
}

UNARY(k_relu, x > 0 ? x : 0.0f)
UNARY(k_leaky_relu, x >= 0 ? x : alpha * x)
UNARY(k_elu, x >= 0 ? x : alpha * (oc_vexpf(x) - 1.0f))
UNARY(k_selu, x > 0 ? gamma * x : gamma * (alpha * oc_vexpf(x) - alpha))
UNARY(k_celu, fmaxf(0.0f, x) + fminf(0.0f, alpha * (expf(x / alpha) - 1.0f)))
UNARY(k_sigmoid, oc_vsigmoidf(x))
UNARY(k_hard_sigmoid, clamp01(alpha * x + beta))
UNARY(k_hard_swish, x * clamp01(x / 6.0f + 0.5f))
UNARY(k_tanh, oc_vtanhf(x))
UNARY(k_softplus, oc_vsoftplusf(x))
UNARY(k_softsign, x / (1.0f + fabsf(x)))
UNARY(k_gelu, approximate ? oc_vgelu_tanhf(x) : 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)))
UNARY(k_mish, x * oc_vtanhf(oc_vsoftplusf(x)))
UNARY(k_swish, oc_vswishf(x, alpha))
UNARY(k_thresholded_relu, x > alpha ? x : 0.0f)
UNARY(k_erf, erff(x))
UNARY(k_exp, oc_vexpf(x))
UNARY(k_log, logf(x))
UNARY(k_sqrt, sqrtf(x))
UNARY(k_abs, fabsf(x))
UNARY(k_neg, -x)
UNARY(k_reciprocal, 1.0f / x)
UNARY(k_floor, floorf(x))
UNARY(k_ceil, ceilf(x))
UNARY(k_round, round_even(x))
UNARY(k_sign, signf(x))
UNARY(k_sin, sinf(x))
UNARY(k_cos, cosf(x))
UNARY(k_tan, tanf(x))
UNARY(k_asin, asinf(x))
UNARY(k_acos, acosf(x))
UNARY(k_atan, atanf(x))
UNARY(k_sinh, sinhf(x))
UNARY(k_cosh, coshf(x))
UNARY(k_asinh, asinhf(x))
UNARY(k_acosh, acoshf(x))
UNARY(k_atanh, atanhf(x))
UNARY(k_shrink, x < -beta ? x + alpha : (x > beta ? x - alpha : 0.0f))
UNARY(k_identity, x)

static const struct {
    const char *op;
    oc_kernel_fn fn;
} unary_table[] = {
    {"Relu", k_relu}, {"LeakyRelu", k_leaky_relu}, {"Elu", k_elu}, {"Selu", k_selu}, {"Celu", k_celu},
    {"Sigmoid", k_sigmoid}, {"HardSigmoid", k_hard_sigmoid}, {"HardSwish", k_hard_swish}, {"Tanh", k_tanh},
    {"Softplus", k_softplus}, {"Softsign", k_softsign}, {"Gelu", k_gelu}, {"Mish", k_mish}, {"Swish", k_swish},
    {"ThresholdedRelu", k_thresholded_relu}, {"Erf", k_erf}, {"Exp", k_exp}, {"Log", k_log}, {"Sqrt", k_sqrt},
    {"Abs", k_abs}, {"Neg", k_neg}, {"Reciprocal", k_reciprocal}, {"Floor", k_floor}, {"Ceil", k_ceil},
    {"Round", k_round}, {"Sign", k_sign}, {"Sin", k_sin}, {"Cos", k_cos}, {"Tan", k_tan}, {"Asin", k_asin},
    {"Acos", k_acos}, {"Atan", k_atan}, {"Sinh", k_sinh}, {"Cosh", k_cosh}, {"Asinh", k_asinh}, {"Acosh", k_acosh},
    {"Atanh", k_atanh}, {"Shrink", k_shrink}, {"Identity", k_identity},
};

oc_kernel_fn oc_unary_kernel(const char *op)
{
    for (size_t i = 0; i < sizeof unary_table / sizeof unary_table[0]; i++)
        if (strcmp(unary_table[i].op, op) == 0)
            return unary_table[i].fn;
    return NULL;
}

void oc_bcast_strides(const oc_tensor *in, int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int k = d - (rank - in->rank);
        if (k < 0 || in->dims[k] == 1 || dims[d] == 1) {
            strides[d] = 0;
        } else {
            strides[d] = s;
        }
        if (k >= 0)
            s *= in->dims[k];
    }
}

/* Python-style modulo (result has the divisor's sign) for integers. */
static int64_t mod_floor(int64_t a, int64_t b)
{
    if (b == 0)
        return 0;
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* One binary op on doubles (used for all float types) ... */
static double bin_f(int op, double x, double y, int fmod_mode)
{
    switch (op) {
    case OC_BIN_ADD: case OC_BIN_SUM: case OC_BIN_MEAN: return x + y;
    case OC_BIN_SUB: return x - y;
    case OC_BIN_MUL: return x * y;
    case OC_BIN_DIV: return x / y;
    case OC_BIN_POW: return pow(x, y);
    case OC_BIN_MOD: {
        double r = fmod(x, y);
        if (!fmod_mode && r != 0 && ((r < 0) != (y < 0)))
            r += y;
        return r;
    }
    case OC_BIN_MAX: return (x != x || y != y) ? NAN : (x > y ? x : y);
    case OC_BIN_MIN: return (x != x || y != y) ? NAN : (x < y ? x : y);
    case OC_BIN_PRELU: return x < 0 ? x * y : x;
    default: return 0;
    }
}

/* ... and on int64 (all integer types). */
static int64_t bin_i(int op, int64_t x, int64_t y, int fmod_mode)
{
    switch (op) {
    case OC_BIN_ADD: case OC_BIN_SUM: case OC_BIN_MEAN: return (int64_t)((uint64_t)x + (uint64_t)y);
    case OC_BIN_SUB: return (int64_t)((uint64_t)x - (uint64_t)y);
    case OC_BIN_MUL: return (int64_t)((uint64_t)x * (uint64_t)y);
    case OC_BIN_DIV: return y == 0 || (x == INT64_MIN && y == -1) ? 0 : x / y;
    case OC_BIN_POW: return (int64_t)pow((double)x, (double)y); /* exponent loaded as int: see pow_mixed */
    case OC_BIN_MOD: return fmod_mode ? (y ? x % y : 0) : mod_floor(x, y);
    case OC_BIN_MAX: return x > y ? x : y;
    case OC_BIN_MIN: return x < y ? x : y;
    case OC_BIN_BIT_AND: return x & y;
    case OC_BIN_BIT_OR: return x | y;
    case OC_BIN_BIT_XOR: return x ^ y;
    case OC_BIN_SHIFT_LEFT: return y >= 64 || y < 0 ? 0 : (int64_t)((uint64_t)x << y);
    case OC_BIN_SHIFT_RIGHT: return y >= 64 || y < 0 ? 0 : (int64_t)((uint64_t)x >> y);
    case OC_BIN_PRELU: return x < 0 ? x * y : x;
    default: return 0;
    }
}

static int is_compare(int op) { return op >= OC_BIN_EQUAL && op <= OC_BIN_XOR; }

static int64_t load_i(const void *p, int dt, int64_t i);

static double load_f(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case OC_FLOAT: return ((const float *)p)[i];
    case OC_DOUBLE: return ((const double *)p)[i];
    case OC_UINT64: return (double)((const uint64_t *)p)[i];
    default: return (double)load_i(p, dt, i);
    }
}

static int64_t load_i(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case OC_FLOAT: {
        float v = ((const float *)p)[i];
        return v != v ? 0 : v >= 9.2e18f ? INT64_MAX : v <= -9.2e18f ? INT64_MIN : (int64_t)v;
    }
    case OC_DOUBLE: {
        double v = ((const double *)p)[i];
        return v != v ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
    }
    case OC_INT64: return ((const int64_t *)p)[i];
    case OC_INT32: return ((const int32_t *)p)[i];
    case OC_INT16: return ((const int16_t *)p)[i];
    case OC_INT8: return ((const int8_t *)p)[i];
    case OC_UINT64: return (int64_t)((const uint64_t *)p)[i];
    case OC_UINT32: return ((const uint32_t *)p)[i];
    case OC_UINT16: return ((const uint16_t *)p)[i];
    case OC_UINT8: case OC_BOOL: return ((const uint8_t *)p)[i];
    default: return 0;
    }
}

static void store_i(void *p, int dt, int64_t i, int64_t v)
{
    switch (dt) {
    case OC_INT64: ((int64_t *)p)[i] = v; break;
    case OC_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case OC_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case OC_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case OC_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case OC_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case OC_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case OC_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case OC_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: break;
    }
}

static int is_float_dt(int dt) { return dt == OC_FLOAT || dt == OC_DOUBLE; }

/* ---- broadcasting binary / variadic kernel ----
 * Each input's strides over the output dims come from its tensor at run
 * time (0 where it broadcasts). The dims are then coalesced: size-1 dims
 * dropped, neighbours merged where every input's strides allow, so a
 * same-shape op becomes one row, a per-channel scale on NCHW the view
 * [N, C, HW] with the scale's inner stride 0, a bias over the last dim
 * [rows, C]. The output is processed row by row (the innermost coalesced
 * dim), rows split over the thread pool. float32 arithmetic (Add, Sub,
 * Mul, Div, Max, Min, Sum, Mean, PRelu) runs each row as one vectorized
 * loop specialised for inner strides (1, 1), (1, 0) and (0, 1), folding
 * inputs 2.. into the output row; every other dtype / op walks the row
 * element by element through the double / int64 paths below. */
typedef struct bview {
    int nd;
    int64_t dims[OC_MAX_RANK];
    int64_t str[64][OC_MAX_RANK];
} bview;

/* Strides of input k over the output dims (PRelu before opset 7: a 1-D
 * slope runs along dim 1). */
static void input_strides(const oc_bcast_params *p, const oc_tensor *in, int k, int64_t *str)
{
    oc_tensor v = *in;
    if (p->slope_channel && k == 1 && v.rank == 1 && p->rank >= 2) {
        v.rank = p->rank - 1;
        for (int i = 1; i < v.rank; i++)
            v.dims[i] = 1;
    }
    oc_bcast_strides(&v, p->rank, p->dims, str);
}

static void make_bview(const oc_bcast_params *p, const oc_kargs *a, bview *v)
{
    int64_t full[64][OC_MAX_RANK];
    for (int k = 0; k < p->n_in; k++)
        input_strides(p, a->in[k], k, full[k]);
    v->nd = 0;
    for (int d = 0; d < p->rank; d++) {
        if (p->dims[d] == 1)
            continue;
        int merge = v->nd > 0;
        for (int k = 0; merge && k < p->n_in; k++)
            merge = v->str[k][v->nd - 1] == full[k][d] * p->dims[d];
        if (merge) {
            v->dims[v->nd - 1] *= p->dims[d];
            for (int k = 0; k < p->n_in; k++)
                v->str[k][v->nd - 1] = full[k][d];
        } else {
            v->dims[v->nd] = p->dims[d];
            for (int k = 0; k < p->n_in; k++)
                v->str[k][v->nd] = full[k][d];
            v->nd++;
        }
    }
    if (v->nd == 0) { /* one element */
        v->nd = 1;
        v->dims[0] = 1;
        for (int k = 0; k < p->n_in; k++)
            v->str[k][0] = 0;
    }
}

static int float_fast_op(int op)
{
    return op == OC_BIN_ADD || op == OC_BIN_SUB || op == OC_BIN_MUL || op == OC_BIN_DIV || op == OC_BIN_MAX ||
           op == OC_BIN_MIN || op == OC_BIN_SUM || op == OC_BIN_MEAN || op == OC_BIN_PRELU;
}

/* One row, y[i] = a[i*sa] op b[i*sb]; sa, sb in {0, 1} take the vector
 * loops, anything else the strided one. */
#define FROW_LOOPS(EXPR)                                                                                    \
    do {                                                                                                    \
        if (sa == 1 && sb == 1) {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                                               \
                float x = a[i], v = b[i];                                                                   \
                y[i] = (EXPR);                                                                              \
            }                                                                                               \
        } else if (sa == 1 && sb == 0) {                                                                    \
            const float v = b[0];                                                                           \
            for (int64_t i = 0; i < n; i++) {                                                               \
                float x = a[i];                                                                             \
                y[i] = (EXPR);                                                                              \
            }                                                                                               \
        } else if (sa == 0 && sb == 1) {                                                                    \
            const float x = a[0];                                                                           \
            for (int64_t i = 0; i < n; i++) {                                                               \
                float v = b[i];                                                                             \
                y[i] = (EXPR);                                                                              \
            }                                                                                               \
        } else {                                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                               \
                float x = a[i * sa], v = b[i * sb];                                                         \
                y[i] = (EXPR);                                                                              \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

OC_VEC_CLONES static void float_row(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *y,
                                    int64_t n)
{
    switch (op) {
    case OC_BIN_ADD: case OC_BIN_SUM: case OC_BIN_MEAN: FROW_LOOPS(x + v); break;
    case OC_BIN_SUB: FROW_LOOPS(x - v); break;
    case OC_BIN_MUL: FROW_LOOPS(x * v); break;
    case OC_BIN_DIV: FROW_LOOPS(x / v); break;
    case OC_BIN_MAX: FROW_LOOPS((x != x || v != v) ? x + v : (x > v ? x : v)); break; /* NaN wins */
    case OC_BIN_MIN: FROW_LOOPS((x != x || v != v) ? x + v : (x < v ? x : v)); break;
    case OC_BIN_PRELU: FROW_LOOPS(x < 0 ? x * v : x); break;
    default: break;
    }
}

OC_VEC_CLONES static void float_row_scale(float *y, int64_t n, float d)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = y[i] / d;
}

#define BCAST_PIECE 32768 /* elements of one task when long rows are cut (4 pieces per thread: 512 KB) */

typedef struct bcast_job {
    const oc_bcast_params *p;
    const oc_kargs *a;
    const bview *v;
    int fast;      /* float32 row loops */
    int64_t nch;   /* pieces per row (fast path): a task is one piece of one row */
    int64_t piece; /* elements per piece */
} bcast_job;

/* Output elements [o, o + n) of the generic path; off[k] is input k's
 * offset of element o and st[k] its stride along the row. */
static void generic_row(const oc_bcast_params *p, const oc_kargs *a, int64_t o, int64_t n, const int64_t *off,
                        const int64_t *st)
{
    oc_tensor *y = a->out[0];
    int fl = is_float_dt(p->dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t oi = o + i;
        if (p->op == OC_BIN_WHERE) {
            int c = load_i(a->in[0]->data, a->in[0]->dtype, off[0] + i * st[0]) != 0;
            int src = c ? 1 : 2;
            size_t es = oc_dtype_size(y->dtype);
            memcpy((char *)y->data + (size_t)oi * es,
                   (const char *)a->in[src]->data + (size_t)(off[src] + i * st[src]) * es, es);
        } else if (fl) {
            double acc = load_f(a->in[0]->data, a->in[0]->dtype, off[0] + i * st[0]);
            int cmp = 0;
            for (int k = 1; k < p->n_in; k++) {
                double v = load_f(a->in[k]->data, a->in[k]->dtype, off[k] + i * st[k]);
                switch (p->op) {
                case OC_BIN_EQUAL: cmp = acc == v; break;
                case OC_BIN_LESS: cmp = acc < v; break;
                case OC_BIN_LESS_EQ: cmp = acc <= v; break;
                case OC_BIN_GREATER: cmp = acc > v; break;
                case OC_BIN_GREATER_EQ: cmp = acc >= v; break;
                default: acc = bin_f(p->op, acc, v, p->fmod);
                }
            }
            if (p->op == OC_BIN_MEAN)
                acc /= p->n_in;
            if (is_compare(p->op))
                ((uint8_t *)y->data)[oi] = (uint8_t)cmp;
            else if (p->dtype == OC_FLOAT)
                ((float *)y->data)[oi] = (float)acc;
            else
                ((double *)y->data)[oi] = acc;
        } else if (p->op == OC_BIN_POW) {
            /* integer base, any exponent type: pow in double, truncated */
            double r = pow(load_f(a->in[0]->data, a->in[0]->dtype, off[0] + i * st[0]),
                           load_f(a->in[1]->data, a->in[1]->dtype, off[1] + i * st[1]));
            store_i(y->data, p->dtype, oi, r != r ? 0 : r >= 9.2e18 ? INT64_MAX : r <= -9.2e18 ? INT64_MIN : (int64_t)r);
        } else {
            int64_t acc = load_i(a->in[0]->data, a->in[0]->dtype, off[0] + i * st[0]);
            int cmp = 0;
            for (int k = 1; k < p->n_in; k++) {
                int64_t v = load_i(a->in[k]->data, a->in[k]->dtype, off[k] + i * st[k]);
                switch (p->op) {
                case OC_BIN_EQUAL: cmp = acc == v; break;
                case OC_BIN_LESS: cmp = p->dtype == OC_UINT64 ? (uint64_t)acc < (uint64_t)v : acc < v; break;
                case OC_BIN_LESS_EQ: cmp = p->dtype == OC_UINT64 ? (uint64_t)acc <= (uint64_t)v : acc <= v; break;
                case OC_BIN_GREATER: cmp = p->dtype == OC_UINT64 ? (uint64_t)acc > (uint64_t)v : acc > v; break;
                case OC_BIN_GREATER_EQ: cmp = p->dtype == OC_UINT64 ? (uint64_t)acc >= (uint64_t)v : acc >= v; break;
                case OC_BIN_AND: cmp = acc && v; break;
                case OC_BIN_OR: cmp = acc || v; break;
                case OC_BIN_XOR: cmp = (acc != 0) != (v != 0); break;
                default: acc = bin_i(p->op, acc, v, p->fmod);
                }
            }
            if (p->op == OC_BIN_MEAN)
                acc /= p->n_in;
            if (is_compare(p->op))
                ((uint8_t *)y->data)[oi] = (uint8_t)cmp;
            else
                store_i(y->data, p->dtype, oi, acc);
        }
    }
}

/* Output elements [o, o + n) of the float32 row loops; off[k] is input
 * k's offset of element o and st[k] its stride along the row. */
static void fast_row(const oc_bcast_params *p, const oc_kargs *a, int64_t o, int64_t n, const int64_t *off,
                     const int64_t *st)
{
    float *y = (float *)a->out[0]->data + o;
    const float *x0 = (const float *)a->in[0]->data + off[0];
    if (p->n_in == 1) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x0[i * st[0]];
    } else {
        float_row(p->op, x0, st[0], (const float *)a->in[1]->data + off[1], st[1], y, n);
        for (int k = 2; k < p->n_in; k++)
            float_row(p->op, y, 1, (const float *)a->in[k]->data + off[k], st[k], y, n);
    }
    if (p->op == OC_BIN_MEAN)
        float_row_scale(y, n, (float)p->n_in);
}

/* Pieces [b, e) of the rows (fast path, rows cut into j->nch pieces):
 * the same row loops over a part of each row, so every element is summed
 * in the same order as the whole row would be. */
static void bcast_piece_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bcast_job *j = ctx;
    const bview *v = j->v;
    (void)tid;
    int nd = v->nd, n_in = j->p->n_in;
    int64_t inner = v->dims[nd - 1], st[64];
    for (int k = 0; k < n_in; k++)
        st[k] = v->str[k][nd - 1];
    for (int64_t t = b; t < e; t++) {
        int64_t row = t / j->nch, i0 = t % j->nch * j->piece;
        int64_t n = inner - i0 < j->piece ? inner - i0 : j->piece;
        int64_t off[64], r = row;
        for (int k = 0; k < n_in; k++)
            off[k] = i0 * st[k];
        for (int d = nd - 2; d >= 0; d--) {
            int64_t id = r % v->dims[d];
            r /= v->dims[d];
            for (int k = 0; k < n_in; k++)
                off[k] += id * v->str[k][d];
        }
        fast_row(j->p, j->a, row * inner + i0, n, off, st);
    }
}

static void bcast_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bcast_job *j = ctx;
    const oc_bcast_params *p = j->p;
    const bview *v = j->v;
    (void)tid;
    int nd = v->nd, n_in = p->n_in;
    int64_t inner = v->dims[nd - 1];
    int64_t idx[OC_MAX_RANK] = {0}, off[64] = {0}, st[64];
    for (int k = 0; k < n_in; k++)
        st[k] = v->str[k][nd - 1];
    /* odometer position of row b */
    int64_t r = b;
    for (int d = nd - 2; d >= 0; d--) {
        idx[d] = r % v->dims[d];
        r /= v->dims[d];
        for (int k = 0; k < n_in; k++)
            off[k] += idx[d] * v->str[k][d];
    }
    for (int64_t row = b; row < e; row++) {
        if (j->fast)
            fast_row(p, j->a, row * inner, inner, off, st);
        else
            generic_row(p, j->a, row * inner, inner, off, st);
        for (int d = nd - 2; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < n_in; k++)
                off[k] += v->str[k][d];
            if (idx[d] < v->dims[d])
                break;
            for (int k = 0; k < n_in; k++)
                off[k] -= v->str[k][d] * idx[d];
            idx[d] = 0;
        }
    }
}

int oc_binary_forward(const oc_kargs *a)
{
    const oc_bcast_params *p = a->p;
    if (p->n_in < 1 || p->n_in > 64)
        return oc_fail(a->d, "broadcast: %d inputs (1 to 64 supported)", p->n_in);
    bview v;
    make_bview(p, a, &v);
    bcast_job j = {p, a, &v, p->dtype == OC_FLOAT && float_fast_op(p->op)};
    for (int k = 0; j.fast && k < p->n_in; k++)
        j.fast = a->in[k]->dtype == OC_FLOAT;
    int64_t inner = v.dims[v.nd - 1], rows = inner ? a->out[0]->numel / inner : 0;
    if (j.fast && inner >= 2 * BCAST_PIECE) {
        /* long rows (a same-shape Add or Sum is one row): cut into pieces
         * so that the threads share them */
        j.nch = (inner + BCAST_PIECE - 1) / BCAST_PIECE;
        j.piece = (inner + j.nch - 1) / j.nch;
        j.piece = (j.piece + 15) / 16 * 16;
        j.nch = (inner + j.piece - 1) / j.piece;
        oc_parallel_for(rows * j.nch, 4, a->threads, bcast_piece_task, &j);
        return 0;
    }
    int64_t grain = 131072 / (inner ? inner : 1);
    oc_parallel_for(rows, grain > 0 ? grain : 1, a->threads, bcast_task, &j);
    return 0;
}

/* float32 Clip between alpha and beta; NaN passes through (numpy's order:
 * max with the lower bound first, then min with the upper one). The same
 * selects as the fused epilogue (OC_ACT_CLIP). */
OC_VEC_CLONES static void clip_run(const oc_unary_params *p, const float *xs, float *ys, int64_t n)
{
    const float lo = p->alpha, hi = p->beta;
    for (int64_t i = 0; i < n; i++) {
        float v = xs[i];
        v = v < lo ? lo : v;
        ys[i] = v > hi ? hi : v;
    }
}

/* Clip with bounds from inputs 1 and 2 (opset 11+, read at run time; an
 * omitted bound is open) or from the parameters (older opsets), any
 * numeric type. NaN passes through. */
int oc_clip_forward(const oc_kargs *a)
{
    const oc_unary_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int dt = x->dtype;
    int has_lo = a->n_in > 1 && a->in[1], has_hi = a->n_in > 2 && a->in[2];
    if ((has_lo && a->in[1]->numel != 1) || (has_hi && a->in[2]->numel != 1))
        return oc_fail(a->d, "Clip bounds must be scalars");
    if (dt == OC_FLOAT) {
        oc_unary_params b = *p; /* bounds resolved into alpha / beta for clip_run */
        b.alpha = has_lo ? *(const float *)a->in[1]->data : (a->n_in > 1 ? -INFINITY : p->alpha);
        b.beta = has_hi ? *(const float *)a->in[2]->data : (a->n_in > 1 ? INFINITY : p->beta);
        unary_job j = {clip_run, &b, x->data, y->data, y->numel};
        oc_parallel_for((j.n + UNARY_BLOCK - 1) / UNARY_BLOCK, UNARY_GRAIN, a->threads, unary_task, &j);
        return 0;
    }
    if (dt == OC_DOUBLE) {
        double lo = has_lo ? load_f(a->in[1]->data, dt, 0) : (a->n_in > 1 ? -INFINITY : p->alpha);
        double hi = has_hi ? load_f(a->in[2]->data, dt, 0) : (a->n_in > 1 ? INFINITY : p->beta);
        for (int64_t i = 0; i < y->numel; i++) {
            double v = load_f(x->data, dt, i);
            if (v == v) /* numpy order: max with lo first, then min with hi */
                v = v < lo ? lo : v, v = v > hi ? hi : v;
            if (dt == OC_FLOAT)
                ((float *)y->data)[i] = (float)v;
            else
                ((double *)y->data)[i] = v;
        }
    } else {
        int64_t lo = has_lo ? load_i(a->in[1]->data, dt, 0) : INT64_MIN;
        int64_t hi = has_hi ? load_i(a->in[2]->data, dt, 0) : INT64_MAX;
        for (int64_t i = 0; i < y->numel; i++) {
            int64_t v = load_i(x->data, dt, i);
            v = v < lo ? lo : v;
            store_i(y->data, dt, i, v > hi ? hi : v);
        }
    }
    return 0;
}

/* ---- backward ---- */

/* ReluGrad: dX = dY * (Y > 0), from the forward output Y. Written as a
 * select with no branch so it vectorizes (a branch on the sign of Y
 * mispredicts half the time); dX may be dY itself (in place). */
OC_VEC_CLONES static void relu_grad_span(float *dx, const float *dy, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

typedef struct relu_grad_job {
    float *dx;
    const float *dy, *y;
} relu_grad_job;

static void relu_grad_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const relu_grad_job *j = ctx;
    (void)tid;
    relu_grad_span(j->dx + b, j->dy + b, j->y + b, e - b);
}

int oc_relu_backward(const oc_kargs *a)
{
    relu_grad_job j = {a->out[0]->data, a->in[0]->data, a->in[1]->data};
    oc_parallel_for(a->out[0]->numel, 65536, a->threads, relu_grad_task, &j);
    return 0;
}

/* SumToShape: dX[j] = sum of dY over the elements that broadcasting maps
 * to j (p->dims: dY's dims; the target's strides over them come from
 * out[0]'s shape). */
int oc_sum_to_shape(const oc_kargs *a)
{
    const oc_bcast_params *p = a->p;
    const float *dy = a->in[0]->data;
    float *dx = a->out[0]->data;
    int64_t n = a->in[0]->numel, idx[OC_MAX_RANK] = {0}, off = 0, str[OC_MAX_RANK];
    if (a->out[0]->numel == n) { /* nothing was broadcast: a copy */
        if (dx != dy)
            memcpy(dx, dy, sizeof(float) * (size_t)n);
        return 0;
    }
    oc_bcast_strides(a->out[0], p->rank, p->dims, str);
    memset(dx, 0, sizeof(float) * (size_t)a->out[0]->numel);
    for (int64_t i = 0; i < n; i++) {
        dx[off] += dy[i];
        for (int d = p->rank - 1; d >= 0; d--) {
            idx[d]++;
            off += str[d];
            if (idx[d] < p->dims[d])
                break;
            off -= str[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}

/* ActivationGrad(dY, X, Y) -> dX = dY * f'(x), one loop per activation;
 * the derivative is written in terms of whichever of x = X, y = Y is
 * cheaper (sigmoid' = y (1 - y), tanh' = 1 - y^2). Threaded over blocks
 * like the forward kernels. */
typedef struct unary_bwd_job {
    void (*run)(const oc_unary_params *p, const float *g, const float *x, const float *y, float *dx, int64_t n);
    const oc_unary_params *p;
    const float *g, *x, *y;
    float *dx;
    int64_t n;
} unary_bwd_job;

static void unary_bwd_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const unary_bwd_job *j = ctx;
    (void)tid;
    int64_t lo = b * UNARY_BLOCK, hi = e * UNARY_BLOCK < j->n ? e * UNARY_BLOCK : j->n;
    j->run(j->p, j->g + lo, j->x + lo, j->y + lo, j->dx + lo, hi - lo);
}

#define UNARY_BACKWARD(fname, expr)                                                                        \
    OC_VEC_CLONES static void fname##_run(const oc_unary_params *p, const float *gs, const float *xs,       \
                                          const float *ys, float *dx, int64_t n)                           \
    {                                                                                                      \
        UNARY_LOCALS(p);                                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                                  \
            float x = xs[i], y = ys[i], dy = gs[i];                                                        \
            (void)x;                                                                                       \
            (void)y;                                                                                       \
            dx[i] = (expr);                                                                                \
        }                                                                                                  \
    }                                                                                                      \
    static int fname(const oc_kargs *a)                                                                    \
    {                                                                                                      \
        unary_bwd_job j = {fname##_run, a->p, a->in[0]->data, a->in[1]->data, a->in[2]->data,              \
                           a->out[0]->data, a->out[0]->numel};                                             \
        oc_parallel_for((j.n + UNARY_BLOCK - 1) / UNARY_BLOCK, UNARY_GRAIN, a->threads, unary_bwd_task, &j); \
        return 0;                                                                                          \
    }

/* d/dx of 0.5 x (1 + tanh(u)), u = c (x + 0.044715 x^3), c = sqrt(2 / pi):
 * 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2), t = tanh(u). */
static inline float gelu_tanh_grad(float x)
{
    const float c = 0.7978845608028654f;
    float t = oc_vtanhf(c * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * c * (1.0f + 3.0f * 0.044715f * x * x);
}

/* d/dx of 0.5 x (1 + erf(x / sqrt 2)) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi). */
static float gelu_erf_grad(float x)
{
    return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.3989422804014327f * oc_vexpf(-0.5f * x * x);
}

/* d/dx of x sigmoid(a x) = s + a x s (1 - s), s = sigmoid(a x). */
static inline float swish_grad(float x, float alpha)
{
    float s = oc_vsigmoidf(alpha * x);
    return s + alpha * x * s * (1.0f - s);
}

UNARY_BACKWARD(kb_leaky_relu, x >= 0 ? dy : alpha * dy)
UNARY_BACKWARD(kb_elu, x >= 0 ? dy : dy * alpha * oc_vexpf(x))
UNARY_BACKWARD(kb_gelu, dy * (approximate ? gelu_tanh_grad(x) : gelu_erf_grad(x)))
UNARY_BACKWARD(kb_sigmoid, dy * y * (1.0f - y))
UNARY_BACKWARD(kb_tanh, dy * (1.0f - y * y))
UNARY_BACKWARD(kb_softplus, dy * oc_vsigmoidf(x))                /* d log(1 + e^x) = sigmoid(x) */
UNARY_BACKWARD(kb_swish, dy * swish_grad(x, alpha))
UNARY_BACKWARD(kb_erf, dy * 1.1283791670955126f * oc_vexpf(-x * x)) /* 2 / sqrt(pi) e^(-x^2) */
UNARY_BACKWARD(kb_sqrt, dy * 0.5f / y)
UNARY_BACKWARD(kb_exp, dy * y)
UNARY_BACKWARD(kb_log, dy / x)

static const struct {
    const char *op;
    oc_kernel_fn fn;
} unary_backward_table[] = {
    {"LeakyRelu", kb_leaky_relu}, {"Elu", kb_elu}, {"Gelu", kb_gelu}, {"Sigmoid", kb_sigmoid},
    {"Tanh", kb_tanh}, {"Softplus", kb_softplus}, {"Swish", kb_swish}, {"Erf", kb_erf},
    {"Sqrt", kb_sqrt}, {"Exp", kb_exp}, {"Log", kb_log},
};

oc_kernel_fn oc_unary_backward_kernel(const char *op)
{
    for (size_t i = 0; i < sizeof unary_backward_table / sizeof unary_backward_table[0]; i++)
        if (strcmp(unary_backward_table[i].op, op) == 0)
            return unary_backward_table[i].fn;
    return NULL;
}

/* ClipGrad(dY, X, Y, min, max): dX = dY where min <= x <= max, else 0
 * (the bounds pass the gradient, as PyTorch's clamp does). Bounds come
 * from inputs 3 and 4 when present, else p->alpha / p->beta (opset < 11
 * attributes, +-inf when absent). */
int oc_clip_backward(const oc_kargs *a)
{
    const oc_unary_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data;
    float *dx = a->out[0]->data;
    const oc_tensor *tlo = a->n_in > 3 ? a->in[3] : NULL, *thi = a->n_in > 4 ? a->in[4] : NULL;
    if ((tlo && tlo->numel != 1) || (thi && thi->numel != 1))
        return oc_fail(a->d, "Clip bounds must be scalars");
    float lo = tlo ? *(const float *)tlo->data : p->alpha, hi = thi ? *(const float *)thi->data : p->beta;
    for (int64_t i = 0; i < a->out[0]->numel; i++)
        dx[i] = x[i] >= lo && x[i] <= hi ? dy[i] : 0.0f;
    return 0;
}

/* The unary kernels in the kernel table (runtime/kernels/table.h). */
const oc_kernel_info oc_kernels_elementwise_unary[] = {
    {"oc_unary_relu", k_relu, "oc_unary_params"},
    {"oc_unary_leaky_relu", k_leaky_relu, "oc_unary_params"},
    {"oc_unary_elu", k_elu, "oc_unary_params"},
    {"oc_unary_selu", k_selu, "oc_unary_params"},
    {"oc_unary_celu", k_celu, "oc_unary_params"},
    {"oc_unary_sigmoid", k_sigmoid, "oc_unary_params"},
    {"oc_unary_hard_sigmoid", k_hard_sigmoid, "oc_unary_params"},
    {"oc_unary_hard_swish", k_hard_swish, "oc_unary_params"},
    {"oc_unary_tanh", k_tanh, "oc_unary_params"},
    {"oc_unary_softplus", k_softplus, "oc_unary_params"},
    {"oc_unary_softsign", k_softsign, "oc_unary_params"},
    {"oc_unary_gelu", k_gelu, "oc_unary_params"},
    {"oc_unary_mish", k_mish, "oc_unary_params"},
    {"oc_unary_swish", k_swish, "oc_unary_params"},
    {"oc_unary_thresholded_relu", k_thresholded_relu, "oc_unary_params"},
    {"oc_unary_erf", k_erf, "oc_unary_params"},
    {"oc_unary_exp", k_exp, "oc_unary_params"},
    {"oc_unary_log", k_log, "oc_unary_params"},
    {"oc_unary_sqrt", k_sqrt, "oc_unary_params"},
    {"oc_unary_abs", k_abs, "oc_unary_params"},
    {"oc_unary_neg", k_neg, "oc_unary_params"},
    {"oc_unary_reciprocal", k_reciprocal, "oc_unary_params"},
    {"oc_unary_floor", k_floor, "oc_unary_params"},
    {"oc_unary_ceil", k_ceil, "oc_unary_params"},
    {"oc_unary_round", k_round, "oc_unary_params"},
    {"oc_unary_sign", k_sign, "oc_unary_params"},
    {"oc_unary_sin", k_sin, "oc_unary_params"},
    {"oc_unary_cos", k_cos, "oc_unary_params"},
    {"oc_unary_tan", k_tan, "oc_unary_params"},
    {"oc_unary_asin", k_asin, "oc_unary_params"},
    {"oc_unary_acos", k_acos, "oc_unary_params"},
    {"oc_unary_atan", k_atan, "oc_unary_params"},
    {"oc_unary_sinh", k_sinh, "oc_unary_params"},
    {"oc_unary_cosh", k_cosh, "oc_unary_params"},
    {"oc_unary_asinh", k_asinh, "oc_unary_params"},
    {"oc_unary_acosh", k_acosh, "oc_unary_params"},
    {"oc_unary_atanh", k_atanh, "oc_unary_params"},
    {"oc_unary_shrink", k_shrink, "oc_unary_params"},
    {"oc_unary_identity", k_identity, "oc_unary_params"},
    {"oc_unary_leaky_relu_backward", kb_leaky_relu, "oc_unary_params"},
    {"oc_unary_elu_backward", kb_elu, "oc_unary_params"},
    {"oc_unary_gelu_backward", kb_gelu, "oc_unary_params"},
    {"oc_unary_sigmoid_backward", kb_sigmoid, "oc_unary_params"},
    {"oc_unary_tanh_backward", kb_tanh, "oc_unary_params"},
    {"oc_unary_softplus_backward", kb_softplus, "oc_unary_params"},
    {"oc_unary_swish_backward", kb_swish, "oc_unary_params"},
    {"oc_unary_erf_backward", kb_erf, "oc_unary_params"},
    {"oc_unary_sqrt_backward", kb_sqrt, "oc_unary_params"},
    {"oc_unary_exp_backward", kb_exp, "oc_unary_params"},
    {"oc_unary_log_backward", kb_log, "oc_unary_params"},
    {0},
};
