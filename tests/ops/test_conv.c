/* test_conv.c: compares the fast Conv and ConvTranspose kernels (im2col /
 * col2im + sgemm, implicit im2col with packed W, the 1x1 shortcut) with the direct-loop references on odd
 * shapes: groups, depthwise, dilation, stride, asymmetric and negative
 * (ConvTranspose output_shape) pads, 1-D, 2-D and 3-D, with and without
 * bias; Conv with 1 and 2 threads and with a fused epilogue (residual +
 * activation); Winograd F(2x2) and F(4x4) on every ISA against a float64
 * convolution; the small-Cin direct kernel (conv_direct.h) on every ISA,
 * 1 and 2 threads, each epilogue, against the reference. Prints each case
 * and its worst difference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/conv.h"
#include "../../runtime/kernels/conv_direct.h"
#include "../../runtime/kernels/conv_winograd.h"
#include "../../runtime/kernels/sgemm.h"
#include "../../runtime/cpu.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"
#include "../unit/tensor_view.h"
#include "conv_vs_ref.h"

typedef struct conv_case {
    const char *name;
    int transpose, nsp, bias;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], dil[3], pb[3], pe[3];
    int64_t opad[3]; /* ConvTranspose output_padding */
} conv_case;

static const conv_case cases[] = {
    {"conv2d groups=2 dil=2 stride=2 asym pads", 0, 2, 1, 2, 4, 6, 2,
     {9, 7}, {3, 2}, {2, 2}, {2, 1}, {1, 0}, {2, 1}, {0}},
    {"conv1d stride=3 pads 2/1", 0, 1, 1, 3, 3, 5, 1, {11}, {4}, {3}, {1}, {2}, {1}, {0}},
    {"conv3d groups=2 mixed stride/dil", 0, 3, 1, 1, 4, 6, 2,
     {5, 6, 7}, {2, 3, 2}, {1, 2, 2}, {2, 1, 1}, {1, 0, 2}, {0, 1, 1}, {0}},
    {"conv2d 1x1 pointwise", 0, 2, 1, 2, 5, 7, 1, {6, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0}},
    {"conv2d 1x1 stride 2 (im2col)", 0, 2, 0, 1, 3, 4, 1, {7, 6}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, {0}},
    {"conv2d depthwise 3x3 pad 1", 0, 2, 1, 2, 4, 4, 4, {8, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0}},
    {"conv2d no bias, kernel wider than input", 0, 2, 0, 1, 2, 3, 1, {3, 2}, {3, 4}, {1, 1}, {1, 1}, {1, 2}, {0, 1}, {0}},
    {"conv2d 3x3 M=80 on 5x5 (W rows split)", 0, 2, 1, 1, 8, 80, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0}},
    {"conv2d 3x3 s2 pads 1/2 M=96 on 9x11 (W rows split, staged col)", 0, 2, 1, 1, 8, 96, 1, {9, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {2, 2}, {0}},
    {"conv2d 1x1 M=96 on 3x3 (W rows split)", 0, 2, 1, 1, 7, 96, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0}},
    {"conv2d 3x3 s1 p1 C=64 on 40x33 (column blocks)", 0, 2, 1, 3, 64, 19, 1, {40, 33}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0}},
    /* the implicit im2col gather (packed W): strides, dilations, pads that
     * cut runs at both ends, blocks spanning many output rows, K past KC */
    {"conv2d 3x3 s2 dil2 asym pads C=48 on 29x23", 0, 2, 1, 2, 48, 10, 1, {29, 23}, {3, 3}, {2, 2}, {2, 2}, {2, 0}, {1, 3}, {0}},
    {"conv2d 5x2 s(1,3) dil(1,2) pads C=6 on 17x40", 0, 2, 0, 1, 6, 9, 1, {17, 40}, {5, 2}, {1, 3}, {1, 2}, {0, 3}, {4, 1}, {0}},
    {"conv2d kernel wider than input 3x9 s2 on 6x4", 0, 2, 1, 1, 5, 7, 1, {6, 4}, {3, 9}, {2, 2}, {1, 1}, {1, 4}, {1, 5}, {0}},
    {"conv2d 7x7 s2 p3 C=3 on 45x38 (stem)", 0, 2, 1, 1, 3, 16, 1, {45, 38}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, {0}},
    {"conv2d 3x3 s2 p1 C=3 M=32 on 41x30 (MobileNet stem)", 0, 2, 1, 2, 3, 32, 1, {41, 30}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {0}},
    {"conv1d long s2 dil3 C=20", 0, 1, 1, 2, 20, 11, 1, {900}, {5}, {2}, {3}, {4}, {1}, {0}},
    {"conv3d 3x3x3 s(1,2,1) dil(2,1,1) C=17", 0, 3, 1, 1, 17, 12, 1, {6, 9, 11}, {3, 3, 3}, {1, 2, 1}, {2, 1, 1}, {1, 1, 0}, {2, 0, 1}, {0}},
    {"conv2d groups=3 3x3 s1 p1 on 13x50", 0, 2, 1, 2, 9, 12, 3, {13, 50}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0}},
    {"convT2d groups=2 stride 2 dil 2 pads", 1, 2, 1, 2, 4, 6, 2,
     {4, 5}, {3, 2}, {2, 3}, {2, 1}, {1, 0}, {0, 2}, {1, 0}},
    {"convT2d 3x3 s2 batch 3 on 4x5 (images in one GEMM)", 1, 2, 1, 3, 24, 10, 1,
     {4, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
    {"convT2d groups=2 batch 2 on 3x3 (images in one GEMM)", 1, 2, 0, 2, 8, 6, 2,
     {3, 3}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, {0, 0}},
    {"convT1d stride 3 output_padding 2", 1, 1, 1, 1, 3, 2, 1, {5}, {4}, {3}, {1}, {0}, {1}, {2}},
    {"convT3d groups=3 asym pads", 1, 3, 0, 1, 3, 6, 3,
     {3, 4, 2}, {2, 3, 2}, {1, 2, 2}, {1, 1, 2}, {0, 1, 1}, {1, 0, 0}, {0, 1, 0}},
    {"convT2d negative start pad (output_shape)", 1, 2, 1, 1, 2, 3, 1,
     {3, 3}, {3, 3}, {3, 2}, {1, 1}, {-1, 0}, {0, -1}, {0, 0}},
};

static void run_case(const conv_case *cc)
{
    oc_conv_params p = {0};
    p.nsp = cc->nsp;
    p.batch = cc->n;
    p.cin = cc->c;
    p.cout = cc->m;
    p.group = cc->group;
    int pointwise = 1;
    for (int i = 0; i < cc->nsp; i++) {
        p.in[i] = cc->in[i];
        p.k[i] = cc->k[i];
        p.s[i] = cc->s[i];
        p.dil[i] = cc->dil[i];
        p.pb[i] = cc->pb[i];
        int64_t ext = (cc->k[i] - 1) * cc->dil[i] + 1;
        /* Conv: floor((in + pads - ext) / s) + 1; ConvTranspose: its inverse plus output_padding */
        p.out[i] = cc->transpose ? cc->s[i] * (cc->in[i] - 1) + cc->opad[i] + ext - cc->pb[i] - cc->pe[i]
                                 : (cc->in[i] + cc->pb[i] + cc->pe[i] - ext) / cc->s[i] + 1;
        pointwise &= cc->k[i] == 1 && cc->s[i] == 1 && cc->pb[i] == 0 && cc->pe[i] == 0;
    }
    p.pointwise = !cc->transpose && pointwise;

    int rank = cc->nsp + 2;
    int64_t xd[OC_MAX_RANK] = {cc->n, cc->c}, yd[OC_MAX_RANK] = {cc->n, cc->m}, wd[OC_MAX_RANK], bd[1] = {cc->m};
    wd[0] = cc->transpose ? cc->c : cc->m;
    wd[1] = cc->transpose ? cc->m / cc->group : cc->c / cc->group;
    for (int i = 0; i < cc->nsp; i++) {
        xd[2 + i] = cc->in[i];
        yd[2 + i] = p.out[i];
        wd[2 + i] = cc->k[i];
    }
    unsigned st = 12345u;
    oc_tensor x, w, b, y_fast, y_ref;
    tensor_init(&x, OC_FLOAT, rank, xd, NULL);
    tensor_init(&w, OC_FLOAT, rank, wd, NULL);
    tensor_init(&b, OC_FLOAT, 1, bd, NULL);
    tensor_init(&y_fast, OC_FLOAT, rank, yd, NULL);
    tensor_init(&y_ref, OC_FLOAT, rank, yd, NULL);
    x.data = cvr_rand_buf(x.numel, &st);
    w.data = cvr_rand_buf(w.numel, &st);
    b.data = cvr_rand_buf(b.numel, &st);
    y_fast.data = cvr_rand_buf(y_fast.numel, &st); /* garbage: kernels must overwrite */
    y_ref.data = cvr_rand_buf(y_ref.numel, &st);
    /* Conv runs with 1 and 2 threads, plain and with a fused epilogue
     * (residual + LeakyRelu); the reference applies the same epilogue. */
    oc_tensor r;
    tensor_init(&r, OC_FLOAT, rank, yd, NULL);
    r.data = cvr_rand_buf(r.numel, &st);
    /* variant bits: 2 threads, fused epilogue, W packed at plan time (prep),
     * W packed at run time into the shared scratch (wpack: a trained W) */
    float *y_one = NULL;
    for (int variant = 0; variant < (cc->transpose ? 2 : 16); variant++) {
        int threads = variant & 1 ? 2 : 1, fused = (variant & 2) != 0, packed = (variant & 4) != 0;
        int wpack = (variant & 8) != 0;
        if (wpack && (packed || variant == 8 || variant == 11)) /* W packed per run: 2 threads plain, 1 thread fused */
            continue;
        p.wpack = wpack;
        oc_set_threads(threads);
        memset(&p.ep, 0, sizeof p.ep);
        if (fused) {
            p.ep.act = OC_ACT_LEAKY_RELU;
            p.ep.alpha = 0.1f;
            p.ep.has_residual = 1;
        }
        size_t shared = cc->transpose ? oc_conv_transpose_scratch(&p) : oc_conv_scratch(&p);
        if (wpack) /* as the planner lays it out (compiler/ops/conv.c lower_conv): the pack, then the col */
            shared += oc_conv_wpack_bytes(&p);
        size_t per = ((cc->transpose ? oc_sgemm_scratch_bytes() : oc_conv_thread_scratch(&p)) + 63) & ~(size_t)63;
        unsigned char *scratch = malloc(shared + 1), *tscratch = malloc(per * 2 + 1);
        const oc_tensor *in[4] = {&x, &w, cc->bias ? &b : NULL, fused ? &r : NULL};
        oc_tensor *out_fast[1] = {&y_fast}, *out_ref[1] = {&y_ref};
        oc_kargs af = {.p = &p, .n_in = 4, .n_out = 1, .in = in, .out = out_fast, .scratch = scratch,
                       .threads = threads, .tscratch = tscratch, .tscratch_stride = per};
        oc_kargs ar = {.p = &p, .n_in = 4, .n_out = 1, .in = in, .out = out_ref, .threads = 1};
        void *prep = NULL;
        if (packed) { /* W packed at "plan time", as the planner does for a constant W */
            size_t pb = oc_conv_prep_bytes(&af);
            prep = aligned_alloc(64, (pb + 64) & ~(size_t)63);
            CHECK(prep && oc_conv_prep(&af, prep) == 0, "%s: prep failed", cc->name);
            af.prep = prep;
        }
        for (int64_t i = 0; i < y_fast.numel; i++)
            ((float *)y_fast.data)[i] = NAN; /* garbage: kernels must overwrite */
        int rf = cc->transpose ? oc_conv_transpose_forward(&af) : oc_conv_forward(&af);
        int rr = cc->transpose ? oc_conv_transpose_ref(&ar) : oc_conv_ref(&ar);
        CHECK(rf == 0 && rr == 0, "%s: kernels returned %d / %d", cc->name, rf, rr);
        double worst = 0;
        int64_t bad = 0;
        const float *yf = y_fast.data, *yr = y_ref.data;
        for (int64_t i = 0; i < y_ref.numel; i++) {
            double diff = fabs((double)yf[i] - yr[i]);
            if (diff > worst || diff != diff)
                worst = diff;
            bad += !(diff <= 1e-5 + 1e-4 * fabs(yr[i]));
        }
        char dims[128];
        printf("%-45s Y %s%s, %d thread%s%s%s: max abs diff %.3g over %lld values\n", cc->name,
               oc_format_dims(dims, sizeof dims, yd, rank), p.pointwise ? " (1x1 path)" : "", threads,
               threads > 1 ? "s" : "", fused ? ", residual+LeakyRelu" : "",
               packed ? ", packed W" : wpack ? ", W packed per run" : "", worst, (long long)y_ref.numel);
        CHECK(bad == 0, "%s: %lld of %lld values differ (worst %g)", cc->name, (long long)bad,
              (long long)y_ref.numel, worst);
        /* ConvTranspose splits only copies and whole planes over threads:
         * 2 threads give 1 thread's bits */
        if (cc->transpose && variant == 0 && (y_one = malloc(sizeof(float) * (size_t)y_fast.numel + 1)))
            memcpy(y_one, y_fast.data, sizeof(float) * (size_t)y_fast.numel);
        if (cc->transpose && variant == 1)
            CHECK(y_one && !memcmp(y_one, y_fast.data, sizeof(float) * (size_t)y_fast.numel),
                  "%s: 2 threads differ from 1 thread", cc->name);
        free(scratch);
        free(tscratch);
        free(prep);
    }
    free(y_one);
    free(r.data);
    free(x.data);
    free(w.data);
    free(b.data);
    free(y_fast.data);
    free(y_ref.data);
}

/* Winograd F(2x2, 3x3) and F(4x4, 3x3) against a float64 direct
 * convolution (and the float32 reference beside it): odd output sizes
 * (partial tiles at the bottom and right), asymmetric and zero pads,
 * several images, channels not a multiple of any vector width, fused
 * residual + activation, 1 and 2 threads (whole blocks per thread,
 * shrunk blocks, and blocks shared step by step), every ISA the machine has.
 * The error of output i is measured against the scale of its terms,
 *   err_i = |y_i - y64_i| / (|b| + |r_i| + sum |w| |x|),
 * which float32 direct convolution keeps near K * 2^-24; Winograd's
 * transforms add rounding that grows with m (F(4x4)'s factors up to 8 in
 * A and B, 1/6 and 1/24 in G). Each case prints the worst err of the
 * fast kernel and of the float32 reference. */
static double winograd_worst_f4, winograd_worst_f2, winograd_worst_ref;

/* How a case runs the Winograd kernels: W prepared at plan time or
 * transformed at run time, as a Conv or as the equivalent ConvTranspose
 * (X, the transposed and rotated W, start pads 2 - pad). */
enum { WINO_PREP, WINO_RUNTIME, WINO_T_PREP, WINO_T_RUNTIME, WINO_MODES };
static const char *const wino_mode_name[WINO_MODES] = {"", " run-time W", " ConvTranspose", " ConvTranspose run-time W"};

static void run_winograd_mode(int mode, int wm, int64_t n, int64_t c, int64_t m, int64_t h, int64_t w, int64_t pt,
                              int64_t pl, int64_t pbot, int64_t pr, int act, int threads)
{
    int transpose = mode == WINO_T_PREP || mode == WINO_T_RUNTIME;
    if (transpose)
        act = 0; /* ConvTranspose has no fused epilogue */
    oc_conv_params p = {0};
    p.nsp = 2, p.batch = n, p.cin = c, p.cout = m, p.group = 1;
    p.in[0] = h, p.in[1] = w, p.k[0] = p.k[1] = 3, p.s[0] = p.s[1] = 1, p.dil[0] = p.dil[1] = 1;
    p.pb[0] = pt, p.pb[1] = pl;
    p.out[0] = h + pt + pbot - 2, p.out[1] = w + pl + pr - 2;
    if (act) {
        p.ep.act = act;
        p.ep.alpha = 0.1f;
        p.ep.has_residual = 1;
    }
    int64_t OH = p.out[0], OW = p.out[1];
    unsigned st = 777u + (unsigned)(c * 31 + m);
    int64_t xd[4] = {n, c, h, w}, wd[4] = {m, c, 3, 3}, bd[1] = {m}, yd[4] = {n, m, OH, OW};
    oc_tensor x, wt, b, yf, yr, r;
    tensor_init(&x, OC_FLOAT, 4, xd, NULL), tensor_init(&wt, OC_FLOAT, 4, wd, NULL), tensor_init(&b, OC_FLOAT, 1, bd, NULL);
    tensor_init(&yf, OC_FLOAT, 4, yd, NULL), tensor_init(&yr, OC_FLOAT, 4, yd, NULL), tensor_init(&r, OC_FLOAT, 4, yd, NULL);
    x.data = cvr_rand_buf(x.numel, &st), wt.data = cvr_rand_buf(wt.numel, &st);
    b.data = cvr_rand_buf(b.numel, &st);
    yf.data = cvr_rand_buf(yf.numel, &st), yr.data = cvr_rand_buf(yr.numel, &st);
    r.data = cvr_rand_buf(r.numel, &st);
    oc_set_threads(threads);
    const oc_tensor *in[4] = {&x, &wt, &b, act ? &r : NULL};
    oc_tensor *of[1] = {&yf}, *orf[1] = {&yr};
    /* the ConvTranspose twin: W_T [c, m, 3, 3] with W_T[ch][o][8 - t] = W[o][ch][t] */
    oc_conv_params pt_ = p;
    pt_.pb[0] = 2 - pt, pt_.pb[1] = 2 - pl;
    int64_t wtd[4] = {c, m, 3, 3};
    oc_tensor wtt;
    tensor_init(&wtt, OC_FLOAT, 4, wtd, NULL);
    wtt.data = malloc(sizeof(float) * (size_t)wtt.numel);
    for (int64_t o = 0; o < m; o++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int t = 0; t < 9; t++)
                ((float *)wtt.data)[(ch * m + o) * 9 + 8 - t] = ((const float *)wt.data)[(o * c + ch) * 9 + t];
    const oc_tensor *in_t[3] = {&x, &wtt, &b};
    size_t per = (oc_conv_winograd_tscratch(&p, wm) + 63) & ~(size_t)63;
    unsigned char *ts = malloc(per * (size_t)threads);
    oc_kargs af = {.p = transpose ? &pt_ : &p, .n_in = transpose ? 3 : 4, .n_out = 1, .in = transpose ? in_t : in,
                   .out = of, .threads = threads, .tscratch = ts, .tscratch_stride = per};
    oc_kargs ar = {.p = af.p, .n_in = af.n_in, .n_out = 1, .in = af.in, .out = orf, .threads = 1};
    void *prep = NULL, *scratch = NULL;
    if (mode == WINO_PREP || mode == WINO_T_PREP) {
        size_t pb = transpose ? (wm == 4 ? oc_conv_transpose_winograd4_prep_bytes(&af) : oc_conv_transpose_winograd_prep_bytes(&af))
                              : (wm == 4 ? oc_conv_winograd4_prep_bytes(&af) : oc_conv_winograd_prep_bytes(&af));
        prep = aligned_alloc(64, (pb + 127) & ~(size_t)63);
        if (transpose)
            wm == 4 ? oc_conv_transpose_winograd4_prep(&af, prep) : oc_conv_transpose_winograd_prep(&af, prep);
        else
            wm == 4 ? oc_conv_winograd4_prep(&af, prep) : oc_conv_winograd_prep(&af, prep);
        af.prep = prep;
    } else {
        size_t sb = oc_conv_winograd_runtime_scratch(af.p, wm);
        scratch = aligned_alloc(64, (sb + 127) & ~(size_t)63);
        af.scratch = scratch;
    }
    int rf = transpose ? (wm == 4 ? oc_conv_transpose_winograd4_forward(&af) : oc_conv_transpose_winograd_forward(&af))
                       : (wm == 4 ? oc_conv_winograd4_forward(&af) : oc_conv_winograd_forward(&af));
    int rr = transpose ? oc_conv_transpose_ref(&ar) : oc_conv_ref(&ar);
    const float *X = x.data, *Wt = wt.data, *B = b.data, *R = r.data, *YF = yf.data, *YR = yr.data;
    double worst = 0, worst_ref = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < m; o++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = B[o], scale = fabs(B[o]);
                    for (int64_t ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int64_t yy = oy - pt + ky, xx = ox - pl + kx;
                                if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                                    continue;
                                double pr_ = (double)Wt[((o * c + ch) * 3 + ky) * 3 + kx] * X[((i * c + ch) * h + yy) * w + xx];
                                acc += pr_;
                                scale += fabs(pr_);
                            }
                    int64_t at = ((i * m + o) * OH + oy) * OW + ox;
                    if (act) {
                        acc += R[at];
                        scale += fabs(R[at]);
                        acc = act == OC_ACT_RELU ? (acc > 0 ? acc : 0) : (acc >= 0 ? acc : 0.1 * acc);
                    }
                    double e = fabs(YF[at] - acc) / scale, er = fabs(YR[at] - acc) / scale;
                    worst = e > worst || e != e ? e : worst;
                    worst_ref = er > worst_ref ? er : worst_ref;
                }
    double tol = wm == 4 ? 2e-5 : 2e-6; /* about 50 and 5 times float32 direct convolution's worst here */
    printf("winograd F(%dx%d)%s %s N%lld C%lld M%lld %lldx%lld pads %lld/%lld/%lld/%lld%s, %d thread%s: Y [%lld,%lld,%lld,%lld] "
           "worst err %.2e (float32 direct %.2e, bound %.0e)\n",
           wm, wm, wino_mode_name[mode], oc_isa_name(oc_cpu_isa()), (long long)n, (long long)c, (long long)m, (long long)h, (long long)w,
           (long long)pt, (long long)pl, (long long)pbot, (long long)pr,
           act == OC_ACT_RELU ? ", residual+Relu" : act ? ", residual+LeakyRelu" : "", threads, threads > 1 ? "s" : "",
           (long long)n, (long long)m, (long long)OH, (long long)OW, worst, worst_ref, tol);
    CHECK(rf == 0 && rr == 0 && worst <= tol, "winograd F(%d)%s: rc %d/%d, worst err %g > %g", wm, wino_mode_name[mode],
          rf, rr, worst, tol);
    double *acc = wm == 4 ? &winograd_worst_f4 : &winograd_worst_f2;
    *acc = worst > *acc ? worst : *acc;
    winograd_worst_ref = worst_ref > winograd_worst_ref ? worst_ref : winograd_worst_ref;
    free(x.data), free(wt.data), free(b.data), free(yf.data), free(yr.data), free(r.data), free(ts), free(prep);
    free(scratch), free(wtt.data);
}

