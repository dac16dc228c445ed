/* quant.c: see quant.h. Plain loops: these ops run in the ONNX tests and
 * in small quantized graphs; none is on a hot path of onnxc's models, so
 * each kernel is its own reference. */
#include "quant.h"

#include <math.h>
#include <string.h>

#include "../dtype.h"
#include "table.h"

/* v rounded to the precision of float type dt (one rounding: the double
 * quotient or product of two narrower floats is exact enough that rounding
 * it again equals the correctly rounded narrow operation). */
static double round_to(int dt, double v)
{
    uint64_t cell = 0;
    oc_elem_set_f64(dt, &cell, 0, v);
    return oc_elem_get_f64(dt, &cell, 0);
}

/* Value range of an integer type from the element-type table. */
static void int_range(int dt, int64_t *lo, int64_t *hi)
{
    const oc_dtype_info *t = oc_dtype_info_of(dt);
    int b = t->bits < 63 ? t->bits : 63;
    *lo = t->kind == OC_KIND_SINT ? -((int64_t)1 << (b - 1)) : 0;
    *hi = t->kind == OC_KIND_SINT ? ((int64_t)1 << (b - 1)) - 1 : ((int64_t)1 << b) - 1;
}

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* round half to even, then into [lo, hi] (NaN -> 0 before clamping) */
static int64_t round_clamp(double v, int64_t lo, int64_t hi)
{
    double r = nearbyint(v);
    if (r != r)
        r = 0;
    return r <= (double)lo ? lo : r >= (double)hi ? hi : (int64_t)r;
}

/* Integer element i (int8/uint8 fast, the rest through the table). */
static inline int64_t ld_int(int dt, const void *p, int64_t i)
{
    if (dt == OC_UINT8)
        return ((const uint8_t *)p)[i];
    if (dt == OC_INT8)
        return ((const int8_t *)p)[i];
    return oc_elem_get_i64(dt, p, i);
}

/* ---------------------------------------------------------------- QuantizeLinear */

int oc_quantize_forward(const oc_kargs *a)
{
    const oc_quant_params *p = a->p;
    const oc_tensor *x = a->in[0], *s = a->in[1], *zp = p->has_zp ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    const oc_dtype_info *yt = oc_dtype_info_of(p->y_dtype);
    int integer = yt->kind == OC_KIND_SINT || yt->kind == OC_KIND_UINT;
    oc_cvt_mode mode = {p->saturate, OC_ROUND_UP};
    int64_t lo = 0, hi = 0;
    if (integer)
        int_range(p->y_dtype, &lo, &hi);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t d = 0; d < p->axis_dim; d++)
            for (int64_t i = 0; i < p->inner; i++) {
                int64_t e = (o * p->axis_dim + d) * p->inner + i;
                int64_t q = o * p->s_outer + (d / p->block) * p->s_axis + i * p->s_inner;
                double v = round_to(p->precision,
                                    oc_elem_get_f64(p->x_dtype, x->data, e) / oc_elem_get_f64(p->scale_dtype, s->data, q));
                if (integer) {
                    int64_t z = zp ? oc_elem_get_i64(p->y_dtype, zp->data, q) : 0;
                    int64_t r = round_clamp(v, INT64_MIN / 2, INT64_MAX / 2); /* keeps r + z in range */
                    oc_elem_set_i64(p->y_dtype, y->data, e, clamp_i64(r + z, lo, hi));
                } else if (p->y_dtype == OC_FLOAT4E2M1) {
                    double z = zp ? oc_elem_get_f64(p->y_dtype, zp->data, q) : 0;
                    oc_elem_set_f64_mode(p->y_dtype, y->data, e, round_to(p->precision, v + z), &mode);
                } else { /* float8: the zero point is 0 by definition */
                    oc_elem_set_f64_mode(p->y_dtype, y->data, e, v, &mode);
                }
            }
    return 0;
}

/* ---------------------------------------------------------------- DequantizeLinear */

int oc_dequantize_forward(const oc_kargs *a)
{
    const oc_quant_params *p = a->p;
    const oc_tensor *x = a->in[0], *s = a->in[1], *zp = p->has_zp ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    int integer = oc_dtype_is_int(p->x_dtype);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t d = 0; d < p->axis_dim; d++)
            for (int64_t i = 0; i < p->inner; i++) {
                int64_t e = (o * p->axis_dim + d) * p->inner + i;
                int64_t q = o * p->s_outer + (d / p->block) * p->s_axis + i * p->s_inner;
                double dx = integer ? (double)(ld_int(p->x_dtype, x->data, e) - (zp ? ld_int(p->x_dtype, zp->data, q) : 0))
                                    : oc_elem_get_f64(p->x_dtype, x->data, e);
                double sv = oc_elem_get_f64(p->scale_dtype, s->data, q);
                /* float32 product (float64 when the scale is) */
                double v = p->scale_dtype == OC_DOUBLE ? dx * sv : (double)((float)dx * (float)sv);
                oc_elem_set_f64(p->y_dtype, y->data, e, v);
            }
    return 0;
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

