/* sgemm_ukr.h: the interface between the sgemm driver (sgemm.c, plain C)
 * and one ISA's microkernel file (sgemm_avx512.c, sgemm_avx2.c, compiled
 * with their own -m flags; the generic one is in sgemm.c). Internal to
 * runtime/kernels.
 *
 * Packed layouts the driver and the kernels agree on:
 *   A panel: MR rows x kc, k-major: a[k * MR + i] = op(A)[m + i, pc + k],
 *            rows past the matrix zero. Consecutive panels are `a_stride`
 *            floats apart (kc * MR in scratch, K * MR in a plan-time pack).
 *   B panel: kc x w, k-major: b[k * w + j] = op(B)[pc + k, n + j], with
 *            w = NR for a full panel and the column count rounded up to
 *            the vector width VW for the last one (padding zero). Panel j
 *            of a packed block starts at j * NR * kc floats. */
#ifndef ONNXC_KERNELS_SGEMM_UKR_H
#define ONNXC_KERNELS_SGEMM_UKR_H

#include <stdint.h>

#include "../cpu.h"
#include "sgemm.h"

typedef struct oc_sgemm_ukr {
    oc_isa isa;
    int mr, nr, vw;  /* register tile; vector width (B panel widths are multiples) */
    int kc, nb, mb;  /* K slice depth; B block width (multiple of nr); A block height (multiple of mr) */
    /* c[0..rows) x [0..cols) (row stride ldc) = A panel * B panel (+ beta * c
     * when load_c; beta == 0 with load_c == 0 never reads c). rows <= mr,
     * cols <= nr; bw >= cols is the B panel's width (floats per k). */
    void (*tile)(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows, int cols,
                 float beta, int load_c);
    /* Optional (NULL): the same for a few columns (r <= narrow_max, a
     * remainder narrower than a vector) over many rows, vectorized along M
     * instead: rows [0, rows) of A panels a, a + astride, ..., columns
     * [0, r) of a B panel of width bw. Each element is the same FMA
     * sequence as in tile, so results do not depend on which kernel ran. */
    void (*narrow)(int64_t kc, const float *a, int64_t astride, int rows, const float *b, int64_t bw, int r,
                   float *c, int64_t ldc, float beta, int load_c);
    int narrow_max;    /* largest r narrow takes */
    int narrow_panels; /* A panels per narrow call (the driver interleaves them with the tiles) */
    /* Packs rows [0, rows) x columns [0, kc) of alpha * op(A) into MR-row
     * panels, panel p at dst + p * stride. `a` points at the first element:
     * op(A)[r, k] is a[r * lda + k], or a[k * lda + r] with trans_a. */
    void (*pack_a)(int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha, float *dst,
                   int64_t stride);
    /* Packs op(B)[pc.., n..] (kc x nc, the pointer at element [pc, n]) into
     * panels as above. trans_b: B stored N x K, element [k, n] at b[n*ldb + k]. */
    void (*pack_b)(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst);
    /* The epilogue on a finished block (any rows, cols) whose top-left
     * element is C[m, n]; bitwise equal to oc_epilogue_apply. */
    void (*epi)(const oc_sgemm_epi *e, float *c, int64_t ldc, int rows, int cols, int64_t m, int64_t n);
    /* Optional (NULL): tile followed by epi on its block, the epilogue
     * applied in registers before the one store (C's element at [m, n] is
     * c[0]); bitwise tile then epi. For the last K slice. */
    void (*tile_epi)(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows,
                     int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m, int64_t n);
} oc_sgemm_ukr;

/* The ISA files' branch-free tile stores (store_tile3 / store_tile2): one
 * flag word picks a store block specialized on beta C (1), a per-row shift
 * (2), a residual (4), a clamp (8: Relu or Clip) and ReLU's operand order
 * (16, only with 8); OC_SGEMM_STORE_CASES lists the words that occur. */
static inline int oc_sgemm_store_flags(int load_c, int shift, int res, int act)
{
    return (load_c ? 1 : 0) | (shift ? 2 : 0) | (res ? 4 : 0) | (act != OC_ACT_NONE ? 8 : 0) |
           (act == OC_ACT_RELU ? 16 : 0);
}
#define OC_SGEMM_STORE_CASES(X)                                                                              \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(24) X(25) X(26) \
    X(27) X(28) X(29) X(30) X(31)

/* pack_a in plain C for any MR (the generic kernel's, and the ISA files'
 * fallback for partial panels). */
void oc_sgemm_pack_a_c(int mr, int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha,
                       float *dst, int64_t stride);

#if defined(__x86_64__) || defined(__i386__)
#define OC_SGEMM_X86 1
extern const oc_sgemm_ukr oc_sgemm_ukr_avx512;
extern const oc_sgemm_ukr oc_sgemm_ukr_avx2;
extern const oc_sgemm_ukr oc_sgemm_ukr_avx2_m4; /* AVX2 4 x 24 tile: packs of few rows (sgemm.c pack_ukr_for) */
#endif

#endif
