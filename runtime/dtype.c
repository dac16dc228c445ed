/* dtype.c: see dtype.h. The element-type table, the small float formats
 * (one descriptor each, one encoder and one decoder for all of them), and
 * the per-element get/set helpers that the Cast kernel, the tensor
 * accessors and the importer share. */
#include "dtype.h"

#include <math.h>
#include <string.h>

#include "tensor.h"

/* ---------------------------------------------------------------- table */

#define ROW(id, nm, cn, k, b, s) [id] = {nm, cn, k, b, s}
static const oc_dtype_info table[] = {
    ROW(OC_UNDEFINED, "undefined", "OC_UNDEFINED", OC_KIND_NONE, 0, 0),
    ROW(OC_FLOAT, "float32", "OC_FLOAT", OC_KIND_FLOAT, 32, 4),
    ROW(OC_UINT8, "uint8", "OC_UINT8", OC_KIND_UINT, 8, 1),
    ROW(OC_INT8, "int8", "OC_INT8", OC_KIND_SINT, 8, 1),
    ROW(OC_UINT16, "uint16", "OC_UINT16", OC_KIND_UINT, 16, 2),
    ROW(OC_INT16, "int16", "OC_INT16", OC_KIND_SINT, 16, 2),
    ROW(OC_INT32, "int32", "OC_INT32", OC_KIND_SINT, 32, 4),
    ROW(OC_INT64, "int64", "OC_INT64", OC_KIND_SINT, 64, 8),
    ROW(OC_STRING, "string", "OC_STRING", OC_KIND_STRING, 128, 16),
    ROW(OC_BOOL, "bool", "OC_BOOL", OC_KIND_BOOL, 8, 1),
    ROW(OC_FLOAT16, "float16", "OC_FLOAT16", OC_KIND_FLOAT, 16, 2),
    ROW(OC_DOUBLE, "float64", "OC_DOUBLE", OC_KIND_FLOAT, 64, 8),
    ROW(OC_UINT32, "uint32", "OC_UINT32", OC_KIND_UINT, 32, 4),
    ROW(OC_UINT64, "uint64", "OC_UINT64", OC_KIND_UINT, 64, 8),
    ROW(OC_COMPLEX64, "complex64", "OC_COMPLEX64", OC_KIND_NONE, 64, 0),
    ROW(OC_COMPLEX128, "complex128", "OC_COMPLEX128", OC_KIND_NONE, 128, 0),
    ROW(OC_BFLOAT16, "bfloat16", "OC_BFLOAT16", OC_KIND_FLOAT, 16, 2),
    ROW(OC_FLOAT8E4M3FN, "float8e4m3fn", "OC_FLOAT8E4M3FN", OC_KIND_FLOAT, 8, 1),
    ROW(OC_FLOAT8E4M3FNUZ, "float8e4m3fnuz", "OC_FLOAT8E4M3FNUZ", OC_KIND_FLOAT, 8, 1),
    ROW(OC_FLOAT8E5M2, "float8e5m2", "OC_FLOAT8E5M2", OC_KIND_FLOAT, 8, 1),
    ROW(OC_FLOAT8E5M2FNUZ, "float8e5m2fnuz", "OC_FLOAT8E5M2FNUZ", OC_KIND_FLOAT, 8, 1),
    ROW(OC_UINT4, "uint4", "OC_UINT4", OC_KIND_UINT, 4, 1),
    ROW(OC_INT4, "int4", "OC_INT4", OC_KIND_SINT, 4, 1),
    ROW(OC_FLOAT4E2M1, "float4e2m1", "OC_FLOAT4E2M1", OC_KIND_FLOAT, 4, 1),
    ROW(OC_FLOAT8E8M0, "float8e8m0", "OC_FLOAT8E8M0", OC_KIND_FLOAT, 8, 1),
    ROW(OC_UINT2, "uint2", "OC_UINT2", OC_KIND_UINT, 2, 1),
    ROW(OC_INT2, "int2", "OC_INT2", OC_KIND_SINT, 2, 1),
};
#undef ROW

_Static_assert(sizeof table / sizeof table[0] == OC_DTYPE_LIMIT, "one table row per element type");

