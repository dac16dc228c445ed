/* norm.c: see norm.h.
 *
 * All statistics are two-pass in double: mean = sum x / n, then
 * var = sum (x - mean)^2 / n (population variance, as the ONNX
 * reference computes it). The per-element transform then runs in float
 * with the statistics folded into one multiply-add where possible. */
#include "norm.h"

#include <math.h>
#include <string.h>

#include "../threads.h"
#include "vmath.h"

/* Mean and population variance of `len` floats at stride 1. */
static void moments(const float *x, int64_t len, double *mean, double *var)
{
    double s = 0, q = 0;
    for (int64_t i = 0; i < len; i++)
        s += x[i];
    double m = len ? s / (double)len : 0;
    for (int64_t i = 0; i < len; i++) {
        double dv = x[i] - m;
        q += dv * dv;
    }
    *mean = m;
    *var = len ? q / (double)len : 0;
}

/* ---- BatchNormalization ----
 * Per channel c: y = x * k + b0 with k = scale / sqrt(var + eps),
 * b0 = B - mean * k (mean and var: the inputs in inference, the batch
 * statistics in training). bn_channel is the whole computation for one
 * channel (the reference runs it for every channel in turn; the threaded
 * kernel splits channels over threads in training mode, where a channel's
 * statistics span all images, and (image, channel) planes in inference
 * mode); the arithmetic is the same, so both give the same bits. */
static void bn_coeffs(const oc_batchnorm_params *p, double scale, double bias, double mean, double var, float *kf,
                      float *bf)
{
    double k = scale / sqrt(var + p->epsilon);
    *kf = (float)k;
    *bf = (float)(bias - mean * k);
}

OC_VEC_CLONES static void bn_plane_affine(const float *x, float *y, int64_t S, float k, float b)
{
    for (int64_t i = 0; i < S; i++)
        y[i] = x[i] * k + b;
}

OC_VEC_CLONES static void bn_plane_add(float *y, const float *r, int64_t S)
{
    for (int64_t i = 0; i < S; i++)
        y[i] = y[i] + r[i];
}

/* The common fused case in one pass, Relu with or without R: the same
 * float expressions as bn_plane_affine, bn_plane_add and oc_act_apply's
 * Relu, so the same bits (tests/ops/test_norm.c checks it). */
OC_VEC_CLONES static void bn_plane_relu(const float *x, const float *r, float *y, int64_t S, float k, float b)
{
    if (r)
        for (int64_t i = 0; i < S; i++) {
            float t = x[i] * k + b;
            t = t + r[i];
            y[i] = t > 0 ? t : 0.0f;
        }
    else
        for (int64_t i = 0; i < S; i++) {
            float t = x[i] * k + b;
            y[i] = t > 0 ? t : 0.0f;
        }
}

/* Input 5 of a FusedBatchNormalization with a residual, else NULL. */
static const float *bn_residual(const oc_batchnorm_params *p, const oc_kargs *a)
{
    return p->ep.has_residual && a->n_in > 5 && a->in[5] ? a->in[5]->data : NULL;
}

/* One plane of y (plane u of X, u = n C + c), then what
 * FusedBatchNormalization adds, while the plane is in cache: + R (the
 * residual's plane u) and the activation, the same float additions and
 * oc_act_apply the unfused Add and activation kernels run, so fused and
 * unfused give the same bits. */
static void bn_plane(const oc_batchnorm_params *p, const oc_kargs *a, int64_t u, float k, float b)
{
    int64_t S = p->spatial;
    const float *x = (const float *)a->in[0]->data + u * S, *r = bn_residual(p, a);
    float *y = (float *)a->out[0]->data + u * S;
    if (p->ep.act == OC_ACT_RELU) {
        bn_plane_relu(x, r ? r + u * S : NULL, y, S, k, b);
        return;
    }
    bn_plane_affine(x, y, S, k, b);
    if (r)
        bn_plane_add(y, r + u * S, S);
    if (p->ep.act)
        oc_act_apply(p->ep.act, p->ep.alpha, p->ep.beta, y, S);
}

/* Channel sums for training BatchNorm, in one fixed order that vectorizes:
 * 16 float lanes over chunks of at most 1024 elements, each chunk's lanes
 * then added into a double. Float lanes keep the loops vector-wide; the
 * double carry keeps planes of 10^5 elements accurate. The order is
 * written out, so every ISA clone computes the same bits. */
#define BN_LANES 16
#define BN_CHUNK 1024

/* The 16 lanes as one GCC vector: one zmm in the AVX-512 clone, two ymm
 * or four xmm in the others, the same per-lane arithmetic in each (the
 * plain lane loops were vectorized with permutes: bn_sum_grad ran at half
 * the speed of the memory it reads). */
