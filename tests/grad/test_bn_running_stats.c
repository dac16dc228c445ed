/* test_bn_running_stats.c: BatchNormalization under autodiff with
 * bn_train (onnxc grad --bn train). An opset-13 inference-mode node
 * Y = BN(X) feeding loss = ReduceSum(Y * R) is differentiated; checked
 * against a double-precision reference computed here:
 *   - the forward switched to batch statistics (the loss value),
 *   - the running statistics it writes to the graph outputs
 *     updated_<mean> / updated_<var> follow the ONNX spec:
 *     running = input * momentum + batch * (1 - momentum), with the
 *     population variance of the batch,
 *   - the scale and bias gradients, dScale = sum R * xhat, dB = sum R.
 * Then the explicit per-node modes (compiler/train.h): two BNs in a row,
 * only the second one's scale trainable: oc_train_graph_build with the
 * auto policy freezes the first (training_mode 0, no extra outputs) and
 * trains the second, and records exactly its two running statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compiler/autodiff.h"
#include "../../compiler/planner.h"
#include "../../compiler/shape.h"
#include "../../compiler/train.h"
#include "../unit/check.h"
#include "graph_util.h"

enum { N = 5, C = 3, S = 4 };

/* X -> bn1 -> bn2 -> ReduceSum; only bn2's scale is trainable. */
static void check_modes(const float *scale, const float *bias, const float *mean, const float *var)
{
    oc_diag d;
    oc_diag_init(&d);
    float x[N * C * S];
    unsigned seed = 11;
    for (int i = 0; i < N * C * S; i++)
        x[i] = (float)frand(&seed);
    int64_t xd[3] = {N, C, S}, cd[1] = {C};
    oc_graph *g = oc_graph_new("bn_modes", 15, &d);
    const char *names[8] = {"s1", "b1", "m1", "v1", "s2", "b2", "m2", "v2"};
    const float *vals[4] = {scale, bias, mean, var};
    int ok = g && add_const(g, "X", 3, xd, x, &d) >= 0;
    for (int k = 0; ok && k < 8; k++)
        ok = add_const(g, names[k], 1, cd, vals[k % 4], &d) >= 0;
    const char *in1[5] = {"X", "s1", "b1", "m1", "v1"}, *o1[1] = {"Y1"};
    const char *in2[5] = {"Y1", "s2", "b2", "m2", "v2"}, *o2[1] = {"Y2"}, *ro[1] = {"out"};
    int n1 = ok ? oc_graph_add_node(g, "BatchNormalization", "bn1", 5, in1, 1, o1, &d) : -1;
    int n2 = n1 >= 0 ? oc_graph_add_node(g, "BatchNormalization", "bn2", 5, in2, 1, o2, &d) : -1;
    int nr = n2 >= 0 ? oc_graph_add_node(g, "Flatten", "flat", 1, o2, 1, ro, &d) : -1;
    ok = nr >= 0 && !oc_graph_infer_shapes(g, &d) && !oc_graph_mark_output(g, oc_graph_find(g, "out"), &d);
    unsigned char *tr = ok ? calloc((size_t)g->n_values, 1) : NULL;
    oc_train_graph tg = {0};
    if (tr)
        tr[oc_graph_find(g, "s2")] = 1;
    /* the loss: MSELoss against float targets of the output's shape */
    oc_loss_spec ls = {0};
    ls.op = "MSELoss";
    ls.domain = OC_DOMAIN_ONNXC;
    ls.label_dtype = OC_FLOAT;
    ls.label_rank = 2;
    ls.label_dims[0] = N;
    ls.label_dims[1] = C * S;
    int built = tr ? oc_train_graph_build(g, &ls, tr, OC_BN_AUTO, 0, &tg, &d) : -1;
    if (!tr)
        oc_graph_free(g);
    free(tr);
    CHECK(built == 0, "building the training graph failed: %s", d.msg);
    if (built == 0) {
        const oc_node *b1 = &tg.g->nodes[n1], *b2 = &tg.g->nodes[n2];
        CHECK(oc_attr_int(b1, "training_mode", -1) == 0 && (b1->n_out == 1 || b1->out[1] < 0),
              "bn1 (frozen) should be training_mode 0 without running-stat outputs");
        CHECK(oc_attr_int(b2, "training_mode", -1) == 1 && b2->n_out == 3 && b2->out[1] >= 0 && b2->out[2] >= 0,
              "bn2 (trainable scale) should be training_mode 1 with running-stat outputs");
        CHECK(tg.n_params == 1 && tg.n_bn_train == 1 && tg.n_stats == 2, "params %d, training BNs %d, stats %d",
              tg.n_params, tg.n_bn_train, tg.n_stats);
        CHECK(tg.n_stats == 2 && tg.stat_state[0] == oc_graph_find(tg.g, "m2") &&
                  tg.stat_state[1] == oc_graph_find(tg.g, "v2") && tg.stat_out[0] == b2->out[1],
              "the running statistics tracked are not bn2's");
        printf("bn modes: bn1 frozen (training_mode 0), bn2 training (training_mode 1), %d running statistics tracked\n",
               tg.n_stats);
    }
    oc_train_graph_free(&tg);
}

