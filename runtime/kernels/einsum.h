/* einsum.h: the Einsum kernel. The compiler (compiler/ops/einsum.c) parses
 * the equation and resolves it into labels: every distinct letter and
 * every broadcast ellipsis dim is one label with an extent; the output
 * lists its labels in order and every other label is summed over. Each
 * input reaches a label through a stride (the sum of its dims' strides
 * for a label repeated in one term, i.e. a diagonal; 0 where the input
 * lacks the label or broadcasts it). */
#ifndef ONNXC_KERNELS_EINSUM_H
#define ONNXC_KERNELS_EINSUM_H

#include "../plan.h"

#define OC_EINSUM_MAX_IN 16
#define OC_EINSUM_MAX_SUM 64

typedef struct oc_einsum_params {
    int dtype;   /* float32, float64, int32 or int64 */
    int n_in;
    int n_out;   /* output labels (output rank) */
    int n_sum;   /* summed labels */
    int64_t out_ext[OC_MAX_RANK];
    int64_t sum_ext[OC_EINSUM_MAX_SUM];
    int64_t out_stride[OC_EINSUM_MAX_IN][OC_MAX_RANK];
    int64_t sum_stride[OC_EINSUM_MAX_IN][OC_EINSUM_MAX_SUM];
    /* Batched GEMM view of a large two-input float contraction (0 = none):
     * the labels fall into batch (both inputs and the output), M (first
     * input and output), N (second input and output) and K (both inputs,
     * summed). The kernel packs A as [batch][M][K] and B as [batch][K][N]
     * in scratch, multiplies with BLAS and scatters C [batch][M][N] into
     * the output. g_ext / g_sa / g_sb / g_sy list the labels in the order
     * batch, M, K, N with their strides in A, B and the output. */
    int gemm;
    int g_nb, g_nm, g_nk, g_nn;
    int64_t g_ext[OC_MAX_RANK * 2], g_sa[OC_MAX_RANK * 2], g_sb[OC_MAX_RANK * 2], g_sy[OC_MAX_RANK * 2];
    int64_t g_b, g_m, g_k, g_n; /* products of each group's extents */
} oc_einsum_params;

int oc_einsum_forward(const oc_kargs *a);

#endif
