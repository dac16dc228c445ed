/* trainer.c: the oc_trainer object (trainer.h).
 *
 * Two plans: the training plan (train.h's graph; parameters and gradients
 * in the plan's contiguous blocks) and an evaluation plan of an untouched
 * copy of the model (constants kept mutable). What changes during training
 * (the parameters and the running statistics of training BNs) is tracked
 * by value id in the training graph and resolved once, at creation, to
 * tensors of both plans and to values of the evaluation graph; before an
 * evaluation or an export the current values are copied over. Checkpoints
 * are one binary file (layout below) written atomically. */
#include "trainer.h"

#include "passes/pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/io.h"
#include "../runtime/threads.h"
#include "onnx_export.h"
#include "planner.h"
#include "shape.h"

struct oc_trainer {
    oc_diag *d;
    oc_train_config cfg;
    oc_graph *eval_g;      /* the model, parameters updated on export */
    oc_train_graph tg;     /* the training graph and what it tracks */
    oc_plan *p, *pe;       /* training and evaluation plans */
    oc_optim opt;
    int64_t step, batch;
    int t_loss, t_logits;  /* tensors of p */
    int *pe_param, *eg_param; /* per parameter: tensor of pe, value of eval_g (-1: none) */
    int *t_stat_out, *t_stat, *pe_stat, *eg_stat; /* per running statistic */
    int eval_stale;        /* pe lags behind p */
    int dyn_batch;         /* the model's batch dim was dynamic: exports keep it so */
    int extra_output;      /* the logits were made an output of eval_g (hidden on export) */
    int pe_logits;         /* tensor of pe */
    float *xe;             /* evaluation batch */
    int64_t *ye;
};

void oc_train_config_default(oc_train_config *c)
{
    memset(c, 0, sizeof *c);
    oc_optim_config_default(&c->optim, OC_OPTIM_SGD);
    oc_schedule_default(&c->schedule, OC_LR_CONSTANT, 0.01);
    c->bn = OC_BN_AUTO;
}


static int plan_tensor(const oc_plan *p, const char *name)
{
    for (int t = 0; t < p->n_tensors; t++)
        if (p->names[t] && !strcmp(p->names[t], name))
            return t;
    return -1;
}

/* Values shape inference folded from parameters are stale once the
 * parameters change: mark the parameters variable and drop those. */
static void unfold_params(oc_graph *g, const unsigned char *param)
{
    unsigned char *dep = calloc((size_t)g->n_values + 1, 1);
    if (!dep)
        return;
    for (int v = 0; v < g->n_values; v++)
        if (param[v]) {
            dep[v] = 1;
            g->values[v].flags |= OC_VALUE_VARIABLE;
        }
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        int any = 0;
        for (int k = 0; k < n->n_in; k++)
            any |= n->in[k] >= 0 && dep[n->in[k]];
        for (int k = 0; any && k < n->n_out; k++)
            if (n->out[k] >= 0) {
                dep[n->out[k]] = 1;
                if (g->values[n->out[k]].constant) {
                    oc_tensor_free(g->values[n->out[k]].constant);
                    g->values[n->out[k]].constant = NULL;
                }
            }
    }
    free(dep);
}

void oc_trainer_free(oc_trainer *t)
{
    if (!t)
        return;
    oc_graph_free(t->eval_g);
    oc_train_graph_free(&t->tg);
    oc_plan_free(t->p);
    oc_plan_free(t->pe);
    oc_optim_free(&t->opt);
    free(t->pe_param);
    free(t->eg_param);
    free(t->t_stat_out);
    free(t->t_stat);
    free(t->pe_stat);
    free(t->eg_stat);
    free(t->xe);
    free(t->ye);
    free(t);
}

