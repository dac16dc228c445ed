/* ml.c: ops of ONNX's classical-ML domain ai.onnx.ml: Binarizer (1),
 * ArrayFeatureExtractor (1), TreeEnsemble (5) and LabelEncoder (2, 4) over
 * numbers. Attributes, shape rules and lowering; the kernels are
 * runtime/kernels/ml.c.
 *
 * The string forms of LabelEncoder (keys_strings, values_strings, string
 * tensors) need string tensors, which onnxc does not have: they are
 * refused by name. TreeEnsemble's attributes are a whole model; lowering
 * checks every index in them (nodes, leaves, features, targets, set
 * members) so that the kernel can follow them blindly, except for cycles,
 * which the kernel detects by path length. */
#include "op.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/ml.h"
#include "../../runtime/strtensor.h"

static int is_float_type(int dt) { return dt == OC_FLOAT || dt == OC_DOUBLE; }
static int is_number_type(int dt)
{
    return dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_INT64 || dt == OC_INT32 || dt == OC_INT16;
}

/* ---- Binarizer ---- */

static int infer_binarizer(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->dtype && !is_float_type(x->dtype) && x->dtype != OC_INT64 && x->dtype != OC_INT32)
        return oc_infer_fail(cx, "type %s is not supported (float, double, int64, int32)", oc_dtype_name(x->dtype));
    return oc_infer_same_as(cx, 0, 0);
}

static int lower_binarizer(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_binarizer_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->threshold = oc_attr_float(n, "threshold", 0.0f);
    lw->fn = oc_binarizer_forward;
    return 0;
}

/* ---- ArrayFeatureExtractor ---- */

static int infer_afe(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *y = oc_infer_in_ranked(cx, 1);
    if (!x || !y)
        return -1;
    if (x->rank < 1)
        return oc_infer_fail(cx, "X must have rank >= 1");
    if (y->dtype && y->dtype != OC_INT64)
        return oc_infer_fail(cx, "indices Y must be int64, got %s", oc_dtype_name(y->dtype));
    if (x->dtype && !is_number_type(x->dtype))
        return oc_infer_fail(cx, "type %s is not supported", oc_dtype_name(x->dtype));
    /* as ONNX Runtime: Z is X with its last dim replaced by the index
     * count; a 1-D X gives [1, K] */
    int64_t dims[OC_MAX_RANK], k = oc_value_numel(y);
    int r = x->rank < 2 ? 2 : x->rank;
    if (x->rank < 2)
        dims[0] = 1;
    else
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)(x->rank - 1));
    dims[r - 1] = k;
    return oc_infer_set_out(cx, 0, x->dtype, r, dims);
}

static int lower_afe(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    (void)n;
    (void)d;
    lw->fn = oc_array_feature_extractor_forward;
    return 0;
}

/* ---- numeric lists held either as FLOATS / INTS or as a TENSOR ---- */

/* Attribute `name` as doubles into a malloc'd *out (NULL when absent);
 * returns the count, -1 when absent, -2 on an error (reported). */
static int64_t attr_numbers(const oc_node *n, const char *name, double **out, oc_diag *d)
{
    const oc_attr *a = oc_node_attr(n, name);
    *out = NULL;
    if (!a)
        return -1;
    int64_t cnt;
    if (a->type == OC_ATTR_FLOATS || a->type == OC_ATTR_INTS)
        cnt = a->n;
    else if (a->type == OC_ATTR_TENSOR && a->t) {
        if (a->t->dtype == OC_STRING)
            return oc_fail(d, "attribute '%s' holds strings; onnxc has no string tensors", name), -2;
        cnt = a->t->numel;
    } else
        return oc_fail(d, "attribute '%s' must be a list of numbers or a tensor", name), -2;
    double *v = malloc(sizeof(double) * (size_t)(cnt + 1));
    if (!v)
        return oc_fail(d, "out of memory"), -2;
    for (int64_t i = 0; i < cnt; i++)
        v[i] = a->type == OC_ATTR_FLOATS ? a->floats[i]
               : a->type == OC_ATTR_INTS ? (double)a->ints[i]
                                         : oc_const_f64(a->t, i);
    *out = v;
    return cnt;
}

/* ---- TreeEnsemble ---- */

static int64_t tree_targets(const oc_node *n) { return oc_attr_int(n, "n_targets", -1); }

