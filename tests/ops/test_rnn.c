/* test_rnn.c: the RNN / GRU / LSTM kernel on onnxc's SGEMM against its
 * plain-loop reference on odd shapes (hidden 1, 7 and 37, input 1 and 29,
 * batch 1 and 13, long sequences), every direction, both layouts, with
 * sequence_lens (a row of length 0 among them), initial states, peepholes,
 * clip and both GRU reset variants. Only the products' summation order
 * differs, so the outputs agree to float rounding (max absolute difference
 * printed; bound 1e-5: inputs lie in [-0.5, 0.5) and the states are
 * bounded by the activations). tests/frontend/test_rnn_ops.py checks the
 * semantics against a numpy reference from the ONNX docs. The backward
 * kernel is checked against finite differences of the reference (grad_case). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/rnn.h"
#include "../unit/check.h"

static float frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffffff) / 16777216.0f - 0.5f;
}

static oc_tensor *tnew(int dtype, int rank, const int64_t *dims, unsigned *st)
{
    oc_tensor *t = calloc(1, sizeof *t);
    t->dtype = dtype;
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++)
        t->numel *= (t->dims[i] = dims[i]);
    t->data = calloc((size_t)(t->numel ? t->numel : 1), 4);
    for (int64_t i = 0; st && i < t->numel; i++)
        ((float *)t->data)[i] = frand(st);
    return t;
}

static void tfree(oc_tensor *t)
{
    if (t) {
        free(t->data);
        free(t);
    }
}

static double max_abs(const oc_tensor *a, const oc_tensor *b)
{
    double w = 0;
    for (int64_t i = 0; i < a->numel; i++) {
        double d = fabs((double)((float *)a->data)[i] - ((float *)b->data)[i]);
        if (!(d <= w))
            w = isnan(d) ? INFINITY : d;
    }
    return w;
}

static void run_case(const char *what, int kind, int direction, int layout, int64_t S, int64_t N, int64_t I,
                     int64_t H, int lens, int init, int lbr, int clip)
{
    unsigned st = 7u + (unsigned)(S * 31 + N * 7 + H);
    int G = kind == OC_RNN_LSTM ? 4 : kind == OC_RNN_GRU ? 3 : 1, D = direction == OC_RNN_BIDIRECTIONAL ? 2 : 1;
    oc_rnn_params p = {.kind = kind, .direction = direction, .dirs = D, .layout = layout, .seq = S, .batch = N,
                       .input = I, .hidden = H, .gates = G, .n_act = kind == OC_RNN_LSTM ? 3 : kind == OC_RNN_GRU ? 2 : 1,
                       .has_clip = clip, .clip = 0.3f, .linear_before_reset = lbr};
    for (int i = 0; i < OC_RNN_MAX_ACTS; i++) { /* the defaults: f sigmoid (tanh for RNN), g h tanh */
        p.act[i] = (i % p.n_act == 0 && kind != OC_RNN_SIMPLE) ? OC_RNN_ACT_SIGMOID : OC_RNN_ACT_TANH;
    }
    p.scratch = oc_rnn_scratch(&p);
    int64_t xd[3] = {layout ? N : S, layout ? S : N, I}, wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H},
            bd[2] = {D, 2 * G * H}, ld[1] = {N}, sd[3] = {layout ? N : D, layout ? D : N, H}, pd[2] = {D, 3 * H},
            yd[4] = {layout ? N : S, layout ? S : D, layout ? D : N, H};
    oc_tensor *X = tnew(OC_FLOAT, 3, xd, &st), *W = tnew(OC_FLOAT, 3, wd, &st), *R = tnew(OC_FLOAT, 3, rd, &st),
              *B = tnew(OC_FLOAT, 2, bd, &st), *L = lens ? tnew(OC_INT32, 1, ld, NULL) : NULL,
              *h0 = init ? tnew(OC_FLOAT, 3, sd, &st) : NULL, *c0 = init ? tnew(OC_FLOAT, 3, sd, &st) : NULL,
              *P = kind == OC_RNN_LSTM ? tnew(OC_FLOAT, 2, pd, &st) : NULL;
    for (int64_t b = 0; L && b < N; b++) /* lengths S, 0, and in between */
        ((int32_t *)L->data)[b] = (int32_t)(b == 1 ? 0 : (b * 5 + S) % (S + 1));
    oc_tensor *out[2][3];
    for (int v = 0; v < 2; v++) {
        out[v][0] = tnew(OC_FLOAT, 4, yd, NULL);
        out[v][1] = tnew(OC_FLOAT, 3, sd, NULL);
        out[v][2] = kind == OC_RNN_LSTM ? tnew(OC_FLOAT, 3, sd, NULL) : NULL;
    }
    unsigned char *scratch = aligned_alloc(64, (p.scratch + 63) / 64 * 64);
    const oc_tensor *in[8] = {X, W, R, B, L, h0, kind == OC_RNN_LSTM ? c0 : NULL, P};
    int rc[2];
    for (int v = 0; v < 2; v++) {
        oc_kargs a = {.p = &p, .n_in = kind == OC_RNN_LSTM ? 8 : 6, .n_out = kind == OC_RNN_LSTM ? 3 : 2,
                      .in = in, .out = out[v], .scratch = scratch, .threads = 1};
        rc[v] = v ? oc_rnn_forward(&a) : oc_rnn_ref(&a);
    }
    CHECK(rc[0] == 0 && rc[1] == 0, "%s: kernel failed", what);
    double ey = max_abs(out[1][0], out[0][0]), eh = max_abs(out[1][1], out[0][1]),
           ec = out[0][2] ? max_abs(out[1][2], out[0][2]) : 0;
    printf("rnn %-40s max abs diff Y %.2g, Y_h %.2g, Y_c %.2g\n", what, ey, eh, ec);
    CHECK(ey <= 1e-5 && eh <= 1e-5 && ec <= 1e-5, "%s: the SGEMM kernel differs from the reference", what);
    oc_tensor *all[] = {X, W, R, B, L, h0, c0, P, out[0][0], out[0][1], out[0][2], out[1][0], out[1][1], out[1][2]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tfree(all[i]);
    free(scratch);
}

