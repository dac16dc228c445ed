/* loss.c: see loss.h.
 *
 * NegativeLogLikelihoodLoss (ONNX spec): for each sample position (i, j)
 * with label t = labels[i, j],
 *   loss[i, j] = -scores[i, t, j] * w[t]      (w = 1 without weights)
 * and 0 with weight 0 where t == ignore_index. Reduction "sum" adds the
 * losses, "mean" divides that sum by the sum of the weights used (the
 * count of non-ignored positions without weights).
 * SoftmaxCrossEntropyLoss is the same applied to
 *   log_prob[i, :, j] = x[i, :, j] - max - log(sum_c exp(x[i, c, j] - max)),
 * the log-softmax over the class axis. All sums are accumulated in double. */
#include "loss.h"

#include <math.h>

static double load(const void *p, int dt, int64_t i)
{
    return dt == OC_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static void store(void *p, int dt, int64_t i, double v)
{
    if (dt == OC_DOUBLE)
        ((double *)p)[i] = v;
    else
        ((float *)p)[i] = (float)v;
}

int oc_loss_forward(const oc_kargs *a)
{
    const oc_loss_params *p = a->p;
    const oc_tensor *x = a->in[0], *lab = a->in[1];
    const oc_tensor *w = a->n_in > 2 ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    oc_tensor *lp = a->n_out > 1 ? a->out[1] : NULL;
    int64_t n = p->n, c = p->c, d = p->d;
    double total = 0, wsum = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < d; j++) {
            /* element (i, k, j) of the scores is at base + k * d */
            int64_t base = i * c * d + j;
            double lse = 0; /* log-sum-exp shift: log_prob = x - lse */
            if (p->softmax) {
                double mx = -INFINITY, s = 0;
                for (int64_t k = 0; k < c; k++) {
                    double v = load(x->data, p->dtype, base + k * d);
                    mx = v > mx ? v : mx;
                }
                for (int64_t k = 0; k < c; k++)
                    s += exp(load(x->data, p->dtype, base + k * d) - mx);
                lse = mx + log(s);
                if (lp)
                    for (int64_t k = 0; k < c; k++)
                        store(lp->data, p->dtype, base + k * d, load(x->data, p->dtype, base + k * d) - lse);
            }
            int64_t li = i * d + j;
            int64_t t = p->label_dtype == OC_INT32 ? ((const int32_t *)lab->data)[li]
                                                    : ((const int64_t *)lab->data)[li];
            double loss = 0, wt = 0;
            if (!(p->has_ignore && t == p->ignore_index)) {
                if (t < 0 || t >= c)
                    return oc_fail(a->d, "label %lld at position %lld is outside [0, %lld)", (long long)t,
                                   (long long)li, (long long)c);
                wt = w ? load(w->data, p->dtype, t) : 1.0;
                loss = -(load(x->data, p->dtype, base + t * d) - lse) * wt;
            }
            if (p->reduction == OC_LOSS_NONE)
                store(y->data, p->dtype, li, loss);
            total += loss;
            wsum += wt;
        }
    }
    if (p->reduction == OC_LOSS_SUM)
        store(y->data, p->dtype, 0, total);
    else if (p->reduction == OC_LOSS_MEAN)
        store(y->data, p->dtype, 0, total / wsum);
    return 0;
}

/* d loss / d scores for both losses. With g = dLoss for the (n, d) entry
 * times its class weight, divided by the sum of weights of counted entries
 * for reduction "mean":
 *   SoftmaxCrossEntropyLoss: dx[n,c,d] = g * (softmax(x)[n,c,d] - [c == label])
 *   NegativeLogLikelihoodLoss: dx[n,label,d] = -g, 0 elsewhere.
 * Ignored entries (ignore_index) get 0. Inputs: dLoss, scores, labels,
 * optional weights; output: dScores shaped like the scores. */
