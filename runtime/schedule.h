/* schedule.h: learning-rate schedules as closed-form functions of the step.
 *
 * oc_lr_at(s, step) is the learning rate for optimizer step `step`
 * (0-based), i.e. the value torch.optim.lr_scheduler leaves in
 * optimizer.param_groups[0]['lr'] after `step` calls of scheduler.step().
 * Being a pure function of the step, a resumed run needs no scheduler state.
 *
 *   CONSTANT     base_lr
 *   STEP         base_lr * gamma^floor(step / step_size)            (StepLR)
 *   MULTISTEP    base_lr * gamma^(milestones <= step)              (MultiStepLR)
 *   EXPONENTIAL  base_lr * gamma^step                              (ExponentialLR)
 *   COSINE       eta_min + (base_lr - eta_min) (1 + cos(pi step / t_max)) / 2
 *                for step <= t_max, then eta_min (CosineAnnealingLR without
 *                its second half-period: PyTorch's curve climbs back up)
 *   POLYNOMIAL   base_lr * (1 - min(step, t_max) / t_max)^power     (PolynomialLR)
 *
 * Linear warmup composes with any of them: for step < warmup_steps the rate
 * is base_lr * (f + (1 - f) step / warmup_steps) with f = warmup_start_factor,
 * and from then on the main schedule runs on (step - warmup_steps). That is
 * SequentialLR([LinearLR(start_factor=f, total_iters=W), main], milestones=[W]). */
#ifndef ONNXC_SCHEDULE_H
#define ONNXC_SCHEDULE_H

#include <stdint.h>

#include "diag.h"

typedef enum oc_lr_kind {
    OC_LR_CONSTANT = 0,
    OC_LR_STEP,
    OC_LR_MULTISTEP,
    OC_LR_EXPONENTIAL,
    OC_LR_COSINE,
    OC_LR_POLYNOMIAL,
    OC_LR_KIND_COUNT
} oc_lr_kind;

#define OC_LR_MAX_MILESTONES 16

typedef struct oc_schedule {
    oc_lr_kind kind;
    double base_lr;
    double gamma;                                 /* STEP, MULTISTEP, EXPONENTIAL */
    int64_t step_size;                            /* STEP */
    int64_t milestones[OC_LR_MAX_MILESTONES];     /* MULTISTEP, increasing */
    int n_milestones;
    int64_t t_max;                                /* COSINE, POLYNOMIAL: steps to the end */
    double eta_min;                               /* COSINE */
    double power;                                 /* POLYNOMIAL */
    int64_t warmup_steps;                         /* 0 = no warmup */
    double warmup_start_factor;                   /* in [0, 1] */
} oc_schedule;

/* PyTorch's defaults: gamma 0.1 (0.9 for EXPONENTIAL), step_size 1,
 * t_max 1, eta_min 0, power 1, no warmup, warmup_start_factor 1/3. */
void oc_schedule_default(oc_schedule *s, oc_lr_kind kind, double base_lr);

/* "constant", "step", "multistep", "exponential" (or "exp"), "cosine",
 * "polynomial" (or "poly"). */
int oc_lr_kind_parse(const char *name, oc_lr_kind *kind);
const char *oc_lr_kind_name(oc_lr_kind kind);

/* Range checks (positive step_size and t_max, increasing milestones, ...). */
int oc_schedule_check(const oc_schedule *s, oc_diag *d);

/* The learning rate for step `step` (negative steps count as 0). */
double oc_lr_at(const oc_schedule *s, int64_t step);

#endif
