/* ml.c: Binarizer, ArrayFeatureExtractor, TreeEnsemble and LabelEncoder
 * of ai.onnx.ml; see ml.h. Naive reference kernels. */
#include "ml.h"
#include "../strtensor.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "shape_ops.h"

static double get(const oc_tensor *t, int64_t i) { return oc_elem_get_f64(t->dtype, t->data, i); }
static void set(oc_tensor *t, int64_t i, double v) { oc_elem_set_f64(t->dtype, t->data, i, v); }

int oc_binarizer_forward(const oc_kargs *a)
{
    const oc_binarizer_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    for (int64_t i = 0; i < x->numel; i++)
        set(y, i, get(x, i) > p->threshold ? 1.0 : 0.0);
    return 0;
}

int oc_array_feature_extractor_forward(const oc_kargs *a)
{
    const oc_tensor *x = a->in[0], *idx = a->in[1];
    oc_tensor *z = a->out[0];
    int64_t f = x->rank ? x->dims[x->rank - 1] : 1, k = idx->numel;
    int64_t rows = f ? x->numel / f : 0;
    size_t es = oc_dtype_size(x->dtype);
    if (z->numel != rows * k)
        return oc_fail(a->d, "output holds %lld elements, expected %lld", (long long)z->numel,
                       (long long)(rows * k));
    for (int64_t j = 0; j < k; j++) {
        int64_t c = oc_index_get(idx, j);
        if (c < 0 || c >= f)
            return oc_fail(a->d, "index %lld (element %lld of Y) is outside [0, %lld)", (long long)c, (long long)j,
                           (long long)f);
    }
    const unsigned char *src = x->data;
    unsigned char *dst = z->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < k; j++)
            memcpy(dst + (size_t)(r * k + j) * es, src + (size_t)(r * f + oc_index_get(idx, j)) * es, es);
    return 0;
}

static int tree_true(const oc_tree_node *nd, const double *members, double v)
{
    if (isnan(v) && nd->missing_true)
        return 1;
    switch (nd->mode) {
    case OC_TREE_LEQ: return v <= nd->split;
    case OC_TREE_LT: return v < nd->split;
    case OC_TREE_GTE: return v >= nd->split;
    case OC_TREE_GT: return v > nd->split;
    case OC_TREE_EQ: return v == nd->split;
    case OC_TREE_NEQ: return v != nd->split;
    default:
        for (int64_t i = 0; i < nd->set_len; i++)
            if (v == members[nd->set_start + i])
                return 1;
        return 0;
    }
}

int oc_tree_ensemble_forward(const oc_kargs *a)
{
    const oc_tree_ensemble_params *p = a->p;
    const unsigned char *base = a->p;
    const oc_tree_node *nodes = (const oc_tree_node *)(base + p->nodes_off);
    const oc_tree_leaf *leaves = (const oc_tree_leaf *)(base + p->leaves_off);
    const int64_t *roots = (const int64_t *)(base + p->roots_off);
    const double *members = (const double *)(base + p->set_off);
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int64_t rows = x->rank ? x->dims[0] : 1, nt = p->n_targets;
    double big = y->dtype == OC_DOUBLE ? DBL_MAX : FLT_MAX;
    double init = p->aggregate == OC_TREE_MIN ? big : p->aggregate == OC_TREE_MAX ? -big : 0.0;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t t = 0; t < nt; t++)
            set(y, r * nt + t, init);
        for (int64_t tr = 0; tr < p->n_trees; tr++) {
            int64_t at = roots[tr], steps = 0;
            const oc_tree_leaf *lf = NULL;
            while (!lf) {
                /* the attributes were checked for indices in range, not for
                 * cycles: a path longer than the node count is one */
                if (steps++ > p->n_nodes)
                    return oc_fail(a->d, "tree %lld loops (its nodes form a cycle)", (long long)tr);
                const oc_tree_node *nd = &nodes[at];
                int b = tree_true(nd, members, get(x, r * p->n_features + nd->feature)) ? 0 : 1;
                if (nd->leaf[b])
                    lf = &leaves[nd->child[b]];
                else
                    at = nd->child[b];
            }
            int64_t o = r * nt + lf->target;
            double cur = get(y, o);
            switch (p->aggregate) {
            case OC_TREE_SUM: cur += lf->weight; break;
            case OC_TREE_AVERAGE: cur += lf->weight / (double)p->n_trees; break;
            case OC_TREE_MIN: cur = lf->weight < cur ? lf->weight : cur; break;
            default: cur = lf->weight > cur ? lf->weight : cur; break;
            }
            set(y, o, cur);
        }
    }
    return 0;
}

int oc_label_key_cmp(const char *a, int64_t na, const char *b, int64_t nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : na < nb ? -1 : na > nb;
}

int oc_label_encoder_forward(const oc_kargs *a)
{
    const oc_label_encoder_params *p = a->p;
    const oc_label_pair *pairs = (const oc_label_pair *)((const unsigned char *)a->p + p->pairs_off);
    const char *bytes = (const char *)a->p + p->bytes_off;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    if (p->str_keys && x->dtype != OC_STRING)
        return oc_fail(a->d, "LabelEncoder: string keys need a string input, got %s", oc_dtype_name(x->dtype));
    for (int64_t i = 0; i < x->numel; i++) {
        double v = p->dflt;
        int64_t lo = 0, hi = p->n; /* first pair whose key is not below the input */
        if (p->str_keys) {
            oc_str key = ((const oc_str *)x->data)[i];
            const char *kb = oc_str_bytes(key);
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (oc_label_key_cmp(bytes + pairs[mid].soff, pairs[mid].slen, kb, key.n) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < p->n && !oc_label_key_cmp(bytes + pairs[lo].soff, pairs[lo].slen, kb, key.n))
                v = pairs[lo].value;
        } else if (p->int_keys) {
            int64_t key = oc_index_get(x, i);
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (pairs[mid].ikey < key)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < p->n && pairs[lo].ikey == key)
                v = pairs[lo].value;
        } else {
            double key = get(x, i);
            if (isnan(key)) {
                if (p->n && isnan(pairs[p->n - 1].fkey))
                    v = pairs[p->n - 1].value;
            } else {
                while (lo < hi) {
                    int64_t mid = lo + (hi - lo) / 2;
                    if (pairs[mid].fkey < key) /* NaN keys sort last: never below */
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo < p->n && pairs[lo].fkey == key)
                    v = pairs[lo].value;
            }
        }
        set(y, i, v);
    }
    return 0;
}
