/* unary_int.c: see unary_int.h.
 *
 * One loop per (op, element type), stamped out by macros so each stays a
 * plain vectorizable loop. Integer Abs and Neg wrap at the most negative
 * value (as two's complement hardware and numpy do) instead of invoking
 * C's undefined signed overflow. float16 and bfloat16 are classified from
 * their bit patterns: exponent all ones means Inf (zero mantissa) or NaN. */
#include "unary_int.h"

#include <math.h>
#include <string.h>

static const char *const op_names[] = {"Not", "BitwiseNot", "IsNaN", "IsInf", "Abs", "Neg", "Sign", "Relu"};

int oc_unary_int_op_code(const char *op)
{
    for (int i = 0; i < (int)(sizeof op_names / sizeof op_names[0]); i++)
        if (strcmp(op_names[i], op) == 0)
            return i;
    return -1;
}

static int is_int_dtype(int dt)
{
    switch (dt) {
    case OC_INT8: case OC_INT16: case OC_INT32: case OC_INT64:
    case OC_UINT8: case OC_UINT16: case OC_UINT32: case OC_UINT64:
        return 1;
    default:
        return 0;
    }
}

int oc_unary_int_supports(int op, int dt)
{
    switch (op) {
    case OC_UI_NOT: return dt == OC_BOOL;
    case OC_UI_BITWISE_NOT: return is_int_dtype(dt);
    case OC_UI_ISNAN: case OC_UI_ISINF:
        return dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_FLOAT16 || dt == OC_BFLOAT16;
    case OC_UI_ABS: case OC_UI_NEG: case OC_UI_SIGN: case OC_UI_RELU:
        return is_int_dtype(dt) || dt == OC_DOUBLE;
    default: return 0;
    }
}

/* y = expr(x) over n elements of type T (unsigned type U for wrapping). */
#define INT_LOOP(T, U, expr)                                                                               \
    do {                                                                                                   \
        const T *xs = a->in[0]->data;                                                                      \
        T *ys = a->out[0]->data;                                                                           \
        for (int64_t i = 0; i < n; i++) {                                                                  \
            T x = xs[i];                                                                                   \
            (void)sizeof(U);                                                                               \
            ys[i] = (T)(expr);                                                                             \
        }                                                                                                  \
    } while (0)

/* Abs/Neg/Sign/Relu/BitwiseNot for one signed integer type. */
#define SIGNED_OPS(T, U)                                                                                   \
    switch (p->op) {                                                                                       \
    case OC_UI_ABS: INT_LOOP(T, U, x < 0 ? (U)0 - (U)x : (U)x); break;                                     \
    case OC_UI_NEG: INT_LOOP(T, U, (U)0 - (U)x); break;                                                    \
    case OC_UI_SIGN: INT_LOOP(T, U, (x > 0) - (x < 0)); break;                                             \
    case OC_UI_RELU: INT_LOOP(T, U, x > 0 ? x : 0); break;                                                 \
    case OC_UI_BITWISE_NOT: INT_LOOP(T, U, ~(U)x); break;                                                  \
    default: return oc_fail(a->d, "unary op %d not defined for this type", p->op);                         \
    }

/* The same for unsigned types: Abs and Relu are the identity, Neg wraps. */
#define UNSIGNED_OPS(T)                                                                                    \
    switch (p->op) {                                                                                       \
    case OC_UI_ABS: case OC_UI_RELU: INT_LOOP(T, T, x); break;                                             \
    case OC_UI_NEG: INT_LOOP(T, T, (T)0 - x); break;                                                       \
    case OC_UI_SIGN: INT_LOOP(T, T, x > 0); break;                                                         \
    case OC_UI_BITWISE_NOT: INT_LOOP(T, T, ~x); break;                                                     \
    default: return oc_fail(a->d, "unary op %d not defined for this type", p->op);                         \
    }

/* 16-bit float bit patterns: exponent mask and mantissa mask. */
static int half_class(uint16_t h, uint16_t exp_mask, uint16_t man_mask, int *neg)
{
    *neg = (h & 0x8000) != 0;
    if ((h & exp_mask) != exp_mask)
        return 0;               /* finite */
    return (h & man_mask) ? 2 : 1; /* 2 = NaN, 1 = Inf */
}

/* IsNaN / IsInf: bool out. */
static int classify(const oc_kargs *a, const oc_unary_int_params *p, int64_t n)
{
    uint8_t *ys = a->out[0]->data;
    int want_nan = p->op == OC_UI_ISNAN;
    for (int64_t i = 0; i < n; i++) {
        int cls = 0, neg = 0; /* 0 finite, 1 inf, 2 nan */
        switch (p->dtype) {
        case OC_FLOAT: {
            float x = ((const float *)a->in[0]->data)[i];
            cls = isnan(x) ? 2 : isinf(x) ? 1 : 0;
            neg = signbit(x) != 0;
            break;
        }
        case OC_DOUBLE: {
            double x = ((const double *)a->in[0]->data)[i];
            cls = isnan(x) ? 2 : isinf(x) ? 1 : 0;
            neg = signbit(x) != 0;
            break;
        }
        case OC_FLOAT16:
            cls = half_class(((const uint16_t *)a->in[0]->data)[i], 0x7c00, 0x03ff, &neg);
            break;
        default: /* bfloat16 */
            cls = half_class(((const uint16_t *)a->in[0]->data)[i], 0x7f80, 0x007f, &neg);
            break;
        }
        if (want_nan)
            ys[i] = cls == 2;
        else
            ys[i] = cls == 1 && (neg ? p->detect_negative : p->detect_positive);
    }
    return 0;
}

int oc_unary_int_forward(const oc_kargs *a)
{
    const oc_unary_int_params *p = a->p;
    int64_t n = a->out[0]->numel;
    if (p->op == OC_UI_ISNAN || p->op == OC_UI_ISINF)
        return classify(a, p, n);
    if (p->op == OC_UI_NOT) {
        const uint8_t *xs = a->in[0]->data;
        uint8_t *ys = a->out[0]->data;
        for (int64_t i = 0; i < n; i++)
            ys[i] = !xs[i];
        return 0;
    }
    switch (p->dtype) {
    case OC_INT8: SIGNED_OPS(int8_t, uint8_t) break;
    case OC_INT16: SIGNED_OPS(int16_t, uint16_t) break;
    case OC_INT32: SIGNED_OPS(int32_t, uint32_t) break;
    case OC_INT64: SIGNED_OPS(int64_t, uint64_t) break;
    case OC_UINT8: UNSIGNED_OPS(uint8_t) break;
    case OC_UINT16: UNSIGNED_OPS(uint16_t) break;
    case OC_UINT32: UNSIGNED_OPS(uint32_t) break;
    case OC_UINT64: UNSIGNED_OPS(uint64_t) break;
    case OC_DOUBLE: {
        const double *xs = a->in[0]->data;
        double *ys = a->out[0]->data;
        for (int64_t i = 0; i < n; i++) {
            double x = xs[i];
            switch (p->op) {
            case OC_UI_ABS: ys[i] = fabs(x); break;
            case OC_UI_NEG: ys[i] = -x; break;
            case OC_UI_SIGN: ys[i] = x != x ? x : (double)((x > 0) - (x < 0)); break;
            case OC_UI_RELU: ys[i] = x > 0 ? x : 0.0; break;
            default: return oc_fail(a->d, "unary op %d not defined for float64", p->op);
            }
        }
        break;
    }
    default:
        return oc_fail(a->d, "unary op %d: unsupported element type %s", p->op, oc_dtype_name(p->dtype));
    }
    return 0;
}
