/* rnn.c: RNN, GRU and LSTM forward; see rnn.h for the equations and the
 * layouts. Both kernels walk the directions one after the other and share
 * the gate arithmetic (cell_*); they differ in how the matrix products are
 * formed: oc_rnn_forward uses the runtime SGEMM (X W^T for every step at
 * once, H R^T per step over the batch), oc_rnn_ref plain dot products.
 *
 * Scratch (64-byte aligned pieces, in this order): xw [seq*batch, G*H]
 * (fast kernel only), gates and hr [batch, G*H], h, c and rh [batch, H],
 * then the SGEMM's own scratch. */
#include "rnn.h"

#include <math.h>
#include <string.h>

#include "sgemm.h"

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* a * b * sizeof(float), 0 on overflow. */
static size_t fbytes(int64_t a, int64_t b)
{
    size_t n;
    if (a < 0 || b < 0 || __builtin_mul_overflow((size_t)a, (size_t)b, &n) ||
        __builtin_mul_overflow(n, sizeof(float), &n) || n > ((size_t)1 << 40))
        return 0;
    return align64(n);
}

size_t oc_rnn_scratch(const oc_rnn_params *p)
{
    int64_t gh = p->gates * p->hidden, sb;
    if (__builtin_mul_overflow(p->seq, p->batch, &sb))
        return 0;
    size_t xw = fbytes(sb, gh), g = fbytes(p->batch, gh), h = fbytes(p->batch, p->hidden);
    if ((sb && gh && !xw) || (p->batch && gh && !g) || (p->batch && p->hidden && !h))
        return 0;
    return xw + 2 * g + 3 * h + align64(oc_sgemm_scratch_bytes()) + 64;
}

static float act_apply(int act, float alpha, float beta, float x)
{
    switch (act) {
    case OC_RNN_ACT_RELU: return x > 0 ? x : 0;
    case OC_RNN_ACT_TANH: return tanhf(x);
    case OC_RNN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case OC_RNN_ACT_AFFINE: return alpha * x + beta;
    case OC_RNN_ACT_LEAKY_RELU: return x < 0 ? alpha * x : x;
    case OC_RNN_ACT_THRESHOLDED_RELU: return x > alpha ? x : 0;
    case OC_RNN_ACT_SCALED_TANH: return alpha * tanhf(beta * x);
    case OC_RNN_ACT_HARD_SIGMOID: {
        float v = alpha * x + beta;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case OC_RNN_ACT_ELU: return x < 0 ? alpha * (expf(x) - 1.0f) : x;
    case OC_RNN_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case OC_RNN_ACT_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    }
    return x;
}

/* One direction's view of the inputs and outputs. */
typedef struct rnn_run {
    const oc_rnn_params *p;
    int d;                  /* direction index (0 or 1) */
    int reverse;            /* this direction walks time backwards */
    const float *X, *W, *R; /* W, R of this direction */
    const float *wb, *rb;   /* biases of this direction, NULL: zero */
    const float *P;         /* peepholes of this direction, NULL: zero */
    const int32_t *lens;    /* NULL: every row runs seq steps */
    const float *h0, *c0;
    float *Y, *Yh, *Yc;
    float *xw, *gates, *hr, *h, *c, *rh;
    void *gemm_scratch;
    int fast;
} rnn_run;

/* The direction's k-th activation applied to x after clipping. */
static float act(const rnn_run *r, int k, float x)
{
    const oc_rnn_params *p = r->p;
    int i = r->d * p->n_act + k;
    if (p->has_clip)
        x = x < -p->clip ? -p->clip : x > p->clip ? p->clip : x;
    return act_apply(p->act[i], p->alpha[i], p->beta[i], x);
}

static const float *x_row(const oc_rnn_params *p, const float *X, int64_t t, int64_t b)
{
    return X + (p->layout ? b * p->seq + t : t * p->batch + b) * p->input;
}

/* Offset of (direction d, row b) in initial_h / Y_h / Y_c. */
static int64_t state_off(const oc_rnn_params *p, int d, int64_t b)
{
    return (p->layout ? b * p->dirs + d : d * p->batch + b) * p->hidden;
}

/* Offset of (time t, direction d, row b) in Y. */
static int64_t y_off(const oc_rnn_params *p, int64_t t, int d, int64_t b)
{
    return (p->layout ? (b * p->seq + t) * p->dirs + d : (t * p->dirs + d) * p->batch + b) * p->hidden;
}

static float *y_at(const oc_rnn_params *p, float *Y, int64_t t, int d, int64_t b) { return Y + y_off(p, t, d, b); }

static int64_t row_len(const rnn_run *r, int64_t b) { return r->lens ? r->lens[b] : r->p->seq; }

/* Time index of step s of row b; the row is active when s < its length. */
static int64_t step_time(const rnn_run *r, int64_t b, int64_t s) { return r->reverse ? row_len(r, b) - 1 - s : s; }

/* out[b, 0..n) = A[b] . Bm[j]^T for the rows b of A (lda) and rows j of Bm
 * (ldb): the reference product. */
static void dot_rows(int64_t m, int64_t n, int64_t k, const float *A, int64_t lda, const float *Bm, int64_t ldb,
                     float *C, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0;
            for (int64_t q = 0; q < k; q++)
                s += A[i * lda + q] * Bm[j * ldb + q];
            C[i * ldc + j] = s;
        }
}

