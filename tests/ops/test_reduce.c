/* test_reduce.c: the threaded Softmax / LogSoftmax (vectorized exp on
 * contiguous rows) against the plain reference loop (libm exp) on odd
 * shapes: rows of 1, 7, 1000 and 1001 entries, a strided axis (inner > 1),
 * large logits, on 1 and 2 threads. Prints the worst differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/reduce.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"

static float frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

static void run(int kind, int64_t outer, int64_t n, int64_t inner, float scale, int threads)
{
    oc_softmax_params p = {.kind = kind, .dtype = OC_FLOAT, .outer = outer, .n = n, .inner = inner};
    int64_t numel = outer * n * inner, d[3] = {outer, n, inner};
    float *x = malloc(sizeof(float) * (size_t)numel), *y1 = malloc(sizeof(float) * (size_t)numel);
    float *y2 = malloc(sizeof(float) * (size_t)numel);
    unsigned st = 3u + (unsigned)numel;
    for (int64_t i = 0; i < numel; i++)
        x[i] = scale * frand(&st);
    oc_tensor tx = {.dtype = OC_FLOAT, .rank = 3, .numel = numel, .data = x}, t1 = tx, t2 = tx;
    memcpy(tx.dims, d, sizeof d);
    memcpy(t1.dims, d, sizeof d);
    memcpy(t2.dims, d, sizeof d);
    t1.data = y1;
    t2.data = y2;
    const oc_tensor *in[1] = {&tx};
    oc_tensor *o1[1] = {&t1}, *o2[1] = {&t2};
    oc_kargs ar = {.p = &p, .n_in = 1, .n_out = 1, .in = in, .out = o1, .threads = 1};
    oc_kargs af = {.p = &p, .n_in = 1, .n_out = 1, .in = in, .out = o2, .threads = threads};
    CHECK(oc_softmax_ref(&ar) == 0 && oc_softmax_forward(&af) == 0, "softmax failed");
    double worst = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < numel; i++) {
        double e = fabs((double)y2[i] - y1[i]);
        worst = e > worst || e != e ? e : worst;
        bad += !(e <= 1e-7 + 1e-5 * fabs(y1[i]));
    }
    printf("%s [%lld,%lld,%lld] x%g t=%d: max abs diff %.3g\n", kind == OC_SOFTMAX ? "softmax   " : "logsoftmax",
           (long long)outer, (long long)n, (long long)inner, scale, threads, worst);
    CHECK(bad == 0, "softmax: %lld values differ (worst %g)", (long long)bad, worst);
    free(x);
    free(y1);
    free(y2);
}

int main(void)
{
    for (int threads = 1; threads <= 2; threads++) {
        oc_set_threads(threads);
        for (int kind = OC_SOFTMAX; kind <= OC_LOG_SOFTMAX; kind++) {
            run(kind, 37, 1000, 1, 8.0f, threads);
            run(kind, 5, 1001, 1, 80.0f, threads);
            run(kind, 300, 7, 1, 3.0f, threads);
            run(kind, 4, 1, 1, 3.0f, threads);
            run(kind, 3, 19, 5, 4.0f, threads);
        }
    }
    oc_threads_shutdown();
    return check_finish("test_reduce");
}