static int infer_tree_ensemble(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank != 2)
        return oc_infer_fail(cx, "X must be [N, F]");
    if (x->dtype && !is_float_type(x->dtype))
        return oc_infer_fail(cx, "type %s is not supported (float, double)", oc_dtype_name(x->dtype));
    int64_t nt = tree_targets(oc_infer_node(cx));
    if (nt < 1 || nt > (1 << 24))
        return oc_infer_fail(cx, "n_targets must be in [1, 2^24], got %lld", (long long)nt);
    int64_t dims[2] = {x->dims[0], nt};
    return oc_infer_set_out(cx, 0, x->dtype, 2, dims);
}

/* INTS attribute of exactly `want` entries (want < 0: any count >= 1). */
static int need_ints(const oc_node *n, const char *name, int64_t want, const int64_t **v, oc_diag *d)
{
    int c = oc_attr_ints(n, name, v);
    if (c < 0)
        return oc_fail(d, "attribute '%s' (ints) is missing", name);
    if ((want >= 0 && c != want) || c < 1)
        return oc_fail(d, "attribute '%s' has %d entries, expected %lld", name, c, (long long)want);
    return c;
}

static size_t align8(size_t v) { return (v + 7) & ~(size_t)7; }

static int lower_tree_ensemble(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    const int64_t *feat, *tid, *fid, *tleaf, *fleaf, *ltarget, *roots, *missing = NULL;
    double *modes = NULL, *splits = NULL, *weights = NULL, *members = NULL;
    int rc = -1;
    int64_t nt = tree_targets(n), nf = x->dims[1];
    int64_t agg = oc_attr_int(n, "aggregate_function", OC_TREE_SUM), post = oc_attr_int(n, "post_transform", 0);
    if (agg < OC_TREE_AVERAGE || agg > OC_TREE_MAX)
        return oc_fail(d, "aggregate_function %lld is not one of 0 (AVERAGE), 1 (SUM), 2 (MIN), 3 (MAX)",
                       (long long)agg);
    if (post != 0)
        return oc_fail(d, "post_transform %lld is not supported (only 0, NONE)", (long long)post);
    int nn = oc_attr_ints(n, "nodes_featureids", &feat);
    if (nn < 1)
        return oc_fail(d, "attribute 'nodes_featureids' (ints) is missing or empty");
    int nl = oc_attr_ints(n, "leaf_targetids", &ltarget);
    if (nl < 1)
        return oc_fail(d, "attribute 'leaf_targetids' (ints) is missing or empty");
    int ntr = oc_attr_ints(n, "tree_roots", &roots);
    if (ntr < 1)
        return oc_fail(d, "attribute 'tree_roots' (ints) is missing or empty");
    if (need_ints(n, "nodes_truenodeids", nn, &tid, d) < 0 || need_ints(n, "nodes_falsenodeids", nn, &fid, d) < 0 ||
        need_ints(n, "nodes_trueleafs", nn, &tleaf, d) < 0 || need_ints(n, "nodes_falseleafs", nn, &fleaf, d) < 0)
        return -1;
    if (oc_node_attr(n, "nodes_missing_value_tracks_true") &&
        need_ints(n, "nodes_missing_value_tracks_true", nn, &missing, d) < 0)
        return -1;
    int64_t c_modes = attr_numbers(n, "nodes_modes", &modes, d), c_splits = attr_numbers(n, "nodes_splits", &splits, d),
            c_weights = attr_numbers(n, "leaf_weights", &weights, d),
            c_members = attr_numbers(n, "membership_values", &members, d);
    if (c_modes == -2 || c_splits == -2 || c_weights == -2 || c_members == -2)
        goto out;
    if (c_modes != nn || c_splits != nn) {
        oc_fail(d, "nodes_modes and nodes_splits must have %d entries (one per node), got %lld and %lld", nn,
                (long long)c_modes, (long long)c_splits);
        goto out;
    }
    if (c_weights != nl) {
        oc_fail(d, "leaf_weights must have %d entries (one per leaf), got %lld", nl, (long long)c_weights);
        goto out;
    }
    if (c_members < 0)
        c_members = 0;
    size_t nodes_off = align8(sizeof(oc_tree_ensemble_params));
    size_t leaves_off = nodes_off + sizeof(oc_tree_node) * (size_t)nn;
    size_t roots_off = leaves_off + sizeof(oc_tree_leaf) * (size_t)nl;
    size_t set_off = roots_off + sizeof(int64_t) * (size_t)ntr;
    oc_tree_ensemble_params *p = oc_lower_params(lw, set_off + sizeof(double) * (size_t)c_members, d);
    if (!p)
        goto out;
    p->aggregate = (int)agg;
    p->n_features = nf;
    p->n_targets = nt;
    p->n_nodes = nn;
    p->n_leaves = nl;
    p->n_trees = ntr;
    p->nodes_off = nodes_off;
    p->leaves_off = leaves_off;
    p->roots_off = roots_off;
    p->set_off = set_off;
    unsigned char *base = (unsigned char *)p;
    oc_tree_node *nodes = (oc_tree_node *)(base + nodes_off);
    oc_tree_leaf *leaves = (oc_tree_leaf *)(base + leaves_off);
    int64_t *rt = (int64_t *)(base + roots_off);
    double *set = (double *)(base + set_off);
    int64_t next_member = 0; /* membership_values: one NaN-ended set per MEMBER node, in node order */
    for (int i = 0; i < nn; i++) {
        oc_tree_node *nd = &nodes[i];
        double m = modes[i];
        if (!(m >= OC_TREE_LEQ && m <= OC_TREE_MEMBER) || m != floor(m)) {
            oc_fail(d, "nodes_modes[%d] = %g is not a mode 0 to 6", i, m);
            goto out;
        }
        nd->mode = (int32_t)m;
        nd->split = splits[i];
        nd->feature = feat[i];
        if (feat[i] < 0 || feat[i] >= nf) {
            oc_fail(d, "nodes_featureids[%d] = %lld is outside the %lld features of X", i, (long long)feat[i],
                    (long long)nf);
            goto out;
        }
        nd->missing_true = missing && missing[i] != 0;
        const int64_t ch[2] = {tid[i], fid[i]}, lf[2] = {tleaf[i], fleaf[i]};
        for (int b = 0; b < 2; b++) {
            int64_t lim = lf[b] ? nl : nn;
            if (ch[b] < 0 || ch[b] >= lim) {
                oc_fail(d, "node %d: %s branch %lld is outside the %lld %s", i, b ? "false" : "true", (long long)ch[b],
                        (long long)lim, lf[b] ? "leaves" : "nodes");
                goto out;
            }
            nd->child[b] = ch[b];
            nd->leaf[b] = lf[b] != 0;
        }
        if (nd->mode == OC_TREE_MEMBER) {
            nd->set_start = next_member;
            while (next_member < c_members && !isnan(members[next_member]))
                next_member++;
            if (next_member == c_members) {
                oc_fail(d, "membership_values holds no NaN-ended set for set-membership node %d", i);
                goto out;
            }
            nd->set_len = next_member - nd->set_start;
            next_member++; /* the NaN */
        }
    }
    if (c_members > 0) /* members is NULL when no node tests set membership */
        memcpy(set, members, sizeof(double) * (size_t)c_members);
    p->n_set = c_members;
    for (int i = 0; i < nl; i++) {
        if (ltarget[i] < 0 || ltarget[i] >= nt) {
            oc_fail(d, "leaf_targetids[%d] = %lld is outside the %lld targets", i, (long long)ltarget[i],
                    (long long)nt);
            goto out;
        }
        leaves[i].target = ltarget[i];
        leaves[i].weight = weights[i];
    }
    for (int i = 0; i < ntr; i++) {
        if (roots[i] < 0 || roots[i] >= nn) {
            oc_fail(d, "tree_roots[%d] = %lld is outside the %d nodes", i, (long long)roots[i], nn);
            goto out;
        }
        rt[i] = roots[i];
    }
    lw->fn = oc_tree_ensemble_forward;
    rc = 0;
out:
    free(modes);
    free(splits);
    free(weights);
    free(members);
    return rc;
}