/* C[m, n] = A[m, k] . Bm[n, k]^T with the fast or the reference product. */
static void product(const rnn_run *r, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
                    const float *Bm, int64_t ldb, float *C, int64_t ldc)
{
    if (r->fast)
        oc_sgemm(0, 1, m, n, k, 1.0f, A, lda, Bm, ldb, 0.0f, C, ldc, NULL, r->gemm_scratch);
    else
        dot_rows(m, n, k, A, lda, Bm, ldb, C, ldc);
}

/* gates[b] = X_t W^T + Wb for the active rows of step s. */
static void input_part(const rnn_run *r, int64_t s)
{
    const oc_rnn_params *p = r->p;
    int64_t gh = p->gates * p->hidden;
    for (int64_t b = 0; b < p->batch; b++) {
        if (s >= row_len(r, b))
            continue;
        int64_t t = step_time(r, b, s);
        float *g = r->gates + b * gh;
        if (r->fast)
            memcpy(g, r->xw + (p->layout ? b * p->seq + t : t * p->batch + b) * gh, sizeof(float) * (size_t)gh);
        else
            dot_rows(1, gh, p->input, x_row(p, r->X, t, b), p->input, r->W, p->input, g, gh);
        if (r->wb)
            for (int64_t j = 0; j < gh; j++)
                g[j] += r->wb[j];
    }
}

static float rbias(const rnn_run *r, int64_t j) { return r->rb ? r->rb[j] : 0.0f; }
static float peep(const rnn_run *r, int64_t j) { return r->P ? r->P[j] : 0.0f; }

static void cell_rnn(const rnn_run *r, int64_t b)
{
    int64_t H = r->p->hidden;
    const float *g = r->gates + b * H, *hr = r->hr + b * H;
    float *h = r->h + b * H;
    for (int64_t j = 0; j < H; j++)
        h[j] = act(r, 0, g[j] + hr[j] + rbias(r, j));
}

/* LSTM gates i o f c at offsets 0, H, 2H, 3H; peepholes Pi Po Pf. */
static void cell_lstm(const rnn_run *r, int64_t b)
{
    const oc_rnn_params *p = r->p;
    int64_t H = p->hidden;
    const float *g = r->gates + b * 4 * H, *hr = r->hr + b * 4 * H;
    float *h = r->h + b * H, *c = r->c + b * H;
    for (int64_t j = 0; j < H; j++) {
        float pi = g[j] + hr[j] + rbias(r, j);
        float po = g[H + j] + hr[H + j] + rbias(r, H + j);
        float pf = g[2 * H + j] + hr[2 * H + j] + rbias(r, 2 * H + j);
        float pc = g[3 * H + j] + hr[3 * H + j] + rbias(r, 3 * H + j);
        float i = act(r, 0, pi + peep(r, j) * c[j]);
        float f = p->input_forget ? 1.0f - i : act(r, 0, pf + peep(r, 2 * H + j) * c[j]);
        float cc = act(r, 1, pc);
        float cn = f * c[j] + i * cc;
        float o = act(r, 0, po + peep(r, H + j) * cn);
        c[j] = cn;
        h[j] = o * act(r, 2, cn);
    }
}

