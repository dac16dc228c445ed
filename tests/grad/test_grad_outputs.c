/* test_grad_outputs.c: how autodiff hands each parameter its gradient.
 * A parameter with one gradient contribution gets the value computed by
 * the node that makes it, with no copy through a one-input Sum:
 *   loss = ReduceSum(((X W) + B1 + B2) * R)
 * differentiated for W, B1 and B2 has no such copy. Autodiff undoes
 * broadcasting with SumToShape before shapes are known; here every one
 * is a plain copy, which the identity pass removes, all but one: dB1 and
 * dB2 are then the same value, and two outputs need one copy. After the
 * passes the gradients match dW = X^T R, dB1 = dB2 = R (in double).
 * Where the contribution is not a node's own result, the copy stays:
 *   loss = P1 + P2 (scalars)
 * gives both parameters the loss's seed gradient, an input, so each gets
 * a copy of it (two outputs, both 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compiler/autodiff.h"
#include "../../compiler/passes/pass.h"
#include "../../compiler/planner.h"
#include "../../compiler/shape.h"
#include "../unit/check.h"
#include "graph_util.h"

enum { R_ = 4, K_ = 3, C_ = 5 };

/* One-input Sum nodes: copies of a gradient into its named output. */
static int one_input_sums(const oc_graph *g)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !strcmp(g->nodes[i].op_type, "Sum") && g->nodes[i].n_in == 1;
    return c;
}

/* loss = P1 + P2: both gradients are the seed itself, so both are copies. */
static void check_shared_seed(void)
{
    oc_diag d;
    oc_diag_init(&d);
    float p1 = 0.25f, p2 = -2.0f;
    oc_graph *g = oc_graph_new("shared_seed", 13, &d);
    const char *in[2] = {"P1", "P2"}, *out[1] = {"loss"};
    int ok = g && add_const(g, "P1", 0, NULL, &p1, &d) >= 0 && add_const(g, "P2", 0, NULL, &p2, &d) >= 0 &&
             oc_graph_add_node(g, "Add", "add", 2, in, 1, out, &d) >= 0 && !oc_graph_infer_shapes(g, &d);
    int loss = ok ? oc_graph_find(g, "loss") : -1;
    ok = ok && !oc_graph_mark_output(g, loss, &d);
    int params[2] = {ok ? oc_graph_find(g, "P1") : -1, ok ? oc_graph_find(g, "P2") : -1}, grads[2];
    ok = ok && !oc_autodiff(g, loss, 2, params, NULL, grads, &d);
    CHECK(ok, "differentiating P1 + P2 failed: %s", d.msg);
    if (ok) {
        int copies = one_input_sums(g);
        CHECK(grads[0] != grads[1] && copies == 2, "P1 + P2: gradients %d and %d, %d copies (want two of the seed)",
              grads[0], grads[1], copies);
        oc_plan_opts po = {0};
        po.threads = 1;
        oc_plan *p = oc_plan_build(g, &po, &d);
        ok = p && !oc_plan_run(p, &d);
        CHECK(ok, "running P1 + P2's gradients failed: %s", d.msg);
        const oc_tensor *t1 = ok ? plan_output(p, "grad_P1") : NULL, *t2 = ok ? plan_output(p, "grad_P2") : NULL;
        CHECK(!ok || (t1 && t2 && *(const float *)t1->data == 1.0f && *(const float *)t2->data == 1.0f),
              "P1 + P2: gradients %g and %g, want 1 and 1", t1 ? *(const float *)t1->data : -1.0,
              t2 ? *(const float *)t2->data : -1.0);
        printf("loss = P1 + P2: %d copies of the seed, gradients 1 and 1\n", copies);
        oc_plan_free(p);
    }
    oc_graph_free(g);
}

