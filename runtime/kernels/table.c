/* table.c: see table.h. One list of every kernel, grouped by family
 * (the file that defines it), plus the unary kernels' own list from
 * elementwise.c. Ids are positions in the concatenation, fixed for a
 * build. */
#include "table.h"

#include <pthread.h>
#include <string.h>

#include "attention.h"
#include "conv.h"
#include "conv_winograd.h"
#include "conv_depthwise.h"
#include "conv_direct.h"
#include "conv_ocblock.h"
#include "einsum.h"
#include "elementwise.h"
#include "gemm.h"
#include "indexing.h"
#include "loss.h"
#include "misc.h"
#include "ml.h"
#include "norm.h"
#include "optim_ops.h"
#include "pool.h"
#include "reduce.h"
#include "resize.h"
#include "rnn.h"
#include "shape_ops.h"
#include "signal.h"
#include "spatial.h"
#include "unary_int.h"

static const oc_kernel_info core[] = {
    {.name = "oc_conv_forward", .fn = oc_conv_forward, .params_type = "oc_conv_params", .ref = oc_conv_ref, .variant = "im2col+gemm",
     .prep_bytes = oc_conv_prep_bytes, .prep = oc_conv_prep, .prep_inputs = 1u << 1},
    {.name = "oc_conv_winograd_forward", .fn = oc_conv_winograd_forward, .params_type = "oc_conv_params", .ref = oc_conv_ref, .variant = "winograd-2x2",
     .prep_bytes = oc_conv_winograd_prep_bytes, .prep = oc_conv_winograd_prep, .prep_inputs = 1u << 1},
    {.name = "oc_conv_winograd4_forward", .fn = oc_conv_winograd4_forward, .params_type = "oc_conv_params", .ref = oc_conv_ref, .variant = "winograd-4x4",
     .prep_bytes = oc_conv_winograd4_prep_bytes, .prep = oc_conv_winograd4_prep, .prep_inputs = 1u << 1},
    {.name = "oc_conv_transpose_winograd_forward", .fn = oc_conv_transpose_winograd_forward, .params_type = "oc_conv_params",
     .ref = oc_conv_transpose_ref, .variant = "winograd-2x2",
     .prep_bytes = oc_conv_transpose_winograd_prep_bytes, .prep = oc_conv_transpose_winograd_prep, .prep_inputs = 1u << 1},
    {.name = "oc_conv_transpose_winograd4_forward", .fn = oc_conv_transpose_winograd4_forward, .params_type = "oc_conv_params",
     .ref = oc_conv_transpose_ref, .variant = "winograd-4x4",
     .prep_bytes = oc_conv_transpose_winograd4_prep_bytes, .prep = oc_conv_transpose_winograd4_prep, .prep_inputs = 1u << 1},
    {.name = "oc_conv_depthwise_forward", .fn = oc_conv_depthwise_forward, .params_type = "oc_conv_params", .ref = oc_conv_ref, .variant = "direct-dw"},
    {.name = "oc_conv_direct_forward", .fn = oc_conv_direct_forward, .params_type = "oc_conv_params", .ref = oc_conv_ref, .variant = "direct-smallc"},
    {.name = "oc_conv_ocblock_forward", .fn = oc_conv_ocblock_forward, .params_type = "oc_conv_params", .ref = oc_conv_ref, .variant = "direct-ocblock",
     .prep_bytes = oc_conv_ocblock_prep_bytes, .prep = oc_conv_ocblock_prep, .prep_inputs = 1u << 1},
    {.name = "oc_conv_ref", .fn = oc_conv_ref, .params_type = "oc_conv_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_conv_transpose_forward", .fn = oc_conv_transpose_forward, .params_type = "oc_conv_params", .ref = oc_conv_transpose_ref, .variant = "gemm+col2im"},
    {.name = "oc_conv_transpose_ref", .fn = oc_conv_transpose_ref, .params_type = "oc_conv_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_conv_grad_weight", .fn = oc_conv_grad_weight, .params_type = "oc_conv_params", .ref = oc_conv_grad_weight_ref, .variant = "im2col+gemm"},
    {.name = "oc_conv_grad_weight_winograd", .fn = oc_conv_grad_weight_winograd, .params_type = "oc_conv_params", .ref = oc_conv_grad_weight_ref, .variant = "winograd-3x3"},
    {.name = "oc_conv_grad_weight_ref", .fn = oc_conv_grad_weight_ref, .params_type = "oc_conv_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_conv_grad_bias", .fn = oc_conv_grad_bias, .params_type = "oc_conv_params", .ref = NULL},
    {.name = "oc_einsum_forward", .fn = oc_einsum_forward, .params_type = "oc_einsum_params", .ref = NULL},
    {.name = "oc_binary_forward", .fn = oc_binary_forward, .params_type = "oc_bcast_params", .ref = NULL},
    {.name = "oc_clip_forward", .fn = oc_clip_forward, .params_type = "oc_unary_params", .ref = NULL},
    {.name = "oc_relu_backward", .fn = oc_relu_backward, .params_type = "", .ref = NULL},
    {.name = "oc_sum_to_shape", .fn = oc_sum_to_shape, .params_type = "oc_bcast_params", .ref = NULL},
    {.name = "oc_clip_backward", .fn = oc_clip_backward, .params_type = "oc_unary_params", .ref = NULL},
    {.name = "oc_gemm_forward", .fn = oc_gemm_forward, .params_type = "oc_gemm_params", .ref = oc_gemm_ref, .variant = "sgemm",
     .prep_bytes = oc_gemm_prep_bytes, .prep = oc_gemm_prep, .prep_inputs = 1u << 1},
    {.name = "oc_gemm_ref", .fn = oc_gemm_ref, .params_type = "oc_gemm_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_matmul_forward", .fn = oc_matmul_forward, .params_type = "oc_matmul_params", .ref = oc_matmul_ref, .variant = "sgemm"},
    {.name = "oc_matmul_ref", .fn = oc_matmul_ref, .params_type = "oc_matmul_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_matmul_backward_a", .fn = oc_matmul_backward_a, .params_type = "oc_matmul_params", .ref = NULL},
    {.name = "oc_matmul_backward_b", .fn = oc_matmul_backward_b, .params_type = "oc_matmul_params", .ref = NULL},
    {.name = "oc_gather_elements_forward", .fn = oc_gather_elements_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_gather_nd_forward", .fn = oc_gather_nd_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_scatter_elements_forward", .fn = oc_scatter_elements_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_scatter_nd_forward", .fn = oc_scatter_nd_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_topk_forward", .fn = oc_topk_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_cumsum_forward", .fn = oc_cumsum_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_one_hot_forward", .fn = oc_one_hot_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_trilu_forward", .fn = oc_trilu_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_nonzero_forward", .fn = oc_nonzero_forward, .params_type = "", .ref = NULL},
    {.name = "oc_compress_forward", .fn = oc_compress_forward, .params_type = "oc_index_params", .ref = NULL},
    {.name = "oc_eye_like_forward", .fn = oc_eye_like_forward, .params_type = "oc_eye_params", .ref = NULL},
    {.name = "oc_loss_forward", .fn = oc_loss_forward, .params_type = "oc_loss_params", .ref = NULL},
    {.name = "oc_loss_backward", .fn = oc_loss_backward, .params_type = "oc_loss_params", .ref = NULL},
    {.name = "oc_xent_forward", .fn = oc_xent_forward, .params_type = "oc_xent_params", .ref = NULL},
    {.name = "oc_xent_backward", .fn = oc_xent_backward, .params_type = "oc_xent_params", .ref = NULL},
    {.name = "oc_pw_loss_forward", .fn = oc_pw_loss_forward, .params_type = "oc_pw_loss_params", .ref = NULL},
    {.name = "oc_pw_loss_backward", .fn = oc_pw_loss_backward, .params_type = "oc_pw_loss_params", .ref = NULL},
    {.name = "oc_batchnorm_forward", .fn = oc_batchnorm_forward, .params_type = "oc_batchnorm_params", .ref = oc_batchnorm_ref, .variant = "threaded"},
    {.name = "oc_batchnorm_ref", .fn = oc_batchnorm_ref, .params_type = "oc_batchnorm_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_groupnorm_forward", .fn = oc_groupnorm_forward, .params_type = "oc_groupnorm_params", .ref = NULL},
    {.name = "oc_layernorm_forward", .fn = oc_layernorm_forward, .params_type = "oc_layernorm_params", .ref = NULL},
    {.name = "oc_lpnorm_forward", .fn = oc_lpnorm_forward, .params_type = "oc_lpnorm_params", .ref = NULL},
    {.name = "oc_lrn_forward", .fn = oc_lrn_forward, .params_type = "oc_lrn_params", .ref = NULL},
    {.name = "oc_mvn_forward", .fn = oc_mvn_forward, .params_type = "oc_mvn_params", .ref = NULL},
    {.name = "oc_batchnorm_backward", .fn = oc_batchnorm_backward, .params_type = "oc_batchnorm_params", .ref = NULL},
    {.name = "oc_layernorm_backward", .fn = oc_layernorm_backward, .params_type = "oc_layernorm_params", .ref = NULL},
    {.name = "oc_pool_forward", .fn = oc_pool_forward, .params_type = "oc_pool_params", .ref = NULL, .variant = "general"},
    {.name = "oc_pool2d_forward", .fn = oc_pool2d_forward, .params_type = "oc_pool_params", .ref = oc_pool_forward, .variant = "2d-rows"},
    {.name = "oc_global_pool_forward", .fn = oc_global_pool_forward, .params_type = "oc_global_pool_params", .ref = oc_global_pool_ref, .variant = "threaded"},
    {.name = "oc_global_pool_ref", .fn = oc_global_pool_ref, .params_type = "oc_global_pool_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_pool_backward", .fn = oc_pool_backward, .params_type = "oc_pool_params", .ref = oc_pool_backward_ref},
    {.name = "oc_pool_backward_ref", .fn = oc_pool_backward_ref, .params_type = "oc_pool_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_global_pool_backward", .fn = oc_global_pool_backward, .params_type = "oc_global_pool_params", .ref = NULL},
    {.name = "oc_softmax_forward", .fn = oc_softmax_forward, .params_type = "oc_softmax_params", .ref = oc_softmax_ref, .variant = "threaded"},
    {.name = "oc_softmax_ref", .fn = oc_softmax_ref, .params_type = "oc_softmax_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_reduce_forward", .fn = oc_reduce_forward, .params_type = "oc_reduce_params", .ref = NULL},
    {.name = "oc_arg_forward", .fn = oc_arg_forward, .params_type = "oc_arg_params", .ref = NULL},
    {.name = "oc_softmax_backward", .fn = oc_softmax_backward, .params_type = "oc_softmax_params", .ref = NULL},
    {.name = "oc_reduce_backward", .fn = oc_reduce_backward, .params_type = "oc_reduce_grad_params", .ref = NULL},
    {.name = "oc_attention_forward", .fn = oc_attention_forward, .params_type = "oc_attention_params", .ref = oc_attention_ref, .variant = "sgemm"},
    {.name = "oc_attention_ref", .fn = oc_attention_ref, .params_type = "oc_attention_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_linear_attention_forward", .fn = oc_linear_attention_forward, .params_type = "oc_linear_attention_params", .ref = NULL},
    {.name = "oc_rotary_forward", .fn = oc_rotary_forward, .params_type = "oc_rotary_params", .ref = NULL},
    {.name = "oc_swiglu_forward", .fn = oc_swiglu_forward, .params_type = "oc_swiglu_params", .ref = NULL},
    {.name = "oc_causal_conv_forward", .fn = oc_causal_conv_forward, .params_type = "oc_causal_conv_params", .ref = NULL},
    {.name = "oc_resize_forward", .fn = oc_resize_forward, .params_type = "oc_resize_params", .ref = NULL},
    {.name = "oc_depth_space_forward", .fn = oc_depth_space_forward, .params_type = "oc_depth_space_params", .ref = NULL},
    {.name = "oc_copy_forward", .fn = oc_copy_forward, .params_type = "oc_copy_params", .ref = NULL},
    {.name = "oc_view_forward", .fn = oc_view_forward, .params_type = "oc_view_params", .ref = NULL},
    {.name = "oc_expand_forward", .fn = oc_expand_forward, .params_type = "", .ref = NULL},
    {.name = "oc_slice_forward", .fn = oc_slice_forward, .params_type = "oc_slice_params", .ref = NULL},
    {.name = "oc_concat_forward", .fn = oc_concat_forward, .params_type = "oc_axis_params", .ref = NULL},
    {.name = "oc_split_forward", .fn = oc_split_forward, .params_type = "oc_axis_params", .ref = NULL},
    {.name = "oc_gather_forward", .fn = oc_gather_forward, .params_type = "oc_axis_params", .ref = NULL},
    {.name = "oc_tile_forward", .fn = oc_tile_forward, .params_type = "", .ref = NULL},
    {.name = "oc_pad_forward", .fn = oc_pad_forward, .params_type = "oc_pad_params", .ref = NULL},
    {.name = "oc_cast_forward", .fn = oc_cast_forward, .params_type = "oc_cast_params", .ref = NULL},
    {.name = "oc_dropout_forward", .fn = oc_dropout_forward, .params_type = "oc_dropout_params", .ref = NULL},
    {.name = "oc_constant_of_shape_forward", .fn = oc_constant_of_shape_forward, .params_type = "oc_fill_params", .ref = NULL},
    {.name = "oc_range_forward", .fn = oc_range_forward, .params_type = "", .ref = NULL},
    {.name = "oc_shape_forward", .fn = oc_shape_forward, .params_type = "oc_shape_params", .ref = NULL},
    {.name = "oc_size_forward", .fn = oc_size_forward, .params_type = "", .ref = NULL},
    {.name = "oc_constant_forward", .fn = oc_constant_forward, .params_type = "oc_const_params", .ref = NULL},
    {.name = "oc_slice_backward", .fn = oc_slice_backward, .params_type = "oc_slice_params", .ref = NULL},
    {.name = "oc_pad_backward", .fn = oc_pad_backward, .params_type = "oc_pad_params", .ref = NULL},
    {.name = "oc_gather_backward", .fn = oc_gather_backward, .params_type = "oc_axis_params", .ref = NULL},
    {.name = "oc_tile_backward", .fn = oc_tile_backward, .params_type = "", .ref = NULL},
    {.name = "oc_dropout_backward", .fn = oc_dropout_backward, .params_type = "oc_dropout_params", .ref = NULL},
    {.name = "oc_unary_int_forward", .fn = oc_unary_int_forward, .params_type = "oc_unary_int_params", .ref = NULL},
    /* signal.c */
    {.name = "oc_dft_forward", .fn = oc_dft_forward, .params_type = "oc_dft_params", .ref = NULL},
    {.name = "oc_stft_forward", .fn = oc_stft_forward, .params_type = "oc_stft_params", .ref = NULL},
    {.name = "oc_window_forward", .fn = oc_window_forward, .params_type = "oc_window_params", .ref = NULL},
    {.name = "oc_mel_weight_matrix_forward", .fn = oc_mel_weight_matrix_forward, .params_type = "", .ref = NULL},
    /* spatial.c */
    {.name = "oc_grid_sample_forward", .fn = oc_grid_sample_forward, .params_type = "oc_grid_sample_params", .ref = NULL},
    {.name = "oc_affine_grid_forward", .fn = oc_affine_grid_forward, .params_type = "oc_affine_grid_params", .ref = NULL},
    {.name = "oc_roi_align_forward", .fn = oc_roi_align_forward, .params_type = "oc_roi_align_params", .ref = NULL},
    {.name = "oc_deform_conv_forward", .fn = oc_deform_conv_forward, .params_type = "oc_deform_conv_params", .ref = NULL},
    {.name = "oc_col2im_forward", .fn = oc_col2im_forward, .params_type = "oc_col2im_params", .ref = NULL},
    {.name = "oc_max_unpool_forward", .fn = oc_max_unpool_forward, .params_type = "oc_max_unpool_params", .ref = NULL},
    {.name = "oc_center_crop_pad_forward", .fn = oc_center_crop_pad_forward, .params_type = "oc_center_crop_pad_params", .ref = NULL},
    /* misc.c */
    {.name = "oc_nms_forward", .fn = oc_nms_forward, .params_type = "oc_nms_params", .ref = NULL},
    {.name = "oc_cumprod_forward", .fn = oc_cumprod_forward, .params_type = "oc_cumprod_params", .ref = NULL},
    {.name = "oc_det_forward", .fn = oc_det_forward, .params_type = "", .ref = NULL},
    {.name = "oc_reverse_sequence_forward", .fn = oc_reverse_sequence_forward, .params_type = "oc_reverse_seq_params", .ref = NULL},
    {.name = "oc_tensor_scatter_forward", .fn = oc_tensor_scatter_forward, .params_type = "oc_tensor_scatter_params", .ref = NULL},
    {.name = "oc_unique_forward", .fn = oc_unique_forward, .params_type = "oc_unique_params", .ref = NULL},
    {.name = "oc_tfidf_forward", .fn = oc_tfidf_forward, .params_type = "oc_tfidf_params", .ref = NULL},
    {.name = "oc_image_decoder_forward", .fn = oc_image_decoder_forward, .params_type = "oc_image_decoder_params", .ref = NULL},
    /* ml.c (ai.onnx.ml); TreeEnsemble's and LabelEncoder's variable-size blocks have no printer */
    {.name = "oc_binarizer_forward", .fn = oc_binarizer_forward, .params_type = "oc_binarizer_params", .ref = NULL},
    {.name = "oc_array_feature_extractor_forward", .fn = oc_array_feature_extractor_forward, .params_type = "", .ref = NULL},
    {.name = "oc_tree_ensemble_forward", .fn = oc_tree_ensemble_forward, .params_type = "oc_tree_ensemble_params", .ref = NULL},
    {.name = "oc_label_encoder_forward", .fn = oc_label_encoder_forward, .params_type = "oc_label_encoder_params", .ref = NULL},
    /* optim_ops.c (ai.onnx.preview.training) */
    {.name = "oc_optim_op_forward", .fn = oc_optim_op_forward, .params_type = "oc_optim_op_params", .ref = NULL},
    /* rnn.c */
    {.name = "oc_rnn_forward", .fn = oc_rnn_forward, .params_type = "oc_rnn_params", .ref = oc_rnn_ref, .variant = "sgemm"},
    {.name = "oc_rnn_ref", .fn = oc_rnn_ref, .params_type = "oc_rnn_params", .ref = NULL, .variant = "direct-ref"},
    {.name = "oc_rnn_backward", .fn = oc_rnn_backward, .params_type = "oc_rnn_params", .ref = NULL},
    {0},
};