/* GRU gates z r h at offsets 0, H, 2H. First half: z and r into gates[]
 * (and r . H into rh for linear_before_reset 0). */
static void cell_gru_zr(const rnn_run *r, int64_t b)
{
    int64_t H = r->p->hidden;
    float *g = r->gates + b * 3 * H;
    const float *hr = r->hr + b * 3 * H, *h = r->h + b * H;
    for (int64_t j = 0; j < 2 * H; j++)
        g[j] = act(r, 0, g[j] + hr[j] + rbias(r, j));
    if (!r->p->linear_before_reset)
        for (int64_t j = 0; j < H; j++)
            r->rh[b * H + j] = g[H + j] * h[j];
}

/* Second half: hr's h part is H Rh^T (linear_before_reset 1) or
 * (r . H) Rh^T (0). */
static void cell_gru_h(const rnn_run *r, int64_t b)
{
    int64_t H = r->p->hidden;
    const float *g = r->gates + b * 3 * H, *hr = r->hr + b * 3 * H;
    float *h = r->h + b * H;
    for (int64_t j = 0; j < H; j++) {
        float z = g[j], rr = g[H + j], rb = rbias(r, 2 * H + j);
        float pre = r->p->linear_before_reset ? g[2 * H + j] + rr * (hr[2 * H + j] + rb) : g[2 * H + j] + hr[2 * H + j] + rb;
        float hh = act(r, 1, pre);
        h[j] = (1.0f - z) * hh + z * h[j];
    }
}

static void run_direction(rnn_run *r)
{
    const oc_rnn_params *p = r->p;
    int64_t H = p->hidden, gh = p->gates * H, B = p->batch;
    for (int64_t b = 0; b < B; b++) {
        int64_t o = state_off(p, r->d, b);
        if (r->h0)
            memcpy(r->h + b * H, r->h0 + o, sizeof(float) * (size_t)H);
        else
            memset(r->h + b * H, 0, sizeof(float) * (size_t)H);
        if (r->c0)
            memcpy(r->c + b * H, r->c0 + o, sizeof(float) * (size_t)H);
        else
            memset(r->c + b * H, 0, sizeof(float) * (size_t)H);
    }
    if (r->fast) /* X W^T of every (t, b) row at once, rows in X's memory order */
        oc_sgemm(0, 1, p->seq * B, gh, p->input, 1.0f, r->X, p->input, r->W, p->input, 0.0f, r->xw, gh, NULL,
                 r->gemm_scratch);
    int64_t steps = 0;
    for (int64_t b = 0; b < B; b++)
        steps = row_len(r, b) > steps ? row_len(r, b) : steps;
    int gru_split = p->kind == OC_RNN_GRU && !p->linear_before_reset;
    for (int64_t s = 0; s < steps; s++) {
        input_part(r, s);
        /* H R^T over the whole batch (finished rows are computed and ignored) */
        product(r, B, gru_split ? 2 * H : gh, H, r->h, H, r->R, H, r->hr, gh);
        if (p->kind == OC_RNN_GRU) {
            for (int64_t b = 0; b < B; b++) {
                if (s < row_len(r, b))
                    cell_gru_zr(r, b);
                else if (gru_split)
                    memset(r->rh + b * H, 0, sizeof(float) * (size_t)H);
            }
            if (gru_split)
                product(r, B, H, H, r->rh, H, r->R + 2 * H * H, H, r->hr + 2 * H, gh);
        }
        for (int64_t b = 0; b < B; b++) {
            if (s >= row_len(r, b))
                continue;
            if (p->kind == OC_RNN_SIMPLE)
                cell_rnn(r, b);
            else if (p->kind == OC_RNN_GRU)
                cell_gru_h(r, b);
            else
                cell_lstm(r, b);
            if (r->Y)
                memcpy(y_at(p, r->Y, step_time(r, b, s), r->d, b), r->h + b * H, sizeof(float) * (size_t)H);
        }
    }
    for (int64_t b = 0; b < B; b++) {
        int64_t o = state_off(p, r->d, b);
        if (r->Yh)
            memcpy(r->Yh + o, r->h + b * H, sizeof(float) * (size_t)H);
        if (r->Yc)
            memcpy(r->Yc + o, r->c + b * H, sizeof(float) * (size_t)H);
    }
}

