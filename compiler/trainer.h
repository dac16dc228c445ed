/* trainer.h: training as a library object.
 *
 * An oc_trainer holds everything one training run needs besides the data:
 * the training plan (model + loss + backward pass, compiler/train.h, with
 * its parameters and gradients in two contiguous blocks), an evaluation
 * plan built from an untouched copy of the model, the optimizer and its
 * state, the LR schedule and the step count, and the BatchNorm running
 * statistics. A step runs the training plan on one batch, hands the
 * gradient block to an optional hook (an allreduce), then the
 * optimizer (with clipping) updates the parameter block and the running
 * statistics of training BNs are carried over. Evaluation, ONNX export and
 * checkpoints read the same state. The CLI commands `train` and
 * `finetune` are thin over this; so is the C API. Errors go to the diag
 * given to oc_trainer_new. */
#ifndef ONNXC_TRAINER_H
#define ONNXC_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/data_source.h"
#include "../runtime/optim.h"
#include "../runtime/plan.h"
#include "../runtime/schedule.h"
#include "graph.h"
#include "train.h"

typedef struct oc_train_config {
    int64_t batch;                   /* binds the input's first dim when it is not fixed */
    const unsigned char *trainable;  /* flags per value id of the model; NULL = every float parameter */
    oc_bn_policy bn;                 /* BatchNormalization modes (train.h) */
    oc_optim_config optim;           /* optimizer, weight decay, clipping (runtime/optim.h) */
    oc_schedule schedule;            /* learning rate per step (runtime/schedule.h) */
    int threads;                     /* 0 = the process setting (runtime/threads.h) */
    int no_fuse;                     /* 1: plan the training graph as autodiff built it (no passes) */
    double label_smoothing;          /* > 0: onnxc's CrossEntropyLoss with this smoothing (PyTorch's) */
    const char *logits;              /* the value the loss and evaluation read; NULL = the first output */
    /* Called after backward with the gradient block (n floats) before
     * clipping and the update: an allreduce goes here. Nonzero = error. */
    int (*grad_hook)(void *ctx, float *grads, size_t n);
    void *hook_ctx;
    /* Data-parallel runs (the caller brings the communication, e.g. MPI in
     * the CLI; runtime/plan.h): coll sums doubles over every process. With
     * ranks > 1, evaluation takes batch i on rank i % ranks and sums the
     * results over the ranks, and sync_bn = 1 makes training BatchNorms use
     * the statistics of the global batch (their per-channel sums go
     * through coll). ranks 0 or 1 = one process. */
    oc_collective coll;
    int rank, ranks;
    int sync_bn;
    /* 1: every constant of the training plan is copied into its weights
     * block (the code generator writes that block as the weights file). */
    int weights_block;
} oc_train_config;

typedef struct oc_trainer oc_trainer;

/* Fills c with SGD (PyTorch defaults), a constant LR 0.01, BN auto, batch 0. */
void oc_train_config_default(oc_train_config *c);

/* The model graph g is not modified (the trainer works on copies); its
 * first output (or c->logits) is the logits [batch, classes], its one
 * input the samples;
 * the loss is SoftmaxCrossEntropyLoss against int64 labels [batch]. */
oc_trainer *oc_trainer_new(const oc_graph *g, const oc_train_config *c, oc_diag *d);
void oc_trainer_free(oc_trainer *t);

/* One optimizer step on x [batch, sample...] and y [batch]; *loss gets the
 * batch loss (before the update). A non-finite loss is an error naming the
 * first non-finite tensor. */
int oc_trainer_step(oc_trainer *t, const float *x, const int64_t *y, double *loss);

/* The logits of the last step (valid until the next step). */
const oc_tensor *oc_trainer_logits(const oc_trainer *t);

/* Mean loss, top-1 and top-5 accuracy of the current parameters over every
 * sample of src (no augmentation; any pointer may be NULL). In a
 * data-parallel run (config ranks > 1) every rank must call it: each runs
 * its share of the batches and all get the totals; without sync_bn the
 * running statistics (each rank's from its own batches) are first
 * replaced by their mean over the ranks, so that every rank then
 * evaluates, checkpoints and exports the same model. */
int oc_trainer_evaluate(oc_trainer *t, const oc_data_source *src, double *loss, double *top1, double *top5);

/* Runs the evaluation plan on one batch x; the logits [batch, classes]. */
const oc_tensor *oc_trainer_predict(oc_trainer *t, const float *x);

/* The model with the trained parameters and BN statistics, as ONNX
 * (written atomically). */
int oc_trainer_export(oc_trainer *t, const char *path);

/* The current values of the trainable parameter named `name` (numel
 * floats, in the training plan's block), or NULL. */
float *oc_trainer_param(oc_trainer *t, const char *name, int64_t *numel);

/* The training plan (forward, loss, backward), e.g. to profile its steps:
 * after a step its inputs hold that step's batch. */
oc_plan *oc_trainer_plan(oc_trainer *t);

/* Data-parallel without sync_bn: replaces the running statistics by their
 * mean over the ranks (every rank calls it; a no-op otherwise). Evaluation
 * does it first; call it before a checkpoint taken between evaluations. */
int oc_trainer_average_stats(oc_trainer *t);

/* FNV-1a of the parameter block and (stats = 1) the running statistics:
 * equal on every rank of a data-parallel run (a debug check; without
 * sync_bn the statistics agree only after an evaluation). */
uint64_t oc_trainer_state_checksum(const oc_trainer *t, int stats);

/* What a step does besides running the training plan, for the code
 * generator (onnxc compile --train), which emits the same step as C. */
typedef struct oc_trainer_layout {
    const oc_plan *plan;      /* the training plan */
    int t_loss, t_logits;     /* its loss (a float scalar) and logits tensors */
    int t_samples, t_labels;  /* its two inputs: the batch and the int64 labels */
    int n_stats;              /* after the update, tensor stat_out[k] is copied over stat[k] */
    const int *stat_out, *stat;
    const oc_optim_config *optim;
} oc_trainer_layout;
void oc_trainer_get_layout(const oc_trainer *t, oc_trainer_layout *l);

/* Facts about the run. */
int64_t oc_trainer_batch(const oc_trainer *t);
int64_t oc_trainer_steps(const oc_trainer *t); /* optimizer steps taken */
size_t oc_trainer_param_floats(const oc_trainer *t);
int oc_trainer_param_tensors(const oc_trainer *t);
int oc_trainer_bn_training(const oc_trainer *t);

/* Checkpoints: one file holding a hash of the parameter names and shapes,
 * the parameter block, the running statistics, the optimizer state and
 * step count, and a caller blob (epoch, data order, RNG state, history),
 * closed by a checksum; written atomically. Loading checks everything
 * before changing any state: a truncated, corrupt or foreign file is an
 * error and the trainer is left as it was. oc_trainer_load_checkpoint
 * returns the blob (malloc'd) in *user / *user_len. */
int oc_trainer_save_checkpoint(oc_trainer *t, const char *path, const void *user, size_t user_len);
int oc_trainer_load_checkpoint(oc_trainer *t, const char *path, void **user, size_t *user_len);

#endif
