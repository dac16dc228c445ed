/* cmd_finetune.c: `onnxc finetune MODEL.onnx --data DIR --classes N -o OUT.onnx`
 * Transfer learning over the training library (compiler/trainer.h): the
 * classifier head (the last Gemm, or MatMul(+Add), that feeds the first
 * output; --head NODE picks another) is replaced by a fresh layer with N
 * outputs (Xavier-uniform weights, zero bias, seeded) unless --keep-head,
 * then only the head trains (default), or everything from --unfreeze-from
 * NODE on, or everything (--full). BatchNorms of frozen parts run on
 * their running statistics; trained ones follow --bn (auto: batch
 * statistics when trained).
 *
 * Data: DIR/train/<class>/... and DIR/val/<class>/... image folders (or
 * DIR/<class>/... split by --val-split), or a folder of IDX files; images
 * are brought to the model's input size (torchvision's eval resize +
 * center crop, or RandomResizedCrop + flip with --augment crop,flip) and
 * normalized by --mean/--std (ImageNet's by default).
 *
 * When only the head trains and nothing is augmented, the frozen
 * backbone's output (the head's input) is computed once per image and
 * cached, and training runs on the head alone: one backbone pass per
 * image instead of one per image and epoch (--no-cache trains through the
 * whole model instead: the reference the cache is tested and timed against).
 *
 * Default recipe: SGD momentum 0.9, lr 0.01 with a cosine schedule,
 * weight decay 1e-4, batch 16, 5 epochs (see README). Under `mpirun -np K`
 * (tools/dist.h) every global batch of K x --batch samples is split over
 * the ranks, the gradients are averaged, and rank 0 alone prints and
 * writes; the feature cache is computed by every rank. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../compiler/head.h"
#include "../compiler/onnx_export.h"
#include "../compiler/onnx_import.h"
#include "../compiler/passes/passes.h"
#include "../compiler/planner.h"
#include "../compiler/shape.h"
#include "../compiler/trainer.h"
#include "../runtime/data.h"
#include "../runtime/data_source.h"
#include "../runtime/init.h"
#include "../runtime/threads.h"
#include "cli.h"
#include "dist.h"
#include "plot.h"

typedef struct ft_args {
    const char *model, *data, *out, *head, *freeze, *unfreeze_from, *bn, *optim, *schedule, *augment, *checkpoint;
    const char *resume, *mean, *std, *plot, *labels;
    int64_t classes, epochs, batch, seed, threads, limit, size, keep_head, full, no_cache, per_class, strict, sync_bn, warmup, patience;
    int64_t max_image_pixels; /* 0: the loader's limit */
    double lr, momentum, weight_decay, val_split, clip, label_smoothing;
} ft_args;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the frozen backbone's features, once ---- */

/* Runs the model up to the head's input over every sample of src (batch
 * at a time; the last partial batch wraps) into feats [src->n, k]. */
static int compute_features(const oc_graph *g, const oc_head *h, const oc_data_source *src, int64_t batch,
                            float *x, int64_t *y, float *feats, int64_t *labels, oc_diag *d)
{
    oc_graph *c = oc_graph_clone(g, d);
    oc_plan *p = NULL;
    int64_t *order = malloc(sizeof(int64_t) * (size_t)(src->n + 1));
    int rc = -1, v = c ? oc_graph_find(c, g->values[h->input].name) : -1;
    if (!order) {
        oc_fail(d, "out of memory");
        goto out;
    }
    if (v < 0 || oc_graph_mark_output(c, v, d))
        goto out;
    c->values[c->inputs[0]].dims[0] = batch;
    oc_graph_reset_shapes(c);
    if (oc_graph_infer_shapes(c, d))
        goto out;
    oc_plan_opts po = {.threads = oc_get_threads()};
    if (!(p = oc_plan_build(c, &po, d)))
        goto out;
    int t = -1;
    for (int k = 0; k < p->n_outputs; k++)
        if (!strcmp(p->names[p->outputs[k]], g->values[h->input].name))
            t = p->outputs[k];
    if (t < 0 || p->tensors[t].numel != batch * h->k) {
        oc_fail(d, "the head's input '%s' is not [batch, %lld]", g->values[h->input].name, (long long)h->k);
        goto out;
    }
    for (int64_t i = 0; i < src->n; i++)
        order[i] = i;
    oc_tensor xt = p->tensors[p->inputs[0]];
    xt.data = x;
    if (oc_plan_set_input(p, 0, &xt, d))
        goto out;
    for (int64_t s = 0; s < src->n; s += batch) {
        if (oc_data_source_gather(src, order, s, batch, 0, 0, 0, x, y, d) || oc_plan_run(p, d))
            goto out;
        int64_t m = src->n - s < batch ? src->n - s : batch;
        memcpy(feats + s * h->k, p->tensors[t].data, sizeof(float) * (size_t)(m * h->k));
        memcpy(labels + s, y, sizeof(int64_t) * (size_t)m);
    }
    rc = 0;
out:
    free(order);
    oc_plan_free(p);
    oc_graph_free(c);
    return rc;
}