typedef float bn_vec __attribute__((vector_size(BN_LANES * sizeof(float))));

#define BN_LOAD(v, p) memcpy(&(v), (p), sizeof(bn_vec)) /* unaligned */

/* *s += each lane in turn */
static inline void bn_lanes_add(double *s, const bn_vec *v)
{
    for (int l = 0; l < BN_LANES; l++)
        *s += (*v)[l];
}

/* sum x[i] */
OC_VEC_CLONES static double bn_sum(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t c0 = 0; c0 < n; c0 += BN_CHUNK) {
        int64_t m = n - c0 < BN_CHUNK ? n - c0 : BN_CHUNK, i = 0;
        const float *v = x + c0;
        bn_vec acc = {0};
        float tail = 0;
        for (; i + BN_LANES <= m; i += BN_LANES) {
            bn_vec e;
            BN_LOAD(e, v + i);
            acc += e;
        }
        for (; i < m; i++)
            tail += v[i];
        bn_lanes_add(&s, &acc);
        s += tail;
    }
    return s;
}

/* sum (x[i] - mean)^2 */
OC_VEC_CLONES static double bn_sum_sq(const float *x, int64_t n, float mean)
{
    double s = 0;
    for (int64_t c0 = 0; c0 < n; c0 += BN_CHUNK) {
        int64_t m = n - c0 < BN_CHUNK ? n - c0 : BN_CHUNK, i = 0;
        const float *v = x + c0;
        bn_vec acc = {0};
        float tail = 0;
        for (; i + BN_LANES <= m; i += BN_LANES) {
            bn_vec e;
            BN_LOAD(e, v + i);
            e -= mean;
            acc += e * e;
        }
        for (; i < m; i++)
            tail += (v[i] - mean) * (v[i] - mean);
        bn_lanes_add(&s, &acc);
        s += tail;
    }
    return s;
}

/* *sdy += sum dy[i], *sdyx += sum dy[i] (x[i] - mean) */
OC_VEC_CLONES static void bn_sum_grad(const float *dy, const float *x, int64_t n, float mean, double *sdy, double *sdyx)
{
    for (int64_t c0 = 0; c0 < n; c0 += BN_CHUNK) {
        int64_t m = n - c0 < BN_CHUNK ? n - c0 : BN_CHUNK, i = 0;
        const float *g = dy + c0, *v = x + c0;
        bn_vec a1 = {0}, a2 = {0};
        float t1 = 0, t2 = 0;
        for (; i + BN_LANES <= m; i += BN_LANES) {
            bn_vec gv, xv;
            BN_LOAD(gv, g + i);
            BN_LOAD(xv, v + i);
            a1 += gv;
            a2 += gv * (xv - mean);
        }
        for (; i < m; i++) {
            t1 += g[i];
            t2 += g[i] * (v[i] - mean);
        }
        bn_lanes_add(sdy, &a1);
        bn_lanes_add(sdyx, &a2);
        *sdy += t1;
        *sdyx += t2;
    }
}

/* bn_sum_sq and bn_sum_grad in one pass over x and dy: returns
 * sum (x[i] - mean)^2 as bn_sum_sq does and adds to *sdy and *sdyx as
 * bn_sum_grad does, every accumulator through the same operations in the
 * same order, so the same bits as the two passes (the backward needs the
 * batch variance and those sums, and both need only the mean). */
OC_VEC_CLONES static double bn_sum_sq_grad(const float *dy, const float *x, int64_t n, float mean, double *sdy,
                                           double *sdyx)
{
    double s = 0;
    for (int64_t c0 = 0; c0 < n; c0 += BN_CHUNK) {
        int64_t m = n - c0 < BN_CHUNK ? n - c0 : BN_CHUNK, i = 0;
        const float *g = dy + c0, *v = x + c0;
        bn_vec acc = {0}, a1 = {0}, a2 = {0};
        float tail = 0, t1 = 0, t2 = 0;
        for (; i + BN_LANES <= m; i += BN_LANES) {
            bn_vec gv, xv;
            BN_LOAD(gv, g + i);
            BN_LOAD(xv, v + i);
            bn_vec e = xv - mean;
            acc += e * e;
            a1 += gv;
            a2 += gv * (xv - mean);
        }
        for (; i < m; i++) {
            tail += (v[i] - mean) * (v[i] - mean);
            t1 += g[i];
            t2 += g[i] * (v[i] - mean);
        }
        bn_lanes_add(&s, &acc);
        s += tail;
        bn_lanes_add(sdy, &a1);
        bn_lanes_add(sdyx, &a2);
        *sdy += t1;
        *sdyx += t2;
    }
    return s;
}

