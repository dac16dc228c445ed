/* sequence.c: see sequence.h. */
#include "sequence.h"

#include <string.h>

#include "shape_ops.h"
#include "table.h"

int oc_seqsel_forward(const oc_kargs *a)
{
    const oc_seqsel_params *p = a->p;
    int64_t n = p->length, pos = oc_index_get(a->in[0], 0);
    int64_t hi = p->mode == OC_SEQSEL_INSERT ? n : n - 1; /* insert may append */
    if (pos < -n || pos > hi)
        return oc_fail(a->d, "position %lld is outside [%lld, %lld] for a sequence of %lld tensors", (long long)pos,
                       (long long)-n, (long long)hi, (long long)n);
    if (pos < 0)
        pos += n;
    int64_t pick; /* index into in[1..] */
    switch (p->mode) {
    case OC_SEQSEL_AT: pick = pos; break;
    case OC_SEQSEL_INSERT: pick = p->slot < pos ? p->slot : p->slot == pos ? n : p->slot - 1; break;
    default: pick = p->slot < pos ? p->slot : p->slot + 1; break;
    }
    const oc_tensor *x = a->in[1 + pick];
    oc_tensor *y = a->out[0];
    if (!x || x->dtype != y->dtype || oc_tensor_nbytes(x) != oc_tensor_nbytes(y))
        return oc_fail(a->d, "the tensor at position %lld does not have the planned type and size", (long long)pos);
    if (y->numel && y->data != x->data)
        memcpy(y->data, x->data, oc_tensor_nbytes(y));
    return 0;
}

const oc_kernel_info oc_kernels_sequence[] = {
    {.name = "oc_seqsel_forward", .fn = oc_seqsel_forward, .params_type = "oc_seqsel_params", .ref = NULL},
    {0},
};
