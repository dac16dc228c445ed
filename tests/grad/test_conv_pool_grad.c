/* test_conv_pool_grad.c: the gradient rules of Conv, MaxPool, AveragePool,
 * GlobalAveragePool and GlobalMaxPool (compiler/ops/conv.c, pool.c) and
 * their backward kernels against central finite differences in double.
 *
 * For each case a graph holds the forward node; its gradient rule is
 * called with dY = R (a random tensor), which is the gradient of the
 * linear functional L = sum(R * Y). The rule's nodes (ConvTranspose,
 * ConvGradWeight, ConvGradBias, MaxPoolGrad, ...) run in float32 through
 * the planner like any graph. The reference is
 *   dL/dv[i] ~ (L(v + h e_i) - L(v - h e_i)) / 2h   in double, for every
 * element of every differentiable input v (a strided sample of 256 in
 * larger tensors), with L evaluated by
 *   - pools: onnxc's own forward plan built in float64;
 *   - Conv (whose forward kernel is float32 only): a plain double loop of
 *     the ONNX Conv formula, first checked against onnxc's float32 Conv.
 * Bar: max |analytic - fd| / max |fd| <= 1e-3 per tensor. The fast
 * ConvGradWeight kernel is also compared with its direct-loop reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../compiler/ops/op.h"
#include "../../compiler/planner.h"
#include "../../compiler/shape.h"
#include "../../runtime/kernels/conv.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"

#define TOL 1e-3
#define FD_STEP 1e-6
#define FD_MAX_ELEMENTS 256 /* finite differences per tensor at most (a strided sample beyond) */

typedef struct grad_case {
    const char *name;
    const char *op;
    int rank;                /* of X */
    int64_t x[5];            /* X dims */
    int64_t m, group;        /* Conv: output channels and group */
    int bias;                /* Conv: has B */
    int64_t k[3];            /* kernel extents */
    int64_t s[3], dil[3];    /* 0: attribute absent */
    int64_t pads[6];         /* begins then ends; used when has_pads */
    int has_pads;
    const char *auto_pad;    /* NULL: NOTSET */
    int ceil_mode, count_include_pad;
} grad_case;

