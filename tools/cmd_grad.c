/* cmd_grad.c: `onnxc grad MODEL.onnx -i [NAME=]FILE ... --labels FILE [--loss NAME]
 *             [--label-smoothing X] [--class-weights FILE.npy] [--huber-delta X]
 *             [--bn eval|train] -o DIR`
 * Losses: cross_entropy, nll (int class labels), mse, l1, huber, smooth_l1,
 * bce, bce_with_logits (float targets of the output's shape); see the
 * loss ops in compiler/ops/loss.c.
 * One forward and backward pass: appends the loss to the model's first
 * output, differentiates the graph (compiler/autodiff.c), runs it, and
 * writes DIR/loss.pb and DIR/grad_<initializer name>.pb (ONNX TensorProto)
 * for every float parameter, so gradients can be checked against any
 * framework. BatchNormalization runs in eval mode unless --bn train or the
 * node itself says training (training_mode = 1). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../compiler/onnx_export.h"
#include "../compiler/onnx_import.h"
#include "../compiler/passes/passes.h"
#include "../compiler/planner.h"
#include "../compiler/shape.h"
#include "../compiler/train.h"
#include "../runtime/io.h"
#include "../runtime/threads.h"
#include "cli.h"

int oc_cmd_grad(int argc, char **argv)
{
    const char *model = NULL, *labels = NULL, *loss = "cross_entropy", *bn = "eval", *out_dir = NULL, *v;
    const char *class_weights = NULL, *smoothing_s = NULL, *delta_s = NULL;
    const char *in_spec[64];
    int n_spec = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: onnxc grad MODEL.onnx -i [NAME=]FILE ... --labels FILE [--loss NAME]\n"
                   "                  [--label-smoothing X] [--class-weights FILE.npy] [--huber-delta X]\n"
                   "                  [--bn eval|train] -o DIR\n"
                   "Losses: cross_entropy (default), nll: int class labels; mse, l1, huber, smooth_l1\n"
                   "(--huber-delta is Huber's delta / SmoothL1's beta, default 1), bce (probabilities),\n"
                   "bce_with_logits: float targets of the output's shape.\n"
                   "Writes DIR/loss.pb and DIR/grad_<initializer>.pb for every float parameter.\n");
            return 0;
        } else if (!strcmp(a, "-i")) {
            if (!(v = cli_value("grad", argc, argv, &i)))
                return 2;
            if (n_spec == 64) {
                fprintf(stderr, "onnxc grad: at most 64 inputs\n");
                return 2;
            }
            in_spec[n_spec++] = v;
        } else if (!strcmp(a, "--labels") || !strcmp(a, "--loss") || !strcmp(a, "--bn") || !strcmp(a, "-o") ||
                   !strcmp(a, "--label-smoothing") || !strcmp(a, "--class-weights") || !strcmp(a, "--huber-delta")) {
            if (!(v = cli_value("grad", argc, argv, &i)))
                return 2;
            if (!strcmp(a, "--label-smoothing"))
                smoothing_s = v;
            else if (!strcmp(a, "--class-weights"))
                class_weights = v;
            else if (!strcmp(a, "--huber-delta"))
                delta_s = v;
            else if (!strcmp(a, "--labels"))
                labels = v;
            else if (!strcmp(a, "--loss"))
                loss = v;
            else if (!strcmp(a, "--bn"))
                bn = v;
            else
                out_dir = v;
        } else if (a[0] != '-' && !model) {
            model = a;
        } else {
            fprintf(stderr, "onnxc grad: unknown argument '%s' (see onnxc grad --help)\n", a);
            return 2;
        }
    }
    if (!model || !labels || !out_dir) {
        fprintf(stderr, "onnxc grad: needs MODEL.onnx, --labels FILE and -o DIR\n");
        return 2;
    }
    /* --loss NAME -> loss op (compiler/ops/loss.c); the first two take int class labels */
    static const char *const loss_names[] = {"cross_entropy", "nll", "mse", "l1", "huber", "smooth_l1", "bce",
                                             "bce_with_logits"};
    static const char *const loss_ops[] = {"SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss", "MSELoss", "L1Loss",
                                           "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss"};
    int loss_k = 0;
    while (loss_k < 8 && strcmp(loss, loss_names[loss_k]))
        loss_k++;
    if (loss_k == 8) {
        fprintf(stderr, "onnxc grad: --loss must be cross_entropy, nll, mse, l1, huber, smooth_l1, bce or "
                        "bce_with_logits, got '%s'\n", loss);
        return 2;
    }
    int class_loss = loss_k < 2;
    double smoothing = 0, delta = 1;
    char *end = NULL;
    if (smoothing_s && (smoothing = strtod(smoothing_s, &end), *end || !(smoothing >= 0 && smoothing <= 1) ||
                        loss_k != 0)) {
        fprintf(stderr, "onnxc grad: --label-smoothing takes a number in [0, 1] with --loss cross_entropy\n");
        return 2;
    }
    if (delta_s && (delta = strtod(delta_s, &end), *end || !(delta >= 0) || (loss_k != 4 && loss_k != 5) ||
                    (loss_k == 4 && delta == 0))) {
        fprintf(stderr, "onnxc grad: --huber-delta takes a number > 0 (huber) or >= 0 (smooth_l1)\n");
        return 2;
    }
    if (class_weights && !class_loss) {
        fprintf(stderr, "onnxc grad: --class-weights needs --loss cross_entropy or nll\n");
        return 2;
    }
    if (strcmp(bn, "eval") && strcmp(bn, "train")) {
        fprintf(stderr, "onnxc grad: --bn must be eval or train, got '%s'\n", bn);
        return 2;
    }
    oc_set_threads(0);
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_onnx_load(model, &d);
    oc_tensor *inputs[66] = {0}; /* model inputs, labels, class weights */
    oc_plan *p = NULL;
    int n_params = 0, rc = 1, n_in = 0;
    if (!g)
        goto fail;
    if (n_spec != g->n_inputs) {
        oc_fail(&d, "%d inputs given; the model takes %d", n_spec, g->n_inputs);
        goto fail;
    }
    for (int s = 0; s < n_spec; s++) {
        const char *eq = strchr(in_spec[s], '=');
        const char *file = eq ? eq + 1 : in_spec[s];
        int k = s;
        if (eq) {
            for (k = 0; k < g->n_inputs && strncmp(g->values[g->inputs[k]].name, in_spec[s], (size_t)(eq - in_spec[s]));
                 k++)
                ;
            if (k == g->n_inputs) {
                oc_fail(&d, "the model has no input named '%.*s'", (int)(eq - in_spec[s]), in_spec[s]);
                goto fail;
            }
        }
        if (inputs[k] || !(inputs[k] = cli_load_tensor(file, &d)))
            goto fail;
        oc_value *val = &g->values[g->inputs[k]];
        if (val->rank == inputs[k]->rank)
            for (int i = 0; i < val->rank; i++)
                if (val->dims[i] < 0)
                    val->dims[i] = inputs[k]->dims[i];
    }
    n_in = g->n_inputs;
    if (!(inputs[n_in] = cli_load_tensor(labels, &d)))
        goto fail;
    if (class_loss && inputs[n_in]->dtype != OC_INT64 && inputs[n_in]->dtype != OC_INT32) {
        oc_fail(&d, "%s: labels must be int64 or int32 class indices, got %s", labels, oc_dtype_name(inputs[n_in]->dtype));
        goto fail;
    }
    if (!class_loss && inputs[n_in]->dtype != OC_FLOAT) {
        oc_fail(&d, "%s: --loss %s needs float32 targets, got %s", labels, loss, oc_dtype_name(inputs[n_in]->dtype));
        goto fail;
    }
    if (class_weights && !(inputs[n_in + 1] = cli_load_tensor(class_weights, &d)))
        goto fail;
    /* constants folded for static shapes (autodiff drops any that depend
     * on a parameter); no other rewrites before training */
    if (oc_pass_untie_params(g, NULL, &d) || oc_fold_constants(g, &d) < 0)
        goto fail;
    if (g->n_outputs < 1) {
        oc_fail(&d, "the model has no output to take the loss of");
        goto fail;
    }
    /* loss = SoftmaxCrossEntropyLoss(first output, labels) (NLL: the output
     * is taken as log-probabilities); label smoothing needs onnxc's own
     * CrossEntropyLoss; the other losses are onnxc's too (domain ai.onnxc).
     * Class weights are a graph input, so they never count as parameters.
     * The training graph (BN modes, loss, backward) is compiler/train.c's. */
    oc_loss_spec ls = {0};
    ls.op = loss_k == 0 && smoothing > 0 ? "CrossEntropyLoss" : loss_ops[loss_k];
    ls.domain = loss_k >= 2 || strcmp(ls.op, "CrossEntropyLoss") == 0 ? OC_DOMAIN_ONNXC : "";
    ls.label_dtype = inputs[n_in]->dtype;
    ls.label_rank = inputs[n_in]->rank;
    memcpy(ls.label_dims, inputs[n_in]->dims, sizeof(int64_t) * (size_t)inputs[n_in]->rank);
    if (class_weights) {
        if (inputs[n_in + 1]->rank != 1) {
            oc_fail(&d, "%s: class weights must be a 1-D tensor", class_weights);
            goto fail;
        }
        ls.class_weights = inputs[n_in + 1]->dims[0];
    }
    const char *fname_attr = smoothing > 0 ? "label_smoothing" : loss_k == 4 ? "delta" : loss_k == 5 ? "beta" : NULL;
    if (fname_attr) {
        ls.n_fattrs = 1;
        ls.fattr_name[0] = fname_attr;
        ls.fattr[0] = (float)(smoothing > 0 ? smoothing : delta);
    }
    oc_train_graph tg;
    int bn_train = !strcmp(bn, "train");
    int built = oc_train_graph_build(g, &ls, NULL, bn_train ? OC_BN_TRAIN : OC_BN_MODEL, bn_train, &tg, &d);
    g = NULL; /* owned by tg now (freed on failure) */
    if (built)
        goto fail;
    g = tg.g;
    n_params = tg.n_params;
    tg.g = NULL;
    oc_train_graph_free(&tg);
    oc_plan_opts po = {oc_get_threads(), 0};
    if (!(p = oc_plan_build(g, &po, &d)))
        goto fail;
    for (int k = 0; k <= n_in + (class_weights != NULL); k++)
        if (oc_plan_set_input(p, k, inputs[k], &d))
            goto fail;
    if (oc_plan_run(p, &d))
        goto fail;
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        oc_fail(&d, "%s: cannot create output folder: %s", out_dir, strerror(errno));
        goto fail;
    }
    /* outputs of the plan in graph order: find by name */
    for (int k = 0; k < p->n_outputs; k++) {
        const char *name = p->names[p->outputs[k]];
        const char *fname = NULL;
        if (!strcmp(name, "onnxc_loss"))
            fname = "loss";
        else if (!strncmp(name, "grad_", 5))
            fname = name;
        if (!fname)
            continue;
        char safe[512], path[4096];
        snprintf(safe, sizeof safe, "%s", fname);
        for (char *c = safe; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
                *c = '_';
        snprintf(path, sizeof path, "%s/%s.pb", out_dir, safe);
        if (oc_onnx_save_tensor(&p->tensors[p->outputs[k]], name, path, &d))
            goto fail;
        if (!strcmp(fname, "loss"))
            printf("loss %.6g\n", (double)*(float *)p->tensors[p->outputs[k]].data);
    }
    printf("wrote loss.pb and %d gradients to %s\n", n_params, out_dir);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc grad: error: %s: %s\n", model, d.msg);
done:
    for (int k = 0; k < 66; k++)
        oc_tensor_free(inputs[k]);
    oc_plan_free(p);
    oc_graph_free(g);
    return rc;
}