/* dx[i] = k (dy[i] - ma - (x[i] - mean) mb) */
OC_VEC_CLONES static void bn_grad_plane(float *dx, const float *dy, const float *x, int64_t n, float k, float ma,
                                        float mean, float mb)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = k * (dy[i] - ma - (x[i] - mean) * mb);
}

static void bn_channel(const oc_batchnorm_params *p, const oc_kargs *a, int64_t c)
{
    const float *x = a->in[0]->data, *scale = a->in[1]->data, *bias = a->in[2]->data;
    const float *rmean = a->in[3]->data, *rvar = a->in[4]->data;
    int64_t C = p->c, S = p->spatial, N = p->n;
    double mean = rmean[c], var = rvar[c];
    if (p->training) {
        double s = 0, q = 0, cnt = (double)(N * S);
        for (int64_t n = 0; n < N; n++)
            s += bn_sum(x + (n * C + c) * S, S);
        mean = cnt > 0 ? s / cnt : 0;
        for (int64_t n = 0; n < N; n++)
            q += bn_sum_sq(x + (n * C + c) * S, S, (float)mean);
        var = cnt > 0 ? q / cnt : 0;
        double mo = p->momentum;
        if (a->n_out > 1 && a->out[1])
            ((float *)a->out[1]->data)[c] = (float)(rmean[c] * mo + mean * (1 - mo));
        if (a->n_out > 2 && a->out[2])
            ((float *)a->out[2]->data)[c] = (float)(rvar[c] * mo + var * (1 - mo));
        if (a->n_out > 3 && a->out[3])
            ((float *)a->out[3]->data)[c] = (float)mean;
        if (a->n_out > 4 && a->out[4])
            ((float *)a->out[4]->data)[c] = (float)var;
    }
    float kf, bf;
    bn_coeffs(p, scale[c], bias[c], mean, var, &kf, &bf);
    for (int64_t n = 0; n < N; n++)
        bn_plane(p, a, n * C + c, kf, bf);
}

int oc_batchnorm_ref(const oc_kargs *a)
{
    const oc_batchnorm_params *p = a->p;
    for (int64_t c = 0; c < p->c; c++)
        bn_channel(p, a, c);
    return 0;
}

typedef struct bn_job {
    const oc_batchnorm_params *p;
    const oc_kargs *a;
} bn_job;

static void bn_channels_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bn_job *j = ctx;
    (void)tid;
    for (int64_t c = b; c < e; c++)
        bn_channel(j->p, j->a, c);
}

/* Inference: units are (image, channel) planes. */
static void bn_planes_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bn_job *j = ctx;
    const oc_batchnorm_params *p = j->p;
    const oc_kargs *a = j->a;
    const float *scale = a->in[1]->data, *bias = a->in[2]->data;
    const float *rmean = a->in[3]->data, *rvar = a->in[4]->data;
    (void)tid;
    for (int64_t u = b; u < e; u++) {
        int64_t c = u % p->c;
        float kf, bf;
        bn_coeffs(p, scale[c], bias[c], rmean[c], rvar[c], &kf, &bf);
        bn_plane(p, a, u, kf, bf);
    }
}

/* ---- synchronized BatchNorm ----
 * With a collective in the kernel arguments (runtime/plan.h: a
 * data-parallel run with --sync-bn), training statistics span the batches
 * of every process: the same two passes as bn_channel (sum, then the sum of
 * squared deviations from the global mean), each followed by one allreduce
 * of the per-channel sums (the first also carries the element count), then
 * the same per-channel transform. Channels go in blocks of BN_SYNC_BLOCK so
 * the sums live on the stack. With one process every number is
 * bn_channel's; with several the order of the cross-process additions
 * differs from one process holding the whole batch (rounding only). */
#define BN_SYNC_BLOCK 256

typedef struct bn_sync_job {
    const oc_batchnorm_params *p;
    const oc_kargs *a;
    int64_t c0;
    double *sum;         /* [block] out: per-channel sums */
    int xin;             /* X is input xin (forward 0, backward 1) */
    const double *mean;  /* [block] in (the sum-of-squares and apply passes) */
    int squares;         /* bn_sync_sum_task: sums of squared deviations */
    const double *var;   /* [block] in (the apply passes) */
    const double *gsum;  /* backward apply: [2 * block] global sdy, sdyx */
    double count;        /* global elements per channel */
} bn_sync_job;