static const grad_case cases[] = {
    {"conv2d groups=2 stride 2 dil 2 asym pads", "Conv", 4, {2, 4, 9, 8}, 6, 2, 1,
     {3, 2}, {2, 2}, {2, 1}, {1, 0, 2, 1}, 1, NULL, 0, 0},
    {"conv2d 3x3 pad 1 on 17x18, batch 3 (images one SGEMM each)", "Conv", 4, {3, 3, 17, 18}, 4, 1, 1,
     {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 0, NULL, 0, 0},
    /* one image's col over 512 KB: dW gathered from the stage in two row pieces (conv.c gw_image_staged) */
    {"conv2d 3x3 s2 pad 1 16->2 on 64x70 (dW in row pieces)", "Conv", 4, {1, 16, 64, 70}, 2, 1, 1,
     {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 0, 0},
    /* 16+ channels, enough tiles: dW by Winograd F(3x3, 2x2) (runtime/kernels/conv_winograd.c) */
    {"conv2d 3x3 16->16 pad 1 on 9x11 batch 2 (Winograd dW)", "Conv", 4, {2, 16, 9, 11}, 16, 1, 1,
     {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 0, 0},
    {"conv2d 3x3 16->20 pads 0,2,2,1 on 8x9 (Winograd dW)", "Conv", 4, {1, 16, 8, 9}, 20, 1, 0,
     {3, 3}, {1, 1}, {1, 1}, {0, 2, 2, 1}, 1, NULL, 0, 0},
    /* more input channels than one vector run of the output transform (conv_winograd.c GW_OUT_CB) */
    {"conv2d 3x3 80->18 pad 1 on 8x9 (Winograd dW, 64 + 16 channels)", "Conv", 4, {1, 80, 8, 9}, 18, 1, 1,
     {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 0, 0},
    {"conv1d stride 3, unread tail (output_padding)", "Conv", 3, {2, 3, 14}, 4, 1, 1,
     {3}, {3}, {1}, {0, 0}, 0, NULL, 0, 0},
    {"conv3d groups=2 mixed stride/dil/pads", "Conv", 5, {1, 4, 4, 5, 6}, 4, 2, 1,
     {2, 3, 2}, {1, 2, 2}, {2, 1, 1}, {1, 0, 2, 0, 1, 1}, 1, NULL, 0, 0},
    {"conv2d auto_pad SAME_UPPER stride 2", "Conv", 4, {2, 3, 7, 6}, 4, 1, 1,
     {3, 4}, {2, 2}, {0}, {0}, 0, "SAME_UPPER", 0, 0},
    {"conv1d auto_pad SAME_LOWER dil 2", "Conv", 3, {2, 2, 9}, 3, 1, 0,
     {4}, {1}, {2}, {0}, 0, "SAME_LOWER", 0, 0},
    {"conv2d auto_pad VALID stride 2", "Conv", 4, {1, 2, 8, 7}, 3, 1, 1,
     {3, 3}, {2, 2}, {0}, {0}, 0, "VALID", 0, 0},
    {"conv2d 1x1 pointwise", "Conv", 4, {2, 5, 4, 3}, 6, 1, 1, {1, 1}, {0}, {0}, {0}, 0, NULL, 0, 0},
    {"conv2d depthwise 3x3 pad 1", "Conv", 4, {2, 4, 6, 5}, 4, 4, 1,
     {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, NULL, 0, 0},
    {"conv2d kernel wider than input", "Conv", 4, {1, 2, 3, 2}, 3, 1, 0,
     {3, 4}, {0}, {0}, {1, 2, 0, 1}, 1, NULL, 0, 0},
    {"maxpool2d k3 s2 pad 1 (overlap)", "MaxPool", 4, {2, 3, 9, 8}, 0, 0, 0,
     {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 0, 0},
    {"maxpool1d dil 2 ceil_mode", "MaxPool", 3, {2, 3, 14}, 0, 0, 0,
     {3}, {2}, {2}, {0, 1}, 1, NULL, 1, 0},
    {"maxpool3d k2 s2", "MaxPool", 5, {1, 2, 4, 6, 5}, 0, 0, 0, {2, 2, 2}, {2, 2, 2}, {0}, {0}, 0, NULL, 0, 0},
    {"maxpool2d SAME_UPPER s2", "MaxPool", 4, {1, 2, 7, 6}, 0, 0, 0,
     {3, 2}, {2, 2}, {0}, {0}, 0, "SAME_UPPER", 0, 0},
    {"avgpool2d count_include_pad pad 1", "AveragePool", 4, {2, 3, 7, 8}, 0, 0, 0,
     {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, NULL, 0, 1},
    {"avgpool2d exclude pad, asym pads", "AveragePool", 4, {2, 2, 6, 7}, 0, 0, 0,
     {3, 2}, {1, 2}, {0}, {2, 0, 1, 1}, 1, NULL, 0, 0},
    {"avgpool2d ceil_mode count_include_pad", "AveragePool", 4, {1, 2, 8, 7}, 0, 0, 0,
     {3, 3}, {2, 2}, {0}, {1, 0, 1, 0}, 1, NULL, 1, 1},
    {"avgpool1d SAME_LOWER", "AveragePool", 3, {2, 3, 11}, 0, 0, 0, {4}, {3}, {0}, {0}, 0, "SAME_LOWER", 0, 0},
    {"avgpool3d k(1,2,3) pad", "AveragePool", 5, {1, 2, 3, 5, 7}, 0, 0, 0,
     {1, 2, 3}, {1, 2, 2}, {0}, {0, 1, 1, 0, 0, 1}, 1, NULL, 0, 1},
    {"globalavgpool 2d", "GlobalAveragePool", 4, {3, 4, 5, 6}, 0, 0, 0, {0}, {0}, {0}, {0}, 0, NULL, 0, 0},
    {"globalavgpool 1d", "GlobalAveragePool", 3, {2, 3, 7}, 0, 0, 0, {0}, {0}, {0}, {0}, 0, NULL, 0, 0},
    {"globalmaxpool 2d", "GlobalMaxPool", 4, {3, 4, 5, 6}, 0, 0, 0, {0}, {0}, {0}, {0}, 0, NULL, 0, 0},
    {"globalmaxpool 3d", "GlobalMaxPool", 5, {2, 2, 3, 4, 3}, 0, 0, 0, {0}, {0}, {0}, {0}, 0, NULL, 0, 0},
};

static int is_conv(const grad_case *c) { return !strcmp(c->op, "Conv"); }
static int n_inputs(const grad_case *c) { return is_conv(c) ? (c->bias ? 3 : 2) : 1; }

static void input_dims(const grad_case *c, int k, int *rank, int64_t *dims)
{
    int nsp = c->rank - 2;
    if (k == 0) {
        *rank = c->rank;
        memcpy(dims, c->x, sizeof(int64_t) * (size_t)c->rank);
    } else if (k == 1) {
        *rank = c->rank;
        dims[0] = c->m;
        dims[1] = c->x[1] / c->group;
        memcpy(dims + 2, c->k, sizeof(int64_t) * (size_t)nsp);
    } else {
        *rank = 1;
        dims[0] = c->m;
    }
}

static int set_attrs(oc_graph *g, int nid, const grad_case *c, oc_diag *d)
{
    int nsp = c->rank - 2;
    if (!strncmp(c->op, "Global", 6))
        return 0;
    if (!is_conv(c) && oc_node_set_ints(g, nid, "kernel_shape", nsp, c->k, d))
        return -1;
    if (c->s[0] && oc_node_set_ints(g, nid, "strides", nsp, c->s, d))
        return -1;
    if (c->dil[0] && oc_node_set_ints(g, nid, "dilations", nsp, c->dil, d))
        return -1;
    if (c->has_pads && oc_node_set_ints(g, nid, "pads", 2 * nsp, c->pads, d))
        return -1;
    if (c->auto_pad && oc_node_set_string(g, nid, "auto_pad", c->auto_pad, d))
        return -1;
    if (c->ceil_mode && oc_node_set_int(g, nid, "ceil_mode", 1, d))
        return -1;
    if (c->count_include_pad && oc_node_set_int(g, nid, "count_include_pad", 1, d))
        return -1;
    if (is_conv(c) && c->group != 1 && oc_node_set_int(g, nid, "group", c->group, d))
        return -1;
    return 0;
}

/* The forward graph (inputs X[, W[, B]], output Y), in dtype; with
 * `backward`, also input R = dY and the gradient rule's nodes, whose
 * results (dX[, dW[, dB]]) are the outputs instead of Y. */
static oc_graph *build(const grad_case *c, int dtype, int backward, oc_diag *d)
{
    static const char *names[3] = {"X", "W", "B"};
    const char *outs[1] = {"Y"};
    oc_graph *g = oc_graph_new(c->name, 19, d);
    int ni = n_inputs(c), nid = -1;
    if (!g)
        return NULL;
    for (int k = 0; k < ni; k++) {
        int rank;
        int64_t dims[5];
        input_dims(c, k, &rank, dims);
        if (oc_graph_add_input(g, names[k], dtype, rank, dims, NULL, d) < 0)
            goto fail;
    }
    if ((nid = oc_graph_add_node(g, c->op, "fwd", ni, names, 1, outs, d)) < 0 || set_attrs(g, nid, c, d) ||
        oc_graph_infer_shapes(g, d))
        goto fail;
    int y = g->nodes[nid].out[0];
    if (!backward) {
        if (oc_graph_mark_output(g, y, d))
            goto fail;
        return g;
    }
    int r = oc_graph_add_input(g, "R", dtype, g->values[y].rank, g->values[y].dims, NULL, d);
    if (r < 0)
        goto fail;
    oc_grad_ctx cx = {g, d, 0, 0};
    unsigned char need[3] = {1, 1, 1};
    int dy[1] = {r}, dx[3] = {-1, -1, -1};
    if (!g->nodes[nid].op || !g->nodes[nid].op->grad) {
        oc_fail(d, "%s has no gradient rule", c->op);
        goto fail;
    }
    if (g->nodes[nid].op->grad(&cx, nid, dy, need, dx))
        goto fail;
    for (int k = 0; k < ni; k++) {
        if (dx[k] < 0) {
            oc_fail(d, "no gradient for input %d", k);
            goto fail;
        }
        if (oc_graph_mark_output(g, dx[k], d))
            goto fail;
    }
    if (oc_graph_infer_shapes(g, d))
        goto fail;
    return g;
fail:
    oc_graph_free(g);
    return NULL;
}

static unsigned rng = 12345u;
static double frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (double)(float)((double)((rng >> 8) & 0xffffff) / 8388608.0 - 1.0); /* float32-exact in [-1, 1) */
}

/* ONNX Conv in double: Y[n, m, o] = B[m] + sum_{c, kk} W[m, c, kk] X[n, g*Cg + c, o*s - pb + kk*dil],
 * geometry from the float32 plan's resolved oc_conv_params. */
static void conv_f64(const oc_conv_params *p, const double *x, const double *w, const double *b, double *y)
{
    int nsp = p->nsp;
    int64_t cg = p->cin / p->group, mg = p->cout / p->group, K = 1, Lin = 1, Lout = 1;
    for (int i = 0; i < nsp; i++) {
        K *= p->k[i];
        Lin *= p->in[i];
        Lout *= p->out[i];
    }
    for (int64_t n = 0; n < p->batch; n++)
        for (int64_t m = 0; m < p->cout; m++)
            for (int64_t o = 0; o < Lout; o++) {
                int64_t opos[OC_CONV_MAX_SPATIAL], r = o;
                for (int i = nsp - 1; i >= 0; i--) {
                    opos[i] = r % p->out[i];
                    r /= p->out[i];
                }
                double acc = b ? b[m] : 0.0;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t kk = 0; kk < K; kk++) {
                        int64_t off = 0, rk = kk, stride = 1;
                        int valid = 1;
                        for (int i = nsp - 1; i >= 0; i--) {
                            int64_t kd = rk % p->k[i];
                            rk /= p->k[i];
                            int64_t ix = opos[i] * p->s[i] - p->pb[i] + kd * p->dil[i];
                            valid &= ix >= 0 && ix < p->in[i];
                            off += ix * stride;
                            stride *= p->in[i];
                        }
                        if (valid)
                            acc += w[(m * cg + c) * K + kk] * x[(n * p->cin + (m / mg) * cg + c) * Lin + off];
                    }
                y[(n * p->cout + m) * Lout + o] = acc;
            }
}

/* L = sum(R * Y) with Y from the double plan (pools) or conv_f64. */
typedef struct evaluator {
    oc_plan *plan;               /* pools: float64 forward */
    const oc_conv_params *conv;  /* Conv: geometry */
    double *v[3];                /* X, W, B */
    const double *r;
    double *y;                   /* Conv output buffer */
    int64_t ny;
    oc_diag *d;
} evaluator;

static double eval_loss(evaluator *e)
{
    const double *y = e->y;
    if (e->conv) {
        conv_f64(e->conv, e->v[0], e->v[1], e->v[2], e->y);
    } else {
        if (oc_plan_run(e->plan, e->d))
            return NAN;
        y = e->plan->tensors[e->plan->outputs[0]].data;
    }
    double l = 0;
    for (int64_t i = 0; i < e->ny; i++)
        l += e->r[i] * y[i];
    return l;
}

static double max_abs(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Runs the direct-loop ConvGradWeight reference on the plan's own step and
 * returns its worst difference from the fast kernel's output, relative to
 * the reference's largest magnitude (at least 1). */
static double weight_ref_diff(oc_plan *p, oc_diag *d)
{
    for (int s = 0; s < p->n_steps; s++) {
        oc_step *st = &p->steps[s];
        if (strcmp(st->op, "ConvGradWeight"))
            continue;
        const oc_tensor *in[3];
        for (int k = 0; k < 3; k++)
            in[k] = &p->tensors[st->in[k]];
        oc_tensor ref = p->tensors[st->out[0]];
        const float *fast = ref.data;
        ref.data = malloc(sizeof(float) * (size_t)ref.numel);
        oc_tensor *outs[1] = {&ref};
        oc_kargs a = {st->params, 3, 1, in, outs, NULL, 1, d};
        double worst = 0, scale = 1;
        if (!ref.data || oc_conv_grad_weight_ref(&a))
            worst = INFINITY;
        for (int64_t i = 0; ref.data && i < ref.numel; i++) {
            worst = fmax(worst, fabs((double)fast[i] - ((float *)ref.data)[i]));
            scale = fmax(scale, fabs((double)((float *)ref.data)[i]));
        }
        free(ref.data);
        return worst / scale;
    }
    return -1;
}

static void run_case(const grad_case *c, int threads)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *gb = build(c, OC_FLOAT, 1, &d), *gf = NULL;
    oc_plan *pb = NULL, *pf = NULL;
    oc_plan_opts po = {.threads = threads, .no_reuse = 1};
    int ni = n_inputs(c);
    float *vf[4] = {0};
    double *vd[4] = {0}, *y = NULL;
    oc_tensor tf[4], td[1];
    evaluator e = {0};
    if (!gb || !(pb = oc_plan_build(gb, &po, &d))) {
        CHECK(0, "%s: cannot build the gradient graph: %s", c->name, d.msg);
        goto done;
    }
    /* inputs X, W, B, R: float32 for the analytic pass, the same values in double */
    for (int k = 0; k <= ni; k++) {
        oc_tensor *t = &pb->tensors[pb->inputs[k]];
        vf[k] = malloc(sizeof(float) * (size_t)t->numel);
        vd[k] = malloc(sizeof(double) * (size_t)t->numel);
        if (!vf[k] || !vd[k])
            goto oom;
        for (int64_t i = 0; i < t->numel; i++)
            vf[k][i] = (float)(vd[k][i] = frand());
        tf[k] = *t;
        tf[k].data = vf[k];
        if (oc_plan_set_input(pb, k, &tf[k], &d))
            goto fail;
    }
    if (oc_plan_run(pb, &d))
        goto fail;
    e.r = vd[ni];
    e.ny = pb->tensors[pb->inputs[ni]].numel;
    e.d = &d;
    for (int k = 0; k < 3; k++)
        e.v[k] = k < ni ? vd[k] : NULL;
    if (is_conv(c)) {
        /* the double reference takes the float32 plan's Conv geometry, and is
         * checked against that plan's output first */
        if (!(gf = build(c, OC_FLOAT, 0, &d)) || !(pf = oc_plan_build(gf, &po, &d)))
            goto fail;
        for (int k = 0; k < ni; k++)
            if (oc_plan_set_input(pf, k, &tf[k], &d))
                goto fail;
        if (oc_plan_run(pf, &d))
            goto fail;
        if (pf->n_steps != 1 || strcmp(pf->steps[0].op, "Conv")) {
            oc_fail(&d, "expected a one-step Conv plan");
            goto fail;
        }
        e.conv = pf->steps[0].params;
        if (!(y = malloc(sizeof(double) * (size_t)e.ny)))
            goto oom;
        e.y = y;
        conv_f64(e.conv, vd[0], vd[1], ni > 2 ? vd[2] : NULL, y);
        const float *yf = pf->tensors[pf->outputs[0]].data;
        double worst = 0;
        for (int64_t i = 0; i < e.ny; i++)
            worst = fmax(worst, fabs(y[i] - yf[i]));
        CHECK(worst <= 1e-5 * fmax(1.0, max_abs(y, e.ny)), "%s: double reference differs from onnxc's Conv by %.3g",
              c->name, worst);
        double wd = weight_ref_diff(pb, &d);
        CHECK(wd >= 0 && wd <= 1e-5, "%s: ConvGradWeight fast vs reference differ by %.3g of the largest", c->name, wd);
        printf("  %-48s ConvGradWeight fast vs ref %.2e\n", c->name, wd);
    } else {
        if (!(gf = build(c, OC_DOUBLE, 0, &d)) || !(pf = oc_plan_build(gf, &po, &d)))
            goto fail;
        td[0] = pf->tensors[pf->inputs[0]];
        td[0].data = vd[0];
        if (oc_plan_set_input(pf, 0, &td[0], &d))
            goto fail;
        e.plan = pf;
    }
    static const char *labels[3] = {"dX", "dW", "dB"};
    for (int k = 0; k < ni; k++) {
        const oc_tensor *gt = &pb->tensors[pb->outputs[k]];
        const float *got = gt->data;
        double *fd = malloc(sizeof(double) * (size_t)gt->numel);
        if (!fd)
            goto oom;
        /* large tensors: every step-th element from a phase that differs per
         * tensor (each difference costs two double-precision forward passes,
         * minutes in the sanitizer build otherwise) */
        int64_t step = gt->numel > FD_MAX_ELEMENTS ? (gt->numel + FD_MAX_ELEMENTS - 1) / FD_MAX_ELEMENTS : 1;
        int64_t first = step > 1 ? (k * 5 + 3) % step : 0;
        for (int64_t i = 0; i < gt->numel; i++)
            fd[i] = 0;
        for (int64_t i = first; i < gt->numel; i += step) {
            double keep = vd[k][i];
            vd[k][i] = keep + FD_STEP;
            double lp = eval_loss(&e);
            vd[k][i] = keep - FD_STEP;
            double lm = eval_loss(&e);
            vd[k][i] = keep;
            fd[i] = (lp - lm) / (2 * FD_STEP);
        }
        double worst = 0, scale = fmax(max_abs(fd, gt->numel), 1e-12);
        for (int64_t i = first; i < gt->numel; i += step)
            worst = fmax(worst, fabs(got[i] - fd[i]));
        free(fd);
        double rel = worst / scale;
        char every[32] = "";
        if (step > 1)
            snprintf(every, sizeof every, " (1 in %lld)", (long long)step);
        printf("  %-48s %s %-22s max rel err %.2e%s %s\n", c->name, labels[k],
               oc_format_dims((char[64]){0}, 64, gt->dims, gt->rank), rel, every, rel <= TOL && !d.failed ? "ok" : "FAIL");
        CHECK(rel <= TOL && !d.failed, "%s: %s max rel err %.3g vs finite differences (%s)", c->name, labels[k], rel,
              d.msg);
    }
    goto done;
oom:
    oc_fail(&d, "out of memory");
fail:
    CHECK(0, "%s: %s", c->name, d.msg);
done:
    for (int k = 0; k < 4; k++) {
        free(vf[k]);
        free(vd[k]);
    }
    free(y);
    oc_plan_free(pb);
    oc_plan_free(pf);
    oc_graph_free(gb);
    oc_graph_free(gf);
}

int main(void)
{
    printf("gradients vs central finite differences in double (h = %g), bar %g:\n", FD_STEP, TOL);
    /* 2 threads: ConvGradWeight then splits the images over the threads */
    oc_set_threads(2);
    for (int threads = 1; threads <= 2; threads++) {
        printf("%d thread%s:\n", threads, threads > 1 ? "s" : "");
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(&cases[i], threads);
    }
    return check_finish("grad.conv_pool");
}
