/* test_norm.c: the threaded BatchNormalization kernels against the serial
 * reference on odd shapes (C = 19, 1x1 and 7x7 planes, N = 3), on 1 and 2
 * threads: inference and training forward (Y and the running / batch
 * statistics) against oc_batchnorm_ref, and the backward on 2 threads
 * against 1 thread. The per-channel arithmetic is shared, so all must
 * agree bit for bit. Synchronized BatchNorm (a collective in the kernel
 * arguments, as a data-parallel --sync-bn run sets) with one process must
 * give the same bits too, its allreduces being identities; C = 300
 * crosses its channel blocks. With a fused residual and activation
 * (FusedBatchNormalization: Relu, LeakyRelu, with and without R) every
 * path gives BN's bits with the Add and the activation kernel applied. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/norm.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"

static float frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

static void tinit(oc_tensor *t, int rank, const int64_t *dims, unsigned *st)
{
    memset(t, 0, sizeof *t);
    t->dtype = OC_FLOAT;
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++)
        t->numel *= (t->dims[i] = dims[i]);
    t->data = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
    for (int64_t i = 0; i < t->numel; i++)
        ((float *)t->data)[i] = frand(st);
}

static int same(const oc_tensor *a, const oc_tensor *b)
{
    return !memcmp(a->data, b->data, sizeof(float) * (size_t)a->numel);
}

/* one process: the sums are already global; counts the calls */
static int n_allreduce;
static int one_process_allreduce(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    n_allreduce++;
    return 0;
}
static const oc_collective one_process = {one_process_allreduce, NULL};

