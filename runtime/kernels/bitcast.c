/* bitcast.c: see bitcast.h. */
#include "bitcast.h"

#include <string.h>

#include "../dtype.h"
#include "table.h"

int oc_bitcast_forward(const oc_kargs *a)
{
    const oc_bitcast_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    if (oc_dtype_info_of(p->from)->bits >= 8 && oc_dtype_info_of(p->to)->bits >= 8) {
        if (y->numel && y->data != x->data)
            memcpy(y->data, x->data, oc_tensor_nbytes(y));
        return 0;
    }
    for (int64_t i = 0; i < y->numel; i++)
        oc_elem_set_bits(p->to, y->data, i, oc_elem_get_bits(p->from, x->data, i));
    return 0;
}

const oc_kernel_info oc_kernels_bitcast[] = {
    {.name = "oc_bitcast_forward", .fn = oc_bitcast_forward, .params_type = "oc_bitcast_params", .ref = NULL},
    {0},
};
