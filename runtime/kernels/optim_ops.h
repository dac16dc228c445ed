/* optim_ops.h: kernels of the optimizer ops of ONNX's training-preview
 * domain ai.onnx.preview.training (opset 1): Adagrad, Adam and Momentum
 * (standard and Nesterov). The compiler side (attributes, shape rules,
 * lowering) is compiler/ops/optim_ops.c. These are the ONNX ops a file
 * may hold; onnxc's own training loop uses runtime/optim.c instead.
 *
 * Every op takes R (learning rate, scalar) and T (update count, int64
 * scalar), then n tensors to optimize and their per-tensor state, grouped
 * by kind (X_1..X_n, G_1..G_n, ...), and returns the new tensors grouped
 * the same way. The update is elementwise, in double precision; X, G and
 * the state of one tensor share one shape and a float or double type. */
#ifndef ONNXC_KERNELS_OPTIM_OPS_H
#define ONNXC_KERNELS_OPTIM_OPS_H

#include "../plan.h"

enum { OC_OPTOP_ADAGRAD, OC_OPTOP_ADAM, OC_OPTOP_MOMENTUM, OC_OPTOP_NESTEROV };

typedef struct oc_optim_op_params {
    int kind;                 /* OC_OPTIM_* */
    int n;                    /* tensors optimized */
    double alpha, beta;       /* Adam's and Momentum's coefficients */
    double epsilon;           /* Adagrad, Adam */
    double decay_factor;      /* Adagrad */
    double norm_coefficient;  /* L2 term added to the gradient: G + norm_coefficient * X */
    double norm_coefficient_post; /* Adam: X_final = (1 - this) * X_new */
} oc_optim_op_params;

/* With g = G + norm_coefficient * X:
 *   Adagrad:  r = R / (1 + T * decay_factor); H' = H + g^2;
 *             X' = X - r * g / (sqrt(H') + epsilon)          -> X', H'
 *   Adam:     V' = alpha V + (1 - alpha) g; H' = beta H + (1 - beta) g^2;
 *             r = T > 0 ? R sqrt(1 - beta^T) / (1 - alpha^T) : R;
 *             X' = (1 - norm_coefficient_post)(X - r V' / (sqrt(H') + epsilon))  -> X', V', H'
 *   Momentum: b = T > 0 ? beta : 1; V' = alpha V + b g;
 *             standard X' = X - R V'; Nesterov X' = X - R (g + alpha V')  -> X', V'
 * (ONNX Operators.md, ai.onnx.preview.training.Adagrad / Adam / Momentum). */
int oc_optim_op_forward(const oc_kargs *a);

#endif
