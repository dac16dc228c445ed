/* signal.h: kernels of the signal-processing ops: DFT (opset 17, 19, 20),
 * STFT (opset 17), the window generators HannWindow, HammingWindow and
 * BlackmanWindow (opset 17) and MelWeightMatrix (opset 17). The compiler side (attributes, shape rules,
 * lowering) is compiler/ops/signal.c.
 *
 * Complex tensors are real tensors with a last dim of 2 (re, im); a last
 * dim of 1 is a real signal. The transforms are naive O(n^2) sums in
 * double precision, with angles reduced as (k * t mod n) so that long
 * transforms keep their accuracy. Inputs that decide an extent
 * (dft_length, axis, frame_step, frame_length, the window size) are read
 * at run time and checked against the extents the plan fixed. */
#ifndef ONNXC_KERNELS_SIGNAL_H
#define ONNXC_KERNELS_SIGNAL_H

#include "../plan.h"

typedef struct oc_dft_params {
    int64_t axis;    /* signal axis from the attribute (opsets 17, 19) or the default */
    int axis_input;  /* input index of a run-time axis (opset 20), -1: none */
    int inverse;
    int onesided;
} oc_dft_params;

/* DFT: X [..., n, ..., 1|2] -> Y [..., m, ..., 2] along axis, where n is
 * zero-padded or truncated to dft_length (input 1, default the axis
 * extent); onesided keeps bins 0..L/2. inverse scales by 1/L; inverse and
 * onesided together is the real inverse of a one-sided spectrum (numpy's
 * irfft): Y [..., L, ..., 1]. */
int oc_dft_forward(const oc_kargs *a);

typedef struct oc_stft_params {
    int onesided;
} oc_stft_params;

/* STFT: signal [B, len, 1|2], frame_step (scalar), window [L] (optional),
 * frame_length (scalar, optional) -> [B, frames, bins, 2], frames =
 * 1 + (len - L) / frame_step, bins = L/2 + 1 when onesided else L. */
int oc_stft_forward(const oc_kargs *a);

enum oc_window_kind { OC_WINDOW_HANN, OC_WINDOW_HAMMING, OC_WINDOW_BLACKMAN };

typedef struct oc_window_params {
    int kind;      /* oc_window_kind */
    int periodic;  /* 1: N = size, 0 (symmetric): N = size - 1 */
} oc_window_params;

/* A window of `size` (scalar input) samples, n = 0..size-1:
 * Hann sin^2(pi n / N), Hamming 25/46 - 21/46 cos(2 pi n / N),
 * Blackman 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N). */
int oc_window_forward(const oc_kargs *a);

/* MelWeightMatrix: num_mel_bins, dft_length, sample_rate (int32/int64
 * scalars), lower_edge_hertz, upper_edge_hertz (float scalars) ->
 * [dft_length/2 + 1, num_mel_bins] in the output's type. With
 * mel(f) = 2595 log10(1 + f/700) and the num_mel_bins + 2 points
 * m_k = mel(lower) + k (mel(upper) - mel(lower)) / (num_mel_bins + 2),
 * edge k is the spectrum row floor((dft_length + 1) mel^-1(m_k) /
 * sample_rate); band i is the triangle over rows edge i .. edge i+2 that
 * rises linearly from 0 at edge i to 1 at edge i+1 and falls to 0 at edge
 * i+2 (excluded), every other entry 0 (the ONNX reference's loops; a
 * band whose first two edges coincide still has its 1). Rows beyond the
 * spectrum (edges above the Nyquist frequency) are left out. Refused:
 * num_mel_bins outside [0, OC_MEL_MAX_BINS], dft_length outside [1,
 * OC_MEL_MAX_DFT], more than OC_MEL_MAX_ELEMS entries, sample_rate < 1,
 * and edges that are not 0 <= lower <= upper <= sample_rate. Computed in double, then converted
 * (an integer output type truncates: 1 at each band's peak, else 0). */
int oc_mel_weight_matrix_forward(const oc_kargs *a);

#define OC_MEL_MAX_BINS ((int64_t)1 << 20)
#define OC_MEL_MAX_DFT ((int64_t)1 << 31)
#define OC_MEL_MAX_ELEMS ((int64_t)1 << 28)

#endif