int oc_loss_backward(const oc_kargs *a)
{
    const oc_loss_params *p = a->p;
    const oc_tensor *dl = a->in[0], *x = a->in[1], *lab = a->in[2], *w = a->n_in > 3 ? a->in[3] : NULL;
    oc_tensor *dx = a->out[0];
    int64_t n = p->n, c = p->c, dd = p->d;
    double denom = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dd; j++) {
            int64_t l = p->label_dtype == OC_INT64 ? ((const int64_t *)lab->data)[i * dd + j]
                                                  : ((const int32_t *)lab->data)[i * dd + j];
            if (p->has_ignore && l == p->ignore_index)
                continue;
            if (l < 0 || l >= c)
                return oc_fail(a->d, "label %lld at [%lld] is outside [0, %lld)", (long long)l, (long long)(i * dd + j),
                               (long long)c);
            denom += w ? load(w->data, p->dtype, l) : 1.0;
        }
    if (p->reduction != OC_LOSS_MEAN || denom == 0)
        denom = 1; /* sum and none scale by 1; an all-ignored mean has zero gradient anyway */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dd; j++) {
            int64_t l = p->label_dtype == OC_INT64 ? ((const int64_t *)lab->data)[i * dd + j]
                                                  : ((const int32_t *)lab->data)[i * dd + j];
            int ignored = p->has_ignore && l == p->ignore_index;
            double g = 0;
            if (!ignored) {
                double up = p->reduction == OC_LOSS_NONE ? load(dl->data, p->dtype, i * dd + j) : load(dl->data, p->dtype, 0);
                g = up * (w ? load(w->data, p->dtype, l) : 1.0) / denom;
            }
            double mx = -INFINITY, sum = 0;
            if (p->softmax) {
                for (int64_t k = 0; k < c; k++) {
                    double v = load(x->data, p->dtype, (i * c + k) * dd + j);
                    if (v > mx)
                        mx = v;
                }
                for (int64_t k = 0; k < c; k++)
                    sum += exp(load(x->data, p->dtype, (i * c + k) * dd + j) - mx);
            }
            for (int64_t k = 0; k < c; k++) {
                int64_t idx = (i * c + k) * dd + j;
                double v;
                if (ignored)
                    v = 0;
                else if (p->softmax)
                    v = g * (exp(load(x->data, p->dtype, idx) - mx) / sum - (k == l));
                else
                    v = k == l ? -g : 0;
                store(dx->data, p->dtype, idx, v);
            }
        }
    return 0;
}

/* ---- CrossEntropyLoss (onnxc): torch.nn.functional.cross_entropy ----
 * With lp = log_softmax(x) over the class axis, label y, eps = smoothing,
 * class weights w (1 without), per position (i, j):
 *   l[i,j] = (1 - eps) * w[y] * -lp[y] + eps / C * sum_k w[k] * -lp[k]
 * and 0 where y == ignore_index. "mean" divides the sum by sum of w[y]
 * over the counted positions (torch's weighted mean, also for the
 * smoothing term). Gradient, with p = softmax(x), s = dLoss scale:
 *   dx[k] = s * ((1 - eps) * w[y] * (p[k] - [k == y])
 *                + eps / C * (W * p[k] - w[k])),   W = sum_k w[k]. */
static int64_t xent_label(const oc_xent_params *p, const void *lab, int64_t i)
{
    return p->label_dtype == OC_INT32 ? ((const int32_t *)lab)[i] : ((const int64_t *)lab)[i];
}

/* log-sum-exp over the classes of position (i, j), scores at base + k*d */
static double xent_lse(const oc_xent_params *p, const void *x, int64_t base)
{
    double mx = -INFINITY, s = 0;
    for (int64_t k = 0; k < p->c; k++) {
        double v = load(x, p->dtype, base + k * p->d);
        mx = v > mx ? v : mx;
    }
    for (int64_t k = 0; k < p->c; k++)
        s += exp(load(x, p->dtype, base + k * p->d) - mx);
    return mx + log(s);
}

