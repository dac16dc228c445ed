/* cmd_train.c: `onnxc train --model NAME --data PATH [options]`
 * Trains one of onnxc's own networks (models/) from scratch: the model
 * graph gets a SoftmaxCrossEntropyLoss, autodiff appends the backward
 * pass, the planner lays parameters and gradients out in two contiguous
 * blocks, and each step runs the plan and then the optimizer over those
 * blocks. Prints a progress line (batches/s, ETA, running loss), per-epoch
 * train/validation loss and accuracy, keeps atomic checkpoints, stops early
 * when validation accuracy stalls, writes the learning curve as SVG and
 * the trained model as ONNX. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../compiler/autodiff.h"
#include "../compiler/onnx_export.h"
#include "../compiler/planner.h"
#include "../compiler/shape.h"
#include "../models/models.h"
#include "../runtime/data.h"
#include "../runtime/io.h"
#include "../runtime/optim.h"
#include "../runtime/schedule.h"
#include "../runtime/threads.h"
#include "cli.h"

typedef struct train_args {
    const char *model, *data, *out, *checkpoint, *plot, *optim, *schedule, *split;
    int64_t epochs, batch, train_size, val_size, seed, patience, threads, warmup, nesterov;
    double lr, momentum, weight_decay, val_frac, clip;
} train_args;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Builds the model for this data set: batch fixed, input shaped like the samples. */
static oc_graph *build_model(const train_args *a, const oc_dataset *ds, int64_t batch, oc_diag *d)
{
    oc_model_opts o;
    oc_model_opts_default(a->model, &o);
    o.batch = batch;
    o.seed = (uint64_t)a->seed;
    o.classes = ds->classes;
    if (!strcmp(a->model, "mlp")) {
        o.in_features = ds->sample_size;
    } else {
        if (ds->rank != 3) {
            oc_fail(d, "model '%s' needs image samples [C, H, W]; the data has rank-%d samples", a->model, ds->rank);
            return NULL;
        }
        o.channels = ds->dims[0];
        o.height = ds->dims[1];
        o.width = ds->dims[2];
    }
    oc_graph *g = oc_model_build(a->model, &o, d);
    if (g && oc_graph_infer_shapes(g, d)) {
        oc_graph_free(g);
        return NULL;
    }
    return g;
}

typedef struct history {
    int n;
    double train_loss[1000], train_acc[1000], val_loss[1000], val_acc[1000];
} history;

static int write_svg(const char *path, const history *h, oc_diag *d)
{
    char *buf = malloc(65536);
    if (!buf)
        return oc_fail(d, "out of memory");
    int w = 640, ht = 360, m = 50;
    double maxl = 1e-9;
    for (int i = 0; i < h->n; i++)
        maxl = fmax(maxl, fmax(h->train_loss[i], h->val_loss[i]));
    size_t o = 0;
    o += (size_t)snprintf(buf + o, 65536 - o,
                          "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
                          "font-size='12'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
                          "<text x='%d' y='20'>onnxc train: loss (left axis, 0-%.3g) and accuracy (right axis, 0-1) per epoch</text>\n"
                          "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/><line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n",
                          w, ht, m, maxl, m, ht - m, w - m, ht - m, m, m, m, ht - m);
    const char *names[4] = {"train loss", "val loss", "train acc", "val acc"};
    const char *colors[4] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
    for (int s = 0; s < 4; s++) {
        const double *v = s == 0 ? h->train_loss : s == 1 ? h->val_loss : s == 2 ? h->train_acc : h->val_acc;
        double scale = s < 2 ? maxl : 1.0;
        o += (size_t)snprintf(buf + o, 65536 - o, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colors[s]);
        for (int i = 0; i < h->n && o < 60000; i++) {
            double x = m + (h->n > 1 ? (double)i / (h->n - 1) : 0.5) * (w - 2 * m);
            double y = (ht - m) - (v[i] / scale) * (ht - 2 * m);
            o += (size_t)snprintf(buf + o, 65536 - o, "%.1f,%.1f ", x, y);
        }
        o += (size_t)snprintf(buf + o, 65536 - o, "'/>\n<text x='%d' y='%d' fill='%s'>%s</text>\n", w - m - 80,
                              m + 15 * s, colors[s], names[s]);
    }
    o += (size_t)snprintf(buf + o, 65536 - o, "<text x='%d' y='%d'>epoch 1..%d</text>\n</svg>\n", w / 2 - 30, ht - 15, h->n);
    int rc = oc_write_file_atomic(path, buf, o, d);
    free(buf);
    return rc;
}

