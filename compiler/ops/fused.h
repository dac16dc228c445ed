/* fused.h: what FusedConv and FusedGemm (onnxc's own ops, domain
 * "ai.onnxc", written by the fusion pass compiler/passes/fuse.c) add to
 * Conv and Gemm: an activation and an optional residual input 3, applied
 * by the kernels' epilogue (runtime/kernels/epilogue.h).
 * FusedBatchNormalization (compiler/ops/norm.c) adds the same to a
 * training-mode BatchNormalization, its residual being input 5 (inputs 3
 * and 4 are the running statistics).
 *
 * Attributes beyond the base op's: `activation` (string, the ONNX op name
 * as oc_act_from_name reads it; absent: none), `activation_alpha` and
 * `activation_beta` (floats: LeakyRelu alpha; Clip min and max;
 * HardSigmoid alpha and beta; Gelu beta = 1 for the tanh approximation).
 * Absent parameters take the ONNX defaults of the activation. */
#ifndef ONNXC_OPS_FUSED_H
#define ONNXC_OPS_FUSED_H

#include "../graph.h"
#include "../../runtime/kernels/epilogue.h"

/* (op.h is included by the op files themselves: its tail sits outside
 * its include guard.) */
struct oc_infer;

/* Shape rule part: the residual input res_in (3 for FusedConv and
 * FusedGemm, 5 for FusedBatchNormalization), when present, must have
 * output 0's type and shape. */
int oc_fused_check_residual(struct oc_infer *cx, int res_in);

/* Fills ep (after the base op's lowering) from node n's attributes and
 * its residual input res_in. */
int oc_fused_epilogue(const oc_graph *g, const oc_node *n, int res_in, oc_epilogue *ep, oc_diag *d);

#endif
