/* cmd_train.c: `onnxc train --model NAME --data PATH [options]`
 * Trains one of onnxc's own networks (models/) from scratch through the
 * training library (compiler/trainer.h: loss, backward pass, optimizer,
 * schedule, BN state). This file owns only the data, the loop and its
 * output: a progress line (batches/s, ETA, running loss), per-epoch
 * train/validation loss and accuracy, early stopping, checkpoints
 * (DIR/last.ckpt with the loop state, so --resume DIR continues exactly;
 * DIR/last.onnx and best.onnx), the learning curve as SVG and the trained
 * model as ONNX. Under `mpirun -np K` (tools/dist.h) each rank takes its
 * slice of every global batch of K x --batch samples (the sample order is
 * one process's with batch K x B), the gradients are averaged over the
 * ranks before each update, and rank 0 alone prints and writes files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../compiler/shape.h"
#include "../compiler/trainer.h"
#include "../models/models.h"
#include "../runtime/data.h"
#include "../runtime/io.h"
#include "../runtime/data_source.h"
#include "../runtime/optim.h"
#include "../runtime/schedule.h"
#include "../runtime/threads.h"
#include "cli.h"
#include "dist.h"
#include "plot.h"

typedef struct train_args {
    const char *model, *data, *out, *checkpoint, *resume, *plot, *optim, *schedule, *split;
    int64_t epochs, batch, train_size, val_size, seed, patience, threads, warmup, nesterov, ckpt_every, stop_after;
    int64_t sync_bn;
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

/* The loop's state, the caller blob of a checkpoint (compiler/trainer.h):
 * with it and the trainer's state a resumed run continues exactly. */
typedef struct train_state {
    int64_t epoch, step_in_epoch; /* where the next step is */
    int64_t stale, stopped, correct, n_order;
    int64_t ranks;                /* data-parallel ranks of the run (1 alone) */
    uint64_t rng;                 /* the shuffling RNG */
    double best, run_loss;
    history h;
    int64_t order[];              /* the current epoch's sample order */
} train_state;

/* DIR/NAME (the trainer reports errors into the diag it was created with) */
static int save_state(oc_trainer *t, const char *dir, const char *name, const train_state *s, int64_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return oc_trainer_save_checkpoint(t, path, s, sizeof *s + sizeof(int64_t) * (size_t)n);
}

static int write_svg(const char *path, const history *h, oc_diag *d)
{
    return cli_plot_curves(path, "onnxc train", h->n, h->train_loss, h->val_loss, h->train_acc, h->val_acc, d);
}

/* The running loss and correct count summed over the ranks (all call
 * it): rank 0 holds the totals, the others restart from 0, so sums taken
 * later (the epoch's, or a resumed run's from rank 0's checkpoint) stay
 * totals. Nothing to do alone. */
static int gather_running(train_state *s, int rank, int ranks, oc_diag *d)
{
    if (ranks < 2)
        return 0;
    double b[2] = {s->run_loss, (double)s->correct};
    if (cli_dist_allreduce(NULL, b, 2))
        return oc_fail(d, "the allreduce of the training loss failed");
    s->run_loss = rank == 0 ? b[0] : 0;
    s->correct = rank == 0 ? (int64_t)b[1] : 0;
    return 0;
}

