/* test_pass_manager.c: the pass manager's switches on a small graph built
 * in C, and the planner's views.
 *
 * Graph: y = Identity(Dropout(Relu(BN(Conv(x, W, B))))) (opset 13 Dropout:
 * inference) plus a dead Relu(x). Checked:
 * which passes run (default, --no-fuse, training, exactly-these, one off),
 * the graph each leaves (all on: one FusedConv writing 'y'), that a
 * trainable W is never folded, that unknown names are an error listing the
 * valid ones, and that the rewritten graph computes what the original does
 * (plan + run both, max difference printed); two Convs sharing a weight
 * each fold their own BN into their own copy. Views: Conv -> Flatten ->
 * Gemm plans the Flatten as no step, its output at the Conv output's
 * offset, with the same result as the copying plan. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../compiler/passes/pass.h"
#include "../../compiler/planner.h"
#include "../../compiler/shape.h"
#include "../unit/check.h"

static oc_tensor *filled(int rank, const int64_t *dims, float base, float step)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_tensor *t = oc_tensor_new(OC_FLOAT, rank, dims, &d);
    float *p = t->data;
    for (int64_t i = 0; i < t->numel; i++)
        p[i] = base + step * (float)((i * 7919) % 23 - 11);
    return t;
}

static oc_graph *build_bn_graph(void)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_graph_new("bn", 13, &d);
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3}, c3 = 3;
    oc_graph_add_input(g, "x", OC_FLOAT, 4, xd, NULL, &d);
    oc_graph_add_initializer(g, "W", filled(4, wd, 0.0f, 0.05f), &d);
    oc_graph_add_initializer(g, "B", filled(1, &c3, 0.1f, 0.02f), &d);
    oc_graph_add_initializer(g, "scale", filled(1, &c3, 1.0f, 0.03f), &d);
    oc_graph_add_initializer(g, "beta", filled(1, &c3, 0.2f, 0.01f), &d);
    oc_graph_add_initializer(g, "mean", filled(1, &c3, 0.05f, 0.02f), &d);
    oc_graph_add_initializer(g, "var", filled(1, &c3, 1.2f, 0.04f), &d);
    const char *ci[3] = {"x", "W", "B"}, *co[1] = {"c"}, *bi[5] = {"c", "scale", "beta", "mean", "var"},
               *bo[1] = {"b"}, *ri[1] = {"b"}, *ro[1] = {"r"}, *pi[1] = {"r"}, *po[1] = {"p"}, *ii[1] = {"p"},
               *io[1] = {"y"}, *di[1] = {"x"}, *dout[1] = {"dead"};
    int conv = oc_graph_add_node(g, "Conv", "conv", 3, ci, 1, co, &d);
    int64_t pads[4] = {1, 1, 1, 1};
    oc_node_set_ints(g, conv, "pads", 4, pads, &d);
    oc_graph_add_node(g, "BatchNormalization", "bn", 5, bi, 1, bo, &d);
    oc_graph_add_node(g, "Relu", "relu", 1, ri, 1, ro, &d);
    oc_graph_add_node(g, "Dropout", "drop", 1, pi, 1, po, &d);
    oc_graph_add_node(g, "Identity", "id", 1, ii, 1, io, &d);
    oc_graph_add_node(g, "Relu", "unused", 1, di, 1, dout, &d);
    oc_graph_mark_output(g, oc_graph_find(g, "y"), &d);
    CHECK(!d.failed && !oc_graph_infer_shapes(g, &d), "building: %s", d.msg);
    return g;
}

/* Runs g's plan on x; returns output k copied into out (n floats). */
static int run_output(const oc_graph *g, int views, const oc_tensor *x, int k, float *out, int64_t n, int *steps)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_plan_opts po = {1, 0};
    po.views = views;
    oc_plan *p = oc_plan_build(g, &po, &d);
    int rc = !p || oc_plan_set_input(p, 0, x, &d) || oc_plan_run(p, &d);
    CHECK(!rc, "plan/run: %s", d.msg);
    if (!rc) {
        const oc_tensor *y = &p->tensors[p->outputs[k]];
        CHECK(y->numel == n, "output has %lld elements, expected %lld", (long long)y->numel, (long long)n);
        memcpy(out, y->data, sizeof(float) * (size_t)(y->numel < n ? y->numel : n));
        if (steps)
            *steps = p->n_steps;
    }
    oc_plan_free(p);
    return rc;
}

static int run_graph(const oc_graph *g, int views, const oc_tensor *x, float *out, int64_t n, int *steps)
{
    return run_output(g, views, x, 0, out, n, steps);
}

