/* attention.c: see attention.h.
 *
 * Attention runs one (batch, query head) pair at a time, split over the
 * step's threads: the Sq x T score block lives in the thread's scratch,
 * the two products (scores = Q K^T, Y = P V) go to onnxc's SGEMM in the
 * fast kernel and to plain loops in the reference; everything between
 * (softcap, bias, softmax, the fully-masked-row guard) is shared code, so
 * the two differ only in summation order. Operands are read in place
 * through (batch, head, row) strides, so the 3-D layouts need no
 * transposes; only a past cache is concatenated (into present_key /
 * present_value, or scratch when those are not outputs). */
#include "attention.h"

#include <math.h>
#include <string.h>

#include "../threads.h"
#include "sgemm.h"
#include "shape_ops.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

/* ---- other float types: the float32 kernels run on converted copies ---- */

static int is_other_float(int dt) { return dt == OC_FLOAT16 || dt == OC_BFLOAT16 || dt == OC_DOUBLE; }

size_t oc_attention_convert_bytes(const int *dtypes, const int64_t *numel, int n)
{
    size_t total = 0;
    for (int k = 0; k < n; k++)
        if (is_other_float(dtypes[k]))
            total += ALIGN64(sizeof(float) * (size_t)numel[k]);
    return total;
}

static void to_float(const oc_tensor *t, float *dst)
{
    for (int64_t i = 0; i < t->numel; i++)
        dst[i] = t->dtype == OC_FLOAT16    ? oc_half_to_float(((const uint16_t *)t->data)[i])
                 : t->dtype == OC_BFLOAT16 ? oc_bf16_to_float(((const uint16_t *)t->data)[i])
                                           : (float)((const double *)t->data)[i];
}

static void from_float(const float *src, oc_tensor *t)
{
    for (int64_t i = 0; i < t->numel; i++) {
        if (t->dtype == OC_FLOAT16)
            ((uint16_t *)t->data)[i] = oc_float_to_half(src[i]);
        else if (t->dtype == OC_BFLOAT16)
            ((uint16_t *)t->data)[i] = oc_float_to_bf16(src[i]);
        else
            ((double *)t->data)[i] = src[i];
    }
}

#define MAX_IO 8

/* Runs the float32 kernel fn: directly when no input or output is of
 * another float type, else on float32 copies placed in the shared scratch
 * after the kernel's own first `own` bytes (the lowering reserved
 * oc_attention_convert_bytes more). Results are rounded once, at the end. */
static int run_float(const oc_kargs *a, oc_kernel_fn fn, size_t own)
{
    int other = 0;
    for (int k = 0; k < a->n_in; k++)
        other |= a->in[k] && is_other_float(a->in[k]->dtype);
    for (int k = 0; k < a->n_out; k++)
        other |= a->out[k] && is_other_float(a->out[k]->dtype);
    if (!other)
        return fn(a);
    if (a->n_in > MAX_IO || a->n_out > MAX_IO || !a->scratch)
        return oc_fail(a->d, "internal error: a converted kernel runs without its scratch");
    unsigned char *cs = (unsigned char *)a->scratch + ALIGN64(own);
    oc_tensor tin[MAX_IO], tout[MAX_IO];
    const oc_tensor *pin[MAX_IO];
    oc_tensor *pout[MAX_IO];
    for (int k = 0; k < a->n_in; k++) {
        pin[k] = a->in[k];
        if (!a->in[k] || !is_other_float(a->in[k]->dtype))
            continue;
        tin[k] = *a->in[k];
        tin[k].dtype = OC_FLOAT;
        tin[k].data = cs;
        cs += ALIGN64(sizeof(float) * (size_t)tin[k].numel);
        to_float(a->in[k], tin[k].data);
        pin[k] = &tin[k];
    }
    for (int k = 0; k < a->n_out; k++) {
        pout[k] = a->out[k];
        if (!a->out[k] || !is_other_float(a->out[k]->dtype))
            continue;
        tout[k] = *a->out[k];
        tout[k].dtype = OC_FLOAT;
        tout[k].data = cs;
        cs += ALIGN64(sizeof(float) * (size_t)tout[k].numel);
        pout[k] = &tout[k];
    }
    oc_kargs b = *a;
    b.in = pin;
    b.out = pout;
    if (fn(&b))
        return -1;
    for (int k = 0; k < a->n_out; k++)
        if (pout[k] != a->out[k])
            from_float(pout[k]->data, a->out[k]);
    return 0;
}

size_t oc_attention_tscratch(int64_t q_len, int64_t total)
{
    return ALIGN64(oc_sgemm_scratch_bytes()) + sizeof(float) * (size_t)q_len * (size_t)total;
}

