/* test_graph.c: the IR and its builder API: value/node creation, name
 * lookup under growth, topological sort of shuffled nodes, cycle and
 * undefined-input errors, checked shape products, shape inference of a
 * small CNN built in C (expected shapes from the conv/pool formulas of the
 * ONNX spec, computed here by hand), and op domains: the registry keyed by
 * (domain, name), and the opset import export writes for ai.onnxc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compiler/graph.h"
#include "../../compiler/onnx_export.h"
#include "../../compiler/onnx_import.h"
#include "../../compiler/ops/op.h"
#include "../../compiler/shape.h"
#include "../../runtime/io.h"
#include "check.h"
#include "onnx.pb-c.h"

static void test_numel(void)
{
    oc_diag d;
    int64_t n;
    int64_t ok[3] = {2, 3, 4}, big[2] = {(int64_t)1 << 40, (int64_t)1 << 40}, neg[2] = {2, -1};
    oc_diag_init(&d);
    CHECK(oc_shape_numel(ok, 3, &n, &d) == 0 && n == 24, "numel %lld", (long long)n);
    oc_diag_init(&d);
    CHECK(oc_shape_numel(big, 2, &n, &d) == -1 && strstr(d.msg, "overflows"), "msg '%s'", d.msg);
    oc_diag_init(&d);
    CHECK(oc_shape_numel(neg, 2, &n, &d) == -1 && strstr(d.msg, "negative"), "msg '%s'", d.msg);
}

static void test_lookup_under_growth(void)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_graph_new("g", 13, &d);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        CHECK(oc_graph_add_value(g, name, &d) == i, "add %d", i);
    }
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        bad += oc_graph_find(g, name) != i;
    }
    CHECK(bad == 0, "%d lookups wrong", bad);
    CHECK(oc_graph_find(g, "nope") == -1, "absent name found");
    CHECK(oc_graph_add_value(g, "v7", &d) == -1 && strstr(d.msg, "twice"), "duplicate accepted: %s", d.msg);
    oc_graph_free(g);
}

/* x -> Relu(a) -> Relu(b) -> Add(a, b) = y, declared in reverse order. */
static void test_toposort_and_cycle(void)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_graph_new("g", 13, &d);
    int64_t dims[2] = {2, 3};
    oc_graph_add_input(g, "x", OC_FLOAT, 2, dims, NULL, &d);
    oc_graph_add_value(g, "a", &d);
    oc_graph_add_value(g, "b", &d);
    const char *add_in[2] = {"a", "b"}, *y[1] = {"y"}, *ra[1] = {"b"}, *ia[1] = {"a"}, *ix[1] = {"x"}, *oa[1] = {"a"};
    CHECK(oc_graph_add_node(g, "Add", "add", 2, add_in, 1, y, &d) == 0, "%s", d.msg);
    CHECK(oc_graph_add_node(g, "Relu", "relu_b", 1, ia, 1, ra, &d) == 1, "%s", d.msg);
    CHECK(oc_graph_add_node(g, "Relu", "relu_a", 1, ix, 1, oa, &d) == 2, "%s", d.msg);
    oc_graph_mark_output(g, oc_graph_find(g, "y"), &d);
    CHECK(oc_graph_validate(g, &d) == -1, "unsorted graph validated");
    oc_diag_init(&d);
    CHECK(oc_graph_toposort(g, &d) == 0, "%s", d.msg);
    CHECK(strcmp(g->nodes[0].name, "relu_a") == 0 && strcmp(g->nodes[1].name, "relu_b") == 0 &&
              strcmp(g->nodes[2].name, "add") == 0,
          "order %s %s %s", g->nodes[0].name, g->nodes[1].name, g->nodes[2].name);
    CHECK(oc_graph_validate(g, &d) == 0, "%s", d.msg);
    CHECK(oc_graph_infer_shapes(g, &d) == 0, "%s", d.msg);
    const oc_value *yv = &g->values[oc_graph_find(g, "y")];
    CHECK(yv->rank == 2 && yv->dims[0] == 2 && yv->dims[1] == 3 && yv->dtype == OC_FLOAT, "y rank %d", yv->rank);
    oc_graph_free(g);

    /* p = Relu(q), q = Relu(p): a cycle */
    oc_diag_init(&d);
    g = oc_graph_new("cyc", 13, &d);
    oc_graph_add_value(g, "p", &d);
    oc_graph_add_value(g, "q", &d);
    const char *p[1] = {"p"}, *q[1] = {"q"};
    oc_graph_add_node(g, "Relu", "r1", 1, q, 1, p, &d);
    oc_graph_add_node(g, "Relu", "r2", 1, p, 1, q, &d);
    CHECK(oc_graph_toposort(g, &d) == -1 && strstr(d.msg, "cycle"), "msg '%s'", d.msg);
    oc_graph_free(g);

    /* an input nobody defines */
    oc_diag_init(&d);
    g = oc_graph_new("undef", 13, &d);
    const char *ghost[1] = {"ghost"}, *o[1] = {"o"};
    CHECK(oc_graph_add_node(g, "Relu", "r", 1, ghost, 1, o, &d) == -1 && strstr(d.msg, "'ghost' is not defined"),
          "msg '%s'", d.msg);
    oc_graph_free(g);
}

