/* test_conv_ocblock.c: compares the output-channel-blocked direct conv
 * (runtime/kernels/conv_ocblock.c) with the direct-loop reference
 * oc_conv_ref. The cases reach: output channels past the last full block
 * of 32 (the store masks of both vectors) and whole blocks; one tile a
 * row (14 outputs), rows cut into 2 and 3 tiles of 10 to 14, and rows of
 * up to 7 taken two at a time (7x7 and 6-wide outputs, odd heights
 * leaving a last single row); column strides 1 and 2 (both instance
 * sets), row stride 3, 1x1, 3x3 and 5x3 kernels, asymmetric pads (the end
 * pads implied by the output size); no bias; the thread splits: one
 * image at a time with blocks split (blocks outermost, the next block's W
 * prefetched) or bands of rows outermost (W in L2, the image not),
 * several images in turn, and images split between the threads; each
 * with no epilogue, ReLU and Clip (clamped at the store) and residual +
 * LeakyRelu (the epilogue on finished rows), on 1 and 2 threads. CTest
 * reruns it with the ISA capped at AVX2 and at generic, where the tiles
 * run in plain C. Prints each case and its worst difference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/kernels/conv.h"
#include "../../runtime/kernels/conv_ocblock.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"
#include "../unit/tensor_view.h"
#include "conv_vs_ref.h"

static const cvr_case cases[] = {
    {"3x3 s2 p1 C=35 M=37, OW 14 (one tile a row), 3 images", 3, 35, 37, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {"3x3 s2 p1 C=16 M=64, OW 28 (two tiles a row), 4 images", 4, 16, 64, 56, 56, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {"3x3 s2 pads 0/1 C=8 M=32, 7x7 (two rows a tile)", 1, 8, 32, 14, 14, 3, 3, 2, 2, 0, 0, 1, 1, 1},
    {"3x3 s1 p1 C=5 M=33, 5x6 (two rows of 6), 4 images", 4, 5, 33, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"5x3 s(3,2) pads 2/1 0/2 C=7 M=56, OW 20 (tiles of 10)", 2, 7, 56, 17, 38, 5, 3, 3, 2, 2, 1, 0, 2, 1},
    {"1x1 s2 p0 C=24 M=32, OW 13, no bias", 1, 24, 32, 26, 26, 1, 1, 2, 2, 0, 0, 0, 0, 0},
    {"3x3 s1 p1 C=3 M=96, OW 30 (three tiles of 10)", 1, 3, 96, 9, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 s2 p1 C=64 M=50, OW 29 (bands of rows outermost)", 1, 64, 50, 58, 58, 3, 3, 2, 2, 1, 1, 1, 1, 1},
};

static double worst_all;

static void run_case(const cvr_case *oc, int act, int threads)
{
    oc_conv_params p = cvr_params(oc, act);
    CHECK(oc_conv_ocblock_applicable(&p), "%s: the kernel should apply", oc->name);
    cvr_result cr = conv_vs_ref_prep(oc_conv_ocblock_forward, &p, oc->bias, oc_conv_ocblock_tscratch(&p),
                                     oc_conv_ocblock_scratch(&p), oc_conv_ocblock_prep_bytes, oc_conv_ocblock_prep,
                                     threads, 4242u, 1e-5, 1e-4);
    CHECK(cr.rf == 0 && cr.rr == 0, "%s: kernels returned %d / %d", oc->name, cr.rf, cr.rr);
    char dims[128];
    printf("ocblock %-56s Y %s, %s, %s, %d thread%s: max abs diff %.3g\n", oc->name,
           oc_format_dims(dims, sizeof dims, cr.ydims, 4), oc_isa_name(oc_cpu_isa()),
           act ? oc_act_name(act) : "no act", threads, threads > 1 ? "s" : "", cr.worst);
    CHECK(cr.bad == 0, "%s (%s, act %d, %d threads): %lld of %lld values differ (worst %g)", oc->name,
          oc_isa_name(oc_cpu_isa()), act, threads, (long long)cr.bad, (long long)cr.numel, cr.worst);
    if (cr.worst > worst_all || cr.worst != cr.worst)
        worst_all = cr.worst;
}

int main(void)
{
    static const int acts[] = {OC_ACT_NONE, OC_ACT_RELU, OC_ACT_CLIP, OC_ACT_LEAKY_RELU};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int a = 0; a < 4; a++)
            for (int t = 1; t <= 2; t++)
                run_case(&cases[i], acts[a], t);
    /* outside its range: left to the other conv kernels */
    oc_conv_params q = {.nsp = 2, .batch = 1, .cin = 16, .cout = 32, .group = 1, .in = {14, 14}, .out = {7, 7},
                        .k = {3, 3}, .s = {2, 2}, .dil = {1, 1}, .pb = {1, 1}};
    CHECK(oc_conv_ocblock_applicable(&q), "a 3x3 stride-2 conv should apply");
    q.dil[1] = 2, q.out[1] = 6;
    CHECK(!oc_conv_ocblock_applicable(&q), "dilation 2 must not apply");
    q.dil[1] = 1, q.out[1] = 7, q.group = 2;
    CHECK(!oc_conv_ocblock_applicable(&q), "groups must not apply");
    q.group = 1, q.s[1] = 3, q.out[1] = 5;
    CHECK(!oc_conv_ocblock_applicable(&q), "column stride 3 must not apply");
    q.s[1] = 2, q.out[1] = 7, q.k[0] = 17, q.in[0] = 40, q.pb[0] = 0, q.out[0] = 12;
    CHECK(!oc_conv_ocblock_applicable(&q), "a 17-row kernel must not apply");
    printf("ocblock worst abs diff over all cases: %.3g\n", worst_all);
    return check_finish("test_conv_ocblock");
}