/* Per channel of the block: sum x (squares 0) or sum (x - mean)^2 (squares 1). */
static void bn_sync_sum_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bn_sync_job *j = ctx;
    const float *x = j->a->in[j->xin]->data;
    int64_t C = j->p->c, S = j->p->spatial;
    (void)tid;
    for (int64_t k = b; k < e; k++) {
        int64_t c = j->c0 + k;
        double s = 0;
        for (int64_t n = 0; n < j->p->n; n++)
            s += j->squares ? bn_sum_sq(x + (n * C + c) * S, S, (float)j->mean[k]) : bn_sum(x + (n * C + c) * S, S);
        j->sum[k] = s;
    }
}

/* forward: running statistics, saved statistics and y for the block */
static void bn_sync_apply_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bn_sync_job *j = ctx;
    const oc_kargs *a = j->a;
    const oc_batchnorm_params *p = j->p;
    const float *scale = a->in[1]->data, *bias = a->in[2]->data;
    const float *rmean = a->in[3]->data, *rvar = a->in[4]->data;
    int64_t C = p->c;
    double mo = p->momentum;
    (void)tid;
    for (int64_t k = b; k < e; k++) {
        int64_t c = j->c0 + k;
        double mean = j->mean[k], var = j->var[k];
        if (a->n_out > 1 && a->out[1])
            ((float *)a->out[1]->data)[c] = (float)(rmean[c] * mo + mean * (1 - mo));
        if (a->n_out > 2 && a->out[2])
            ((float *)a->out[2]->data)[c] = (float)(rvar[c] * mo + var * (1 - mo));
        if (a->n_out > 3 && a->out[3])
            ((float *)a->out[3]->data)[c] = (float)mean;
        if (a->n_out > 4 && a->out[4])
            ((float *)a->out[4]->data)[c] = (float)var;
        float kf, bf;
        bn_coeffs(p, scale[c], bias[c], mean, var, &kf, &bf);
        for (int64_t n = 0; n < p->n; n++)
            bn_plane(p, a, n * C + c, kf, bf);
    }
}

/* The global mean and population variance of channels [c0, c0 + nb) of
 * X into mean[], var[]: two allreduces. *count gets the global
 * elements per channel. */
static int bn_sync_moments(const oc_batchnorm_params *p, const oc_kargs *a, int backward, int64_t c0, int64_t nb,
                           double *mean, double *var, double *count)
{
    double buf[BN_SYNC_BLOCK + 1];
    bn_sync_job j = {.p = p, .a = a, .c0 = c0, .sum = buf, .xin = backward ? 1 : 0, .mean = mean};
    int64_t per = p->n * p->spatial, grain = 65536 / (per > 0 ? per : 1);
    grain = grain > 0 ? grain : 1;
    oc_parallel_for(nb, grain, a->threads, bn_sync_sum_task, &j);
    buf[nb] = (double)per;
    if (a->coll->allreduce(a->coll->ctx, buf, (size_t)nb + 1))
        return oc_fail(a->d, "BatchNormalization%s (synchronized, channels %lld..%lld): the allreduce of the batch sums "
                       "failed", backward ? "Grad" : "", (long long)c0, (long long)(c0 + nb - 1));
    double cnt = buf[nb];
    for (int64_t k = 0; k < nb; k++)
        mean[k] = cnt > 0 ? buf[k] / cnt : 0;
    j.squares = 1;
    oc_parallel_for(nb, grain, a->threads, bn_sync_sum_task, &j);
    if (a->coll->allreduce(a->coll->ctx, buf, (size_t)nb))
        return oc_fail(a->d, "BatchNormalization%s (synchronized): the allreduce of the squared deviations failed",
                       backward ? "Grad" : "");
    for (int64_t k = 0; k < nb; k++)
        var[k] = cnt > 0 ? buf[k] / cnt : 0;
    *count = cnt;
    return 0;
}

static int bn_forward_sync(const oc_batchnorm_params *p, const oc_kargs *a)
{
    for (int64_t c0 = 0; c0 < p->c; c0 += BN_SYNC_BLOCK) {
        int64_t nb = p->c - c0 < BN_SYNC_BLOCK ? p->c - c0 : BN_SYNC_BLOCK;
        double mean[BN_SYNC_BLOCK], var[BN_SYNC_BLOCK], cnt;
        if (bn_sync_moments(p, a, 0, c0, nb, mean, var, &cnt))
            return -1;
        bn_sync_job j = {.p = p, .a = a, .c0 = c0, .mean = mean, .var = var};
        int64_t per = p->n * p->spatial, grain = 65536 / (per > 0 ? per : 1);
        oc_parallel_for(nb, grain > 0 ? grain : 1, a->threads, bn_sync_apply_task, &j);
    }
    return 0;
}

