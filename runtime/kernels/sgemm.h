/* sgemm.h: onnxc's own single-precision matrix product, the engine under
 * the Conv, Gemm and MatMul kernels.
 *
 *   C[m, n] = act( alpha * sum_k op(A)[m, k] * op(B)[k, n] + beta * C[m, n]
 *                  + shift[m or n] + R[m, n] )
 *
 * All matrices are row-major with explicit leading dimensions (lda, ldb,
 * ldc, ldr >= the stored row length). op(X) is X or X^T (trans_*): with
 * trans_a, A is stored K x M; with trans_b, B is stored N x K.
 *
 * Structure (Goto / BLIS, "Anatomy of High-Performance Matrix
 * Multiplication", Goto & van de Geijn 2008; Van Zee & van de Geijn 2015):
 * K is cut into KC-deep slices, N into NB-wide blocks, M into MB-tall
 * blocks. Each B block (KC x NB) is packed into NR-wide column panels that
 * stay in L2; each A panel (MR rows x KC) is packed k-major and stays in L1
 * while the microkernel sweeps the B panels, keeping an MR x NR tile of C
 * in vector registers. The epilogue (bias/shift, residual, activation) is
 * applied to each tile right after its last K slice, while it is in L1.
 *
 * A remainder of 1-4 columns past a multiple of the vector width (N = 49,
 * the 7x7 maps of late CNN layers) goes to a "narrow" kernel vectorized
 * along M instead of a mostly empty vector.
 *
 * The ISA (runtime/cpu.h) picks the microkernel and the blocking:
 *   avx512: MR x NR = 8 x 48  (24 zmm accumulators), KC 384, NB 336, MB 576
 *   avx2:   MR x NR = 6 x 16  (12 ymm accumulators), KC 256, NB 240, MB 576
 *   generic: plain C, 4 x 16,                        KC 256, NB 256, MB 256
 * (oc_sgemm_mr / oc_sgemm_nr report the values in force.)
 *
 * Calling it from Conv (im2col): pack each group's weights W_g (M = C_out /
 * group, K = C_in / group * kh * kw) once with oc_sgemm_pack_a; B is the
 * column matrix (K x L) or a block of its columns [n0, n0 + nb): pass
 * B + n0, C + n0, N = nb, res + n0 (and shift + n0 if per column), keep
 * ldb, ldc, ldr. Or skip the col matrix: oc_sgemm_packed_gather packs
 * B's panels from a callback that gathers them from the image (implicit
 * im2col). A fully connected layer at batch 1, Y[1, n] = x W: compute
 * Y^T = W^T x^T instead, with W packed as the left operand (trans_a = 1
 * for W stored K x N_out, 0 for Gemm's transB W stored N_out x K), B = x
 * with trans_b = 1 (ldb = K), N = 1, ldc = 1: the narrow kernel makes it
 * a matrix-vector product, and the N_out x 1 result has Y's layout.
 *
 * Scratch: every entry point takes caller memory of oc_sgemm_scratch_bytes()
 * bytes (per thread for the threaded entries); the functions never allocate
 * and never print. No alignment is required of any pointer (64-byte
 * alignment of scratch and packed A is best). beta == 0 never reads C, so C
 * may hold garbage (NaN) on entry. All functions are thread-safe. */
#ifndef ONNXC_KERNELS_SGEMM_H
#define ONNXC_KERNELS_SGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "epilogue.h"

/* What to apply to each finished C tile, in this order:
 *   shift: per-row bias shift[m] (per column shift[n] when ep && ep->per_col);
 *          NULL: none. Indexed by the full matrix's row / column.
 *   res:   residual R[m, n] = res[m * ldr + n] (same indexing as C), added
 *          only when ep && ep->has_residual (as oc_epilogue_apply does).
 *   ep->act with ep->alpha / ep->beta (runtime/kernels/epilogue.h).
 * Results are bitwise those of oc_epilogue_apply on the finished C. A NULL
 * oc_sgemm_epi pointer means none of it. */