/* Every case in every mode (the ConvTranspose modes only where its start
 * pads 2 - pad stay in 0..2, which the kernel requires). */
static void run_winograd(int wm, int64_t n, int64_t c, int64_t m, int64_t h, int64_t w, int64_t pt, int64_t pl,
                         int64_t pbot, int64_t pr, int act, int threads)
{
    for (int mode = 0; mode < WINO_MODES; mode++)
        run_winograd_mode(mode, wm, n, c, m, h, w, pt, pl, pbot, pr, act, threads);
}

static void run_winograd_all(void)
{
    /* every ISA from the one in force (ONNXC_ISA caps it) down to generic */
    oc_isa top = oc_cpu_isa();
    for (int isa = (int)top; isa >= (int)OC_ISA_GENERIC; isa--) {
        oc_cpu_set_isa((oc_isa)isa);
        for (int wm = 2; wm <= 4; wm += 2) {
            run_winograd(wm, 1, 16, 8, 7, 9, 1, 1, 1, 1, 0, 1);
            run_winograd(wm, 2, 19, 21, 13, 6, 0, 2, 1, 0, OC_ACT_RELU, 2);
            run_winograd(wm, 3, 33, 40, 11, 11, 1, 0, 0, 1, OC_ACT_LEAKY_RELU, 1);
            run_winograd(wm, 1, 67, 35, 30, 29, 1, 1, 1, 1, OC_ACT_RELU, 2); /* segments, K past no vector */
            run_winograd(wm, 2, 5, 3, 3, 4, 1, 1, 1, 1, 0, 2);                /* one partial tile per image */
            run_winograd(wm, 1, 9, 17, 5, 300, 1, 1, 1, 1, OC_ACT_RELU, 1);  /* rows longer than a segment */
            run_winograd(wm, 2, 40, 24, 60, 18, 1, 1, 1, 1, OC_ACT_RELU, 2); /* narrow rows grouped, last group short */
            run_winograd(wm, 4, 16, 16, 64, 64, 1, 1, 1, 1, OC_ACT_RELU, 2); /* whole blocks per thread */
            if (isa == (int)top) {
                run_winograd(wm, 1, 256, 24, 9, 9, 1, 1, 1, 1, OC_ACT_RELU, 2);
                run_winograd(wm, 1, 512, 64, 7, 7, 1, 1, 1, 1, OC_ACT_RELU, 1); /* ResNet layer4, K past KC */
            }
        }
    }
    oc_cpu_set_isa(top);
    printf("winograd worst err over all cases: F(2x2) %.2e, F(4x4) %.2e, float32 direct %.2e\n", winograd_worst_f2,
           winograd_worst_f4, winograd_worst_ref);
}

