/* resize.h: kernels of the ops that change spatial extents: Resize (opset
 * 10 to 19) and Upsample (opset 7, 9) with one interpolation kernel, and
 * the block rearrangements DepthToSpace / SpaceToDepth. The compiler side
 * (attributes, shape rules, lowering) is compiler/ops/resize.c.
 *
 * Resize reads its scales / sizes / roi inputs at run time (ONNX test
 * models feed them as graph inputs); the output extents are fixed by the
 * plan and checked against them. */
#ifndef ONNXC_KERNELS_RESIZE_H
#define ONNXC_KERNELS_RESIZE_H

#include "../plan.h"

enum oc_resize_mode { OC_RESIZE_NEAREST, OC_RESIZE_LINEAR, OC_RESIZE_CUBIC };

/* coordinate_transformation_mode */
enum oc_resize_coord {
    OC_COORD_HALF_PIXEL, OC_COORD_HALF_PIXEL_SYMMETRIC, OC_COORD_PYTORCH_HALF_PIXEL, OC_COORD_ALIGN_CORNERS,
    OC_COORD_ASYMMETRIC, OC_COORD_TF_CROP_AND_RESIZE,
};

/* nearest_mode; SIMPLE is Resize-10 / Upsample: floor when upsampling,
 * ceil when downsampling (what ONNX Runtime does for those opsets). */
enum oc_resize_nearest {
    OC_NEAREST_ROUND_PREFER_FLOOR, OC_NEAREST_ROUND_PREFER_CEIL, OC_NEAREST_FLOOR, OC_NEAREST_CEIL,
    OC_NEAREST_SIMPLE,
};

/* keep_aspect_ratio_policy */
enum oc_resize_policy { OC_POLICY_STRETCH, OC_POLICY_NOT_LARGER, OC_POLICY_NOT_SMALLER };

typedef struct oc_resize_params {
    int mode, coord, nearest, policy;
    int antialias, exclude_outside;
    double cubic_a, extrapolation;
    int dtype;
    int rank;
    int n_axes;                 /* dims that scales / sizes / roi name ... */
    int axes[OC_MAX_RANK];      /* ... in this order */
    int in_roi, in_scales, in_sizes; /* input index of each, -1 when the op has none */
    int n_attr_scales;          /* Upsample-7: scales attribute (else 0) */
    float attr_scales[OC_MAX_RANK];
    int64_t cap[OC_MAX_RANK];   /* interpolation taps per output coordinate, per dim */
    size_t scratch;             /* bytes of tap tables (see resize.c) */
} oc_resize_params;

/* Bytes of scratch the tap tables take for output extents out[] and caps
 * cap[]; the lowering reserves this much. */
size_t oc_resize_scratch(int rank, const int64_t *out, const int64_t *cap);

int oc_resize_forward(const oc_kargs *a);

/* DepthToSpace (DCR or CRD order) and SpaceToDepth on [N, C, H, W], any
 * element type (element size copies). */
enum oc_d2s_kind { OC_D2S_DCR, OC_D2S_CRD, OC_S2D };

typedef struct oc_depth_space_params {
    int kind;        /* oc_d2s_kind */
    int64_t block;
    size_t esize;    /* bytes per element */
} oc_depth_space_params;

int oc_depth_space_forward(const oc_kargs *a);

#endif