/* ---- LabelEncoder ---- */

/* The keys_* / values_* attribute present: its name, or NULL (none, or
 * several: *several set). */
static const oc_attr *one_of(const oc_node *n, const char *const *names, int *several)
{
    const oc_attr *found = NULL;
    *several = 0;
    for (int i = 0; names[i]; i++) {
        const oc_attr *a = oc_node_attr(n, names[i]);
        if (a && found)
            *several = 1;
        if (a)
            found = a;
    }
    return found;
}

static const char *const key_attrs[] = {"keys_floats", "keys_int64s", "keys_strings", "keys_tensor", NULL};
static const char *const value_attrs[] = {"values_floats", "values_int64s", "values_strings", "values_tensor", NULL};

/* Element type of a keys_* / values_* attribute (OC_STRING for strings). */
static int list_dtype(const oc_attr *a)
{
    if (a->type == OC_ATTR_TENSOR && a->t)
        return a->t->dtype;
    return strstr(a->name, "floats") ? OC_FLOAT : strstr(a->name, "int64s") ? OC_INT64 : OC_STRING;
}

static int label_attrs(const oc_node *n, const oc_attr **keys, const oc_attr **values, oc_diag *d)
{
    int sk, sv;
    *keys = one_of(n, key_attrs, &sk);
    *values = one_of(n, value_attrs, &sv);
    if (!*keys || !*values || sk || sv)
        return oc_fail(d, "needs exactly one keys_* and one values_* attribute");
    if (list_dtype(*values) == OC_STRING || oc_node_attr(n, "default_string") ||
        (oc_node_attr(n, "default_tensor") && oc_node_attr(n, "default_tensor")->t &&
         oc_node_attr(n, "default_tensor")->t->dtype == OC_STRING))
        return oc_fail(d, "string values are not supported (string keys are)");
    if ((!is_number_type(list_dtype(*keys)) && list_dtype(*keys) != OC_STRING) || !is_number_type(list_dtype(*values)))
        return oc_fail(d, "keys must be numbers (float, double, int64, int32, int16) or strings, values numbers");
    return 0;
}