static int count_op(const oc_graph *g, const char *op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !strcmp(g->nodes[i].op_type, op);
    return c;
}

static const oc_pass_result *result(const oc_pass_report *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->r[i].name, name))
            return &r->r[i];
    return NULL;
}

static void test_default_and_numbers(void)
{
    oc_diag d;
    oc_diag_init(&d);
    int64_t xd[4] = {1, 2, 5, 5};
    oc_tensor *x = filled(4, xd, 0.3f, 0.11f);
    float before[75], after[75];
    oc_graph *g = build_bn_graph();
    run_graph(g, 0, x, before, 75, NULL);
    oc_pass_report rep;
    CHECK(oc_passes_run(g, NULL, &rep, &d) == 0, "%s", d.msg);
    CHECK(g->n_nodes == 1 && !strcmp(g->nodes[0].op_type, "FusedConv") && !strcmp(g->nodes[0].domain, "ai.onnxc"),
          "%d nodes, first %s", g->n_nodes, g->n_nodes ? g->nodes[0].op_type : "-");
    CHECK(g->n_nodes == 1 && !strcmp(g->values[g->nodes[0].out[0]].name, "y"), "the fused node must write 'y'");
    const char *names[] = {"fold", "widen", "identity", "bn_fold", "fuse", "dce"};
    /* widen: nothing (float32 throughout); dce: the dead Relu (then it
     * drops B and the BN's 4 inputs nothing reads any more, noted but not
     * counted: W, read by the Conv alone, was scaled in place) */
    int changes[] = {0, 0, 2, 1, 1, 1};
    for (int k = 0; k < 6; k++) {
        const oc_pass_result *r = result(&rep, names[k]);
        CHECK(r && r->state == OC_PASS_RAN && r->changes == changes[k], "%s: state %d changes %d", names[k],
              r ? r->state : -1, r ? r->changes : -1);
    }
    const oc_pass_result *bn = result(&rep, "bn_fold");
    CHECK(bn && bn->n_notes == 1 && strstr(bn->notes[0], "'bn'") && strstr(bn->notes[0], "'conv'"), "note '%s'",
          bn && bn->n_notes ? bn->notes[0] : "");
    const oc_pass_result *dce = result(&rep, "dce");
    CHECK(dce && dce->n_notes == 2 && strstr(dce->notes[0], "'unused'") && strstr(dce->notes[1], "dropped 5"),
          "dce notes: %s", dce && dce->n_notes ? dce->notes[dce->n_notes - 1] : "");
    oc_pass_report_free(&rep);
    run_graph(g, 1, x, after, 75, NULL);
    double worst = 0, scale = 0;
    for (int i = 0; i < 75; i++) {
        worst = fmax(worst, fabs(before[i] - after[i]));
        scale = fmax(scale, fabs(before[i]));
    }
    printf("Conv+BN+Relu+Dropout+Identity vs FusedConv: max abs diff %.3g (output scale %.3g)\n", worst, scale);
    CHECK(scale > 0.1 && worst <= 1e-5 * scale, "fused output differs by %g", worst);
    oc_graph_free(g);
    oc_tensor_free(x);
}

