/* train_ref.c: the onnxc runtime's side of the generated-training test
 * (codegen/test_train.py). Runs K training steps of MODEL.onnx with the
 * library's trainer (compiler/trainer.h) on the batches of SAMPLES.npy /
 * LABELS.npy in order, configured as `onnxc compile --train` configures
 * the generated module, and writes the trained parameters and running
 * statistics as an onnxc tensors file, the format the generated
 * NAME_train_save_weights writes.
 *   train_ref MODEL.onnx SAMPLES.npy LABELS.npy STEPS LR OPTIM MOMENTUM FREEZE OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compiler/head.h"
#include "../../compiler/onnx_import.h"
#include "../../compiler/shape.h"
#include "../../compiler/trainer.h"
#include "../../runtime/io.h"

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: train_ref MODEL.onnx SAMPLES.npy LABELS.npy STEPS LR OPTIM MOMENTUM none|backbone OUT\n");
        return 2;
    }
    oc_diag d;
    oc_diag_init(&d);
    int rc = 1, steps = atoi(argv[4]);
    double lr = atof(argv[5]);
    oc_graph *g = oc_onnx_load(argv[1], &d);
    oc_tensor *x = g ? oc_npy_read(argv[2], &d) : NULL, *y = x ? oc_npy_read(argv[3], &d) : NULL;
    oc_trainer *t = NULL;
    unsigned char *flags = NULL;
    if (!y || oc_graph_infer_shapes(g, &d))
        goto out;
    oc_train_config tc;
    oc_train_config_default(&tc);
    if (oc_optim_kind_parse(argv[6], &tc.optim.kind)) {
        oc_fail(&d, "unknown optimizer %s", argv[6]);
        goto out;
    }
    oc_optim_config_default(&tc.optim, tc.optim.kind);
    tc.optim.momentum = atof(argv[7]);
    oc_schedule_default(&tc.schedule, OC_LR_CONSTANT, lr);
    tc.threads = 1;
    if (!strcmp(argv[8], "backbone")) {
        oc_head h;
        if (oc_head_find(g, NULL, &h, &d) || !(flags = oc_head_trainable(g, &h, &d)))
            goto out;
        tc.trainable = flags;
    }
    if (!(t = oc_trainer_new(g, &tc, &d)))
        goto out;
    int64_t b = oc_trainer_batch(t), per = x->numel / x->dims[0];
    if (y->dtype != OC_INT64 || x->dtype != OC_FLOAT || x->dims[0] % b || y->numel != x->dims[0]) {
        oc_fail(&d, "samples / labels do not match the batch %lld", (long long)b);
        goto out;
    }
    int64_t nb = x->dims[0] / b;
    for (int s = 0; s < steps; s++) {
        double loss;
        int64_t bi = s % nb;
        if (oc_trainer_step(t, (const float *)x->data + bi * b * per, (const int64_t *)y->data + bi * b, &loss))
            goto out;
        printf("step %d loss %.6f\n", s + 1, loss);
    }
    /* the parameters, then the running statistics, by name */
    oc_trainer_layout l;
    oc_trainer_get_layout(t, &l);
    const oc_plan *p = l.plan;
    int n = 0;
    const char **names = calloc((size_t)p->n_tensors + 1, sizeof *names);
    const oc_tensor **ts = calloc((size_t)p->n_tensors + 1, sizeof *ts);
    for (int k = 0; names && ts && k < p->n_tensors; k++)
        if (p->kind[k] == OC_T_PARAM) {
            names[n] = p->names[k];
            ts[n++] = &p->tensors[k];
        }
    for (int k = 0; names && ts && k < l.n_stats; k++) {
        names[n] = p->names[l.stat[k]];
        ts[n++] = &p->tensors[l.stat[k]];
    }
    if (names && ts && !oc_tensors_save(argv[9], n, names, ts, &d))
        rc = 0;
    free(names);
    free(ts);
out:
    if (rc)
        fprintf(stderr, "train_ref: %s\n", d.msg);
    oc_trainer_free(t);
    free(flags);
    oc_tensor_free(x);
    oc_tensor_free(y);
    oc_graph_free(g);
    return rc;
}