/* Copies the trained parameters (by name) into graph g's initializers. */
static void params_to_graph(const oc_plan *p, oc_graph *g)
{
    for (int t = 0; t < p->n_tensors; t++) {
        if ((p->kind[t] != OC_T_PARAM && p->kind[t] != OC_T_CONST) || !p->tensors[t].data)
            continue; /* (a constant only kept in packed form is unchanged) */
        int v = oc_graph_find(g, p->names[t]);
        if (v >= 0 && g->values[v].constant && g->values[v].constant->numel == p->tensors[t].numel)
            memcpy(g->values[v].constant->data, p->tensors[t].data, oc_tensor_nbytes(&p->tensors[t]));
    }
}

/* Same for an evaluation plan built from the model alone (params are consts
 * there); BatchNorm running statistics (consts in both) come along. */
static void params_to_plan(const oc_plan *train, oc_plan *eval)
{
    for (int t = 0; t < train->n_tensors; t++) {
        if ((train->kind[t] != OC_T_PARAM && train->kind[t] != OC_T_CONST) || !train->tensors[t].data)
            continue;
        for (int u = 0; u < eval->n_tensors; u++)
            if (eval->kind[u] == OC_T_CONST && !strcmp(eval->names[u], train->names[t]) &&
                eval->tensors[u].numel == train->tensors[t].numel) {
                memcpy(eval->tensors[u].data, train->tensors[t].data, oc_tensor_nbytes(&train->tensors[t]));
                break;
            }
    }
}

/* Loss and accuracy of the eval plan over a data set (the last partial
 * batch wraps around and only its real samples count). */
static int evaluate(oc_plan *p, const oc_dataset *ds, int64_t batch, float *x, int64_t *y, double *loss, double *acc,
                    oc_diag *d)
{
    int64_t *order = malloc(sizeof(int64_t) * (size_t)ds->n);
    if (!order)
        return oc_fail(d, "out of memory");
    for (int64_t i = 0; i < ds->n; i++)
        order[i] = i;
    double lsum = 0;
    int64_t correct = 0;
    const oc_tensor *logits = &p->tensors[p->outputs[0]];
    int64_t c = logits->dims[1];
    for (int64_t s = 0; s < ds->n; s += batch) {
        oc_dataset_gather(ds, order, s, batch, x, y);
        if (oc_plan_run(p, d)) {
            free(order);
            return -1;
        }
        const float *z = logits->data;
        for (int64_t b = 0; b < batch && s + b < ds->n; b++) {
            const float *r = z + b * c;
            int64_t arg = 0;
            double mx = r[0], se = 0;
            for (int64_t k = 1; k < c; k++)
                if (r[k] > r[arg])
                    arg = k;
            mx = r[arg];
            for (int64_t k = 0; k < c; k++)
                se += exp(r[k] - mx);
            lsum += log(se) + mx - r[y[b]];
            correct += arg == y[b];
        }
    }
    free(order);
    *loss = lsum / (double)ds->n;
    *acc = (double)correct / (double)ds->n;
    return 0;
}

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

static void usage(void)
{
    printf("usage: onnxc train --model NAME --data PATH [--epochs N] [--batch N] [--lr X]\n"
           "                   [--optim sgd|adagrad|rmsprop|adam|adamw] [--momentum X] [--nesterov 1] [--weight-decay X]\n"
           "                   [--clip MAX_GRAD_NORM] [--schedule constant|step|exponential|cosine] [--warmup STEPS]\n"
           "                   [--train-size N] [--val-size N] [--val-frac X] [--split random|ordered]\n"
           "                   [--patience N] [--seed S] [--threads N] [--checkpoint DIR] [--plot FILE.svg] [-o OUT.onnx]\n"
           "PATH: a folder of IDX files (MNIST layout) or the UCI digits .csv[.gz]. Models: %s\n",
           oc_model_names());
}