static const oc_tensor *opt_in(const oc_kargs *a, int k) { return a->n_in > k ? a->in[k] : NULL; }
static oc_tensor *opt_out(const oc_kargs *a, int k) { return a->n_out > k ? a->out[k] : NULL; }

static int rnn_run_all(const oc_kargs *a, int fast)
{
    const oc_rnn_params *p = a->p;
    int lstm = p->kind == OC_RNN_LSTM;
    const oc_tensor *B = opt_in(a, 3), *L = opt_in(a, 4), *h0 = opt_in(a, 5);
    const oc_tensor *c0 = lstm ? opt_in(a, 6) : NULL, *P = lstm ? opt_in(a, 7) : NULL;
    const int32_t *lens = L ? (const int32_t *)L->data : NULL;
    for (int64_t b = 0; lens && b < p->batch; b++)
        if (lens[b] < 0 || lens[b] > p->seq)
            return oc_fail(a->d, "sequence_lens[%lld] = %d is outside [0, %lld]", (long long)b, (int)lens[b],
                           (long long)p->seq);
    int64_t H = p->hidden, gh = p->gates * H;
    unsigned char *s = (unsigned char *)a->scratch;
    rnn_run r = {.p = p, .X = a->in[0]->data, .lens = lens, .fast = fast};
    r.h0 = h0 ? h0->data : NULL;
    r.c0 = c0 ? c0->data : NULL;
    oc_tensor *Y = opt_out(a, 0), *Yh = opt_out(a, 1), *Yc = lstm ? opt_out(a, 2) : NULL;
    r.Y = Y ? Y->data : NULL;
    r.Yh = Yh ? Yh->data : NULL;
    r.Yc = Yc ? Yc->data : NULL;
    r.xw = (float *)s;
    s += fbytes(p->seq * p->batch, gh);
    r.gates = (float *)s;
    s += fbytes(p->batch, gh);
    r.hr = (float *)s;
    s += fbytes(p->batch, gh);
    r.h = (float *)s;
    s += fbytes(p->batch, H);
    r.c = (float *)s;
    s += fbytes(p->batch, H);
    r.rh = (float *)s;
    s += fbytes(p->batch, H);
    r.gemm_scratch = s;
    if (r.Y) /* rows past a sequence's length stay zero */
        memset(r.Y, 0, sizeof(float) * (size_t)Y->numel);
    for (int d = 0; d < p->dirs; d++) {
        r.d = d;
        r.reverse = p->direction == OC_RNN_REVERSE || d == 1;
        r.W = (const float *)a->in[1]->data + d * gh * p->input;
        r.R = (const float *)a->in[2]->data + d * gh * H;
        r.wb = B ? (const float *)B->data + d * 2 * gh : NULL;
        r.rb = B ? r.wb + gh : NULL;
        r.P = P ? (const float *)P->data + d * 3 * H : NULL;
        run_direction(&r);
    }
    return 0;
}

int oc_rnn_forward(const oc_kargs *a) { return rnn_run_all(a, 1); }
int oc_rnn_ref(const oc_kargs *a) { return rnn_run_all(a, 0); }

/* ---- backward (back-propagation through time), naive ---- */