oc_trainer *oc_trainer_new(const oc_graph *g, const oc_train_config *c, oc_diag *d)
{
    oc_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    t->d = d;
    t->cfg = *c;
    t->cfg.trainable = NULL; /* not kept: it belongs to the caller */
    if (g->n_inputs != 1 || g->n_outputs < 1) {
        oc_fail(d, "%s: training needs a model with one input and the logits as its first output (it has %d inputs, "
                   "%d outputs)", g->name, g->n_inputs, g->n_outputs);
        goto fail;
    }
    if (!(t->eval_g = oc_graph_clone(g, d)))
        goto fail;
    oc_value *in = &t->eval_g->values[t->eval_g->inputs[0]];
    if (in->rank < 1) {
        oc_fail(d, "%s: input '%s' has no known rank", g->name, in->name);
        goto fail;
    }
    t->dyn_batch = in->dims[0] < 0;
    if (in->dims[0] < 0) {
        if (c->batch < 1) {
            oc_fail(d, "%s: input '%s' has a dynamic batch dimension; give a batch size", g->name, in->name);
            goto fail;
        }
        in->dims[0] = c->batch;
        if (oc_graph_infer_shapes(t->eval_g, d))
            goto fail;
    } else if (c->batch > 0 && c->batch != in->dims[0]) {
        oc_fail(d, "%s: input '%s' has batch %lld fixed; cannot train with batch %lld", g->name, in->name,
                (long long)in->dims[0], (long long)c->batch);
        goto fail;
    }
    t->batch = in->dims[0];
    int lv = c->logits ? oc_graph_find(t->eval_g, c->logits) : t->eval_g->outputs[0];
    if (lv < 0) {
        oc_fail(d, "%s: no value named '%s' for the logits", g->name, c->logits);
        goto fail;
    }
    if (lv != t->eval_g->outputs[0]) { /* evaluation reads it too: an output of the eval graph */
        int is_out = 0;
        for (int k = 0; k < t->eval_g->n_outputs; k++)
            is_out |= t->eval_g->outputs[k] == lv;
        if (!is_out) {
            if (oc_graph_mark_output(t->eval_g, lv, d))
                goto fail;
            t->extra_output = 1;
        }
    }
    const oc_value *lg = &t->eval_g->values[lv];
    if (lg->rank != 2 || lg->dims[0] != t->batch || lg->dims[1] < 2) {
        oc_fail(d, "%s: the first output '%s' must be logits [batch, classes >= 2]", g->name, lg->name);
        goto fail;
    }

    /* the training graph, from a second copy; the trainable flags follow names */
    oc_graph *gt = oc_graph_clone(t->eval_g, d);
    if (!gt)
        goto fail;
    unsigned char *flags = NULL;
    if (c->trainable) {
        if (!(flags = calloc((size_t)gt->n_values + 1, 1))) {
            oc_graph_free(gt);
            oc_fail(d, "out of memory");
            goto fail;
        }
        for (int v = 0; v < g->n_values; v++)
            if (c->trainable[v]) {
                int u = oc_graph_find(gt, g->values[v].name);
                if (u >= 0)
                    flags[u] = 1;
            }
    }
    oc_loss_spec ls = {0};
    ls.prediction = c->logits;
    ls.label_dtype = OC_INT64;
    ls.label_rank = 1;
    ls.label_dims[0] = t->batch;
    if (c->label_smoothing > 0) { /* torch.nn.CrossEntropyLoss(label_smoothing=...) */
        ls.op = "CrossEntropyLoss";
        ls.domain = OC_DOMAIN_ONNXC;
        ls.n_fattrs = 1;
        ls.fattr_name[0] = "label_smoothing";
        ls.fattr[0] = (float)c->label_smoothing;
    }
    int rc = oc_train_graph_build(gt, &ls, flags, c->bn, 1, &t->tg, d);
    free(flags);
    if (rc)
        goto fail;

    /* The graph passes run on the training graph too: a frozen part (no
     * gradient reads its intermediate values, its parameters are not
     * variable) folds its BatchNorms and fuses like an inference graph,
     * while every pass leaves values that a gradient node or an update
     * reads more than once, and variable parameters, alone. */
    int views = 0;
    if (!c->no_fuse) {
        oc_pass_opts popts;
        oc_pass_opts_default(&popts);
        oc_pass_report rep = {0};
        rc = oc_passes_run(t->tg.g, &popts, &rep, d);
        views = rep.views;
        oc_pass_report_free(&rep);
        if (rc)
            goto fail;
    }
    int threads = c->threads > 0 ? c->threads : oc_get_threads();
    oc_plan_opts po = {.threads = threads, .n_train = t->tg.n_params, .train_params = t->tg.params,
                       .train_grads = t->tg.grads, .views = views, .mutable_constants = c->weights_block};
    if (!(t->p = oc_plan_build(t->tg.g, &po, d)))
        goto fail;
    if (c->sync_bn && c->coll.allreduce)
        t->p->coll = c->coll;
    /* the evaluation plan: the model with what training changes marked variable */
    unsigned char *var = calloc((size_t)t->eval_g->n_values + 1, 1);
    int np = t->tg.n_params, ns = t->tg.n_stats;
    t->pe_param = malloc(sizeof(int) * (size_t)(np + 1));
    t->eg_param = malloc(sizeof(int) * (size_t)(np + 1));
    t->t_stat_out = malloc(sizeof(int) * (size_t)(ns + 1));
    t->t_stat = malloc(sizeof(int) * (size_t)(ns + 1));
    t->pe_stat = malloc(sizeof(int) * (size_t)(ns + 1));
    t->eg_stat = malloc(sizeof(int) * (size_t)(ns + 1));
    int64_t in_numel = 1;
    for (int k = 0; k < in->rank; k++)
        in_numel *= in->dims[k] > 0 ? in->dims[k] : 1;
    t->xe = malloc(sizeof(float) * (size_t)in_numel);
    t->ye = malloc(sizeof(int64_t) * (size_t)t->batch);
    if (!var || !t->pe_param || !t->eg_param || !t->t_stat_out || !t->t_stat || !t->pe_stat || !t->eg_stat || !t->xe ||
        !t->ye) {
        free(var);
        oc_fail(d, "out of memory");
        goto fail;
    }
    const oc_graph *gt2 = t->tg.g;
    for (int k = 0; k < np; k++) {
        t->eg_param[k] = oc_graph_find(t->eval_g, gt2->values[t->tg.params[k]].name);
        if (t->eg_param[k] >= 0)
            var[t->eg_param[k]] = 1;
    }
    for (int k = 0; k < ns; k++) {
        const char *sn = gt2->values[t->tg.stat_state[k]].name;
        t->t_stat_out[k] = plan_tensor(t->p, gt2->values[t->tg.stat_out[k]].name);
        t->t_stat[k] = plan_tensor(t->p, sn);
        t->eg_stat[k] = oc_graph_find(t->eval_g, sn);
        if (t->t_stat_out[k] < 0 || t->t_stat[k] < 0 || !t->p->tensors[t->t_stat[k]].data) {
            free(var);
            oc_fail(d, "%s: running statistic '%s' is not in the training plan", g->name, sn);
            goto fail;
        }
    }
    unfold_params(t->eval_g, var);
    free(var);
    oc_plan_opts pe_o = {.threads = threads, .mutable_constants = 1};
    if (!(t->pe = oc_plan_build(t->eval_g, &pe_o, d)))
        goto fail;
    for (int k = 0; k < np; k++)
        t->pe_param[k] = plan_tensor(t->pe, gt2->values[t->tg.params[k]].name);
    for (int k = 0; k < ns; k++)
        t->pe_stat[k] = plan_tensor(t->pe, gt2->values[t->tg.stat_state[k]].name);
    t->pe_logits = plan_tensor(t->pe, t->eval_g->values[lv].name);
    t->t_loss = plan_tensor(t->p, gt2->values[t->tg.loss].name);
    t->t_logits = plan_tensor(t->p, gt2->values[t->tg.prediction].name);
    if (t->t_loss < 0 || t->t_logits < 0 || t->pe_logits < 0) {
        oc_fail(d, "%s: the loss or the logits are missing from the training plan", g->name);
        goto fail;
    }
    if (oc_optim_init(&t->opt, &c->optim, t->p->train_floats, d) || oc_schedule_check(&c->schedule, d))
        goto fail;
    t->opt.threads = t->p->threads; /* the update runs on the plan's threads */
    return t;
fail:
    oc_trainer_free(t);
    return NULL;
}

