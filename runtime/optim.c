/* optim.c: see optim.h.
 *
 * Every update is a plain loop over one span [b, e) of the flat buffers
 * with the weight decay of that span as an argument; oc_optim_step cuts
 * [0, n) into spans at the no-decay ranges. Element-wise math is float32
 * in the order PyTorch's single-tensor kernels use (e.g. addcdiv is
 * p + (value * t1) / t2), scalars such as Adam's bias corrections are
 * computed in double and rounded to float once, as ATen does with Python
 * scalars. That keeps results within a few ulps of torch.optim. */
#include "optim.h"
#include "threads.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[OC_OPTIM_KIND_COUNT] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};

const char *oc_optim_kind_name(oc_optim_kind kind)
{
    return (unsigned)kind < OC_OPTIM_KIND_COUNT ? kind_names[kind] : "?";
}

int oc_optim_kind_parse(const char *name, oc_optim_kind *kind)
{
    for (int k = 0; k < OC_OPTIM_KIND_COUNT; k++) {
        const char *a = name, *b = kind_names[k];
        while (*a && *b && tolower((unsigned char)*a) == *b) {
            a++;
            b++;
        }
        if (!*a && !*b) {
            *kind = (oc_optim_kind)k;
            return 0;
        }
    }
    return -1;
}

void oc_optim_config_default(oc_optim_config *c, oc_optim_kind kind)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->alpha = 0.99;
    c->norm_type = 2.0;
    if (kind == OC_OPTIM_ADAMW)
        c->weight_decay = 1e-2;
    if (kind == OC_OPTIM_ADAGRAD)
        c->eps = 1e-10;
}

/* The checks torch.optim makes in its constructors, plus NaN guards. */
static int check_config(const oc_optim_config *c, oc_diag *d)
{
    if ((unsigned)c->kind >= OC_OPTIM_KIND_COUNT)
        return oc_fail(d, "optimizer: unknown kind %d", (int)c->kind);
    const char *k = kind_names[c->kind];
    if (!(c->weight_decay >= 0))
        return oc_fail(d, "optimizer %s: weight_decay %g must be >= 0", k, c->weight_decay);
    if (!(c->max_grad_norm >= 0))
        return oc_fail(d, "optimizer %s: max_grad_norm %g must be >= 0 (0 = no clipping)", k, c->max_grad_norm);
    if (c->max_grad_norm > 0 && !(c->norm_type > 0))
        return oc_fail(d, "optimizer %s: norm_type %g must be > 0 or inf", k, c->norm_type);
    switch (c->kind) {
    case OC_OPTIM_SGD:
        if (!(c->momentum >= 0))
            return oc_fail(d, "optimizer sgd: momentum %g must be >= 0", c->momentum);
        if (!(c->dampening >= 0 && c->dampening <= 1))
            return oc_fail(d, "optimizer sgd: dampening %g must be in [0, 1]", c->dampening);
        if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
            return oc_fail(d, "optimizer sgd: nesterov needs momentum > 0 and dampening 0");
        break;
    case OC_OPTIM_ADAGRAD:
        if (!(c->lr_decay >= 0))
            return oc_fail(d, "optimizer adagrad: lr_decay %g must be >= 0", c->lr_decay);
        if (!(c->initial_accumulator_value >= 0))
            return oc_fail(d, "optimizer adagrad: initial_accumulator_value %g must be >= 0",
                           c->initial_accumulator_value);
        if (!(c->eps >= 0))
            return oc_fail(d, "optimizer adagrad: eps %g must be >= 0", c->eps);
        break;
    case OC_OPTIM_RMSPROP:
        if (!(c->alpha >= 0 && c->alpha <= 1))
            return oc_fail(d, "optimizer rmsprop: alpha %g must be in [0, 1]", c->alpha);
        if (!(c->momentum >= 0))
            return oc_fail(d, "optimizer rmsprop: momentum %g must be >= 0", c->momentum);
        if (!(c->eps >= 0))
            return oc_fail(d, "optimizer rmsprop: eps %g must be >= 0", c->eps);
        break;
    case OC_OPTIM_ADAM:
    case OC_OPTIM_ADAMW:
        if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
            return oc_fail(d, "optimizer %s: betas (%g, %g) must be in [0, 1)", k, c->beta1, c->beta2);
        if (!(c->eps >= 0))
            return oc_fail(d, "optimizer %s: eps %g must be >= 0", k, c->eps);
        break;
    default:
        break;
    }
    return 0;
}