int oc_batchnorm_forward(const oc_kargs *a)
{
    const oc_batchnorm_params *p = a->p;
    bn_job j = {p, a};
    int64_t S = p->spatial > 0 ? p->spatial : 1;
    if (p->training && a->coll)
        return bn_forward_sync(p, a);
    if (p->training) {
        int64_t grain = 65536 / (S * (p->n > 0 ? p->n : 1));
        oc_parallel_for(p->c, grain > 0 ? grain : 1, a->threads, bn_channels_task, &j);
    } else {
        int64_t grain = 65536 / S;
        oc_parallel_for(p->n * p->c, grain > 0 ? grain : 1, a->threads, bn_planes_task, &j);
    }
    return 0;
}

/* ---- InstanceNormalization / GroupNormalization ---- */

int oc_groupnorm_forward(const oc_kargs *a)
{
    const oc_groupnorm_params *p = a->p;
    const float *x = a->in[0]->data, *scale = a->in[1]->data, *bias = a->in[2]->data;
    float *y = a->out[0]->data;
    int64_t cpg = p->c / p->groups, len = cpg * p->spatial;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t g = 0; g < p->groups; g++) {
            const float *xs = x + (n * p->c + g * cpg) * p->spatial; /* a group is contiguous */
            float *ys = y + (n * p->c + g * cpg) * p->spatial;
            double mean, var;
            moments(xs, len, &mean, &var);
            double inv = 1.0 / sqrt(var + p->epsilon);
            for (int64_t cc = 0; cc < cpg; cc++) {
                int64_t ch = g * cpg + cc, si = p->per_group ? g : ch;
                double k = scale[si] * inv;
                float kf = (float)k, bf = (float)(bias[si] - mean * k);
                const float *xr = xs + cc * p->spatial;
                float *yr = ys + cc * p->spatial;
                for (int64_t i = 0; i < p->spatial; i++)
                    yr[i] = xr[i] * kf + bf;
            }
        }
    return 0;
}

/* ---- LayerNormalization / RMSNormalization ---- */

int oc_layernorm_forward(const oc_kargs *a)
{
    const oc_layernorm_params *p = a->p;
    const float *x = a->in[0]->data, *scale = a->in[1]->data;
    const float *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    float *y = a->out[0]->data;
    float *mean_out = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    float *inv_out = a->n_out > 2 && a->out[2] ? a->out[2]->data : NULL;
    int64_t in = p->inner;
    for (int64_t o = 0; o < p->outer; o++) {
        const float *xs = x + o * in;
        float *ys = y + o * in;
        double mean = 0, var;
        if (p->rms) {
            double q = 0;
            for (int64_t i = 0; i < in; i++)
                q += (double)xs[i] * xs[i];
            var = in ? q / (double)in : 0; /* mean square, centred at 0 */
        } else {
            moments(xs, in, &mean, &var);
        }
        double inv = 1.0 / sqrt(var + p->epsilon);
        if (mean_out)
            mean_out[o] = (float)mean;
        if (inv_out)
            inv_out[o] = (float)inv;
        if (p->full_scale && (!bias || p->full_bias)) {
            for (int64_t i = 0; i < in; i++) {
                float v = (float)((xs[i] - mean) * inv) * scale[i];
                ys[i] = bias ? v + bias[i] : v;
            }
            continue;
        }
        /* broadcast scale / bias: odometer over the normalized dims */
        int64_t idx[OC_MAX_RANK] = {0}, so = 0, bo = 0;
        for (int64_t i = 0; i < in; i++) {
            float v = (float)((xs[i] - mean) * inv) * scale[so];
            ys[i] = bias ? v + bias[bo] : v;
            for (int d = p->nrank - 1; d >= 0; d--) {
                idx[d]++;
                so += p->sstride[d];
                bo += p->bstride[d];
                if (idx[d] < p->ndims[d])
                    break;
                so -= p->sstride[d] * idx[d];
                bo -= p->bstride[d] * idx[d];
                idx[d] = 0;
            }
        }
    }
    return 0;
}

/* ---- LpNormalization ---- */

int oc_lpnorm_forward(const oc_kargs *a)
{
    const oc_lpnorm_params *p = a->p;
    const float *x = a->in[0]->data;
    float *y = a->out[0]->data;
    int64_t n = p->n, in = p->inner;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t j = 0; j < in; j++) {
            const float *xs = x + o * n * in + j;
            float *ys = y + o * n * in + j;
            double s = 0;
            for (int64_t i = 0; i < n; i++)
                s += p->p == 1 ? fabs((double)xs[i * in]) : (double)xs[i * in] * xs[i * in];
            double norm = p->p == 1 ? s : sqrt(s);
            for (int64_t i = 0; i < n; i++) /* an all-zero vector stays zero (ONNX reference) */
                ys[i * in] = norm > 0 ? (float)(xs[i * in] / norm) : 0.0f;
        }
    return 0;
}

