/* onnxc_portable.h: the plain C99 kernels `onnxc compile --portable` ships
 * beside a generated model (no dependency beyond libm, no allocation, no
 * threads). The tensor view, the kernel arguments and the parameter blocks
 * have the names and fields of onnxc's runtime (runtime/plan.h and
 * runtime/kernels/<op>.h), so the generated model code is the same in both
 * modes; only the kernel names differ (ocp_ instead of oc_).
 *
 * Float32 only. Each kernel returns 0, or -1 for a case it does not cover
 * (another element type, MaxPool's Indices output). */
#ifndef ONNXC_PORTABLE_H
#define ONNXC_PORTABLE_H

#include <stddef.h>
#include <stdint.h>

#define OC_MAX_RANK 8
#define OC_CONV_MAX_SPATIAL (OC_MAX_RANK - 2)

/* ONNX TensorProto.DataType numbers */
enum { OC_FLOAT = 1, OC_UINT8 = 2, OC_INT8 = 3, OC_UINT16 = 4, OC_INT16 = 5, OC_INT32 = 6, OC_INT64 = 7,
       OC_BOOL = 9, OC_FLOAT16 = 10, OC_DOUBLE = 11, OC_UINT32 = 12, OC_UINT64 = 13, OC_BFLOAT16 = 16 };

typedef struct oc_tensor {
    int dtype;
    int rank;
    int64_t dims[OC_MAX_RANK];
    int64_t numel;
    void *data;
} oc_tensor;

typedef struct oc_kargs {
    const void *p;            /* the parameter block */
    int n_in, n_out;
    const oc_tensor *const *in; /* NULL entries: omitted optional inputs */
    oc_tensor *const *out;
    void *scratch;
} oc_kargs;

typedef int (*oc_kernel_fn)(const oc_kargs *a);

/* Y = act(Y + R): the fused activation and residual of Conv and Gemm. */
enum oc_act { OC_ACT_NONE = 0, OC_ACT_RELU, OC_ACT_LEAKY_RELU, OC_ACT_CLIP, OC_ACT_SIGMOID, OC_ACT_HARD_SIGMOID,
              OC_ACT_HARD_SWISH, OC_ACT_TANH, OC_ACT_GELU };
typedef struct oc_epilogue {
    int act;
    float alpha, beta;
    int per_col;
    int has_residual; /* input 3 is added before the activation */
} oc_epilogue;

/* Conv (N, C, spatial...), weights [M, C/group, k...], bias [M]. */
typedef struct oc_conv_params {
    int nsp;
    int64_t batch, cin, cout, group;
    int64_t in[OC_CONV_MAX_SPATIAL], out[OC_CONV_MAX_SPATIAL], k[OC_CONV_MAX_SPATIAL];
    int64_t s[OC_CONV_MAX_SPATIAL], dil[OC_CONV_MAX_SPATIAL], pb[OC_CONV_MAX_SPATIAL];
    int pointwise;
    oc_epilogue ep;
} oc_conv_params;

/* Y [M, N] = alpha op(A) op(B) + beta C (C broadcast through c_stride). */
typedef struct oc_gemm_params {
    int64_t m, n, k;
    int trans_a, trans_b;
    float alpha, beta;
    int has_c;
    int64_t c_stride[2];
    oc_epilogue ep;
    int skinny;
} oc_gemm_params;

typedef struct oc_matmul_params {
    int dtype;
    int64_t m, n, k;
    int batch_rank;
    int64_t batch[OC_MAX_RANK], a_stride[OC_MAX_RANK], b_stride[OC_MAX_RANK];
    int fold;
} oc_matmul_params;

typedef struct oc_unary_params {
    float alpha, beta, gamma;
    int approximate;
} oc_unary_params;

enum oc_pool_kind { OC_POOL_MAX, OC_POOL_AVG, OC_POOL_LP };
/* 1-3 spatial dims, padded to 3 with extent 1 at the front. */
typedef struct oc_pool_params {
    int kind, dtype, count_include_pad, storage_order, p;
    int64_t planes;
    int64_t in[3], out[3], k[3], s[3], dil[3], pb[3], pe[3];
} oc_pool_params;

typedef struct oc_global_pool_params {
    int kind, dtype, p;
    int64_t planes, plane;
} oc_global_pool_params;

typedef struct oc_batchnorm_params {
    float epsilon, momentum;
    int training;
    int64_t n, c, spatial;
    oc_epilogue ep; /* FusedBatchNormalization's activation: training graphs only, never portable */
} oc_batchnorm_params;

enum oc_binary_op { OC_BIN_ADD, OC_BIN_SUB, OC_BIN_MUL, OC_BIN_DIV, OC_BIN_POW, OC_BIN_MOD, OC_BIN_MAX, OC_BIN_MIN };
/* Elementwise over the numpy broadcast of the inputs to dims. */
typedef struct oc_bcast_params {
    int op, dtype, rank;
    int64_t dims[OC_MAX_RANK];
    int n_in, fmod, slope_channel;
} oc_bcast_params;

enum oc_softmax_kind { OC_SOFTMAX, OC_LOG_SOFTMAX, OC_HARDMAX };
typedef struct oc_softmax_params {
    int kind, dtype;
    int64_t outer, n, inner;
} oc_softmax_params;

typedef struct oc_copy_params {
    int check_reshape, allowzero;
} oc_copy_params;

typedef struct oc_axis_params {
    int es, axis;
} oc_axis_params;

int ocp_conv_forward(const oc_kargs *a);
int ocp_gemm_forward(const oc_kargs *a);
int ocp_matmul_forward(const oc_kargs *a);
int ocp_relu(const oc_kargs *a);
int ocp_leaky_relu(const oc_kargs *a);
int ocp_sigmoid(const oc_kargs *a);
int ocp_tanh(const oc_kargs *a);
int ocp_identity(const oc_kargs *a);
int ocp_pool_forward(const oc_kargs *a);
int ocp_global_pool_forward(const oc_kargs *a);
int ocp_batchnorm_forward(const oc_kargs *a);
int ocp_binary_forward(const oc_kargs *a);
int ocp_softmax_forward(const oc_kargs *a);
int ocp_copy_forward(const oc_kargs *a);
int ocp_concat_forward(const oc_kargs *a);

#endif