int oc_cmd_train(int argc, char **argv)
{
    train_args a = {0};
    a.epochs = 5;
    a.batch = 32;
    a.lr = 0.01;
    a.momentum = 0.9;
    a.seed = 1;
    a.patience = 3;
    a.val_frac = 0.2;
    a.optim = "sgd";
    a.schedule = "constant";
    a.split = "random";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            usage();
            return 0;
        }
        if (!(v = cli_value("train", argc, argv, &i)))
            return 2;
        int64_t *iv = !strcmp(f, "--epochs") ? &a.epochs : !strcmp(f, "--batch") ? &a.batch
                    : !strcmp(f, "--train-size") ? &a.train_size : !strcmp(f, "--val-size") ? &a.val_size
                    : !strcmp(f, "--seed") ? &a.seed : !strcmp(f, "--patience") ? &a.patience
                    : !strcmp(f, "--threads") ? &a.threads : !strcmp(f, "--warmup") ? &a.warmup
                    : !strcmp(f, "--nesterov") ? &a.nesterov : NULL;
        double *dv = !strcmp(f, "--lr") ? &a.lr : !strcmp(f, "--momentum") ? &a.momentum
                   : !strcmp(f, "--weight-decay") ? &a.weight_decay : !strcmp(f, "--val-frac") ? &a.val_frac
                   : !strcmp(f, "--clip") ? &a.clip : NULL;
        const char **sv = !strcmp(f, "--model") ? &a.model : !strcmp(f, "--data") ? &a.data : !strcmp(f, "-o") ? &a.out
                        : !strcmp(f, "--checkpoint") ? &a.checkpoint : !strcmp(f, "--plot") ? &a.plot
                        : !strcmp(f, "--optim") ? &a.optim : !strcmp(f, "--schedule") ? &a.schedule
                        : !strcmp(f, "--split") ? &a.split : NULL;
        if (iv) {
            if (cli_int(f, v, 0, (int64_t)1 << 40, iv))
                return 2;
        } else if (dv) {
            char *end;
            *dv = strtod(v, &end);
            if (*end || end == v || !isfinite(*dv) || *dv < 0) {
                fprintf(stderr, "onnxc train: %s expects a non-negative number, got '%s'\n", f, v);
                return 2;
            }
        } else if (sv) {
            *sv = v;
        } else {
            fprintf(stderr, "onnxc train: unknown option '%s' (see onnxc train --help)\n", f);
            return 2;
        }
    }
    if (!a.model || !a.data) {
        fprintf(stderr, "onnxc train: needs --model NAME and --data PATH\n");
        return 2;
    }
    if (a.batch < 1 || a.epochs < 1 || a.epochs > 1000 || a.val_frac >= 1) {
        fprintf(stderr, "onnxc train: --batch and --epochs (<= 1000) must be >= 1 and --val-frac < 1\n");
        return 2;
    }
    oc_optim_config oc;
    oc_optim_kind kind;
    if (oc_optim_kind_parse(a.optim, &kind)) {
        fprintf(stderr, "onnxc train: --optim must be sgd, adagrad, rmsprop, adam or adamw, got '%s'\n", a.optim);
        return 2;
    }
    oc_optim_config_default(&oc, kind);
    if (kind == OC_OPTIM_SGD || kind == OC_OPTIM_RMSPROP)
        oc.momentum = a.momentum;
    oc.nesterov = a.nesterov != 0;
    oc.weight_decay = a.weight_decay;
    oc.max_grad_norm = a.clip;
    oc_lr_kind lk;
    if (oc_lr_kind_parse(a.schedule, &lk)) {
        fprintf(stderr, "onnxc train: --schedule must be constant, step, multistep, exponential, cosine or polynomial, got '%s'\n",
                a.schedule);
        return 2;
    }
    oc_set_threads((int)a.threads);

    oc_diag d;
    oc_diag_init(&d);
    oc_dataset all = {0}, tr = {0}, va = {0};
    oc_graph *g = NULL, *ge = NULL;
    oc_plan *p = NULL, *pe = NULL;
    int *params = NULL, *grads = NULL, n_params = 0, rc = 1;
    float *x = NULL;
    int64_t *y = NULL, *order = NULL;
    oc_optim opt = {0};
    history *h = calloc(1, sizeof *h);
    if (!h)
        return 1;

    /* data: a folder with train and test files uses them; otherwise one file is split */
    if (oc_dataset_open(a.data, "train", &all, &d))
        goto fail;
    oc_dataset test = {0};
    struct stat st;
    int has_test = stat(a.data, &st) == 0 && S_ISDIR(st.st_mode) && oc_dataset_open(a.data, "test", &test, &d) == 0 &&
                   strcmp(test.name, all.name) != 0;
    oc_diag_init(&d);
    if (has_test) {
        int64_t nt = a.train_size ? (a.train_size < all.n ? a.train_size : all.n) : all.n;
        int64_t nv = a.val_size ? (a.val_size < test.n ? a.val_size : test.n) : test.n;
        if (oc_dataset_slice(&all, 0, nt, &tr, &d) || oc_dataset_slice(&test, 0, nv, &va, &d))
            goto fail;
        oc_dataset_free(&test);
    } else {
        oc_dataset_free(&test);
        int64_t nv = a.val_size ? a.val_size : (int64_t)((double)all.n * a.val_frac);
        int64_t nt = a.train_size ? a.train_size : all.n - nv;
        if (nv < 1 || nt < 1 || nt + nv > all.n) {
            oc_fail(&d, "%s has %lld samples; cannot take %lld for training and %lld for validation", a.data,
                    (long long)all.n, (long long)nt, (long long)nv);
            goto fail;
        }
        /* a seeded random split (a file's order often follows writers or
         * classes); --split ordered takes training from the start of the
         * file and validation from its end */
        if (strcmp(a.split, "ordered")) {
            int64_t *perm = malloc(sizeof(int64_t) * (size_t)all.n);
            float *xs = malloc(sizeof(float) * (size_t)(all.n * all.sample_size));
            int64_t *ys = malloc(sizeof(int64_t) * (size_t)all.n);
            if (!perm || !xs || !ys) {
                free(perm);
                free(xs);
                free(ys);
                oc_fail(&d, "out of memory");
                goto fail;
            }
            for (int64_t i = 0; i < all.n; i++)
                perm[i] = i;
            uint64_t st2 = (uint64_t)a.seed ^ 0x5eed5eedull;
            oc_shuffle(perm, all.n, &st2);
            oc_dataset_gather(&all, perm, 0, all.n, xs, ys);
            free(all.x);
            free(all.y);
            free(perm);
            all.x = xs;
            all.y = ys;
        }
        if (oc_dataset_slice(&all, 0, nt, &tr, &d) || oc_dataset_slice(&all, all.n - nv, nv, &va, &d))
            goto fail;
    }
    /* normalize with the training set's statistics */
    double mean = 0, var = 0;
    for (int64_t i = 0; i < tr.n * tr.sample_size; i++)
        mean += tr.x[i];
    mean /= (double)(tr.n * tr.sample_size);
    for (int64_t i = 0; i < tr.n * tr.sample_size; i++)
        var += (tr.x[i] - mean) * (tr.x[i] - mean);
    double sd = sqrt(var / (double)(tr.n * tr.sample_size));
    if (sd < 1e-6)
        sd = 1;
    oc_dataset_normalize(&tr, (float)mean, (float)sd);
    oc_dataset_normalize(&va, (float)mean, (float)sd);
    if (tr.classes < 2) {
        oc_fail(&d, "%s: the training labels hold a single class", a.data);
        goto fail;
    }
    tr.classes = va.classes = tr.classes > va.classes ? tr.classes : va.classes;
    printf("data: %s: %lld training and %lld validation samples, %lld classes, sample %lldx%lld%s\n", a.data,
           (long long)tr.n, (long long)va.n, (long long)tr.classes, (long long)tr.dims[0],
           (long long)(tr.rank > 1 ? tr.dims[1] * (tr.rank > 2 ? tr.dims[2] : 1) : 1),
           has_test ? " (test files as validation)" : strcmp(a.split, "ordered") ? " (seeded random split)" : " (file order split)");

    /* training graph: model + loss + backward */
    if (!(g = build_model(&a, &tr, a.batch, &d)) || !(ge = build_model(&a, &tr, a.batch, &d)))
        goto fail;
    int64_t ldims[1] = {a.batch};
    if (oc_graph_add_input(g, "onnxc_labels", OC_INT64, 1, ldims, NULL, &d) < 0)
        goto fail;
    const char *lin[2] = {g->values[g->outputs[0]].name, "onnxc_labels"}, *lout[1] = {"onnxc_loss"};
    if (oc_graph_add_node(g, "SoftmaxCrossEntropyLoss", "onnxc_loss", 2, lin, 1, lout, &d) < 0 ||
        oc_graph_infer_shapes(g, &d))
        goto fail;
    int loss_id = oc_graph_find(g, "onnxc_loss");
    if (oc_graph_mark_output(g, loss_id, &d))
        goto fail;
    if (!(params = oc_trainable_params(g, &n_params, &d)))
        goto fail;
    if (n_params == 0) {
        oc_fail(&d, "model '%s' has no trainable parameters", a.model);
        goto fail;
    }
    if (!(grads = malloc(sizeof(int) * (size_t)n_params)))
        goto fail;
    oc_autodiff_opts ao = {1}; /* BatchNormalization trains on batch statistics */
    if (oc_autodiff(g, loss_id, n_params, params, &ao, grads, &d))
        goto fail;
    oc_plan_opts po = {.threads = oc_get_threads(), .n_train = n_params, .train_params = params, .train_grads = grads};
    oc_plan_opts pe_o = {.threads = oc_get_threads(), .mutable_constants = 1};
    if (!(p = oc_plan_build(g, &po, &d)) || !(pe = oc_plan_build(ge, &pe_o, &d)))
        goto fail;
    if (oc_optim_init(&opt, &oc, p->train_floats, &d))
        goto fail;
    /* schedules count optimizer steps; step decay every epoch, cosine over the run */
    int64_t spe = tr.n / a.batch > 0 ? tr.n / a.batch : 1;
    oc_schedule sched;
    oc_schedule_default(&sched, lk, a.lr);
    sched.step_size = spe;
    sched.t_max = spe * a.epochs;
    sched.warmup_steps = a.warmup;
    if (oc_schedule_check(&sched, &d))
        goto fail;
    x = malloc(sizeof(float) * (size_t)(a.batch * tr.sample_size));
    y = malloc(sizeof(int64_t) * (size_t)a.batch);
    order = malloc(sizeof(int64_t) * (size_t)tr.n);
    if (!x || !y || !order) {
        oc_fail(&d, "out of memory");
        goto fail;
    }
    oc_tensor xt = p->tensors[p->inputs[0]], yt = p->tensors[p->inputs[1]];
    xt.data = x;
    yt.data = y;
    if (oc_plan_set_input(p, 0, &xt, &d) || oc_plan_set_input(p, 1, &yt, &d) || oc_plan_set_input(pe, 0, &xt, &d))
        goto fail;
    printf("model: %s, %d parameter tensors (%zu floats), batch %lld, %s lr %g (%s schedule), %lld epochs, seed %lld, %d threads\n",
           a.model, n_params, p->train_floats, (long long)a.batch, a.optim, a.lr, a.schedule, (long long)a.epochs,
           (long long)a.seed, oc_get_threads());
    if (a.checkpoint && mkdir(a.checkpoint, 0777) != 0 && stat(a.checkpoint, &st) != 0) {
        oc_fail(&d, "%s: cannot create the checkpoint folder", a.checkpoint);
        goto fail;
    }
    for (int64_t i = 0; i < tr.n; i++)
        order[i] = i;
    uint64_t rng = (uint64_t)a.seed;
    int64_t steps_per_epoch = tr.n / a.batch, step = 0, stale = 0;
    if (steps_per_epoch < 1) {
        oc_fail(&d, "batch %lld is larger than the %lld training samples", (long long)a.batch, (long long)tr.n);
        goto fail;
    }
    double best = -1, t_start = now_s(), t_train = 0;
    int tty = isatty(2); /* the progress line is for terminals; logs get per-epoch lines */
    /* BatchNorm in training mode outputs updated running statistics as
     * "updated_<name>"; after each step they replace <name> */
    int n_carry = 0;
    struct { oc_tensor *from, *to; } carry[512];
    for (int k = 0; k < p->n_outputs && n_carry < 512; k++) {
        const char *nm = p->names[p->outputs[k]];
        if (strncmp(nm, "updated_", 8))
            continue;
        for (int t = 0; t < p->n_tensors; t++)
            if (p->kind[t] == OC_T_CONST && !strcmp(p->names[t], nm + 8) &&
                p->tensors[t].numel == p->tensors[p->outputs[k]].numel) {
                carry[n_carry].from = &p->tensors[p->outputs[k]];
                carry[n_carry++].to = &p->tensors[t];
            }
    }
    const float *loss_ptr = NULL;
    for (int k = 0; k < p->n_outputs; k++)
        if (!strcmp(p->names[p->outputs[k]], "onnxc_loss"))
            loss_ptr = p->tensors[p->outputs[k]].data;
    for (int64_t ep = 0; ep < a.epochs; ep++) {
        oc_shuffle(order, tr.n, &rng);
        double run_loss = 0, t0 = now_s();
        int64_t correct = 0;
        const oc_tensor *logits = &p->tensors[p->outputs[0]]; /* the model's output comes first */
        for (int64_t s = 0; s < steps_per_epoch; s++, step++) {
            oc_dataset_gather(&tr, order, s * a.batch, a.batch, x, y);
            if (oc_plan_run(p, &d))
                goto fail;
            double l = *loss_ptr;
            if (!isfinite(l)) {
                char where[512] = "no tensor (the loss itself)";
                first_nonfinite(p, where, sizeof where);
                oc_fail(&d, "epoch %lld step %lld: the loss is %g; first non-finite tensor: %s%s", (long long)ep + 1,
                        (long long)step + 1, l, where, a.checkpoint ? " (the last good checkpoint is kept)" : "");
                goto fail;
            }
            const float *z = logits->data;
            int64_t c = logits->dims[1];
            for (int64_t b = 0; b < a.batch; b++) {
                int64_t arg = 0;
                for (int64_t k = 1; k < c; k++)
                    if (z[b * c + k] > z[b * c + arg])
                        arg = k;
                correct += arg == y[b];
            }
            oc_optim_step(&opt, p->params, p->grads, oc_lr_at(&sched, step));
            for (int k = 0; k < n_carry; k++)
                memcpy(carry[k].to->data, carry[k].from->data, oc_tensor_nbytes(carry[k].from));
            run_loss += l;
            double el = now_s() - t0;
            if (tty && ((s + 1) % 20 == 0 || s + 1 == steps_per_epoch)) {
                double rate = (s + 1) / el;
                fprintf(stderr, "\repoch %lld/%lld [%5.1f%%] %lld/%lld batches, %.1f batches/s, ETA %.0fs, loss %.4f   ",
                        (long long)ep + 1, (long long)a.epochs, 100.0 * (s + 1) / steps_per_epoch, (long long)s + 1,
                        (long long)steps_per_epoch, rate, (steps_per_epoch - s - 1) / rate, run_loss / (s + 1));
            }
        }
        double ep_time = now_s() - t0;
        t_train += ep_time;
        if (tty)
            fprintf(stderr, "\n");
        params_to_plan(p, pe);
        if (oc_plan_prepare(pe, &d)) /* packed weights follow the new values */
            goto fail;
        double vl = 0, vacc = 0;
        if (evaluate(pe, &va, a.batch, x, y, &vl, &vacc, &d))
            goto fail;
        int i = h->n < 1000 ? h->n++ : 999;
        h->train_loss[i] = run_loss / steps_per_epoch;
        h->train_acc[i] = (double)correct / (double)(steps_per_epoch * a.batch);
        h->val_loss[i] = vl;
        h->val_acc[i] = vacc;
        printf("epoch %lld: train loss %.4f acc %.4f | val loss %.4f acc %.4f | %.1fs, %.0f images/s\n", (long long)ep + 1,
               h->train_loss[i], h->train_acc[i], vl, vacc, ep_time, (double)(steps_per_epoch * a.batch) / ep_time);
        fflush(stdout);
        if (a.checkpoint) {
            char path[4096];
            params_to_graph(p, ge);
            snprintf(path, sizeof path, "%s/last.onnx", a.checkpoint);
            if (oc_onnx_save(ge, path, &d))
                goto fail;
            if (vacc > best) {
                snprintf(path, sizeof path, "%s/best.onnx", a.checkpoint);
                if (oc_onnx_save(ge, path, &d))
                    goto fail;
            }
        }
        if (vacc > best) {
            best = vacc;
            stale = 0;
        } else if (a.patience > 0 && ++stale >= a.patience) {
            printf("early stop: validation accuracy has not improved for %lld epochs\n", (long long)stale);
            break;
        }
    }
    printf("done: best val acc %.4f; training %.1fs (%.0f images/s), total %.1fs\n", best, t_train,
           (double)(step * a.batch) / t_train, now_s() - t_start);
    if (a.plot && write_svg(a.plot, h, &d))
        goto fail;
    if (a.out) {
        params_to_graph(p, ge);
        if (oc_onnx_save(ge, a.out, &d))
            goto fail;
        printf("wrote %s\n", a.out);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc train: error: %s\n", d.msg);
done:
    oc_optim_free(&opt);
    free(h);
    free(x);
    free(y);
    free(order);
    free(params);
    free(grads);
    oc_plan_free(p);
    oc_plan_free(pe);
    oc_graph_free(g);
    oc_graph_free(ge);
    oc_dataset_free(&all);
    oc_dataset_free(&tr);
    oc_dataset_free(&va);
    return rc;
}
