/* loss.h: kernels of the training losses NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss (float32 and float64 scores, int32 or int64
 * labels). The compiler side (attributes, shape rule, lowering) is
 * compiler/ops/loss.c. */
#ifndef ONNXC_KERNELS_LOSS_H
#define ONNXC_KERNELS_LOSS_H

#include "../plan.h"

enum oc_loss_reduction { OC_LOSS_NONE, OC_LOSS_SUM, OC_LOSS_MEAN };

/* Scores are viewed as [n, c, d] with d the product of the trailing dims
 * d1..dk, labels as [n, d]. */
typedef struct oc_loss_params {
    int reduction;     /* oc_loss_reduction */
    int softmax;       /* 1: SoftmaxCrossEntropyLoss (log-softmax over c first) */
    int has_ignore;    /* ignore_index given */
    int64_t ignore_index;
    int dtype;         /* OC_FLOAT or OC_DOUBLE (scores, weights, loss) */
    int label_dtype;   /* OC_INT32 or OC_INT64 */
    int64_t n, c, d;
} oc_loss_params;

/* out[0] loss ([n, d1..dk] for none, else a scalar); out[1], when present
 * (SoftmaxCrossEntropyLoss), the log-probabilities [n, c, d1..dk]. */
int oc_loss_forward(const oc_kargs *a);
/* in: dLoss, scores, labels[, weights]; out: dScores (see loss.c). */
int oc_loss_backward(const oc_kargs *a);

#endif