oc_plan *oc_trainer_plan(oc_trainer *t) { return t->p; }

void oc_trainer_get_layout(const oc_trainer *t, oc_trainer_layout *l)
{
    l->plan = t->p;
    l->t_loss = t->t_loss;
    l->t_logits = t->t_logits;
    l->t_samples = t->p->inputs[0];
    l->t_labels = t->p->inputs[1];
    l->n_stats = t->tg.n_stats;
    l->stat_out = t->t_stat_out;
    l->stat = t->t_stat;
    l->optim = &t->cfg.optim;
}

int64_t oc_trainer_batch(const oc_trainer *t) { return t->batch; }
int64_t oc_trainer_steps(const oc_trainer *t) { return t->step; }
size_t oc_trainer_param_floats(const oc_trainer *t) { return t->p->train_floats; }
int oc_trainer_param_tensors(const oc_trainer *t) { return t->tg.n_params; }
int oc_trainer_bn_training(const oc_trainer *t) { return t->tg.n_bn_train; }
float *oc_trainer_param(oc_trainer *t, const char *name, int64_t *numel)
{
    for (int k = 0; k < t->tg.n_params; k++)
        if (!strcmp(t->tg.g->values[t->tg.params[k]].name, name)) {
            *numel = t->p->train_numel[k];
            return t->p->params + t->p->train_offset[k];
        }
    return NULL;
}

