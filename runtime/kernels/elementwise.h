/* elementwise.h: kernels of the elementwise ops: unary math and
 * activations (float32), and binary/variadic ops with numpy broadcasting
 * (float32, float64, int32, int64, uint8, bool, ...). The compiler side
 * (attribute checks, shape rules, lowering) is compiler/ops/elementwise.c. */
#ifndef ONNXC_KERNELS_ELEMENTWISE_H
#define ONNXC_KERNELS_ELEMENTWISE_H

#include "../plan.h"

/* Scalars some activations take (LeakyRelu alpha, Elu alpha, Selu alpha
 * and gamma, HardSigmoid alpha and beta, Clip min and max, Shrink bias and
 * lambd, Gelu approximate = tanh). */
typedef struct oc_unary_params {
    float alpha, beta, gamma;
    int approximate;
} oc_unary_params;

/* Unary float32 kernel by ONNX op name, or NULL. */
oc_kernel_fn oc_unary_kernel(const char *op);

/* Broadcasting, numpy style (inputs right-aligned against the output's
 * dims). The parameter block holds only the output's shape: each input's
 * strides (0 where it broadcasts) and element type come from its tensor
 * at run time, so the block stays small whatever the number of inputs. */
typedef struct oc_bcast_params {
    int op;            /* oc_binary_op */
    int dtype;         /* element type of the output's computation */
    int rank;          /* output rank */
    int64_t dims[OC_MAX_RANK];
    int n_in;          /* 2 for binary, 3 for Where, up to 64 for Sum/Mean/Max/Min */
    int fmod;          /* Mod: 1 = C fmod, 0 = Python-style sign of divisor */
    int slope_channel; /* PRelu before opset 7: a 1-D slope (input 1) runs along dim 1 */
} oc_bcast_params;

enum oc_binary_op {
    OC_BIN_ADD, OC_BIN_SUB, OC_BIN_MUL, OC_BIN_DIV, OC_BIN_POW, OC_BIN_MOD, OC_BIN_MAX, OC_BIN_MIN,
    OC_BIN_EQUAL, OC_BIN_LESS, OC_BIN_LESS_EQ, OC_BIN_GREATER, OC_BIN_GREATER_EQ,
    OC_BIN_AND, OC_BIN_OR, OC_BIN_XOR, OC_BIN_BIT_AND, OC_BIN_BIT_OR, OC_BIN_BIT_XOR,
    OC_BIN_SHIFT_LEFT, OC_BIN_SHIFT_RIGHT, OC_BIN_SUM, OC_BIN_MEAN, OC_BIN_PRELU, OC_BIN_WHERE,
};

/* Fills strides for input shapes against the output shape. */
void oc_bcast_strides(const oc_tensor *in, int rank, const int64_t *dims, int64_t *strides);

int oc_binary_forward(const oc_kargs *a);
int oc_clip_forward(const oc_kargs *a);

/* Backward: ReluGrad(dY, Y) -> dX; SumToShape(dY, like) -> dX summed over
 * the dims that broadcasting expanded (dims: dY's; rank: dY's). */
int oc_relu_backward(const oc_kargs *a);
int oc_sum_to_shape(const oc_kargs *a);

/* ActivationGrad(dY, X, Y) -> dX = dY * f'(x) for the activation named by
 * op (LeakyRelu, Elu, Gelu, Sigmoid, Tanh, Softplus, Swish, Erf, Sqrt,
 * Exp, Log), float32, with the forward's oc_unary_params; NULL when op has
 * no backward kernel. ClipGrad(dY, X, Y, min?, max?) passes dY where
 * min <= x <= max. */
oc_kernel_fn oc_unary_backward_kernel(const char *op);
int oc_clip_backward(const oc_kargs *a);

#endif
