/* train.h: the graph side of training.
 *
 * A model graph becomes a training graph in three explicit steps, all
 * here: (1) every BatchNormalization node gets a mode, frozen (eval
 * statistics; foldable like any inference BN) or training (batch
 * statistics; its running mean / variance come out as extra outputs),
 * decided from what is trainable and a policy; (2) a loss node is appended
 * on one model output and a labels input; (3) autodiff appends the
 * backward pass for the trainable set. The result records, by value id,
 * the loss, the parameters and their gradients, and for each training BN
 * which output updates which running statistic, so a trainer carries state
 * by identity, never by guessing from names. The trainer object that runs
 * such a graph is compiler/trainer.h. */
#ifndef ONNXC_TRAIN_H
#define ONNXC_TRAIN_H

#include "graph.h"

typedef enum oc_bn_policy {
    OC_BN_AUTO = 0, /* a BN trains when its scale or bias is trainable */
    OC_BN_TRAIN,    /* every BN trains (batch statistics) */
    OC_BN_EVAL,     /* every BN is frozen (running statistics) */
    OC_BN_MODEL,    /* as the model says: its training_mode attribute, else before
                     * opset 14 the running-statistics outputs; else frozen */
} oc_bn_policy;

/* "auto", "train", "eval", "model". */
int oc_bn_policy_parse(const char *s, oc_bn_policy *p);

/* Puts node nid (a BatchNormalization) in training (1) or frozen (0) mode:
 * the training_mode attribute, and in training mode outputs 1 and 2 (the
 * updated running mean and variance) added as graph outputs
 * "updated_<statistic>" when the model left them out. */
int oc_bn_set_mode(oc_graph *g, int nid, int training, oc_diag *d);

/* Marks every BatchNormalization by policy. trainable: one flag per value
 * id (NULL: every value counts as trainable). *n_training (optional) gets
 * the number of training nodes. */
int oc_bn_mark(oc_graph *g, const unsigned char *trainable, oc_bn_policy policy, int *n_training, oc_diag *d);

/* The loss appended to a model output. */
typedef struct oc_loss_spec {
    const char *op;     /* e.g. "SoftmaxCrossEntropyLoss"; NULL = that one */
    const char *domain; /* "" (ONNX) or OC_DOMAIN_ONNXC */
    int output;         /* which graph output is the prediction */
    const char *prediction; /* or a value by name (e.g. logits before a Softmax); NULL: the output */
    int label_dtype, label_rank;
    int64_t label_dims[OC_MAX_RANK];
    int64_t class_weights; /* > 0: a float input "onnxc_class_weights" of that length */
    int n_fattrs;          /* float attributes of the loss node */
    const char *fattr_name[4];
    float fattr[4];
} oc_loss_spec;

typedef struct oc_train_graph {
    oc_graph *g;               /* the training graph (owned) */
    int loss;                  /* value id of the scalar loss ("onnxc_loss", a graph output) */
    int prediction;            /* value id of the model output the loss reads */
    int n_params;
    int *params, *grads;       /* value ids, n_params each */
    int n_bn_train;            /* BatchNormalization nodes in training mode */
    int n_stats;               /* running statistics of the training BNs */
    int *stat_out, *stat_state; /* value ids: the updated statistic, the running statistic it replaces */
} oc_train_graph;

/* Builds the training graph from g (consumed: it becomes tg->g, also on
 * failure it is freed). trainable: flags per value id of g (NULL: every
 * float parameter, oc_trainable_params). dropout_train: Dropout without a
 * training_mode input trains. */
int oc_train_graph_build(oc_graph *g, const oc_loss_spec *loss, const unsigned char *trainable, oc_bn_policy bn,
                         int dropout_train, oc_train_graph *tg, oc_diag *d);
void oc_train_graph_free(oc_train_graph *tg);

/* A deep copy of g (through the ONNX encoding; shapes re-inferred). */
oc_graph *oc_graph_clone(const oc_graph *g, oc_diag *d);

#endif
