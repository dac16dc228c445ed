/* bench_sgemm.c: GFLOP/s of onnxc's sgemm (runtime/kernels/sgemm.h)
 * against OpenBLAS's cblas_sgemm, on one thread and on all threads, on a
 * large square product and on the im2col-shaped products of ResNet-18 and
 * VGG-16 convolutions at batch 1 (M = output channels, N = output H*W,
 * K = input channels * kh * kw). "packed" times oc_sgemm_packed with A
 * packed beforehand (how Conv uses it: weights packed at plan time),
 * "plain" times oc_sgemm (A packed on every call). Each number is the best
 * of many timed calls (other processes share the cores; a one-thread
 * sample counts only if the scheduler did not take the core away during
 * it); the last line is the best single-thread rate measured.
 *
 * usage: bench_sgemm [--isa generic|avx2|avx512] [--time SECONDS] [--quick] [--only TEXT]
 * (--quick: skip products over 1.1 GFLOP; --only: shapes whose name contains TEXT)
 * Not a test: run by hand (build target bench_sgemm). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/cpu.h"
#include "../../runtime/kernels/sgemm.h"
#include "../../runtime/threads.h"

void openblas_set_num_threads(int);

typedef struct shape {
    const char *name;
    int m, n, k;
    int tb; /* B stored transposed (N x K) */
} shape;

static const shape shapes[] = {
    {"square 1024", 1024, 1024, 1024},
    {"square 2048", 2048, 2048, 2048},
    {"square 1024, B^T", 1024, 1024, 1024, 1},
    {"r18 conv1 7x7/2", 64, 12544, 147},
    {"r18 layer1 3x3", 64, 3136, 576},
    {"r18 layer2 3x3", 128, 784, 1152},
    {"r18 layer3 3x3", 256, 196, 2304},
    {"r18 layer4 3x3", 512, 49, 4608},
    {"r18 layer4 1x1/2", 512, 49, 256},
    {"r50 layer1 1x1 256->64", 64, 3136, 256},
    {"r50 layer1 1x1 64->256", 256, 3136, 64},
    {"r50 layer2 1x1 512->128", 128, 784, 512},
    {"r50 layer2 1x1 128->512", 512, 784, 128},
    {"r50 layer3 1x1 1024->256", 256, 196, 1024},
    {"r50 layer3 1x1 256->1024", 1024, 196, 256},
    {"r50 layer4 1x1 2048->512", 512, 49, 2048},
    {"r50 layer4 1x1 512->2048", 2048, 49, 512},
    {"mbv2 f1 1x1 32->16", 16, 12544, 32},
    {"mbv2 14x14 1x1 384->64", 64, 196, 384},
    {"mbv2 14x14 1x1 576->96", 96, 196, 576},
    {"mbv2 7x7 1x1 960->160", 160, 49, 960},
    {"mbv2 56x56 1x1 144->24", 24, 3136, 144},
    {"mbv2 28x28 1x1 192->32", 32, 784, 192},
    {"32x32 plane 3x3 (B packed)", 64, 1024, 576},
    {"64x64 plane 3x3 (B packed)", 64, 4096, 576},
    {"vgg16 conv1_2", 64, 50176, 576},
    {"vgg16 conv2_2", 128, 12544, 1152},
    {"vgg16 conv3_x", 256, 3136, 2304},
    {"vgg16 conv4_x", 512, 784, 4608},
    {"vgg16 conv5_x", 512, 196, 4608},
};

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static void print_load(const char *when)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = -1;
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    if (l >= 0)
        printf("load average (1 min) %s: %.2f\n", when, l);
}

typedef struct ctx {
    const shape *s;
    const float *A, *B;
    float *C;
    void *Ap;
    unsigned char *scratch;
    size_t stride;
    int threads;
} ctx;

enum { V_PACKED, V_PLAIN, V_OPENBLAS };

static void run_once(const ctx *c, int variant)
{
    int M = c->s->m, N = c->s->n, K = c->s->k, tb = c->s->tb;
    switch (variant) {
    case V_PACKED:
        oc_sgemm_packed_threaded(M, N, K, c->Ap, 0, M, c->B, tb ? K : N, tb, 0.0f, c->C, N, NULL, c->threads,
                                 c->scratch, c->stride);
        break;
    case V_PLAIN:
        oc_sgemm_threaded(0, tb, M, N, K, 1.0f, c->A, K, c->B, tb ? K : N, 0.0f, c->C, N, NULL, c->threads,
                          c->scratch, c->stride);
        break;
    default:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, c->A, K, c->B,
                    tb ? K : N, 0.0f, c->C, N);
        break;
    }
}

/* Best GFLOP/s over timed samples for about `secs`: each sample is one
 * call, or several for calls under 50 us. Other processes share the cores,
 * so the fastest sample is the rate. A one-thread sample counts only when
 * the thread's CPU clock ran for at least 95% of its wall time (nobody
 * preempted it); if none qualifies, the best CPU-clock rate is used. */