/* sum of w[y] over counted positions (the "mean" denominator); -1 on a bad label */
static double xent_denom(const oc_kargs *a, const oc_xent_params *p, const oc_tensor *lab, const oc_tensor *w)
{
    double den = 0;
    for (int64_t li = 0; li < p->n * p->d; li++) {
        int64_t t = xent_label(p, lab->data, li);
        if (p->has_ignore && t == p->ignore_index)
            continue;
        if (t < 0 || t >= p->c) {
            oc_fail(a->d, "label %lld at position %lld is outside [0, %lld)", (long long)t, (long long)li,
                    (long long)p->c);
            return -1;
        }
        den += w ? load(w->data, p->dtype, t) : 1.0;
    }
    return den;
}

int oc_xent_forward(const oc_kargs *a)
{
    const oc_xent_params *p = a->p;
    const oc_tensor *x = a->in[0], *lab = a->in[1], *w = a->n_in > 2 ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    double den = xent_denom(a, p, lab, w), total = 0, eps = p->smoothing;
    if (den < 0)
        return -1;
    for (int64_t i = 0; i < p->n; i++)
        for (int64_t j = 0; j < p->d; j++) {
            int64_t base = i * p->c * p->d + j, li = i * p->d + j, t = xent_label(p, lab->data, li);
            double l = 0;
            if (!(p->has_ignore && t == p->ignore_index)) {
                double lse = xent_lse(p, x->data, base), smooth = 0;
                for (int64_t k = 0; k < p->c; k++)
                    smooth -= (w ? load(w->data, p->dtype, k) : 1.0) * (load(x->data, p->dtype, base + k * p->d) - lse);
                double wy = w ? load(w->data, p->dtype, t) : 1.0;
                l = (1 - eps) * wy * -(load(x->data, p->dtype, base + t * p->d) - lse) + eps / (double)p->c * smooth;
            }
            if (p->reduction == OC_LOSS_NONE)
                store(y->data, p->dtype, li, l);
            total += l;
        }
    if (p->reduction == OC_LOSS_SUM)
        store(y->data, p->dtype, 0, total);
    else if (p->reduction == OC_LOSS_MEAN)
        store(y->data, p->dtype, 0, total / den); /* 0/0 = nan when all ignored, as torch */
    return 0;
}

int oc_xent_backward(const oc_kargs *a)
{
    const oc_xent_params *p = a->p;
    const oc_tensor *dl = a->in[0], *x = a->in[1], *lab = a->in[2], *w = a->n_in > 3 ? a->in[3] : NULL;
    oc_tensor *dx = a->out[0];
    double den = xent_denom(a, p, lab, w), eps = p->smoothing, wall = 0;
    if (den < 0)
        return -1;
    if (p->reduction != OC_LOSS_MEAN || den == 0)
        den = 1;
    for (int64_t k = 0; k < p->c; k++)
        wall += w ? load(w->data, p->dtype, k) : 1.0;
    for (int64_t i = 0; i < p->n; i++)
        for (int64_t j = 0; j < p->d; j++) {
            int64_t base = i * p->c * p->d + j, li = i * p->d + j, t = xent_label(p, lab->data, li);
            int ignored = p->has_ignore && t == p->ignore_index;
            double s = 0, lse = 0, wy = 0;
            if (!ignored) {
                s = (p->reduction == OC_LOSS_NONE ? load(dl->data, p->dtype, li) : load(dl->data, p->dtype, 0)) / den;
                lse = xent_lse(p, x->data, base);
                wy = w ? load(w->data, p->dtype, t) : 1.0;
            }
            for (int64_t k = 0; k < p->c; k++) {
                int64_t idx = base + k * p->d;
                double v = 0;
                if (!ignored) {
                    double pk = exp(load(x->data, p->dtype, idx) - lse), wk = w ? load(w->data, p->dtype, k) : 1.0;
                    v = s * ((1 - eps) * wy * (pk - (k == t)) + eps / (double)p->c * (wall * pk - wk));
                }
                store(dx->data, p->dtype, idx, v);
            }
        }
    return 0;
}

