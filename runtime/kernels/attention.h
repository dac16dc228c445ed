/* attention.h: kernels of the transformer-era ops: Attention (opset 23,
 * 24, 25), LinearAttention, RotaryEmbedding, SwiGLU and
 * CausalConvWithState. The compiler side (attributes, shape rules,
 * lowering) is compiler/ops/attention.c. The arithmetic is float32;
 * float16, bfloat16 and float64 tensors are converted to float32 copies
 * in the step's shared scratch (after the kernel's own part) and the
 * outputs rounded back once at the end. Every input
 * shape was checked by the lowering, so the kernels trust their
 * parameter blocks and check only values known at run time (position
 * ids, sequence lengths).
 *
 * Layouts (row-major). "3-D" means the heads are packed in the last dim:
 *   Attention  Q [B, Hq, Sq, D] or [B, Sq, Hq*D], K [B, Hkv, Skv, D] or
 *              [B, Skv, Hkv*D], V likewise with Dv; Y [B, Hq, Sq, Dv] or
 *              [B, Sq, Hq*Dv]; past / present K, V always 4-D
 *              [B, Hkv, P (+ Skv), D or Dv]; qk output [B, Hq, Sq, T],
 *              T = P + Skv.
 *   LinearAttention  query [B, T, Hq*Dk], key [B, T, Hkv*Dk], value
 *              [B, T, Hkv*Dv], state [B, Hkv, Dk, Dv].
 *   RotaryEmbedding  X [B, H, S, D] or [B, S, H*D].
 *   CausalConvWithState  X [B, C, L], W [C, 1, K], state [B, C, K-1]. */
#ifndef ONNXC_KERNELS_ATTENTION_H
#define ONNXC_KERNELS_ATTENTION_H

#include "../plan.h"

/* Scratch bytes of the float32 copies for n tensors (inputs and outputs)
 * of these dtypes and element counts: 0 when all are float32 or not
 * floating point. */
size_t oc_attention_convert_bytes(const int *dtypes, const int64_t *numel, int n);

/* ---- Attention ----
 *   S = scale * Q K^T             (per batch b, query head h, kv head h / (Hq / Hkv))
 *   S = softcap * tanh(S / softcap)  when softcap > 0
 *   P = softmax_rows(S + bias)    bias: attn_mask (float: added; bool:
 *                                 False -> -inf), causal j > i + offset -> -inf,
 *                                 sliding window, j >= nonpad_kv_seqlen[b] -> -inf
 *   Y = P V
 * A row whose bias is -inf everywhere (no key attended) gives P = 0 and
 * Y = 0. offset is P (the past length) with past_key, nonpad_kv_seqlen[b]
 * - Sq with nonpad_kv_seqlen, else 0.
 * in:  Q, K, V, [attn_mask], [past_key], [past_value], [nonpad_kv_seqlen]
 * out: Y, [present_key], [present_value], [qk_matmul_output] */
enum { OC_QK_RAW = 0, OC_QK_SOFTCAP = 1, OC_QK_BIAS = 2, OC_QK_SOFTMAX = 3 };

typedef struct oc_attention_params {
    int64_t batch, q_heads, kv_heads;
    int64_t q_len, kv_len, past_len, total; /* total = past_len + kv_len */
    int64_t head, v_head;                   /* D, Dv */
    int packed;                             /* Q, K, V, Y are 3-D (heads packed in the last dim) */
    float scale, softcap;                   /* softcap 0: none */
    int causal;
    int64_t left_window, right_window;      /* -1: unbounded */
    int qk_mode;                            /* OC_QK_* for output 3 */
    int softmax_dtype;                      /* 0 / OC_FLOAT / OC_DOUBLE: float; OC_FLOAT16,
                                             * OC_BFLOAT16: scores and probabilities rounded */
    int mask;                               /* 0 none, 1 float, 2 bool */
    int64_t mask_len;                       /* the mask's last extent (<= total; padded past it) */
    int64_t mask_stride[4];                 /* element strides over (b, h, i, j); 0 broadcasts */
    int has_past, has_nonpad;
    size_t kv_scratch;                      /* shared scratch bytes of concatenated K and V
                                             * (past given, present not asked for) */
    size_t thread_scratch;                  /* per-thread bytes: SGEMM scratch, then scores */
} oc_attention_params;

/* Per-thread scratch of oc_attention_forward (the ref needs less). */
size_t oc_attention_tscratch(int64_t q_len, int64_t total);

int oc_attention_forward(const oc_kargs *a);
int oc_attention_ref(const oc_kargs *a);

/* ---- LinearAttention ----
 * For each batch b, kv head g, step t, with state S [Dk, Dv] (float32):
 *   gated rules:  S *= exp(decay_t)           (per key row, or one per head)
 *   delta rules:  v_t = beta_t (v_t - S^T k_t)
 *   S += k_t v_t^T
 *   o_t[h] = scale * S^T q_t[h]  for every query head h with h / (Hq / Hkv) = g
 * in:  query, key, value, [past_state], [decay], [beta]; out: output, [present_state] */
typedef struct oc_linear_attention_params {
    int64_t batch, seq, q_heads, kv_heads, dk, dv;
    int gated, delta;
    int decay_per_key;   /* decay [B, T, Hkv*Dk]; else [B, T, Hkv] */
    int64_t beta_heads;  /* beta [B, T, Hkv] or [B, T, 1] */
    float scale;
    size_t state_scratch; /* shared bytes for the state when present_state is not an output */
} oc_linear_attention_params;

int oc_linear_attention_forward(const oc_kargs *a);

/* ---- RotaryEmbedding ----
 * For each head vector x [D], its first R = rotary_dim entries in pairs
 * (x1, x2) (halves, or even/odd when interleaved):
 *   x1' = cos x1 - sin x2,  x2' = sin x1 + cos x2
 * cos / sin [R/2] come from cos_cache[position_ids[b, s]] or, without
 * position ids, from cos_cache[b, s]. The rest is copied.
 * in: X, cos_cache, sin_cache, [position_ids]; out: Y */
typedef struct oc_rotary_params {
    int64_t batch, heads, seq, head, rot; /* rot = rotary dims (even, <= head) */
    int packed;                           /* X is [B, S, H*D] */
    int interleaved;
    int has_pos;
    int64_t max_pos;                      /* cache rows when indexed by position ids */
} oc_rotary_params;

int oc_rotary_forward(const oc_kargs *a);

/* ---- SwiGLU ----  y = a * sigmoid(alpha a) * b, A and B of one shape. */
typedef struct oc_swiglu_params {
    int64_t n;
    float alpha;
} oc_swiglu_params;

int oc_swiglu_forward(const oc_kargs *a);

/* ---- CausalConvWithState ----
 * Depthwise causal 1-D convolution over [state | X] (state zeros when
 * absent):  y[b, c, l] = act(bias[c] + sum_k W[c, 0, k] xp[b, c, l + k]),
 * xp = [state, X] along L, act none or SiLU; present_state = the last K-1
 * columns of xp.
 * in: X, W, [bias], [past_state]; out: Y, [present_state] */
typedef struct oc_causal_conv_params {
    int64_t batch, channels, len, k;
    int silu;
} oc_causal_conv_params;

int oc_causal_conv_forward(const oc_kargs *a);

#endif
