/* registry.c: collects every op family's descriptor table into one index
 * sorted by (domain, name). To add an op: put its descriptor in its family
 * file (or a new file with a new table listed here); onnxc's own ops set
 * .domain = OC_DOMAIN_ONNXC so that model files cannot reach them.
 *
 * The index is built once, under pthread_once, so the first lookup may come
 * from any thread. A table that overflows the index or registers one
 * (domain, name) twice is a programming error; it is reported (never
 * truncated or resolved silently) by oc_ops_init and every graph creation. */
#include "op.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const oc_op oc_ops_conv[], oc_ops_pool[], oc_ops_norm[], oc_ops_gemm[],
    oc_ops_elementwise[], oc_ops_shape[], oc_ops_reduce[], oc_ops_indexing[], oc_ops_resize[], oc_ops_loss[],
    oc_ops_einsum[], oc_ops_attention[], oc_ops_elementwise_grad[], oc_ops_loss_grad[], oc_ops_shape_grad[];

/* signal processing, coordinate sampling, and the rest (signal.c, spatial.c, misc.c) */
extern const oc_op oc_ops_signal[], oc_ops_spatial[], oc_ops_misc[];

/* control flow: If (controlflow.c) */
extern const oc_op oc_ops_controlflow[];
/* ONNX's other domains: ai.onnx.ml (ml.c) and ai.onnx.preview.training (optim_ops.c) */
extern const oc_op oc_ops_ml[], oc_ops_optim[];
/* recurrent nets: RNN, GRU, LSTM (rnn.c) */
extern const oc_op oc_ops_rnn[];

/* gradient ops of the norm, reduce and gemm families */
extern const oc_op oc_ops_norm_grad[], oc_ops_reduce_grad[], oc_ops_gemm_grad[];

/* gradient ops of the conv and pool families */
extern const oc_op oc_ops_conv_grad[], oc_ops_pool_grad[];

extern const oc_op oc_ops_bitcast[], oc_ops_quant[]; /* bitcast.c, quant.c */
extern const oc_op oc_ops_strings[];                /* string_ops.c */
extern const oc_op oc_ops_sequence[];               /* sequence.c: SequenceSelect */

static const oc_op *const families[] = {
    oc_ops_conv_grad, oc_ops_pool_grad,
    oc_ops_norm_grad, oc_ops_reduce_grad, oc_ops_gemm_grad,
    oc_ops_conv,  oc_ops_pool,     oc_ops_norm,     oc_ops_gemm,   oc_ops_elementwise,
    oc_ops_shape, oc_ops_reduce,   oc_ops_indexing, oc_ops_resize, oc_ops_loss,
    oc_ops_einsum, oc_ops_attention, oc_ops_elementwise_grad, oc_ops_loss_grad, oc_ops_shape_grad,
    oc_ops_signal, oc_ops_spatial, oc_ops_misc, oc_ops_bitcast, oc_ops_quant, oc_ops_controlflow,
    oc_ops_ml, oc_ops_optim, oc_ops_rnn, oc_ops_strings, oc_ops_sequence,
};

#define MAX_OPS 512
static const oc_op *sorted[MAX_OPS];
static int n_sorted;
static char build_error[256]; /* "" when the index is sound */
static pthread_once_t build_once = PTHREAD_ONCE_INIT;

/* "" for the default ONNX domain, which files may also spell "ai.onnx". */
static const char *canon_domain(const char *dom)
{
    return !dom || strcmp(dom, "ai.onnx") == 0 ? "" : dom;
}

static int cmp_key(const char *dom_a, const char *name_a, const oc_op *b)
{
    int c = strcmp(canon_domain(dom_a), canon_domain(b->domain));
    return c ? c : strcmp(name_a, b->name);
}

static int cmp_op(const void *a, const void *b)
{
    const oc_op *x = *(const oc_op *const *)a;
    return cmp_key(x->domain, x->name, *(const oc_op *const *)b);
}

static void build(void)
{
    int n = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const oc_op *op = families[f]; op->name; op++) {
            if (n == MAX_OPS) {
                snprintf(build_error, sizeof build_error,
                         "the op registry holds at most %d descriptors; raise MAX_OPS in compiler/ops/registry.c",
                         MAX_OPS);
                return;
            }
            sorted[n++] = op;
        }
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_op);
    for (int i = 1; i < n; i++)
        if (cmp_op(&sorted[i - 1], &sorted[i]) == 0) {
            snprintf(build_error, sizeof build_error, "op '%s' in domain '%s' is registered twice",
                     sorted[i]->name, canon_domain(sorted[i]->domain));
            return;
        }
    n_sorted = n;
}

int oc_ops_init(oc_diag *d)
{
    pthread_once(&build_once, build);
    return build_error[0] ? oc_fail(d, "internal error: %s", build_error) : 0;
}

const oc_op *oc_op_find(const char *domain, const char *name)
{
    pthread_once(&build_once, build);
    int lo = 0, hi = n_sorted;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = cmp_key(domain, name, sorted[mid]);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const oc_op *const *oc_op_all(int *n)
{
    pthread_once(&build_once, build);
    *n = n_sorted;
    return sorted;
}
