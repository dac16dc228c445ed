/* test_pool.c: compares the fast pooling kernels with their references on
 * odd shapes: the 2-D row kernel (oc_pool2d_forward) against the general
 * loop nest (oc_pool_forward) for MaxPool and AveragePool, 3x3 s2 p1,
 * 2x2 s2, 7x7, 1x1 planes, dilation, asymmetric and ceil_mode-style end
 * pads, count_include_pad, 1-D pools, 19 and 33 channels; the threaded
 * global pools against oc_global_pool_ref; the Indices fallback; and the
 * threaded pool backward on 2 threads against 1 thread (bitwise: planes
 * are independent) and the backward's fast path against its general loop
 * (bitwise, also with ties). Prints each case and its worst difference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/pool.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"
#include "../unit/tensor_view.h"

typedef struct pool_case {
    const char *name;
    int kind, include_pad;
    int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pbot, pr;
} pool_case;

static const pool_case cases[] = {
    {"max 3x3 s2 p1 C=19", OC_POOL_MAX, 0, 2, 19, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {"max 3x3 s2 p1 40x37 (two vectors a row)", OC_POOL_MAX, 0, 1, 3, 40, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {"max 3x3 s2 no pads 9x70", OC_POOL_MAX, 0, 1, 2, 9, 70, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},
    {"max 2x2 s2 C=33", OC_POOL_MAX, 0, 1, 33, 16, 11, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},
    {"max 3x3 s2 ceil-mode end pads", OC_POOL_MAX, 0, 1, 5, 10, 10, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1},
    {"max 3x3 s1 p1 on 1x1 plane", OC_POOL_MAX, 0, 3, 7, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {"max 7x7 on 7x7 plane", OC_POOL_MAX, 0, 2, 17, 7, 7, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0},
    {"max 3x2 s(1,3) dil(2,2) pads 2/0/1/2", OC_POOL_MAX, 0, 1, 6, 12, 14, 3, 2, 1, 3, 2, 2, 2, 0, 1, 2},
    {"max 5x5 s3 p2", OC_POOL_MAX, 0, 1, 4, 17, 19, 5, 5, 3, 3, 1, 1, 2, 2, 2, 2},
    {"avg 3x3 s2 p1 exclude pad", OC_POOL_AVG, 0, 2, 19, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {"avg 3x3 s2 p1 include pad", OC_POOL_AVG, 1, 2, 19, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {"avg 2x2 s2 ceil end pads, include", OC_POOL_AVG, 1, 1, 3, 9, 7, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1},
    {"avg 7x7 on 7x7 plane", OC_POOL_AVG, 0, 1, 21, 7, 7, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0},
    {"avg 3x3 dil 2 p2 asym", OC_POOL_AVG, 0, 1, 5, 11, 10, 3, 3, 1, 2, 2, 2, 2, 1, 2, 3},
    {"max 1-D k3 s2 p1", OC_POOL_MAX, 0, 2, 9, 1, 31, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1},
    {"avg 1-D k4 s1", OC_POOL_AVG, 0, 1, 9, 1, 20, 1, 4, 1, 1, 1, 1, 0, 0, 0, 0},
};

static float frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffffff) / 8388608.0f - 1.0f; /* 24 random bits */
}


static float *rand_buf(int64_t n, unsigned *st)
{
    float *b = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        b[i] = frand(st);
    return b;
}

static double worst_diff(const float *a, const float *b, int64_t n, int64_t *bad, double rtol)
{
    double worst = 0;
    *bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > worst || d != d)
            worst = d;
        *bad += !(d <= 1e-6 + rtol * fabs(b[i]));
    }
    return worst;
}

