/* codegen_params.c: printers for kernel parameter blocks, beside the
 * kernel table: each parameter type of runtime/kernels/table.c has a list
 * of its fields (name, offset, C type, array extent), and one printer
 * writes any block as a designated initializer,
 *
 *   static const oc_conv_params p_conv1 = {.nsp = 2, .batch = 1, ...};
 *
 * Fields that are zero are left out (the initializer zeroes them). A block
 * holding a nonzero byte that no listed field covers is refused, so a
 * field added to a kernel's struct but not here is caught at generation
 * time instead of silently dropped from generated code. */
#include "codegen.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/attention.h"
#include "../runtime/kernels/bitcast.h"
#include "../runtime/kernels/conv.h"
#include "../runtime/kernels/einsum.h"
#include "../runtime/kernels/elementwise.h"
#include "../runtime/kernels/gemm.h"
#include "../runtime/kernels/indexing.h"
#include "../runtime/kernels/loss.h"
#include "../runtime/kernels/misc.h"
#include "../runtime/kernels/ml.h"
#include "../runtime/kernels/optim_ops.h"
#include "../runtime/kernels/norm.h"
#include "../runtime/kernels/pool.h"
#include "../runtime/kernels/quant.h"
#include "../runtime/kernels/reduce.h"
#include "../runtime/kernels/resize.h"
#include "../runtime/kernels/rnn.h"
#include "../runtime/kernels/sequence.h"
#include "../runtime/kernels/shape_ops.h"
#include "../runtime/kernels/signal.h"
#include "../runtime/kernels/spatial.h"
#include "../runtime/kernels/unary_int.h"

/* F_DTYPE, F_ACT and F_POOL are ints printed by their enum names
 * (OC_FLOAT, OC_ACT_RELU, OC_POOL_MAX), not as bare numbers. */
typedef enum { F_I32, F_U32, F_I64, F_U64, F_F32, F_F64, F_SIZE, F_U8, F_EPI, F_DTYPE, F_ACT, F_POOL } field_kind;

typedef struct field {
    const char *name;
    size_t offset;
    field_kind kind;
    int rows, cols; /* 1 x 1: scalar; 1 x n: array; r x n: 2-D array */
} field;

#define S(T, f, k) {#f, offsetof(T, f), k, 1, 1}
#define A(T, f, k, n) {#f, offsetof(T, f), k, 1, n}
#define A2(T, f, k, r, n) {#f, offsetof(T, f), k, r, n}
#define END {NULL, 0, F_I32, 0, 0}

static const field f_epilogue[] = {
    S(oc_epilogue, act, F_ACT), S(oc_epilogue, alpha, F_F32), S(oc_epilogue, beta, F_F32),
    S(oc_epilogue, per_col, F_I32), S(oc_epilogue, has_residual, F_I32), END};
static const field f_conv[] = {
    S(oc_conv_params, nsp, F_I32), S(oc_conv_params, batch, F_I64), S(oc_conv_params, cin, F_I64),
    S(oc_conv_params, cout, F_I64), S(oc_conv_params, group, F_I64),
    A(oc_conv_params, in, F_I64, OC_CONV_MAX_SPATIAL), A(oc_conv_params, out, F_I64, OC_CONV_MAX_SPATIAL),
    A(oc_conv_params, k, F_I64, OC_CONV_MAX_SPATIAL), A(oc_conv_params, s, F_I64, OC_CONV_MAX_SPATIAL),
    A(oc_conv_params, dil, F_I64, OC_CONV_MAX_SPATIAL), A(oc_conv_params, pb, F_I64, OC_CONV_MAX_SPATIAL),
    S(oc_conv_params, pointwise, F_I32), S(oc_conv_params, wpack, F_I32), S(oc_conv_params, ep, F_EPI),
    S(oc_conv_params, out_c8, F_I32), S(oc_conv_params, in_c8, F_I32), END};
static const field f_einsum[] = {
    S(oc_einsum_params, dtype, F_DTYPE), S(oc_einsum_params, n_in, F_I32), S(oc_einsum_params, n_out, F_I32),
    S(oc_einsum_params, n_sum, F_I32), A(oc_einsum_params, out_ext, F_I64, OC_MAX_RANK),
    A(oc_einsum_params, sum_ext, F_I64, OC_EINSUM_MAX_SUM),
    A2(oc_einsum_params, out_stride, F_I64, OC_EINSUM_MAX_IN, OC_MAX_RANK),
    A2(oc_einsum_params, sum_stride, F_I64, OC_EINSUM_MAX_IN, OC_EINSUM_MAX_SUM), S(oc_einsum_params, gemm, F_I32),
    S(oc_einsum_params, g_nb, F_I32), S(oc_einsum_params, g_nm, F_I32), S(oc_einsum_params, g_nk, F_I32),
    S(oc_einsum_params, g_nn, F_I32), A(oc_einsum_params, g_ext, F_I64, OC_MAX_RANK * 2),
    A(oc_einsum_params, g_sa, F_I64, OC_MAX_RANK * 2), A(oc_einsum_params, g_sb, F_I64, OC_MAX_RANK * 2),
    A(oc_einsum_params, g_sy, F_I64, OC_MAX_RANK * 2), S(oc_einsum_params, g_b, F_I64), S(oc_einsum_params, g_m, F_I64),
    S(oc_einsum_params, g_k, F_I64), S(oc_einsum_params, g_n, F_I64), END};