/* loss = sum(Y . gY) + sum(Y_h . gH) + sum(Y_c . gC) through oc_rnn_ref. */
static double probe_loss(const oc_rnn_params *p, const oc_tensor *const *in, oc_tensor *const *out,
                         const oc_tensor *const *g, void *scratch)
{
    oc_kargs a = {.p = p, .n_in = 8, .n_out = 3, .in = in, .out = out, .scratch = scratch, .threads = 1};
    if (oc_rnn_ref(&a))
        return NAN;
    double l = 0;
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; out[k] && i < out[k]->numel; i++)
            l += (double)((float *)out[k]->data)[i] * ((float *)g[k]->data)[i];
    return l;
}

/* oc_rnn_backward against float32 central differences of the reference
 * forward, on every element of X, W, R, B, initial_h, initial_c and P
 * (tiny shapes; bound 2e-2 of the largest gradient, float32 noise). The
 * float64 finite-difference check through `onnxc grad` is
 * tests/grad/test_rnn_grads.py; this one also runs under the sanitizers. */
static void grad_case(const char *what, int kind, int direction, int layout, int lbr, int lens, int clip)
{
    unsigned st = 99u + (unsigned)(kind * 13 + direction * 5 + layout);
    int64_t S = 3, N = 2, I = 3, H = 2;
    int G = kind == OC_RNN_LSTM ? 4 : kind == OC_RNN_GRU ? 3 : 1, D = direction == OC_RNN_BIDIRECTIONAL ? 2 : 1;
    oc_rnn_params p = {.kind = kind, .direction = direction, .dirs = D, .layout = layout, .seq = S, .batch = N,
                       .input = I, .hidden = H, .gates = G, .n_act = kind == OC_RNN_LSTM ? 3 : kind == OC_RNN_GRU ? 2 : 1,
                       .has_clip = clip, .clip = 0.4f, .linear_before_reset = lbr};
    for (int i = 0; i < OC_RNN_MAX_ACTS; i++)
        p.act[i] = (i % p.n_act == 0 && kind != OC_RNN_SIMPLE) ? OC_RNN_ACT_SIGMOID : OC_RNN_ACT_TANH;
    int64_t xd[3] = {layout ? N : S, layout ? S : N, I}, wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H},
            bd[2] = {D, 2 * G * H}, ld[1] = {N}, sd[3] = {layout ? N : D, layout ? D : N, H}, pd[2] = {D, 3 * H},
            yd[4] = {layout ? N : S, layout ? S : D, layout ? D : N, H};
    oc_tensor *T[8] = {tnew(OC_FLOAT, 3, xd, &st), tnew(OC_FLOAT, 3, wd, &st), tnew(OC_FLOAT, 3, rd, &st),
                       tnew(OC_FLOAT, 2, bd, &st), lens ? tnew(OC_INT32, 1, ld, NULL) : NULL,
                       tnew(OC_FLOAT, 3, sd, &st), kind == OC_RNN_LSTM ? tnew(OC_FLOAT, 3, sd, &st) : NULL,
                       kind == OC_RNN_LSTM ? tnew(OC_FLOAT, 2, pd, &st) : NULL};
    if (lens)
        ((int32_t *)T[4]->data)[0] = 2, ((int32_t *)T[4]->data)[1] = 3;
    oc_tensor *out[3] = {tnew(OC_FLOAT, 4, yd, NULL), tnew(OC_FLOAT, 3, sd, NULL),
                         kind == OC_RNN_LSTM ? tnew(OC_FLOAT, 3, sd, NULL) : NULL};
    oc_tensor *g[3] = {tnew(OC_FLOAT, 4, yd, &st), tnew(OC_FLOAT, 3, sd, &st), tnew(OC_FLOAT, 3, sd, &st)};
    p.scratch = oc_rnn_scratch(&p);
    size_t bs = oc_rnn_backward_scratch(&p);
    unsigned char *scratch = aligned_alloc(64, ((p.scratch > bs ? p.scratch : bs) + 63) / 64 * 64);
    /* backward: dX, dW, dR, dB, dh0, dc0, dP */
    oc_tensor *dg[7] = {tnew(OC_FLOAT, 3, xd, NULL), tnew(OC_FLOAT, 3, wd, NULL), tnew(OC_FLOAT, 3, rd, NULL),
                        tnew(OC_FLOAT, 2, bd, NULL), tnew(OC_FLOAT, 3, sd, NULL), tnew(OC_FLOAT, 3, sd, NULL),
                        tnew(OC_FLOAT, 2, pd, NULL)};
    const oc_tensor *bin[11] = {g[0], g[1], kind == OC_RNN_LSTM ? g[2] : NULL, T[0], T[1], T[2], T[3], T[4], T[5],
                                T[6], T[7]};
    oc_kargs a = {.p = &p, .n_in = 11, .n_out = 7, .in = bin, .out = dg, .scratch = scratch, .threads = 1};
    CHECK(oc_rnn_backward(&a) == 0, "%s: backward failed", what);
    static const int of[8] = {0, 1, 2, 3, -1, 4, 5, 6};
    double worst = 0;
    for (int k = 0; k < 8; k++) {
        if (of[k] < 0 || !T[k])
            continue;
        float *v = T[k]->data, *an = dg[of[k]]->data;
        double amax = 1e-3, err = 0;
        for (int64_t i = 0; i < T[k]->numel; i++)
            amax = fmax(amax, fabs(an[i]));
        for (int64_t i = 0; i < T[k]->numel; i++) {
            float keep = v[i], e = 1e-2f;
            v[i] = keep + e;
            double hi = probe_loss(&p, (const oc_tensor *const *)T, out, (const oc_tensor *const *)g, scratch);
            v[i] = keep - e;
            double lo = probe_loss(&p, (const oc_tensor *const *)T, out, (const oc_tensor *const *)g, scratch);
            v[i] = keep;
            double fd = (hi - lo) / (2.0 * e), d = fabs(fd - an[i]) / amax;
            err = d > err || isnan(d) ? d : err;
        }
        worst = err > worst || isnan(err) ? err : worst;
    }
    printf("rnn backward %-34s max |analytic - fd| / max |grad| = %.2g\n", what, worst);
    CHECK(worst <= 2e-2, "%s: backward differs from finite differences", what);
    for (int k = 0; k < 8; k++)
        tfree(T[k]);
    for (int k = 0; k < 3; k++)
        tfree(out[k]), tfree(g[k]);
    for (int k = 0; k < 7; k++)
        tfree(dg[k]);
    free(scratch);
}

