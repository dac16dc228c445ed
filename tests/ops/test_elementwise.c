/* test_elementwise.c: the elementwise fast paths against references.
 *  1. vmath.h: exp, sigmoid, tanh and softplus against double-precision
 *     libm over a dense sweep of float bit patterns (every 211th pattern of
 *     both signs, plus the special values): max error in ulp printed and
 *     asserted (exp <= 2, tanh <= 2, sigmoid <= 3, softplus <= 3); +-inf,
 *     NaN, overflow and underflow checked exactly.
 *  2. The unary kernels against the fused epilogue (oc_act_apply): the same
 *     bits for every activation both have; 1 and 2 threads alike.
 *  3. The broadcasting binary kernel against a naive double loop: same
 *     shape, scalar on either side, per-channel [1,C,1,1] / [C,1,1] /
 *     [N,C,1,1] against [N,C,H,W], a bias over the last dim, general
 *     broadcasts, Sum/Mean/Max/Min of five inputs, PRelu, int32 and double
 *     (generic path), on 1 and 2 threads, with odd sizes.
 *  4. Clip (float32, threaded) against the plain expression. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/elementwise.h"
#include "../../runtime/kernels/epilogue.h"
#include "../../runtime/kernels/vmath.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"
#include "../unit/tensor_view.h"

/* |got - want| in units of the spacing of floats at want (rounded to float). */
static double ulp_err(float got, double want)
{
    float wf = (float)want;
    if (want != want)
        return got != got ? 0 : 1e30;
    if (isinf(wf) || isinf(got))
        return got == wf ? 0 : 1e30;
    float a = fabsf(wf);
    double ulp = a == FLT_MAX ? (double)a - nextafterf(a, 0) : (double)nextafterf(a, INFINITY) - a;
    return fabs((double)got - want) / ulp;
}

static double ref_sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }
static double ref_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

static void test_vmath(void)
{
    double worst[4] = {0};
    float at[4] = {0};
    const char *names[4] = {"exp", "sigmoid", "tanh", "softplus"};
    const double bound[4] = {2, 3, 2, 3};
    int64_t count = 0;
    for (uint64_t u = 0; u <= 0xffffffffu; u += 211) {
        float x = oc_u2f((uint32_t)u);
        if (x != x)
            continue;
        count++;
        double e[4] = {ulp_err(oc_vexpf(x), exp((double)x)), ulp_err(oc_vsigmoidf(x), ref_sigmoid(x)),
                       ulp_err(oc_vtanhf(x), tanh((double)x)), ulp_err(oc_vsoftplusf(x), ref_softplus(x))};
        for (int f = 0; f < 4; f++)
            if (e[f] > worst[f]) {
                worst[f] = e[f];
                at[f] = x;
            }
    }
    for (int f = 0; f < 4; f++) {
        printf("vmath %-8s max error %.3f ulp (at %.9g) over %lld floats\n", names[f], worst[f], at[f],
               (long long)count);
        CHECK(worst[f] <= bound[f], "%s: %.3f ulp at %.9g (bound %.0f)", names[f], worst[f], at[f], bound[f]);
    }
    /* special values */
    CHECK(oc_vexpf(INFINITY) == INFINITY && oc_vexpf(-INFINITY) == 0.0f && oc_vexpf(NAN) != oc_vexpf(NAN),
          "exp at +-inf / NaN");
    CHECK(oc_vexpf(89.0f) == INFINITY && oc_vexpf(88.72f) < INFINITY && oc_vexpf(-104.0f) == 0.0f,
          "exp overflow / underflow");
    CHECK(oc_vexpf(-100.0f) > 0.0f && oc_vexpf(0.0f) == 1.0f, "exp subnormal range / exp(0)");
    CHECK(oc_vsigmoidf(INFINITY) == 1.0f && oc_vsigmoidf(-INFINITY) == 0.0f && oc_vsigmoidf(NAN) != 0.0f &&
              oc_vsigmoidf(-100.0f) > 0.0f,
          "sigmoid at +-inf / NaN / -100");
    CHECK(oc_vtanhf(INFINITY) == 1.0f && oc_vtanhf(-INFINITY) == -1.0f && oc_vtanhf(-0.0f) == 0.0f &&
              signbit(oc_vtanhf(-0.0f)) && oc_vtanhf(NAN) != oc_vtanhf(NAN),
          "tanh at +-inf / -0 / NaN");
    CHECK(oc_vsoftplusf(INFINITY) == INFINITY && oc_vsoftplusf(-INFINITY) == 0.0f &&
              oc_vsoftplusf(NAN) != oc_vsoftplusf(NAN),
          "softplus at +-inf / NaN");
}