static double measure(const ctx *c, int variant, double secs)
{
    double flops = 2.0 * c->s->m * c->s->n * c->s->k;
    run_once(c, variant);
    double t0 = now();
    run_once(c, variant);
    double one = now() - t0;
    int per = one < 5e-5 ? (int)(5e-5 / (one > 1e-7 ? one : 1e-7)) + 1 : 1;
    double best = 0, best_cpu = 0, end = now() + secs;
    for (int r = 0; r < 5 || now() < end; r++) {
        double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        t0 = now();
        for (int i = 0; i < per; i++)
            run_once(c, variant);
        double wall = now() - t0, cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        double rate = flops * per / wall * 1e-9;
        if (c->threads > 1 || cpu >= 0.95 * wall)
            best = rate > best ? rate : best;
        if (c->threads == 1 && flops * per / cpu * 1e-9 > best_cpu)
            best_cpu = flops * per / cpu * 1e-9;
    }
    return best > 0 ? best : best_cpu;
}

int main(int argc, char **argv)
{
    double secs = 1.0;
    int quick = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            const char *n = argv[++i];
            oc_cpu_set_isa(!strcmp(n, "generic") ? OC_ISA_GENERIC : !strcmp(n, "avx2") ? OC_ISA_AVX2 : OC_ISA_AVX512);
        } else if (!strcmp(argv[i], "--time") && i + 1 < argc) {
            secs = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--isa generic|avx2|avx512] [--time SECONDS] [--quick] [--only TEXT]\n",
                    argv[0]);
            return 2;
        }
    }
    int all = oc_set_threads(0);
    size_t stride = oc_sgemm_scratch_bytes();
    unsigned char *scratch = malloc(stride * (size_t)all);
    printf("onnxc sgemm: ISA %s (detected %s), MR x NR = %d x %d; %d threads; GFLOP/s, best sample\n", oc_sgemm_isa(),
           oc_isa_name(oc_cpu_isa_detected()), oc_sgemm_mr(), oc_sgemm_nr(), all);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS core type: %s; 1 thread: best sample the scheduler did not interrupt\n", ct ? ct : "(auto)");
    print_load("at start");
    printf("\n");
    printf("%-18s %16s | %7s %7s %8s %6s | %7s %7s %8s %6s | %s\n", "shape", "M x N x K", "packed", "plain",
           "OpenBLAS", "ratio", "packed", "plain", "OpenBLAS", "ratio", "max rel diff");
    printf("%-18s %16s | %31s | %31s |\n", "", "", "---------- 1 thread ----------",
           "---------- all threads --------");
    double best1 = 0;
    const char *best_name = "";
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        if ((quick && s->m * (double)s->n * s->k > 1.1e9) || (only && !strstr(s->name, only)))
            continue;
        size_t na = (size_t)s->m * s->k, nb = (size_t)s->k * s->n, nc = (size_t)s->m * s->n;
        float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *Cr = malloc(nc * 4);
        unsigned st = 7;
        for (size_t i = 0; i < na; i++)
            st = st * 1664525u + 1013904223u, A[i] = (float)(st >> 9) / 8388608.0f - 0.5f;
        for (size_t i = 0; i < nb; i++)
            st = st * 1664525u + 1013904223u, B[i] = (float)(st >> 9) / 8388608.0f - 0.5f;
        void *Ap = malloc(oc_sgemm_pack_a_bytes(s->m, s->k));
        oc_sgemm_pack_a(s->m, s->k, A, s->k, 0, Ap);
        ctx c = {s, A, B, C, Ap, scratch, stride, 1};
        double r[2][3];
        for (int t = 0; t < 2; t++) {
            c.threads = t ? all : 1;
            openblas_set_num_threads(c.threads);
            for (int v = 0; v < 3; v++)
                r[t][v] = measure(&c, v, secs / 6);
        }
        openblas_set_num_threads(1);
        /* agreement with OpenBLAS, relative to the largest |C| */
        int ldb = s->tb ? s->k : s->n;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, A, s->k,
                    B, ldb, 0.0f, Cr, s->n);
        oc_sgemm_packed(s->m, s->n, s->k, Ap, 0, s->m, B, ldb, s->tb, 0.0f, C, s->n, NULL, scratch);
        double diff = 0, big = 0;
        for (size_t i = 0; i < nc; i++) {
            diff = fmax(diff, fabs((double)C[i] - Cr[i]));
            big = fmax(big, fabs((double)Cr[i]));
        }
        char dims[32];
        snprintf(dims, sizeof dims, "%dx%dx%d", s->m, s->n, s->k);
        printf("%-18s %16s | %7.1f %7.1f %8.1f %5.2fx | %7.1f %7.1f %8.1f %5.2fx | %.1e\n", s->name, dims, r[0][0],
               r[0][1], r[0][2], r[0][0] / r[0][2], r[1][0], r[1][1], r[1][2], r[1][0] / r[1][2], diff / big);
        fflush(stdout);
        for (int v = 0; v < 2; v++)
            if (r[0][v] > best1)
                best1 = r[0][v], best_name = s->name;
        free(A), free(B), free(C), free(Cr), free(Ap);
    }
    printf("\n");
    print_load("at end");
    printf("best single-thread sgemm rate on this machine: %.1f GFLOP/s (%s, %s)\n", best1, best_name,
           oc_sgemm_isa());
    free(scratch);
    oc_threads_shutdown();
    return 0;
}
