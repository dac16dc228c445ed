/* registry.c: collects every op family's descriptor table into one sorted
 * index. To add an op: put its descriptor in its family file (or a new
 * file with a new table listed here). */
#include "op.h"

#include <stdlib.h>
#include <string.h>

extern const oc_op oc_ops_conv[], oc_ops_pool[], oc_ops_norm[], oc_ops_gemm[],
    oc_ops_elementwise[], oc_ops_shape[], oc_ops_reduce[], oc_ops_indexing[], oc_ops_resize[], oc_ops_loss[],
    oc_ops_einsum[], oc_ops_elementwise_grad[], oc_ops_loss_grad[], oc_ops_shape_grad[];

/* gradient ops of the norm, reduce and gemm families */
extern const oc_op oc_ops_norm_grad[], oc_ops_reduce_grad[], oc_ops_gemm_grad[];

/* gradient ops of the conv and pool families */
extern const oc_op oc_ops_conv_grad[], oc_ops_pool_grad[];

static const oc_op *const families[] = {
    oc_ops_conv_grad, oc_ops_pool_grad,
    oc_ops_norm_grad, oc_ops_reduce_grad, oc_ops_gemm_grad,
    oc_ops_conv,  oc_ops_pool,     oc_ops_norm,     oc_ops_gemm,   oc_ops_elementwise,
    oc_ops_shape, oc_ops_reduce,   oc_ops_indexing, oc_ops_resize, oc_ops_loss,
    oc_ops_einsum, oc_ops_elementwise_grad, oc_ops_loss_grad, oc_ops_shape_grad,
};

#define MAX_OPS 512
static const oc_op *sorted[MAX_OPS];
static int n_sorted = -1;

static int cmp_op(const void *a, const void *b)
{
    return strcmp((*(const oc_op *const *)a)->name, (*(const oc_op *const *)b)->name);
}

/* Built once; the table is immutable afterwards. Called first from
 * single-threaded start-up (oc_op_find is used during import). */
static void build(void)
{
    if (n_sorted >= 0)
        return;
    int n = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const oc_op *op = families[f]; op->name && n < MAX_OPS; op++)
            sorted[n++] = op;
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_op);
    /* An op listed by two families (a rule moving to its own file) keeps
     * one descriptor: the one with a kernel, so lookups are deterministic. */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && strcmp(sorted[m - 1]->name, sorted[i]->name) == 0) {
            if (!sorted[m - 1]->lower && sorted[i]->lower)
                sorted[m - 1] = sorted[i];
            continue;
        }
        sorted[m++] = sorted[i];
    }
    n_sorted = m;
}

const oc_op *oc_op_find(const char *name)
{
    build();
    oc_op key = {0};
    key.name = name;
    const oc_op *kp = &key;
    const oc_op *const *hit = bsearch(&kp, sorted, (size_t)n_sorted, sizeof sorted[0], cmp_op);
    return hit ? *hit : NULL;
}

const oc_op *const *oc_op_all(int *n)
{
    build();
    *n = n_sorted;
    return sorted;
}
