/* optim_ops.c: Adagrad, Adam and Momentum of ai.onnx.preview.training;
 * see optim_ops.h. Naive reference kernels (the tensors are small). */
#include "optim_ops.h"

#include <math.h>

#include "shape_ops.h"

static double get(const oc_tensor *t, int64_t i) { return oc_elem_get_f64(t->dtype, t->data, i); }
static void set(oc_tensor *t, int64_t i, double v) { oc_elem_set_f64(t->dtype, t->data, i, v); }

int oc_optim_op_forward(const oc_kargs *a)
{
    const oc_optim_op_params *p = a->p;
    double r = get(a->in[0], 0);
    int64_t t = (int64_t)get(a->in[1], 0);
    int n = p->n;
    double nc = p->norm_coefficient;
    if (p->kind == OC_OPTOP_ADAGRAD)
        r = r / (1.0 + (double)t * p->decay_factor);
    else if (p->kind == OC_OPTOP_ADAM && t > 0)
        r = r * sqrt(1.0 - pow(p->beta, (double)t)) / (1.0 - pow(p->alpha, (double)t));
    double b = t > 0 ? p->beta : 1.0; /* Momentum: the first step takes the whole gradient */
    for (int i = 0; i < n; i++) {
        const oc_tensor *x = a->in[2 + i], *g = a->in[2 + n + i], *s1 = a->in[2 + 2 * n + i];
        oc_tensor *xo = a->out[i], *s1o = a->out[n + i];
        int64_t m = x->numel;
        switch (p->kind) {
        case OC_OPTOP_ADAGRAD:
            for (int64_t k = 0; k < m; k++) {
                double xv = get(x, k), gr = get(g, k) + nc * xv;
                double h = get(s1, k) + gr * gr;
                set(s1o, k, h);
                set(xo, k, xv - r * gr / (sqrt(h) + p->epsilon));
            }
            break;
        case OC_OPTOP_ADAM: {
            const oc_tensor *hh = a->in[2 + 3 * n + i];
            oc_tensor *ho = a->out[2 * n + i];
            for (int64_t k = 0; k < m; k++) {
                double xv = get(x, k), gr = get(g, k) + nc * xv;
                double v = p->alpha * get(s1, k) + (1.0 - p->alpha) * gr;
                double h = p->beta * get(hh, k) + (1.0 - p->beta) * gr * gr;
                set(s1o, k, v);
                set(ho, k, h);
                set(xo, k, (1.0 - p->norm_coefficient_post) * (xv - r * v / (sqrt(h) + p->epsilon)));
            }
            break;
        }
        default: /* Momentum, standard or Nesterov */
            for (int64_t k = 0; k < m; k++) {
                double xv = get(x, k), gr = get(g, k) + nc * xv;
                double v = p->alpha * get(s1, k) + b * gr;
                set(s1o, k, v);
                set(xo, k, p->kind == OC_OPTOP_NESTEROV ? xv - r * (gr + p->alpha * v) : xv - r * v);
            }
            break;
        }
    }
    return 0;
}