/* Conv 3->8 k3 s2 p1 on 1x3x15x15, MaxPool k2 s2 ceil_mode, Flatten, Gemm
 * 8*4*4 -> 5. Conv: floor((15 + 2 - 3) / 2) + 1 = 8; pool with ceil: 4. */
static void test_small_cnn_shapes(void)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_graph_new("cnn", 13, &d);
    int64_t xd[4] = {1, 3, 15, 15}, wd[4] = {8, 3, 3, 3}, gd[2] = {5, 128};
    oc_graph_add_input(g, "x", OC_FLOAT, 4, xd, NULL, &d);
    oc_graph_add_initializer(g, "w", oc_tensor_new(OC_FLOAT, 4, wd, &d), &d);
    oc_graph_add_initializer(g, "fw", oc_tensor_new(OC_FLOAT, 2, gd, &d), &d);
    const char *cin[2] = {"x", "w"}, *cout[1] = {"c"}, *pin[1] = {"c"}, *pout[1] = {"p"}, *fin[1] = {"p"},
               *fout[1] = {"f"}, *gin[2] = {"f", "fw"}, *gout[1] = {"y"};
    int c = oc_graph_add_node(g, "Conv", "conv", 2, cin, 1, cout, &d);
    int64_t s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1}, k2[2] = {2, 2};
    oc_node_set_ints(g, c, "strides", 2, s2, &d);
    oc_node_set_ints(g, c, "pads", 4, p1, &d);
    int p = oc_graph_add_node(g, "MaxPool", "pool", 1, pin, 1, pout, &d);
    oc_node_set_ints(g, p, "kernel_shape", 2, k2, &d);
    oc_node_set_ints(g, p, "strides", 2, s2, &d);
    oc_node_set_int(g, p, "ceil_mode", 1, &d);
    oc_graph_add_node(g, "Flatten", "flat", 1, fin, 1, fout, &d);
    int gm = oc_graph_add_node(g, "Gemm", "fc", 2, gin, 1, gout, &d);
    oc_node_set_int(g, gm, "transB", 1, &d);
    oc_graph_mark_output(g, oc_graph_find(g, "y"), &d);
    CHECK(!d.failed, "building: %s", d.msg);
    CHECK(oc_graph_infer_shapes(g, &d) == 0, "%s", d.msg);
    const oc_value *cv = &g->values[oc_graph_find(g, "c")], *pv = &g->values[oc_graph_find(g, "p")],
                   *yv = &g->values[oc_graph_find(g, "y")];
    CHECK(cv->rank == 4 && cv->dims[1] == 8 && cv->dims[2] == 8 && cv->dims[3] == 8, "conv %lld", (long long)cv->dims[2]);
    CHECK(pv->dims[2] == 4 && pv->dims[3] == 4, "pool %lld", (long long)pv->dims[2]);
    CHECK(yv->rank == 2 && yv->dims[0] == 1 && yv->dims[1] == 5, "gemm [%lld,%lld]", (long long)yv->dims[0],
          (long long)yv->dims[1]);
    oc_graph_free(g);
}

/* opset_import of a saved file as "domain:version,..." */
static void saved_opsets(const char *path, char *out, size_t cap)
{
    unsigned char *buf;
    size_t len, off = 0;
    oc_diag d;
    oc_diag_init(&d);
    out[0] = 0;
    if (oc_read_file(path, &buf, &len, (size_t)1 << 20, &d))
        return;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    for (size_t i = 0; mp && i < mp->n_opset_import && off < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s%s:%lld", i ? "," : "",
                                mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "",
                                (long long)mp->opset_import[i]->version);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
}

