/* codegen_portable.c: which plan steps `onnxc compile --portable` can
 * emit. Each runtime kernel the portable library covers maps to its plain
 * twin in compiler/templates/onnxc_portable.c; a step is accepted only
 * when every tensor it touches is float32 (Reshape-style copies also take
 * int32/int64/double) and its parameters are in the portable subset
 * (inference BatchNormalization, two-input arithmetic, no MaxPool Indices).
 * Anything else is refused with the node and op named. */
#include "codegen.h"

#include <string.h>

#include "../runtime/kernels/elementwise.h"
#include "../runtime/kernels/norm.h"
#include "../runtime/kernels/table.h"

static const struct {
    const char *runtime, *portable;
} kernel_map[] = {
    {"oc_conv_forward", "ocp_conv_forward"},
    {"oc_conv_winograd_forward", "ocp_conv_forward"},
    {"oc_conv_winograd4_forward", "ocp_conv_forward"},
    {"oc_conv_depthwise_forward", "ocp_conv_forward"},
    {"oc_conv_direct_forward", "ocp_conv_forward"},
    {"oc_conv_ocblock_forward", "ocp_conv_forward"},
    {"oc_conv_ref", "ocp_conv_forward"},
    {"oc_gemm_forward", "ocp_gemm_forward"},
    {"oc_gemm_ref", "ocp_gemm_forward"},
    {"oc_matmul_forward", "ocp_matmul_forward"},
    {"oc_matmul_ref", "ocp_matmul_forward"},
    {"oc_unary_relu", "ocp_relu"},
    {"oc_unary_leaky_relu", "ocp_leaky_relu"},
    {"oc_unary_sigmoid", "ocp_sigmoid"},
    {"oc_unary_tanh", "ocp_tanh"},
    {"oc_unary_identity", "ocp_identity"},
    {"oc_pool_forward", "ocp_pool_forward"},
    {"oc_pool2d_forward", "ocp_pool_forward"},
    {"oc_global_pool_forward", "ocp_global_pool_forward"},
    {"oc_global_pool_ref", "ocp_global_pool_forward"},
    {"oc_batchnorm_forward", "ocp_batchnorm_forward"},
    {"oc_batchnorm_ref", "ocp_batchnorm_forward"},
    {"oc_binary_forward", "ocp_binary_forward"},
    {"oc_softmax_forward", "ocp_softmax_forward"},
    {"oc_softmax_ref", "ocp_softmax_forward"},
    {"oc_copy_forward", "ocp_copy_forward"},
    {"oc_concat_forward", "ocp_concat_forward"},
};

const char *oc_cg_portable_kernel(const char *runtime_name)
{
    for (size_t i = 0; i < sizeof kernel_map / sizeof kernel_map[0]; i++)
        if (!strcmp(kernel_map[i].runtime, runtime_name))
            return kernel_map[i].portable;
    return NULL;
}

int oc_cg_portable_accepts(const oc_plan *p, const oc_step *st, const char **why)
{
    const char *k = oc_kernel_get(st->kernel)->name;
    int copy = !strcmp(k, "oc_copy_forward") || !strcmp(k, "oc_concat_forward");
    *why = "its kernel has no portable twin";
    if (!oc_cg_portable_kernel(k))
        return 0;
    for (int i = 0; i < st->n_in + st->n_out; i++) {
        int t = i < st->n_in ? st->in[i] : st->out[i - st->n_in];
        if (t < 0)
            continue;
        int dt = p->tensors[t].dtype;
        /* Reshape's shape input (int64) rides along */
        if (dt != OC_FLOAT && !(copy && (dt == OC_INT32 || dt == OC_INT64 || dt == OC_DOUBLE)) &&
            !(!strcmp(k, "oc_copy_forward") && i == 1)) {
            *why = "portable kernels are float32 only";
            return 0;
        }
    }
    if (!strcmp(k, "oc_binary_forward")) {
        const oc_bcast_params *b = st->params;
        if (b->n_in != 2 || b->op > OC_BIN_MIN || b->op == OC_BIN_MOD || b->slope_channel) {
            *why = "portable arithmetic covers Add, Sub, Mul, Div, Pow, Max and Min of two inputs";
            return 0;
        }
    }
    if (strstr(k, "batchnorm") && (((const oc_batchnorm_params *)st->params)->training ||
                                   ((const oc_batchnorm_params *)st->params)->ep.act)) {
        *why = "portable BatchNormalization is inference only, without a fused activation";
        return 0;
    }
    if (strstr(k, "pool_forward") && st->n_out > 1 && st->out[1] >= 0) {
        *why = "portable MaxPool has no Indices output";
        return 0;
    }
    return 1;
}
