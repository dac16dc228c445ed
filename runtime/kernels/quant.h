/* quant.h: kernels of the quantization ops: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul,
 * ConvInteger and QLinearConv. The compiler side (attributes, shape rules,
 * lowering) is compiler/ops/quant.c; element conversions come from
 * runtime/dtype.h.
 *
 * Products of quantized values are integer arithmetic: (a - a_zp) and
 * (b - b_zp) are exact integers, their sum of products accumulates in
 * int64 and is wrapped to int32 as the ONNX reference does. Only the
 * requantization (C * a_scale * b_scale / y_scale + y_zp) is floating
 * point: the multiplier in the scale's own precision, the product in
 * double, rounded half to even and clamped to the output type
 * (onnx/reference/ops/op_qlinear_matmul.py). */
#ifndef ONNXC_KERNELS_QUANT_H
#define ONNXC_KERNELS_QUANT_H

#include "../plan.h"

/* Where the scale and zero point of an element are: x is seen as
 * [outer, axis_dim, inner] around the quantization axis, and element
 * (o, d, i) reads entry o * s_outer + (d / block) * s_axis + i * s_inner.
 * Per tensor: all strides 0; per axis: block 1, s_axis 1; blocked: the
 * scale has x's shape with ceil(axis_dim / block) along the axis. */
typedef struct oc_quant_params {
    int x_dtype, y_dtype, scale_dtype;
    int has_zp;
    int saturate;  /* float8 outputs: clamp instead of inf/NaN */
    int precision; /* dtype the division x / scale is rounded to */
    int64_t outer, axis_dim, inner, block;
    int64_t s_outer, s_axis, s_inner;
} oc_quant_params;

/* QuantizeLinear: y = saturate(round_half_even(x / scale) + zp) for the
 * integer outputs; float8: the saturating (or not) cast of x / scale;
 * float4e2m1: the cast of x / scale + zp. */
int oc_quantize_forward(const oc_kargs *a);
/* DequantizeLinear: y = (x - zp) * scale, the difference exact, the
 * product in float32 (float8 and float4 inputs ignore the zero point). */
int oc_dequantize_forward(const oc_kargs *a);

/* DynamicQuantizeLinear (float32 -> uint8): scale = (max(0, max x) -
 * min(0, min x)) / 255 (1 when both are 0), zp = round(clamp(-min / scale,
 * 0, 255)), y = clamp(round(x / scale) + zp, 0, 255). */
int oc_dynamic_quantize_forward(const oc_kargs *a);

/* Batched integer matmul, numpy broadcasting of the batch dims. Zero
 * points and scales are per tensor (size 1), per row of A (M entries) or
 * per column of B (N entries): the *_rows / *_cols flags. */
typedef struct oc_qmatmul_params {
    int a_dtype, b_dtype, y_dtype, scale_dtype;
    int requant;        /* 1: QLinearMatMul (scales, y_zp), 0: MatMulInteger (int32 out) */
    int a_zp_rows, b_zp_cols, a_scale_rows, b_scale_cols;
    int brank;          /* batch dims of the output */
    int64_t bdims[OC_MAX_RANK];
    int64_t a_bstride[OC_MAX_RANK], b_bstride[OC_MAX_RANK]; /* in matrices, 0 where broadcast */
    int64_t m, k, n;
} oc_qmatmul_params;

int oc_qmatmul_forward(const oc_kargs *a);

/* ConvInteger / QLinearConv, direct loops (NC + spatial, group, stride,
 * dilation, pads at the start; the end pads are implied by out[]). */
#define OC_QCONV_MAX_SPATIAL 4
typedef struct oc_qconv_params {
    int x_dtype, w_dtype, y_dtype, scale_dtype;
    int requant;      /* 1: QLinearConv, 0: ConvInteger (int32 out) */
    int w_zp_per_channel, w_scale_per_channel, has_bias;
    int nsp;
    int64_t batch, cin, cout, group;
    int64_t in[OC_QCONV_MAX_SPATIAL], out[OC_QCONV_MAX_SPATIAL], k[OC_QCONV_MAX_SPATIAL];
    int64_t s[OC_QCONV_MAX_SPATIAL], dil[OC_QCONV_MAX_SPATIAL], pb[OC_QCONV_MAX_SPATIAL];
} oc_qconv_params;

int oc_qconv_forward(const oc_kargs *a);

#endif
