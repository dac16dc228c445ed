/* test_rnn.c: the RNN / GRU / LSTM kernel on onnxc's SGEMM against its
 * plain-loop reference on odd shapes (hidden 1, 7 and 37, input 1 and 29,
 * batch 1 and 13, long sequences), every direction, both layouts, with
 * sequence_lens (a row of length 0 among them), initial states, peepholes,
 * clip and both GRU reset variants. Only the products' summation order
 * differs, so the outputs agree to float rounding (max absolute difference
 * printed; bound 1e-5: inputs lie in [-0.5, 0.5) and the states are
 * bounded by the activations). tests/frontend/test_rnn_ops.py checks the
 * semantics against a numpy reference from the ONNX docs. */
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
    return check_finish("test_rnn");
}