/* The state buffers a configuration keeps, with their PyTorch names. */
static int state_names(const oc_optim_config *c, const char **names)
{
    int k = 0;
    switch (c->kind) {
    case OC_OPTIM_SGD:
        if (c->momentum != 0)
            names[k++] = "momentum_buffer";
        break;
    case OC_OPTIM_ADAGRAD:
        names[k++] = "sum";
        break;
    case OC_OPTIM_RMSPROP:
        names[k++] = "square_avg";
        if (c->momentum > 0)
            names[k++] = "momentum_buffer";
        if (c->centered)
            names[k++] = "grad_avg";
        break;
    case OC_OPTIM_ADAM:
    case OC_OPTIM_ADAMW:
        names[k++] = "exp_avg";
        names[k++] = "exp_avg_sq";
        if (c->amsgrad)
            names[k++] = "max_exp_avg_sq";
        break;
    default:
        break;
    }
    return k;
}

int oc_optim_state_buffers(const oc_optim_config *c)
{
    const char *names[OC_OPTIM_MAX_STATE];
    return state_names(c, names);
}

int oc_optim_init_in(oc_optim *o, const oc_optim_config *c, size_t n, float *block, oc_diag *d)
{
    memset(o, 0, sizeof(*o));
    o->grad_norm = -1;
    if (check_config(c, d))
        return -1;
    o->cfg = *c;
    o->n = n;
    o->n_state = state_names(c, o->state_name);
    if (o->n_state > 0 && n > 0 && !block)
        return oc_fail(d, "optimizer %s: no memory given for its state", kind_names[c->kind]);
    for (int k = 0; k < o->n_state && n > 0; k++)
        o->state[k] = block + (size_t)k * n;
    oc_optim_reset(o);
    return 0;
}

int oc_optim_init(oc_optim *o, const oc_optim_config *c, size_t n, oc_diag *d)
{
    memset(o, 0, sizeof(*o));
    o->grad_norm = -1;
    if (check_config(c, d))
        return -1;
    o->cfg = *c;
    o->n = n;
    o->n_state = state_names(c, o->state_name); /* PyTorch's optimizer.state[p] keys */
    if (o->n_state > 0 && n > 0) {
        if (n > SIZE_MAX / sizeof(float) / (size_t)o->n_state)
            return oc_fail(d, "optimizer %s: %zu parameters are too many", kind_names[c->kind], n);
        o->block = calloc(n * (size_t)o->n_state, sizeof(float));
        if (!o->block)
            return oc_fail(d, "optimizer %s: out of memory for %d x %zu floats of state", kind_names[c->kind],
                           o->n_state, n);
        for (int k = 0; k < o->n_state; k++)
            o->state[k] = o->block + (size_t)k * n;
    }
    oc_optim_reset(o);
    return 0;
}

void oc_optim_reset(oc_optim *o)
{
    o->t = 0;
    o->grad_norm = -1;
    for (int k = 0; k < o->n_state; k++) /* in o->block, or in the caller's (oc_optim_init_in) */
        if (o->state[k])
            memset(o->state[k], 0, sizeof(float) * o->n);
    if (o->cfg.kind == OC_OPTIM_ADAGRAD && o->state[0]) {
        float v = (float)o->cfg.initial_accumulator_value;
        for (size_t i = 0; i < o->n; i++)
            o->state[0][i] = v;
    }
}

