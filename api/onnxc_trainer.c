/* onnxc_trainer.c: the training part of the public API (onnxc.h), a thin
 * layer over the training library (compiler/trainer.h), the same object
 * `onnxc train` and `onnxc finetune` use.
 *
 * A trainer starts from the model's file as loaded (not from the plan
 * inference compiled, whose graph passes folded BatchNorm and fused
 * layers). Options name the trainable set by parameter name; they become
 * the per-value flags the library takes. Evaluation over any number of
 * samples pads the last batch and counts only real samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../compiler/trainer.h"
#include "api_internal.h"

#define MAX_TRAINABLE_NAMES 4096

struct onnxc_train_options {
    int64_t batch; /* 0: as the model declares it */
    oc_optim_config optim;
    double lr;
    int freeze_all;
    int n_names;
    char *name[MAX_TRAINABLE_NAMES];
    unsigned char on[MAX_TRAINABLE_NAMES];
};

struct onnxc_trainer {
    oc_diag d;          /* the library trainer reports here (it keeps the pointer) */
    oc_trainer *t;
    int64_t batch, sample, classes;
    float *x;           /* one padded evaluation batch */
};

onnxc_status onnxc_train_options_new(onnxc_train_options **out)
{
    if (!out)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_new: out is NULL");
    onnxc_train_options *o = calloc(1, sizeof *o);
    if (!(*out = o))
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_train_options_new: out of memory");
    oc_optim_config_default(&o->optim, OC_OPTIM_SGD);
    o->lr = 0.01;
    return ONNXC_OK;
}

void onnxc_train_options_free(onnxc_train_options *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n_names; i++)
        free(o->name[i]);
    free(o);
}