static float frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}


/* ---- 2. unary kernels vs the fused epilogue ---- */
static void test_unary_vs_epilogue(int threads)
{
    static const struct {
        const char *op;
        int act;
        float alpha, beta;
        int approximate;
    } acts[] = {
        {"Relu", OC_ACT_RELU, 0, 0, 0},          {"LeakyRelu", OC_ACT_LEAKY_RELU, 0.1f, 0, 0},
        {"Sigmoid", OC_ACT_SIGMOID, 0, 0, 0},    {"HardSigmoid", OC_ACT_HARD_SIGMOID, 0.2f, 0.5f, 0},
        {"HardSwish", OC_ACT_HARD_SWISH, 0, 0, 0}, {"Tanh", OC_ACT_TANH, 0, 0, 0},
        {"Gelu", OC_ACT_GELU, 0, 1, 1},          {"Gelu", OC_ACT_GELU, 0, 0, 0},
    };
    int64_t n = 100003; /* several blocks, odd tail */
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    float *z = malloc(sizeof(float) * (size_t)n);
    unsigned st = 42u;
    for (int64_t i = 0; i < n; i++)
        x[i] = 12.0f * frand(&st);
    x[0] = INFINITY, x[1] = -INFINITY, x[2] = NAN, x[3] = -0.0f, x[4] = 95.0f, x[5] = -95.0f;
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
        oc_unary_params p = {.alpha = acts[k].alpha, .beta = acts[k].beta, .approximate = acts[k].approximate};
        oc_tensor tx, ty;
        tensor_init(&tx, OC_FLOAT, 1, &n, x);
        tensor_init(&ty, OC_FLOAT, 1, &n, y);
        const oc_tensor *in[1] = {&tx};
        oc_tensor *out[1] = {&ty};
        oc_kargs a = {.p = &p, .n_in = 1, .n_out = 1, .in = in, .out = out, .threads = threads};
        oc_kernel_fn fn = oc_unary_kernel(acts[k].op);
        CHECK(fn && fn(&a) == 0, "%s: kernel failed", acts[k].op);
        memcpy(z, x, sizeof(float) * (size_t)n);
        oc_act_apply(acts[k].act, acts[k].alpha, acts[k].beta, z, n);
        int64_t diff = 0;
        for (int64_t i = 0; i < n; i++) /* bitwise, except that any NaN matches any NaN */
            if (memcmp(&y[i], &z[i], sizeof(float)) && !(y[i] != y[i] && z[i] != z[i])) {
                if (!diff)
                    printf("  first difference at x = %.9g: %.9g vs %.9g\n", x[i], y[i], z[i]);
                diff++;
            }
        printf("unary %-11s%s t=%d: %lld of %lld values differ from the fused epilogue\n", acts[k].op,
               acts[k].approximate ? "(tanh)" : "      ", threads, (long long)diff, (long long)n);
        CHECK(diff == 0, "%s: unfused and fused differ in %lld values", acts[k].op, (long long)diff);
    }
    free(x);
    free(y);
    free(z);
}

/* ---- 3. broadcasting binary kernel vs a naive loop ---- */
typedef struct bin_case {
    const char *name;
    int op, dtype, n_in;
    int ranks[5];
    int64_t dims[5][4];
} bin_case;

