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