const oc_tensor *oc_trainer_logits(const oc_trainer *t) { return &t->p->tensors[t->t_logits]; }

static int first_nonfinite(const oc_plan *p, char *buf, size_t cap)
{
    for (int s = 0; s < p->n_steps; s++)
        for (int k = 0; k < p->steps[s].n_out; k++) {
            int t = p->steps[s].out[k];
            if (t < 0 || p->tensors[t].dtype != OC_FLOAT)
                continue;
            const float *v = p->tensors[t].data;
            for (int64_t i = 0; i < p->tensors[t].numel; i++)
                if (!isfinite(v[i])) {
                    snprintf(buf, cap, "'%s' (output of node '%s', %s) at element %lld", p->names[t], p->steps[s].name,
                             p->steps[s].op, (long long)i);
                    return 1;
                }
        }
    return 0;
}

int oc_trainer_step(oc_trainer *t, const float *x, const int64_t *y, double *loss)
{
    oc_plan *p = t->p;
    oc_tensor xt = p->tensors[p->inputs[0]], yt = p->tensors[p->inputs[1]];
    xt.data = (void *)x;
    yt.data = (void *)y;
    if (oc_plan_set_input(p, 0, &xt, t->d) || oc_plan_set_input(p, 1, &yt, t->d) || oc_plan_run(p, t->d))
        return -1;
    double l = *(const float *)p->tensors[t->t_loss].data;
    if (loss)
        *loss = l;
    if (!isfinite(l)) {
        char where[512] = "no tensor (the loss itself)";
        first_nonfinite(p, where, sizeof where);
        return oc_fail(t->d, "step %lld: the loss is %g; first non-finite tensor: %s", (long long)t->step + 1, l,
                       where);
    }
    if (t->cfg.grad_hook && t->cfg.grad_hook(t->cfg.hook_ctx, p->grads, p->train_floats))
        return oc_fail(t->d, "step %lld: the gradient hook failed", (long long)t->step + 1);
    oc_optim_step(&t->opt, p->params, p->grads, oc_lr_at(&t->cfg.schedule, t->step));
    for (int k = 0; k < t->tg.n_stats; k++)
        memcpy(p->tensors[t->t_stat[k]].data, p->tensors[t->t_stat_out[k]].data,
               oc_tensor_nbytes(&p->tensors[t->t_stat_out[k]]));
    t->step++;
    t->eval_stale = 1;
    return 0;
}

/* Current parameters and running statistics into the evaluation plan. */
static int sync_eval(oc_trainer *t)
{
    if (!t->eval_stale)
        return 0;
    const oc_plan *p = t->p;
    for (int k = 0; k < t->tg.n_params; k++) {
        int u = t->pe_param[k];
        if (u >= 0 && t->pe->tensors[u].data)
            memcpy(t->pe->tensors[u].data, p->params + p->train_offset[k], sizeof(float) * (size_t)p->train_numel[k]);
    }
    for (int k = 0; k < t->tg.n_stats; k++) {
        int u = t->pe_stat[k];
        if (u >= 0 && t->pe->tensors[u].data)
            memcpy(t->pe->tensors[u].data, p->tensors[t->t_stat[k]].data, oc_tensor_nbytes(&p->tensors[t->t_stat[k]]));
    }
    if (oc_plan_prepare(t->pe, t->d)) /* packed weights follow the new values */
        return -1;
    t->eval_stale = 0;
    return 0;
}

const oc_tensor *oc_trainer_predict(oc_trainer *t, const float *x)
{
    oc_tensor xt = t->pe->tensors[t->pe->inputs[0]];
    xt.data = (void *)x;
    if (sync_eval(t) || oc_plan_set_input(t->pe, 0, &xt, t->d) || oc_plan_run(t->pe, t->d))
        return NULL;
    return &t->pe->tensors[t->pe_logits];
}