static const field f_unary[] = {
    S(oc_unary_params, alpha, F_F32), S(oc_unary_params, beta, F_F32), S(oc_unary_params, gamma, F_F32),
    S(oc_unary_params, approximate, F_I32), END};
static const field f_bcast[] = {
    S(oc_bcast_params, op, F_I32), S(oc_bcast_params, dtype, F_DTYPE), S(oc_bcast_params, rank, F_I32),
    A(oc_bcast_params, dims, F_I64, OC_MAX_RANK), S(oc_bcast_params, n_in, F_I32), S(oc_bcast_params, fmod, F_I32),
    S(oc_bcast_params, slope_channel, F_I32), END};
static const field f_gemm[] = {
    S(oc_gemm_params, m, F_I64), S(oc_gemm_params, n, F_I64), S(oc_gemm_params, k, F_I64),
    S(oc_gemm_params, trans_a, F_I32), S(oc_gemm_params, trans_b, F_I32), S(oc_gemm_params, alpha, F_F32),
    S(oc_gemm_params, beta, F_F32), S(oc_gemm_params, has_c, F_I32), A(oc_gemm_params, c_stride, F_I64, 2),
    S(oc_gemm_params, ep, F_EPI), S(oc_gemm_params, skinny, F_I32), END};
static const field f_matmul[] = {
    S(oc_matmul_params, dtype, F_DTYPE), S(oc_matmul_params, m, F_I64), S(oc_matmul_params, n, F_I64),
    S(oc_matmul_params, k, F_I64), S(oc_matmul_params, batch_rank, F_I32),
    A(oc_matmul_params, batch, F_I64, OC_MAX_RANK), A(oc_matmul_params, a_stride, F_I64, OC_MAX_RANK),
    A(oc_matmul_params, b_stride, F_I64, OC_MAX_RANK), S(oc_matmul_params, fold, F_I32), END};
static const field f_index[] = {
    S(oc_index_params, es, F_I32), S(oc_index_params, dtype, F_DTYPE), S(oc_index_params, axis, F_I32),
    S(oc_index_params, has_axis, F_I32), S(oc_index_params, batch_dims, F_I32), S(oc_index_params, reduction, F_I32),
    S(oc_index_params, largest, F_I32), S(oc_index_params, sorted, F_I32), S(oc_index_params, exclusive, F_I32),
    S(oc_index_params, reverse, F_I32), S(oc_index_params, upper, F_I32), END};
static const field f_eye[] = {S(oc_eye_params, k, F_I64), END};
static const field f_loss[] = {
    S(oc_loss_params, reduction, F_I32), S(oc_loss_params, softmax, F_I32), S(oc_loss_params, has_ignore, F_I32),
    S(oc_loss_params, ignore_index, F_I64), S(oc_loss_params, dtype, F_DTYPE), S(oc_loss_params, label_dtype, F_DTYPE),
    S(oc_loss_params, n, F_I64), S(oc_loss_params, c, F_I64), S(oc_loss_params, d, F_I64), END};
static const field f_xent[] = {
    S(oc_xent_params, reduction, F_I32), S(oc_xent_params, has_ignore, F_I32), S(oc_xent_params, ignore_index, F_I64),
    S(oc_xent_params, smoothing, F_F64), S(oc_xent_params, dtype, F_DTYPE), S(oc_xent_params, label_dtype, F_I32),
    S(oc_xent_params, n, F_I64), S(oc_xent_params, c, F_I64), S(oc_xent_params, d, F_I64), END};
static const field f_pw_loss[] = {
    S(oc_pw_loss_params, kind, F_I32), S(oc_pw_loss_params, reduction, F_I32), S(oc_pw_loss_params, delta, F_F64),
    S(oc_pw_loss_params, dtype, F_DTYPE), S(oc_pw_loss_params, count, F_I64), END};
static const field f_batchnorm[] = {
    S(oc_batchnorm_params, epsilon, F_F32), S(oc_batchnorm_params, momentum, F_F32),
    S(oc_batchnorm_params, training, F_I32), S(oc_batchnorm_params, n, F_I64), S(oc_batchnorm_params, c, F_I64),
    S(oc_batchnorm_params, spatial, F_I64), S(oc_batchnorm_params, ep, F_EPI), END};
static const field f_groupnorm[] = {
    S(oc_groupnorm_params, epsilon, F_F32), S(oc_groupnorm_params, per_group, F_I32), S(oc_groupnorm_params, n, F_I64),
    S(oc_groupnorm_params, c, F_I64), S(oc_groupnorm_params, groups, F_I64), S(oc_groupnorm_params, spatial, F_I64),
    END};
static const field f_layernorm[] = {
    S(oc_layernorm_params, epsilon, F_F32), S(oc_layernorm_params, rms, F_I32), S(oc_layernorm_params, outer, F_I64),
    S(oc_layernorm_params, inner, F_I64), S(oc_layernorm_params, nrank, F_I32),
    A(oc_layernorm_params, ndims, F_I64, OC_MAX_RANK), A(oc_layernorm_params, sstride, F_I64, OC_MAX_RANK),
    A(oc_layernorm_params, bstride, F_I64, OC_MAX_RANK), S(oc_layernorm_params, full_scale, F_I32),
    S(oc_layernorm_params, full_bias, F_I32), END};
