/* test_conv_depthwise.c: compares the direct depthwise / small-group Conv
 * kernel (runtime/kernels/conv_depthwise.c) with the direct-loop
 * reference oc_conv_ref on odd shapes: channel counts that are not a
 * multiple of 16, 1x1 and 7x7 planes, strides 1, 2 and 3, dilation,
 * asymmetric pads (end pads implied by the output size), channel
 * multipliers, 2 and 4 channels per group, 3x3, 5x5 and other kernels,
 * with and without bias, fused activations and a residual, on 1 and 2
 * threads; the kernel paths (per plane, straight from X for stride-1
 * 3x3 with pads 1 on 12+ columns, flattened plane for other stride-1 3x3
 * on 12..28-wide rows, 16-channel blocks for other narrow rows) all
 * appear; with AVX-512, the masked-load planes (stride 2, and stride 1
 * with pads 1 under 64 columns) take the 3x3 cases; with AVX2, its
 * planes take stride 2 with output rows of 14 or more (odd and even
 * output heights: one row or two at a time) and stride 1 with pads 1 up
 * to 28 columns; CTest reruns the whole test with the ISA capped at AVX2
 * and generic, so every path runs on an AVX-512 machine.
 * Prints each case and its worst difference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/kernels/conv.h"
#include "../../runtime/kernels/conv_depthwise.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"
#include "../unit/tensor_view.h"
#include "conv_vs_ref.h"

typedef struct dw_case {
    const char *name;
    int64_t n, c, mult, cg; /* cin = c * cg (group = c), cout = c * mult */
    int64_t h, w, kh, kw, sh, sw, dh, dw, pt, pl, pbot, pr;
    int bias, act, residual;
    float alpha, beta;
} dw_case;

static const dw_case cases[] = {
    {"dw 3x3 s1 p1 C=19", 2, 19, 1, 1, 13, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_NONE, 0, 0, 0},
    {"dw 3x3 s2 p1 C=21 relu6", 1, 21, 1, 1, 14, 15, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, OC_ACT_CLIP, 0, 0, 6},
    /* stride-1 3x3 on 12..28-wide rows: straight from X with pads 1, else the flattened-plane sum */
    {"dw 3x3 s1 p1 on 14x14 C=20 relu6 (direct)", 2, 20, 1, 1, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_CLIP, 0, 0, 6},
    {"dw 3x3 s1 dil 2 pads 2/1 on 13x17 (flat)", 1, 18, 1, 1, 13, 17, 3, 3, 1, 1, 2, 2, 2, 1, 2, 3, 0, OC_ACT_NONE, 1, 0, 0},
    {"dw 3x3 s1 p1 on 28x28 C=33 (direct)", 1, 33, 1, 1, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_RELU, 0, 0, 0},
    /* stride-1 3x3, pads 1, same size, 12+ columns: straight from X (dw_direct3) */
    {"dw 3x3 s1 p1 on 3x12 C=5 (direct, 3 rows)", 2, 5, 1, 1, 3, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_NONE, 0, 0, 0},
    {"dw 3x3 s1 p1 on 37x45 C=18 relu6+residual (direct)", 1, 18, 1, 1, 37, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_CLIP, 1, 0, 6},
    {"dw 3x3 s2 asym pads 0/1", 2, 5, 1, 1, 9, 10, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, OC_ACT_RELU, 0, 0, 0},
    /* AVX-512 planes: stride 2 over several 16-column chunks with a tail, odd widths, pads 1/0 and 2/2;
     * stride 1 just under and over the masked plane's width limit (64) */
    {"dw 3x3 s2 p1 on 23x70 C=9 relu6+residual", 1, 9, 1, 1, 23, 70, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, OC_ACT_CLIP, 1, 0, 6},
    {"dw 3x3 s2 pads 1/0 on 17x33 C=4", 2, 4, 1, 1, 17, 33, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1, OC_ACT_NONE, 0, 0, 0},
    /* AVX2 8-channel blocks in bands of output rows (230 columns: 2 rows a band, the last one 1) */
    {"dw 3x3 s2 p1 on 61x230 C=11 relu6+residual (row bands)", 1, 11, 1, 1, 61, 230, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, OC_ACT_CLIP, 1, 0, 6},
    {"dw 3x3 s2 pads 1/0 on 40x131 C=9 (row bands)", 2, 9, 1, 1, 40, 131, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1, OC_ACT_RELU, 0, 0, 0},
    {"dw 3x3 s2 pads 2/2 on 6x37 C=3", 1, 3, 1, 1, 6, 37, 3, 3, 2, 2, 1, 1, 2, 2, 2, 2, 0, OC_ACT_NONE, 0, 0, 0},
    {"dw 3x3 s1 p1 on 9x63 C=6", 1, 6, 1, 1, 9, 63, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_RELU, 0, 0, 0},
    {"dw 3x3 s1 p1 on 5x67 C=6 (direct)", 1, 6, 1, 1, 5, 67, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_NONE, 1, 0, 0},
    {"dw 3x3 s1 p1 on 2x2 C=17", 2, 17, 1, 1, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_NONE, 1, 0, 0},
    {"dw 5x5 s1 p2 sigmoid+residual", 1, 7, 1, 1, 12, 9, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, OC_ACT_SIGMOID, 1, 0, 0},
    {"dw 5x5 s2 p2 C=17", 2, 17, 1, 1, 15, 16, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, OC_ACT_NONE, 0, 0, 0},
    {"dw 3x3 dil 2 p2 multiplier 2", 1, 6, 2, 1, 10, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, OC_ACT_NONE, 0, 0, 0},
    {"dw 3x3 on 1x1 plane p1", 3, 9, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_TANH, 0, 0, 0},
    {"dw 3x3 on 7x7 plane s2 p1", 2, 33, 1, 1, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, OC_ACT_HARD_SWISH, 0, 0, 0},
    {"dw 7x7 on 7x7 plane p3", 1, 10, 1, 1, 7, 7, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1, OC_ACT_NONE, 1, 0, 0},
    {"dw 2x4 s(3,2) dil(1,2) pads 1/0/2/3", 1, 4, 3, 1, 11, 13, 2, 4, 3, 2, 1, 2, 1, 0, 2, 3, 1, OC_ACT_LEAKY_RELU, 0, 0.1f, 0},
    {"dw 1x1 s2", 2, 8, 1, 1, 9, 9, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, OC_ACT_NONE, 0, 0, 0},
    {"dw 3x3 s1 no pad, end cut", 1, 3, 1, 1, 8, 9, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, OC_ACT_NONE, 0, 0, 0},
    {"group 3x3 s1 p1 Cg=2", 2, 5, 2, 2, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, OC_ACT_RELU, 1, 0, 0},
    {"group 5x5 s2 p2 Cg=4", 1, 3, 1, 4, 11, 10, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 1, OC_ACT_NONE, 0, 0, 0},
    {"group 3x3 s2 Cg=3 multiplier 3", 1, 2, 3, 3, 10, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0, OC_ACT_GELU, 0, 0, 1},
};