/* A matrix operand of one (batch, head): element (b, h, r, c) at
 * base[b * sb + h * sh + r * ld + c]. */
typedef struct view {
    const float *base;
    int64_t sb, sh, ld;
} view;

static view make_view(const float *base, int packed, int64_t heads, int64_t rows, int64_t cols)
{
    view v = {base, heads * rows * cols, packed ? cols : rows * cols, packed ? heads * cols : cols};
    return v;
}

/* C [M, N] = alpha A op(B), A [M, K] (row stride lda), B [K, N] or, with
 * tb, [N, K]; row stride ldc. fast: onnxc's SGEMM, else plain loops. */
static void matmul(int fast, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, float *C, int64_t ldc, void *scratch)
{
    if (!M || !N)
        return;
    if (!K) {
        for (int64_t i = 0; i < M; i++)
            memset(C + i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    if (fast) {
        oc_sgemm(0, tb, M, N, K, alpha, A, lda, B, ldb, 0.0f, C, ldc, NULL, scratch);
        return;
    }
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)A[i * lda + k] * (tb ? B[j * ldb + k] : B[k * ldb + j]);
            C[i * ldc + j] = alpha * (float)s;
        }
}

/* Rounds to the softmax precision when it is narrower than float. */
static float narrow(float x, int dtype)
{
    if (dtype == OC_FLOAT16)
        return oc_half_to_float(oc_float_to_half(x));
    if (dtype == OC_BFLOAT16)
        return oc_bf16_to_float(oc_float_to_bf16(x));
    return x;
}

typedef struct attn_job {
    const oc_attention_params *p;
    view q, k, v;
    float *y;
    int64_t ysb, ysh, yld;
    const void *mask;
    const int64_t *nonpad;
    float *qk; /* [B, Hq, Sq, T] or NULL */
    int fast;
    unsigned char *tscratch;
    size_t tstride;
} attn_job;

#define NONPAD_LIMIT ((int64_t)1 << 60)

/* Query row i of (b, h): bias, softmax and the guard on s[0..T), with the
 * qk output captured at the stage qk_mode names. */
static void attn_row(const attn_job *j, int64_t b, int64_t h, int64_t i, float *s)
{
    const oc_attention_params *p = j->p;
    int64_t T = p->total;
    float *qk = j->qk ? j->qk + ((b * p->q_heads + h) * p->q_len + i) * T : NULL;
    if (qk && p->qk_mode == OC_QK_RAW)
        memcpy(qk, s, sizeof(float) * (size_t)T);
    if (p->softcap > 0)
        for (int64_t c = 0; c < T; c++)
            s[c] = p->softcap * tanhf(s[c] / p->softcap);
    if (qk && p->qk_mode == OC_QK_SOFTCAP)
        memcpy(qk, s, sizeof(float) * (size_t)T);
    /* offset of this query block: the keys before it. nonpad_kv_seqlen is
     * data: clamped far outside [0, T] (no result changes) so that the
     * position arithmetic cannot overflow. */
    int64_t nonpad = 0;
    if (p->has_nonpad) {
        nonpad = j->nonpad[b];
        nonpad = nonpad < -NONPAD_LIMIT ? -NONPAD_LIMIT : nonpad > NONPAD_LIMIT ? NONPAD_LIMIT : nonpad;
    }
    int64_t off = p->has_past ? p->past_len : p->has_nonpad ? nonpad - p->q_len : 0;
    int64_t pos = i + off;
    const int64_t *ms = p->mask_stride;
    int64_t mrow = b * ms[0] + h * ms[1] + i * ms[2];
    int any = 0;
    for (int64_t c = 0; c < T; c++) {
        float bias = 0;
        int ok = 1;
        if (p->mask) {
            if (c >= p->mask_len)
                ok = 0; /* a short mask is padded with -inf / False */
            else if (p->mask == 2)
                ok = ((const unsigned char *)j->mask)[mrow + c * ms[3]] != 0;
            else
                bias = ((const float *)j->mask)[mrow + c * ms[3]];
        }
        if (p->causal && c > pos)
            ok = 0;
        if (p->left_window >= 0 && pos - c > p->left_window)
            ok = 0;
        if (p->right_window >= 0 && c - pos > p->right_window)
            ok = 0;
        if (p->has_nonpad && c >= nonpad)
            ok = 0;
        if (!ok)
            bias = -INFINITY;
        if (bias != -INFINITY)
            any = 1;
        s[c] += bias;
    }
    if (qk && p->qk_mode == OC_QK_BIAS)
        memcpy(qk, s, sizeof(float) * (size_t)T);
    if (!any) { /* no key attended: a zero row, not NaN */
        memset(s, 0, sizeof(float) * (size_t)T);
    } else {
        float mx = -INFINITY;
        for (int64_t c = 0; c < T; c++) {
            s[c] = narrow(s[c], p->softmax_dtype);
            if (s[c] > mx)
                mx = s[c];
        }
        if (mx == -INFINITY)
            mx = 0;
        double sum = 0;
        for (int64_t c = 0; c < T; c++)
            sum += s[c] = expf(s[c] - mx);
        float inv = sum == 0 ? 1.0f : (float)(1.0 / sum);
        for (int64_t c = 0; c < T; c++)
            s[c] = narrow(s[c] * inv, p->softmax_dtype);
    }
    if (qk && p->qk_mode == OC_QK_SOFTMAX)
        memcpy(qk, s, sizeof(float) * (size_t)T);
}