static const field f_lpnorm[] = {
    S(oc_lpnorm_params, p, F_I32), S(oc_lpnorm_params, outer, F_I64), S(oc_lpnorm_params, n, F_I64),
    S(oc_lpnorm_params, inner, F_I64), END};
static const field f_lrn[] = {
    S(oc_lrn_params, alpha, F_F32), S(oc_lrn_params, beta, F_F32), S(oc_lrn_params, bias, F_F32),
    S(oc_lrn_params, size, F_I64), S(oc_lrn_params, n, F_I64), S(oc_lrn_params, c, F_I64),
    S(oc_lrn_params, spatial, F_I64), END};
static const field f_mvn[] = {
    S(oc_mvn_params, rank, F_I32), A(oc_mvn_params, dims, F_I64, OC_MAX_RANK), S(oc_mvn_params, mask, F_U32),
    S(oc_mvn_params, groups, F_I64), END};
static const field f_pool[] = {
    S(oc_pool_params, kind, F_POOL), S(oc_pool_params, dtype, F_DTYPE), S(oc_pool_params, count_include_pad, F_I32),
    S(oc_pool_params, storage_order, F_I32), S(oc_pool_params, p, F_I32), S(oc_pool_params, planes, F_I64),
    A(oc_pool_params, in, F_I64, 3), A(oc_pool_params, out, F_I64, 3), A(oc_pool_params, k, F_I64, 3),
    A(oc_pool_params, s, F_I64, 3), A(oc_pool_params, dil, F_I64, 3), A(oc_pool_params, pb, F_I64, 3),
    A(oc_pool_params, pe, F_I64, 3), END};
static const field f_global_pool[] = {
    S(oc_global_pool_params, kind, F_POOL), S(oc_global_pool_params, dtype, F_DTYPE), S(oc_global_pool_params, p, F_I32),
    S(oc_global_pool_params, planes, F_I64), S(oc_global_pool_params, plane, F_I64), END};
static const field f_softmax[] = {
    S(oc_softmax_params, kind, F_I32), S(oc_softmax_params, dtype, F_DTYPE), S(oc_softmax_params, outer, F_I64),
    S(oc_softmax_params, n, F_I64), S(oc_softmax_params, inner, F_I64), END};
static const field f_reduce[] = {
    S(oc_reduce_params, op, F_I32), S(oc_reduce_params, dtype, F_DTYPE), S(oc_reduce_params, rank, F_I32),
    A(oc_reduce_params, dims, F_I64, OC_MAX_RANK), S(oc_reduce_params, mask, F_U32),
    S(oc_reduce_params, axes_known, F_I32), S(oc_reduce_params, noop_with_empty_axes, F_I32), END};
static const field f_arg[] = {
    S(oc_arg_params, is_min, F_I32), S(oc_arg_params, select_last, F_I32), S(oc_arg_params, dtype, F_DTYPE),
    S(oc_arg_params, outer, F_I64), S(oc_arg_params, n, F_I64), S(oc_arg_params, inner, F_I64), END};
static const field f_reduce_grad[] = {
    S(oc_reduce_grad_params, rank, F_I32), A(oc_reduce_grad_params, dims, F_I64, OC_MAX_RANK),
    A(oc_reduce_grad_params, strides, F_I64, OC_MAX_RANK), S(oc_reduce_grad_params, scale, F_F32), END};
static const field f_resize[] = {
    S(oc_resize_params, mode, F_I32), S(oc_resize_params, coord, F_I32), S(oc_resize_params, nearest, F_I32),
    S(oc_resize_params, policy, F_I32), S(oc_resize_params, antialias, F_I32),
    S(oc_resize_params, exclude_outside, F_I32), S(oc_resize_params, cubic_a, F_F64),
    S(oc_resize_params, extrapolation, F_F64), S(oc_resize_params, dtype, F_DTYPE), S(oc_resize_params, rank, F_I32),
    S(oc_resize_params, n_axes, F_I32), A(oc_resize_params, axes, F_I32, OC_MAX_RANK),
    S(oc_resize_params, in_roi, F_I32), S(oc_resize_params, in_scales, F_I32), S(oc_resize_params, in_sizes, F_I32),
    S(oc_resize_params, n_attr_scales, F_I32), A(oc_resize_params, attr_scales, F_F32, OC_MAX_RANK),
    A(oc_resize_params, cap, F_I64, OC_MAX_RANK), S(oc_resize_params, scratch, F_SIZE), END};
static const field f_depth_space[] = {
    S(oc_depth_space_params, kind, F_I32), S(oc_depth_space_params, block, F_I64),
    S(oc_depth_space_params, esize, F_SIZE), END};
static const field f_seqsel[] = {S(oc_seqsel_params, mode, F_I32), S(oc_seqsel_params, slot, F_I32),
                                 S(oc_seqsel_params, length, F_I32), END};
static const field f_copy[] = {S(oc_copy_params, check_reshape, F_I32), S(oc_copy_params, allowzero, F_I32), END};
static const field f_view[] = {
    S(oc_view_params, es, F_I32), S(oc_view_params, rank, F_I32), A(oc_view_params, dims, F_I64, OC_MAX_RANK),
    A(oc_view_params, strides, F_I64, OC_MAX_RANK), S(oc_view_params, offset, F_I64), END};