onnxc_status onnxc_train_options_set_batch(onnxc_train_options *o, int64_t batch)
{
    if (!o || batch < 1)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_batch: %s",
                            o ? "the batch must be at least 1" : "options are NULL");
    o->batch = batch;
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_set_optimizer(onnxc_train_options *o, const char *name)
{
    oc_optim_kind k;
    if (!o || !name || oc_optim_kind_parse(name, &k))
        return oc_api_error(ONNXC_ERR_ARGUMENT,
                            "onnxc_train_options_set_optimizer: '%s' is not sgd, adagrad, rmsprop, adam or adamw",
                            name ? name : "(null)");
    oc_optim_config_default(&o->optim, k);
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_set_lr(onnxc_train_options *o, double lr)
{
    if (!o || !(lr > 0) || !isfinite(lr))
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_lr: the learning rate must be positive");
    o->lr = lr;
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_set_momentum(onnxc_train_options *o, double momentum)
{
    if (!o || !(momentum >= 0 && momentum < 1))
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_momentum: momentum must be in [0, 1)");
    if (o->optim.kind != OC_OPTIM_SGD && o->optim.kind != OC_OPTIM_RMSPROP)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_momentum: %s has no momentum",
                            oc_optim_kind_name(o->optim.kind));
    o->optim.momentum = momentum;
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_set_weight_decay(onnxc_train_options *o, double weight_decay)
{
    if (!o || !(weight_decay >= 0) || !isfinite(weight_decay))
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_weight_decay: must be >= 0");
    o->optim.weight_decay = weight_decay;
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_set_loss(onnxc_train_options *o, const char *name)
{
    if (!o || !name || strcmp(name, "softmax_cross_entropy"))
        return oc_api_error(ONNXC_ERR_ARGUMENT,
                            "onnxc_train_options_set_loss: '%s': the available loss is softmax_cross_entropy",
                            name ? name : "(null)");
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_freeze_all(onnxc_train_options *o)
{
    if (!o)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_freeze_all: options are NULL");
    for (int i = 0; i < o->n_names; i++)
        free(o->name[i]);
    o->n_names = 0;
    o->freeze_all = 1;
    return ONNXC_OK;
}

onnxc_status onnxc_train_options_set_trainable(onnxc_train_options *o, const char *param, int trainable)
{
    if (!o || !param)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_trainable: %s is NULL",
                            o ? "param" : "options");
    for (int i = 0; i < o->n_names; i++)
        if (!strcmp(o->name[i], param)) {
            o->on[i] = trainable != 0;
            return ONNXC_OK;
        }
    if (o->n_names == MAX_TRAINABLE_NAMES)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_train_options_set_trainable: at most %d names",
                            MAX_TRAINABLE_NAMES);
    if (!(o->name[o->n_names] = oc_strdup(param)))
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_train_options_set_trainable: out of memory");
    o->on[o->n_names++] = trainable != 0;
    return ONNXC_OK;
}

void onnxc_trainer_free(onnxc_trainer *t)
{
    if (!t)
        return;
    oc_trainer_free(t->t);
    free(t->x);
    free(t);
}

onnxc_status onnxc_trainer_new(const onnxc_model *m, const onnxc_train_options *o, onnxc_trainer **out)
{
    if (!m || !out)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_new: %s is NULL", m ? "out" : "the model");
    *out = NULL;
    onnxc_train_options dflt;
    if (!o) {
        memset(&dflt, 0, sizeof dflt);
        oc_optim_config_default(&dflt.optim, OC_OPTIM_SGD);
        dflt.lr = 0.01;
        o = &dflt;
    }
    onnxc_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_trainer_new: out of memory");
    oc_diag_init(&t->d);
    onnxc_status st = ONNXC_ERR_MODEL;
    unsigned char *flags = NULL;
    oc_graph *g = oc_api_model_graph(m, &t->d);
    if (!g)
        goto fail;
    if (!(flags = calloc((size_t)g->n_values + 1, 1))) {
        st = oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_trainer_new: out of memory");
        goto fail_msg;
    }
    int n_on = 0;
    for (int v = 0; v < g->n_values; v++)
        if ((g->values[v].flags & OC_VALUE_INITIALIZER) && g->values[v].dtype == OC_FLOAT)
            flags[v] = !o->freeze_all;
    for (int i = 0; i < o->n_names; i++) {
        int v = oc_graph_find(g, o->name[i]);
        if (v < 0 || !(g->values[v].flags & OC_VALUE_INITIALIZER) || g->values[v].dtype != OC_FLOAT) {
            st = oc_api_error(ONNXC_ERR_ARGUMENT, "%s: '%s' is not a float parameter of the model (see "
                                                  "onnxc_model_param_info)", g->source && *g->source ? g->source : "model",
                              o->name[i]);
            goto fail_msg;
        }
        flags[v] = o->on[i];
    }
    for (int v = 0; v < g->n_values; v++)
        n_on += flags[v];
    if (!n_on) {
        st = oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_new: no parameter is trainable");
        goto fail_msg;
    }
    const oc_value *in = g->n_inputs == 1 ? &g->values[g->inputs[0]] : NULL;
    t->sample = 1;
    for (int i = 1; in && i < in->rank; i++) {
        if (in->dims[i] < 1) {
            st = oc_api_error(ONNXC_ERR_MODEL, "onnxc_trainer_new: input '%s' dim %d is unknown; bind it with "
                                               "onnxc_options_set_dim when loading", in->name, i);
            goto fail_msg;
        }
        t->sample *= in->dims[i];
    }
    oc_train_config tc;
    oc_train_config_default(&tc);
    tc.batch = o->batch;
    tc.trainable = flags;
    tc.optim = o->optim;
    oc_schedule_default(&tc.schedule, OC_LR_CONSTANT, o->lr);
    if (!(t->t = oc_trainer_new(g, &tc, &t->d)))
        goto fail;
    t->batch = oc_trainer_batch(t->t);
    if (!(t->x = calloc((size_t)(t->batch * t->sample), sizeof(float)))) {
        st = oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_trainer_new: out of memory");
        goto fail_msg;
    }
    free(flags);
    oc_graph_free(g);
    *out = t;
    return ONNXC_OK;
fail:
    st = oc_api_diag_error(st, &t->d);
fail_msg:
    free(flags);
    oc_graph_free(g);
    onnxc_trainer_free(t);
    return st;
}

int64_t onnxc_trainer_batch(const onnxc_trainer *t)
{
    return t ? t->batch : 0;
}

int64_t onnxc_trainer_sample_size(const onnxc_trainer *t)
{
    return t ? t->sample : 0;
}

int onnxc_trainer_trainable_count(const onnxc_trainer *t)
{
    return t ? oc_trainer_param_tensors(t->t) : 0;
}

int64_t onnxc_trainer_steps(const onnxc_trainer *t)
{
    return t ? oc_trainer_steps(t->t) : 0;
}

onnxc_status onnxc_trainer_step(onnxc_trainer *t, const float *x, const int64_t *y, double *loss)
{
    if (!t || !x || !y)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_step: %s is NULL", !t ? "the trainer" : !x ? "x" : "y");
    oc_diag_init(&t->d);
    double l;
    if (oc_trainer_step(t->t, x, y, &l))
        return oc_api_diag_error(ONNXC_ERR_RUN, &t->d);
    if (loss)
        *loss = l;
    return ONNXC_OK;
}

onnxc_status onnxc_trainer_predict(onnxc_trainer *t, const float *x, onnxc_tensor *logits)
{
    if (!t || !x || !logits)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_predict: %s is NULL",
                            !t ? "the trainer" : !x ? "x" : "logits");
    oc_diag_init(&t->d);
    const oc_tensor *r = oc_trainer_predict(t->t, x);
    if (!r)
        return oc_api_diag_error(ONNXC_ERR_RUN, &t->d);
    memset(logits, 0, sizeof *logits);
    logits->dtype = r->dtype;
    logits->rank = r->rank;
    memcpy(logits->dims, r->dims, sizeof(int64_t) * (size_t)r->rank);
    logits->data = r->data;
    logits->bytes = oc_tensor_nbytes(r);
    return ONNXC_OK;
}

onnxc_status onnxc_trainer_evaluate(onnxc_trainer *t, const float *x, const int64_t *y, int64_t n, double *loss,
                                    double *accuracy)
{
    if (!t || !x || !y || n < 1)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_evaluate: %s",
                            !t ? "the trainer is NULL" : n < 1 ? "no samples" : "x or y is NULL");
    double sum = 0;
    int64_t right = 0;
    for (int64_t s = 0; s < n; s += t->batch) {
        int64_t real = n - s < t->batch ? n - s : t->batch;
        memset(t->x, 0, sizeof(float) * (size_t)(t->batch * t->sample));
        memcpy(t->x, x + s * t->sample, sizeof(float) * (size_t)(real * t->sample));
        onnxc_tensor lg;
        onnxc_status st = onnxc_trainer_predict(t, t->x, &lg);
        if (st)
            return st;
        int64_t classes = lg.dims[1];
        const float *z = lg.data;
        for (int64_t b = 0; b < real; b++) {
            const float *row = z + b * classes;
            int64_t label = y[s + b], best = 0;
            if (label < 0 || label >= classes)
                return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_evaluate: label %lld of sample %lld is "
                                                        "outside 0..%lld", (long long)label, (long long)(s + b),
                                    (long long)classes - 1);
            double mx = row[0], se = 0;
            for (int64_t c = 1; c < classes; c++) {
                if (row[c] > row[best])
                    best = c;
                if (row[c] > mx)
                    mx = row[c];
            }
            for (int64_t c = 0; c < classes; c++)
                se += exp((double)row[c] - mx);
            sum += mx + log(se) - row[label]; /* -log softmax(row)[label] */
            right += best == label;
        }
    }
    if (loss)
        *loss = sum / (double)n;
    if (accuracy)
        *accuracy = (double)right / (double)n;
    return ONNXC_OK;
}