static void attn_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const attn_job *j = ctx;
    const oc_attention_params *p = j->p;
    unsigned char *ts = j->tscratch + (size_t)tid * j->tstride;
    void *gemm_scratch = ts;
    float *s = (float *)(ts + ALIGN64(oc_sgemm_scratch_bytes()));
    int64_t group = p->q_heads / p->kv_heads, T = p->total;
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r / p->q_heads, h = r % p->q_heads, g = h / group;
        const float *q = j->q.base + b * j->q.sb + h * j->q.sh;
        const float *k = j->k.base + b * j->k.sb + g * j->k.sh;
        const float *v = j->v.base + b * j->v.sb + g * j->v.sh;
        matmul(j->fast, 1, p->q_len, T, p->head, p->scale, q, j->q.ld, k, j->k.ld, s, T, gemm_scratch);
        for (int64_t i = 0; i < p->q_len; i++)
            attn_row(j, b, h, i, s + i * T);
        matmul(j->fast, 0, p->q_len, p->v_head, T, 1.0f, s, T, v, j->v.ld, j->y + b * j->ysb + h * j->ysh, j->yld,
               gemm_scratch);
    }
}

/* dst [B, Hkv, P + S, cols] = past [B, Hkv, P, cols] then the new rows. */
static void concat_cache(const oc_attention_params *p, const float *past, view cur, int64_t cols, float *dst)
{
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t g = 0; g < p->kv_heads; g++) {
            float *o = dst + (b * p->kv_heads + g) * p->total * cols;
            if (p->past_len)
                memcpy(o, past + (b * p->kv_heads + g) * p->past_len * cols,
                       sizeof(float) * (size_t)(p->past_len * cols));
            o += p->past_len * cols;
            for (int64_t r = 0; r < p->kv_len; r++)
                memcpy(o + r * cols, cur.base + b * cur.sb + g * cur.sh + r * cur.ld, sizeof(float) * (size_t)cols);
        }
}

static int attention_run(const oc_kargs *a, int fast)
{
    const oc_attention_params *p = a->p;
    if (!a->tscratch || a->tscratch_stride < p->thread_scratch || (p->kv_scratch && !a->scratch))
        return oc_fail(a->d, "internal error: Attention runs without its scratch");
    const oc_tensor *in_at[7] = {0};
    for (int k = 0; k < 7 && k < a->n_in; k++)
        in_at[k] = a->in[k];
    oc_tensor *out_at[4] = {0};
    for (int k = 0; k < 4 && k < a->n_out; k++)
        out_at[k] = a->out[k];
    attn_job j = {.p = p, .fast = fast, .tscratch = a->tscratch, .tstride = a->tscratch_stride};
    j.q = make_view(in_at[0]->data, p->packed, p->q_heads, p->q_len, p->head);
    j.k = make_view(in_at[1]->data, p->packed, p->kv_heads, p->kv_len, p->head);
    j.v = make_view(in_at[2]->data, p->packed, p->kv_heads, p->kv_len, p->v_head);
    j.mask = p->mask ? in_at[3]->data : NULL;
    j.nonpad = p->has_nonpad ? in_at[6]->data : NULL;
    j.qk = out_at[3] ? out_at[3]->data : NULL;
    /* the full key / value sequences: [past | new] when there is a past */
    unsigned char *kv = a->scratch;
    for (int w = 0; w < 2; w++) {
        int64_t cols = w ? p->v_head : p->head;
        view cur = w ? j.v : j.k;
        float *dst = out_at[1 + w] ? out_at[1 + w]->data : NULL;
        if (!dst && !p->has_past)
            continue;
        if (!dst) {
            dst = (float *)kv;
            kv += ALIGN64(sizeof(float) * (size_t)(p->batch * p->kv_heads * p->total * cols));
        }
        concat_cache(p, p->has_past ? in_at[4 + w]->data : NULL, cur, cols, dst);
        if (p->has_past) {
            view full = make_view(dst, 0, p->kv_heads, p->total, cols);
            if (w)
                j.v = full;
            else
                j.k = full;
        }
    }
    j.y = out_at[0]->data;
    j.ysb = p->q_heads * p->q_len * p->v_head;
    j.ysh = p->packed ? p->v_head : p->q_len * p->v_head;
    j.yld = p->packed ? p->q_heads * p->v_head : p->v_head;
    int64_t pairs = p->batch * p->q_heads;
    double work = (double)pairs * (double)p->q_len * (double)p->total * (double)(p->head + p->v_head);
    oc_parallel_for(pairs, 1, oc_threads_for_work(a->threads, work), attn_task, &j);
    return 0;
}