int oc_trainer_average_stats(oc_trainer *t)
{
    if (t->cfg.ranks < 2 || !t->cfg.coll.allreduce || t->cfg.sync_bn)
        return 0;
    for (int k = 0; k < t->tg.n_stats; k++) {
        oc_tensor *st = &t->p->tensors[t->t_stat[k]];
        float *v = st->data;
        double buf[256];
        for (int64_t o = 0; o < st->numel; o += 256) {
            int64_t m = st->numel - o < 256 ? st->numel - o : 256;
            for (int64_t i = 0; i < m; i++)
                buf[i] = v[o + i];
            if (t->cfg.coll.allreduce(t->cfg.coll.ctx, buf, (size_t)m))
                return oc_fail(t->d, "running statistic '%s': the allreduce over %d ranks failed", t->p->names[t->t_stat[k]],
                               t->cfg.ranks);
            for (int64_t i = 0; i < m; i++)
                v[o + i] = (float)(buf[i] / t->cfg.ranks);
        }
    }
    t->eval_stale = 1;
    return 0;
}

uint64_t oc_trainer_state_checksum(const oc_trainer *t, int stats)
{
    uint64_t h = oc_fnv1a(OC_FNV_INIT, t->p->params, sizeof(float) * t->p->train_floats);
    for (int k = 0; stats && k < t->tg.n_stats; k++)
        h = oc_fnv1a(h, t->p->tensors[t->t_stat[k]].data, oc_tensor_nbytes(&t->p->tensors[t->t_stat[k]]));
    return h;
}

int oc_trainer_evaluate(oc_trainer *t, const oc_data_source *src, double *loss, double *top1, double *top5)
{
    if (oc_trainer_average_stats(t))
        return -1;
    if (src->sample_size * t->batch != t->pe->tensors[t->pe->inputs[0]].numel)
        return oc_fail(t->d, "%s: samples of %lld values; the model takes %lld", src->name, (long long)src->sample_size,
                       (long long)(t->pe->tensors[t->pe->inputs[0]].numel / t->batch));
    int64_t *order = malloc(sizeof(int64_t) * (size_t)(src->n + 1));
    if (!order)
        return oc_fail(t->d, "out of memory");
    for (int64_t i = 0; i < src->n; i++)
        order[i] = i;
    double lsum = 0;
    int64_t c1 = 0, c5 = 0;
    int ranks = t->cfg.ranks > 1 && t->cfg.coll.allreduce ? t->cfg.ranks : 1;
    for (int64_t s = 0; s < src->n; s += t->batch) {
        const oc_tensor *lg;
        if (ranks > 1 && (s / t->batch) % ranks != t->cfg.rank)
            continue; /* another rank's batch */
        if (oc_data_source_gather(src, order, s, t->batch, 0, 0, 0, t->xe, t->ye, t->d) ||
            !(lg = oc_trainer_predict(t, t->xe))) {
            free(order);
            return -1;
        }
        int64_t c = lg->dims[1];
        const float *z = lg->data;
        for (int64_t b = 0; b < t->batch && s + b < src->n; b++) {
            const float *r = z + b * c;
            int64_t arg = 0, yb = t->ye[b], above = 0;
            double se = 0;
            for (int64_t k = 1; k < c; k++)
                if (r[k] > r[arg])
                    arg = k;
            double mx = r[arg];
            for (int64_t k = 0; k < c; k++) {
                se += exp(r[k] - mx);
                above += r[k] > r[yb];
            }
            lsum += log(se) + mx - r[yb];
            c1 += arg == yb;
            c5 += above < 5;
        }
    }
    free(order);
    if (ranks > 1) {
        double sums[3] = {lsum, (double)c1, (double)c5};
        if (t->cfg.coll.allreduce(t->cfg.coll.ctx, sums, 3))
            return oc_fail(t->d, "%s: evaluation: the allreduce of the results over %d ranks failed", src->name, ranks);
        lsum = sums[0];
        c1 = (int64_t)sums[1];
        c5 = (int64_t)sums[2];
    }
    double n = src->n > 0 ? (double)src->n : 1;
    if (loss)
        *loss = lsum / n;
    if (top1)
        *top1 = (double)c1 / n;
    if (top5)
        *top5 = (double)c5 / n;
    return 0;
}