/* ---- LRN ---- */

int oc_lrn_forward(const oc_kargs *a)
{
    const oc_lrn_params *p = a->p;
    const float *x = a->in[0]->data;
    float *y = a->out[0]->data;
    int64_t C = p->c, S = p->spatial;
    int64_t lo_off = (p->size - 1) / 2, hi_off = p->size - 1 - lo_off; /* floor / ceil of (size-1)/2 */
    double k = (double)p->alpha / (double)p->size;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t c0 = c - lo_off < 0 ? 0 : c - lo_off, c1 = c + hi_off >= C ? C - 1 : c + hi_off;
            const float *xc = x + (n * C + c) * S;
            float *yc = y + (n * C + c) * S;
            for (int64_t i = 0; i < S; i++) {
                double sq = 0;
                for (int64_t cc = c0; cc <= c1; cc++) {
                    double v = x[(n * C + cc) * S + i];
                    sq += v * v;
                }
                yc[i] = (float)(xc[i] / pow(p->bias + k * sq, p->beta));
            }
        }
    return 0;
}

/* ---- MeanVarianceNormalization ---- */

/* Calls the body for every element of X in memory order with g = the
 * index of its group (the row-major index over the kept dims). */
#define FOR_EACH_GROUPED(p, body)                                                                           \
    do {                                                                                                    \
        int64_t gstr_[OC_MAX_RANK], idx_[OC_MAX_RANK] = {0}, g = 0, s_ = 1, n_ = 1;                         \
        for (int d_ = (p)->rank - 1; d_ >= 0; d_--) {                                                       \
            int red_ = ((p)->mask >> d_) & 1;                                                               \
            gstr_[d_] = red_ ? 0 : s_;                                                                      \
            if (!red_)                                                                                      \
                s_ *= (p)->dims[d_];                                                                        \
            n_ *= (p)->dims[d_];                                                                            \
        }                                                                                                   \
        for (int64_t i = 0; i < n_; i++) {                                                                  \
            body;                                                                                           \
            for (int d_ = (p)->rank - 1; d_ >= 0; d_--) {                                                   \
                idx_[d_]++;                                                                                 \
                g += gstr_[d_];                                                                             \
                if (idx_[d_] < (p)->dims[d_])                                                               \
                    break;                                                                                  \
                g -= gstr_[d_] * idx_[d_];                                                                  \
                idx_[d_] = 0;                                                                               \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

int oc_mvn_forward(const oc_kargs *a)
{
    const oc_mvn_params *p = a->p;
    const float *x = a->in[0]->data;
    float *y = a->out[0]->data;
    double *mean = a->scratch, *sd = mean + p->groups;
    int64_t cnt = p->groups ? a->in[0]->numel / p->groups : 0;
    memset(mean, 0, sizeof(double) * (size_t)p->groups * 2);
    FOR_EACH_GROUPED(p, mean[g] += x[i]);
    for (int64_t g = 0; g < p->groups; g++)
        mean[g] = cnt ? mean[g] / (double)cnt : 0;
    FOR_EACH_GROUPED(p, sd[g] += (x[i] - mean[g]) * (x[i] - mean[g]));
    for (int64_t g = 0; g < p->groups; g++)
        sd[g] = sqrt(cnt ? sd[g] / (double)cnt : 0) + 1e-9;
    FOR_EACH_GROUPED(p, y[i] = (float)((x[i] - mean[g]) / sd[g]));
    return 0;
}

/* ---- backward ---- */

/* BatchNormGrad(dY, X, scale, mean, var) -> dX, dScale, dB; X, dY
 * [N, C, spatial...], the rest [C]. Per channel, over its M = N * spatial
 * elements, with xhat = (x - mu) * inv, inv = 1 / sqrt(sigma2 + eps):
 *   dScale = sum dy * xhat,  dB = sum dy
 *   inference (mu, sigma2 = the running mean, var inputs, constants):
 *     dX = dy * scale * inv
 *   training (mu, sigma2 = the batch mean and population variance,
 *   recomputed from X, which depend on every x of the channel):
 *     dX = scale * inv * (dy - dB / M - xhat * dScale / M)
 * Sums run in double. */
static void bn_backward_channels(void *ctx, int64_t c0, int64_t c1, int tid)
{
    const bn_job *j = ctx;
    const oc_batchnorm_params *p = j->p;
    const oc_kargs *a = j->a;
    (void)tid;
    const float *dy = a->in[0]->data, *x = a->in[1]->data, *scale = a->in[2]->data;
    const float *rmean = a->in[3]->data, *rvar = a->in[4]->data;
    float *dx = a->out[0] ? a->out[0]->data : NULL;
    float *dscale = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    float *dbias = a->n_out > 2 && a->out[2] ? a->out[2]->data : NULL;
    int64_t C = p->c, S = p->spatial, N = p->n;
    double M = (double)(N * S);
    for (int64_t c = c0; c < c1; c++) {
        double mean = rmean[c], var = rvar[c], sdy = 0, sdyx = 0;
        if (p->training) {
            /* the batch mean, then its variance and the gradient sums in one pass */
            double s = 0, q = 0;
            for (int64_t n = 0; n < N; n++)
                s += bn_sum(x + (n * C + c) * S, S);
            mean = M > 0 ? s / M : 0;
            for (int64_t n = 0; n < N; n++)
                q += bn_sum_sq_grad(dy + (n * C + c) * S, x + (n * C + c) * S, S, (float)mean, &sdy, &sdyx);
            var = M > 0 ? q / M : 0;
        } else {
            for (int64_t n = 0; n < N; n++)
                bn_sum_grad(dy + (n * C + c) * S, x + (n * C + c) * S, S, (float)mean, &sdy, &sdyx);
        }
        double inv = 1.0 / sqrt(var + p->epsilon);
        sdyx *= inv;
        if (dscale)
            dscale[c] = (float)sdyx;
        if (dbias)
            dbias[c] = (float)sdy;
        if (!dx)
            continue;
        double k = scale[c] * inv;
        double ma = p->training && M > 0 ? sdy / M : 0, mb = p->training && M > 0 ? sdyx / M : 0;
        for (int64_t n = 0; n < N; n++)
            bn_grad_plane(dx + (n * C + c) * S, dy + (n * C + c) * S, x + (n * C + c) * S, S, (float)k, (float)ma,
                          (float)mean, (float)(inv * mb));
    }
}

/* Synchronized backward: the global moments (two allreduces, as the
 * forward), then the local sums of dy and dy * (x - mean) per channel.
 * dScale and dB are written from the local sums (the gradient allreduce
 * of the training step sums them over processes, as for any parameter);
 * dX needs the global ones (a third allreduce) and the global count. */
static void bn_sync_grad_sums_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bn_sync_job *j = ctx;
    const float *dy = j->a->in[0]->data, *x = j->a->in[1]->data;
    int64_t C = j->p->c, S = j->p->spatial;
    (void)tid;
    for (int64_t k = b; k < e; k++) {
        int64_t c = j->c0 + k;
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < j->p->n; n++)
            bn_sum_grad(dy + (n * C + c) * S, x + (n * C + c) * S, S, (float)j->mean[k], &sdy, &sdyx);
        j->sum[k] = sdy;
        j->sum[BN_SYNC_BLOCK + k] = sdyx;
    }
}

static void bn_sync_grad_apply_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const bn_sync_job *j = ctx;
    const oc_kargs *a = j->a;
    const oc_batchnorm_params *p = j->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data, *scale = a->in[2]->data;
    float *dx = a->out[0] ? a->out[0]->data : NULL;
    float *dscale = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    float *dbias = a->n_out > 2 && a->out[2] ? a->out[2]->data : NULL;
    int64_t C = p->c, S = p->spatial;
    double M = j->count;
    (void)tid;
    for (int64_t k = b; k < e; k++) {
        int64_t c = j->c0 + k;
        double mean = j->mean[k], inv = 1.0 / sqrt(j->var[k] + p->epsilon);
        if (dscale)
            dscale[c] = (float)(j->sum[BN_SYNC_BLOCK + k] * inv);
        if (dbias)
            dbias[c] = (float)j->sum[k];
        if (!dx)
            continue;
        double k_ = scale[c] * inv, gsdy = j->gsum[k], gsdyx = j->gsum[BN_SYNC_BLOCK + k] * inv;
        double ma = M > 0 ? gsdy / M : 0, mb = M > 0 ? gsdyx / M : 0;
        for (int64_t n = 0; n < p->n; n++)
            bn_grad_plane(dx + (n * C + c) * S, dy + (n * C + c) * S, x + (n * C + c) * S, S, (float)k_, (float)ma,
                          (float)mean, (float)(inv * mb));
    }
}