/* The head alone as a model: features [batch, k] -> logits [batch, n]. */
static oc_graph *head_graph(const oc_graph *g, const oc_head *h, int64_t batch, oc_diag *d)
{
    oc_graph *hg = oc_graph_new("head", g->opset, d);
    if (!hg)
        return NULL;
    int64_t fd[2] = {batch, h->k};
    const oc_node *n = &g->nodes[h->node];
    oc_tensor *w = oc_tensor_clone(g->values[h->weight].constant, d);
    oc_tensor *b = h->bias >= 0 ? oc_tensor_clone(g->values[h->bias].constant, d) : NULL;
    const char *wn = g->values[h->weight].name, *bn = h->bias >= 0 ? g->values[h->bias].name : "";
    int ok = w && (h->bias < 0 || b) && oc_graph_add_input(hg, "features", OC_FLOAT, 2, fd, NULL, d) >= 0 &&
             oc_graph_add_initializer(hg, wn, w, d) >= 0;
    if (ok && b)
        ok = oc_graph_add_initializer(hg, bn, b, d) >= 0;
    else if (!ok) {
        oc_tensor_free(w);
        oc_tensor_free(b);
    }
    if (ok && !strcmp(n->op_type, "Gemm")) {
        const char *in[3] = {"features", wn, bn}, *out[1] = {"logits"};
        int id = oc_graph_add_node(hg, "Gemm", "head", b ? 3 : 2, in, 1, out, d);
        ok = id >= 0 && !oc_node_set_int(hg, id, "transB", h->trans_b, d);
    } else if (ok) {
        const char *in[2] = {"features", wn}, *out[1] = {b ? "head_mm" : "logits"};
        const char *ain[2] = {"head_mm", bn}, *aout[1] = {"logits"};
        ok = oc_graph_add_node(hg, "MatMul", "head", 2, in, 1, out, d) >= 0 &&
             (!b || oc_graph_add_node(hg, "Add", "head_bias", 2, ain, 1, aout, d) >= 0);
    }
    ok = ok && !oc_graph_infer_shapes(hg, d) && !oc_graph_mark_output(hg, oc_graph_find(hg, "logits"), d);
    if (!ok) {
        oc_graph_free(hg);
        return NULL;
    }
    return hg;
}