int main(void)
{
    oc_diag d;
    oc_diag_init(&d);
    float x[R_ * K_], w[K_ * C_], b1[R_ * C_], b2[R_ * C_], r[R_ * C_];
    unsigned s = 5;
    float *all[5] = {x, w, b1, b2, r};
    int cnt[5] = {R_ * K_, K_ * C_, R_ * C_, R_ * C_, R_ * C_};
    for (int a = 0; a < 5; a++)
        for (int i = 0; i < cnt[a]; i++)
            all[a][i] = (float)frand(&s);
    int64_t xd[2] = {R_, K_}, wd[2] = {K_, C_}, yd[2] = {R_, C_};
    oc_graph *g = oc_graph_new("grad_outputs", 13, &d);
    CHECK(g != NULL, "%s", d.msg);
    if (!g)
        return check_finish("grad.outputs");
    int ok = add_const(g, "X", 2, xd, x, &d) >= 0 && add_const(g, "W", 2, wd, w, &d) >= 0 &&
             add_const(g, "B1", 2, yd, b1, &d) >= 0 && add_const(g, "B2", 2, yd, b2, &d) >= 0 &&
             add_const(g, "R", 2, yd, r, &d) >= 0;
    const char *mm_in[2] = {"X", "W"}, *mm_out[1] = {"Y"}, *a1_in[2] = {"Y", "B1"}, *a1_out[1] = {"Z1"};
    const char *a2_in[2] = {"Z1", "B2"}, *a2_out[1] = {"Z"}, *mul_in[2] = {"Z", "R"}, *mul_out[1] = {"P"};
    const char *red_in[1] = {"P"}, *red_out[1] = {"loss"};
    ok = ok && oc_graph_add_node(g, "MatMul", "mm", 2, mm_in, 1, mm_out, &d) >= 0 &&
         oc_graph_add_node(g, "Add", "add1", 2, a1_in, 1, a1_out, &d) >= 0 &&
         oc_graph_add_node(g, "Add", "add2", 2, a2_in, 1, a2_out, &d) >= 0 &&
         oc_graph_add_node(g, "Mul", "mul", 2, mul_in, 1, mul_out, &d) >= 0;
    int red = ok ? oc_graph_add_node(g, "ReduceSum", "sum", 1, red_in, 1, red_out, &d) : -1;
    ok = red >= 0 && !oc_node_set_int(g, red, "keepdims", 0, &d) && !oc_graph_infer_shapes(g, &d);
    int loss = oc_graph_find(g, "loss");
    ok = ok && !oc_graph_mark_output(g, loss, &d);
    int params[3] = {oc_graph_find(g, "W"), oc_graph_find(g, "B1"), oc_graph_find(g, "B2")}, grads[3];
    ok = ok && !oc_autodiff(g, loss, 3, params, NULL, grads, &d);
    CHECK(ok, "differentiating failed: %s", d.msg);
    if (!ok) {
        oc_graph_free(g);
        return check_finish("grad.outputs");
    }
    /* who writes each gradient */
    int copies = one_input_sums(g);
    int pw = g->values[grads[0]].producer;
    CHECK(pw >= 0 && strcmp(g->nodes[pw].op_type, "Sum") != 0, "grad_W is written by %s, not by its gradient op",
          pw >= 0 ? g->nodes[pw].op_type : "nothing");
    CHECK(copies == 0, "%d one-input Sum copies, want none", copies);
    printf("grad_W written by %s; one-input Sum copies: %d\n", pw >= 0 ? g->nodes[pw].op_type : "-", copies);

    int before = count_op(g, "SumToShape");
    oc_pass_opts popts;
    oc_pass_opts_default(&popts);
    oc_pass_report rep = {0};
    ok = !oc_graph_infer_shapes(g, &d) && !oc_passes_run(g, &popts, &rep, &d);
    oc_pass_report_free(&rep);
    CHECK(ok, "the passes failed: %s", d.msg);
    int after = count_op(g, "SumToShape");
    CHECK(before >= 4 && after == 1, "SumToShape copies: %d before the passes, %d after (want 4 or more, then 1)",
          before, after);
    printf("SumToShape copies: %d before the passes, %d after\n", before, after);
    oc_plan_opts po = {0};
    po.threads = 1;
    po.views = 1;
    oc_plan *p = ok ? oc_plan_build(g, &po, &d) : NULL;
    ok = p && !oc_plan_run(p, &d);
    CHECK(ok, "building or running the gradient plan failed: %s", d.msg);
    if (ok) {
        const oc_tensor *tw = plan_output(p, "grad_W"), *t1 = plan_output(p, "grad_B1"), *t2 = plan_output(p, "grad_B2");
        CHECK(tw && t1 && t2, "missing gradient outputs");
        double worst = 0;
        for (int k = 0; tw && k < K_; k++)
            for (int c = 0; c < C_; c++) {
                double want = 0;
                for (int i = 0; i < R_; i++)
                    want += (double)x[i * K_ + k] * r[i * C_ + c];
                worst = fmax(worst, fabs(((const float *)tw->data)[k * C_ + c] - want));
            }
        for (int i = 0; t1 && t2 && i < R_ * C_; i++) {
            worst = fmax(worst, fabs(((const float *)t1->data)[i] - r[i]));
            worst = fmax(worst, fabs(((const float *)t2->data)[i] - r[i]));
        }
        CHECK(worst <= 1e-6, "gradients differ from X^T R and R by %.3g", worst);
        printf("dW = X^T R, dB1 = dB2 = R: max abs err %.1e\n", worst);
    }
    oc_plan_free(p);
    oc_graph_free(g);
    check_shared_seed();
    return check_finish("grad.outputs");
}