static int attention_fast(const oc_kargs *a) { return attention_run(a, 1); }
static int attention_plain(const oc_kargs *a) { return attention_run(a, 0); }

int oc_attention_forward(const oc_kargs *a)
{
    return run_float(a, attention_fast, ((const oc_attention_params *)a->p)->kv_scratch);
}

int oc_attention_ref(const oc_kargs *a)
{
    return run_float(a, attention_plain, ((const oc_attention_params *)a->p)->kv_scratch);
}

/* ---- LinearAttention ---- */

typedef struct lin_job {
    const oc_linear_attention_params *p;
    const float *q, *k, *v, *decay, *beta;
    float *y, *state;
    unsigned char *tscratch;
    size_t tstride;
} lin_job;

static void lin_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const lin_job *j = ctx;
    const oc_linear_attention_params *p = j->p;
    int64_t dk = p->dk, dv = p->dv, Hq = p->q_heads, Hkv = p->kv_heads, group = Hq / Hkv;
    float *vt = (float *)(j->tscratch + (size_t)tid * j->tstride);
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r / Hkv, g = r % Hkv;
        float *S = j->state + r * dk * dv;
        for (int64_t t = 0; t < p->seq; t++) {
            int64_t bt = b * p->seq + t;
            const float *k = j->k + (bt * Hkv + g) * dk, *v = j->v + (bt * Hkv + g) * dv;
            if (p->gated) {
                for (int64_t d = 0; d < dk; d++) {
                    float e = expf(p->decay_per_key ? j->decay[(bt * Hkv + g) * dk + d] : j->decay[bt * Hkv + g]);
                    for (int64_t m = 0; m < dv; m++)
                        S[d * dv + m] *= e;
                }
            }
            if (p->delta) {
                float beta = j->beta[bt * p->beta_heads + (p->beta_heads == 1 ? 0 : g)];
                for (int64_t m = 0; m < dv; m++) {
                    double got = 0; /* (S^T k)[m] */
                    for (int64_t d = 0; d < dk; d++)
                        got += (double)S[d * dv + m] * k[d];
                    vt[m] = beta * (v[m] - (float)got);
                }
            } else {
                memcpy(vt, v, sizeof(float) * (size_t)dv);
            }
            for (int64_t d = 0; d < dk; d++)
                for (int64_t m = 0; m < dv; m++)
                    S[d * dv + m] += k[d] * vt[m];
            for (int64_t h = g * group; h < (g + 1) * group; h++) {
                const float *q = j->q + (bt * Hq + h) * dk;
                float *y = j->y + (bt * Hq + h) * dv;
                for (int64_t m = 0; m < dv; m++) {
                    double o = 0;
                    for (int64_t d = 0; d < dk; d++)
                        o += (double)q[d] * S[d * dv + m];
                    y[m] = p->scale * (float)o;
                }
            }
        }
    }
}

static int linear_attention_f32(const oc_kargs *a)
{
    const oc_linear_attention_params *p = a->p;
    lin_job j = {.p = p, .q = a->in[0]->data, .k = a->in[1]->data, .v = a->in[2]->data,
                 .y = a->out[0]->data, .tscratch = a->tscratch, .tstride = a->tscratch_stride};
    const oc_tensor *past = a->n_in > 3 ? a->in[3] : NULL;
    j.decay = p->gated ? a->in[4]->data : NULL;
    j.beta = p->delta ? a->in[5]->data : NULL;
    j.state = a->n_out > 1 && a->out[1] ? a->out[1]->data : a->scratch;
    size_t state_bytes = sizeof(float) * (size_t)(p->batch * p->kv_heads * p->dk * p->dv);
    if (!j.state || !a->tscratch || a->tscratch_stride < sizeof(float) * (size_t)p->dv)
        return oc_fail(a->d, "internal error: LinearAttention runs without its scratch");
    if (past)
        memcpy(j.state, past->data, state_bytes);
    else
        memset(j.state, 0, state_bytes);
    int64_t pairs = p->batch * p->kv_heads;
    double work = (double)pairs * (double)p->seq * (double)p->dk * (double)p->dv * 4.0;
    oc_parallel_for(pairs, 1, oc_threads_for_work(a->threads, work), lin_task, &j);
    return 0;
}