static void run_case(const dw_case *cc, int threads)
{
    oc_conv_params p = {0};
    p.nsp = 2;
    p.batch = cc->n;
    p.group = cc->c;
    p.cin = cc->c * cc->cg;
    p.cout = cc->c * cc->mult;
    int64_t in[2] = {cc->h, cc->w}, k[2] = {cc->kh, cc->kw}, s[2] = {cc->sh, cc->sw}, dl[2] = {cc->dh, cc->dw};
    int64_t pb[2] = {cc->pt, cc->pl}, pe[2] = {cc->pbot, cc->pr};
    for (int i = 0; i < 2; i++) {
        p.in[i] = in[i];
        p.k[i] = k[i];
        p.s[i] = s[i];
        p.dil[i] = dl[i];
        p.pb[i] = pb[i];
        p.out[i] = (in[i] + pb[i] + pe[i] - ((k[i] - 1) * dl[i] + 1)) / s[i] + 1;
    }
    p.ep.act = cc->act;
    p.ep.alpha = cc->alpha;
    p.ep.beta = cc->beta;
    p.ep.has_residual = cc->residual;
    CHECK(oc_conv_depthwise_applicable(&p), "%s: not applicable", cc->name);
    cvr_result cr = conv_vs_ref(oc_conv_depthwise_forward, &p, cc->bias, oc_conv_depthwise_tscratch(&p), threads,
                                777u + (unsigned)cc->c, 1e-5, 1e-5 * (double)(cc->kh * cc->kw * cc->cg));
    CHECK(cr.rf == 0 && cr.rr == 0, "%s: kernels returned %d / %d", cc->name, cr.rf, cr.rr);
    char dims[96];
    printf("%-40s t=%d Y %s: max abs diff %.3g over %lld values\n", cc->name, threads,
           oc_format_dims(dims, sizeof dims, cr.ydims, 4), cr.worst, (long long)cr.numel);
    CHECK(cr.bad == 0, "%s (threads %d): %lld of %lld values differ (worst %g)", cc->name, threads,
          (long long)cr.bad, (long long)cr.numel, cr.worst);
}

/* The c8 pairs (conv.h out_c8 / in_c8): a 1x1 conv writing its output in
 * blocks of 8 channels, the depthwise conv reading them, against
 * oc_conv_ref on both in the usual layout. */
typedef struct pair_case {
    const char *name;
    int64_t n, cin, c, h, w, s, pt, pl, pbot, pr;
    int act1, act2, residual;
} pair_case;

