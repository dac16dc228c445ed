/* conv_depthwise_ukr.h: the ISA-specific planes of the depthwise kernel
 * (conv_depthwise.c), 3x3 windows with dilation 1, one input and one
 * output channel per group. Internal to runtime/kernels; called only when
 * oc_cpu_isa() allows the file's ISA.
 *
 * Both compute one output plane y [OH, OW] from one input plane x [H, W]:
 *   y[oh, ow] = b + sum_{kh, kw} w[3 kh + kw] * x[oh*s + kh - pt, ow*s + kw - pl]
 * with taps outside x reading 0, straight from x (no padded copy): masked
 * vector loads zero the lanes whose tap falls outside the plane, and
 * those lanes' addresses are never touched. Sums use FMA, taps in (kh, kw)
 * order, rows outside the plane skipped; so the bits differ from the
 * portable paths' by rounding only (tests compare with oc_conv_ref within
 * a tolerance). The only epilogue here is an optional clamp to [lo, hi]
 * before the store (ReLU, Clip without a residual); the caller applies
 * any other to the finished plane.
 *
 *   s1: stride 1, pads 1, the plane keeps its size (OH = H, OW = W)
 *       (conv_depthwise.c takes it for planes narrower than 64 columns):
 *       the plane is summed as one flattened run of 16-lane chunks
 *       (a 7x7 or 14x14 plane fills its vectors), each tap's lanes masked
 *       by the row and column they fall in. masks: per chunk five uint16
 *       lane masks (the chunk's valid lanes, and those with a row above,
 *       a row below, a column left, a column right inside the plane),
 *       prepared by oc_dw3_s1_masks_* for this (H, W) and reused for every
 *       plane of that size. (A table of all nine taps' masks, loaded
 *       instead of ANDed, was slower: MobileNet's 192x28x28 depthwise
 *       0.058 -> 0.072 ms on one thread, stop 29.)
 *   s2: stride 2, any pads and output size: 16 outputs of a row per
 *       vector, a column of such chunks down the plane at a time; each
 *       kernel row's input columns are loaded as two pairs of vectors
 *       (masked at the edges) and split into even and odd columns with
 *       permutes. Measured against row by row with the chunk loop inside:
 *       this order is faster on MobileNet's planes. */
#ifndef ONNXC_KERNELS_CONV_DEPTHWISE_UKR_H
#define ONNXC_KERNELS_CONV_DEPTHWISE_UKR_H

#include <stdint.h>

/* uint16 entries per chunk and in all that oc_dw3_s1_masks_* writes for an H x W plane. */
#define OC_DW3_S1_MASK_STRIDE 5
#define OC_DW3_S1_MASKS(H, W) (OC_DW3_S1_MASK_STRIDE * (((H) * (W) + 15) / 16))

/* y = min(max(y, lo), hi) at the store when on: 1 as ReLU (NaN -> 0),
 * 2 as Clip (NaN kept); 0 off. */
typedef struct oc_dw3_clamp {
    int on;
    float lo, hi;
} oc_dw3_clamp;

void oc_dw3_s1_masks_avx512(int64_t H, int64_t W, uint16_t *masks);
void oc_dw3_s1_plane_avx512(const float *x, int64_t H, int64_t W, const float *w, float b, float *y,
                            const uint16_t *masks, const oc_dw3_clamp *cl);
void oc_dw3_s2_plane_avx512(const float *x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt, int64_t pl,
                            const float *w, float b, float *y, const oc_dw3_clamp *cl);

/* The AVX2 kernels (conv_depthwise_avx2.c): 8 lanes, no masked loads
 * (vmaskmovps was several times slower than a load on the Zen 1 class
 * EPYC this was measured on).
 *   s1: the plane is copied between zero guards of OC_DW3_S1_GUARD(W)
 *       floats (scratch guard: OC_DW3_S1_GUARDED(H, W) floats), so the
 *       rows above and below read zeros; the left and right taps are
 *       ANDed with per-chunk column masks, 16 int32 per chunk of 8
 *       outputs (OC_DW3_S1_MASKS_AVX2 in all); oc_dw3_s1_masks_avx2
 *       writes them and the guards once, the plane only its copy.
 *   s2: c8 below. */
#define OC_DW3_S1_GUARD(W) ((W) + 16)
#define OC_DW3_S1_GUARDED(H, W) ((H) * (W) + 2 * OC_DW3_S1_GUARD(W))
#define OC_DW3_S1_MASKS_AVX2(H, W) (16 * (((H) * (W) + 7) / 8))
/* Once per scratch: the masks, and the zero guards of guard. */
void oc_dw3_s1_masks_avx2(int64_t H, int64_t W, int32_t *masks, float *guard);
void oc_dw3_s1_plane_avx2(const float *x, int64_t H, int64_t W, const float *w, float b, float *y,
                          const int32_t *masks, float *guard, const oc_dw3_clamp *cl);
/* c8: 3x3, stride s (1 or 2), any pads, one input and one output
 * channel per group: cb <= 8 channels at once (planes x + l * Lin, outputs
 * y + l * OH * OW, weights w + 9 l, bias + l or NULL), transposed into a
 * zero-padded block [Hp][Wp][8] with the channels innermost, summed with
 * one FMA per tap for 8 channels (no shuffles: a stride-2 tap is a plain
 * load 16 floats further on), and transposed back. This is the
 * channel-blocked layout ONNX Runtime keeps between layers, built and
 * undone per layer here. conv_depthwise.c takes it for stride 2 on AVX2
 * machines: against the per-plane stride-2 kernel it replaced (even/odd
 * shuffles), MobileNet-v2 in the model, batch 1, one thread, Zen 1 class
 * EPYC: 112 -> 56 1.05 -> 0.79 ms, 56 -> 28 0.34 -> 0.25, 28 -> 14 0.155
 * -> 0.084, 14 -> 7 0.150 -> 0.098. For stride 1 it was slower than the
 * guarded plane at 7x7 and 14x14, so s = 1 is not dispatched. Scratch:
 * OC_DW3_C8_SCRATCH floats. */
#define OC_DW3_C8_HP(OH, s) (((OH) - 1) * (s) + 3)
#define OC_DW3_C8_WP(OW, s) (((OW) - 1) * (s) + 3)
#define OC_DW3_C8_SCRATCH(OH, OW, s) (8 * (OC_DW3_C8_HP(OH, s) * OC_DW3_C8_WP(OW, s) + (OH) * (OW)))
void oc_dw3_c8_avx2(const float *x, int64_t Lin, int cb, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t s,
                    int64_t pt, int64_t pl, const float *w, const float *bias, float *y, const oc_dw3_clamp *cl,
                    float *scratch, int xc8);
/* xc8: x is already one channel block [H][W][8] (conv.h in_c8; cb = 8):
 * no padded block; the taps are read from x in place, rows outside it
 * skipped and the outputs at the left and right edges summed one by one
 * with their columns checked (the copy's stores cost as much as the sum
 * on Zen 1: 56 -> 28 with 144 channels 0.197 -> 0.128 ms). */
#endif