static const field f_slice[] = {
    S(oc_slice_params, es, F_I32), S(oc_slice_params, from_inputs, F_I32), S(oc_slice_params, n, F_I32),
    S(oc_slice_params, has_axes, F_I32), A(oc_slice_params, starts, F_I64, OC_MAX_RANK),
    A(oc_slice_params, ends, F_I64, OC_MAX_RANK), A(oc_slice_params, axes, F_I64, OC_MAX_RANK), END};
static const field f_axis[] = {S(oc_axis_params, es, F_I32), S(oc_axis_params, axis, F_I32), END};
static const field f_pad[] = {
    S(oc_pad_params, es, F_I32), S(oc_pad_params, dtype, F_DTYPE), S(oc_pad_params, mode, F_I32),
    S(oc_pad_params, from_inputs, F_I32), S(oc_pad_params, npads, F_I32),
    A(oc_pad_params, pads, F_I64, 2 * OC_MAX_RANK), S(oc_pad_params, value, F_F64), END};
static const field f_cast[] = {S(oc_cast_params, from, F_DTYPE), S(oc_cast_params, to, F_DTYPE),
                               S(oc_cast_params, saturate, F_I32), S(oc_cast_params, round_mode, F_I32), END};
static const field f_bitcast[] = {S(oc_bitcast_params, from, F_DTYPE), S(oc_bitcast_params, to, F_DTYPE), END};
static const field f_quant[] = {
    S(oc_quant_params, x_dtype, F_DTYPE), S(oc_quant_params, y_dtype, F_DTYPE), S(oc_quant_params, scale_dtype, F_DTYPE),
    S(oc_quant_params, has_zp, F_I32), S(oc_quant_params, saturate, F_I32), S(oc_quant_params, precision, F_DTYPE),
    S(oc_quant_params, outer, F_I64), S(oc_quant_params, axis_dim, F_I64), S(oc_quant_params, inner, F_I64),
    S(oc_quant_params, block, F_I64), S(oc_quant_params, s_outer, F_I64), S(oc_quant_params, s_axis, F_I64),
    S(oc_quant_params, s_inner, F_I64), END};
static const field f_qmatmul[] = {
    S(oc_qmatmul_params, a_dtype, F_DTYPE), S(oc_qmatmul_params, b_dtype, F_DTYPE), S(oc_qmatmul_params, y_dtype, F_DTYPE),
    S(oc_qmatmul_params, scale_dtype, F_DTYPE), S(oc_qmatmul_params, requant, F_I32),
    S(oc_qmatmul_params, a_zp_rows, F_I32), S(oc_qmatmul_params, b_zp_cols, F_I32),
    S(oc_qmatmul_params, a_scale_rows, F_I32), S(oc_qmatmul_params, b_scale_cols, F_I32),
    S(oc_qmatmul_params, brank, F_I32), A(oc_qmatmul_params, bdims, F_I64, OC_MAX_RANK),
    A(oc_qmatmul_params, a_bstride, F_I64, OC_MAX_RANK), A(oc_qmatmul_params, b_bstride, F_I64, OC_MAX_RANK),
    S(oc_qmatmul_params, m, F_I64), S(oc_qmatmul_params, k, F_I64), S(oc_qmatmul_params, n, F_I64), END};
static const field f_qconv[] = {
    S(oc_qconv_params, x_dtype, F_DTYPE), S(oc_qconv_params, w_dtype, F_DTYPE), S(oc_qconv_params, y_dtype, F_DTYPE),
    S(oc_qconv_params, scale_dtype, F_DTYPE), S(oc_qconv_params, requant, F_I32),
    S(oc_qconv_params, w_zp_per_channel, F_I32), S(oc_qconv_params, w_scale_per_channel, F_I32),
    S(oc_qconv_params, has_bias, F_I32), S(oc_qconv_params, nsp, F_I32), S(oc_qconv_params, batch, F_I64),
    S(oc_qconv_params, cin, F_I64), S(oc_qconv_params, cout, F_I64), S(oc_qconv_params, group, F_I64),
    A(oc_qconv_params, in, F_I64, OC_QCONV_MAX_SPATIAL), A(oc_qconv_params, out, F_I64, OC_QCONV_MAX_SPATIAL),
    A(oc_qconv_params, k, F_I64, OC_QCONV_MAX_SPATIAL), A(oc_qconv_params, s, F_I64, OC_QCONV_MAX_SPATIAL),
    A(oc_qconv_params, dil, F_I64, OC_QCONV_MAX_SPATIAL), A(oc_qconv_params, pb, F_I64, OC_QCONV_MAX_SPATIAL), END};
static const field f_dropout[] = {
    S(oc_dropout_params, ratio, F_F32), S(oc_dropout_params, training, F_I32), S(oc_dropout_params, seed, F_U64), END};
static const field f_fill[] = {S(oc_fill_params, es, F_I32), A(oc_fill_params, value, F_U8, 8), END};
static const field f_shape[] = {S(oc_shape_params, start, F_I64), S(oc_shape_params, end, F_I64), END};
static const field f_unary_int[] = {
    S(oc_unary_int_params, op, F_I32), S(oc_unary_int_params, dtype, F_DTYPE),
    S(oc_unary_int_params, detect_positive, F_I32), S(oc_unary_int_params, detect_negative, F_I32), END};
/* signal.c, spatial.c, misc.c (TfIdfVectorizer's variable-size block has
 * no printer: onnxc compile refuses it) */