static const pair_case pairs[] = {
    {"pair 5->16 14x14 s2 p1 relu6/relu6", 2, 5, 16, 14, 14, 2, 1, 1, 1, 1, OC_ACT_CLIP, OC_ACT_CLIP, 0},
    {"pair 24->48 13x11 s1 p1 relu/residual", 1, 24, 48, 13, 11, 1, 1, 1, 1, 1, OC_ACT_RELU, OC_ACT_NONE, 1},
    {"pair 7->8 7x7 s2 p1", 1, 7, 8, 7, 7, 2, 1, 1, 1, 1, OC_ACT_NONE, OC_ACT_RELU, 0},
    {"pair 16->24 9x30 s1 pads 0/2 hardswish", 2, 16, 24, 9, 30, 1, 0, 2, 2, 0, OC_ACT_CLIP, OC_ACT_HARD_SWISH, 0},
    {"pair 3->32 57x61 s2 p1 (bands, edges)", 1, 3, 32, 57, 61, 2, 1, 1, 1, 1, OC_ACT_CLIP, OC_ACT_CLIP, 0},
    {"pair 300->16 6x6 s1 p1 (K past a slice)", 1, 300, 16, 6, 6, 1, 1, 1, 1, 1, OC_ACT_RELU, OC_ACT_CLIP, 0},
    {"pair 4->8 1x3 s1 p1", 1, 4, 8, 1, 3, 1, 1, 1, 1, 1, OC_ACT_NONE, OC_ACT_NONE, 0},
};