static int parse3(const char *s, float *v)
{
    char *end;
    int n = 0;
    while (n < 3) {
        v[n++] = strtof(s, &end);
        if (end == s)
            return -1;
        if (!*end)
            break;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
    if (n == 1)
        v[1] = v[2] = v[0];
    return n == 1 || n == 3 ? 0 : -1;
}

static void usage(void)
{
    printf("usage: onnxc finetune MODEL.onnx --data DIR --classes N -o OUT.onnx\n"
           "         [--head NODE] [--keep-head] [--freeze backbone | --unfreeze-from NODE | --full] [--bn auto|train|eval]\n"
           "         [--epochs 5] [--batch 16] [--lr 0.01] [--optim sgd] [--momentum 0.9] [--weight-decay 1e-4]\n"
           "         [--schedule cosine] [--warmup STEPS] [--clip MAX_GRAD_NORM] [--label-smoothing X] [--patience N]\n"
           "         [--val-split F] [--size PIXELS] [--mean R,G,B] [--std R,G,B]\n"
           "         [--augment none|crop,flip] [--labels L] [--per-class N] [--limit N] [--seed S] [--threads N]\n"
           "         [--checkpoint DIR] [--resume DIR] [--strict] [--sync-bn]\n"
           "         [--plot FILE.svg] [--no-cache] [--max-image-pixels N]\n"
           "DIR: DIR/train/<class>/* and DIR/val/<class>/* (or DIR/<class>/* with --val-split F), or IDX files.\n"
           "--labels 5-9 (or 0,2,4): only those classes of the data, relabelled 0..k-1 in that order (train and val);\n"
           "--per-class N: at most N training images per class; --limit N: at most N images (train and val), seeded.\n"
           "Unreadable images, and images above --max-image-pixels pixels (default 268435456), are skipped\n"
           "with a warning naming them (counted); --strict makes them errors.\n"
           "Default: only a fresh head trains; its input features are computed once and cached.\n"
           "Data-parallel: mpirun -np K onnxc finetune ... --batch B trains on global batches of K x B (B per rank,\n"
           "gradients averaged); --sync-bn: BatchNorm statistics over the global batch (default: per rank).\n"
           "ONNXC_DIST_CHECK=N checks every N steps that all ranks hold the same parameters. --resume needs the same K.\n");
}

/* The loop state in a checkpoint's caller blob. */
typedef struct ft_state {
    int64_t epoch, n_order;
    int64_t ranks; /* data-parallel ranks of the run (1 alone) */
    int64_t stale;  /* epochs since the best validation loss (--patience) */
    double best_vl;
    uint64_t rng;
    int n; /* learning curve (--plot) */
    double tl[1000], vl[1000], ta[1000], va[1000];
    int64_t order[];
} ft_state;

int oc_cmd_finetune(int argc, char **argv)
{
    ft_args a = {0};
    a.epochs = 5;
    a.batch = 16;
    a.lr = 0.01;
    a.momentum = 0.9;
    a.weight_decay = 1e-4;
    a.seed = 1;
    a.bn = "auto";
    a.optim = "sgd";
    a.schedule = "cosine";
    a.augment = "none";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            usage();
            return 0;
        }
        if (!strcmp(f, "--keep-head") || !strcmp(f, "--full") || !strcmp(f, "--no-cache") || !strcmp(f, "--strict") ||
            !strcmp(f, "--sync-bn")) {
            *(!strcmp(f, "--full")        ? &a.full
              : !strcmp(f, "--sync-bn")   ? &a.sync_bn
              : !strcmp(f, "--keep-head") ? &a.keep_head
              : !strcmp(f, "--strict")    ? &a.strict
                                          : &a.no_cache) = 1;
            continue;
        }
        if (f[0] != '-' && !a.model) {
            a.model = f;
            continue;
        }
        if (!(v = cli_value("finetune", argc, argv, &i)))
            return 2;
        const cli_flag flags[] = {
            {"--classes", CLI_INT, &a.classes},
            {"--epochs", CLI_INT, &a.epochs},
            {"--batch", CLI_INT, &a.batch},
            {"--seed", CLI_INT, &a.seed},
            {"--threads", CLI_INT, &a.threads},
            {"--limit", CLI_INT, &a.limit},
            {"--per-class", CLI_INT, &a.per_class},
            {"--warmup", CLI_INT, &a.warmup},
            {"--patience", CLI_INT, &a.patience},
            {"--max-image-pixels", CLI_INT, &a.max_image_pixels},
            {"--clip", CLI_NUM, &a.clip},
            {"--label-smoothing", CLI_NUM, &a.label_smoothing},
            {"--labels", CLI_STR, &a.labels},
            {"--size", CLI_INT, &a.size},
            {"--lr", CLI_NUM, &a.lr},
            {"--momentum", CLI_NUM, &a.momentum},
            {"--weight-decay", CLI_NUM, &a.weight_decay},
            {"--val-split", CLI_NUM, &a.val_split},
            {"--data", CLI_STR, &a.data},
            {"-o", CLI_STR, &a.out},
            {"--head", CLI_STR, &a.head},
            {"--freeze", CLI_STR, &a.freeze},
            {"--unfreeze-from", CLI_STR, &a.unfreeze_from},
            {"--bn", CLI_STR, &a.bn},
            {"--optim", CLI_STR, &a.optim},
            {"--schedule", CLI_STR, &a.schedule},
            {"--augment", CLI_STR, &a.augment},
            {"--checkpoint", CLI_STR, &a.checkpoint},
            {"--resume", CLI_STR, &a.resume},
            {"--mean", CLI_STR, &a.mean},
            {"--std", CLI_STR, &a.std},
            {"--plot", CLI_STR, &a.plot},
            {0},
        };
        int r = cli_set_flag("finetune", flags, f, v);
        if (r < 0)
            return 2;
        if (r > 0) {
            fprintf(stderr, "onnxc finetune: unknown option '%s' (see onnxc finetune --help)\n", f);
            return 2;
        }
    }
    if (!a.model || !a.data || !a.out || a.classes < 2) {
        fprintf(stderr, "onnxc finetune: needs MODEL.onnx, --data DIR, --classes N (>= 2) and -o OUT.onnx\n");
        return 2;
    }
    if (a.batch < 1 || a.epochs < 1 || a.epochs > 1000 || a.val_split >= 1 || (a.freeze && strcmp(a.freeze, "backbone")) ||
        (a.full && a.unfreeze_from)) {
        fprintf(stderr, "onnxc finetune: --batch and --epochs (<= 1000) must be >= 1, --val-split < 1, --freeze takes 'backbone', "
                        "and --full excludes --unfreeze-from\n");
        return 2;
    }
    if (a.clip < 0 || a.warmup < 0 || a.patience < 0 || !(a.label_smoothing >= 0 && a.label_smoothing < 1)) {
        fprintf(stderr, "onnxc finetune: --clip, --warmup and --patience must be >= 0, --label-smoothing in [0, 1)\n");
        return 2;
    }
    int aug_crop = strstr(a.augment, "crop") != NULL, aug_flip = strstr(a.augment, "flip") != NULL;
    if (strcmp(a.augment, "none") && !aug_crop && !aug_flip) {
        fprintf(stderr, "onnxc finetune: --augment takes none, crop, flip or crop,flip; got '%s'\n", a.augment);
        return 2;
    }
    oc_bn_policy bnp;
    oc_optim_kind kind;
    oc_lr_kind lk;
    if (oc_bn_policy_parse(a.bn, &bnp) || bnp == OC_BN_MODEL || oc_optim_kind_parse(a.optim, &kind) ||
        oc_lr_kind_parse(a.schedule, &lk)) {
        fprintf(stderr, "onnxc finetune: bad --bn (auto|train|eval), --optim or --schedule\n");
        return 2;
    }
    oc_image_folder_opts io;
    oc_image_folder_opts_default(&io);
    io.max_pixels = a.max_image_pixels;
    if ((a.mean && parse3(a.mean, io.mean)) || (a.std && parse3(a.std, io.std))) {
        fprintf(stderr, "onnxc finetune: --mean and --std take one or three comma-separated numbers\n");
        return 2;
    }
    /* the output's folder must exist before any work */
    {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", a.out);
        char *slash = strrchr(dir, '/');
        struct stat st;
        if (slash && (slash[1] = 0, stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "onnxc finetune: error: -o %s: the folder %s does not exist\n", a.out, dir);
            return 1;
        }
    }
    oc_set_threads((int)a.threads);
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = NULL, *hg = NULL;
    oc_image_folder *ftr = NULL, *fva = NULL, *fall = NULL;
    oc_dataset dtr = {0}, dva = {0}, ctr = {0}, cva = {0};
    oc_data_source btr, bva, src_ctr, src_cva;
    int have_btr = 0, have_bva = 0, have_c = 0, rc = 1;
    oc_data_source str = {0}, sva = {0};
    int64_t label_list[256];
    int n_labels = 0;
    oc_trainer *t = NULL;
    float *x = NULL;
    int64_t *y = NULL, *conf = NULL;
    unsigned char *flags = NULL;
    ft_state *fs = NULL;
    double t_start = now_s();

    if (!(g = oc_onnx_load(a.model, &d)) || oc_pass_untie_params(g, NULL, &d) || oc_graph_infer_shapes(g, &d))
        goto fail;
    if (g->n_inputs != 1 || g->n_outputs < 1) {
        oc_fail(&d, "%s: finetune needs one image input and the logits as first output (the model has %d inputs)",
                a.model, g->n_inputs);
        goto fail;
    }
    oc_value *in = &g->values[g->inputs[0]];
    if (in->rank != 4 || (in->dims[1] != 1 && in->dims[1] != 3)) {
        oc_fail(&d, "%s: input '%s' must be images [N, 1 or 3, H, W]", a.model, in->name);
        goto fail;
    }
    for (int k = 2; k < 4; k++) {
        if (a.size && in->dims[k] > 0 && in->dims[k] != a.size) {
            oc_fail(&d, "%s: input '%s' has a fixed size %lldx%lld; --size %lld does not fit", a.model, in->name,
                    (long long)in->dims[2], (long long)in->dims[3], (long long)a.size);
            goto fail;
        }
        if (in->dims[k] < 0)
            in->dims[k] = a.size ? a.size : 224;
    }
    if (in->dims[0] >= 0) /* a fixed batch is rebound; a dynamic one stays (the trainer binds it) */
        in->dims[0] = a.batch;
    io.strict = (int)a.strict;
    io.channels = (int)in->dims[1];
    io.height = in->dims[2];
    io.width = in->dims[3];
    oc_graph_reset_shapes(g);
    if (oc_graph_infer_shapes(g, &d))
        goto fail;
    oc_head h;
    if (oc_head_find(g, a.head, &h, &d))
        goto fail;
    int new_head = !a.keep_head;
    if (a.keep_head && h.n != a.classes) {
        oc_fail(&d, "--keep-head: the head '%s' has %lld outputs; --classes is %lld", g->nodes[h.node].name,
                (long long)h.n, (long long)a.classes);
        goto fail;
    }
    if (new_head) {
        if (oc_head_replace(g, &h, a.classes, (uint64_t)a.seed, &d))
            goto fail;
        oc_graph_reset_shapes(g);
        if (oc_graph_infer_shapes(g, &d))
            goto fail;
    }
    printf("model: %s, input %lldx%lldx%lld, head '%s' (%s, %lld features -> %lld classes, %s)\n", a.model,
           (long long)io.channels, (long long)io.height, (long long)io.width, g->nodes[h.node].name,
           g->nodes[h.node].op_type, (long long)h.k, (long long)h.n, new_head ? "fresh" : "kept");

    /* data */
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/train", a.data);
    int folders = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (folders || a.val_split > 0) {
        if (a.val_split > 0) {
            if (oc_image_folder_open(folders ? path : a.data, &io, &fall, &d) ||
                oc_image_folder_split(fall, a.val_split, (uint64_t)a.seed, &ftr, &fva, &d))
                goto fail;
        } else {
            if (oc_image_folder_open(path, &io, &ftr, &d))
                goto fail;
            snprintf(path, sizeof path, "%s/val", a.data);
            if (oc_image_folder_open(path, &io, &fva, &d))
                goto fail;
            if (oc_image_folder_check_classes(ftr, fva, &d))
                goto fail;
        }
        if (oc_image_folder_classes(ftr) != a.classes) {
            char names[1024] = "";
            size_t o = 0;
            for (int64_t c = 0; c < oc_image_folder_classes(ftr) && o + 80 < sizeof names; c++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", c ? ", " : "",
                                      oc_image_folder_class_name(ftr, c));
            oc_fail(&d, "%s has %lld class folders (%s); --classes is %lld", oc_image_folder_dir(ftr),
                    (long long)oc_image_folder_classes(ftr), names, (long long)a.classes);
            goto fail;
        }
        if (oc_data_source_images(&btr, ftr, &d))
            goto fail;
        have_btr = 1;
        if (oc_data_source_images(&bva, fva, &d))
            goto fail;
        have_bva = 1;
    } else {
        if (oc_dataset_open(a.data, "train", &dtr, &d) || oc_dataset_open(a.data, "test", &dva, &d))
            goto fail;
        if (a.mean || a.std) { /* IDX values are in [0, 1]; normalized only when asked (one channel) */
            oc_dataset_normalize(&dtr, io.mean[0], io.std[0]);
            oc_dataset_normalize(&dva, io.mean[0], io.std[0]);
        }
        if (dtr.classes > a.classes && !a.labels) {
            oc_fail(&d, "%s: labels go up to %lld; --classes is %lld", a.data, (long long)dtr.classes - 1,
                    (long long)a.classes);
            goto fail;
        }
        if (oc_data_source_dataset(&btr, &dtr, io.channels, io.height, io.width, &d))
            goto fail;
        have_btr = 1;
        if (oc_data_source_dataset(&bva, &dva, io.channels, io.height, io.width, &d))
            goto fail;
        have_bva = 1;
    }
    if (a.labels && (n_labels = oc_parse_label_list(a.labels, label_list, 256)) < 1) {
        oc_fail(&d, "--labels '%s': expected labels such as 5-9 or 0,2,4", a.labels);
        goto fail;
    }
    if (n_labels && n_labels != a.classes) {
        oc_fail(&d, "--labels %s selects %d classes; --classes is %lld", a.labels, n_labels, (long long)a.classes);
        goto fail;
    }
    {
        oc_subset_opts so = {.labels = label_list, .n_labels = n_labels, .per_class = a.per_class, .limit = a.limit,
                             .seed = (uint64_t)a.seed};
        if (oc_data_source_subset(&str, &btr, &so, &d))
            goto fail;
        so.per_class = 0;
        so.seed = (uint64_t)a.seed + 1;
        if (oc_data_source_subset(&sva, &bva, &so, &d))
            goto fail;
    }
    for (int i = 0; i < d.n_warn; i++) /* unreadable files skipped at open, named and counted */
        fprintf(stderr, "onnxc finetune: warning: %s\n", d.warn[i]);
    d.n_warn = 0;
    printf("data: %s: %lld training and %lld validation images, %lld classes%s%s%s\n", a.data, (long long)str.n,
           (long long)sva.n, (long long)a.classes, a.labels ? " (labels " : "", a.labels ? a.labels : "",
           a.labels ? ")" : "");
    x = malloc(sizeof(float) * (size_t)(a.batch * io.channels * io.height * io.width));
    y = malloc(sizeof(int64_t) * (size_t)a.batch);
    conf = calloc((size_t)(a.classes * a.classes), sizeof(int64_t));
    if (!x || !y || !conf) {
        oc_fail(&d, "out of memory");
        goto fail;
    }

    /* what trains */
    int head_only = !a.full && !a.unfreeze_from;
    if (!(flags = oc_head_trainable(g, &h, &d)))
        goto fail;
    if (a.full)
        memset(flags, 1, (size_t)g->n_values);
    if (a.unfreeze_from) {
        int i0 = -1;
        for (int i = 0; i < g->n_nodes && i0 < 0; i++)
            if (g->nodes[i].name && !strcmp(g->nodes[i].name, a.unfreeze_from))
                i0 = i;
        if (i0 < 0) {
            oc_fail(&d, "--unfreeze-from: the model has no node named '%s'", a.unfreeze_from);
            goto fail;
        }
        for (int i = i0; i < g->n_nodes; i++)
            for (int k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] >= 0)
                    flags[g->nodes[i].in[k]] = 1;
    }
    /* the cache: the head alone over precomputed features */
    int cached = head_only && !a.no_cache && !aug_crop && !aug_flip && bnp != OC_BN_TRAIN;
    const oc_data_source *train_src = &str, *val_src = &sva;
    if (cached) {
        printf("frozen backbone, no augmentation: computing the head's input features once (%lld images) and "
               "training the head alone\n", (long long)(str.n + sva.n));
        fflush(stdout);
        double t0 = now_s();
        oc_dataset *cs[2] = {&ctr, &cva};
        const oc_data_source *ss[2] = {&str, &sva};
        for (int k = 0; k < 2; k++) {
            cs[k]->n = ss[k]->n;
            cs[k]->rank = 1;
            cs[k]->dims[0] = cs[k]->sample_size = h.k;
            cs[k]->classes = a.classes;
            snprintf(cs[k]->name, sizeof cs[k]->name, "%s (features)", a.data);
            cs[k]->x = malloc(sizeof(float) * (size_t)(ss[k]->n * h.k + 1));
            cs[k]->y = malloc(sizeof(int64_t) * (size_t)(ss[k]->n + 1));
            if (!cs[k]->x || !cs[k]->y) {
                oc_fail(&d, "out of memory for the feature cache");
                goto fail;
            }
            if (compute_features(g, &h, ss[k], a.batch, x, y, cs[k]->x, cs[k]->y, &d))
                goto fail;
        }
        if (oc_data_source_dataset(&src_ctr, &ctr, 0, 0, 0, &d))
            goto fail;
        if (oc_data_source_dataset(&src_cva, &cva, 0, 0, 0, &d)) {
            oc_data_source_close(&src_ctr);
            goto fail;
        }
        have_c = 1;
        train_src = &src_ctr;
        val_src = &src_cva;
        printf("features: %lld x %lld floats in %.1fs\n", (long long)(ctr.n + cva.n), (long long)h.k, now_s() - t0);
        if (!(hg = head_graph(g, &h, a.batch, &d)))
            goto fail;
    }

    int ranks = cli_dist_size(), rank = cli_dist_rank();
    int64_t G = a.batch * ranks; /* the global batch; rank r takes its slice r */
    int64_t spe = train_src->n / G > 0 ? train_src->n / G : 1;
    if (train_src->n < G) {
        oc_fail(&d, "the global batch of %lld is larger than the %lld training images", (long long)G,
                (long long)train_src->n);
        goto fail;
    }
    oc_train_config tc;
    oc_train_config_default(&tc);
    tc.batch = a.batch;
    tc.grad_hook = cli_dist_grad_hook;
    tc.coll.allreduce = cli_dist_allreduce;
    tc.rank = rank;
    tc.ranks = ranks;
    tc.sync_bn = a.sync_bn != 0;
    tc.trainable = cached ? NULL : flags;
    tc.bn = bnp;
    tc.logits = cached ? NULL : g->values[h.output].name; /* the head's output, before any Softmax */
    oc_optim_config_default(&tc.optim, kind);
    if (kind == OC_OPTIM_SGD || kind == OC_OPTIM_RMSPROP)
        tc.optim.momentum = a.momentum;
    tc.optim.weight_decay = a.weight_decay;
    tc.optim.max_grad_norm = a.clip;
    tc.label_smoothing = a.label_smoothing;
    tc.schedule.warmup_steps = a.warmup;
    oc_schedule_default(&tc.schedule, lk, a.lr);
    tc.schedule.step_size = spe;
    tc.schedule.t_max = spe * a.epochs;
    if (!(t = oc_trainer_new(cached ? hg : g, &tc, &d)))
        goto fail;
    printf("training: %d parameter tensors (%zu floats), %d BatchNorms on batch statistics; %s lr %g (%s), batch %lld, "
           "%lld epochs, seed %lld, %d threads\n", oc_trainer_param_tensors(t), oc_trainer_param_floats(t),
           oc_trainer_bn_training(t), a.optim, a.lr, a.schedule, (long long)a.batch, (long long)a.epochs,
           (long long)a.seed, oc_get_threads());
    if (ranks > 1)
        printf("data-parallel: %d ranks over %s, global batch %lld (%lld per rank), BatchNorm statistics %s\n", ranks,
               cli_dist_backend(), (long long)G, (long long)a.batch,
               !oc_trainer_bn_training(t) ? "(none in training mode)" : a.sync_bn ? "synchronized (--sync-bn)" : "per rank");
    if (!(fs = calloc(1, sizeof *fs + sizeof(int64_t) * (size_t)(train_src->n + 1)))) {
        oc_fail(&d, "out of memory");
        goto fail;
    }
    fs->n_order = train_src->n;
    fs->ranks = ranks;
    fs->rng = (uint64_t)a.seed;
    for (int64_t i = 0; i < train_src->n; i++)
        fs->order[i] = i;
    if (a.checkpoint && rank == 0 && mkdir(a.checkpoint, 0777) != 0 && errno != EEXIST) {
        oc_fail(&d, "%s: cannot create the checkpoint folder: %s", a.checkpoint, strerror(errno));
        goto fail;
    }
    if (a.resume) {
        void *blob = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/last.ckpt", a.resume);
        if (oc_trainer_load_checkpoint(t, path, &blob, &len))
            goto fail;
        if (len != sizeof *fs + sizeof(int64_t) * (size_t)train_src->n) {
            free(blob);
            oc_fail(&d, "%s: the checkpoint was written for another data set", path);
            goto fail;
        }
        if (((ft_state *)blob)->ranks != ranks) {
            oc_fail(&d, "%s: the checkpoint was written by a run on %lld rank(s); resume it with the same number "
                        "(mpirun -np %lld), this run has %d", path, (long long)((ft_state *)blob)->ranks,
                    (long long)((ft_state *)blob)->ranks, ranks);
            free(blob);
            goto fail;
        }
        memcpy(fs, blob, len);
        free(blob);
        printf("resumed from %s after epoch %lld\n", path, (long long)fs->epoch);
    }
    int tty = isatty(2) && rank == 0;
    for (int64_t ep = fs->epoch; ep < a.epochs; ep++) {
        oc_shuffle(fs->order, train_src->n, &fs->rng);
        double t0 = now_s(), lsum = 0, first = 0, last = 0;
        int64_t correct = 0;
        for (int64_t s = 0; s < spe; s++) {
            double l;
            if (oc_data_source_gather(train_src, fs->order, s * G + rank * a.batch, a.batch, aug_crop || aug_flip,
                                      (uint64_t)a.seed, ep, x, y, &d))
                goto fail;
            if (oc_trainer_step(t, x, y, &l)) {
                oc_diag_prefix(&d, "epoch %lld: ", (long long)ep + 1);
                goto fail;
            }
            const oc_tensor *lg = oc_trainer_logits(t);
            for (int64_t b = 0; b < a.batch; b++) {
                const float *r = (const float *)lg->data + b * a.classes;
                int64_t arg = 0;
                for (int64_t k = 1; k < a.classes; k++)
                    if (r[k] > r[arg])
                        arg = k;
                correct += arg == y[b];
            }
            if (cli_dist_check_state(oc_trainer_steps(t), oc_trainer_state_checksum(t, a.sync_bn != 0), &d))
                goto fail;
            l /= ranks; /* summed over the ranks below: the global batch's mean loss */
            lsum += l;
            if (s == 0)
                first = l;
            last = l;
            double el = now_s() - t0;
            if (tty)
                fprintf(stderr, "\repoch %lld/%lld [%5.1f%%] %lld/%lld batches, %.1f batches/s, ETA %.0fs, loss %.4f   ",
                        (long long)ep + 1, (long long)a.epochs, 100.0 * (s + 1) / spe, (long long)s + 1,
                        (long long)spe, (s + 1) / el, (spe - s - 1) / ((s + 1) / el), lsum / (s + 1));
        }
        if (tty)
            fprintf(stderr, "\n");
        if (ranks > 1) {
            double sums[4] = {lsum, (double)correct, first, last};
            if (cli_dist_allreduce(NULL, sums, 4)) {
                oc_fail(&d, "epoch %lld: the allreduce of the training loss failed", (long long)ep + 1);
                goto fail;
            }
            lsum = sums[0];
            correct = (int64_t)sums[1];
            first = sums[2];
            last = sums[3];
        }
        double vl, v1, v5;
        if (oc_trainer_evaluate(t, val_src, &vl, &v1, &v5))
            goto fail;
        printf("epoch %lld: train loss %.4f (first batch %.4f, last %.4f) top-1 %.4f | val loss %.4f top-1 %.4f "
               "top-5 %.4f | %.1fs\n", (long long)ep + 1, lsum / spe, first, last,
               (double)correct / (double)(spe * G), vl, v1, v5, now_s() - t0);
        fflush(stdout);
        int hi = fs->n < 1000 ? fs->n++ : 999;
        fs->tl[hi] = lsum / spe;
        fs->ta[hi] = (double)correct / (double)(spe * G);
        fs->vl[hi] = vl;
        fs->va[hi] = v1;
        fs->epoch = ep + 1;
        if (fs->n == 1 || vl < fs->best_vl) {
            fs->best_vl = vl;
            fs->stale = 0;
        } else {
            fs->stale++;
        }
        int stop = a.patience > 0 && fs->stale >= a.patience && ep + 1 < a.epochs;
        if (stop) /* the checkpoint then says the run is over */
            fs->epoch = a.epochs;
        if (a.checkpoint && rank == 0) {
            snprintf(path, sizeof path, "%s/last.ckpt", a.checkpoint);
            if (oc_trainer_save_checkpoint(t, path, fs, sizeof *fs + sizeof(int64_t) * (size_t)train_src->n))
                goto fail;
        }
        if (stop) {
            if (rank == 0)
                printf("early stop: the validation loss has not improved for %lld epochs (best %.4f)\n",
                       (long long)a.patience, fs->best_vl);
            break;
        }
    }
    /* confusion matrix on the validation set */
    {
        int64_t *order = malloc(sizeof(int64_t) * (size_t)(val_src->n + 1));
        if (!order) {
            oc_fail(&d, "out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < val_src->n; i++)
            order[i] = i;
        for (int64_t s = 0; s < val_src->n; s += a.batch) {
            const oc_tensor *lg;
            if (oc_data_source_gather(val_src, order, s, a.batch, 0, 0, 0, x, y, &d) ||
                !(lg = oc_trainer_predict(t, x))) {
                free(order);
                goto fail;
            }
            for (int64_t b = 0; b < a.batch && s + b < val_src->n; b++) {
                const float *r = (const float *)lg->data + b * a.classes;
                int64_t arg = 0;
                for (int64_t k = 1; k < a.classes; k++)
                    if (r[k] > r[arg])
                        arg = k;
                if (y[b] >= 0 && y[b] < a.classes)
                    conf[y[b] * a.classes + arg]++;
            }
        }
        free(order);
        printf("confusion matrix (validation; rows: true class, columns: predicted):\n");
        int show = a.classes <= 20;
        for (int64_t r = 0; show && r < a.classes; r++) {
            char label[32];
            snprintf(label, sizeof label, "class %lld", (long long)r);
            printf("  %-16.16s", ftr ? oc_image_folder_class_name(ftr, r) : label);
            for (int64_t c = 0; c < a.classes; c++)
                printf(" %6lld", (long long)conf[r * a.classes + c]);
            printf("\n");
        }
        if (!show)
            printf("  (%lld classes: not printed)\n", (long long)a.classes);
    }
    if (cli_dist_check_state(-1, oc_trainer_state_checksum(t, 1), &d))
        goto fail;
    if (ranks > 1) {
        double cs, cw;
        int64_t calls;
        cli_dist_grad_stats(&cs, &cw, &calls);
        printf("data-parallel: gradient allreduce (%zu floats) %.3f ms per step, waiting for the slowest rank before "
               "it %.3f ms per step, over %lld steps\n", oc_trainer_param_floats(t), calls ? 1e3 * cs / (double)calls : 0.0,
               calls ? 1e3 * cw / (double)calls : 0.0, (long long)calls);
    }
    if (rank > 0) { /* rank 0 writes the files */
        rc = 0;
        goto done;
    }
    if (a.plot && cli_plot_curves(a.plot, "onnxc finetune", fs->n, fs->tl, fs->vl, fs->ta, fs->va, &d))
        goto fail;
    /* the finetuned model */
    if (cached) {
        int vs[2] = {h.weight, h.bias};
        for (int k = 0; k < 2; k++) {
            if (vs[k] < 0)
                continue;
            int64_t n = 0;
            float *p = oc_trainer_param(t, g->values[vs[k]].name, &n);
            oc_tensor *c = g->values[vs[k]].constant;
            if (!p || !c || c->numel != n) {
                oc_fail(&d, "the trained head parameter '%s' is missing", g->values[vs[k]].name);
                goto fail;
            }
            memcpy(c->data, p, sizeof(float) * (size_t)n);
        }
        /* the file keeps a dynamic batch when the model had one */
        oc_value *gi = &g->values[g->inputs[0]];
        if (gi->sym[0]) {
            gi->dims[0] = -1;
            oc_graph_reset_shapes(g);
            if (oc_graph_infer_shapes(g, &d))
                goto fail;
        }
        if (oc_onnx_save(g, a.out, &d))
            goto fail;
    } else if (oc_trainer_export(t, a.out)) {
        goto fail;
    }
    {
        int64_t bad = (ftr ? oc_image_folder_failed(ftr) : 0) + (fva ? oc_image_folder_failed(fva) : 0) +
                      (fall ? oc_image_folder_failed(fall) : 0);
        for (int i = 0; i < d.n_warn; i++)
            fprintf(stderr, "onnxc finetune: warning: %s\n", d.warn[i]);
        if (bad)
            fprintf(stderr, "onnxc finetune: warning: %lld image reads failed during training and were replaced by "
                            "zeros (--strict makes that an error)\n", (long long)bad);
    }
    printf("wrote %s (%.1fs)\n", a.out, now_s() - t_start);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc finetune: error: %s\n", d.msg);
done:
    oc_trainer_free(t);
    free(fs);
    free(flags);
    free(x);
    free(y);
    free(conf);
    oc_data_source_close(&str);
    oc_data_source_close(&sva);
    if (have_c) {
        oc_data_source_close(&src_ctr);
        oc_data_source_close(&src_cva);
    }
    if (have_btr)
        oc_data_source_close(&btr);
    if (have_bva)
        oc_data_source_close(&bva);
    oc_image_folder_free(ftr);
    oc_image_folder_free(fva);
    oc_image_folder_free(fall);
    oc_dataset_free(&dtr);
    oc_dataset_free(&dva);
    oc_dataset_free(&ctr);
    oc_dataset_free(&cva);
    oc_graph_free(hg);
    oc_graph_free(g);
    return rc;
}