int oc_trainer_export(oc_trainer *t, const char *path)
{
    const oc_plan *p = t->p;
    oc_graph *g = t->eval_g;
    for (int k = 0; k < t->tg.n_params; k++) {
        int v = t->eg_param[k];
        if (v >= 0 && g->values[v].constant && g->values[v].constant->numel == p->train_numel[k])
            memcpy(g->values[v].constant->data, p->params + p->train_offset[k],
                   sizeof(float) * (size_t)p->train_numel[k]);
    }
    for (int k = 0; k < t->tg.n_stats; k++) {
        int v = t->eg_stat[k];
        const oc_tensor *s = &p->tensors[t->t_stat[k]];
        if (v >= 0 && g->values[v].constant && g->values[v].constant->numel == s->numel)
            memcpy(g->values[v].constant->data, s->data, oc_tensor_nbytes(s));
    }
    if (t->dyn_batch && g->values[g->inputs[0]].dims[0] >= 0) {
        /* back to a dynamic batch: shapes computed for the fixed one are forgotten
         * (the plans are built; the graph only serves exports from now on) */
        g->values[g->inputs[0]].dims[0] = -1;
        for (int v = 0; v < g->n_values; v++)
            if (g->values[v].producer >= 0) {
                oc_tensor_free(g->values[v].constant);
                g->values[v].constant = NULL;
                g->values[v].rank = -1;
            }
        if (oc_graph_infer_shapes(g, t->d))
            return -1;
    }
    g->n_outputs -= t->extra_output; /* the logits were appended last */
    int rc = oc_onnx_save(g, path, t->d);
    g->n_outputs += t->extra_output;
    return rc;
}

/* ---- checkpoints ----
 * Layout (little-endian, as the host writes it):
 *   char magic[8] "OCCKPT\r\n"; u32 version; u32 optimizer kind;
 *   u64 model hash (FNV-1a of parameter and statistic names and shapes);
 *   u64 parameter floats; u64 statistic floats; u32 optimizer state
 *   buffers; u32 0; i64 optimizer step count; i64 schedule step;
 *   u64 blob bytes; then the parameter block, the statistics, the
 *   optimizer state buffers, the caller blob; u64 FNV-1a of all the
 *   preceding bytes. */
#define CKPT_MAGIC "OCCKPT\r\n"
#define CKPT_VERSION 1u

typedef struct ckpt_head {
    char magic[8];
    uint32_t version, kind;
    uint64_t hash, n_param, n_stat;
    uint32_t n_state, zero;
    int64_t opt_t, step;
    uint64_t user_len;
} ckpt_head;

static uint64_t model_hash(const oc_trainer *t, size_t *n_stat)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const oc_graph *g = t->tg.g;
    *n_stat = 0;
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? t->tg.n_stats : t->tg.n_params;
        for (int k = 0; k < n; k++) {
            const oc_value *v = &g->values[pass ? t->tg.stat_state[k] : t->tg.params[k]];
            h = oc_fnv1a(h, v->name, strlen(v->name) + 1);
            h = oc_fnv1a(h, &v->rank, sizeof v->rank);
            h = oc_fnv1a(h, v->dims, sizeof(int64_t) * (size_t)(v->rank > 0 ? v->rank : 0));
            if (pass)
                *n_stat += (size_t)t->p->tensors[t->t_stat[k]].numel;
        }
    }
    return h;
}

int oc_trainer_save_checkpoint(oc_trainer *t, const char *path, const void *user, size_t user_len)
{
    ckpt_head h;
    memset(&h, 0, sizeof h);
    size_t n_stat;
    memcpy(h.magic, CKPT_MAGIC, 8);
    h.version = CKPT_VERSION;
    h.kind = (uint32_t)t->opt.cfg.kind;
    h.hash = model_hash(t, &n_stat);
    h.n_param = t->p->train_floats;
    h.n_stat = n_stat;
    h.n_state = (uint32_t)t->opt.n_state;
    h.opt_t = t->opt.t;
    h.step = t->step;
    h.user_len = user_len;
    size_t len = sizeof h + sizeof(float) * (h.n_param * (1 + h.n_state) + n_stat) + user_len + 8;
    unsigned char *buf = malloc(len), *o = buf;
    if (!buf)
        return oc_fail(t->d, "%s: out of memory for the checkpoint (%zu bytes)", path, len);
    memcpy(o, &h, sizeof h);
    o += sizeof h;
    memcpy(o, t->p->params, sizeof(float) * h.n_param);
    o += sizeof(float) * h.n_param;
    for (int k = 0; k < t->tg.n_stats; k++) {
        const oc_tensor *s = &t->p->tensors[t->t_stat[k]];
        memcpy(o, s->data, oc_tensor_nbytes(s));
        o += oc_tensor_nbytes(s);
    }
    for (int k = 0; k < t->opt.n_state; k++) {
        memcpy(o, t->opt.state[k], sizeof(float) * h.n_param);
        o += sizeof(float) * h.n_param;
    }
    if (user_len)
        memcpy(o, user, user_len);
    o += user_len;
    uint64_t sum = oc_fnv1a(OC_FNV_INIT, buf, (size_t)(o - buf));
    memcpy(o, &sum, 8);
    int rc = oc_write_file_atomic(path, buf, len, t->d);
    free(buf);
    return rc;
}

