/* rnn.h: kernels of the recurrent ops RNN, GRU and LSTM (ONNX opsets 7,
 * 14, 22), forward only. The compiler side (attributes, shape rules,
 * lowering) is compiler/ops/rnn.c.
 *
 * Inputs, in ONNX order (omitted optional inputs are NULL):
 *   X [seq, batch, in] (layout 0) or [batch, seq, in] (layout 1)
 *   W [dirs, G*H, in], R [dirs, G*H, H], B [dirs, 2*G*H] = (Wb, Rb)
 *   sequence_lens [batch] int32, initial_h [dirs, batch, H] (layout 1:
 *   [batch, dirs, H]); LSTM also initial_c (as initial_h) and P [dirs, 3*H]
 * Outputs (each optional): Y [seq, dirs, batch, H] (layout 1: [batch, seq,
 * dirs, H]), Y_h and, for LSTM, Y_c shaped as initial_h.
 * G = 1 (RNN), 3 (GRU, gates z r h), 4 (LSTM, gates i o f c; P = Pi Po Pf).
 *
 * Per time step, with f g h the direction's activations, clip applied to
 * every activation's input:
 *   RNN   H = f(X Wi^T + H Ri^T + Wbi + Rbi)
 *   GRU   z = f(X Wz^T + H Rz^T + Wbz + Rbz), r likewise,
 *         h = g(X Wh^T + (r . H) Rh^T + Rbh + Wbh)       (linear_before_reset 0)
 *         h = g(X Wh^T + r . (H Rh^T + Rbh) + Wbh)       (linear_before_reset 1)
 *         H = (1 - z) . h + z . H
 *   LSTM  i = f(X Wi^T + H Ri^T + Pi . C + Wbi + Rbi), f likewise with Pf
 *         (f = 1 - i with input_forget), c = g(X Wc^T + H Rc^T + Wbc + Rbc),
 *         C = f . C + i . c, o = f(X Wo^T + H Ro^T + Po . C + Wbo + Rbo),
 *         H = o . h(C)
 * A reverse direction runs t = len-1 .. 0 of each batch row's own length
 * (sequence_lens, default seq); Y is zero at t >= len, Y_h / Y_c hold the
 * state after the row's last step.
 *
 * oc_rnn_forward computes X W^T for all steps in one SGEMM and H R^T per
 * step with SGEMM over the batch; oc_rnn_ref is the plain-loop reference.
 * What it buys (onnxc bench --compare fused,ref, one LSTM, seq 50, batch 16,
 * input 128, hidden 256, 1 thread, avx512, on a shared loaded machine):
 * 80 ms against 487 ms median. */
#ifndef ONNXC_KERNELS_RNN_H
#define ONNXC_KERNELS_RNN_H

#include <stddef.h>
#include <stdint.h>

#include "../plan.h"

enum oc_rnn_kind { OC_RNN_SIMPLE = 0, OC_RNN_GRU = 1, OC_RNN_LSTM = 2 };
enum oc_rnn_direction { OC_RNN_FORWARD = 0, OC_RNN_REVERSE = 1, OC_RNN_BIDIRECTIONAL = 2 };

/* Activation functions the recurrent ops name (ONNX RNN spec). */
enum oc_rnn_act {
    OC_RNN_ACT_RELU,
    OC_RNN_ACT_TANH,
    OC_RNN_ACT_SIGMOID,
    OC_RNN_ACT_AFFINE,           /* alpha * x + beta */
    OC_RNN_ACT_LEAKY_RELU,       /* x < 0 ? alpha * x : x */
    OC_RNN_ACT_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
    OC_RNN_ACT_SCALED_TANH,      /* alpha * tanh(beta * x) */
    OC_RNN_ACT_HARD_SIGMOID,     /* max(0, min(1, alpha * x + beta)) */
    OC_RNN_ACT_ELU,              /* x < 0 ? alpha * (exp(x) - 1) : x */
    OC_RNN_ACT_SOFTSIGN,         /* x / (1 + |x|) */
    OC_RNN_ACT_SOFTPLUS,         /* log(1 + exp(x)) */
    OC_RNN_ACT_COUNT
};

#define OC_RNN_MAX_ACTS 6 /* 3 activations (LSTM) x 2 directions */

typedef struct oc_rnn_params {
    int kind;      /* oc_rnn_kind */
    int direction; /* oc_rnn_direction */
    int dirs;      /* 1, or 2 when bidirectional */
    int layout;    /* 0: sequence first, 1: batch first */
    int64_t seq, batch, input, hidden;
    int gates;     /* G: 1, 3 or 4 */
    int n_act;     /* activations per direction: 1, 2 or 3 */
    int act[OC_RNN_MAX_ACTS]; /* oc_rnn_act, direction-major */
    float alpha[OC_RNN_MAX_ACTS], beta[OC_RNN_MAX_ACTS];
    int has_clip;
    float clip;
    int linear_before_reset; /* GRU */
    int input_forget;        /* LSTM */
    size_t scratch;          /* bytes of shared scratch (oc_rnn_scratch) */
} oc_rnn_params;

/* Scratch bytes for p (both kernels use the same amount); 0 on overflow. */
size_t oc_rnn_scratch(const oc_rnn_params *p);

int oc_rnn_forward(const oc_kargs *a);
int oc_rnn_ref(const oc_kargs *a);

/* Backward (ai.onnxc RNNGrad, one op for all three kinds):
 *   inputs  dY, dY_h, dY_c (each optional), X, W, R, B, sequence_lens,
 *           initial_h, initial_c, P (as the forward's)
 *   outputs dX, dW, dR, dB, d initial_h, d initial_c, dP
 * Naive back-propagation through time; the forward is recomputed and each
 * step recorded in scratch (oc_rnn_backward_scratch bytes; 0 on overflow). */
size_t oc_rnn_backward_scratch(const oc_rnn_params *p);
int oc_rnn_backward(const oc_kargs *a);

#endif