static const oc_kernel_info *const lists[] = {core, oc_kernels_elementwise_unary, oc_kernels_bitcast, oc_kernels_quant,
                                               oc_kernels_controlflow, oc_kernels_strings, oc_kernels_sequence};

#define MAX_KERNELS 256
static const oc_kernel_info *all[MAX_KERNELS];
static int n_all;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (const oc_kernel_info *k = lists[l]; k->name && n_all < MAX_KERNELS; k++)
            all[n_all++] = k;
}

int oc_kernel_count(void)
{
    pthread_once(&once, build);
    return n_all;
}

const oc_kernel_info *oc_kernel_get(int id)
{
    pthread_once(&once, build);
    return id >= 0 && id < n_all ? all[id] : NULL;
}

int oc_kernel_id_of(oc_kernel_fn fn)
{
    pthread_once(&once, build);
    for (int i = 0; i < n_all; i++)
        if (all[i]->fn == fn)
            return i;
    return -1;
}

int oc_kernel_slices_batch(int id)
{
    const oc_kernel_info *k = oc_kernel_get(id);
    return k && (k->fn == oc_conv_forward || k->fn == oc_conv_winograd_forward ||
                 k->fn == oc_conv_winograd4_forward || k->fn == oc_conv_depthwise_forward ||
                 k->fn == oc_conv_direct_forward || k->fn == oc_conv_ocblock_forward);
}

int oc_kernel_find(const char *name)
{
    pthread_once(&once, build);
    for (int i = 0; i < n_all; i++)
        if (!strcmp(all[i]->name, name))
            return i;
    return -1;
}
