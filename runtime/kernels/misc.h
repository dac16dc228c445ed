/* misc.h: kernels of ops that fit no other family: NonMaxSuppression
 * (opset 10, 11), CumProd (26), Det (11, 22), ReverseSequence (10),
 * TensorScatter (24), Unique (11), TfIdfVectorizer (9) and ImageDecoder
 * (20). The compiler side (attributes, shape rules, lowering) is
 * compiler/ops/misc.c.
 *
 * NonMaxSuppression, Unique and ImageDecoder produce as many elements as
 * the data decides. As for NonZero (kernels/indexing.h), the plan fixes
 * the output extent (from constant inputs or the model's declared output
 * shape) and the kernel fails with a message when the data asks for
 * another; it never writes past the planned extent. */
#ifndef ONNXC_KERNELS_MISC_H
#define ONNXC_KERNELS_MISC_H

#include "../plan.h"

typedef struct oc_nms_params {
    int center_point_box; /* 0: [y1, x1, y2, x2]; 1: [x_center, y_center, width, height] */
    int64_t boxes;        /* boxes per batch (sizes the scratch) */
} oc_nms_params;

/* Scratch bytes for `boxes` boxes per batch. */
size_t oc_nms_scratch(int64_t boxes);
/* NonMaxSuppression: boxes [B, N, 4], scores [B, C, N], optional
 * max_output_boxes_per_class (default 0), iou_threshold (default 0),
 * score_threshold (none) -> selected [K, 3] rows (batch, class, box),
 * per class greedily by falling score (ties: lower box index first),
 * dropping boxes whose IoU with a selected one exceeds iou_threshold. */
int oc_nms_forward(const oc_kargs *a);

typedef struct oc_cumprod_params {
    int exclusive, reverse;
} oc_cumprod_params;

/* CumProd: running products along the axis (scalar input 1). */
int oc_cumprod_forward(const oc_kargs *a);

/* Det: X [..., M, M] -> [...]: LU with partial pivoting in double;
 * scratch of oc_det_scratch(M) bytes. */
size_t oc_det_scratch(int64_t m);
int oc_det_forward(const oc_kargs *a);

typedef struct oc_reverse_seq_params {
    int batch_axis, time_axis;
    int es;
} oc_reverse_seq_params;

/* ReverseSequence: for batch b, the first sequence_lens[b] steps along
 * time_axis reversed; the rest copied. */
int oc_reverse_sequence_forward(const oc_kargs *a);

typedef struct oc_tensor_scatter_params {
    int axis;      /* sequence axis, >= 1 */
    int circular;  /* write positions wrap around the cache */
    int es;
} oc_tensor_scatter_params;

/* TensorScatter: the cache with update [..., s, ...] written at
 * write_indices[b] .. + s along axis (per batch b = dim 0). */
int oc_tensor_scatter_forward(const oc_kargs *a);

typedef struct oc_unique_params {
    int has_axis;
    int axis;
    int sorted;
    int64_t n;     /* slices compared (elements when there is no axis) */
    int es;
} oc_unique_params;

size_t oc_unique_scratch(int64_t n);
/* Unique: Y (distinct elements, or slices along axis, ascending or in
 * order of first occurrence), indices (first occurrence), inverse_indices
 * and counts. */
int oc_unique_forward(const oc_kargs *a);

enum { OC_TFIDF_TF, OC_TFIDF_IDF, OC_TFIDF_TFIDF };

/* One n-gram of the pool: `size` values at pool[start], counted into
 * output column `column`. */
typedef struct oc_tfidf_gram {
    int64_t size, start, column;
} oc_tfidf_gram;

/* A variable-size block: this header, then n_grams oc_tfidf_gram, then
 * n_pool int64 pool values, then n_weights doubles (at the offsets). */
typedef struct oc_tfidf_params {
    int mode;
    int64_t min_gram, max_gram, max_skip;
    int64_t out_size;
    int64_t n_grams, n_pool, n_weights;
    size_t grams_off, pool_off, weights_off;
} oc_tfidf_params;

/* TfIdfVectorizer over int32/int64 tokens: X [C] or [B, C] -> [out] or
 * [B, out] float counts of the pool's n-grams (skip-grams up to
 * max_skip), weighted per mode. */
int oc_tfidf_forward(const oc_kargs *a);

enum { OC_PIXEL_RGB, OC_PIXEL_BGR, OC_PIXEL_GRAY };

typedef struct oc_image_decoder_params {
    int pixel_format;
} oc_image_decoder_params;

/* ImageDecoder: encoded bytes [len] uint8 -> [H, W, 3] (RGB or BGR) or
 * [H, W, 1] (grayscale, BT.601 luma), through runtime/image.c's decoder
 * (stb_image: JPEG, PNG, BMP, GIF, TGA, PNM, ...). The one kernel that
 * allocates: the decoder's pixel buffer, freed before it returns. */
int oc_image_decoder_forward(const oc_kargs *a);

#endif
