/* conv.h: kernels of Conv and ConvTranspose (float32, NC[D]HW, any number
 * of spatial dims up to OC_MAX_RANK - 2).
 *
 * Conv: Y[n, m, o] = B[m] + sum_{c in group(m), kk} W[m, c, kk] * X[n, c, o*s - pb + kk*dil]
 *   weights [M, C/group, k...]. Fast path: im2col into scratch, then one
 *   sgemm per group and image; 1x1 stride-1 unpadded convs skip im2col.
 *   Built with ONNXC_CONV_IMPLICIT_IM2COL (off by default), column blocks
 *   with plan-time packed W skip the col block too: the SGEMM gathers its
 *   B panels from X (implicit im2col, oc_sgemm_packed_gather).
 * ConvTranspose: the adjoint of Conv's im2col:
 *   Y[n, m, i*s - pb + kk*dil] += X[n, c, i] * W[c, m, kk]   (weights [C, M/group, k...])
 *   Fast path: col = W_g^T . X_g (sgemm), then col2im scatter-adds col into Y.
 * Each has a plain direct-loop reference (oc_conv_ref, oc_conv_transpose_ref)
 * that tests compare the fast path against. The compiler side (attributes,
 * shape rules, pads, lowering) is compiler/ops/conv.c. */
#ifndef ONNXC_KERNELS_CONV_H
#define ONNXC_KERNELS_CONV_H

#include "../plan.h"
#include "epilogue.h"

#define OC_CONV_MAX_SPATIAL (OC_MAX_RANK - 2)

/* Resolved geometry, shared by Conv and ConvTranspose. For ConvTranspose
 * `in` is X's spatial extent and `out` Y's; pb may be negative there (an
 * output_shape larger than the natural one pads the start or end). */
typedef struct oc_conv_params {
    int nsp;                            /* spatial dims */
    int64_t batch;                      /* N */
    int64_t cin, cout;                  /* channels of X and of Y (all groups) */
    int64_t group;
    int64_t in[OC_CONV_MAX_SPATIAL];    /* X spatial extents */
    int64_t out[OC_CONV_MAX_SPATIAL];   /* Y spatial extents */
    int64_t k[OC_CONV_MAX_SPATIAL];     /* kernel extents */
    int64_t s[OC_CONV_MAX_SPATIAL];     /* strides */
    int64_t dil[OC_CONV_MAX_SPATIAL];   /* dilations */
    int64_t pb[OC_CONV_MAX_SPATIAL];    /* pads at the start of each dim */
    int pointwise;                      /* Conv: 1x1 kernel, stride 1, no pads: X is its own col */
    int wpack;                          /* Conv with a trained W (no plan-time pack): the shared scratch starts
                                         * with room for W's pack (oc_conv_wpack_bytes), filled at each run,
                                         * then 1: one image's col, 2: nothing more */
    oc_epilogue ep;                     /* Conv: fused activation / residual (input 3) after the bias */
    /* Channel-blocked hand-over between a 1x1 conv and the depthwise conv
     * that alone reads its output (the planner's c8 pairs, planner.c):
     * Y (out_c8) or X (in_c8) is laid out [N][C/8][H][W][8], C a multiple
     * of 8. oc_conv_forward writes it (out_c8: 1x1, stride 1, no pads, one
     * group, no residual, activation none/ReLU/Clip), oc_conv_depthwise_forward
     * reads it (in_c8); no other kernel accepts either. */
    int out_c8, in_c8;
} oc_conv_params;

/* Scratch bytes the fast kernels need: the im2col / col2im buffer of one
 * group of one image. */
size_t oc_conv_scratch(const oc_conv_params *p);
/* Per-thread scratch of ConvGradWeight when it splits images over threads. */
size_t oc_conv_grad_weight_tscratch(const oc_conv_params *p);
/* Shared scratch of oc_conv_grad_weight: one image's col, and on small
 * images room to multiply all images at once. */
size_t oc_conv_grad_weight_scratch(const oc_conv_params *p);
/* Conv forward: per-thread scratch (one block of col); the shared scratch
 * (oc_conv_scratch, one image's col) is optional and enables splitting
 * W's rows over threads when an image has few output positions. */
size_t oc_conv_thread_scratch(const oc_conv_params *p);
/* Conv forward's one-time preparation from a constant W (kernel table
 * prep): W of each group packed for onnxc's SGEMM. */
size_t oc_conv_prep_bytes(const oc_kargs *a);
/* The same pack's bytes from the parameters alone (the wpack scratch). */
size_t oc_conv_wpack_bytes(const oc_conv_params *p);
int oc_conv_prep(const oc_kargs *a, void *dst);
#define OC_CONV_SHARED_COL_MAX ((size_t)16 << 20)
size_t oc_conv_transpose_scratch(const oc_conv_params *p);

/* in: X, W, optional B, optional residual R shaped like Y (ep.has_residual);
 * out: Y = act(conv(X, W) + B + R). */
int oc_conv_forward(const oc_kargs *a);
int oc_conv_ref(const oc_kargs *a);
int oc_conv_transpose_forward(const oc_kargs *a);
int oc_conv_transpose_ref(const oc_kargs *a);

/* ---- backward (training; compiler/ops/conv.c grad_conv) ----
 * For Y = Conv(X, W, B) with upstream gradient dY:
 *   dX = ConvTranspose(dY, W) with the forward's strides/dilations/pads
 *        (an ordinary ConvTranspose node, no kernel here);
 *   dW[m, c, kk] = sum_{n, o} dY[n, m, o] * X[n, g*Cg + c, o*s - pb + kk*dil]
 *        i.e. per group dW_g [Mg, Cg*K] = sum_n dY_{n,g} [Mg, Lout] . col(X_{n,g})^T
 *        with col the forward's im2col matrix [Cg*K, Lout];
 *   dB[m] = sum_{n, o} dY[n, m, o].
 * Both take the forward Conv's oc_conv_params (cin/in from X, cout/out
 * from dY). */

/* in: dY [N, M, out...], X [N, C, in...] (, W: shape only); out: dW
 * [M, C/group, k...]. Scratch: oc_conv_scratch (one im2col buffer). */
int oc_conv_grad_weight(const oc_kargs *a);
int oc_conv_grad_weight_ref(const oc_kargs *a);
/* in: dY [N, M, out...]; out: dB [M]. */
int oc_conv_grad_bias(const oc_kargs *a);

#endif