void oc_optim_free(oc_optim *o)
{
    free(o->block);
    free(o->no_decay);
    memset(o, 0, sizeof(*o));
}

int oc_optim_exclude_decay(oc_optim *o, size_t offset, size_t count, oc_diag *d)
{
    if (offset > o->n || count > o->n - offset)
        return oc_fail(d, "optimizer: no-decay range [%zu, %zu + %zu) is outside the %zu parameters", offset, offset,
                       count, o->n);
    if (count == 0)
        return 0;
    if (o->n_no_decay == o->cap_no_decay) {
        int cap = o->cap_no_decay ? 2 * o->cap_no_decay : 16;
        oc_optim_range *r = realloc(o->no_decay, sizeof(*r) * (size_t)cap);
        if (!r)
            return oc_fail(d, "optimizer: out of memory for no-decay ranges");
        o->no_decay = r;
        o->cap_no_decay = cap;
    }
    /* Insert in order of offset, then merge overlapping or touching ranges
     * so the step walks a sorted disjoint list. */
    int at = o->n_no_decay;
    while (at > 0 && o->no_decay[at - 1].offset > offset) {
        o->no_decay[at] = o->no_decay[at - 1];
        at--;
    }
    o->no_decay[at] = (oc_optim_range){offset, count};
    o->n_no_decay++;
    int w = 0;
    for (int r = 1; r < o->n_no_decay; r++) {
        oc_optim_range *last = &o->no_decay[w];
        size_t end = last->offset + last->count;
        if (o->no_decay[r].offset <= end) {
            size_t e2 = o->no_decay[r].offset + o->no_decay[r].count;
            if (e2 > end)
                last->count = e2 - last->offset;
        } else {
            o->no_decay[++w] = o->no_decay[r];
        }
    }
    o->n_no_decay = w + 1;
    return 0;
}

double oc_clip_grad_norm(float *g, size_t n, double max_norm, double norm_type)
{
    double total = 0;
    if (isinf(norm_type)) {
        for (size_t i = 0; i < n; i++) {
            double a = fabs((double)g[i]);
            if (a > total || isnan(a))
                total = a;
        }
    } else if (norm_type == 2.0) {
        for (size_t i = 0; i < n; i++)
            total += (double)g[i] * (double)g[i];
        total = sqrt(total);
    } else if (norm_type == 1.0) {
        for (size_t i = 0; i < n; i++)
            total += fabs((double)g[i]);
    } else {
        for (size_t i = 0; i < n; i++)
            total += pow(fabs((double)g[i]), norm_type);
        total = pow(total, 1.0 / norm_type);
    }
    /* PyTorch: clip_coef = max_norm / (total + 1e-6) in float32 (Python's
     * rdiv is reciprocal * max_norm), clamped to 1, then g *= clip_coef. */
    float coef = (1.0f / ((float)total + 1e-6f)) * (float)max_norm;
    if (coef < 1.0f)
        for (size_t i = 0; i < n; i++)
            g[i] *= coef;
    return total;
}

/* ---- updates of one span [b, e) with weight decay wd ---- */

/* SGD (torch.optim.SGD):
 *   g' = g + wd p
 *   buf = g' on the first step, else buf = momentum buf + (1 - dampening) g'
 *   step = nesterov ? g' + momentum buf : buf   (step = g' without momentum)
 *   p -= lr step */
static void sgd_span(oc_optim *o, float *p, const float *g, size_t b, size_t e, float wd, double lr)
{
    const oc_optim_config *c = &o->cfg;
    float neg_lr = (float)-lr;
    if (c->momentum == 0) {
        for (size_t i = b; i < e; i++) {
            float gi = wd != 0 ? g[i] + wd * p[i] : g[i];
            p[i] = p[i] + neg_lr * gi;
        }
        return;
    }
    float *buf = o->state[0];
    float mom = (float)c->momentum, damp = (float)(1.0 - c->dampening);
    int first = o->t == 0;
    for (size_t i = b; i < e; i++) {
        float gi = wd != 0 ? g[i] + wd * p[i] : g[i];
        buf[i] = first ? gi : buf[i] * mom + damp * gi;
        float s = c->nesterov ? gi + mom * buf[i] : buf[i];
        p[i] = p[i] + neg_lr * s;
    }
}