int main(void)
{
    run_case("RNN forward, hidden 1", OC_RNN_SIMPLE, OC_RNN_FORWARD, 0, 9, 1, 1, 1, 0, 0, 0, 0);
    run_case("RNN bidirectional, lens, layout 1", OC_RNN_SIMPLE, OC_RNN_BIDIRECTIONAL, 1, 11, 13, 29, 7, 1, 1, 0, 0);
    run_case("GRU reverse, lens, init", OC_RNN_GRU, OC_RNN_REVERSE, 0, 17, 5, 3, 37, 1, 1, 0, 0);
    run_case("GRU bidirectional, linear_before_reset", OC_RNN_GRU, OC_RNN_BIDIRECTIONAL, 1, 6, 13, 29, 7, 0, 1, 1, 0);
    run_case("GRU bidirectional, lens, clip", OC_RNN_GRU, OC_RNN_BIDIRECTIONAL, 0, 23, 4, 8, 16, 1, 0, 0, 1);
    run_case("LSTM forward, peepholes, init", OC_RNN_LSTM, OC_RNN_FORWARD, 0, 31, 3, 29, 37, 0, 1, 0, 0);
    run_case("LSTM bidirectional, lens, layout 1, clip", OC_RNN_LSTM, OC_RNN_BIDIRECTIONAL, 1, 12, 13, 5, 7, 1, 1, 0, 1);
    run_case("LSTM reverse, big", OC_RNN_LSTM, OC_RNN_REVERSE, 0, 40, 16, 64, 48, 1, 0, 0, 0);
    grad_case("RNN forward", OC_RNN_SIMPLE, OC_RNN_FORWARD, 0, 0, 0, 0);
    grad_case("RNN bidirectional, lens, layout 1", OC_RNN_SIMPLE, OC_RNN_BIDIRECTIONAL, 1, 0, 1, 0);
    grad_case("GRU reverse, clip", OC_RNN_GRU, OC_RNN_REVERSE, 0, 0, 0, 1);
    grad_case("GRU bidirectional, lbr, lens", OC_RNN_GRU, OC_RNN_BIDIRECTIONAL, 0, 1, 1, 0);
    grad_case("LSTM forward, peepholes", OC_RNN_LSTM, OC_RNN_FORWARD, 0, 0, 0, 0);
    grad_case("LSTM bidirectional, lens, layout 1", OC_RNN_LSTM, OC_RNN_BIDIRECTIONAL, 1, 0, 1, 0);
    return check_finish("test_rnn");
}