static const field f_dft[] = {
    S(oc_dft_params, axis, F_I64), S(oc_dft_params, axis_input, F_I32), S(oc_dft_params, inverse, F_I32),
    S(oc_dft_params, onesided, F_I32), END};
static const field f_stft[] = {S(oc_stft_params, onesided, F_I32), END};
static const field f_window[] = {S(oc_window_params, kind, F_I32), S(oc_window_params, periodic, F_I32), END};
static const field f_grid_sample[] = {
    S(oc_grid_sample_params, mode, F_I32), S(oc_grid_sample_params, padding, F_I32),
    S(oc_grid_sample_params, align_corners, F_I32), END};
static const field f_affine_grid[] = {S(oc_affine_grid_params, align_corners, F_I32), END};
static const field f_roi_align[] = {
    S(oc_roi_align_params, max_mode, F_I32), S(oc_roi_align_params, half_pixel, F_I32),
    S(oc_roi_align_params, sampling_ratio, F_I64), S(oc_roi_align_params, spatial_scale, F_F64), END};
static const field f_deform_conv[] = {
    S(oc_deform_conv_params, group, F_I64), S(oc_deform_conv_params, offset_group, F_I64),
    A(oc_deform_conv_params, k, F_I64, 2), A(oc_deform_conv_params, s, F_I64, 2),
    A(oc_deform_conv_params, dil, F_I64, 2), A(oc_deform_conv_params, pb, F_I64, 2), END};
static const field f_col2im[] = {
    S(oc_col2im_params, nsp, F_I32), A(oc_col2im_params, dil, F_I64, OC_SPATIAL_MAX),
    A(oc_col2im_params, pb, F_I64, OC_SPATIAL_MAX), A(oc_col2im_params, pe, F_I64, OC_SPATIAL_MAX),
    A(oc_col2im_params, s, F_I64, OC_SPATIAL_MAX), END};
static const field f_max_unpool[] = {
    S(oc_max_unpool_params, nsp, F_I32), A(oc_max_unpool_params, k, F_I64, OC_SPATIAL_MAX),
    A(oc_max_unpool_params, s, F_I64, OC_SPATIAL_MAX), A(oc_max_unpool_params, pb, F_I64, OC_SPATIAL_MAX),
    A(oc_max_unpool_params, pe, F_I64, OC_SPATIAL_MAX), END};
static const field f_center_crop_pad[] = {
    S(oc_center_crop_pad_params, n_axes, F_I32), A(oc_center_crop_pad_params, axes, F_I32, OC_MAX_RANK),
    S(oc_center_crop_pad_params, es, F_I32), END};
static const field f_nms[] = {S(oc_nms_params, center_point_box, F_I32), S(oc_nms_params, boxes, F_I64), END};
static const field f_cumprod[] = {S(oc_cumprod_params, exclusive, F_I32), S(oc_cumprod_params, reverse, F_I32), END};
static const field f_reverse_seq[] = {
    S(oc_reverse_seq_params, batch_axis, F_I32), S(oc_reverse_seq_params, time_axis, F_I32),
    S(oc_reverse_seq_params, es, F_I32), END};
static const field f_tensor_scatter[] = {
    S(oc_tensor_scatter_params, axis, F_I32), S(oc_tensor_scatter_params, circular, F_I32),
    S(oc_tensor_scatter_params, es, F_I32), END};
static const field f_unique[] = {
    S(oc_unique_params, has_axis, F_I32), S(oc_unique_params, axis, F_I32), S(oc_unique_params, sorted, F_I32),
    S(oc_unique_params, n, F_I64), S(oc_unique_params, es, F_I32), END};
static const field f_rnn[] = {
    S(oc_rnn_params, kind, F_I32), S(oc_rnn_params, direction, F_I32), S(oc_rnn_params, dirs, F_I32),
    S(oc_rnn_params, layout, F_I32), S(oc_rnn_params, seq, F_I64), S(oc_rnn_params, batch, F_I64),
    S(oc_rnn_params, input, F_I64), S(oc_rnn_params, hidden, F_I64), S(oc_rnn_params, gates, F_I32),
    S(oc_rnn_params, n_act, F_I32), A(oc_rnn_params, act, F_I32, OC_RNN_MAX_ACTS),
    A(oc_rnn_params, alpha, F_F32, OC_RNN_MAX_ACTS), A(oc_rnn_params, beta, F_F32, OC_RNN_MAX_ACTS),
    S(oc_rnn_params, has_clip, F_I32), S(oc_rnn_params, clip, F_F32), S(oc_rnn_params, linear_before_reset, F_I32),
    S(oc_rnn_params, input_forget, F_I32), S(oc_rnn_params, scratch, F_SIZE), END};
static const field f_image_decoder[] = {S(oc_image_decoder_params, pixel_format, F_I32), END};
/* ml.c, optim_ops.c (TreeEnsemble's and LabelEncoder's variable-size
 * blocks have no printer: onnxc compile refuses them) */
static const field f_binarizer[] = {S(oc_binarizer_params, threshold, F_F64), END};
static const field f_optim_op[] = {
    S(oc_optim_op_params, kind, F_I32), S(oc_optim_op_params, n, F_I32), S(oc_optim_op_params, alpha, F_F64),
    S(oc_optim_op_params, beta, F_F64), S(oc_optim_op_params, epsilon, F_F64),
    S(oc_optim_op_params, decay_factor, F_F64), S(oc_optim_op_params, norm_coefficient, F_F64),
    S(oc_optim_op_params, norm_coefficient_post, F_F64), END};