/* ---- elementwise regression / binary losses (torch.nn.functional) ----
 * r = x - t (prediction minus target), per element:
 *   mse:       r^2                                   d/dx = 2 r
 *   l1:        |r|                                   d/dx = sign(r)  (0 at 0)
 *   huber:     |r| < D ? r^2 / 2 : D (|r| - D / 2)   d/dx = clamp(r, -D, D)
 *   smooth_l1: |r| < B ? r^2 / (2B) : |r| - B / 2    d/dx = |r| < B ? r / B : sign(r)
 *   bce:       -(t log x + (1 - t) log(1 - x)), logs clamped at >= -100
 *              d/dx = (x - t) / max(x (1 - x), 1e-12)   (torch's clamps)
 *   bce_with_logits: max(x, 0) - x t + log(1 + exp(-|x|))   (stable form)
 *              d/dx = sigmoid(x) - t
 * "mean" divides by the element count. */
static double pw_value(int kind, double x, double t, double dl)
{
    double r = x - t, ar = fabs(r);
    switch (kind) {
    case OC_PWL_MSE:
        return r * r;
    case OC_PWL_L1:
        return ar;
    case OC_PWL_HUBER:
        return ar < dl ? 0.5 * r * r : dl * (ar - 0.5 * dl);
    case OC_PWL_SMOOTH_L1:
        return ar < dl ? 0.5 * r * r / dl : ar - 0.5 * dl;
    case OC_PWL_BCE: {
        double lx = x > 0 ? log(x) : -INFINITY, l1x = x < 1 ? log1p(-x) : -INFINITY;
        lx = lx < -100 ? -100 : lx;
        l1x = l1x < -100 ? -100 : l1x;
        return -(t * lx + (1 - t) * l1x);
    }
    default: /* OC_PWL_BCE_LOGITS */
        return (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
    }
}

static double pw_deriv(int kind, double x, double t, double dl)
{
    double r = x - t, ar = fabs(r), sg = (r > 0) - (r < 0);
    switch (kind) {
    case OC_PWL_MSE:
        return 2 * r;
    case OC_PWL_L1:
        return sg;
    case OC_PWL_HUBER:
        return r < -dl ? -dl : r > dl ? dl : r;
    case OC_PWL_SMOOTH_L1:
        return ar < dl ? r / dl : sg;
    case OC_PWL_BCE: {
        double q = x * (1 - x);
        return r / (q > 1e-12 ? q : 1e-12);
    }
    default: /* sigmoid(x) - t, evaluated without overflow */
        return (x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))) - t;
    }
}

int oc_pw_loss_forward(const oc_kargs *a)
{
    const oc_pw_loss_params *p = a->p;
    const oc_tensor *x = a->in[0], *t = a->in[1];
    oc_tensor *y = a->out[0];
    int kind = p->kind;
    if (kind == OC_PWL_SMOOTH_L1 && p->delta <= 0)
        kind = OC_PWL_L1; /* beta = 0 is plain L1 (torch) */
    double total = 0;
    for (int64_t i = 0; i < p->count; i++) {
        double v = pw_value(kind, load(x->data, p->dtype, i), load(t->data, p->dtype, i), p->delta);
        if (p->reduction == OC_LOSS_NONE)
            store(y->data, p->dtype, i, v);
        total += v;
    }
    if (p->reduction == OC_LOSS_SUM)
        store(y->data, p->dtype, 0, total);
    else if (p->reduction == OC_LOSS_MEAN)
        store(y->data, p->dtype, 0, total / (double)p->count);
    return 0;
}

int oc_pw_loss_backward(const oc_kargs *a)
{
    const oc_pw_loss_params *p = a->p;
    const oc_tensor *dl = a->in[0], *x = a->in[1], *t = a->in[2];
    oc_tensor *dx = a->out[0];
    int kind = p->kind;
    if (kind == OC_PWL_SMOOTH_L1 && p->delta <= 0)
        kind = OC_PWL_L1;
    double scale = p->reduction == OC_LOSS_MEAN ? 1.0 / (double)p->count : 1.0;
    for (int64_t i = 0; i < p->count; i++) {
        double up = p->reduction == OC_LOSS_NONE ? load(dl->data, p->dtype, i) : load(dl->data, p->dtype, 0);
        double v = pw_deriv(kind, load(x->data, p->dtype, i), load(t->data, p->dtype, i), p->delta);
        store(dx->data, p->dtype, i, up * scale * v);
    }
    return 0;
}
