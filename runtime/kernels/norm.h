/* norm.h: kernels of the normalization ops: BatchNormalization (inference
 * and training mode), InstanceNormalization, LayerNormalization,
 * GroupNormalization, RMSNormalization, LpNormalization, LRN and
 * MeanVarianceNormalization. float32 data; statistics are accumulated in
 * double, two-pass (mean, then the mean squared deviation), which avoids
 * the cancellation of E[x^2] - E[x]^2. The compiler side is
 * compiler/ops/norm.c. */
#ifndef ONNXC_KERNELS_NORM_H
#define ONNXC_KERNELS_NORM_H

#include "../plan.h"
#include "epilogue.h"

/* BatchNormalization over X [N, C, spatial...]; inputs scale, B, mean,
 * var are [C]. Inference: y = scale * (x - mean) / sqrt(var + eps) + B.
 * Training: the batch mean and (population) variance over N and the
 * spatial dims normalize X; out[1], out[2] get the running statistics
 * input * momentum + batch * (1 - momentum); out[3], out[4] (opset < 14)
 * the batch mean and variance. */
typedef struct oc_batchnorm_params {
    float epsilon, momentum;
    int training;
    int64_t n, c, spatial;
    /* FusedBatchNormalization (ai.onnxc, compiler/passes/fuse.c): each
     * finished plane of y becomes act(y + R) while it is in cache, R being
     * input 5 when ep.has_residual (ep.act, ep.alpha, ep.beta: the
     * activation); all zero for plain BN */
    oc_epilogue ep;
} oc_batchnorm_params;

/* oc_batchnorm_forward is threaded (inference: over (n, c) planes;
 * training: over channels); oc_batchnorm_ref runs the channels in turn. */
int oc_batchnorm_forward(const oc_kargs *a);
int oc_batchnorm_ref(const oc_kargs *a);

/* InstanceNormalization (groups = C, per-channel scale and bias) and
 * GroupNormalization: X [N, C, spatial...] normalized over each group of
 * C / groups channels and the spatial dims; y = scale * xhat + bias with
 * scale and bias per channel, or per group (GroupNormalization opset 18). */
typedef struct oc_groupnorm_params {
    float epsilon;
    int per_group; /* scale/bias have one entry per group */
    int64_t n, c, groups, spatial;
} oc_groupnorm_params;

int oc_groupnorm_forward(const oc_kargs *a);

/* LayerNormalization and RMSNormalization: X viewed as [outer, inner]
 * with inner = the product of dims[axis:]. Scale (and bias) broadcast to
 * those trailing dims; sstride/bstride are their strides over the
 * normalized dims (0 where they broadcast), with full_* marking the
 * common case of a scale shaped like the trailing dims.
 * Layer: y = (x - mean) * invstd * scale + bias, out[1] = mean and
 * out[2] = invstd = 1 / sqrt(var + eps) per outer row (optional).
 * RMS: y = x / sqrt(mean(x^2) + eps) * scale. */
typedef struct oc_layernorm_params {
    float epsilon;
    int rms;
    int64_t outer, inner;
    int nrank;                       /* normalized dims */
    int64_t ndims[OC_MAX_RANK];
    int64_t sstride[OC_MAX_RANK], bstride[OC_MAX_RANK];
    int full_scale, full_bias;
} oc_layernorm_params;

int oc_layernorm_forward(const oc_kargs *a);

/* LpNormalization along one axis of a [outer, n, inner] view:
 * y = x / (sum |x|^p)^(1/p), p = 1 or 2; zero where the norm is 0. */
typedef struct oc_lpnorm_params {
    int p;
    int64_t outer, n, inner;
} oc_lpnorm_params;

int oc_lpnorm_forward(const oc_kargs *a);

/* LRN across channels of X [N, C, spatial...]:
 * y = x / (bias + alpha / size * sum_{c' in window} x[c']^2)^beta,
 * window = [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C). */
typedef struct oc_lrn_params {
    float alpha, beta, bias;
    int64_t size;
    int64_t n, c, spatial;
} oc_lrn_params;

int oc_lrn_forward(const oc_kargs *a);

/* MeanVarianceNormalization over the dims in mask (bit i = dim i):
 * y = (x - mean) / (sqrt(var) + 1e-9), the ONNX function body's epsilon.
 * Scratch: 2 doubles per group of kept-dim indices. */
typedef struct oc_mvn_params {
    int rank;
    int64_t dims[OC_MAX_RANK];
    unsigned mask;
    int64_t groups;
} oc_mvn_params;

int oc_mvn_forward(const oc_kargs *a);

/* Backward (float32; the math is stated in norm.c):
 * BatchNormGrad(dY, X, scale, mean, var) -> dX, dScale, dB with the
 * forward's oc_batchnorm_params (training: batch statistics recomputed
 * from X; inference: the running mean / var inputs).
 * LayerNormGrad(dY, X, scale[, bias]) -> dX, dScale[, dBias] with the
 * forward's oc_layernorm_params (rms = 0); scratch 2 * inner doubles. */
int oc_batchnorm_backward(const oc_kargs *a);
int oc_layernorm_backward(const oc_kargs *a);

#endif
