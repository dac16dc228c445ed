/* reduce.c: Softmax, LogSoftmax, Hardmax, the Reduce* family and
 * ArgMax/ArgMin: shape rules. Reduce axes are an attribute until opset 13
 * (ReduceSum) / 18 (the others), an optional input after. */
#include "op.h"

#include <string.h>

static int infer_softmax(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (x->rank >= 0) {
        int a;
        int64_t dflt = cx->g->opset >= 13 ? -1 : 1;
        if (oc_infer_axis(cx, oc_attr_int(oc_infer_node(cx), "axis", dflt), x->rank, &a))
            return -1;
    }
    return oc_infer_same_as(cx, 0, 0);
}

static int infer_reduce(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int keep = (int)oc_attr_int(n, "keepdims", 1);
    int64_t axes[OC_MAX_RANK];
    const int64_t *a;
    int na = oc_attr_ints(n, "axes", &a);
    if (na > OC_MAX_RANK)
        return oc_infer_fail(cx, "too many axes");
    if (na >= 0) {
        memcpy(axes, a, sizeof(int64_t) * (size_t)na);
    } else {
        na = oc_infer_const_ints(cx, 1, axes, OC_MAX_RANK);
        if (na == -3)
            return -1;
        if (na == -2)
            return oc_infer_fail(cx, "axes must be known when the model is compiled");
        if (na == -1)
            na = 0;
    }
    int red[OC_MAX_RANK] = {0};
    if (na == 0) {
        if (oc_attr_int(n, "noop_with_empty_axes", 0))
            return oc_infer_same_as(cx, 0, 0);
        for (int i = 0; i < x->rank; i++)
            red[i] = 1;
    }
    for (int i = 0; i < na; i++) {
        int ax;
        if (oc_infer_axis(cx, axes[i], x->rank, &ax))
            return -1;
        red[ax] = 1;
    }
    int64_t dims[OC_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!red[i])
            dims[r++] = x->dims[i];
        else if (keep)
            dims[r++] = 1;
    }
    return oc_infer_set_out(cx, 0, x->dtype, r, dims);
}

static int infer_argmax(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int ax;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &ax))
        return -1;
    int keep = (int)oc_attr_int(n, "keepdims", 1);
    int64_t dims[OC_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != ax)
            dims[r++] = x->dims[i];
        else if (keep)
            dims[r++] = 1;
    }
    return oc_infer_set_out(cx, 0, OC_INT64, r, dims);
}

const oc_op oc_ops_reduce[] = {
    {"Softmax", 1, 1, 1, 1, infer_softmax, NULL, 0},
    {"LogSoftmax", 1, 1, 1, 1, infer_softmax, NULL, 0},
    {"Hardmax", 1, 1, 1, 1, infer_softmax, NULL, 0},
    {"ReduceSum", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceMean", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceMax", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceMin", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceProd", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceL1", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceL2", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceLogSum", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceLogSumExp", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ReduceSumSquare", 1, 2, 1, 1, infer_reduce, NULL, 0},
    {"ArgMax", 1, 1, 1, 1, infer_argmax, NULL, 0},
    {"ArgMin", 1, 1, 1, 1, infer_argmax, NULL, 0},
    {0},
};
