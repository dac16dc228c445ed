/* schedule.c: see schedule.h. All formulas are PyTorch's closed forms
 * (_get_closed_form_lr in torch/optim/lr_scheduler.py); PyTorch steps them
 * recursively, which agrees to rounding (about 1e-15 relative). */
#include "schedule.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const char *const lr_names[OC_LR_KIND_COUNT] = {"constant", "step",   "multistep",
                                                        "exponential", "cosine", "polynomial"};

const char *oc_lr_kind_name(oc_lr_kind kind)
{
    return (unsigned)kind < OC_LR_KIND_COUNT ? lr_names[kind] : "?";
}

int oc_lr_kind_parse(const char *name, oc_lr_kind *kind)
{
    for (int k = 0; k < OC_LR_KIND_COUNT; k++)
        if (!strcasecmp(name, lr_names[k])) {
            *kind = (oc_lr_kind)k;
            return 0;
        }
    if (!strcasecmp(name, "exp")) {
        *kind = OC_LR_EXPONENTIAL;
        return 0;
    }
    if (!strcasecmp(name, "poly")) {
        *kind = OC_LR_POLYNOMIAL;
        return 0;
    }
    return -1;
}

void oc_schedule_default(oc_schedule *s, oc_lr_kind kind, double base_lr)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->base_lr = base_lr;
    s->gamma = kind == OC_LR_EXPONENTIAL ? 0.9 : 0.1;
    s->step_size = 1;
    s->t_max = 1;
    s->power = 1.0;
    s->warmup_start_factor = 1.0 / 3.0;
}

int oc_schedule_check(const oc_schedule *s, oc_diag *d)
{
    if ((unsigned)s->kind >= OC_LR_KIND_COUNT)
        return oc_fail(d, "lr schedule: unknown kind %d", (int)s->kind);
    const char *k = lr_names[s->kind];
    if (!(s->base_lr >= 0) || isinf(s->base_lr))
        return oc_fail(d, "lr schedule %s: base lr %g must be finite and >= 0", k, s->base_lr);
    if ((s->kind == OC_LR_STEP || s->kind == OC_LR_MULTISTEP || s->kind == OC_LR_EXPONENTIAL) &&
        (!(s->gamma >= 0) || isinf(s->gamma)))
        return oc_fail(d, "lr schedule %s: gamma %g must be finite and >= 0", k, s->gamma);
    if (s->kind == OC_LR_STEP && s->step_size <= 0)
        return oc_fail(d, "lr schedule step: step_size %lld must be > 0", (long long)s->step_size);
    if (s->kind == OC_LR_MULTISTEP) {
        if (s->n_milestones < 0 || s->n_milestones > OC_LR_MAX_MILESTONES)
            return oc_fail(d, "lr schedule multistep: %d milestones (at most %d)", s->n_milestones,
                           OC_LR_MAX_MILESTONES);
        for (int i = 1; i < s->n_milestones; i++)
            if (s->milestones[i] <= s->milestones[i - 1])
                return oc_fail(d, "lr schedule multistep: milestones must increase (%lld after %lld)",
                               (long long)s->milestones[i], (long long)s->milestones[i - 1]);
    }
    if ((s->kind == OC_LR_COSINE || s->kind == OC_LR_POLYNOMIAL) && s->t_max <= 0)
        return oc_fail(d, "lr schedule %s: t_max %lld must be > 0", k, (long long)s->t_max);
    if (s->kind == OC_LR_COSINE && (!(s->eta_min >= 0) || isinf(s->eta_min)))
        return oc_fail(d, "lr schedule cosine: eta_min %g must be finite and >= 0", s->eta_min);
    if (s->kind == OC_LR_POLYNOMIAL && (!(s->power >= 0) || isinf(s->power)))
        return oc_fail(d, "lr schedule polynomial: power %g must be finite and >= 0", s->power);
    if (s->warmup_steps < 0)
        return oc_fail(d, "lr schedule %s: warmup_steps %lld must be >= 0", k, (long long)s->warmup_steps);
    if (s->warmup_steps > 0 && !(s->warmup_start_factor >= 0 && s->warmup_start_factor <= 1))
        return oc_fail(d, "lr schedule %s: warmup start factor %g must be in [0, 1]", k, s->warmup_start_factor);
    return 0;
}

/* The main schedule at step t >= 0 (warmup already removed). */
static double main_lr(const oc_schedule *s, int64_t t)
{
    switch (s->kind) {
    case OC_LR_STEP:
        return s->base_lr * pow(s->gamma, (double)(t / (s->step_size > 0 ? s->step_size : 1)));
    case OC_LR_MULTISTEP: {
        /* bisect_right(milestones, t): milestones already passed. */
        int passed = 0;
        while (passed < s->n_milestones && passed < OC_LR_MAX_MILESTONES && s->milestones[passed] <= t)
            passed++;
        return s->base_lr * pow(s->gamma, passed);
    }
    case OC_LR_EXPONENTIAL:
        return s->base_lr * pow(s->gamma, (double)t);
    case OC_LR_COSINE: {
        if (s->t_max <= 0 || t >= s->t_max)
            return s->eta_min;
        const double pi = 3.14159265358979323846;
        return s->eta_min + (s->base_lr - s->eta_min) * (1.0 + cos(pi * (double)t / (double)s->t_max)) / 2.0;
    }
    case OC_LR_POLYNOMIAL: {
        if (s->t_max <= 0)
            return s->base_lr;
        double f = 1.0 - (double)(t < s->t_max ? t : s->t_max) / (double)s->t_max;
        return s->base_lr * pow(f, s->power);
    }
    case OC_LR_CONSTANT:
    default:
        return s->base_lr;
    }
}

double oc_lr_at(const oc_schedule *s, int64_t step)
{
    if (step < 0)
        step = 0;
    if (step < s->warmup_steps) {
        /* LinearLR closed form with end_factor 1 and total_iters W. */
        double f = s->warmup_start_factor;
        return s->base_lr * (f + (1.0 - f) * (double)step / (double)s->warmup_steps);
    }
    return main_lr(s, step - s->warmup_steps);
}
