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


/* ---- onnxc's own losses (domain ai.onnxc), see compiler/ops/loss.c ---- */

/* CrossEntropyLoss: torch.nn.functional.cross_entropy with label smoothing
 * and class weights. Scores [n, c, d], int labels [n, d], optional weights
 * [c]. Forward out[0] is the loss; backward reads dLoss, scores, labels[,
 * weights] and writes dScores. */
typedef struct oc_xent_params {
    int reduction;     /* oc_loss_reduction */
    int has_ignore;
    int64_t ignore_index;
    double smoothing;  /* label_smoothing eps in [0, 1] */
    int dtype, label_dtype;
    int64_t n, c, d;
} oc_xent_params;

int oc_xent_forward(const oc_kargs *a);
int oc_xent_backward(const oc_kargs *a);

/* Elementwise losses of a prediction against a float target of the same
 * shape, reduced by none / sum / mean (over all elements). */
enum oc_pw_loss_kind { OC_PWL_MSE, OC_PWL_L1, OC_PWL_HUBER, OC_PWL_SMOOTH_L1, OC_PWL_BCE, OC_PWL_BCE_LOGITS };

typedef struct oc_pw_loss_params {
    int kind;       /* oc_pw_loss_kind */
    int reduction;  /* oc_loss_reduction */
    double delta;   /* Huber delta / SmoothL1 beta */
    int dtype;      /* OC_FLOAT or OC_DOUBLE */
    int64_t count;  /* elements of the prediction */
} oc_pw_loss_params;

/* in: prediction, target; out: loss. */
int oc_pw_loss_forward(const oc_kargs *a);
/* in: dLoss, prediction, target; out: dPrediction. */
int oc_pw_loss_backward(const oc_kargs *a);

#endif
