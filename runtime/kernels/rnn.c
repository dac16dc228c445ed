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

static float *y_at(const oc_rnn_params *p, float *Y, int64_t t, int d, int64_t b)
{
    return Y + (p->layout ? (b * p->seq + t) * p->dirs + d : (t * p->dirs + d) * p->batch + b) * p->hidden;
}

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
