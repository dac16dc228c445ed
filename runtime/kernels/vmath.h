/* vmath.h: float32 math written so that gcc vectorizes the loops that
 * call it: no libm calls, no branches (selects only), bit manipulation
 * through memcpy. The unary kernels (elementwise.c), the fused epilogue
 * (epilogue.c: oc_act_apply) and Softmax (reduce.c) use these same
 * functions, so a fused Conv+Sigmoid and an unfused one agree bit for bit.
 *
 * exp(x) (Cody-Waite range reduction, as Cephes expf):
 *   n = round(x / ln 2), r = x - n ln 2 (ln 2 split in a 9-bit head and a
 *   tail, so n * head is exact for |n| <= 2^15), |r| <= ln 2 / 2;
 *   e^r = 1 + r + r^2 P(r), P the degree-5 minimax polynomial of Cephes;
 *   e^x = e^r * 2^n1 * 2^n2 with n1 = n >> 1, n2 = n - n1 (two scalings
 *   keep each power of two a normal float, so results in the subnormal
 *   range round once and e^x > FLT_MAX overflows to +inf by the multiply).
 *   x is clamped to [-104, 89] first (e^-104 is below half the smallest
 *   subnormal, e^89 above FLT_MAX), so -inf gives 0 and +inf gives +inf;
 *   NaN propagates through r. Measured max error: see tests/ops/test_elementwise.c.
 * sigmoid(x) = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below (e^-|x|
 *   never overflows, so tiny results keep their relative accuracy).
 * tanh(x): |x| < 0.625: x + x^3 Q(x^2) (Cephes tanhf polynomial, no
 *   cancellation near 0); else sign(x) (1 - 2 / (e^{2|x|} + 1)).
 * log(x), x > 0 normal: x = m 2^e with m in [sqrt(1/2), sqrt 2), then
 *   log m = f - f^2/2 + f^3 R(f), f = m - 1 (Cephes logf), + e ln 2.
 * log1p(y), y >= 0: log(u) * y / (u - 1) with u = 1 + y (Goldberg's
 *   correction of the rounding in 1 + y); y when u == 1.
 * softplus(x) = max(x, 0) + log1p(e^-|x|).
 * gelu, tanh form: x/2 (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
 *
 * OC_VEC_CLONES marks a hot loop function for function multiversioning
 * (gcc target_clones): an AVX-512, an AVX2 (x86-64-v3) and a baseline
 * build, picked once at load time from the CPU, so one binary runs
 * everywhere and uses the widest vectors it has. The project compiles with
 * -std=c11, which keeps floating-point contraction off, so every clone
 * computes the same bits. */
#ifndef ONNXC_KERNELS_VMATH_H
#define ONNXC_KERNELS_VMATH_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ONNXC_NO_CLONES)
#define OC_VEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define OC_VEC_CLONES
#endif

static inline uint32_t oc_f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float oc_u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float oc_vexpf(float x)
{
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer in the low bits */
    x = x > 89.0f ? 89.0f : x;
    x = x < -104.0f ? -104.0f : x;
    float t = x * 1.44269504088896341f + round_magic;
    float n = t - round_magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    /* n as an integer from t's low mantissa bits; unsigned arithmetic so a
     * NaN's bit pattern cannot overflow (its p is NaN anyway) */
    uint32_t ni = oc_f2u(t) - oc_f2u(round_magic);
    uint32_t n1 = (uint32_t)((int32_t)ni >> 1), n2 = ni - n1;
    return p * oc_u2f((n1 + 127u) << 23) * oc_u2f((n2 + 127u) << 23);
}

/* e = e^-|x| never overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below,
 * so sigmoid keeps its relative accuracy down to the subnormal range. */
static inline float oc_vsigmoidf(float x)
{
    float e = oc_vexpf(x < 0 ? x : -x);
    float r = 1.0f / (1.0f + e), er = e * r;
    return x < 0 ? er : r;
}

static inline float oc_vtanhf(float x)
{
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float q = -5.70498872745e-3f;
    q = q * z + 2.06390887954e-2f;
    q = q * z - 5.37397155531e-2f;
    q = q * z + 1.33314422036e-1f;
    q = q * z - 3.33332819422e-1f;
    float small = q * z * x + x;
    float big = 1.0f - 2.0f / (oc_vexpf(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    small = ax == 0.0f ? x : small; /* keeps the sign of -0 */
    return ax < 0.625f ? small : big;
}

/* log of a positive normal float (what log1p below needs; no checks for 0,
 * negative, subnormal or inf inputs). */
static inline float oc_vlogf_pos(float x)
{
    uint32_t u = oc_f2u(x);
    float e = (float)(int32_t)((u >> 23) - 126u);
    float m = oc_u2f((u & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
    /* both arms computed first: selects between values, which gcc
     * if-converts (it will not speculate a trapping FP op out of an arm) */
    int lo = m < 0.707106781186547524f;
    float em1 = e - 1.0f, f_lo = m + m - 1.0f, f_hi = m - 1.0f;
    e = lo ? em1 : e;
    float f = lo ? f_lo : f_hi;
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y = y + e * -2.12194440e-4f;
    y = y - 0.5f * z;
    return f + y + e * 0.693359375f;
}

/* log(1 + y) for 0 <= y <= 1 (softplus' range). */
static inline float oc_vlog1pf_unit(float y)
{
    float u = 1.0f + y, d = u - 1.0f;
    float l = oc_vlogf_pos(u) * (y / (d == 0.0f ? 1.0f : d));
    return d == 0.0f ? y : l;
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|); +-inf and NaN propagate. */
static inline float oc_vsoftplusf(float x)
{
    float ax = x < 0 ? -x : x;
    float pos = x > 0 ? x : 0.0f;
    return pos + oc_vlog1pf_unit(oc_vexpf(-ax));
}

/* x sigmoid(alpha x) (Swish; SiLU is alpha = 1). */
static inline float oc_vswishf(float x, float alpha) { return x * oc_vsigmoidf(alpha * x); }

/* GELU, tanh approximation, as x sigmoid(2u) (no cancellation in 1 + tanh). */
static inline float oc_vgelu_tanhf(float x)
{
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return x * oc_vsigmoidf(2.0f * u);
}

#endif