static int bn_backward_sync(const oc_batchnorm_params *p, const oc_kargs *a)
{
    for (int64_t c0 = 0; c0 < p->c; c0 += BN_SYNC_BLOCK) {
        int64_t nb = p->c - c0 < BN_SYNC_BLOCK ? p->c - c0 : BN_SYNC_BLOCK;
        double mean[BN_SYNC_BLOCK], var[BN_SYNC_BLOCK], cnt;
        double local[2 * BN_SYNC_BLOCK], global[2 * BN_SYNC_BLOCK];
        if (bn_sync_moments(p, a, 1, c0, nb, mean, var, &cnt))
            return -1;
        bn_sync_job j = {.p = p, .a = a, .c0 = c0, .sum = local, .mean = mean, .var = var, .gsum = global,
                         .count = cnt};
        int64_t per = p->n * p->spatial, grain = 65536 / (per > 0 ? per : 1);
        grain = grain > 0 ? grain : 1;
        oc_parallel_for(nb, grain, a->threads, bn_sync_grad_sums_task, &j);
        memcpy(global, local, sizeof(double) * (size_t)nb);
        memcpy(global + nb, local + BN_SYNC_BLOCK, sizeof(double) * (size_t)nb);
        if (a->coll->allreduce(a->coll->ctx, global, 2 * (size_t)nb))
            return oc_fail(a->d, "BatchNormalizationGrad (synchronized, channels %lld..%lld): the allreduce of the "
                           "gradient sums failed", (long long)c0, (long long)(c0 + nb - 1));
        memmove(global + BN_SYNC_BLOCK, global + nb, sizeof(double) * (size_t)nb);
        oc_parallel_for(nb, grain, a->threads, bn_sync_grad_apply_task, &j);
    }
    return 0;
}