int main(void)
{
    oc_diag d;
    oc_diag_init(&d);
    unsigned seed = 7;
    float x[N * C * S], r[N * C * S], scale[C], bias[C], mean[C], var[C];
    for (int i = 0; i < N * C * S; i++) {
        x[i] = (float)(2.0 * frand(&seed) + 0.3);
        r[i] = (float)frand(&seed);
    }
    for (int c = 0; c < C; c++) {
        scale[c] = (float)(1.0 + 0.5 * frand(&seed));
        bias[c] = (float)frand(&seed);
        mean[c] = (float)frand(&seed);
        var[c] = (float)(1.0 + 0.5 * frand(&seed));
    }
    const float momentum = 0.8f, eps = 1e-5f;
    int64_t xd[3] = {N, C, S}, cd[1] = {C};
    oc_graph *g = oc_graph_new("bn_train", 13, &d);
    CHECK(g != NULL, "%s", d.msg);
    if (!g)
        return check_finish("test_bn_running_stats");
    int ok = add_const(g, "X", 3, xd, x, &d) >= 0 && add_const(g, "R", 3, xd, r, &d) >= 0 &&
             add_const(g, "scale", 1, cd, scale, &d) >= 0 && add_const(g, "B", 1, cd, bias, &d) >= 0 &&
             add_const(g, "mean", 1, cd, mean, &d) >= 0 && add_const(g, "var", 1, cd, var, &d) >= 0;
    const char *bn_in[5] = {"X", "scale", "B", "mean", "var"}, *bn_out[1] = {"Y"};
    const char *mul_in[2] = {"Y", "R"}, *mul_out[1] = {"P"}, *red_in[1] = {"P"}, *red_out[1] = {"loss"};
    int bn = ok ? oc_graph_add_node(g, "BatchNormalization", "bn", 5, bn_in, 1, bn_out, &d) : -1;
    ok = bn >= 0 && !oc_node_set_float(g, bn, "momentum", momentum, &d) &&
         oc_graph_add_node(g, "Mul", "mul", 2, mul_in, 1, mul_out, &d) >= 0;
    int red = ok ? oc_graph_add_node(g, "ReduceSum", "sum", 1, red_in, 1, red_out, &d) : -1;
    ok = red >= 0 && !oc_node_set_int(g, red, "keepdims", 0, &d) && !oc_graph_infer_shapes(g, &d);
    int loss = oc_graph_find(g, "loss");
    ok = ok && !oc_graph_mark_output(g, loss, &d);
    int n_params = 0, *params = ok ? oc_trainable_params(g, &n_params, &d) : NULL;
    int grads[8];
    oc_autodiff_opts ao = {1};
    ok = params && n_params <= 8 && !oc_autodiff(g, loss, n_params, params, &ao, grads, &d);
    oc_plan_opts po = {0};
    po.threads = 1;
    oc_plan *p = ok ? oc_plan_build(g, &po, &d) : NULL;
    ok = p && !oc_plan_run(p, &d);
    CHECK(ok, "building or running the training graph failed: %s", d.msg);
    if (ok) {
        const oc_tensor *tl = plan_output(p, "loss"), *tm = plan_output(p, "updated_mean");
        const oc_tensor *tv = plan_output(p, "updated_var"), *ts = plan_output(p, "grad_scale");
        const oc_tensor *tb = plan_output(p, "grad_B");
        CHECK(tl && tm && tv && ts && tb, "missing outputs (loss %p, updated_mean %p, updated_var %p)", (void *)tl,
              (void *)tm, (void *)tv);
        if (tl && tm && tv && ts && tb) {
            double want_loss = 0, worst = 0;
            for (int c = 0; c < C; c++) {
                double s = 0, q = 0, ds = 0, db = 0;
                for (int n = 0; n < N; n++)
                    for (int i = 0; i < S; i++)
                        s += x[(n * C + c) * S + i];
                double m = s / (N * S);
                for (int n = 0; n < N; n++)
                    for (int i = 0; i < S; i++)
                        q += (x[(n * C + c) * S + i] - m) * (x[(n * C + c) * S + i] - m);
                double v = q / (N * S), inv = 1.0 / sqrt(v + eps);
                for (int n = 0; n < N; n++)
                    for (int i = 0; i < S; i++) {
                        int j = (n * C + c) * S + i;
                        double xh = (x[j] - m) * inv;
                        want_loss += r[j] * (xh * scale[c] + bias[c]);
                        ds += r[j] * xh;
                        db += r[j];
                    }
                double wm = mean[c] * (double)momentum + m * (1 - (double)momentum);
                double wv = var[c] * (double)momentum + v * (1 - (double)momentum);
                double got[4] = {((float *)tm->data)[c], ((float *)tv->data)[c], ((float *)ts->data)[c],
                                 ((float *)tb->data)[c]};
                double want[4] = {wm, wv, ds, db};
                for (int k = 0; k < 4; k++) {
                    double e = fabs(got[k] - want[k]) / fmax(fabs(want[k]), 1e-3);
                    worst = fmax(worst, e);
                    CHECK(e <= 1e-5, "channel %d quantity %d: got %.7g want %.7g", c, k, got[k], want[k]);
                }
            }
            double got_loss = *(float *)tl->data;
            CHECK(fabs(got_loss - want_loss) <= 1e-4 * fmax(1.0, fabs(want_loss)),
                  "loss %.7g, batch-statistics reference %.7g", got_loss, want_loss);
            printf("bn --train: loss %.6f (ref %.6f); running mean/var and dScale/dB max rel err %.1e\n", got_loss,
                   want_loss, worst);
        }
    }
    oc_plan_free(p);
    free(params);
    oc_graph_free(g);
    check_modes(scale, bias, mean, var);
    return check_finish("test_bn_running_stats");
}