int oc_dynamic_quantize_forward(const oc_kargs *a)
{
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    const float *xs = x->data;
    float mx = 0, mn = 0; /* the range always includes 0 */
    for (int64_t i = 0; i < x->numel; i++) {
        mx = xs[i] > mx ? xs[i] : mx;
        mn = xs[i] < mn ? xs[i] : mn;
    }
    float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    float izp = 0.0f - mn / scale;
    float zp = nearbyintf(izp < 0 ? 0 : izp > 255 ? 255 : izp);
    uint8_t *ys = y->data;
    for (int64_t i = 0; i < x->numel; i++) {
        float v = nearbyintf(xs[i] / scale) + zp;
        ys[i] = (uint8_t)(v != v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (a->n_out > 1 && a->out[1])
        *(float *)a->out[1]->data = scale;
    if (a->n_out > 2 && a->out[2])
        *(uint8_t *)a->out[2]->data = (uint8_t)zp;
    return 0;
}

/* ---------------------------------------------------------------- MatMulInteger, QLinearMatMul */

/* QLinearMatMul's multiplier a_scale * b_scale / y_scale, each operation
 * rounded to the scales' type as the reference computes it. */
static double requant_multiplier(int dt, double as, double bs, double ys)
{
    return round_to(dt, round_to(dt, as * bs) / ys);
}

int oc_qmatmul_forward(const oc_kargs *a)
{
    const oc_qmatmul_params *p = a->p;
    const oc_tensor *A, *B, *azp, *bzp, *as = NULL, *bs = NULL, *ys = NULL, *yzp = NULL;
    if (p->requant) {
        A = a->in[0], as = a->in[1], azp = a->in[2], B = a->in[3], bs = a->in[4], bzp = a->in[5];
        ys = a->in[6], yzp = a->n_in > 7 ? a->in[7] : NULL;
    } else {
        A = a->in[0], B = a->in[1], azp = a->n_in > 2 ? a->in[2] : NULL, bzp = a->n_in > 3 ? a->in[3] : NULL;
    }
    oc_tensor *Y = a->out[0];
    int64_t lo = 0, hi = 0;
    if (p->requant)
        int_range(p->y_dtype, &lo, &hi);
    int64_t nb = 1, idx[OC_MAX_RANK] = {0};
    for (int d = 0; d < p->brank; d++)
        nb *= p->bdims[d];
    int64_t mk = p->m * p->k, kn = p->k * p->n;
    for (int64_t b = 0; b < nb; b++) {
        int64_t am = 0, bm = 0;
        for (int d = 0; d < p->brank; d++) {
            am += idx[d] * p->a_bstride[d];
            bm += idx[d] * p->b_bstride[d];
        }
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++) {
                int64_t za = azp ? ld_int(p->a_dtype, azp->data, p->a_zp_rows ? i : 0) : 0;
                int64_t zb = bzp ? ld_int(p->b_dtype, bzp->data, p->b_zp_cols ? j : 0) : 0;
                int64_t acc = 0;
                for (int64_t t = 0; t < p->k; t++)
                    acc += (ld_int(p->a_dtype, A->data, am * mk + i * p->k + t) - za) *
                           (ld_int(p->b_dtype, B->data, bm * kn + t * p->n + j) - zb);
                int64_t c = oc_int_wrap(OC_INT32, acc), e = (b * p->m + i) * p->n + j;
                if (!p->requant) {
                    ((int32_t *)Y->data)[e] = (int32_t)c;
                    continue;
                }
                double mult = requant_multiplier(p->scale_dtype,
                                                 oc_elem_get_f64(p->scale_dtype, as->data, p->a_scale_rows ? i : 0),
                                                 oc_elem_get_f64(p->scale_dtype, bs->data, p->b_scale_cols ? j : 0),
                                                 oc_elem_get_f64(p->scale_dtype, ys->data, 0));
                double z = yzp ? (double)ld_int(p->y_dtype, yzp->data, 0) : 0;
                oc_elem_set_i64(p->y_dtype, Y->data, e, round_clamp((double)c * mult + z, lo, hi));
            }
        for (int d = p->brank - 1; d >= 0 && ++idx[d] == p->bdims[d]; d--)
            idx[d] = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- ConvInteger, QLinearConv */

int oc_qconv_forward(const oc_kargs *a)
{
    const oc_qconv_params *p = a->p;
    const oc_tensor *X, *W, *xzp, *wzp, *xs = NULL, *ws = NULL, *ys = NULL, *yzp = NULL, *bias = NULL;
    if (p->requant) {
        X = a->in[0], xs = a->in[1], xzp = a->in[2], W = a->in[3], ws = a->in[4], wzp = a->in[5];
        ys = a->in[6], yzp = a->in[7], bias = p->has_bias ? a->in[8] : NULL;
    } else {
        X = a->in[0], W = a->in[1], xzp = a->n_in > 2 ? a->in[2] : NULL, wzp = a->n_in > 3 ? a->in[3] : NULL;
    }
    oc_tensor *Y = a->out[0];
    int nsp = p->nsp;
    int64_t lo = 0, hi = 0;
    if (p->requant)
        int_range(p->y_dtype, &lo, &hi);
    int64_t in_sz = 1, out_sz = 1, k_sz = 1;
    for (int d = 0; d < nsp; d++) {
        in_sz *= p->in[d];
        out_sz *= p->out[d];
        k_sz *= p->k[d];
    }
    int64_t cpg = p->cin / p->group, mpg = p->cout / p->group;
    int64_t zx = xzp ? ld_int(p->x_dtype, xzp->data, 0) : 0;
    for (int64_t nb = 0; nb < p->batch; nb++)
        for (int64_t m = 0; m < p->cout; m++) {
            int64_t g = m / mpg;
            int64_t zw = wzp ? ld_int(p->w_dtype, wzp->data, p->w_zp_per_channel ? m : 0) : 0;
            double mult = 0, z = 0;
            if (p->requant) {
                mult = requant_multiplier(p->scale_dtype, oc_elem_get_f64(p->scale_dtype, xs->data, 0),
                                          oc_elem_get_f64(p->scale_dtype, ws->data, p->w_scale_per_channel ? m : 0),
                                          oc_elem_get_f64(p->scale_dtype, ys->data, 0));
                z = yzp ? (double)ld_int(p->y_dtype, yzp->data, 0) : 0;
            }
            for (int64_t op = 0; op < out_sz; op++) {
                int64_t oc[OC_QCONV_MAX_SPATIAL], rem = op;
                for (int d = nsp - 1; d >= 0; d--) {
                    oc[d] = rem % p->out[d];
                    rem /= p->out[d];
                }
                int64_t acc = 0;
                for (int64_t c = 0; c < cpg; c++) {
                    int64_t xbase = (nb * p->cin + g * cpg + c) * in_sz, wbase = (m * cpg + c) * k_sz;
                    for (int64_t kp = 0; kp < k_sz; kp++) {
                        int64_t kr = kp, xo = 0, ok = 1;
                        for (int d = nsp - 1; d >= 0; d--) {
                            int64_t kd = kr % p->k[d];
                            kr /= p->k[d];
                            int64_t ip = oc[d] * p->s[d] + kd * p->dil[d] - p->pb[d];
                            if (ip < 0 || ip >= p->in[d]) {
                                ok = 0; /* padding: zero after the zero point is taken off */
                                break;
                            }
                        }
                        if (!ok)
                            continue;
                        kr = kp;
                        int64_t stride = 1;
                        for (int d = nsp - 1; d >= 0; d--) {
                            int64_t kd = kr % p->k[d];
                            kr /= p->k[d];
                            xo += (oc[d] * p->s[d] + kd * p->dil[d] - p->pb[d]) * stride;
                            stride *= p->in[d];
                        }
                        acc += (ld_int(p->x_dtype, X->data, xbase + xo) - zx) *
                               (ld_int(p->w_dtype, W->data, wbase + kp) - zw);
                    }
                }
                int64_t cv = oc_int_wrap(OC_INT32, acc);
                if (bias)
                    cv = oc_int_wrap(OC_INT32, cv + ((const int32_t *)bias->data)[m]);
                int64_t e = (nb * p->cout + m) * out_sz + op;
                if (!p->requant)
                    ((int32_t *)Y->data)[e] = (int32_t)cv;
                else
                    oc_elem_set_i64(p->y_dtype, Y->data, e, round_clamp((double)cv * mult + z, lo, hi));
            }
        }
    return 0;
}

const oc_kernel_info oc_kernels_quant[] = {
    {.name = "oc_quantize_forward", .fn = oc_quantize_forward, .params_type = "oc_quant_params", .ref = NULL},
    {.name = "oc_dequantize_forward", .fn = oc_dequantize_forward, .params_type = "oc_quant_params", .ref = NULL},
    {.name = "oc_dynamic_quantize_forward", .fn = oc_dynamic_quantize_forward, .params_type = "", .ref = NULL},
    {.name = "oc_qmatmul_forward", .fn = oc_qmatmul_forward, .params_type = "oc_qmatmul_params", .ref = NULL},
    {.name = "oc_qconv_forward", .fn = oc_qconv_forward, .params_type = "oc_qconv_params", .ref = NULL},
    {0},
};