static const field f_attention[] = {
    S(oc_attention_params, batch, F_I64), S(oc_attention_params, q_heads, F_I64),
    S(oc_attention_params, kv_heads, F_I64), S(oc_attention_params, q_len, F_I64),
    S(oc_attention_params, kv_len, F_I64), S(oc_attention_params, past_len, F_I64),
    S(oc_attention_params, total, F_I64), S(oc_attention_params, head, F_I64), S(oc_attention_params, v_head, F_I64),
    S(oc_attention_params, packed, F_I32), S(oc_attention_params, scale, F_F32), S(oc_attention_params, softcap, F_F32),
    S(oc_attention_params, causal, F_I32), S(oc_attention_params, left_window, F_I64),
    S(oc_attention_params, right_window, F_I64), S(oc_attention_params, qk_mode, F_I32),
    S(oc_attention_params, softmax_dtype, F_DTYPE), S(oc_attention_params, mask, F_I32),
    S(oc_attention_params, mask_len, F_I64), A(oc_attention_params, mask_stride, F_I64, 4),
    S(oc_attention_params, has_past, F_I32), S(oc_attention_params, has_nonpad, F_I32),
    S(oc_attention_params, kv_scratch, F_SIZE), S(oc_attention_params, thread_scratch, F_SIZE), END};
static const field f_linear_attention[] = {
    S(oc_linear_attention_params, batch, F_I64), S(oc_linear_attention_params, seq, F_I64),
    S(oc_linear_attention_params, q_heads, F_I64), S(oc_linear_attention_params, kv_heads, F_I64),
    S(oc_linear_attention_params, dk, F_I64), S(oc_linear_attention_params, dv, F_I64),
    S(oc_linear_attention_params, gated, F_I32), S(oc_linear_attention_params, delta, F_I32),
    S(oc_linear_attention_params, decay_per_key, F_I32), S(oc_linear_attention_params, beta_heads, F_I64),
    S(oc_linear_attention_params, scale, F_F32), S(oc_linear_attention_params, state_scratch, F_SIZE), END};
static const field f_rotary[] = {
    S(oc_rotary_params, batch, F_I64), S(oc_rotary_params, heads, F_I64), S(oc_rotary_params, seq, F_I64),
    S(oc_rotary_params, head, F_I64), S(oc_rotary_params, rot, F_I64), S(oc_rotary_params, packed, F_I32),
    S(oc_rotary_params, interleaved, F_I32), S(oc_rotary_params, has_pos, F_I32),
    S(oc_rotary_params, max_pos, F_I64), END};
static const field f_swiglu[] = {S(oc_swiglu_params, n, F_I64), S(oc_swiglu_params, alpha, F_F32), END};
static const field f_causal_conv[] = {
    S(oc_causal_conv_params, batch, F_I64), S(oc_causal_conv_params, channels, F_I64),
    S(oc_causal_conv_params, len, F_I64), S(oc_causal_conv_params, k, F_I64), S(oc_causal_conv_params, silu, F_I32),
    END};

