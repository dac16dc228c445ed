/* shape_ops.h: kernels of the data-movement ops: Reshape, Flatten,
 * Squeeze, Unsqueeze, Identity (byte copies), Transpose, Expand and Slice
 * (strided view copies), Concat, Split, Gather, Tile, Pad, Cast, CastLike,
 * Dropout, ConstantOfShape, Range, Shape, Size and Constant, and the
 * backward kernels of Slice, Pad, Gather, Tile and Dropout. The compiler
 * side (shape rules, lowering, gradient rules) is compiler/ops/shape_ops.c.
 *
 * Output shapes are fixed by the plan. Inputs that ONNX passes as tensors
 * but that decide a shape (Reshape's shape, Slice's starts, Pad's pads,
 * Tile's repeats, ...) are read at run time and checked against the
 * planned output shape, so a model whose data disagrees with its declared
 * shapes fails with a message instead of writing out of bounds.
 *
 * Element conversions for every held dtype come from runtime/dtype.h. */
#ifndef ONNXC_KERNELS_SHAPE_OPS_H
#define ONNXC_KERNELS_SHAPE_OPS_H

#include "../dtype.h"
#include "../plan.h"

/* ---- element helpers ---- */

/* Conversions between element types (oc_half_to_float, oc_elem_get_f64,
 * ...) live in runtime/dtype.h. */

/* Index element i of an int32/int64 tensor (other types are converted). */
int64_t oc_index_get(const oc_tensor *t, int64_t i);

/* ---- byte copy: Reshape, Flatten, Squeeze, Unsqueeze, Identity ---- */

/* Optional run-time check of Reshape's shape input against the output. */
typedef struct oc_copy_params {
    int check_reshape; /* 1: input 1 is Reshape's shape */
    int allowzero;
} oc_copy_params;

int oc_copy_forward(const oc_kargs *a);

/* ---- strided view copy: Transpose, Expand, Slice ---- */

/* out[c] = in[offset + sum_d c_d * strides[d]] over the output coordinates
 * c (row-major); strides are in elements and may be 0 (broadcast) or
 * negative (reversed slices). */
typedef struct oc_view_params {
    int es;   /* element size in bytes: 1, 2, 4 or 8 */
    int rank;
    int64_t dims[OC_MAX_RANK];
    int64_t strides[OC_MAX_RANK];
    int64_t offset;
} oc_view_params;

/* Drops size-1 dims and merges dims that are contiguous in the input, so
 * the copy loops run over as few, as long rows as possible. */
void oc_view_simplify(oc_view_params *p);
int oc_view_forward(const oc_kargs *a);

/* Expand checks its shape input at run time, then copies like a view. */
int oc_expand_forward(const oc_kargs *a);

/* Slice: starts/ends/axes/steps from attributes (opset < 10, stored here)
 * or from inputs 1-4 at run time; clamped as the spec says. */
typedef struct oc_slice_params {
    int es;
    int from_inputs;
    int n; /* entries of starts/ends/axes (attribute form) */
    int has_axes;
    int64_t starts[OC_MAX_RANK], ends[OC_MAX_RANK], axes[OC_MAX_RANK];
} oc_slice_params;

int oc_slice_forward(const oc_kargs *a);

/* ---- Concat, Split, Gather, Tile ---- */

typedef struct oc_axis_params {
    int es;
    int axis;
} oc_axis_params;

int oc_concat_forward(const oc_kargs *a);
/* Split: output sizes along axis come from the plan; a split input, when
 * given, must agree with them. */
int oc_split_forward(const oc_kargs *a);
/* Gather: indices int32/int64, negative ones count from the end; an index
 * outside [-n, n) is a run-time error. */
int oc_gather_forward(const oc_kargs *a);
int oc_tile_forward(const oc_kargs *a);

/* ---- Pad ---- */

enum { OC_PAD_CONSTANT, OC_PAD_REFLECT, OC_PAD_EDGE, OC_PAD_WRAP };

