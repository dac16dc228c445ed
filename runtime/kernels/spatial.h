/* spatial.h: kernels of the ops that sample or rearrange images by
 * coordinates: GridSample (opset 16, 20, 22), AffineGrid (20), RoiAlign
 * (10, 16, 22), DeformConv (19, 22), Col2Im (18), MaxUnpool (9, 11, 22)
 * and CenterCropPad (18). The compiler side (attributes, shape rules,
 * lowering) is compiler/ops/spatial.c.
 *
 * Layouts are NCHW-like: [N, C, spatial...]. Arithmetic is in double and
 * results are stored in the output's element type. Inputs that decide an
 * output extent (AffineGrid's size, Col2Im's image_shape, MaxUnpool's
 * output_shape, CenterCropPad's shape) are read at run time and checked
 * against the extents the plan fixed. */
#ifndef ONNXC_KERNELS_SPATIAL_H
#define ONNXC_KERNELS_SPATIAL_H

#include "../plan.h"

#define OC_SPATIAL_MAX (OC_MAX_RANK - 2)

enum oc_grid_mode { OC_GRID_NEAREST, OC_GRID_LINEAR, OC_GRID_CUBIC };
enum oc_grid_padding { OC_GRID_ZEROS, OC_GRID_BORDER, OC_GRID_REFLECTION };

typedef struct oc_grid_sample_params {
    int mode;          /* oc_grid_mode */
    int padding;       /* oc_grid_padding */
    int align_corners;
} oc_grid_sample_params;

/* GridSample: X [N, C, D1..Dk], grid [N, O1..Ok, k] of normalized
 * coordinates in [-1, 1], last entry first (x, y, z order) ->
 * Y [N, C, O1..Ok]. Coordinates map to pixels as (g + 1) / 2 * (D - 1)
 * (align_corners) or ((g + 1) * D - 1) / 2; samples outside are zero,
 * clamped to the border or reflected (padding). Cubic uses Keys' kernel
 * with A = -0.75 over 4 taps per dim. */
int oc_grid_sample_forward(const oc_kargs *a);

typedef struct oc_affine_grid_params {
    int align_corners;
} oc_affine_grid_params;

/* AffineGrid: theta [N, 2, 3] (2-D) or [N, 3, 4] (3-D), size [N, C, H, W]
 * or [N, C, D, H, W] -> grid [N, H, W, 2] / [N, D, H, W, 3]: theta times
 * the homogeneous base grid (x, y[, z], 1). */
int oc_affine_grid_forward(const oc_kargs *a);

typedef struct oc_roi_align_params {
    int max_mode;        /* 0: average, 1: max */
    int half_pixel;      /* coordinate_transformation_mode half_pixel */
    int64_t sampling_ratio;
    double spatial_scale;
} oc_roi_align_params;

/* RoiAlign: X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2), batch_indices
 * [R] -> Y [R, C, oh, ow]; each bin averages (or takes the max of)
 * bilinear samples on a sampling_ratio^2 grid (adaptive when 0). */
int oc_roi_align_forward(const oc_kargs *a);

typedef struct oc_deform_conv_params {
    int64_t group, offset_group;
    int64_t k[2], s[2], dil[2], pb[2];
} oc_deform_conv_params;

/* DeformConv (2-D): X [N, C, H, W], W [M, C/group, kh, kw], offset
 * [N, og*kh*kw*2, oh, ow], B [M] (optional), mask [N, og*kh*kw, oh, ow]
 * (optional) -> Y [N, M, oh, ow]; tap (i, j) of output (y, x) samples X
 * bilinearly (zero outside) at (y*s - pad + i*dil + dy, x*s - pad + j*dil + dx). */
int oc_deform_conv_forward(const oc_kargs *a);

typedef struct oc_col2im_params {
    int nsp;
    int64_t dil[OC_SPATIAL_MAX], pb[OC_SPATIAL_MAX], pe[OC_SPATIAL_MAX], s[OC_SPATIAL_MAX];
} oc_col2im_params;

/* Col2Im: input [N, C*prod(block), L], image_shape, block_shape ->
 * [N, C, image...]: the inverse of im2col, overlapping blocks summed. */
int oc_col2im_forward(const oc_kargs *a);

typedef struct oc_max_unpool_params {
    int nsp;
    int64_t k[OC_SPATIAL_MAX], s[OC_SPATIAL_MAX], pb[OC_SPATIAL_MAX], pe[OC_SPATIAL_MAX];
} oc_max_unpool_params;

/* MaxUnpool: X [N, C, spatial], I (flat indices into the unpooled
 * [N, C, (in - 1) * s - pads + k] tensor) -> that tensor, zero except at
 * I; with output_shape the result sits in the leading corner of a zero
 * tensor of that shape (as the ONNX reference implementation does). */
int oc_max_unpool_forward(const oc_kargs *a);

typedef struct oc_center_crop_pad_params {
    int n_axes;
    int axes[OC_MAX_RANK];
    int es;
} oc_center_crop_pad_params;

/* CenterCropPad: each named axis cropped (offset floor((in - out) / 2)) or
 * zero-padded (offset floor((out - in) / 2)) to shape[i]. */
int oc_center_crop_pad_forward(const oc_kargs *a);

#endif