/* The small-Cin direct conv (oc_conv_direct_forward) against oc_conv_ref:
 * output widths with a partial last vector and exact multiples of 8 and
 * 24 (AVX2) and of 16 in tiles of 3 + 2 + 2 vectors (AVX-512), channel
 * counts leaving 1-3 channels past the last block of 4 or 1-7 past 8, row
 * strides 1-3 with column stride 1 or 2, asymmetric pads (the end pads
 * implied by the output size), images shorter than a band, the most taps
 * allowed, no bias; each with no epilogue, ReLU, Clip (the AVX2 store
 * clamps) and residual + LeakyRelu, on 1 and 2 threads, on every ISA from
 * the one in force down to generic. */
static void run_direct(const cvr_case *dc, int act, int threads)
{
    oc_conv_params p = cvr_params(dc, act);
    CHECK(oc_conv_direct_applicable(&p), "%s: the direct kernel should apply", dc->name);
    cvr_result cr = conv_vs_ref(oc_conv_direct_forward, &p, dc->bias, oc_conv_direct_tscratch(&p), threads, 777u,
                                1e-5, 1e-4);
    CHECK(cr.rf == 0 && cr.rr == 0, "%s: kernels returned %d / %d", dc->name, cr.rf, cr.rr);
    char dims[128];
    printf("direct %-40s Y %s, %s, %s, %d thread%s: max abs diff %.3g\n", dc->name,
           oc_format_dims(dims, sizeof dims, cr.ydims, 4), oc_isa_name(oc_cpu_isa()),
           act ? oc_act_name(act) : "no act", threads, threads > 1 ? "s" : "", cr.worst);
    CHECK(cr.bad == 0, "%s (%s, act %d, %d threads): %lld of %lld values differ (worst %g)", dc->name,
          oc_isa_name(oc_cpu_isa()), act, threads, (long long)cr.bad, (long long)cr.numel, cr.worst);
}