onnxc_status onnxc_trainer_export(onnxc_trainer *t, const char *path)
{
    if (!t || !path)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_export: %s is NULL", t ? "path" : "the trainer");
    oc_diag_init(&t->d);
    return oc_trainer_export(t->t, path) ? oc_api_diag_error(ONNXC_ERR_IO, &t->d) : ONNXC_OK;
}

onnxc_status onnxc_trainer_save_checkpoint(onnxc_trainer *t, const char *path)
{
    if (!t || !path)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_save_checkpoint: %s is NULL",
                            t ? "path" : "the trainer");
    oc_diag_init(&t->d);
    return oc_trainer_save_checkpoint(t->t, path, NULL, 0) ? oc_api_diag_error(ONNXC_ERR_IO, &t->d) : ONNXC_OK;
}

onnxc_status onnxc_trainer_load_checkpoint(onnxc_trainer *t, const char *path)
{
    if (!t || !path)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_trainer_load_checkpoint: %s is NULL",
                            t ? "path" : "the trainer");
    oc_diag_init(&t->d);
    void *user = NULL;
    size_t len = 0;
    int rc = oc_trainer_load_checkpoint(t->t, path, &user, &len);
    free(user);
    /* a file that cannot be read is IO; one that is damaged or belongs to another model is STATE */
    if (rc)
        return oc_api_diag_error(strstr(t->d.msg, "cannot open") ? ONNXC_ERR_IO : ONNXC_ERR_STATE, &t->d);
    return ONNXC_OK;
}