const oc_dtype_info *oc_dtype_info_of(int dtype)
{
    static const oc_dtype_info unknown = {"unknown-dtype", NULL, OC_KIND_NONE, 0, 0};
    return dtype >= 0 && dtype < OC_DTYPE_LIMIT && table[dtype].name ? &table[dtype] : &unknown;
}

size_t oc_dtype_size(int dtype) { return oc_dtype_info_of(dtype)->size; }

const char *oc_dtype_name(int dtype) { return oc_dtype_info_of(dtype)->name; }

/* ---------------------------------------------------------------- packing */

size_t oc_dtype_wire_bytes(int dtype, int64_t numel)
{
    const oc_dtype_info *t = oc_dtype_info_of(dtype);
    if (t->bits < 8)
        return (size_t)((numel * t->bits + 7) / 8);
    return (size_t)numel * t->size;
}

void oc_dtype_unpack(int dtype, const uint8_t *src, int64_t numel, void *dst)
{
    const oc_dtype_info *t = oc_dtype_info_of(dtype);
    if (t->bits >= 8) {
        if (numel)
            memcpy(dst, src, (size_t)numel * t->size);
        return;
    }
    int bits = t->bits, per = 8 / bits;
    unsigned mask = (1u << bits) - 1, sbit = 1u << (bits - 1);
    uint8_t *y = dst;
    for (int64_t i = 0; i < numel; i++) {
        unsigned v = (src[i / per] >> (bits * (int)(i % per))) & mask;
        /* signed: sign-extend into the byte */
        y[i] = t->kind == OC_KIND_SINT ? (uint8_t)(int8_t)((int)(v ^ sbit) - (int)sbit) : (uint8_t)v;
    }
}

void oc_dtype_pack(int dtype, const void *src, int64_t numel, uint8_t *dst)
{
    const oc_dtype_info *t = oc_dtype_info_of(dtype);
    if (t->bits >= 8) {
        if (numel)
            memcpy(dst, src, (size_t)numel * t->size);
        return;
    }
    int bits = t->bits, per = 8 / bits;
    unsigned mask = (1u << bits) - 1;
    const uint8_t *x = src;
    memset(dst, 0, oc_dtype_wire_bytes(dtype, numel));
    for (int64_t i = 0; i < numel; i++)
        dst[i / per] |= (uint8_t)((x[i] & mask) << (bits * (int)(i % per)));
}

/* ---------------------------------------------------------------- float16, bfloat16 */

float oc_half_to_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m + 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Direct rounding from double, so that float64 -> float16 rounds once. */
uint16_t oc_float_to_half(double v)
{
    uint16_t sign = signbit(v) ? 0x8000 : 0;
    double a = fabs(v);
    if (isnan(v))
        return (uint16_t)(sign | 0x7e00);
    if (a >= 65520.0) /* halfway between 65504 and 2^16 rounds (to even) to inf */
        return (uint16_t)(sign | 0x7c00);
    if (a < 6.103515625e-05) /* below 2^-14: subnormal, in units of 2^-24 */
        return (uint16_t)(sign | (uint16_t)nearbyint(ldexp(a, 24))); /* 1024 is the smallest normal */
    int k;
    frexp(a, &k); /* a = f * 2^k, f in [0.5, 1): a has exponent k - 1 */
    double q = nearbyint(ldexp(a, 11 - k)); /* 11 significant bits, in [1024, 2048] */
    if (q >= 2048) {
        q = 1024;
        k++;
    }
    return (uint16_t)(sign | ((k - 1 + 15) << 10) | ((uint16_t)q - 1024));
}