/* d act(x) / dx at the activation's input x (already clipped). */
static float act_deriv(int act, float alpha, float beta, float x)
{
    switch (act) {
    case OC_RNN_ACT_RELU: return x > 0 ? 1.0f : 0.0f;
    case OC_RNN_ACT_TANH: {
        float t = tanhf(x);
        return 1.0f - t * t;
    }
    case OC_RNN_ACT_SIGMOID: {
        float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f - s);
    }
    case OC_RNN_ACT_AFFINE: return alpha;
    case OC_RNN_ACT_LEAKY_RELU: return x < 0 ? alpha : 1.0f;
    case OC_RNN_ACT_THRESHOLDED_RELU: return x > alpha ? 1.0f : 0.0f;
    case OC_RNN_ACT_SCALED_TANH: {
        float t = tanhf(beta * x);
        return alpha * beta * (1.0f - t * t);
    }
    case OC_RNN_ACT_HARD_SIGMOID: {
        float v = alpha * x + beta;
        return v > 0 && v < 1 ? alpha : 0.0f;
    }
    case OC_RNN_ACT_ELU: return x < 0 ? alpha * expf(x) : 1.0f;
    case OC_RNN_ACT_SOFTSIGN: {
        float a = 1.0f + fabsf(x);
        return 1.0f / (a * a);
    }
    case OC_RNN_ACT_SOFTPLUS: return 1.0f / (1.0f + expf(-x));
    }
    return 1.0f;
}

/* Derivative of the direction's k-th activation (after clip) at raw x;
 * zero where clip cut x off. */
static float act_grad(const oc_rnn_params *p, int d, int k, float x)
{
    int i = d * p->n_act + k;
    if (p->has_clip && (x < -p->clip || x > p->clip))
        return 0.0f;
    return act_deriv(p->act[i], p->alpha[i], p->beta[i], x);
}

static float act_at(const oc_rnn_params *p, int d, int k, float x)
{
    int i = d * p->n_act + k;
    if (p->has_clip)
        x = x < -p->clip ? -p->clip : x > p->clip ? p->clip : x;
    return act_apply(p->act[i], p->alpha[i], p->beta[i], x);
}

/* Floats recorded per (t, b): activation arguments [G*H], q [H] (GRU with
 * linear_before_reset: Rh H + Rbh), h_prev, c_prev, c_new [H]. */
static int64_t rec_floats(const oc_rnn_params *p) { return (p->gates + 4) * p->hidden; }

/* Accumulators, then the record of one direction, then work vectors. */
typedef struct bwd_bufs {
    float *dX, *dW, *dR, *dB, *dh0, *dc0, *dP, *rec, *dpre, *dh, *dc, *tmp;
} bwd_bufs;

static size_t bwd_layout(const oc_rnn_params *p, unsigned char *base, bwd_bufs *o)
{
    int64_t H = p->hidden, GH = p->gates * H, D = p->dirs, N = p->batch, SN;
    if (__builtin_mul_overflow(p->seq, N, &SN))
        return 0;
    int64_t sizes[12][2] = {{SN, p->input}, {D * GH, p->input}, {D * GH, H}, {D, 2 * GH}, {D * N, H},
                            {D * N, H},     {D, 3 * H},         {SN, rec_floats(p)}, {1, GH}, {1, H},
                            {1, H},         {1, GH}};
    float **dst[12] = {&o->dX, &o->dW, &o->dR, &o->dB, &o->dh0, &o->dc0, &o->dP, &o->rec, &o->dpre, &o->dh, &o->dc,
                       &o->tmp};
    size_t off = 0;
    for (int i = 0; i < 12; i++) {
        size_t n = fbytes(sizes[i][0], sizes[i][1]);
        if (!n && sizes[i][0] && sizes[i][1])
            return 0;
        if (base)
            *dst[i] = (float *)(base + off);
        if (__builtin_add_overflow(off, n, &off))
            return 0;
    }
    return off + 64;
}

size_t oc_rnn_backward_scratch(const oc_rnn_params *p) { return bwd_layout(p, NULL, &(bwd_bufs){0}); }