typedef struct oc_sgemm_epi {
    const oc_epilogue *ep; /* may be NULL: shift per row, no residual, no activation */
    const float *shift;
    const float *res;
    int64_t ldr;
    /* 0, or C stored in blocks of 8 columns: C[m, n] at
     * C[m * ldc + (n / 8) * cvs + n % 8] (a conv's channel-blocked output,
     * conv.c out_c8: ldc = 8, cvs = 8 x positions). Only the AVX2 kernel
     * stores so (oc_sgemm_c8_store), through its tile epilogue: K must fit
     * one K slice (oc_sgemm_kc), N be a multiple of 8, no residual, and
     * the activation none, ReLU or Clip. */
    int64_t cvs;
} oc_sgemm_epi;

/* Whether oc_sgemm / oc_sgemm_threaded honour oc_sgemm_epi.cvs with the
 * ISA in force, and the K slice they need it within. */
int oc_sgemm_c8_store(void);
int oc_sgemm_kc(void);

/* op(B) [K, N] packed once (a constant B: a 1x1 conv's W^T) for
 * oc_sgemm_threaded_bpacked, with the ISA in force; K must fit one K slice
 * (oc_sgemm_kc). oc_sgemm_pack_b_bytes: the buffer's size. */
size_t oc_sgemm_pack_b_bytes(int64_t K, int64_t N);
void oc_sgemm_pack_b(int64_t K, int64_t N, const float *B, int64_t ldb, int trans_b, void *dst);
/* oc_sgemm_threaded with B from oc_sgemm_pack_b; -1 (nothing done) when
 * Bp is not a pack of K x N for the ISA in force. */
int oc_sgemm_threaded_bpacked(int trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                              int64_t lda, const void *Bp, float beta, float *C, int64_t ldc,
                              const oc_sgemm_epi *epi, int threads, unsigned char *tscratch,
                              size_t tscratch_stride);

/* Register tile of the ISA in force, and its name ("avx512", "avx2", "generic"). */
int oc_sgemm_mr(void);
int oc_sgemm_nr(void);
const char *oc_sgemm_isa(void);

/* Bytes of scratch one call (one thread) needs, for every entry point and
 * every ISA; a constant (about 1.3 MB), independent of M, N, K. */
size_t oc_sgemm_scratch_bytes(void);

/* Packing a constant left operand (Conv / Gemm weights) once, at plan
 * time: op(A) is M x K (trans_a: A stored K x M). The pack records the ISA
 * in force and its MR; later calls use that ISA's kernel whatever the ISA
 * in force is then (the CPU still supports it). Layout (internal): a
 * 64-byte header, then for each KC-deep slice of K, ceil(M / MR) panels of
 * KC x MR floats, k-major, rows past M zero. */
/* Bytes the microkernels may prefetch past the A data they read (they
 * ask for A 4 KB ahead). A pack and the SGEMM scratch end with this many
 * bytes that are written before use: a software prefetch into a page
 * never written (not in memory yet) cannot fault it in, so on a VM every
 * such prefetch was a full nested page walk, again and again. ISA AVX2
 * on a 2-core AMD EPYC KVM guest, MobileNet-v2's 1x1 conv 384->64 on
 * 14x14 (batch 1, one thread): 0.46 -> 0.28 ms with the tail written. */
#define OC_SGEMM_PREFETCH_TAIL 4096
size_t oc_sgemm_pack_a_bytes(int64_t M, int64_t K);
void oc_sgemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, int trans_a, void *dst);
/* The same, for an A whose products will gather B (oc_sgemm_packed_gather:
 * B packed into panels, not read in place), which lets a few more row
 * counts take a tile that pads fewer rows (sgemm.c pack_ukr_for). Any
 * entry point still accepts the pack. */
void oc_sgemm_pack_a_gathered(int64_t M, int64_t K, const float *A, int64_t lda, int trans_a, void *dst);
/* The same pack built a row block at a time (by several threads, or from
 * rows computed just before): oc_sgemm_pack_a_header once, then
 * oc_sgemm_pack_a_rows for row blocks [m0, m1) covering 0..M. A holds the
 * block: element (m, k) at A[(m - m0) * lda + k], or with trans_a at
 * A[k * lda + (m - m0)] (k major: a block of MR rows so laid out is copied
 * as it is). m0 must be a multiple of oc_sgemm_pack_mr(M), m1 one too or M. */
