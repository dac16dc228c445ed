/* tensor_view.h: a dense tensor header over caller memory, for the C
 * tests that call kernels directly (one helper instead of a copy per
 * test file). */
#ifndef ONNXC_TESTS_TENSOR_VIEW_H
#define ONNXC_TESTS_TENSOR_VIEW_H

#include <string.h>

#include "../../runtime/tensor.h"

static inline void tensor_init(oc_tensor *t, int dtype, int rank, const int64_t *dims, void *data)
{
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->numel *= dims[i];
    }
    t->data = data;
}

#endif