static float dotf(const float *a, const float *b, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Forward of row b of direction d, recording every step (see rec_floats). */
static void bwd_forward_row(const oc_rnn_params *p, int d, int64_t b, int64_t L, int rev, const float *X,
                            const float *W, const float *R, const float *wb, const float *rb, const float *P,
                            const float *h0, const float *c0, float *rec, float *h, float *c, float *tmp)
{
    int64_t H = p->hidden, GH = p->gates * H, I = p->input, RF = rec_floats(p);
    for (int64_t j = 0; j < H; j++) {
        h[j] = h0 ? h0[state_off(p, d, b) + j] : 0.0f;
        c[j] = c0 ? c0[state_off(p, d, b) + j] : 0.0f;
    }
    for (int64_t s = 0; s < L; s++) {
        int64_t t = rev ? L - 1 - s : s;
        float *r = rec + (t * p->batch + b) * RF, *pre = r, *q = r + GH, *hp = q + H, *cp = hp + H, *cn = cp + H;
        const float *x = x_row(p, X, t, b);
        memcpy(hp, h, sizeof(float) * (size_t)H);
        memcpy(cp, c, sizeof(float) * (size_t)H);
        for (int64_t j = 0; j < GH; j++) {
            pre[j] = dotf(W + j * I, x, I) + (wb ? wb[j] : 0.0f);
            tmp[j] = dotf(R + j * H, h, H) + (rb ? rb[j] : 0.0f);
        }
        if (p->kind == OC_RNN_SIMPLE) {
            for (int64_t j = 0; j < H; j++) {
                pre[j] += tmp[j];
                h[j] = act_at(p, d, 0, pre[j]);
            }
        } else if (p->kind == OC_RNN_LSTM) {
            for (int64_t j = 0; j < H; j++) {
                float *pi = &pre[j], *po = &pre[H + j], *pf = &pre[2 * H + j], *pc = &pre[3 * H + j];
                *pi += tmp[j] + (P ? P[j] * cp[j] : 0.0f);
                *pf += tmp[2 * H + j] + (P ? P[2 * H + j] * cp[j] : 0.0f);
                *pc += tmp[3 * H + j];
                float i = act_at(p, d, 0, *pi), f = p->input_forget ? 1.0f - i : act_at(p, d, 0, *pf);
                cn[j] = f * cp[j] + i * act_at(p, d, 1, *pc);
                *po += tmp[H + j] + (P ? P[H + j] * cn[j] : 0.0f);
                c[j] = cn[j];
                h[j] = act_at(p, d, 0, *po) * act_at(p, d, 2, cn[j]);
            }
        } else {
            for (int64_t j = 0; j < 2 * H; j++)
                pre[j] += tmp[j];
            if (p->linear_before_reset) {
                for (int64_t j = 0; j < H; j++) {
                    q[j] = tmp[2 * H + j];
                    pre[2 * H + j] += act_at(p, d, 0, pre[H + j]) * q[j];
                }
            } else {
                for (int64_t j = 0; j < H; j++) /* r . H into cn (unused by GRU) */
                    cn[j] = act_at(p, d, 0, pre[H + j]) * hp[j];
                for (int64_t j = 0; j < H; j++)
                    pre[2 * H + j] += dotf(R + (2 * H + j) * H, cn, H) + (rb ? rb[2 * H + j] : 0.0f);
            }
            for (int64_t j = 0; j < H; j++) {
                float z = act_at(p, d, 0, pre[j]);
                h[j] = (1.0f - z) * act_at(p, d, 1, pre[2 * H + j]) + z * hp[j];
            }
        }
    }
}

/* dX, dW, dR, dB, dh0, dc0, dP = RNNGrad(dY, dY_h, dY_c, X, W, R, B,
 * sequence_lens, initial_h, initial_c, P): back-propagation through time
 * with the forward recomputed and recorded per step. Each step's gate
 * gradients dpre (w.r.t. the activations' arguments) give
 * dW += dpre x^T, dX = W^T dpre, dR += dpre h_prev^T (GRU's h gate with
 * linear_before_reset 0: (r . h_prev)), dWb = dRb += dpre, and the
 * carried dh_prev = R^T dpre + the cell's direct terms. */
int oc_rnn_backward(const oc_kargs *a)
{
    const oc_rnn_params *p = a->p;
    const oc_tensor *dY = a->in[0], *dYh = a->n_in > 1 ? a->in[1] : NULL, *dYc = a->n_in > 2 ? a->in[2] : NULL;
    const oc_tensor *Xt = a->in[3], *Bt = a->n_in > 6 ? a->in[6] : NULL, *Lt = a->n_in > 7 ? a->in[7] : NULL;
    const oc_tensor *h0t = a->n_in > 8 ? a->in[8] : NULL, *c0t = a->n_in > 9 ? a->in[9] : NULL;
    const oc_tensor *Pt = a->n_in > 10 ? a->in[10] : NULL;
    int lstm = p->kind == OC_RNN_LSTM, gru = p->kind == OC_RNN_GRU;
    int64_t H = p->hidden, GH = p->gates * H, I = p->input, N = p->batch, RF = rec_floats(p);
    const int32_t *lens = Lt ? (const int32_t *)Lt->data : NULL;
    for (int64_t b = 0; lens && b < N; b++)
        if (lens[b] < 0 || lens[b] > p->seq)
            return oc_fail(a->d, "sequence_lens[%lld] = %d is outside [0, %lld]", (long long)b, (int)lens[b],
                           (long long)p->seq);
    bwd_bufs o;
    if (!bwd_layout(p, (unsigned char *)a->scratch, &o))
        return oc_fail(a->d, "RNN backward: scratch size overflows");
    memset(a->scratch, 0, (size_t)((unsigned char *)o.rec - (unsigned char *)a->scratch)); /* the accumulators */
    const float *X = Xt->data;
    for (int d = 0; d < p->dirs; d++) {
        int rev = p->direction == OC_RNN_REVERSE || d == 1;
        const float *W = (const float *)a->in[4]->data + d * GH * I, *R = (const float *)a->in[5]->data + d * GH * H;
        const float *wb = Bt ? (const float *)Bt->data + d * 2 * GH : NULL, *rb = wb ? wb + GH : NULL;
        const float *P = lstm && Pt ? (const float *)Pt->data + d * 3 * H : NULL;
        float *dW = o.dW + d * GH * I, *dR = o.dR + d * GH * H, *dWb = o.dB + d * 2 * GH, *dRb = dWb + GH;
        float *dP = o.dP + d * 3 * H;
        for (int64_t b = 0; b < N; b++) {
            int64_t L = lens ? lens[b] : p->seq, so = state_off(p, d, b);
            bwd_forward_row(p, d, b, L, rev, X, W, R, wb, rb, P, h0t ? h0t->data : NULL,
                            lstm && c0t ? c0t->data : NULL, o.rec, o.dh, o.dc, o.tmp);
            for (int64_t j = 0; j < H; j++) {
                o.dh[j] = dYh ? ((const float *)dYh->data)[so + j] : 0.0f;
                o.dc[j] = lstm && dYc ? ((const float *)dYc->data)[so + j] : 0.0f;
            }
            for (int64_t s = L - 1; s >= 0; s--) {
                int64_t t = rev ? L - 1 - s : s;
                const float *r = o.rec + (t * N + b) * RF, *pre = r, *q = r + GH, *hp = q + H, *cp = hp + H,
                            *cn = cp + H;
                if (dY) {
                    const float *dy = (const float *)dY->data + y_off(p, t, d, b);
                    for (int64_t j = 0; j < H; j++)
                        o.dh[j] += dy[j];
                }
                float *dpre = o.dpre, *dhp = o.tmp; /* tmp: dh_prev's direct terms */
                for (int64_t j = 0; j < H; j++)
                    dhp[j] = 0.0f;
                if (p->kind == OC_RNN_SIMPLE) {
                    for (int64_t j = 0; j < H; j++)
                        dpre[j] = o.dh[j] * act_grad(p, d, 0, pre[j]);
                } else if (lstm) {
                    for (int64_t j = 0; j < H; j++) {
                        float pi = pre[j], po = pre[H + j], pf = pre[2 * H + j], pc = pre[3 * H + j];
                        float i = act_at(p, d, 0, pi), f = p->input_forget ? 1.0f - i : act_at(p, d, 0, pf);
                        float cc = act_at(p, d, 1, pc), o_ = act_at(p, d, 0, po), hc = act_at(p, d, 2, cn[j]);
                        float dpo = o.dh[j] * hc * act_grad(p, d, 0, po);
                        float dC = o.dc[j] + o.dh[j] * o_ * act_grad(p, d, 2, cn[j]) + (P ? dpo * P[H + j] : 0.0f);
                        float di = dC * cc, df = dC * cp[j], dcp = dC * f;
                        float dpf = 0.0f;
                        if (p->input_forget)
                            di -= df;
                        else
                            dpf = df * act_grad(p, d, 0, pf);
                        float dpi = di * act_grad(p, d, 0, pi);
                        if (P) {
                            dcp += dpi * P[j] + dpf * P[2 * H + j];
                            dP[j] += dpi * cp[j];
                            dP[H + j] += dpo * cn[j];
                            dP[2 * H + j] += dpf * cp[j];
                        }
                        dpre[j] = dpi;
                        dpre[H + j] = dpo;
                        dpre[2 * H + j] = dpf;
                        dpre[3 * H + j] = dC * i * act_grad(p, d, 1, pc);
                        o.dc[j] = dcp;
                    }
                } else { /* GRU: the h gate first, its result feeds r's gradient */
                    for (int64_t j = 0; j < H; j++) {
                        float z = act_at(p, d, 0, pre[j]), hh = act_at(p, d, 1, pre[2 * H + j]);
                        dpre[2 * H + j] = o.dh[j] * (1.0f - z) * act_grad(p, d, 1, pre[2 * H + j]);
                        dpre[j] = o.dh[j] * (hp[j] - hh) * act_grad(p, d, 0, pre[j]);
                        dhp[j] = o.dh[j] * z;
                    }
                    for (int64_t j = 0; j < H; j++) {
                        float rr = act_at(p, d, 0, pre[H + j]), dr;
                        if (p->linear_before_reset) {
                            float dq = dpre[2 * H + j] * rr;
                            dr = dpre[2 * H + j] * q[j];
                            dRb[2 * H + j] += dq;
                            for (int64_t k = 0; k < H; k++) {
                                dR[(2 * H + j) * H + k] += dq * hp[k];
                                dhp[k] += R[(2 * H + j) * H + k] * dq;
                            }
                        } else { /* d(r . h_prev)_j = sum_k Rh[k, j] dpre_h[k] */
                            float drh = 0.0f;
                            for (int64_t k = 0; k < H; k++)
                                drh += R[(2 * H + k) * H + j] * dpre[2 * H + k];
                            dr = drh * hp[j];
                            dhp[j] += drh * rr;
                        }
                        dpre[H + j] = dr * act_grad(p, d, 0, pre[H + j]);
                    }
                    if (!p->linear_before_reset)
                        for (int64_t j = 0; j < H; j++) {
                            dRb[2 * H + j] += dpre[2 * H + j];
                            for (int64_t k = 0; k < H; k++)
                                dR[(2 * H + j) * H + k] += dpre[2 * H + j] * act_at(p, d, 0, pre[H + k]) * hp[k];
                        }
                }
                /* the input side for every gate, the recurrent side for all but GRU's h gate */
                const float *x = x_row(p, X, t, b);
                float *dx = o.dX + (x - X);
                int64_t rec_rows = gru ? 2 * H : GH;
                for (int64_t j = 0; j < GH; j++) {
                    float g = dpre[j];
                    dWb[j] += g;
                    for (int64_t k = 0; k < I; k++) {
                        dW[j * I + k] += g * x[k];
                        dx[k] += W[j * I + k] * g;
                    }
                    if (j < rec_rows) {
                        dRb[j] += g;
                        for (int64_t k = 0; k < H; k++) {
                            dR[j * H + k] += g * hp[k];
                            dhp[k] += R[j * H + k] * g;
                        }
                    }
                }
                memcpy(o.dh, dhp, sizeof(float) * (size_t)H);
            }
            memcpy(o.dh0 + so, o.dh, sizeof(float) * (size_t)H);
            memcpy(o.dc0 + so, o.dc, sizeof(float) * (size_t)H);
        }
    }
    float *src[7] = {o.dX, o.dW, o.dR, o.dB, o.dh0, o.dc0, o.dP};
    for (int k = 0; k < 7 && k < a->n_out; k++)
        if (a->out[k])
            memcpy(a->out[k]->data, src[k], sizeof(float) * (size_t)a->out[k]->numel);
    return 0;
}