/* ---- RotaryEmbedding ---- */

static int rotary_f32(const oc_kargs *a)
{
    const oc_rotary_params *p = a->p;
    const float *x = a->in[0]->data, *cc = a->in[1]->data, *sc = a->in[2]->data;
    const int64_t *pos = p->has_pos ? a->in[3]->data : NULL;
    float *y = a->out[0]->data;
    int64_t H = p->heads, S = p->seq, D = p->head, half = p->rot / 2;
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t s = 0; s < S; s++) {
            int64_t row = b * S + s;
            if (pos) {
                row = pos[b * S + s];
                if (row < 0 || row >= p->max_pos)
                    return oc_fail(a->d, "position id %lld at [%lld, %lld] is outside the caches' %lld rows",
                                   (long long)row, (long long)b, (long long)s, (long long)p->max_pos);
            }
            const float *cr = cc + row * half, *sr = sc + row * half;
            for (int64_t h = 0; h < H; h++) {
                int64_t o = p->packed ? (b * S + s) * H * D + h * D : ((b * H + h) * S + s) * D;
                const float *xv = x + o;
                float *yv = y + o;
                for (int64_t i = 0; i < half; i++) {
                    int64_t i1 = p->interleaved ? 2 * i : i, i2 = p->interleaved ? 2 * i + 1 : i + half;
                    float x1 = xv[i1], x2 = xv[i2];
                    yv[i1] = cr[i] * x1 - sr[i] * x2;
                    yv[i2] = sr[i] * x1 + cr[i] * x2;
                }
                for (int64_t i = p->rot; i < D; i++)
                    yv[i] = xv[i];
            }
        }
    return 0;
}

/* ---- SwiGLU ---- */

static int swiglu_f32(const oc_kargs *a)
{
    const oc_swiglu_params *p = a->p;
    const float *x = a->in[0]->data, *g = a->in[1]->data;
    float *y = a->out[0]->data;
    for (int64_t i = 0; i < p->n; i++)
        y[i] = x[i] * (1.0f / (1.0f + expf(-p->alpha * x[i]))) * g[i];
    return 0;
}

/* ---- CausalConvWithState ---- */

static int causal_conv_f32(const oc_kargs *a)
{
    const oc_causal_conv_params *p = a->p;
    const float *x = a->in[0]->data, *w = a->in[1]->data;
    const float *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    const float *past = a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    float *y = a->out[0]->data;
    float *present = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    int64_t L = p->len, K = p->k, C = p->channels, ks = K - 1;
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *xr = x + (b * C + c) * L, *wr = w + c * K;
            const float *st = past ? past + (b * C + c) * ks : NULL;
            /* xp[l] for l in [0, L + K - 1): the state, then X */
#define XP(l) ((l) < ks ? (st ? st[(l)] : 0.0f) : xr[(l) - ks])
            float *yr = y + (b * C + c) * L;
            for (int64_t l = 0; l < L; l++) {
                float s = bias ? bias[c] : 0.0f;
                for (int64_t k = 0; k < K; k++)
                    s += wr[k] * XP(l + k);
                yr[l] = p->silu ? s / (1.0f + expf(-s)) : s;
            }
            if (present)
                for (int64_t m = 0; m < ks; m++)
                    present[(b * C + c) * ks + m] = XP(L + m);
#undef XP
        }
    return 0;
}

/* ---- entry points: float32, or other float types through float32 copies ---- */

int oc_linear_attention_forward(const oc_kargs *a)
{
    return run_float(a, linear_attention_f32, ((const oc_linear_attention_params *)a->p)->state_scratch);
}

int oc_rotary_forward(const oc_kargs *a) { return run_float(a, rotary_f32, 0); }
int oc_swiglu_forward(const oc_kargs *a) { return run_float(a, swiglu_f32, 0); }
int oc_causal_conv_forward(const oc_kargs *a) { return run_float(a, causal_conv_f32, 0); }