static void run_case(const pool_case *cc, int threads)
{
    oc_pool_params p = {0};
    p.kind = cc->kind;
    p.dtype = OC_FLOAT;
    p.count_include_pad = cc->include_pad;
    p.planes = cc->n * cc->c;
    int64_t in[2] = {cc->h, cc->w}, k[2] = {cc->kh, cc->kw}, s[2] = {cc->sh, cc->sw}, dl[2] = {cc->dh, cc->dw};
    int64_t pb[2] = {cc->pt, cc->pl}, pe[2] = {cc->pbot, cc->pr};
    p.in[0] = p.out[0] = p.k[0] = p.s[0] = p.dil[0] = 1;
    for (int i = 0; i < 2; i++) {
        p.in[1 + i] = in[i];
        p.k[1 + i] = k[i];
        p.s[1 + i] = s[i];
        p.dil[1 + i] = dl[i];
        p.pb[1 + i] = pb[i];
        p.pe[1 + i] = pe[i];
        p.out[1 + i] = (in[i] + pb[i] + pe[i] - ((k[i] - 1) * dl[i] + 1)) / s[i] + 1;
    }
    CHECK(oc_pool2d_applicable(&p), "%s: not applicable", cc->name);
    int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w}, yd[4] = {cc->n, cc->c, p.out[1], p.out[2]};
    unsigned st = 99u + (unsigned)cc->c;
    oc_tensor x, yf, yr;
    tensor_init(&x, OC_FLOAT, 4, xd, NULL);
    tensor_init(&yf, OC_FLOAT, 4, yd, NULL);
    tensor_init(&yr, OC_FLOAT, 4, yd, NULL);
    x.data = rand_buf(x.numel, &st);
    yf.data = rand_buf(yf.numel, &st);
    yr.data = rand_buf(yr.numel, &st);
    size_t slice = oc_pool2d_tscratch(&p);
    unsigned char *ts = malloc(slice * (size_t)threads + 1);
    const oc_tensor *ins[1] = {&x};
    oc_tensor *of[1] = {&yf}, *orf[1] = {&yr};
    oc_kargs af = {.p = &p, .n_in = 1, .n_out = 1, .in = ins, .out = of, .threads = threads, .tscratch = ts,
                   .tscratch_stride = slice};
    oc_kargs ar = {.p = &p, .n_in = 1, .n_out = 1, .in = ins, .out = orf, .threads = 1};
    int rf = oc_pool2d_forward(&af), rr = oc_pool_forward(&ar);
    CHECK(rf == 0 && rr == 0, "%s: kernels returned %d / %d", cc->name, rf, rr);
    int64_t bad;
    double worst = worst_diff(yf.data, yr.data, yr.numel, &bad, cc->kind == OC_POOL_MAX ? 0 : 1e-5);
    char dims[96];
    printf("%-40s t=%d Y %s: max abs diff %.3g over %lld values\n", cc->name, threads,
           oc_format_dims(dims, sizeof dims, yd, 4), worst, (long long)yr.numel);
    CHECK(bad == 0, "%s (threads %d): %lld values differ (worst %g)", cc->name, threads, (long long)bad, worst);

    /* backward: threaded planes give the same bits as one thread */
    oc_tensor dy, dx1, dx2;
    tensor_init(&dy, OC_FLOAT, 4, yd, rand_buf(yr.numel, &st));
    tensor_init(&dx1, OC_FLOAT, 4, xd, rand_buf(x.numel, &st));
    tensor_init(&dx2, OC_FLOAT, 4, xd, rand_buf(x.numel, &st));
    const oc_tensor *bin[2] = {&dy, &x};
    oc_tensor *b1[1] = {&dx1}, *b2[1] = {&dx2};
    oc_kargs g1 = {.p = &p, .n_in = 2, .n_out = 1, .in = bin, .out = b1, .threads = 1};
    oc_kargs g2 = {.p = &p, .n_in = 2, .n_out = 1, .in = bin, .out = b2, .threads = threads};
    CHECK(oc_pool_backward(&g1) == 0 && oc_pool_backward(&g2) == 0, "%s: backward failed", cc->name);
    CHECK(!memcmp(dx1.data, dx2.data, sizeof(float) * (size_t)x.numel), "%s: backward differs on %d threads",
          cc->name, threads);
    /* the fast path (2-D MaxPool) against the general loop, bitwise, on the
     * random X and on X rounded to {-1, 0, 1} (ties everywhere: the first
     * maximal tap must win in both) */
    for (int ties = 0; ties < 2; ties++) {
        if (ties)
            for (int64_t i = 0; i < x.numel; i++)
                ((float *)x.data)[i] = roundf(((float *)x.data)[i]);
        oc_kargs gr = {.p = &p, .n_in = 2, .n_out = 1, .in = bin, .out = b2, .threads = 1};
        oc_kargs gf = {.p = &p, .n_in = 2, .n_out = 1, .in = bin, .out = b1, .threads = threads};
        CHECK(oc_pool_backward_ref(&gr) == 0 && oc_pool_backward(&gf) == 0, "%s: backward failed", cc->name);
        CHECK(!memcmp(dx1.data, dx2.data, sizeof(float) * (size_t)x.numel),
              "%s: backward fast path differs from the general loop (ties %d)", cc->name, ties);
    }
    free(dy.data);
    free(dx1.data);
    free(dx2.data);
    free(x.data);
    free(yf.data);
    free(yr.data);
    free(ts);
}