int oc_sgemm_pack_mr(int64_t M);
#define OC_SGEMM_MR_MAX 8 /* the largest MR of any ISA */
void oc_sgemm_pack_a_header(int64_t M, int64_t K, void *dst);
void oc_sgemm_pack_a_rows(int64_t M, int64_t K, int64_t m0, int64_t m1, const float *A, int64_t lda, int trans_a,
                          void *dst);
/* MR of a pack (row split granularity for oc_sgemm_packed); 0 if Ap is not a pack. */
int oc_sgemm_packed_mr(const void *Ap);

/* Rows [m0, m1) of C = A * op(B) + beta * C, epilogue on those rows, with
 * A an M x K pack from oc_sgemm_pack_a. C, the residual and the shift are
 * indexed as for the whole M x N matrix (C points at row 0). m0 must be a
 * multiple of oc_sgemm_packed_mr(Ap) (m1 need not be). Single-threaded;
 * scratch: oc_sgemm_scratch_bytes(). Returns 0, or -1 (nothing done) when
 * Ap is not an M x K pack or the row range is invalid. */
int oc_sgemm_packed(int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1, const float *B,
                    int64_t ldb, int trans_b, float beta, float *C, int64_t ldc, const oc_sgemm_epi *epi,
                    void *scratch);

/* B supplied by a callback instead of memory (implicit im2col: Conv
 * gathers B's rows straight from the image). fill writes rows
 * [k0, k0 + kc) x columns [n0, n0 + nc) of the virtual K x N matrix B
 * row-major into dst, row stride ldd >= nc:
 *   dst[(k - k0) * ldd + (n - n0)] = B[k, n].
 * dst is one of the SGEMM's packed B panels (in scratch, L2 resident), so
 * the gather is the packing: kc is a whole K slice (<= 512), nc <= NR,
 * and the calls of one slice come in a row with the same k0 and kc
 * (columns ascending), so fill may cache per-row work across them. Each
 * element of B is asked for once per pass over [m0, m1). fill may be
 * called from any thread running the product. */
typedef struct oc_sgemm_bsrc {
    void (*fill)(void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst, int64_t ldd);
    void *ctx;
} oc_sgemm_bsrc;

/* oc_sgemm_packed with B from src: the same results, bit for bit, as
 * oc_sgemm_packed on the materialized B (trans_b = 0). Returns 0, or -1
 * (nothing done) as oc_sgemm_packed, or when src has no fill. */
int oc_sgemm_packed_gather(int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1,
                           const oc_sgemm_bsrc *src, float beta, float *C, int64_t ldc, const oc_sgemm_epi *epi,
                           void *scratch);

/* The general product, single-threaded; packs A itself (alpha folded into
 * the packed A). alpha == 0 or K == 0 reads neither A nor B. */
void oc_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, const oc_sgemm_epi *epi,
              void *scratch);

/* Threaded variants: the product is split into up to `threads` parts
 * (oc_parallel_for, runtime/threads.h; threads is its max_threads) over M
 * or over N, whichever wastes less (tall-skinny shapes split M, short-wide
 * ones N). Part t uses tscratch + t * tscratch_stride, tscratch_stride >=
 * oc_sgemm_scratch_bytes(), `threads` slices. Results do not depend on the
 * number of threads (each C element is summed in the same order). */
void oc_sgemm_threaded(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                       const oc_sgemm_epi *epi, int threads, unsigned char *tscratch, size_t tscratch_stride);
int oc_sgemm_packed_threaded(int64_t M, int64_t N, int64_t K, const void *Ap, int64_t m0, int64_t m1,
                             const float *B, int64_t ldb, int trans_b, float beta, float *C, int64_t ldc,
                             const oc_sgemm_epi *epi, int threads, unsigned char *tscratch,
                             size_t tscratch_stride);

#endif