float oc_bf16_to_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t oc_float_to_bf16(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if (isnan(v))
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

/* ---------------------------------------------------------------- small floats */

/* How a format spells NaN: IEEE-like (exponent all ones, mantissa not
 * zero: e5m2), all bits ones (S.1111.111: e4m3fn), the negative-zero code
 * 0x80 (the fnuz formats, which have no -0), or not at all (e2m1). */
enum { NAN_IEEE, NAN_ONES, NAN_NEGZERO, NAN_NONE };

typedef struct small_float {
    int ebits, mbits, bias;
    int nan;         /* NAN_* */
    int has_inf;     /* e5m2 only */
    unsigned max;    /* magnitude code of the largest finite value */
} small_float;

/* Sign-magnitude formats (OCP FP8 spec, arXiv:2209.05433 and 2206.02915;
 * e2m1: OCP Microscaling Formats v1.0). Largest finite values: e4m3fn 448,
 * e4m3fnuz 240, e5m2 and e5m2fnuz 57344, e2m1 6. */
static const small_float *small_float_of(int dtype)
{
    static const small_float e4m3fn = {4, 3, 7, NAN_ONES, 0, 0x7e}, e4m3fnuz = {4, 3, 8, NAN_NEGZERO, 0, 0x7f},
                             e5m2 = {5, 2, 15, NAN_IEEE, 1, 0x7b}, e5m2fnuz = {5, 2, 16, NAN_NEGZERO, 0, 0x7f},
                             e2m1 = {2, 1, 1, NAN_NONE, 0, 0x7};
    switch (dtype) {
    case OC_FLOAT8E4M3FN: return &e4m3fn;
    case OC_FLOAT8E4M3FNUZ: return &e4m3fnuz;
    case OC_FLOAT8E5M2: return &e5m2;
    case OC_FLOAT8E5M2FNUZ: return &e5m2fnuz;
    case OC_FLOAT4E2M1: return &e2m1;
    default: return NULL;
    }
}

static double e8m0_decode(uint8_t code) { return code == 0xff ? NAN : ldexp(1.0, (int)code - 127); }

/* float8e8m0 holds only a biased exponent (2^(code - 127), 0xff NaN).
 * Rounding follows the ONNX reference (numpy_helper.to_float8e8m0), on
 * the float32 bits of v: "up" takes the next power of two whenever there
 * is a fraction, "down" drops it, "nearest" rounds on the guard bit with
 * ties up; saturate keeps 2^127 from rounding into NaN. The sign is
 * ignored (negative inputs are undefined in the spec). */
static uint8_t e8m0_encode(double v, const oc_cvt_mode *m)
{
    float f = (float)v;
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    unsigned e = (b >> 23) & 0xff;
    if (e == 0xff)
        return 0xff;
    int up = 0;
    if (m->round_mode == OC_ROUND_NEAREST)
        up = (b & 0x400000) && ((b & 0x200000) || (b & 0x1fffff) || e > 0);
    else if (m->round_mode == OC_ROUND_UP)
        up = (b & 0x7fffff) != 0;
    if (up && m->saturate && e == 0xfe)
        up = 0;
    return (uint8_t)(e + (unsigned)up);
}

double oc_small_float_decode(int dtype, uint8_t code)
{
    if (dtype == OC_FLOAT8E8M0)
        return e8m0_decode(code);
    const small_float *f = small_float_of(dtype);
    if (!f)
        return 0;
    int width = f->ebits + f->mbits;
    unsigned emask = (1u << f->ebits) - 1, mmask = (1u << f->mbits) - 1;
    unsigned neg = (code >> width) & 1, e = (code >> f->mbits) & emask, m = code & mmask;
    if (f->nan == NAN_NEGZERO && code == (1u << width))
        return copysign(NAN, -1.0); /* the code's sign bit, as ml_dtypes decodes it */
    if (f->nan == NAN_IEEE && e == emask)
        return m ? NAN : neg ? -INFINITY : INFINITY;
    if (f->nan == NAN_ONES && e == emask && m == mmask)
        return copysign(NAN, neg ? -1.0 : 1.0);
    double v = e == 0 ? ldexp(m, 1 - f->bias - f->mbits) : ldexp(m | (1u << f->mbits), (int)e - f->bias - f->mbits);
    return neg ? -v : v;
}

/* Rounds |v| to the format's grid once, to nearest even, as if its
 * exponent range were unbounded above, then applies the overflow rule to
 * the rounded value (Cast: "[x] > FLT_MAX"). Magnitude codes are ordered
 * like the values they stand for, so one comparison with the largest
 * finite code finds overflow. */
uint8_t oc_small_float_encode(int dtype, double v, const oc_cvt_mode *m)
{
    if (dtype == OC_FLOAT8E8M0)
        return e8m0_encode(v, m);
    const small_float *f = small_float_of(dtype);
    if (!f)
        return 0;
    int width = f->ebits + f->mbits;
    unsigned sign = signbit(v) ? 1u << width : 0;
    /* e2m1 has neither NaN nor inf and always saturates (saturate is a
     * float8 attribute); NaN becomes 0x8, as in the ONNX test data */
    int saturate = m->saturate || f->nan == NAN_NONE;
    unsigned nan_code = f->nan == NAN_IEEE   ? sign | 0x7e
                        : f->nan == NAN_ONES ? sign | 0x7f
                                             : 1u << width;
    if (isnan(v))
        return (uint8_t)nan_code;
    double a = fabs(v), top = oc_small_float_decode(dtype, (uint8_t)f->max);
    unsigned mag;
    if (a > 2 * top) { /* inf included: far beyond any rounding */
        mag = f->max + 1;
    } else {
        int emin = 1 - f->bias; /* exponent of the smallest normal */
        if (a < ldexp(1.0, emin)) {
            mag = (unsigned)nearbyint(ldexp(a, f->mbits - emin)); /* subnormal steps; 1 << mbits is normal */
        } else {
            int k;
            frexp(a, &k); /* a = g * 2^k, g in [0.5, 1): exponent k - 1 */
            unsigned q = (unsigned)nearbyint(ldexp(a, f->mbits - (k - 1))); /* in [2^mbits, 2^(mbits+1)] */
            mag = ((unsigned)(k - 1 + f->bias) << f->mbits) + q - (1u << f->mbits); /* carry moves the exponent */
        }
    }
    if (mag > f->max) {
        if (saturate)
            mag = f->max;
        else if (f->has_inf)
            return (uint8_t)(sign | (((1u << f->ebits) - 1) << f->mbits));
        else
            return (uint8_t)nan_code;
    }
    if (mag == 0 && f->nan == NAN_NEGZERO)
        return 0; /* no negative zero */
    return (uint8_t)(sign | mag);
}

/* ---------------------------------------------------------------- integers */

int64_t oc_int_wrap(int dtype, int64_t v)
{
    const oc_dtype_info *t = oc_dtype_info_of(dtype);
    if (t->kind == OC_KIND_BOOL)
        return v != 0;
    if (t->bits >= 64 || (t->kind != OC_KIND_SINT && t->kind != OC_KIND_UINT))
        return v;
    uint64_t mask = ((uint64_t)1 << t->bits) - 1, u = (uint64_t)v & mask;
    if (t->kind == OC_KIND_SINT && (u >> (t->bits - 1)))
        u |= ~mask;
    return (int64_t)u;
}

int64_t oc_f64_to_i64(double v)
{
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

uint64_t oc_f64_to_u64(double v)
{
    if (v != v || v <= -1.0)
        return v <= -1.0 ? (uint64_t)oc_f64_to_i64(v) : 0;
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)v;
}

/* ---------------------------------------------------------------- elements */

double oc_elem_get_f64(int dtype, const void *base, int64_t i)
{
    switch (dtype) {
    case OC_FLOAT: return ((const float *)base)[i];
    case OC_DOUBLE: return ((const double *)base)[i];
    case OC_FLOAT16: return oc_half_to_float(((const uint16_t *)base)[i]);
    case OC_BFLOAT16: return oc_bf16_to_float(((const uint16_t *)base)[i]);
    case OC_INT64: return (double)((const int64_t *)base)[i];
    case OC_UINT64: return (double)((const uint64_t *)base)[i];
    case OC_INT32: return ((const int32_t *)base)[i];
    case OC_UINT32: return ((const uint32_t *)base)[i];
    case OC_INT16: return ((const int16_t *)base)[i];
    case OC_UINT16: return ((const uint16_t *)base)[i];
    case OC_INT8: case OC_INT4: case OC_INT2: return ((const int8_t *)base)[i];
    case OC_UINT8: case OC_UINT4: case OC_UINT2: return ((const uint8_t *)base)[i];
    case OC_BOOL: return ((const uint8_t *)base)[i] != 0;
    case OC_FLOAT8E4M3FN: case OC_FLOAT8E4M3FNUZ: case OC_FLOAT8E5M2: case OC_FLOAT8E5M2FNUZ:
    case OC_FLOAT4E2M1: case OC_FLOAT8E8M0:
        return oc_small_float_decode(dtype, ((const uint8_t *)base)[i]);
    default: return 0;
    }
}

int64_t oc_elem_get_i64(int dtype, const void *base, int64_t i)
{
    switch (dtype) {
    case OC_INT64: return ((const int64_t *)base)[i];
    case OC_UINT64: return (int64_t)((const uint64_t *)base)[i];
    case OC_INT32: return ((const int32_t *)base)[i];
    case OC_UINT32: return ((const uint32_t *)base)[i];
    case OC_INT16: return ((const int16_t *)base)[i];
    case OC_UINT16: return ((const uint16_t *)base)[i];
    case OC_INT8: case OC_INT4: case OC_INT2: return ((const int8_t *)base)[i];
    case OC_UINT8: case OC_UINT4: case OC_UINT2: return ((const uint8_t *)base)[i];
    case OC_BOOL: return ((const uint8_t *)base)[i] != 0;
    default: return oc_f64_to_i64(oc_elem_get_f64(dtype, base, i));
    }
}

void oc_elem_set_f64_mode(int dtype, void *base, int64_t i, double v, const oc_cvt_mode *m)
{
    switch (dtype) {
    case OC_FLOAT: ((float *)base)[i] = (float)v; break;
    case OC_DOUBLE: ((double *)base)[i] = v; break;
    case OC_FLOAT16: ((uint16_t *)base)[i] = oc_float_to_half(v); break;
    case OC_BFLOAT16: ((uint16_t *)base)[i] = oc_float_to_bf16((float)v); break;
    case OC_UINT64: ((uint64_t *)base)[i] = oc_f64_to_u64(v); break;
    case OC_FLOAT8E4M3FN: case OC_FLOAT8E4M3FNUZ: case OC_FLOAT8E5M2: case OC_FLOAT8E5M2FNUZ:
    case OC_FLOAT4E2M1: case OC_FLOAT8E8M0:
        ((uint8_t *)base)[i] = oc_small_float_encode(dtype, v, m);
        break;
    case OC_BOOL: ((uint8_t *)base)[i] = v != 0; break;
    default: oc_elem_set_i64(dtype, base, i, oc_f64_to_i64(v)); break;
    }
}

void oc_elem_set_f64(int dtype, void *base, int64_t i, double v)
{
    static const oc_cvt_mode dflt = {1, OC_ROUND_UP};
    oc_elem_set_f64_mode(dtype, base, i, v, &dflt);
}

void oc_elem_set_i64(int dtype, void *base, int64_t i, int64_t v)
{
    switch (dtype) {
    case OC_INT64: case OC_UINT64: ((int64_t *)base)[i] = v; break;
    case OC_INT32: ((int32_t *)base)[i] = (int32_t)v; break;
    case OC_UINT32: ((uint32_t *)base)[i] = (uint32_t)v; break;
    case OC_INT16: ((int16_t *)base)[i] = (int16_t)v; break;
    case OC_UINT16: ((uint16_t *)base)[i] = (uint16_t)v; break;
    case OC_INT8: ((int8_t *)base)[i] = (int8_t)v; break;
    case OC_UINT8: ((uint8_t *)base)[i] = (uint8_t)v; break;
    case OC_INT4: case OC_INT2: ((int8_t *)base)[i] = (int8_t)oc_int_wrap(dtype, v); break;
    case OC_UINT4: case OC_UINT2: ((uint8_t *)base)[i] = (uint8_t)oc_int_wrap(dtype, v); break;
    case OC_BOOL: ((uint8_t *)base)[i] = v != 0; break;
    default: oc_elem_set_f64(dtype, base, i, (double)v); break;
    }
}

uint64_t oc_elem_get_bits(int dtype, const void *base, int64_t i)
{
    const oc_dtype_info *t = oc_dtype_info_of(dtype);
    uint64_t u = 0;
    memcpy(&u, (const uint8_t *)base + (size_t)i * t->size, t->size); /* little-endian hosts */
    return t->bits < 64 ? u & (((uint64_t)1 << t->bits) - 1) : u;
}

void oc_elem_set_bits(int dtype, void *base, int64_t i, uint64_t bits)
{
    const oc_dtype_info *t = oc_dtype_info_of(dtype);
    if (t->bits < 8 && t->kind == OC_KIND_SINT)
        bits = (uint64_t)oc_int_wrap(dtype, (int64_t)bits); /* held sign-extended */
    memcpy((uint8_t *)base + (size_t)i * t->size, &bits, t->size);
}