static int infer_label_encoder(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    const oc_attr *k, *v;
    if (label_attrs(n, &k, &v, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->dtype != list_dtype(k))
        return oc_infer_fail(cx, "input type %s differs from the keys' type %s", oc_dtype_name(x->dtype),
                             oc_dtype_name(list_dtype(k)));
    return oc_infer_set_out(cx, 0, list_dtype(v), x->rank, x->dims);
}

static int cmp_pair_int(const void *a, const void *b)
{
    const oc_label_pair *x = a, *y = b;
    return x->ikey < y->ikey ? -1 : x->ikey > y->ikey;
}

static int cmp_pair_float(const void *a, const void *b)
{
    const oc_label_pair *x = a, *y = b;
    if (isnan(x->fkey) || isnan(y->fkey))
        return isnan(x->fkey) - isnan(y->fkey);
    return x->fkey < y->fkey ? -1 : x->fkey > y->fkey;
}

/* A string key while sorting: its bytes, length and value. */
typedef struct str_key {
    const char *s;
    int64_t len;
    double value;
} str_key;

static int cmp_str_key(const void *a, const void *b)
{
    const str_key *x = a, *y = b;
    return oc_label_key_cmp(x->s, x->len, y->s, y->len);
}

/* The keys of a keys_strings list or a string keys_tensor: count, and
 * piece i's bytes and length. */
static int64_t string_keys(const oc_attr *ka, const char **s, int64_t *len, int64_t cap)
{
    if (ka->type == OC_ATTR_TENSOR && ka->t) {
        const oc_str *v = ka->t->data;
        for (int64_t i = 0; i < ka->t->numel && i < cap; i++)
            s[i] = oc_str_bytes(v[i]), len[i] = v[i].n;
        return ka->t->numel;
    }
    for (int i = 0; i < ka->n && i < cap; i++)
        s[i] = ka->strings[i], len[i] = (int64_t)strlen(ka->strings[i]);
    return ka->n;
}

static int lower_label_encoder(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    const oc_attr *ka, *va;
    if (label_attrs(n, &ka, &va, d))
        return -1;
    double *keys = NULL, *values = NULL, *dflt = NULL;
    const char **sk = NULL;
    int64_t *sl = NULL, sbytes = 0;
    str_key *sorted = NULL;
    int rc = -1, kt = list_dtype(ka), vt = list_dtype(va), str = kt == OC_STRING;
    int64_t nk = str ? string_keys(ka, NULL, NULL, 0) : attr_numbers(n, ka->name, &keys, d),
            nv = attr_numbers(n, va->name, &values, d), nd = -1;
    if (nk < 0 || nv < 0)
        goto out;
    if (str) {
        sk = malloc(sizeof(char *) * (size_t)(nk + 1));
        sl = malloc(sizeof(int64_t) * (size_t)(nk + 1));
        if (!sk || !sl) {
            oc_fail(d, "out of memory");
            goto out;
        }
        string_keys(ka, sk, sl, nk);
        if (nk != nv) {
            oc_fail(d, "%s has %lld entries but %s has %lld", ka->name, (long long)nk, va->name, (long long)nv);
            goto out;
        }
        if (!(sorted = malloc(sizeof(str_key) * (size_t)(nk + 1)))) {
            oc_fail(d, "out of memory");
            goto out;
        }
        for (int64_t i = 0; i < nk; i++)
            sorted[i] = (str_key){sk[i], sl[i], values[i]};
        qsort(sorted, (size_t)nk, sizeof *sorted, cmp_str_key);
        for (int64_t i = 0; i < nk; i++) {
            if (sl[i] > OC_MAX_STRING_BYTES || sbytes > (int64_t)OC_MAX_TENSOR_BYTES) {
                oc_fail(d, "%s: the keys are too long", ka->name);
                goto out;
            }
            sbytes += sl[i];
        }
    }
    if (nk != nv) {
        oc_fail(d, "%s has %lld entries but %s has %lld", ka->name, (long long)nk, va->name, (long long)nv);
        goto out;
    }
    /* default: default_tensor (one value), else default_float (-0.0) or
     * default_int64 (-1) by the values' type */
    double dv = is_float_type(vt) ? oc_attr_float(n, "default_float", -0.0f) : (double)oc_attr_int(n, "default_int64", -1);
    if (oc_node_attr(n, "default_tensor")) {
        if ((nd = attr_numbers(n, "default_tensor", &dflt, d)) < 0)
            goto out;
        if (nd != 1) {
            oc_fail(d, "default_tensor must hold one value, got %lld", (long long)nd);
            goto out;
        }
        dv = dflt[0];
    }
    size_t off = align8(sizeof(oc_label_encoder_params)), boff = off + sizeof(oc_label_pair) * (size_t)nk;
    oc_label_encoder_params *p = oc_lower_params(lw, boff + (size_t)sbytes + 1, d);
    if (!p)
        goto out;
    oc_label_pair *pairs = (oc_label_pair *)((unsigned char *)p + off);
    char *bytes = (char *)p + boff;
    p->int_keys = !str && !is_float_type(kt);
    p->str_keys = str;
    p->n = nk;
    p->dflt = dv;
    p->pairs_off = off;
    p->bytes_off = boff;
    const oc_attr *ki = strcmp(ka->name, "keys_int64s") == 0 ? ka : NULL;
    for (int64_t i = 0, at = 0; i < nk; i++) {
        /* int64 keys straight from the list, so that large ones stay exact */
        pairs[i].ikey = str ? 0 : ki ? ki->ints[i] : (int64_t)keys[i];
        pairs[i].fkey = str ? 0 : keys[i];
        pairs[i].value = str ? sorted[i].value : values[i];
        pairs[i].soff = pairs[i].slen = 0;
        if (str) { /* already in key order */
            memcpy(bytes + at, sorted[i].s, (size_t)sorted[i].len);
            pairs[i].soff = at;
            pairs[i].slen = sorted[i].len;
            at += sorted[i].len;
        }
    }
    if (!str)
        qsort(pairs, (size_t)nk, sizeof *pairs, p->int_keys ? cmp_pair_int : cmp_pair_float);
    lw->fn = oc_label_encoder_forward;
    rc = 0;
out:
    free(keys);
    free(values);
    free(dflt);
    free(sk);
    free(sl);
    free(sorted);
    return rc;
}

const oc_op oc_ops_ml[] = {
    {"Binarizer", 1, 1, 1, 1, infer_binarizer, NULL, 0, 0, lower_binarizer, .domain = OC_DOMAIN_ML},
    {"ArrayFeatureExtractor", 2, 2, 1, 1, infer_afe, NULL, 0, 1u << 1, lower_afe, .domain = OC_DOMAIN_ML},
    {"TreeEnsemble", 1, 1, 1, 1, infer_tree_ensemble, NULL, 0, 0, lower_tree_ensemble, .domain = OC_DOMAIN_ML},
    {"LabelEncoder", 1, 1, 1, 1, infer_label_encoder, NULL, 0, 0, lower_label_encoder, .domain = OC_DOMAIN_ML},
    {0},
};
