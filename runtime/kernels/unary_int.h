/* unary_int.h: elementwise unary ops on non-float32 element types: the
 * logical and bit ops (Not on bool, BitwiseNot on any integer type), the
 * float classifiers IsNaN / IsInf (float32, float64, float16, bfloat16 in,
 * bool out), and Abs / Neg / Sign / Relu on integer types and float64.
 * The float32 versions of Abs/Neg/Sign/Relu stay in elementwise.c; the
 * compiler side (compiler/ops/elementwise.c) routes other dtypes here. */
#ifndef ONNXC_KERNELS_UNARY_INT_H
#define ONNXC_KERNELS_UNARY_INT_H

#include "../plan.h"

enum oc_unary_int_op {
    OC_UI_NOT, OC_UI_BITWISE_NOT, OC_UI_ISNAN, OC_UI_ISINF, OC_UI_ABS, OC_UI_NEG, OC_UI_SIGN, OC_UI_RELU,
};

typedef struct oc_unary_int_params {
    int op;     /* oc_unary_int_op */
    int dtype;  /* element type of the input */
    int detect_positive, detect_negative; /* IsInf */
} oc_unary_int_params;

/* The op code for an ONNX op name, -1 when it is not one of these. */
int oc_unary_int_op_code(const char *op);
/* Whether the kernel handles op on input element type dtype. */
int oc_unary_int_supports(int op, int dtype);

int oc_unary_int_forward(const oc_kargs *a);

#endif
