/* conv_direct_ukr.h: the AVX2 and AVX-512 parts of the small-Cin direct
 * conv (conv_direct.c, conv_direct_avx2.c, conv_direct_avx512.c). Internal
 * to runtime/kernels; called only when oc_cpu_isa() allows the ISA.
 *
 * oc_cdir_row4_avx2: 4 output channels x OW outputs of one output row,
 *   y[j * ldy + ox] = b[j] + sum_t w[j * K + t] * ph[off[t] + ox]
 *   (j < 4, ox < OW, t < T), FMA in t order. ph + off[t] must be readable
 *   up to OW rounded up to 8 floats (the band's phase rows are that long);
 *   the last partial vector is stored through a temporary. on: 0, or
 *   y clamped to [lo, hi] before the store, 1 as ReLU (NaN -> 0), 2 as
 *   Clip (NaN kept), as the depthwise kernels' clamp.
 * oc_cdir_row8_avx512: the same for 8 output channels (j < 8), 16 outputs
 *   a vector; the last partial vector is read and stored under a lane mask,
 *   so ph + off[t] need be readable only up to OW.
 * oc_cdir_split2_avx2: even[j] = row[2 j], odd[j] = row[2 j + 1], j < n. */
#ifndef ONNXC_KERNELS_CONV_DIRECT_UKR_H
#define ONNXC_KERNELS_CONV_DIRECT_UKR_H

#include <stdint.h>

void oc_cdir_row4_avx2(const float *ph, const int32_t *off, int64_t T, const float *w, int64_t K, const float *b,
                       float *y, int64_t ldy, int64_t OW, int on, float lo, float hi);
void oc_cdir_row8_avx512(const float *ph, const int32_t *off, int64_t T, const float *w, int64_t K, const float *b,
                         float *y, int64_t ldy, int64_t OW, int on, float lo, float hi);
void oc_cdir_split2_avx2(float *even, float *odd, const float *row, int64_t n);

#endif