static void test_domains(void)
{
    oc_diag d;
    oc_diag_init(&d);
    CHECK(oc_ops_init(&d) == 0, "registry: %s", d.msg);
    int n;
    const oc_op *const *all = oc_op_all(&n);
    int order = 0;
    for (int i = 1; i < n; i++) { /* strictly sorted by (domain, name): no duplicates */
        const char *a = all[i - 1]->domain ? all[i - 1]->domain : "", *b = all[i]->domain ? all[i]->domain : "";
        int c = strcmp(a, b);
        order += c > 0 || (c == 0 && strcmp(all[i - 1]->name, all[i]->name) >= 0);
    }
    CHECK(n > 100 && order == 0, "%d ops, %d out of order or duplicated", n, order);
    CHECK(oc_op_find("", "Relu") && oc_op_find("ai.onnx", "Relu") == oc_op_find(NULL, "Relu"), "Relu lookup");
    CHECK(oc_op_find("", "ReluGrad") == NULL && oc_op_find("", "SumToShape") == NULL &&
              oc_op_find("", "MSELoss") == NULL && oc_op_find("", "ConvGradWeight") == NULL,
          "an internal op is reachable from the default domain");
    CHECK(oc_op_find(OC_DOMAIN_ONNXC, "ReluGrad") && oc_op_find(OC_DOMAIN_ONNXC, "MSELoss") &&
              oc_op_find(OC_DOMAIN_ONNXC, "Relu") == NULL,
          "ai.onnxc lookups");

    oc_graph *g = oc_graph_new("g", 17, &d);
    int64_t dims[2] = {2, 3};
    const char *in[2] = {"dy", "x"}, *o1[1] = {"r"}, *o2[1] = {"dx"};
    CHECK(g && oc_graph_add_input(g, "x", OC_FLOAT, 2, dims, NULL, &d) >= 0 &&
              oc_graph_add_input(g, "dy", OC_FLOAT, 2, dims, NULL, &d) >= 0,
          "%s", d.msg);
    int a = oc_graph_add_node(g, "ReluGrad", "plain", 2, in, 1, o1, &d);
    int b = oc_graph_add_node_in(g, OC_DOMAIN_ONNXC, "ReluGrad", "internal", 2, in, 1, o2, &d);
    CHECK(a >= 0 && b >= 0 && g->nodes[a].op == NULL && g->nodes[b].op == oc_op_find(OC_DOMAIN_ONNXC, "ReluGrad"),
          "node ops: %s", d.msg);
    oc_graph_mark_output(g, g->nodes[b].out[0], &d);
    char ops[256];
    const char *path = "test_graph_domains.onnx";
    CHECK(oc_onnx_save(g, path, &d) == 0, "save: %s", d.msg);
    saved_opsets(path, ops, sizeof ops);
    CHECK(strcmp(ops, ":17,ai.onnxc:1") == 0, "opset_import with an ai.onnxc node: '%s'", ops);
    oc_graph_free(g);
    g = oc_graph_new("g", 17, &d);
    CHECK(g && oc_graph_add_input(g, "x", OC_FLOAT, 2, dims, NULL, &d) >= 0 &&
              oc_graph_add_node(g, "Relu", "relu", 1, in + 1, 1, o1, &d) >= 0,
          "%s", d.msg);
    CHECK(oc_onnx_save(g, path, &d) == 0, "save: %s", d.msg);
    saved_opsets(path, ops, sizeof ops);
    CHECK(strcmp(ops, ":17") == 0, "opset_import without: '%s'", ops);
    oc_graph_free(g);

    /* ai.onnx.preview: FlexAttention is registered there only; a saved
     * graph imports the domain and loads back with the node in it */
    CHECK(oc_op_find(OC_DOMAIN_PREVIEW, "FlexAttention") && !oc_op_find("", "FlexAttention"), "FlexAttention lookup");
    int64_t qd[4] = {1, 2, 3, 4};
    const char *qkv[3] = {"q", "k", "v"}, *y[1] = {"y"};
    g = oc_graph_new("g", 26, &d);
    int ok = g != NULL;
    for (int i = 0; ok && i < 3; i++)
        ok = oc_graph_add_input(g, qkv[i], OC_FLOAT, 4, qd, NULL, &d) >= 0;
    int f = ok ? oc_graph_add_node_in(g, OC_DOMAIN_PREVIEW, "FlexAttention", "flex", 3, qkv, 1, y, &d) : -1;
    CHECK(f >= 0 && oc_graph_mark_output(g, g->nodes[f].out[0], &d) == 0 && oc_onnx_save(g, path, &d) == 0,
          "FlexAttention graph: %s", d.msg);
    saved_opsets(path, ops, sizeof ops);
    CHECK(strcmp(ops, ":26,ai.onnx.preview:1") == 0, "opset_import with a FlexAttention node: '%s'", ops);
    oc_graph *back = oc_onnx_load(path, &d);
    CHECK(back && back->n_nodes == 1 && back->nodes[0].op == oc_op_find(OC_DOMAIN_PREVIEW, "FlexAttention"),
          "FlexAttention loads back: %s", back ? "wrong node" : d.msg);
    oc_graph_free(back);
    remove(path);
    oc_graph_free(g);
}

int main(void)
{
    test_numel();
    test_lookup_under_growth();
    test_toposort_and_cycle();
    test_small_cnn_shapes();
    test_domains();
    return check_finish("test_graph");
}