static void usage(void)
{
    printf("usage: onnxc train --model NAME --data PATH [--epochs N] [--batch N] [--lr X]\n"
           "                   [--optim sgd|adagrad|rmsprop|adam|adamw] [--momentum X] [--nesterov 1] [--weight-decay X]\n"
           "                   [--clip MAX_GRAD_NORM] [--schedule constant|step|exponential|cosine] [--warmup STEPS]\n"
           "                   [--train-size N] [--val-size N] [--val-frac X] [--split random|ordered]\n"
           "                   [--patience N] [--seed S] [--threads N] [--checkpoint DIR [--checkpoint-every STEPS]]\n"
           "                   [--resume DIR] [--plot FILE.svg] [-o OUT.onnx] [--sync-bn]\n"
           "PATH: a folder of IDX files (MNIST layout) or the UCI digits .csv[.gz]. Models: %s\n"
           "Data-parallel: mpirun -np K onnxc train ... --batch B trains on global batches of K x B samples (each\n"
           "rank B of them, the gradients averaged); --sync-bn: BatchNorm statistics over the global batch\n"
           "(default: each rank's own, as PyTorch DDP); ONNXC_DIST_CHECK=N checks every N steps that the\n"
           "parameters are identical on all ranks. --resume needs the same K.\n",
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
        if (!strcmp(f, "--sync-bn")) {
            a.sync_bn = 1;
            continue;
        }
        if (!(v = cli_value("train", argc, argv, &i)))
            return 2;
        const cli_flag flags[] = {
            {"--epochs", CLI_INT, &a.epochs},
            {"--batch", CLI_INT, &a.batch},
            {"--train-size", CLI_INT, &a.train_size},
            {"--val-size", CLI_INT, &a.val_size},
            {"--seed", CLI_INT, &a.seed},
            {"--patience", CLI_INT, &a.patience},
            {"--threads", CLI_INT, &a.threads},
            {"--warmup", CLI_INT, &a.warmup},
            {"--nesterov", CLI_INT, &a.nesterov},
            {"--checkpoint-every", CLI_INT, &a.ckpt_every},
            {"--stop-after-steps", CLI_INT, &a.stop_after},
            {"--lr", CLI_NUM, &a.lr},
            {"--momentum", CLI_NUM, &a.momentum},
            {"--weight-decay", CLI_NUM, &a.weight_decay},
            {"--val-frac", CLI_NUM, &a.val_frac},
            {"--clip", CLI_NUM, &a.clip},
            {"--model", CLI_STR, &a.model},
            {"--data", CLI_STR, &a.data},
            {"-o", CLI_STR, &a.out},
            {"--checkpoint", CLI_STR, &a.checkpoint},
            {"--resume", CLI_STR, &a.resume},
            {"--plot", CLI_STR, &a.plot},
            {"--optim", CLI_STR, &a.optim},
            {"--schedule", CLI_STR, &a.schedule},
            {"--split", CLI_STR, &a.split},
            {0},
        };
        int r = cli_set_flag("train", flags, f, v);
        if (r < 0)
            return 2;
        if (r > 0) {
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
    oc_graph *g = NULL;
    oc_trainer *t = NULL;
    oc_data_source vsrc;
    int rc = 1, has_vsrc = 0;
    float *x = NULL;
    int64_t *y = NULL;
    train_state *st8 = NULL;

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

    /* data-parallel: rank r of K takes samples [r B, (r + 1) B) of every
     * global batch of G = K B */
    int ranks = cli_dist_size(), rank = cli_dist_rank();
    int64_t G = a.batch * ranks;
    /* the model and its trainer (compiler/trainer.h) */
    if (!(g = build_model(&a, &tr, a.batch, &d)))
        goto fail;
    oc_train_config tc;
    oc_train_config_default(&tc);
    tc.batch = a.batch;
    tc.optim = oc;
    tc.grad_hook = cli_dist_grad_hook;
    tc.coll.allreduce = cli_dist_allreduce;
    tc.rank = rank;
    tc.ranks = ranks;
    tc.sync_bn = a.sync_bn != 0;
    int64_t spe = tr.n / G > 0 ? tr.n / G : 1;
    /* schedules count optimizer steps; step decay every epoch, cosine over the run */
    oc_schedule_default(&tc.schedule, lk, a.lr);
    tc.schedule.step_size = spe;
    tc.schedule.t_max = spe * a.epochs;
    tc.schedule.warmup_steps = a.warmup;
    if (!(t = oc_trainer_new(g, &tc, &d)))
        goto fail;
    if (oc_data_source_dataset(&vsrc, &va, 0, 0, 0, &d))
        goto fail;
    has_vsrc = 1;
    x = malloc(sizeof(float) * (size_t)(a.batch * tr.sample_size));
    y = malloc(sizeof(int64_t) * (size_t)a.batch);
    st8 = calloc(1, sizeof *st8 + sizeof(int64_t) * (size_t)tr.n);
    if (!x || !y || !st8) {
        oc_fail(&d, "out of memory");
        goto fail;
    }
    int64_t *order = st8->order;
    printf("model: %s, %d parameter tensors (%zu floats), batch %lld, %s lr %g (%s schedule), %lld epochs, seed %lld, %d threads\n",
           a.model, oc_trainer_param_tensors(t), oc_trainer_param_floats(t), (long long)a.batch, a.optim, a.lr,
           a.schedule, (long long)a.epochs, (long long)a.seed, oc_get_threads());
    if (ranks > 1)
        printf("data-parallel: %d ranks over %s, global batch %lld (%lld per rank), BatchNorm statistics %s\n", ranks,
               cli_dist_backend(), (long long)G, (long long)a.batch,
               !oc_trainer_bn_training(t) ? "(none in training mode)" : a.sync_bn ? "synchronized (--sync-bn)" : "per rank");
    if (a.checkpoint && rank == 0 && mkdir(a.checkpoint, 0777) != 0 && stat(a.checkpoint, &st) != 0) {
        oc_fail(&d, "%s: cannot create the checkpoint folder", a.checkpoint);
        goto fail;
    }
    int64_t steps_per_epoch = tr.n / G;
    if (steps_per_epoch < 1) {
        oc_fail(&d, "%s %lld is larger than the %lld training samples", ranks > 1 ? "the global batch" : "batch",
                (long long)G, (long long)tr.n);
        goto fail;
    }
    for (int64_t i = 0; i < tr.n; i++)
        order[i] = i;
    st8->n_order = tr.n;
    st8->ranks = ranks;
    st8->rng = (uint64_t)a.seed;
    st8->best = -1;
    if (a.resume) {
        char path[4096];
        void *blob = NULL;
        size_t blob_len = 0;
        snprintf(path, sizeof path, "%s/last.ckpt", a.resume);
        if (oc_trainer_load_checkpoint(t, path, &blob, &blob_len))
            goto fail;
        if (blob_len != sizeof *st8 + sizeof(int64_t) * (size_t)tr.n || ((train_state *)blob)->n_order != tr.n) {
            free(blob);
            oc_fail(&d, "%s: the checkpoint was written for another data set or split (%zu bytes of loop state)", path,
                    blob_len);
            goto fail;
        }
        if (((train_state *)blob)->ranks != ranks) {
            oc_fail(&d, "%s: the checkpoint was written by a run on %lld rank(s); resume it with the same number "
                        "(mpirun -np %lld), this run has %d", path, (long long)((train_state *)blob)->ranks,
                    (long long)((train_state *)blob)->ranks, ranks);
            free(blob);
            goto fail;
        }
        memcpy(st8, blob, blob_len);
        free(blob);
        printf("resumed from %s: epoch %lld, step %lld of %lld\n", path, (long long)st8->epoch + 1,
               (long long)st8->step_in_epoch, (long long)steps_per_epoch);
    }
    double t_start = now_s(), t_train = 0;
    int64_t done_steps = 0;
    int tty = isatty(2) && rank == 0; /* the progress line is for terminals; logs get per-epoch lines */
    for (int64_t ep = st8->epoch; ep < a.epochs && !st8->stopped; ep++) {
        if (st8->step_in_epoch == 0) {
            oc_shuffle(order, tr.n, &st8->rng);
            st8->run_loss = 0;
            st8->correct = 0;
        }
        double t0 = now_s();
        int64_t s0 = st8->step_in_epoch;
        for (int64_t s = s0; s < steps_per_epoch; s++) {
            oc_dataset_gather(&tr, order, s * G + rank * a.batch, a.batch, x, y);
            double l;
            if (oc_trainer_step(t, x, y, &l)) {
                oc_diag_prefix(&d, "epoch %lld: ", (long long)ep + 1);
                if (a.checkpoint) {
                    size_t ml = strlen(d.msg);
                    snprintf(d.msg + ml, sizeof d.msg - ml, " (the last good checkpoint is kept)");
                }
                goto fail;
            }
            const oc_tensor *logits = oc_trainer_logits(t);
            const float *z = logits->data;
            int64_t c = logits->dims[1];
            for (int64_t b = 0; b < a.batch; b++) {
                int64_t arg = 0;
                for (int64_t k = 1; k < c; k++)
                    if (z[b * c + k] > z[b * c + arg])
                        arg = k;
                st8->correct += arg == y[b];
            }
            st8->run_loss += l / ranks; /* summed over ranks: the global batch's mean loss */
            st8->step_in_epoch = s + 1;
            done_steps++;
            if (cli_dist_check_state(oc_trainer_steps(t), oc_trainer_state_checksum(t, a.sync_bn != 0), &d))
                goto fail;
            /* a checkpoint point: the ranks' running sums and (per-rank BN)
             * statistics are combined there whether or not a folder is
             * given, so a run resumed from one matches an uninterrupted run */
            if (a.ckpt_every && (s + 1) % a.ckpt_every == 0 && s + 1 < steps_per_epoch &&
                (gather_running(st8, rank, ranks, &d) || oc_trainer_average_stats(t) ||
                 (a.checkpoint && rank == 0 && save_state(t, a.checkpoint, "last.ckpt", st8, tr.n))))
                goto fail;
            if (a.stop_after && done_steps >= a.stop_after) {
                printf("stopped after %lld steps (--stop-after-steps)\n", (long long)done_steps);
                rc = 0;
                goto done;
            }
            double el = now_s() - t0;
            if (tty && ((s + 1) % 20 == 0 || s + 1 == steps_per_epoch)) {
                double rate = (s + 1 - s0) / el;
                fprintf(stderr, "\repoch %lld/%lld [%5.1f%%] %lld/%lld batches, %.1f batches/s, ETA %.0fs, loss %.4f   ",
                        (long long)ep + 1, (long long)a.epochs, 100.0 * (s + 1) / steps_per_epoch, (long long)s + 1,
                        (long long)steps_per_epoch, rate, (steps_per_epoch - s - 1) / rate,
                        st8->run_loss / (s + 1));
            }
        }
        double ep_time = now_s() - t0;
        t_train += ep_time;
        if (tty)
            fprintf(stderr, "\n");
        if (gather_running(st8, rank, ranks, &d))
            goto fail;
        double vl = 0, vacc = 0;
        if (oc_trainer_evaluate(t, &vsrc, &vl, &vacc, NULL))
            goto fail;
        history *h = &st8->h;
        int i = h->n < 1000 ? h->n++ : 999;
        h->train_loss[i] = st8->run_loss / steps_per_epoch;
        h->train_acc[i] = (double)st8->correct / (double)(steps_per_epoch * G);
        h->val_loss[i] = vl;
        h->val_acc[i] = vacc;
        printf("epoch %lld: train loss %.4f acc %.4f | val loss %.4f acc %.4f | %.1fs, %.0f images/s\n", (long long)ep + 1,
               h->train_loss[i], h->train_acc[i], vl, vacc, ep_time,
               (double)((steps_per_epoch - s0) * G) / ep_time);
        fflush(stdout);
        int is_best = vacc > st8->best;
        if (is_best) {
            st8->best = vacc;
            st8->stale = 0;
        } else if (a.patience > 0 && ++st8->stale >= a.patience) {
            printf("early stop: validation accuracy has not improved for %lld epochs\n", (long long)st8->stale);
            st8->stopped = 1;
        }
        st8->epoch = ep + 1;
        st8->step_in_epoch = 0;
        if (a.checkpoint && rank == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/last.onnx", a.checkpoint);
            if (oc_trainer_export(t, path) || save_state(t, a.checkpoint, "last.ckpt", st8, tr.n))
                goto fail;
            snprintf(path, sizeof path, "%s/best.onnx", a.checkpoint);
            if (is_best && (oc_trainer_export(t, path) || save_state(t, a.checkpoint, "best.ckpt", st8, tr.n)))
                goto fail;
        }
    }
    printf("done: best val acc %.4f; training %.1fs (%.0f images/s), total %.1fs\n", st8->best, t_train,
           t_train > 0 ? (double)(done_steps * G) / t_train : 0.0, now_s() - t_start);
    if (cli_dist_check_state(-1, oc_trainer_state_checksum(t, 1), &d))
        goto fail;
    if (ranks > 1) {
        double cs, cw;
        int64_t calls;
        cli_dist_grad_stats(&cs, &cw, &calls);
        double per = calls ? 1e3 / (double)calls : 0.0;
        printf("data-parallel: gradient allreduce (%zu floats) %.3f ms per step (%.1f%% of the training time), "
               "waiting for the slowest rank before it %.3f ms per step, over %lld steps; step %.3f ms\n",
               oc_trainer_param_floats(t), cs * per, t_train > 0 ? 100.0 * cs / t_train : 0.0, cw * per,
               (long long)calls, calls ? 1e3 * t_train / (double)calls : 0.0);
    }
    rc = 0;
    if (rank > 0)
        goto done; /* rank 0 writes the files */
    if (a.plot && write_svg(a.plot, &st8->h, &d))
        goto fail;
    if (a.out) {
        if (oc_trainer_export(t, a.out))
            goto fail;
        printf("wrote %s\n", a.out);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc train: error: %s\n", d.msg);
done:
    if (has_vsrc)
        oc_data_source_close(&vsrc);
    oc_trainer_free(t);
    free(st8);
    free(x);
    free(y);
    oc_graph_free(g);
    oc_dataset_free(&all);
    oc_dataset_free(&tr);
    oc_dataset_free(&va);
    return rc;
}