static void test_switches(void)
{
    oc_diag d;
    oc_pass_report rep;
    oc_pass_opts o;

    /* --no-fuse: nothing but folding and widening runs; the graph keeps its 6 nodes */
    oc_graph *g = build_bn_graph();
    oc_pass_opts_default(&o);
    o.no_fuse = 1;
    oc_diag_init(&d);
    CHECK(oc_passes_run(g, &o, &rep, &d) == 0, "%s", d.msg);
    CHECK(g->n_nodes == 6, "--no-fuse left %d nodes", g->n_nodes);
    CHECK(result(&rep, "fold")->state == OC_PASS_RAN, "fold must run under --no-fuse");
    CHECK(result(&rep, "widen")->state == OC_PASS_RAN, "widen must run under --no-fuse");
    const char *off[] = {"identity", "bn_fold", "fuse", "dce"};
    for (int k = 0; k < 4; k++)
        CHECK(result(&rep, off[k])->state == OC_PASS_SKIPPED && strstr(result(&rep, off[k])->why, "--no-fuse"),
              "%s: %s", off[k], result(&rep, off[k])->why);
    oc_pass_report_free(&rep);
    oc_graph_free(g);

    /* training: inference-only passes are skipped */
    g = build_bn_graph();
    oc_pass_opts_default(&o);
    o.training = 1;
    oc_diag_init(&d);
    CHECK(oc_passes_run(g, &o, &rep, &d) == 0, "%s", d.msg);
    CHECK(result(&rep, "bn_fold")->state == OC_PASS_SKIPPED && result(&rep, "fuse")->state == OC_PASS_SKIPPED &&
              strstr(result(&rep, "fuse")->why, "training"),
          "training: bn_fold %d fuse %d", result(&rep, "bn_fold")->state, result(&rep, "fuse")->state);
    CHECK(count_op(g, "BatchNormalization") == 1 && count_op(g, "Conv") == 1, "training folded something");
    CHECK(count_op(g, "Dropout") == 1, "training removed a Dropout");
    oc_pass_report_free(&rep);
    oc_graph_free(g);

    /* exactly bn_fold */
    g = build_bn_graph();
    oc_pass_opts_default(&o);
    oc_diag_init(&d);
    CHECK(oc_pass_opts_add(&o, 1, "bn_fold", &d) == 0, "%s", d.msg);
    CHECK(oc_passes_run(g, &o, &rep, &d) == 0, "%s", d.msg);
    CHECK(count_op(g, "BatchNormalization") == 0 && count_op(g, "Relu") == 2 && count_op(g, "Identity") == 1 &&
              count_op(g, "Dropout") == 1,
          "only bn_fold: %d nodes", g->n_nodes);
    CHECK(result(&rep, "fuse")->state == OC_PASS_SKIPPED && strstr(result(&rep, "fuse")->why, "--passes"),
          "fuse: %s", result(&rep, "fuse")->why);
    oc_pass_report_free(&rep);
    oc_graph_free(g);

    /* everything but fuse */
    g = build_bn_graph();
    oc_pass_opts_default(&o);
    oc_diag_init(&d);
    CHECK(oc_pass_opts_add(&o, 0, "fuse", &d) == 0, "%s", d.msg);
    CHECK(oc_passes_run(g, &o, &rep, &d) == 0, "%s", d.msg);
    CHECK(g->n_nodes == 2 && count_op(g, "Conv") == 1 && count_op(g, "Relu") == 1, "--no-pass fuse: %d nodes",
          g->n_nodes);
    oc_pass_report_free(&rep);
    oc_graph_free(g);

    /* a trainable W is never folded into */
    g = build_bn_graph();
    g->values[oc_graph_find(g, "W")].flags |= OC_VALUE_VARIABLE;
    oc_diag_init(&d);
    CHECK(oc_passes_run(g, NULL, &rep, &d) == 0, "%s", d.msg);
    CHECK(count_op(g, "BatchNormalization") == 1 && result(&rep, "bn_fold")->changes == 0,
          "folded a BN into a trainable weight");
    oc_pass_report_free(&rep);
    oc_graph_free(g);

    /* unknown names */
    oc_pass_opts_default(&o);
    oc_diag_init(&d);
    CHECK(oc_pass_opts_add(&o, 0, "fold,fusion", &d) == -1 && strstr(d.msg, "unknown pass 'fusion'") &&
              strstr(d.msg, "fold, widen, identity, bn_fold, fuse, dce"),
          "msg '%s'", d.msg);
}

/* Two Convs share W, each followed by its own BN: each gets its own
 * folded copy, W itself stays intact until nothing reads it. */