typedef struct oc_pad_params {
    int es, dtype, mode;
    int from_inputs; /* 1: pads/value/axes are inputs 1-3 (opset 11+) */
    int npads;       /* attribute form (opset < 11) */
    int64_t pads[2 * OC_MAX_RANK];
    double value;    /* attribute form */
} oc_pad_params;

/* Needs scratch of oc_pad_scratch(output) bytes: one source-index map per
 * output dim. */
size_t oc_pad_scratch(const oc_tensor *out);
int oc_pad_forward(const oc_kargs *a);

/* ---- Cast, CastLike ---- */

typedef struct oc_cast_params {
    int from, to;   /* dtypes */
    int saturate;   /* float8 targets: clamp out-of-range values (the default) */
    int round_mode; /* float8e8m0 targets: OC_ROUND_UP (default), _DOWN, _NEAREST */
} oc_cast_params;

int oc_cast_forward(const oc_kargs *a);

/* ---- Dropout ---- */

typedef struct oc_dropout_params {
    float ratio;       /* attribute form; -1 when from input 1 or default */
    int training;      /* attribute form (is_test = 0 in old opsets) */
    uint64_t seed;     /* the node's seed attribute, else OC_DROPOUT_SEED */
} oc_dropout_params;

/* Seed of a Dropout node without a seed attribute: fixed, so that runs
 * repeat bitwise. */
#define OC_DROPOUT_SEED 0x6f6e6e78634452ULL

/* Inference (training_mode absent or false, or ratio 0): Y = X, mask all
 * true. Training: mask[i] = u_i >= ratio with u_i uniform in [0, 1) drawn
 * from a counter-based generator keyed by (seed, i), so the same seed gives
 * bitwise the same mask; Y = X * mask / (1 - ratio) (zeros for ratio 1). */
int oc_dropout_forward(const oc_kargs *a);

/* ---- backward kernels (gradient ops of compiler/ops/shape_ops.c) ----
 * float32 and float64 gradients; the forward's input X is passed only for
 * its shape (the planned output dX has it). */

/* SliceGrad(dY, X, starts, ends, axes, steps): dX = 0 except at the
 * positions the slice read, where dX = dY (each read once, so a scatter
 * without accumulation). Same parameters as Slice, bounds at inputs 2-5. */
int oc_slice_backward(const oc_kargs *a);
/* PadGrad(dY, X, pads, value, axes): dX[s] = sum of dY[o] over the output
 * positions o whose source (constant: o - pad, or none; reflect / edge /
 * wrap: the mirrored / clamped / periodic index) is s. Same parameters and
 * scratch (oc_pad_scratch of dY) as Pad, bounds at inputs 2-4. */
int oc_pad_backward(const oc_kargs *a);
/* GatherGrad(dY, X, indices): dX = 0, then dX[.., idx[j], ..] += dY[.., j, ..]
 * (scatter-add: a repeated index collects every contribution). */
int oc_gather_backward(const oc_kargs *a);
/* TileGrad(dY, X): dX[c] = sum of dY[c'] over the output coordinates c'
 * with c'_d mod X_d = c_d, i.e. the tiles summed. */
int oc_tile_backward(const oc_kargs *a);
/* DropoutGrad(dY, mask, ratio, training_mode): in training
 * dX = dY * mask / (1 - ratio) (0 for ratio 1), else dX = dY. */
int oc_dropout_backward(const oc_kargs *a);

/* ---- generators ---- */

typedef struct oc_fill_params {
    int es;
    unsigned char value[8]; /* one element of the output dtype */
} oc_fill_params;

/* ConstantOfShape: checks the shape input, fills the output. */
int oc_constant_of_shape_forward(const oc_kargs *a);
/* Range: start + i * delta, checked against the planned length. */
int oc_range_forward(const oc_kargs *a);

typedef struct oc_shape_params {
    int64_t start, end; /* resolved, 0 <= start <= end <= rank */
} oc_shape_params;

int oc_shape_forward(const oc_kargs *a);
int oc_size_forward(const oc_kargs *a);

/* Constant: the bytes follow the header in the same parameter block. */
typedef struct oc_const_params {
    size_t nbytes;
    unsigned char data[];
} oc_const_params;

int oc_constant_forward(const oc_kargs *a);

#endif