static const struct {
    const char *type;
    const field *fields;
    size_t size;
} printers[] = {
    {"oc_conv_params", f_conv, sizeof(oc_conv_params)},
    {"oc_attention_params", f_attention, sizeof(oc_attention_params)},
    {"oc_linear_attention_params", f_linear_attention, sizeof(oc_linear_attention_params)},
    {"oc_rotary_params", f_rotary, sizeof(oc_rotary_params)},
    {"oc_swiglu_params", f_swiglu, sizeof(oc_swiglu_params)},
    {"oc_causal_conv_params", f_causal_conv, sizeof(oc_causal_conv_params)},
    {"oc_einsum_params", f_einsum, sizeof(oc_einsum_params)},
    {"oc_unary_params", f_unary, sizeof(oc_unary_params)},
    {"oc_bcast_params", f_bcast, sizeof(oc_bcast_params)},
    {"oc_gemm_params", f_gemm, sizeof(oc_gemm_params)},
    {"oc_matmul_params", f_matmul, sizeof(oc_matmul_params)},
    {"oc_index_params", f_index, sizeof(oc_index_params)},
    {"oc_eye_params", f_eye, sizeof(oc_eye_params)},
    {"oc_loss_params", f_loss, sizeof(oc_loss_params)},
    {"oc_xent_params", f_xent, sizeof(oc_xent_params)},
    {"oc_pw_loss_params", f_pw_loss, sizeof(oc_pw_loss_params)},
    {"oc_batchnorm_params", f_batchnorm, sizeof(oc_batchnorm_params)},
    {"oc_groupnorm_params", f_groupnorm, sizeof(oc_groupnorm_params)},
    {"oc_layernorm_params", f_layernorm, sizeof(oc_layernorm_params)},
    {"oc_lpnorm_params", f_lpnorm, sizeof(oc_lpnorm_params)},
    {"oc_lrn_params", f_lrn, sizeof(oc_lrn_params)},
    {"oc_mvn_params", f_mvn, sizeof(oc_mvn_params)},
    {"oc_pool_params", f_pool, sizeof(oc_pool_params)},
    {"oc_global_pool_params", f_global_pool, sizeof(oc_global_pool_params)},
    {"oc_softmax_params", f_softmax, sizeof(oc_softmax_params)},
    {"oc_reduce_params", f_reduce, sizeof(oc_reduce_params)},
    {"oc_arg_params", f_arg, sizeof(oc_arg_params)},
    {"oc_reduce_grad_params", f_reduce_grad, sizeof(oc_reduce_grad_params)},
    {"oc_resize_params", f_resize, sizeof(oc_resize_params)},
    {"oc_depth_space_params", f_depth_space, sizeof(oc_depth_space_params)},
    {"oc_copy_params", f_copy, sizeof(oc_copy_params)},
    {"oc_seqsel_params", f_seqsel, sizeof(oc_seqsel_params)},
    {"oc_view_params", f_view, sizeof(oc_view_params)},
    {"oc_slice_params", f_slice, sizeof(oc_slice_params)},
    {"oc_axis_params", f_axis, sizeof(oc_axis_params)},
    {"oc_pad_params", f_pad, sizeof(oc_pad_params)},
    {"oc_cast_params", f_cast, sizeof(oc_cast_params)},
    {"oc_bitcast_params", f_bitcast, sizeof(oc_bitcast_params)},
    {"oc_quant_params", f_quant, sizeof(oc_quant_params)},
    {"oc_qmatmul_params", f_qmatmul, sizeof(oc_qmatmul_params)},
    {"oc_qconv_params", f_qconv, sizeof(oc_qconv_params)},
    {"oc_dropout_params", f_dropout, sizeof(oc_dropout_params)},
    {"oc_fill_params", f_fill, sizeof(oc_fill_params)},
    {"oc_shape_params", f_shape, sizeof(oc_shape_params)},
    {"oc_unary_int_params", f_unary_int, sizeof(oc_unary_int_params)},
    {"oc_dft_params", f_dft, sizeof(oc_dft_params)},
    {"oc_stft_params", f_stft, sizeof(oc_stft_params)},
    {"oc_window_params", f_window, sizeof(oc_window_params)},
    {"oc_grid_sample_params", f_grid_sample, sizeof(oc_grid_sample_params)},
    {"oc_affine_grid_params", f_affine_grid, sizeof(oc_affine_grid_params)},
    {"oc_roi_align_params", f_roi_align, sizeof(oc_roi_align_params)},
    {"oc_deform_conv_params", f_deform_conv, sizeof(oc_deform_conv_params)},
    {"oc_col2im_params", f_col2im, sizeof(oc_col2im_params)},
    {"oc_max_unpool_params", f_max_unpool, sizeof(oc_max_unpool_params)},
    {"oc_center_crop_pad_params", f_center_crop_pad, sizeof(oc_center_crop_pad_params)},
    {"oc_nms_params", f_nms, sizeof(oc_nms_params)},
    {"oc_cumprod_params", f_cumprod, sizeof(oc_cumprod_params)},
    {"oc_reverse_seq_params", f_reverse_seq, sizeof(oc_reverse_seq_params)},
    {"oc_tensor_scatter_params", f_tensor_scatter, sizeof(oc_tensor_scatter_params)},
    {"oc_unique_params", f_unique, sizeof(oc_unique_params)},
    {"oc_image_decoder_params", f_image_decoder, sizeof(oc_image_decoder_params)},
    {"oc_binarizer_params", f_binarizer, sizeof(oc_binarizer_params)},
    {"oc_optim_op_params", f_optim_op, sizeof(oc_optim_op_params)},
    {"oc_rnn_params", f_rnn, sizeof(oc_rnn_params)},
};

static size_t kind_size(field_kind k)
{
    switch (k) {
    case F_I32: case F_DTYPE: case F_ACT: case F_POOL: return sizeof(int);
    case F_U32: return sizeof(unsigned);
    case F_I64: return sizeof(int64_t);
    case F_U64: return sizeof(uint64_t);
    case F_F32: return sizeof(float);
    case F_F64: return sizeof(double);
    case F_SIZE: return sizeof(size_t);
    case F_U8: return 1;
    case F_EPI: return sizeof(oc_epilogue);
    }
    return 0;
}

static int is_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* A float as a C literal that reads back to the same bits. */
static void print_f32(FILE *f, float v)
{
    if (isinf(v))
        fprintf(f, v > 0 ? "(float)HUGE_VAL" : "-(float)HUGE_VAL");
    else if (isnan(v))
        fprintf(f, "(float)(HUGE_VAL - HUGE_VAL)");
    else {
        char b[40];
        snprintf(b, sizeof b, "%.9g", (double)v);
        fprintf(f, "%s%sf", b, strpbrk(b, ".e") ? "" : ".0");
    }
}

static void print_f64(FILE *f, double v)
{
    if (isinf(v))
        fprintf(f, v > 0 ? "HUGE_VAL" : "-HUGE_VAL");
    else if (isnan(v))
        fprintf(f, "(HUGE_VAL - HUGE_VAL)");
    else
        fprintf(f, "%.17g", v);
}

static void print_scalar(FILE *f, field_kind k, const unsigned char *p);