static void test_shared_weight(void)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_graph_new("shared", 13, &d);
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1}, c3 = 3;
    oc_graph_add_input(g, "x", OC_FLOAT, 4, xd, NULL, &d);
    oc_graph_add_initializer(g, "W", filled(4, wd, 0.1f, 0.05f), &d);
    const char *st[8] = {"s1", "b1", "m1", "v1", "s2", "b2", "m2", "v2"};
    for (int k = 0; k < 8; k++)
        oc_graph_add_initializer(g, st[k], filled(1, &c3, k % 4 == 3 ? 1.5f : 0.3f + 0.1f * (float)k, 0.02f), &d);
    const char *c1i[2] = {"x", "W"}, *c1o[1] = {"c1"}, *c2o[1] = {"c2"}, *n1i[5] = {"c1", "s1", "b1", "m1", "v1"},
               *n1o[1] = {"y1"}, *n2i[5] = {"c2", "s2", "b2", "m2", "v2"}, *n2o[1] = {"y2"};
    oc_graph_add_node(g, "Conv", "conv1", 2, c1i, 1, c1o, &d);
    oc_graph_add_node(g, "Conv", "conv2", 2, c1i, 1, c2o, &d);
    oc_graph_add_node(g, "BatchNormalization", "bn1", 5, n1i, 1, n1o, &d);
    oc_graph_add_node(g, "BatchNormalization", "bn2", 5, n2i, 1, n2o, &d);
    oc_graph_mark_output(g, oc_graph_find(g, "y1"), &d);
    oc_graph_mark_output(g, oc_graph_find(g, "y2"), &d);
    CHECK(!d.failed && !oc_graph_infer_shapes(g, &d), "building: %s", d.msg);
    oc_tensor *x = filled(4, xd, 0.2f, 0.07f);
    float before[2][48], after[2][48];
    for (int k = 0; k < 2; k++)
        run_output(g, 0, x, k, before[k], 48, NULL);
    oc_pass_report rep;
    CHECK(oc_passes_run(g, NULL, &rep, &d) == 0, "%s", d.msg);
    CHECK(result(&rep, "bn_fold")->changes == 2 && count_op(g, "BatchNormalization") == 0, "shared W: %d BN left",
          count_op(g, "BatchNormalization"));
    CHECK(g->n_nodes == 2 && g->nodes[0].in[1] != g->nodes[1].in[1], "each Conv needs its own folded weights");
    oc_pass_report_free(&rep);
    double worst = 0;
    for (int k = 0; k < 2; k++) {
        run_output(g, 0, x, k, after[k], 48, NULL);
        for (int i = 0; i < 48; i++)
            worst = fmax(worst, fabs(before[k][i] - after[k][i]));
    }
    printf("shared weight, two BN folds: max abs diff %.3g\n", worst);
    CHECK(worst <= 1e-5, "shared-weight fold differs by %g", worst);
    oc_tensor_free(x);
    oc_graph_free(g);
}

static void test_views(void)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_graph_new("view", 13, &d);
    int64_t xd[4] = {2, 2, 4, 4}, wd[4] = {3, 2, 1, 1}, fd[2] = {4, 48};
    oc_graph_add_input(g, "x", OC_FLOAT, 4, xd, NULL, &d);
    oc_graph_add_initializer(g, "W", filled(4, wd, 0.1f, 0.05f), &d);
    oc_graph_add_initializer(g, "F", filled(2, fd, 0.0f, 0.01f), &d);
    const char *ci[2] = {"x", "W"}, *co[1] = {"c"}, *fi[1] = {"c"}, *fo[1] = {"f"}, *gi[2] = {"f", "F"}, *go[1] = {"y"};
    oc_graph_add_node(g, "Conv", "conv", 2, ci, 1, co, &d);
    oc_graph_add_node(g, "Flatten", "flat", 1, fi, 1, fo, &d);
    int gm = oc_graph_add_node(g, "Gemm", "fc", 2, gi, 1, go, &d);
    oc_node_set_int(g, gm, "transB", 1, &d);
    oc_graph_mark_output(g, oc_graph_find(g, "y"), &d);
    CHECK(!d.failed && !oc_graph_infer_shapes(g, &d), "building: %s", d.msg);
    oc_tensor *x = filled(4, xd, 0.2f, 0.07f);
    float copy[8], view[8];
    int s_copy = 0, s_view = 0;
    run_graph(g, 0, x, copy, 8, &s_copy);
    run_graph(g, 1, x, view, 8, &s_view);
    CHECK(s_copy == 3 && s_view == 2, "steps: %d copying, %d with views", s_copy, s_view);
    int same = 1;
    for (int i = 0; i < 8; i++)
        same &= copy[i] == view[i];
    CHECK(same, "the view plan computes something else");
    oc_plan_opts po = {1, 0};
    po.views = 1;
    oc_plan *p = oc_plan_build(g, &po, &d);
    CHECK(p != NULL, "%s", d.msg);
    if (p) {
        int tc = -1, tf = -1;
        for (int t = 0; t < p->n_tensors; t++) {
            if (!strcmp(p->names[t], "c"))
                tc = t;
            if (!strcmp(p->names[t], "f"))
                tf = t;
        }
        CHECK(tc >= 0 && tf >= 0 && p->tensors[tc].data == p->tensors[tf].data,
              "the Flatten output must alias the Conv output");
        printf("views: %d steps instead of %d; arena %zu bytes, intermediates %zu bytes\n", s_view, s_copy,
               p->arena_bytes, p->tensor_bytes);
        oc_plan_free(p);
    }
    oc_tensor_free(x);
    oc_graph_free(g);
}

int main(void)
{
    test_default_and_numbers();
    test_switches();
    test_shared_weight();
    test_views();
    return check_finish("test_pass_manager");
}