int oc_trainer_load_checkpoint(oc_trainer *t, const char *path, void **user, size_t *user_len)
{
    unsigned char *buf = NULL;
    size_t len = 0, n_stat;
    *user = NULL;
    *user_len = 0;
    uint64_t hash = model_hash(t, &n_stat);
    size_t fixed = sizeof(ckpt_head) + sizeof(float) * (t->p->train_floats * (1 + (size_t)t->opt.n_state) + n_stat) + 8;
    if (oc_read_file(path, &buf, &len, fixed + ((size_t)1 << 32), t->d))
        return -1;
    ckpt_head h;
    int rc = -1;
    if (len < sizeof h + 8 || memcmp(buf, CKPT_MAGIC, 8)) {
        oc_fail(t->d, "%s: not an onnxc checkpoint (bad magic or too short)", path);
        goto out;
    }
    memcpy(&h, buf, sizeof h);
    if (h.version != CKPT_VERSION) {
        oc_fail(t->d, "%s: checkpoint version %u; this onnxc reads version %u", path, h.version, CKPT_VERSION);
        goto out;
    }
    /* the size the header announces (each count bounded by the file first) */
    if (h.n_param > len / 4 || h.n_stat > len / 4 || h.n_state > OC_OPTIM_MAX_STATE || h.user_len > len) {
        oc_fail(t->d, "%s: the checkpoint header is corrupt", path);
        goto out;
    }
    size_t want = sizeof h + sizeof(float) * (size_t)(h.n_param * (1 + h.n_state) + h.n_stat) + (size_t)h.user_len + 8;
    if (len != want) {
        oc_fail(t->d, "%s: the checkpoint is %zu bytes; its header announces %zu: %s", path, len, want,
                len < want ? "truncated" : "corrupt (trailing bytes)");
        goto out;
    }
    uint64_t sum;
    memcpy(&sum, buf + len - 8, 8);
    if (sum != oc_fnv1a(OC_FNV_INIT, buf, len - 8)) {
        oc_fail(t->d, "%s: checksum mismatch: the checkpoint is corrupt", path);
        goto out;
    }
    if (h.hash != hash || h.n_param != t->p->train_floats || h.n_stat != n_stat) {
        oc_fail(t->d, "%s: the checkpoint belongs to another model (its parameter names or shapes differ)", path);
        goto out;
    }
    if (h.kind != (uint32_t)t->opt.cfg.kind || h.n_state != (uint32_t)t->opt.n_state) {
        oc_fail(t->d, "%s: the checkpoint was written with optimizer %s; this run uses %s", path,
                oc_optim_kind_name((oc_optim_kind)h.kind), oc_optim_kind_name(t->opt.cfg.kind));
        goto out;
    }
    const unsigned char *s = buf + sizeof h;
    memcpy(t->p->params, s, sizeof(float) * h.n_param);
    s += sizeof(float) * h.n_param;
    for (int k = 0; k < t->tg.n_stats; k++) {
        oc_tensor *st = &t->p->tensors[t->t_stat[k]];
        memcpy(st->data, s, oc_tensor_nbytes(st));
        s += oc_tensor_nbytes(st);
    }
    for (int k = 0; k < t->opt.n_state; k++) {
        memcpy(t->opt.state[k], s, sizeof(float) * h.n_param);
        s += sizeof(float) * h.n_param;
    }
    t->opt.t = h.opt_t;
    t->step = h.step;
    t->eval_stale = 1;
    if (h.user_len) {
        if (!(*user = malloc(h.user_len))) {
            oc_fail(t->d, "out of memory");
            goto out;
        }
        memcpy(*user, s, h.user_len);
        *user_len = h.user_len;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}
