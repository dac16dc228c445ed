/* optim.h: first-order optimizers over one flat parameter buffer.
 *
 * A model's trainable parameters live in ONE contiguous float buffer and
 * their gradients in a second buffer with the same layout (parameter k
 * occupies [offset_k, offset_k + n_k) in both). The optimizer's state
 * (momentum, Adam's m and v, Adagrad's sum, ...) is kept the same way: each
 * state buffer is n floats in that layout, and all of them sit in one
 * allocation owned by the oc_optim. So a data-parallel run can allreduce
 * every gradient with one call, and a checkpoint is a few flat arrays.
 *
 * Semantics follow torch.optim (1.13, single-tensor path) step for step,
 * in float32 with the same order of operations, so results agree with
 * PyTorch to a few ulps:
 *   SGD      (momentum, dampening, nesterov; the momentum buffer starts as
 *            the first gradient, as in PyTorch)
 *   Adagrad  (lr_decay, initial_accumulator_value, eps)
 *   RMSprop  (alpha, eps, momentum, centered)
 *   Adam     (betas, eps, amsgrad; bias correction in double)
 *   AdamW    (decoupled weight decay: p *= 1 - lr * wd before the update)
 * weight_decay is L2 added to the gradient (g += wd * p) for every kind but
 * AdamW. Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_)
 * runs first when max_grad_norm > 0 and scales the gradient buffer in place.
 * Ranges of the buffer (biases, norm scales) can be excluded from weight
 * decay with oc_optim_exclude_decay. */
#ifndef ONNXC_OPTIM_H
#define ONNXC_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

typedef enum oc_optim_kind {
    OC_OPTIM_SGD = 0,
    OC_OPTIM_ADAGRAD,
    OC_OPTIM_RMSPROP,
    OC_OPTIM_ADAM,
    OC_OPTIM_ADAMW,
    OC_OPTIM_KIND_COUNT
} oc_optim_kind;

/* Hyper-parameters; the learning rate is not here but an argument of each
 * step, so a schedule (schedule.h) can change it freely. */
typedef struct oc_optim_config {
    oc_optim_kind kind;
    double weight_decay;  /* L2 (all kinds) or decoupled (AdamW); 0 = off */
    double momentum;      /* SGD, RMSprop; 0 = off */
    double dampening;     /* SGD */
    int nesterov;         /* SGD: needs momentum > 0 and dampening 0 */
    double beta1, beta2;  /* Adam, AdamW */
    double eps;           /* Adam, AdamW, Adagrad, RMSprop */
    int amsgrad;          /* Adam, AdamW */
    double alpha;         /* RMSprop smoothing constant */
    int centered;         /* RMSprop: divide by the estimated variance */
    double lr_decay;      /* Adagrad */
    double initial_accumulator_value; /* Adagrad */
    double max_grad_norm; /* > 0: clip by global norm before each step */
    double norm_type;     /* norm for clipping: 2 (default), any p > 0, or INFINITY */
} oc_optim_config;

#define OC_OPTIM_MAX_STATE 3

/* A range of the flat buffer, [offset, offset + count). */
typedef struct oc_optim_range {
    size_t offset, count;
} oc_optim_range;

typedef struct oc_optim {
    oc_optim_config cfg;
    size_t n;                  /* floats in the parameter buffer */
    int64_t t;                 /* steps taken so far */
    int n_state;               /* state buffers in use */
    float *state[OC_OPTIM_MAX_STATE];           /* each n floats, into `block` */
    const char *state_name[OC_OPTIM_MAX_STATE]; /* PyTorch's state key names */
    float *block;              /* the one allocation behind state[] */
    oc_optim_range *no_decay;  /* sorted, disjoint ranges without weight decay */
    int n_no_decay, cap_no_decay;
    double grad_norm;          /* global gradient norm before the last clip (-1: not computed) */
    int threads;               /* threads the update may use (0 or 1: the caller's alone); the bits do not depend on it */
} oc_optim;

/* PyTorch's defaults for a kind: Adam/AdamW betas (0.9, 0.999), eps 1e-8,
 * AdamW weight_decay 1e-2, Adagrad eps 1e-10, RMSprop alpha 0.99 and
 * eps 1e-8, norm_type 2, everything else 0. */
void oc_optim_config_default(oc_optim_config *c, oc_optim_kind kind);

/* "sgd", "adagrad", "rmsprop", "adam", "adamw" (case-insensitive). */
int oc_optim_kind_parse(const char *name, oc_optim_kind *kind);
const char *oc_optim_kind_name(oc_optim_kind kind);

/* Checks the configuration, allocates zeroed state (Adagrad's sum starts
 * at initial_accumulator_value) for n parameters. 0 or -1 with d filled. */
int oc_optim_init(oc_optim *o, const oc_optim_config *c, size_t n, oc_diag *d);
void oc_optim_free(oc_optim *o);

/* The number of n-float state buffers configuration c keeps (0 to
 * OC_OPTIM_MAX_STATE), and an init over caller memory: block holds that
 * many times n floats and is owned by the caller (generated code places it
 * in a region of its memory contract); oc_optim_free then frees nothing
 * but the no-decay ranges. */
int oc_optim_state_buffers(const oc_optim_config *c);
int oc_optim_init_in(oc_optim *o, const oc_optim_config *c, size_t n, float *block, oc_diag *d);

/* Excludes [offset, offset + count) from weight decay (L2 and decoupled). */
int oc_optim_exclude_decay(oc_optim *o, size_t offset, size_t count, oc_diag *d);

/* One update of all n parameters from grads with learning rate lr. grads
 * is scaled in place when clipping is on; it is otherwise left alone. */
void oc_optim_step(oc_optim *o, float *params, float *grads, double lr);

/* torch.nn.utils.clip_grad_norm_ on a flat buffer: total = ||g||_p over all
 * n values (p = norm_type; INFINITY gives max |g|); if total > max_norm,
 * g *= max_norm / (total + 1e-6). Returns total (before clipping). */
double oc_clip_grad_norm(float *grads, size_t n, double max_norm, double norm_type);

/* Zero the state and the step count (a fresh start, same configuration). */
void oc_optim_reset(oc_optim *o);

#endif
