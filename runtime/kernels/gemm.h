/* gemm.h: kernels of Gemm and MatMul.
 *
 * Gemm:   Y [M, N] = alpha * A' . B' + beta * C, A' = transA ? A^T : A,
 *         B' likewise, C broadcast to [M, N] (0-D, 1-D or 2-D); float32.
 * MatMul: numpy matmul over row-major operands: 1-D operands are promoted
 *         ([K] -> [1, K] for A, [K, 1] for B) by the compiler, leading
 *         (batch) dims broadcast; Y [batch..., M, N] is contiguous.
 *         float32 and float64 through BLAS, int32/int64 through plain loops.
 * Each has a plain triple-loop reference (oc_gemm_ref, oc_matmul_ref). The
 * compiler side (attributes, shape rules, lowering) is compiler/ops/gemm.c. */
#ifndef ONNXC_KERNELS_GEMM_H
#define ONNXC_KERNELS_GEMM_H

#include "../plan.h"
#include "epilogue.h"

typedef struct oc_gemm_params {
    int64_t m, n, k;
    int trans_a, trans_b;
    float alpha, beta;
    int has_c;
    int64_t c_stride[2]; /* C's element strides over [M, N]; 0 where C broadcasts */
    oc_epilogue ep;      /* fused activation / residual (input 3), applied after C */
    int skinny;          /* few rows (a fully connected layer at small batch), alpha 1, A not
                          * transposed: with a constant B packed at plan time (prep) the
                          * kernel computes Y^T = op(B)^T A^T, streaming the weights once */
} oc_gemm_params;

/* Gemm's one-time preparation from a constant B (skinny products only):
 * op(B)^T [N, K] packed as the SGEMM's left operand. */
size_t oc_gemm_prep_bytes(const oc_kargs *a);
int oc_gemm_prep(const oc_kargs *a, void *dst);
#define OC_GEMM_SKINNY_MAX_M 64

/* C = alpha op(A) op(B) + beta C (float32, row-major), then the epilogue
 * ep (may be NULL; residual res with row stride ldc), on onnxc's SGEMM
 * split over the step's threads (a->threads, a->tscratch: each slice at
 * least oc_sgemm_scratch_bytes()). A kernel called without per-thread
 * scratch (outside a plan) gets BLAS and a separate epilogue pass. Shared
 * by the Gemm, MatMul and Conv kernels. */
void oc_gemm_call(const oc_kargs *a, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, const oc_epilogue *ep,
                  const float *res);

/* in: A, B, optional C, optional residual R [M, N] (when ep.has_residual); out: Y. */
int oc_gemm_forward(const oc_kargs *a);
int oc_gemm_ref(const oc_kargs *a);

typedef struct oc_matmul_params {
    int dtype;                      /* OC_FLOAT, OC_DOUBLE, OC_INT32 or OC_INT64 */
    int64_t m, n, k;
    int batch_rank;                 /* output batch dims (rank of Y without M, N) */
    int64_t batch[OC_MAX_RANK];
    int64_t a_stride[OC_MAX_RANK];  /* A's element stride per batch dim; 0 = broadcast */
    int64_t b_stride[OC_MAX_RANK];
    int fold;                       /* B shared by every batch and A contiguous: one GEMM of batch*M rows */
} oc_matmul_params;

/* in: A, B; out: Y. */
int oc_matmul_forward(const oc_kargs *a);
int oc_matmul_ref(const oc_kargs *a);

/* MatMul backward, float32, with the forward's oc_matmul_params (fold = 0):
 * in: dY, A, B; out: dA = dY B^T (backward_a) or dB = A^T dY (backward_b),
 * summed over the batch dims the operand broadcast along. */
int oc_matmul_backward_a(const oc_kargs *a);
int oc_matmul_backward_b(const oc_kargs *a);
int oc_matmul_backward_ref(const oc_kargs *a, int wrt);

#endif