/* Adagrad (Duchi et al. 2011; torch.optim.Adagrad):
 *   clr = lr / (1 + (t - 1) lr_decay)      (t counts from 1)
 *   sum += g'^2;  p -= clr g' / (sqrt(sum) + eps) */
static void adagrad_span(oc_optim *o, float *p, const float *g, size_t b, size_t e, float wd, double lr)
{
    const oc_optim_config *c = &o->cfg;
    float *sum = o->state[0];
    float neg_clr = (float)-(lr / (1.0 + (double)(o->t - 1) * c->lr_decay));
    float eps = (float)c->eps;
    for (size_t i = b; i < e; i++) {
        float gi = wd != 0 ? g[i] + wd * p[i] : g[i];
        sum[i] = sum[i] + gi * gi;
        float std = sqrtf(sum[i]) + eps;
        p[i] = p[i] + neg_clr * gi / std;
    }
}

/* RMSprop (Hinton's lecture 6e; torch.optim.RMSprop):
 *   sq = alpha sq + (1 - alpha) g'^2
 *   centered: ga = alpha ga + (1 - alpha) g';  avg = sqrt(sq - ga^2) + eps
 *   else avg = sqrt(sq) + eps
 *   momentum > 0: buf = momentum buf + g' / avg;  p -= lr buf
 *   else p -= lr g' / avg */
static void rmsprop_span(oc_optim *o, float *p, const float *g, size_t b, size_t e, float wd, double lr)
{
    const oc_optim_config *c = &o->cfg;
    float *sq = o->state[0];
    float *buf = c->momentum > 0 ? o->state[1] : NULL;
    float *ga = c->centered ? o->state[c->momentum > 0 ? 2 : 1] : NULL;
    float alpha = (float)c->alpha, one_m_alpha = (float)(1.0 - c->alpha);
    float eps = (float)c->eps, mom = (float)c->momentum, neg_lr = (float)-lr;
    for (size_t i = b; i < e; i++) {
        float gi = wd != 0 ? g[i] + wd * p[i] : g[i];
        sq[i] = sq[i] * alpha + one_m_alpha * gi * gi;
        float avg;
        if (ga) {
            ga[i] = ga[i] * alpha + one_m_alpha * gi;
            avg = sqrtf(sq[i] + -1.0f * ga[i] * ga[i]);
        } else {
            avg = sqrtf(sq[i]);
        }
        avg = avg + eps;
        if (buf) {
            buf[i] = buf[i] * mom + gi / avg;
            p[i] = p[i] + neg_lr * buf[i];
        } else {
            p[i] = p[i] + neg_lr * gi / avg;
        }
    }
}

/* Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as in
 * torch.optim.Adam / AdamW:
 *   AdamW: p *= 1 - lr wd  (decoupled);  Adam: g' = g + wd p  (L2)
 *   m = beta1 m + (1 - beta1) g';  v = beta2 v + (1 - beta2) g'^2
 *   amsgrad: vmax = max(vmax, v) and vmax replaces v below
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps) */
static void adam_span(oc_optim *o, float *p, const float *g, size_t b, size_t e, float wd, double lr)
{
    const oc_optim_config *c = &o->cfg;
    float *m = o->state[0], *v = o->state[1], *vmax = c->amsgrad ? o->state[2] : NULL;
    double t = (double)o->t;
    double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    float neg_step = (float)-(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float beta1 = (float)c->beta1, beta2 = (float)c->beta2;
    float one_m_beta1 = (float)(1.0 - c->beta1), one_m_beta2 = (float)(1.0 - c->beta2);
    float eps = (float)c->eps;
    int decoupled = c->kind == OC_OPTIM_ADAMW;
    float shrink = (float)(1.0 - lr * (wd != 0 ? c->weight_decay : 0.0));
    for (size_t i = b; i < e; i++) {
        float gi = g[i];
        if (decoupled) {
            if (wd != 0)
                p[i] = p[i] * shrink;
        } else if (wd != 0) {
            gi = gi + wd * p[i];
        }
        m[i] = m[i] * beta1 + one_m_beta1 * gi;
        v[i] = v[i] * beta2 + one_m_beta2 * gi * gi;
        float vi = v[i];
        if (vmax) {
            if (vi > vmax[i] || isnan(vi))
                vmax[i] = vi;
            vi = vmax[i];
        }
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = p[i] + neg_step * m[i] / denom;
    }
}

typedef void (*span_fn)(oc_optim *o, float *p, const float *g, size_t b, size_t e, float wd, double lr);

static const span_fn span_fns[OC_OPTIM_KIND_COUNT] = {sgd_span, adagrad_span, rmsprop_span, adam_span, adam_span};

/* A span's update on o->threads threads: every rule is elementwise, so
 * cutting [b, e) into pieces of SPAN_PIECE floats changes no bits; spans
 * under SPAN_PAR_MIN floats run on the caller. */
#define SPAN_PIECE 4096
#define SPAN_PAR_MIN ((size_t)1 << 16)
typedef struct span_job {
    oc_optim *o;
    span_fn fn;
    float *p;
    const float *g;
    size_t b, e;
    float wd;
    double lr;
} span_job;

static void span_task(void *ctx, int64_t i0, int64_t i1, int tid)
{
    const span_job *j = ctx;
    (void)tid;
    size_t b = j->b + (size_t)i0 * SPAN_PIECE, e = j->b + (size_t)i1 * SPAN_PIECE;
    j->fn(j->o, j->p, j->g, b, e < j->e ? e : j->e, j->wd, j->lr);
}

static void run_span(oc_optim *o, span_fn fn, float *p, const float *g, size_t b, size_t e, float wd, double lr)
{
    if (o->threads <= 1 || e - b < SPAN_PAR_MIN) {
        fn(o, p, g, b, e, wd, lr);
        return;
    }
    span_job j = {o, fn, p, g, b, e, wd, lr};
    oc_parallel_for((int64_t)((e - b + SPAN_PIECE - 1) / SPAN_PIECE), 1, o->threads, span_task, &j);
}

void oc_optim_step(oc_optim *o, float *params, float *grads, double lr)
{
    const oc_optim_config *c = &o->cfg;
    if ((unsigned)c->kind >= OC_OPTIM_KIND_COUNT)
        return;
    o->grad_norm = -1;
    if (c->max_grad_norm > 0)
        o->grad_norm = oc_clip_grad_norm(grads, o->n, c->max_grad_norm, c->norm_type);
    /* Adam's and Adagrad's formulas use the 1-based count of this step; SGD
     * tests t == 0 for its first step, so it counts after the update. */
    if (c->kind != OC_OPTIM_SGD)
        o->t++;
    span_fn fn = span_fns[c->kind];
    float wd = (float)c->weight_decay;
    size_t pos = 0;
    for (int r = 0; r < o->n_no_decay; r++) {
        const oc_optim_range *nd = &o->no_decay[r];
        if (nd->offset > pos)
            run_span(o, fn, params, grads, pos, nd->offset, wd, lr);
        run_span(o, fn, params, grads, nd->offset, nd->offset + nd->count, 0.0f, lr);
        pos = nd->offset + nd->count;
    }
    if (pos < o->n)
        run_span(o, fn, params, grads, pos, o->n, wd, lr);
    if (c->kind == OC_OPTIM_SGD)
        o->t++;
}