static void run(int64_t n, int64_t c, int64_t h, int64_t w, int training, int threads)
{
    unsigned st = 17u + (unsigned)(c * h * w);
    int64_t xd[4] = {n, c, h, w}, cd[1] = {c};
    oc_batchnorm_params p = {.epsilon = 1e-5f, .momentum = 0.9f, .training = training, .n = n, .c = c,
                             .spatial = h * w};
    oc_tensor x, sc, b, m, v, y1, y2, s1[4], s2[4];
    tinit(&x, 4, xd, &st);
    tinit(&sc, 1, cd, &st);
    tinit(&b, 1, cd, &st);
    tinit(&m, 1, cd, &st);
    tinit(&v, 1, cd, &st);
    for (int64_t i = 0; i < c; i++)
        ((float *)v.data)[i] = fabsf(((float *)v.data)[i]) + 0.5f;
    tinit(&y1, 4, xd, &st);
    tinit(&y2, 4, xd, &st);
    for (int k = 0; k < 4; k++) {
        tinit(&s1[k], 1, cd, &st);
        tinit(&s2[k], 1, cd, &st);
    }
    const oc_tensor *in[5] = {&x, &sc, &b, &m, &v};
    oc_tensor *o1[5] = {&y1, &s1[0], &s1[1], &s1[2], &s1[3]}, *o2[5] = {&y2, &s2[0], &s2[1], &s2[2], &s2[3]};
    int nout = training ? 5 : 1;
    oc_kargs ar = {.p = &p, .n_in = 5, .n_out = nout, .in = in, .out = o1, .threads = 1};
    oc_kargs af = {.p = &p, .n_in = 5, .n_out = nout, .in = in, .out = o2, .threads = threads};
    CHECK(oc_batchnorm_ref(&ar) == 0 && oc_batchnorm_forward(&af) == 0, "batchnorm failed");
    int ok = same(&y1, &y2);
    for (int k = 0; training && k < 4; k++)
        ok &= same(&s1[k], &s2[k]);
    printf("batchnorm %s [%lld,%lld,%lld,%lld] t=%d: %s the reference\n", training ? "training " : "inference",
           (long long)n, (long long)c, (long long)h, (long long)w, threads, ok ? "same bits as" : "DIFFERS from");
    CHECK(ok, "batchnorm forward differs from the reference");
    if (training) { /* synchronized, one process: y and statistics as the plain kernel */
        oc_tensor y3, s3[4];
        tinit(&y3, 4, xd, &st);
        for (int k = 0; k < 4; k++)
            tinit(&s3[k], 1, cd, &st);
        oc_tensor *o3[5] = {&y3, &s3[0], &s3[1], &s3[2], &s3[3]};
        oc_kargs as = {.p = &p, .n_in = 5, .n_out = nout, .in = in, .out = o3, .threads = threads, .coll = &one_process};
        n_allreduce = 0;
        CHECK(oc_batchnorm_forward(&as) == 0, "synchronized batchnorm failed");
        int sok = same(&y3, &y2) && n_allreduce == 2 * (int)((c + 255) / 256);
        for (int k = 0; k < 4; k++)
            sok &= same(&s3[k], &s2[k]);
        printf("batchnorm synchronized [%lld,%lld,%lld,%lld] t=%d: %d allreduces, %s the plain kernel\n", (long long)n,
               (long long)c, (long long)h, (long long)w, threads, n_allreduce, sok ? "same bits as" : "DIFFERS from");
        CHECK(sok, "synchronized batchnorm forward differs from the plain kernel");
        free(y3.data);
        for (int k = 0; k < 4; k++)
            free(s3[k].data);
    }

    /* FusedBatchNormalization: the same y with the activation applied
     * (oc_act_apply, as the unfused activation kernels), from the threaded,
     * the reference and (training) the synchronized kernel */
    oc_tensor r;
    tinit(&r, 4, xd, &st);
    const oc_tensor *inr[6] = {&x, &sc, &b, &m, &v, &r};
    for (int variant = 0; variant < 4; variant++) {
        int act = variant & 1 ? OC_ACT_LEAKY_RELU : OC_ACT_RELU, res = variant >> 1;
        oc_batchnorm_params pf = p;
        pf.ep.act = act;
        pf.ep.alpha = 0.1f;
        pf.ep.has_residual = res;
        float *want = malloc(sizeof(float) * (size_t)y2.numel);
        memcpy(want, y2.data, sizeof(float) * (size_t)y2.numel);
        for (int64_t i = 0; res && i < y2.numel; i++) /* the Add kernel's float sum */
            want[i] = want[i] + ((const float *)r.data)[i];
        oc_act_apply(act, 0.1f, 0.0f, want, y2.numel);
        int fok = 1;
        for (int kind = 0; kind < (training ? 3 : 2); kind++) {
            oc_tensor y4, s4[4];
            tinit(&y4, 4, xd, &st);
            for (int k = 0; k < 4; k++)
                tinit(&s4[k], 1, cd, &st);
            oc_tensor *o4[5] = {&y4, &s4[0], &s4[1], &s4[2], &s4[3]};
            oc_kargs a4 = {.p = &pf, .n_in = res ? 6 : 5, .n_out = nout, .in = res ? inr : in, .out = o4,
                           .threads = kind == 1 ? 1 : threads,
                           .coll = kind == 2 ? &one_process : NULL};
            CHECK((kind == 1 ? oc_batchnorm_ref(&a4) : oc_batchnorm_forward(&a4)) == 0, "fused batchnorm failed");
            fok &= !memcmp(y4.data, want, sizeof(float) * (size_t)y2.numel);
            for (int k = 0; training && k < 4; k++)
                fok &= same(&s4[k], &s2[k]);
            free(y4.data);
            for (int k = 0; k < 4; k++)
                free(s4[k].data);
        }
        printf("batchnorm %s%s + %s [%lld,%lld,%lld,%lld] t=%d: %s the unfused kernels\n",
               training ? "training " : "inference", res ? " + residual" : "", oc_act_name(act), (long long)n,
               (long long)c, (long long)h, (long long)w, threads, fok ? "same bits as" : "DIFFERS from");
        CHECK(fok, "fused batchnorm%s + %s differs from the unfused kernels", res ? " + residual" : "",
              oc_act_name(act));
        free(want);
    }
    free(r.data);

    /* backward: dX, dScale, dB on `threads` vs 1 */
    oc_tensor dy, g1[3], g2[3];
    tinit(&dy, 4, xd, &st);
    tinit(&g1[0], 4, xd, &st);
    tinit(&g2[0], 4, xd, &st);
    for (int k = 1; k < 3; k++) {
        tinit(&g1[k], 1, cd, &st);
        tinit(&g2[k], 1, cd, &st);
    }
    const oc_tensor *bin[5] = {&dy, &x, &sc, &m, &v};
    oc_tensor *bo1[3] = {&g1[0], &g1[1], &g1[2]}, *bo2[3] = {&g2[0], &g2[1], &g2[2]};
    oc_kargs b1 = {.p = &p, .n_in = 5, .n_out = 3, .in = bin, .out = bo1, .threads = 1};
    oc_kargs b2 = {.p = &p, .n_in = 5, .n_out = 3, .in = bin, .out = bo2, .threads = threads};
    CHECK(oc_batchnorm_backward(&b1) == 0 && oc_batchnorm_backward(&b2) == 0, "batchnorm backward failed");
    CHECK(same(&g1[0], &g2[0]) && same(&g1[1], &g2[1]) && same(&g1[2], &g2[2]),
          "batchnorm backward differs on %d threads", threads);
    if (training) {
        oc_tensor g3[3];
        tinit(&g3[0], 4, xd, &st);
        for (int k = 1; k < 3; k++)
            tinit(&g3[k], 1, cd, &st);
        oc_tensor *bo3[3] = {&g3[0], &g3[1], &g3[2]};
        oc_kargs b3 = {.p = &p, .n_in = 5, .n_out = 3, .in = bin, .out = bo3, .threads = threads, .coll = &one_process};
        n_allreduce = 0;
        CHECK(oc_batchnorm_backward(&b3) == 0, "synchronized batchnorm backward failed");
        int sok = same(&g3[0], &g2[0]) && same(&g3[1], &g2[1]) && same(&g3[2], &g2[2]) &&
                  n_allreduce == 3 * (int)((c + 255) / 256);
        printf("batchnorm synchronized backward [%lld,%lld,%lld,%lld] t=%d: %d allreduces, %s the plain kernel\n",
               (long long)n, (long long)c, (long long)h, (long long)w, threads, n_allreduce,
               sok ? "same bits as" : "DIFFERS from");
        CHECK(sok, "synchronized batchnorm backward differs from the plain kernel");
        for (int k = 0; k < 3; k++)
            free(g3[k].data);
    }
    oc_tensor *all[] = {&x, &sc, &b, &m, &v, &y1, &y2, &dy, &g1[0], &g1[1], &g1[2], &g2[0], &g2[1], &g2[2],
                        &s1[0], &s1[1], &s1[2], &s1[3], &s2[0], &s2[1], &s2[2], &s2[3]};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]->data);
}

int main(void)
{
    for (int threads = 1; threads <= 2; threads++) {
        oc_set_threads(threads);
        for (int training = 0; training <= 1; training++) {
            run(3, 19, 7, 7, training, threads);
            run(2, 19, 1, 1, training, threads);
            run(1, 33, 13, 11, training, threads);
            run(2, 300, 3, 3, training, threads);
        }
    }
    oc_threads_shutdown();
    return check_finish("test_norm");
}