int oc_batchnorm_backward(const oc_kargs *a)
{
    const oc_batchnorm_params *p = a->p;
    bn_job j = {p, a};
    if (p->training && a->coll)
        return bn_backward_sync(p, a);
    int64_t per = p->spatial * p->n, grain = 65536 / (per > 0 ? per : 1);
    oc_parallel_for(p->c, grain > 0 ? grain : 1, a->threads, bn_backward_channels, &j);
    return 0;
}

/* Element offset of a broadcast parameter for flat index i over the
 * normalized dims (row-major), given its strides there. */
static int64_t norm_param_offset(const oc_layernorm_params *p, const int64_t *str, int64_t i)
{
    int64_t off = 0;
    for (int d = p->nrank - 1; d >= 0; d--) {
        off += (i % p->ndims[d]) * str[d];
        i /= p->ndims[d];
    }
    return off;
}

/* LayerNormGrad(dY, X, scale[, bias]) -> dX, dScale[, dBias] over the
 * [outer, inner] view of LayerNormalization. Per row of D = inner elements,
 * mean and inv = 1 / sqrt(var + eps) recomputed from X, xhat = (x - mean) inv,
 * g = dy * scale:
 *   dX = inv * (g - mean(g) - xhat * mean(g * xhat))
 *   dScale += dy * xhat, dBias += dy   (summed over the rows, and over the
 *   normalized dims where scale / bias broadcast)
 * Scratch: doubles accumulating dScale and dBias (inner each). */
int oc_layernorm_backward(const oc_kargs *a)
{
    const oc_layernorm_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data, *scale = a->in[2]->data;
    float *dx = a->out[0] ? a->out[0]->data : NULL;
    float *dscale = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
    float *dbias = a->n_out > 2 && a->out[2] ? a->out[2]->data : NULL;
    int64_t D = p->inner;
    int64_t ns = dscale ? a->out[1]->numel : 0, nb = dbias ? a->out[2]->numel : 0;
    double *acc_s = a->scratch, *acc_b = acc_s + D;
    memset(acc_s, 0, sizeof(double) * (size_t)D * 2);
    for (int64_t o = 0; o < p->outer; o++) {
        const float *xs = x + o * D, *gs = dy + o * D;
        double mean, var;
        moments(xs, D, &mean, &var);
        double inv = 1.0 / sqrt(var + p->epsilon), sg = 0, sgx = 0;
        for (int64_t i = 0; i < D; i++) {
            int64_t so = p->full_scale ? i : norm_param_offset(p, p->sstride, i);
            double xh = (xs[i] - mean) * inv, g = (double)gs[i] * scale[so];
            sg += g;
            sgx += g * xh;
            acc_s[so] += gs[i] * xh;
            if (dbias)
                acc_b[p->full_bias ? i : norm_param_offset(p, p->bstride, i)] += gs[i];
        }
        if (!dx)
            continue;
        double mg = D ? sg / (double)D : 0, mgx = D ? sgx / (double)D : 0;
        for (int64_t i = 0; i < D; i++) {
            int64_t so = p->full_scale ? i : norm_param_offset(p, p->sstride, i);
            double xh = (xs[i] - mean) * inv;
            dx[o * D + i] = (float)(inv * ((double)gs[i] * scale[so] - mg - xh * mgx));
        }
    }
    for (int64_t i = 0; i < ns; i++)
        dscale[i] = (float)acc_s[i];
    for (int64_t i = 0; i < nb; i++)
        dbias[i] = (float)acc_b[i];
    return 0;
}