static const bin_case bin_cases[] = {
    {"add same shape [3,17,5,7]", OC_BIN_ADD, OC_FLOAT, 2, {4, 4}, {{3, 17, 5, 7}, {3, 17, 5, 7}}},
    {"mul scalar right", OC_BIN_MUL, OC_FLOAT, 2, {4, 0}, {{2, 19, 7, 7}, {0}}},
    {"sub scalar left", OC_BIN_SUB, OC_FLOAT, 2, {0, 3}, {{0}, {5, 9, 11}}},
    {"mul per-channel [1,C,1,1]", OC_BIN_MUL, OC_FLOAT, 2, {4, 4}, {{2, 19, 9, 11}, {1, 19, 1, 1}}},
    {"add per-channel [C,1,1] left", OC_BIN_ADD, OC_FLOAT, 2, {3, 4}, {{33, 1, 1}, {2, 33, 7, 7}}},
    {"mul SE [N,C,1,1]", OC_BIN_MUL, OC_FLOAT, 2, {4, 4}, {{3, 21, 5, 5}, {3, 21, 1, 1}}},
    {"div 1x1 planes per-channel", OC_BIN_DIV, OC_FLOAT, 2, {4, 4}, {{4, 17, 1, 1}, {1, 17, 1, 1}}},
    {"add bias over last dim", OC_BIN_ADD, OC_FLOAT, 2, {3, 1}, {{2, 13, 37}, {37}}},
    {"max general [3,1,5] vs [4,1]", OC_BIN_MAX, OC_FLOAT, 2, {3, 2}, {{3, 1, 5}, {4, 1}}},
    {"min [2,1,3,1] vs [1,5,1,4]", OC_BIN_MIN, OC_FLOAT, 2, {4, 4}, {{2, 1, 3, 1}, {1, 5, 1, 4}}},
    {"prelu slope [C,1,1]", OC_BIN_PRELU, OC_FLOAT, 2, {4, 3}, {{2, 7, 6, 5}, {7, 1, 1}}},
    {"sum of 5 mixed", OC_BIN_SUM, OC_FLOAT, 5, {4, 4, 1, 0, 3}, {{2, 3, 4, 5}, {2, 3, 4, 5}, {5}, {0}, {3, 1, 1}}},
    {"mean of 5 mixed", OC_BIN_MEAN, OC_FLOAT, 5, {4, 4, 1, 0, 3}, {{2, 3, 4, 5}, {2, 3, 4, 5}, {5}, {0}, {3, 1, 1}}},
    {"max of 3", OC_BIN_MAX, OC_FLOAT, 3, {2, 2, 1}, {{9, 13}, {1, 13}, {13}}},
    {"pow per-channel (generic)", OC_BIN_POW, OC_FLOAT, 2, {4, 4}, {{2, 5, 3, 3}, {1, 5, 1, 1}}},
    {"add int32 per-channel (generic)", OC_BIN_ADD, OC_INT32, 2, {4, 4}, {{2, 5, 3, 7}, {1, 5, 1, 1}}},
    {"mul double bias (generic)", OC_BIN_MUL, OC_DOUBLE, 2, {2, 1}, {{11, 9}, {9}}},
    /* rows of 65536+ elements are cut into pieces the threads share */
    {"sum of 3 same shape, one long row", OC_BIN_SUM, OC_FLOAT, 3, {4, 4, 4}, {{2, 8, 96, 97}, {2, 8, 96, 97}, {2, 8, 96, 97}}},
    {"mean of 3, long row (threaded pieces)", OC_BIN_MEAN, OC_FLOAT, 3, {1, 1, 1}, {{300003}, {300003}, {300003}}},
    {"add bias over long last dim", OC_BIN_ADD, OC_FLOAT, 2, {2, 1}, {{3, 70001}, {70001}}},
    {"mul scalar right, long", OC_BIN_MUL, OC_FLOAT, 2, {1, 0}, {{150001}, {0}}},
    {"sub scalar left, long", OC_BIN_SUB, OC_FLOAT, 2, {0, 2}, {{0}, {2, 66000}}},
};

static double naive_op(int op, double x, double v)
{
    switch (op) {
    case OC_BIN_ADD: case OC_BIN_SUM: case OC_BIN_MEAN: return x + v;
    case OC_BIN_SUB: return x - v;
    case OC_BIN_MUL: return x * v;
    case OC_BIN_DIV: return x / v;
    case OC_BIN_MAX: return x > v ? x : v;
    case OC_BIN_MIN: return x < v ? x : v;
    case OC_BIN_PRELU: return x < 0 ? x * v : x;
    case OC_BIN_POW: return pow(x, v);
    default: return 0;
    }
}

static double load(const oc_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case OC_FLOAT: return ((const float *)t->data)[i];
    case OC_DOUBLE: return ((const double *)t->data)[i];
    default: return ((const int32_t *)t->data)[i];
    }
}