static void run_pair(const pair_case *pc, int threads)
{
    oc_conv_params p1 = {.nsp = 2, .batch = pc->n, .cin = pc->cin, .cout = pc->c, .group = 1,
                         .in = {pc->h, pc->w}, .out = {pc->h, pc->w}, .k = {1, 1}, .s = {1, 1}, .dil = {1, 1},
                         .pointwise = 1};
    p1.ep.act = pc->act1;
    p1.ep.alpha = 0.0f, p1.ep.beta = 6.0f;
    oc_conv_params p2 = {.nsp = 2, .batch = pc->n, .cin = pc->c, .cout = pc->c, .group = pc->c,
                         .in = {pc->h, pc->w}, .k = {3, 3}, .s = {pc->s, pc->s}, .dil = {1, 1},
                         .pb = {pc->pt, pc->pl}};
    p2.out[0] = (pc->h + pc->pt + pc->pbot - 3) / pc->s + 1;
    p2.out[1] = (pc->w + pc->pl + pc->pr - 3) / pc->s + 1;
    p2.ep.act = pc->act2;
    p2.ep.alpha = 0.0f, p2.ep.beta = 6.0f;
    p2.ep.has_residual = pc->residual;
    int64_t xd[4] = {pc->n, pc->cin, pc->h, pc->w}, td[4] = {pc->n, pc->c, pc->h, pc->w};
    int64_t yd[4] = {pc->n, pc->c, p2.out[0], p2.out[1]}, w1d[4] = {pc->c, pc->cin, 1, 1}, w2d[4] = {pc->c, 1, 3, 3};
    int64_t bd[1] = {pc->c};
    unsigned st = 99u + (unsigned)pc->cin;
    oc_tensor x, w1, b1, w2, b2, r, t, tr, y, yr;
    tensor_init(&x, OC_FLOAT, 4, xd, NULL);
    tensor_init(&w1, OC_FLOAT, 4, w1d, NULL);
    tensor_init(&b1, OC_FLOAT, 1, bd, NULL);
    tensor_init(&w2, OC_FLOAT, 4, w2d, NULL);
    tensor_init(&b2, OC_FLOAT, 1, bd, NULL);
    tensor_init(&r, OC_FLOAT, 4, yd, NULL);
    tensor_init(&t, OC_FLOAT, 4, td, NULL);
    tensor_init(&tr, OC_FLOAT, 4, td, NULL);
    tensor_init(&y, OC_FLOAT, 4, yd, NULL);
    tensor_init(&yr, OC_FLOAT, 4, yd, NULL);
    oc_tensor *all[] = {&x, &w1, &b1, &w2, &b2, &r, &t, &tr, &y, &yr};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        all[i]->data = cvr_rand_buf(all[i]->numel, &st);
    /* the reference: both convs on the usual layout */
    const oc_tensor *in1[3] = {&x, &w1, &b1}, *in2r[4] = {&tr, &w2, &b2, pc->residual ? &r : NULL};
    oc_tensor *o1r[1] = {&tr}, *o2r[1] = {&yr};
    oc_kargs a1r = {.p = &p1, .n_in = 3, .n_out = 1, .in = in1, .out = o1r, .threads = 1};
    oc_kargs a2r = {.p = &p2, .n_in = 4, .n_out = 1, .in = in2r, .out = o2r, .threads = 1};
    CHECK(oc_conv_ref(&a1r) == 0 && oc_conv_ref(&a2r) == 0, "%s: reference failed", pc->name);
    /* the pair */
    p1.out_c8 = 1;
    p2.in_c8 = 1;
    size_t s1 = oc_conv_thread_scratch(&p1), s2 = oc_conv_depthwise_tscratch(&p2), slice = s1 > s2 ? s1 : s2;
    unsigned char *ts = malloc(slice * (size_t)threads + 1);
    const oc_tensor *in2[4] = {&t, &w2, &b2, pc->residual ? &r : NULL};
    oc_tensor *o1[1] = {&t}, *o2[1] = {&y};
    oc_kargs a1 = {.p = &p1, .n_in = 3, .n_out = 1, .in = in1, .out = o1, .threads = threads, .tscratch = ts,
                   .tscratch_stride = slice};
    oc_kargs a2 = {.p = &p2, .n_in = 4, .n_out = 1, .in = in2, .out = o2, .threads = threads, .tscratch = ts,
                   .tscratch_stride = slice};
    /* on one thread as a plan runs it: W prepared (packed W^T and a copy)
     * and the graph's W gone; on two straight from W */
    void *prep = NULL, *wkeep = w1.data;
    if (threads == 1) {
        oc_kargs ap = a1;
        prep = malloc(oc_conv_prep_bytes(&ap) + 64);
        CHECK(prep && oc_conv_prep(&ap, prep) == 0, "%s: prep failed", pc->name);
        a1.prep = prep;
        w1.data = NULL;
    }
    int r1 = oc_conv_forward(&a1), r2 = r1 ? -1 : oc_conv_depthwise_forward(&a2);
    w1.data = wkeep;
    free(prep);
    CHECK(r1 == 0 && r2 == 0, "%s: kernels returned %d / %d", pc->name, r1, r2);
    /* the hand-over really is channel-blocked: element (n, c, i) at [n][c/8][i][c%8] */
    int64_t HW = pc->h * pc->w, badt = 0;
    for (int64_t n = 0; n < pc->n; n++)
        for (int64_t c = 0; c < pc->c; c++)
            for (int64_t i = 0; i < HW; i++) {
                double e = ((const float *)tr.data)[(n * pc->c + c) * HW + i];
                double f = ((const float *)t.data)[(n * pc->c + c / 8 * 8) * HW + i * 8 + c % 8];
                badt += !(fabs(f - e) <= 1e-5 + 1e-5 * fabs(e) * (double)pc->cin);
            }
    double worst = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < yr.numel; i++) {
        double e = ((const float *)yr.data)[i], f = ((const float *)y.data)[i], diff = fabs(f - e);
        if (diff > worst || diff != diff)
            worst = diff;
        bad += !(diff <= 1e-4 + 1e-5 * fabs(e) * (double)(9 + pc->cin));
    }
    char dims[96];
    printf("%-40s %s t=%d Y %s: max abs diff %.3g over %lld values\n", pc->name, oc_isa_name(oc_cpu_isa()), threads,
           oc_format_dims(dims, sizeof dims, yd, 4), worst, (long long)yr.numel);
    CHECK(badt == 0, "%s (%s, threads %d): %lld blocked values of the 1x1 conv differ", pc->name,
          oc_isa_name(oc_cpu_isa()), threads, (long long)badt);
    CHECK(bad == 0, "%s (%s, threads %d): %lld of %lld values differ (worst %g)", pc->name, oc_isa_name(oc_cpu_isa()),
          threads, (long long)bad, (long long)yr.numel, worst);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->data);
    free(ts);
}

int main(void)
{
    oc_conv_params p = {.nsp = 2, .batch = 1, .cin = 8, .cout = 8, .group = 1, .in = {5, 5}, .out = {5, 5},
                        .k = {3, 3}, .s = {1, 1}, .dil = {1, 1}, .pb = {1, 1}};
    CHECK(!oc_conv_depthwise_applicable(&p), "group 1 must not take the depthwise path");
    p.group = 1;
    p.nsp = 3;
    CHECK(!oc_conv_depthwise_applicable(&p), "3-D must not take the depthwise path");
    for (int threads = 1; threads <= 2; threads++) {
        oc_set_threads(threads);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(&cases[i], threads);
        /* the pairs on every ISA this CPU has: the AVX2 blocks, and the
         * portable products and loop elsewhere */
        oc_isa top = oc_cpu_isa();
        for (int isa = OC_ISA_GENERIC; isa <= (int)top; isa++) {
            oc_cpu_set_isa((oc_isa)isa);
            for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
                run_pair(&pairs[i], threads);
        }
        oc_cpu_set_isa(top);
    }
    oc_threads_shutdown();
    return check_finish("test_conv_depthwise");
}
