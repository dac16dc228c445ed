/* conv_vs_ref.h: one 2-D conv kernel against oc_conv_ref, for the direct
 * kernels' tests (test_conv.c's small-Cin cases, test_conv_depthwise.c).
 * X, W, the bias and the residual (when p->ep.has_residual) are
 * pseudo-random in [-1, 1); the kernel's output starts as NaN, so every
 * element it leaves unwritten counts as a difference; the reference runs
 * on one thread. An element passes when
 *   |fast - ref| <= atol + rtol |ref|. */
#ifndef ONNXC_TESTS_CONV_VS_REF_H
#define ONNXC_TESTS_CONV_VS_REF_H

#include <math.h>
#include <stdlib.h>

#include "../../runtime/kernels/conv.h"
#include "../../runtime/plan.h"
#include "../../runtime/threads.h"
#include "../unit/tensor_view.h"

static inline float cvr_frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static inline float *cvr_rand_buf(int64_t n, unsigned *st)
{
    float *b = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        b[i] = cvr_frand(st);
    return b;
}

typedef struct cvr_result {
    int rf, rr;        /* the kernels' return codes */
    int64_t bad, numel; /* elements outside the tolerance, of all */
    double worst;      /* largest |fast - ref| (NaN if one is NaN) */
    int64_t ydims[4];
} cvr_result;

/* A 2-D conv case of the direct kernels' tests: images, input and output
 * channels, input extents, kernel, strides, pads (top, left, bottom,
 * right; the output extents follow), whether B is passed. */
typedef struct cvr_case {
    const char *name;
    int64_t n, c, m, h, w, kh, kw, sh, sw, pt, pl, pbot, pr;
    int bias;
} cvr_case;

/* The case's parameters with activation act: Clip to [-0.5, 0.75],
 * LeakyRelu (alpha 0.1) with a residual. */
static inline oc_conv_params cvr_params(const cvr_case *k, int act)
{
    oc_conv_params p = {.nsp = 2, .batch = k->n, .cin = k->c, .cout = k->m, .group = 1, .in = {k->h, k->w},
                        .k = {k->kh, k->kw}, .s = {k->sh, k->sw}, .dil = {1, 1}, .pb = {k->pt, k->pl}};
    p.out[0] = (k->h + k->pt + k->pbot - k->kh) / k->sh + 1;
    p.out[1] = (k->w + k->pl + k->pr - k->kw) / k->sw + 1;
    p.ep.act = act;
    p.ep.alpha = act == OC_ACT_CLIP ? -0.5f : 0.1f;
    p.ep.beta = act == OC_ACT_CLIP ? 0.75f : 0.0f;
    p.ep.has_residual = act == OC_ACT_LEAKY_RELU;
    return p;
}

typedef size_t (*cvr_prep_bytes_fn)(const oc_kargs *a);
typedef int (*cvr_prep_fn)(const oc_kargs *a, void *dst);

/* fast on `threads` threads with tscratch bytes of scratch per thread and
 * `scratch` shared bytes (0: none), its W prepared by prep first (NULL:
 * none), against oc_conv_ref; bias: whether B is passed. */
static inline cvr_result conv_vs_ref_prep(oc_kernel_fn fast, const oc_conv_params *p, int bias, size_t tscratch,
                                          size_t scratch, cvr_prep_bytes_fn prep_bytes, cvr_prep_fn prep,
                                          int threads, unsigned seed, double atol, double rtol)
{
    cvr_result res = {0};
    int64_t xd[4] = {p->batch, p->cin, p->in[0], p->in[1]};
    int64_t wd[4] = {p->cout, p->cin / p->group, p->k[0], p->k[1]}, bd[1] = {p->cout};
    int64_t yd[4] = {p->batch, p->cout, p->out[0], p->out[1]};
    for (int i = 0; i < 4; i++)
        res.ydims[i] = yd[i];
    unsigned st = seed;
    oc_tensor x, w, b, r, yf, yr;
    tensor_init(&x, OC_FLOAT, 4, xd, NULL);
    tensor_init(&w, OC_FLOAT, 4, wd, NULL);
    tensor_init(&b, OC_FLOAT, 1, bd, NULL);
    tensor_init(&r, OC_FLOAT, 4, yd, NULL);
    tensor_init(&yf, OC_FLOAT, 4, yd, NULL);
    tensor_init(&yr, OC_FLOAT, 4, yd, NULL);
    x.data = cvr_rand_buf(x.numel, &st);
    w.data = cvr_rand_buf(w.numel, &st);
    b.data = cvr_rand_buf(b.numel, &st);
    r.data = cvr_rand_buf(r.numel, &st);
    yf.data = cvr_rand_buf(yf.numel, &st);
    yr.data = cvr_rand_buf(yr.numel, &st);
    for (int64_t i = 0; i < yf.numel; i++)
        ((float *)yf.data)[i] = NAN; /* the kernel must overwrite every element */
    size_t per = (tscratch + 63) & ~(size_t)63;
    unsigned char *ts = malloc(per * (size_t)threads + 1);
    const oc_tensor *in[4] = {&x, &w, bias ? &b : NULL, p->ep.has_residual ? &r : NULL};
    oc_tensor *of[1] = {&yf}, *orf[1] = {&yr};
    oc_set_threads(threads);
    oc_kargs af = {.p = p, .n_in = 4, .n_out = 1, .in = in, .out = of, .threads = threads, .tscratch = ts,
                   .tscratch_stride = per};
    oc_kargs ar = {.p = p, .n_in = 4, .n_out = 1, .in = in, .out = orf, .threads = 1};
    void *shared = scratch ? malloc(scratch) : NULL, *prepped = NULL;
    af.scratch = shared;
    if (prep) {
        prepped = malloc(prep_bytes(&af) + 1);
        if (prep(&af, prepped))
            res.rf = -1;
        af.prep = prepped;
    }
    if (res.rf == 0)
        res.rf = fast(&af);
    res.rr = oc_conv_ref(&ar);
    const float *f = yf.data, *e = yr.data;
    res.numel = yr.numel;
    for (int64_t i = 0; i < yr.numel; i++) {
        double diff = fabs((double)f[i] - e[i]);
        if (diff > res.worst || diff != diff)
            res.worst = diff;
        res.bad += !(diff <= atol + rtol * fabs(e[i]));
    }
    free(ts), free(shared), free(prepped);
    free(x.data), free(w.data), free(b.data), free(r.data), free(yf.data), free(yr.data);
    return res;
}

/* The same without shared scratch or preparation. */
static inline cvr_result conv_vs_ref(oc_kernel_fn fast, const oc_conv_params *p, int bias, size_t tscratch,
                                     int threads, unsigned seed, double atol, double rtol)
{
    return conv_vs_ref_prep(fast, p, bias, tscratch, 0, NULL, NULL, threads, seed, atol, rtol);
}

#endif