static void run_bin(const bin_case *bc, int threads)
{
    oc_bcast_params p = {.op = bc->op, .dtype = bc->dtype, .n_in = bc->n_in};
    oc_tensor in[5], y;
    const oc_tensor *ins[5];
    unsigned st = 11u;
    size_t es = bc->dtype == OC_DOUBLE ? 8 : 4;
    p.rank = 0;
    for (int k = 0; k < bc->n_in; k++)
        if (bc->ranks[k] > p.rank)
            p.rank = bc->ranks[k];
    for (int d = 0; d < p.rank; d++)
        p.dims[d] = 1;
    for (int k = 0; k < bc->n_in; k++) {
        tensor_init(&in[k], bc->dtype, bc->ranks[k], bc->dims[k], NULL);
        in[k].data = malloc(es * (size_t)in[k].numel);
        for (int64_t i = 0; i < in[k].numel; i++) {
            float v = bc->op == OC_BIN_POW ? (k ? 3.0f * frand(&st) : 0.1f + 2.0f * fabsf(frand(&st))) : 4.0f * frand(&st);
            if (bc->op == OC_BIN_DIV && k == 1 && fabsf(v) < 0.1f)
                v = 0.5f;
            if (bc->dtype == OC_FLOAT)
                ((float *)in[k].data)[i] = v;
            else if (bc->dtype == OC_DOUBLE)
                ((double *)in[k].data)[i] = v;
            else
                ((int32_t *)in[k].data)[i] = (int32_t)(v * 100);
        }
        ins[k] = &in[k];
        for (int i = 0; i < bc->ranks[k]; i++) {
            int d = p.rank - bc->ranks[k] + i;
            if (bc->dims[k][i] != 1)
                p.dims[d] = bc->dims[k][i];
        }
    }
    tensor_init(&y, bc->dtype, p.rank, p.dims, NULL);
    y.data = malloc(es * (size_t)(y.numel ? y.numel : 1));
    oc_tensor *outs[1] = {&y};
    oc_kargs a = {.p = &p, .n_in = bc->n_in, .n_out = 1, .in = ins, .out = outs, .threads = threads};
    CHECK(oc_binary_forward(&a) == 0, "%s: kernel failed", bc->name);
    double worst = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < y.numel; i++) {
        double acc = 0;
        for (int k = 0; k < bc->n_in; k++) {
            /* input k's element for output element i (right-aligned broadcast) */
            int64_t rem = i, off = 0, stride = 1;
            for (int d = p.rank - 1; d >= 0; d--) {
                int64_t c = rem % p.dims[d];
                rem /= p.dims[d];
                int kd = d - (p.rank - bc->ranks[k]);
                if (kd >= 0) {
                    off += (bc->dims[k][kd] == 1 ? 0 : c) * stride;
                    stride *= bc->dims[k][kd];
                }
            }
            double v = load(&in[k], off);
            acc = k == 0 ? v : naive_op(bc->op, acc, v);
        }
        if (bc->op == OC_BIN_MEAN)
            acc /= bc->n_in;
        if (bc->dtype == OC_INT32)
            acc = (double)(int32_t)acc;
        double got = load(&y, i), d = fabs(got - acc);
        if (d > worst)
            worst = d;
        bad += !(d <= 1e-6 + 1e-6 * fabs(acc));
    }
    char dims[96];
    printf("binary %-32s t=%d Y %s: max abs diff %.3g\n", bc->name, threads,
           oc_format_dims(dims, sizeof dims, p.dims, p.rank), worst);
    CHECK(bad == 0, "%s (threads %d): %lld values differ (worst %g)", bc->name, threads, (long long)bad, worst);
    for (int k = 0; k < bc->n_in; k++)
        free(in[k].data);
    free(y.data);
}

/* ---- 4. Clip ---- */
static void test_clip(int threads)
{
    int64_t n = 70001;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    unsigned st = 9u;
    for (int64_t i = 0; i < n; i++)
        x[i] = 10.0f * frand(&st);
    x[7] = NAN;
    float lo = 0.0f, hi = 6.0f;
    oc_tensor tx, ty, tlo, thi;
    tensor_init(&tx, OC_FLOAT, 1, &n, x);
    tensor_init(&ty, OC_FLOAT, 1, &n, y);
    tensor_init(&tlo, OC_FLOAT, 0, NULL, &lo);
    tensor_init(&thi, OC_FLOAT, 0, NULL, &hi);
    oc_unary_params p = {0};
    const oc_tensor *in[3] = {&tx, &tlo, &thi};
    oc_tensor *out[1] = {&ty};
    oc_kargs a = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .threads = threads};
    CHECK(oc_clip_forward(&a) == 0, "clip failed");
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        float want = x[i] != x[i] ? x[i] : x[i] < lo ? lo : x[i] > hi ? hi : x[i];
        bad += memcmp(&want, &y[i], sizeof want) != 0;
    }
    printf("clip [0, 6] t=%d: %lld of %lld values differ (NaN passes through)\n", threads, (long long)bad,
           (long long)n);
    CHECK(bad == 0, "clip: %lld values differ", (long long)bad);
    free(x);
    free(y);
}

int main(void)
{
    test_vmath();
    for (int threads = 1; threads <= 2; threads++) {
        oc_set_threads(threads);
        test_unary_vs_epilogue(threads);
        for (size_t i = 0; i < sizeof bin_cases / sizeof bin_cases[0]; i++)
            run_bin(&bin_cases[i], threads);
        test_clip(threads);
    }
    oc_threads_shutdown();
    return check_finish("test_elementwise");
}