/* The nested epilogue as {.act = ..., ...}. */
static void print_struct(FILE *f, const field *fields, const unsigned char *base)
{
    int first = 1;
    fprintf(f, "{");
    for (const field *x = fields; x->name; x++) {
        size_t bytes = kind_size(x->kind) * (size_t)x->rows * (size_t)x->cols;
        if (is_zero(base + x->offset, bytes))
            continue;
        fprintf(f, "%s.%s = ", first ? "" : ", ", x->name);
        first = 0;
        if (x->rows == 1 && x->cols == 1) {
            print_scalar(f, x->kind, base + x->offset);
            continue;
        }
        fprintf(f, "{");
        for (int r = 0; r < x->rows; r++) {
            if (x->rows > 1)
                fprintf(f, "%s{", r ? ", " : "");
            for (int c = 0; c < x->cols; c++) {
                if (c)
                    fprintf(f, ", ");
                print_scalar(f, x->kind, base + x->offset + kind_size(x->kind) * ((size_t)r * (size_t)x->cols + (size_t)c));
            }
            if (x->rows > 1)
                fprintf(f, "}");
        }
        fprintf(f, "}");
    }
    fprintf(f, first ? "0}" : "}"); /* all zero: {0}, as C99 has no empty braces */
}

static void print_scalar(FILE *f, field_kind k, const unsigned char *p)
{
    int i;
    unsigned u;
    int64_t l;
    uint64_t ul;
    float fl;
    double db;
    size_t sz;
    switch (k) {
    case F_I32: memcpy(&i, p, sizeof i); fprintf(f, "%d", i); break;
    case F_U32: memcpy(&u, p, sizeof u); fprintf(f, "%uu", u); break;
    case F_I64: memcpy(&l, p, sizeof l);
        if (l == INT64_MIN)
            fprintf(f, "INT64_MIN");
        else
            fprintf(f, "%" PRId64, l);
        break;
    case F_U64: memcpy(&ul, p, sizeof ul); fprintf(f, "UINT64_C(%" PRIu64 ")", ul); break;
    case F_F32: memcpy(&fl, p, sizeof fl); print_f32(f, fl); break;
    case F_F64: memcpy(&db, p, sizeof db); print_f64(f, db); break;
    case F_SIZE: memcpy(&sz, p, sizeof sz); fprintf(f, "%zu", sz); break;
    case F_U8: fprintf(f, "%u", (unsigned)*p); break;
    case F_EPI: print_struct(f, f_epilogue, p); break;
    case F_DTYPE: case F_ACT: case F_POOL: {
        static const char *const dtypes[] = {[OC_FLOAT] = "OC_FLOAT", [OC_UINT8] = "OC_UINT8", [OC_INT8] = "OC_INT8",
            [OC_UINT16] = "OC_UINT16", [OC_INT16] = "OC_INT16", [OC_INT32] = "OC_INT32", [OC_INT64] = "OC_INT64",
            [OC_BOOL] = "OC_BOOL", [OC_FLOAT16] = "OC_FLOAT16", [OC_DOUBLE] = "OC_DOUBLE", [OC_UINT32] = "OC_UINT32",
            [OC_UINT64] = "OC_UINT64", [OC_BFLOAT16] = "OC_BFLOAT16"};
        static const char *const acts[] = {"OC_ACT_NONE", "OC_ACT_RELU", "OC_ACT_LEAKY_RELU", "OC_ACT_CLIP",
            "OC_ACT_SIGMOID", "OC_ACT_HARD_SIGMOID", "OC_ACT_HARD_SWISH", "OC_ACT_TANH", "OC_ACT_GELU"};
        static const char *const pools[] = {"OC_POOL_MAX", "OC_POOL_AVG", "OC_POOL_LP"};
        const char *const *names = k == F_DTYPE ? dtypes : k == F_ACT ? acts : pools;
        int n = k == F_DTYPE ? (int)(sizeof dtypes / sizeof dtypes[0])
                : k == F_ACT ? (int)(sizeof acts / sizeof acts[0]) : (int)(sizeof pools / sizeof pools[0]);
        memcpy(&i, p, sizeof i);
        if (i >= 0 && i < n && names[i])
            fprintf(f, "%s", names[i]);
        else
            fprintf(f, "%d", i);
        break;
    }
    }
}

int oc_cg_print_params(FILE *f, const char *type, const char *var, const void *params, size_t size, oc_diag *d)
{
    for (size_t t = 0; t < sizeof printers / sizeof printers[0]; t++) {
        if (strcmp(printers[t].type, type))
            continue;
        if (size != printers[t].size)
            return oc_fail(d, "internal error: a %s block of %zu bytes, expected %zu", type, size, printers[t].size);
        /* every nonzero byte must belong to a listed field */
        unsigned char *covered = calloc(size + 1, 1);
        if (!covered)
            return oc_fail(d, "out of memory");
        for (const field *x = printers[t].fields; x->name; x++)
            memset(covered + x->offset, 1, kind_size(x->kind) * (size_t)x->rows * (size_t)x->cols);
        for (size_t i = 0; i < size; i++)
            if (!covered[i] && ((const unsigned char *)params)[i]) {
                free(covered);
                return oc_fail(d, "internal error: the %s printer (compiler/codegen_params.c) misses the field at byte %zu",
                               type, i);
            }
        free(covered);
        fprintf(f, "static const %s %s = ", type, var);
        print_struct(f, printers[t].fields, params);
        fprintf(f, ";\n");
        return 0;
    }
    return oc_fail(d, "onnxc compile has no printer for parameter type %s", type);
}
