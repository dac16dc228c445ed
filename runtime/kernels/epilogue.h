/* epilogue.h: what a GEMM-shaped kernel (Conv, Gemm, MatMul) applies to
 * its output tile while the tile is still in cache, instead of separate
 * passes over memory for the bias, a folded BatchNormalization, an
 * activation and a residual Add:
 *
 *   Y[m, n] = act(Y[m, n] + shift[m] + R[m, n])
 *
 * with m the output channel (Conv: rows of Y_g [Mg, L]; Gemm: per row or
 * per column, see per_col). shift is the bias (a BatchNormalization folded
 * into the conv at compile time lands in W and the bias); NULL when absent.
 * R is the residual input (the skip path of ResNet's Conv -> Add -> Relu),
 * laid out like Y. The fusion pass (compiler/passes/fuse.c) fills it; an
 * empty epilogue (all zero) does nothing. */
#ifndef ONNXC_KERNELS_EPILOGUE_H
#define ONNXC_KERNELS_EPILOGUE_H

#include <stdint.h>

enum oc_act {
    OC_ACT_NONE = 0,
    OC_ACT_RELU,         /* max(x, 0) */
    OC_ACT_LEAKY_RELU,   /* x >= 0 ? x : alpha * x */
    OC_ACT_CLIP,         /* min(max(x, alpha), beta)  (Relu6: 0, 6) */
    OC_ACT_SIGMOID,      /* 1 / (1 + e^-x) */
    OC_ACT_HARD_SIGMOID, /* max(0, min(1, alpha * x + beta)) */
    OC_ACT_HARD_SWISH,   /* x * max(0, min(1, x / 6 + 1 / 2)) */
    OC_ACT_TANH,
    OC_ACT_GELU,         /* x/2 (1 + erf(x / sqrt 2)); beta = 1: tanh approximation */
    OC_ACT_COUNT
};

typedef struct oc_epilogue {
    int act;          /* enum oc_act */
    float alpha, beta;
    int per_col;      /* shift is indexed by column n (Gemm bias over columns), not row m */
    int has_residual; /* the kernel's residual input is added */
} oc_epilogue;

/* Name of an activation as the ONNX op ("Relu", ...), "" for none. */
const char *oc_act_name(int act);
/* act by ONNX op name, -1 when the op is not an epilogue activation. */
int oc_act_from_name(const char *op);

/* One activation on a run of n floats in place (the unfused kernels use
 * this too, so fused and unfused results agree bit for bit). */
void oc_act_apply(int act, float alpha, float beta, float *x, int64_t n);

/* Applies the epilogue to rows [0, rows) x cols [0, cols) of y (row
 * stride ldy): row r is channel m0 + r (column c is channel n0 + c when
 * per_col). shift is indexed by channel (NULL: none); res (NULL unless
 * has_residual) has row stride ldr. */
void oc_epilogue_apply(const oc_epilogue *e, float *y, int64_t ldy, int64_t rows, int64_t cols, int64_t m0,
                       int64_t n0, const float *shift, const float *res, int64_t ldr);
/* True when the epilogue does anything beyond the bias. */
static inline int oc_epilogue_active(const oc_epilogue *e) { return e && (e->act || e->has_residual); }

#endif