/* MaxPool with Indices through the fast entry falls back to the general kernel. */
static void run_indices(void)
{
    oc_pool_params p = {.kind = OC_POOL_MAX, .dtype = OC_FLOAT, .planes = 3, .in = {1, 6, 5}, .out = {1, 3, 3},
                        .k = {1, 2, 2}, .s = {1, 2, 2}, .dil = {1, 1, 1}, .pe = {0, 0, 1}};
    int64_t xd[4] = {1, 3, 6, 5}, yd[4] = {1, 3, 3, 3};
    unsigned st = 5u;
    oc_tensor x, y1, y2, i1, i2;
    tensor_init(&x, OC_FLOAT, 4, xd, rand_buf(90, &st));
    tensor_init(&y1, OC_FLOAT, 4, yd, rand_buf(27, &st));
    tensor_init(&y2, OC_FLOAT, 4, yd, rand_buf(27, &st));
    tensor_init(&i1, OC_INT64, 4, yd, calloc(27, sizeof(int64_t)));
    tensor_init(&i2, OC_INT64, 4, yd, calloc(27, sizeof(int64_t)));
    const oc_tensor *ins[1] = {&x};
    oc_tensor *o1[2] = {&y1, &i1}, *o2[2] = {&y2, &i2};
    oc_kargs a1 = {.p = &p, .n_in = 1, .n_out = 2, .in = ins, .out = o1, .threads = 1};
    oc_kargs a2 = {.p = &p, .n_in = 1, .n_out = 2, .in = ins, .out = o2, .threads = 1};
    CHECK(oc_pool2d_forward(&a1) == 0 && oc_pool_forward(&a2) == 0, "indices: kernels failed");
    CHECK(!memcmp(y1.data, y2.data, 27 * sizeof(float)) && !memcmp(i1.data, i2.data, 27 * sizeof(int64_t)),
          "indices: fast entry differs from the general kernel");
    printf("%-40s     Y and Indices identical\n", "max 2x2 s2 with Indices (fallback)");
    free(x.data);
    free(y1.data);
    free(y2.data);
    free(i1.data);
    free(i2.data);
}

static void run_global(int kind, int64_t n, int64_t c, int64_t plane, int threads)
{
    oc_global_pool_params p = {.kind = kind, .dtype = OC_FLOAT, .planes = n * c, .plane = plane};
    int64_t xd[3] = {n, c, plane}, yd[3] = {n, c, 1};
    unsigned st = 3u + (unsigned)plane;
    oc_tensor x, yf, yr;
    tensor_init(&x, OC_FLOAT, 3, xd, NULL);
    tensor_init(&yf, OC_FLOAT, 3, yd, NULL);
    tensor_init(&yr, OC_FLOAT, 3, yd, NULL);
    x.data = rand_buf(x.numel, &st);
    yf.data = rand_buf(yf.numel, &st);
    yr.data = rand_buf(yr.numel, &st);
    const oc_tensor *ins[1] = {&x};
    oc_tensor *of[1] = {&yf}, *orf[1] = {&yr};
    oc_kargs af = {.p = &p, .n_in = 1, .n_out = 1, .in = ins, .out = of, .threads = threads};
    oc_kargs ar = {.p = &p, .n_in = 1, .n_out = 1, .in = ins, .out = orf, .threads = 1};
    CHECK(oc_global_pool_forward(&af) == 0 && oc_global_pool_ref(&ar) == 0, "global pool failed");
    int64_t bad;
    double worst = worst_diff(yf.data, yr.data, yr.numel, &bad, 1e-6);
    printf("global %s [%lld,%lld,%lld] t=%d: max abs diff %.3g\n", kind == OC_POOL_MAX ? "max" : "avg",
           (long long)n, (long long)c, (long long)plane, threads, worst);
    CHECK(bad == 0, "global pool: %lld values differ (worst %g)", (long long)bad, worst);
    free(x.data);
    free(yf.data);
    free(yr.data);
}

int main(void)
{
    for (int threads = 1; threads <= 2; threads++) {
        oc_set_threads(threads);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(&cases[i], threads);
        for (int kind = OC_POOL_MAX; kind <= OC_POOL_AVG; kind++) {
            run_global(kind, 2, 19, 49, threads);
            run_global(kind, 1, 33, 1, threads);
            run_global(kind, 3, 7, 3136, threads);
        }
    }
    run_indices();
    oc_threads_shutdown();
    return check_finish("test_pool");
}