static void run_direct_all(void)
{
    static const cvr_case dcs[] = {
        {"3x3 s2 p1 C=3 M=32 (MobileNet stem), OW 15", 2, 3, 32, 29, 30, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {"7x7 s2 p3 C=3 M=16 (ResNet stem), OW 19", 1, 3, 16, 21, 38, 7, 7, 2, 2, 3, 3, 3, 3, 1},
        {"5x5 s1 pads 2/1 C=1 M=6, OW 36", 3, 1, 6, 9, 37, 5, 5, 1, 1, 2, 1, 1, 0, 1},
        {"8x8 s(3,2) pads 1/3 C=4 M=9 (256 taps), no bias", 1, 4, 9, 30, 50, 8, 8, 3, 2, 1, 3, 0, 2, 0},
        {"3x3 s1 p1 C=2 M=7, OW 24 (whole tiles)", 2, 2, 7, 11, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"3x3 s2 p0 C=3 M=5, OW 8, 3 rows (short band)", 3, 3, 5, 7, 17, 3, 3, 2, 2, 0, 0, 0, 0, 1},
        {"1x4 s(1,2) pads 0/3 C=3 M=13, OW 35", 2, 3, 13, 19, 70, 1, 4, 1, 2, 0, 3, 0, 0, 1},
        /* the AVX-512 tiles (16 outputs a vector): 3 + 2 + 2 vectors (the
         * stems' 112), 3 and a partial one, 2 + 2 and a partial one */
        {"7x7 s2 p3 C=3 M=12, OW 112", 1, 3, 12, 9, 224, 7, 7, 2, 2, 3, 3, 3, 3, 1},
        {"3x3 s1 p1 C=3 M=8, OW 53", 1, 3, 8, 6, 53, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"3x3 s1 p1 C=2 M=17, OW 70", 1, 2, 17, 5, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    };
    static const int acts[] = {OC_ACT_NONE, OC_ACT_RELU, OC_ACT_CLIP, OC_ACT_LEAKY_RELU};
    oc_isa top = oc_cpu_isa();
    for (int isa = (int)top; isa >= (int)OC_ISA_GENERIC; isa--) {
        oc_cpu_set_isa((oc_isa)isa);
        for (size_t i = 0; i < sizeof dcs / sizeof dcs[0]; i++)
            for (int a = 0; a < 4; a++)
                for (int t = 1; t <= 2; t++)
                    run_direct(&dcs[i], acts[a], t);
    }
    oc_cpu_set_isa(top);
    /* outside its range: left to im2col */
    oc_conv_params q = {.nsp = 2, .batch = 1, .cin = 3, .cout = 8, .group = 1, .in = {20, 20}, .out = {18, 18},
                        .k = {3, 3}, .s = {1, 1}, .dil = {1, 1}};
    CHECK(oc_conv_direct_applicable(&q), "a plain 3-channel 3x3 conv should apply");
    q.dil[1] = 2, q.out[1] = 16;
    CHECK(!oc_conv_direct_applicable(&q), "dilation 2 must not apply");
    q.dil[1] = 1, q.out[1] = 18, q.cin = 5;
    CHECK(!oc_conv_direct_applicable(&q), "5 input channels must not apply");
    q.cin = 4, q.group = 2;
    CHECK(!oc_conv_direct_applicable(&q), "groups must not apply");
    q.group = 1, q.s[1] = 3, q.out[1] = 6;
    CHECK(!oc_conv_direct_applicable(&q), "column stride 3 must not apply");
    q.s[1] = 1, q.out[1] = 7, q.in[1] = 9;
    CHECK(!oc_conv_direct_applicable(&q), "fewer than 8 output columns must not apply");
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    run_winograd_all();
    run_direct_all();
    return check_finish("test_conv");
}
