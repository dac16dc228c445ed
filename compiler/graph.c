/* graph.c: the IR's storage, builder API, topological sort and validation.
 * See graph.h for the model. */
#include "graph.h"

#include "ops/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *oc_strdup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > (1 << 28))
            return -1;
        nc *= 2;
    }
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 0;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int index_insert(oc_graph *g, int id)
{
    if ((g->n_values + 1) * 2 > g->index_cap) {
        int nc = g->index_cap ? g->index_cap * 2 : 64;
        int *ni = malloc(sizeof(int) * (size_t)nc);
        if (!ni)
            return -1;
        for (int i = 0; i < nc; i++)
            ni[i] = -1;
        free(g->index);
        g->index = ni;
        g->index_cap = nc;
        for (int v = 0; v < g->n_values; v++) {
            if (v == id)
                continue;
            size_t h = (size_t)(hash_name(g->values[v].name) & (uint64_t)(nc - 1));
            while (ni[h] >= 0)
                h = (h + 1) & (size_t)(nc - 1);
            ni[h] = v;
        }
    }
    size_t h = (size_t)(hash_name(g->values[id].name) & (uint64_t)(g->index_cap - 1));
    while (g->index[h] >= 0)
        h = (h + 1) & (size_t)(g->index_cap - 1);
    g->index[h] = id;
    return 0;
}

int oc_graph_find(const oc_graph *g, const char *name)
{
    if (!g->index_cap || !name)
        return -1;
    size_t h = (size_t)(hash_name(name) & (uint64_t)(g->index_cap - 1));
    while (g->index[h] >= 0) {
        if (strcmp(g->values[g->index[h]].name, name) == 0)
            return g->index[h];
        h = (h + 1) & (size_t)(g->index_cap - 1);
    }
    return -1;
}

/* The index slot holding value `name` (which must be in the graph). */
static size_t index_slot(const oc_graph *g, const char *name)
{
    size_t h = (size_t)(hash_name(name) & (uint64_t)(g->index_cap - 1));
    while (g->index[h] >= 0 && strcmp(g->values[g->index[h]].name, name) != 0)
        h = (h + 1) & (size_t)(g->index_cap - 1);
    return h;
}

int oc_graph_rename_value(oc_graph *g, int v, const char *name, oc_diag *d)
{
    if (v < 0 || v >= g->n_values)
        return oc_fail(d, "renaming value id %d: outside the graph's %d values", v, g->n_values);
    int nv = oc_graph_add_value(g, name, d); /* fails when the name is taken */
    if (nv < 0)
        return -1;
    size_t sa = index_slot(g, name), sb = index_slot(g, g->values[v].name);
    char *t = g->values[v].name;
    g->values[v].name = g->values[nv].name;
    g->values[nv].name = t;
    g->index[sa] = v;
    g->index[sb] = nv;
    return 0;
}

oc_graph *oc_graph_new(const char *name, int64_t opset, oc_diag *d)
{
    if (oc_ops_init(d))
        return NULL;
    oc_graph *g = calloc(1, sizeof *g);
    if (!g) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    g->name = oc_strdup(name);
    g->producer = oc_strdup("");
    g->source = oc_strdup("");
    g->opset = opset;
    g->ir_version = 8;
    if (!g->name || !g->producer || !g->source) {
        oc_graph_free(g);
        oc_fail(d, "out of memory");
        return NULL;
    }
    return g;
}

static void attr_clear(oc_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    for (int i = 0; a->strings && i < a->n; i++)
        free(a->strings[i]);
    free(a->strings);
    oc_tensor_free(a->t);
    for (int i = 0; a->tensors && i < a->n; i++)
        oc_tensor_free(a->tensors[i]);
    free(a->tensors);
    oc_graph_free(a->g);
}

void oc_graph_free(oc_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_values; i++) {
        oc_value *v = &g->values[i];
        free(v->name);
        for (int k = 0; k < OC_MAX_RANK; k++)
            free(v->sym[k]);
        oc_tensor_free(v->constant);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        oc_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->in);
        free(n->out);
        for (int k = 0; k < n->n_attrs; k++)
            attr_clear(&n->attrs[k]);
        free(n->attrs);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->index);
    free(g->name);
    free(g->producer);
    free(g->source);
    free(g->capture_slot);
    free(g);
}

int oc_graph_add_value(oc_graph *g, const char *name, oc_diag *d)
{
    if (!name || !*name)
        return oc_fail(d, "a value needs a non-empty name");
    if (oc_graph_find(g, name) >= 0)
        return oc_fail(d, "value '%s' is defined twice", name);
    if (grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(oc_value)))
        return oc_fail(d, "out of memory");
    oc_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = oc_strdup(name);
    if (!v->name)
        return oc_fail(d, "out of memory");
    v->rank = -1;
    v->producer = -1;
    int id = g->n_values;
    if (index_insert(g, id)) {
        free(v->name);
        return oc_fail(d, "out of memory");
    }
    g->n_values++;
    return id;
}

int oc_graph_get_or_add_value(oc_graph *g, const char *name, oc_diag *d)
{
    int id = oc_graph_find(g, name);
    return id >= 0 ? id : oc_graph_add_value(g, name, d);
}

void oc_value_set_type(oc_value *v, int dtype, int rank, const int64_t *dims)
{
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < OC_MAX_RANK; i++)
        v->dims[i] = (dims && i < rank) ? dims[i] : -1;
}

static int push_id(int **arr, int *n, int *cap, int id, oc_diag *d)
{
    if (grow((void **)arr, cap, *n + 1, sizeof(int)))
        return oc_fail(d, "out of memory");
    (*arr)[(*n)++] = id;
    return 0;
}

int oc_graph_add_input(oc_graph *g, const char *name, int dtype, int rank, const int64_t *dims,
                       const char *const *sym, oc_diag *d)
{
    if (rank > OC_MAX_RANK)
        return oc_fail(d, "input '%s': rank %d exceeds the supported %d", name, rank, OC_MAX_RANK);
    int id = oc_graph_add_value(g, name, d);
    if (id < 0)
        return -1;
    oc_value *v = &g->values[id];
    oc_value_set_type(v, dtype, rank, dims);
    for (int i = 0; sym && i < rank; i++)
        if (sym[i] && *sym[i] && !(v->sym[i] = oc_strdup(sym[i])))
            return oc_fail(d, "out of memory");
    v->flags |= OC_VALUE_INPUT;
    return push_id(&g->inputs, &g->n_inputs, &g->cap_inputs, id, d) ? -1 : id;
}

int oc_graph_add_initializer(oc_graph *g, const char *name, oc_tensor *t, oc_diag *d)
{
    int id = oc_graph_add_value(g, name, d);
    if (id < 0) {
        oc_tensor_free(t);
        return -1;
    }
    oc_value *v = &g->values[id];
    oc_value_set_type(v, t->dtype, t->rank, t->dims);
    v->constant = t;
    v->flags |= OC_VALUE_INITIALIZER;
    return id;
}

int oc_graph_mark_output(oc_graph *g, int value_id, oc_diag *d)
{
    if (value_id < 0 || value_id >= g->n_values)
        return oc_fail(d, "graph output id %d is not a value", value_id);
    g->values[value_id].flags |= OC_VALUE_OUTPUT;
    return push_id(&g->outputs, &g->n_outputs, &g->cap_outputs, value_id, d);
}

int oc_graph_add_node(oc_graph *g, const char *op_type, const char *name, int n_in,
                      const char *const *in_names, int n_out, const char *const *out_names,
                      oc_diag *d)
{
    return oc_graph_add_node_in(g, "", op_type, name, n_in, in_names, n_out, out_names, d);
}

int oc_graph_add_node_in(oc_graph *g, const char *domain, const char *op_type, const char *name, int n_in,
                         const char *const *in_names, int n_out, const char *const *out_names, oc_diag *d)
{
    if (n_in < 0 || n_out < 0)
        return oc_fail(d, "node '%s': negative input/output count", name ? name : "");
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(oc_node)))
        return oc_fail(d, "out of memory");
    int nid = g->n_nodes;
    oc_node *n = &g->nodes[nid];
    memset(n, 0, sizeof *n);
    n->name = oc_strdup(name);
    n->op_type = oc_strdup(op_type);
    n->domain = oc_strdup(domain);
    n->in = calloc((size_t)n_in + 1, sizeof(int));
    n->out = calloc((size_t)n_out + 1, sizeof(int));
    g->n_nodes++; /* owned by the graph from here on, freed with it */
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out)
        return oc_fail(d, "out of memory");
    n->n_in = n_in;
    n->n_out = n_out;
    n->op = oc_op_find(n->domain, n->op_type);
    for (int i = 0; i < n_in; i++) {
        if (!in_names[i] || !*in_names[i]) {
            n->in[i] = -1;
            continue;
        }
        int id = oc_graph_find(g, in_names[i]);
        if (id < 0)
            return oc_fail(d, "node '%s' (%s) input %d '%s' is not defined", n->name, n->op_type, i,
                           in_names[i]);
        n->in[i] = id;
    }
    for (int i = 0; i < n_out; i++) {
        if (!out_names[i] || !*out_names[i]) {
            n->out[i] = -1;
            continue;
        }
        /* A value declared earlier without a producer (the importer
         * declares all outputs first so nodes may come in any order) is
         * claimed; anything else with that name is a second definition. */
        int id = oc_graph_find(g, out_names[i]);
        if (id >= 0) {
            const oc_value *v = &g->values[id];
            if (v->producer >= 0 || v->constant || (v->flags & (OC_VALUE_INPUT | OC_VALUE_INITIALIZER)))
                return oc_fail(d, "node '%s' (%s) output %d '%s' is already defined elsewhere",
                               g->nodes[nid].name, g->nodes[nid].op_type, i, out_names[i]);
        } else if ((id = oc_graph_add_value(g, out_names[i], d)) < 0) {
            return -1;
        }
        g->values[id].producer = nid;
        g->nodes[nid].out[i] = id;
    }
    return nid;
}

oc_attr *oc_node_add_attr(oc_graph *g, int nid, const char *name, oc_diag *d)
{
    oc_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_attrs; k++)
        if (strcmp(n->attrs[k].name, name) == 0) {
            oc_fail(d, "node '%s' (%s): attribute '%s' given twice", n->name, n->op_type, name);
            return NULL;
        }
    oc_attr *a = realloc(n->attrs, sizeof(oc_attr) * (size_t)(n->n_attrs + 1));
    if (!a) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    n->attrs = a;
    a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = oc_strdup(name);
    if (!a->name) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    n->n_attrs++;
    return a;
}

int oc_node_set_int(oc_graph *g, int nid, const char *name, int64_t v, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_INT;
    a->i = v;
    return 0;
}

int oc_node_set_float(oc_graph *g, int nid, const char *name, float v, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_FLOAT;
    a->f = v;
    return 0;
}

int oc_node_set_string(oc_graph *g, int nid, const char *name, const char *v, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_STRING;
    a->s = oc_strdup(v);
    a->s_len = strlen(v);
    return a->s ? 0 : oc_fail(d, "out of memory");
}

int oc_node_set_ints(oc_graph *g, int nid, const char *name, int n, const int64_t *v, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_INTS;
    a->n = n;
    a->ints = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!a->ints)
        return oc_fail(d, "out of memory");
    if (n)
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    return 0;
}

int oc_node_set_floats(oc_graph *g, int nid, const char *name, int n, const float *v, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_FLOATS;
    a->n = n;
    a->floats = malloc(sizeof(float) * (size_t)(n + 1));
    if (!a->floats)
        return oc_fail(d, "out of memory");
    if (n)
        memcpy(a->floats, v, sizeof(float) * (size_t)n);
    return 0;
}

int oc_node_set_tensor(oc_graph *g, int nid, const char *name, oc_tensor *t, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a) {
        oc_tensor_free(t);
        return -1;
    }
    a->type = OC_ATTR_TENSOR;
    a->t = t;
    return 0;
}

const oc_attr *oc_node_attr(const oc_node *n, const char *name)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (strcmp(n->attrs[k].name, name) == 0)
            return &n->attrs[k];
    return NULL;
}

int64_t oc_attr_int(const oc_node *n, const char *name, int64_t dflt)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a && a->type == OC_ATTR_INT ? a->i : dflt;
}

float oc_attr_float(const oc_node *n, const char *name, float dflt)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a && a->type == OC_ATTR_FLOAT ? a->f : dflt;
}

const char *oc_attr_string(const oc_node *n, const char *name, const char *dflt)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a && a->type == OC_ATTR_STRING ? a->s : dflt;
}

int oc_attr_ints(const oc_node *n, const char *name, const int64_t **v)
{
    const oc_attr *a = oc_node_attr(n, name);
    if (!a || a->type != OC_ATTR_INTS) {
        *v = NULL;
        return -1;
    }
    *v = a->ints;
    return a->n;
}

const char *oc_node_label(const oc_node *n, char *buf, size_t cap)
{
    snprintf(buf, cap, "node '%s' (%s)", n->name, n->op_type);
    return buf;
}

int *oc_graph_use_counts(const oc_graph *g, oc_diag *d)
{
    int *uses = calloc((size_t)g->n_values + 1, sizeof(int));
    if (!uses) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                uses[g->nodes[i].in[k]]++;
    return uses;
}

int oc_graph_replace_uses(oc_graph *g, int old, int repl)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == old) {
                g->nodes[i].in[k] = repl;
                changed++;
            }
    return changed;
}

/* Kahn's algorithm over value producers. Ties keep the original order so a
 * graph that is already sorted stays as written. */
int oc_graph_toposort(oc_graph *g, oc_diag *d)
{
    int nn = g->n_nodes;
    if (nn == 0)
        return 0;
    int *pending = calloc((size_t)nn, sizeof(int));
    int *order = malloc(sizeof(int) * (size_t)nn);
    int *newid = malloc(sizeof(int) * (size_t)nn);
    /* consumers in CSR form */
    int *ccount = calloc((size_t)g->n_values + 1, sizeof(int));
    int total = 0;
    for (int i = 0; i < nn; i++)
        total += g->nodes[i].n_in;
    int *cons = malloc(sizeof(int) * (size_t)(total + 1));
    int *queue = malloc(sizeof(int) * (size_t)nn);
    oc_node *sorted = malloc(sizeof(oc_node) * (size_t)nn);
    int rc = 0;
    if (!pending || !order || !newid || !ccount || !cons || !queue || !sorted) {
        rc = oc_fail(d, "out of memory");
        goto done;
    }
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0) {
                pending[i]++;
                ccount[v + 1]++;
            }
        }
    for (int v = 0; v < g->n_values; v++)
        ccount[v + 1] += ccount[v];
    {
        int *fill = calloc((size_t)g->n_values + 1, sizeof(int));
        if (!fill) {
            rc = oc_fail(d, "out of memory");
            goto done;
        }
        for (int i = 0; i < nn; i++)
            for (int k = 0; k < g->nodes[i].n_in; k++) {
                int v = g->nodes[i].in[k];
                if (v >= 0 && g->values[v].producer >= 0)
                    cons[ccount[v] + fill[v]++] = i;
            }
        free(fill);
    }
    /* A min-heap would keep original order exactly; a FIFO seeded in order
     * keeps it for already-sorted graphs, which is what matters. */
    int head = 0, tail = 0, done_n = 0;
    for (int i = 0; i < nn; i++)
        if (!pending[i])
            queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        order[done_n++] = i;
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v < 0)
                continue;
            for (int c = ccount[v]; c < ccount[v + 1]; c++)
                if (--pending[cons[c]] == 0)
                    queue[tail++] = cons[c];
        }
    }
    if (done_n < nn) {
        for (int i = 0; i < nn; i++)
            if (pending[i]) {
                char lb[300];
                rc = oc_fail(d, "the graph has a cycle through %s",
                             oc_node_label(&g->nodes[i], lb, sizeof lb));
                goto done;
            }
    }
    for (int k = 0; k < nn; k++) {
        sorted[k] = g->nodes[order[k]];
        newid[order[k]] = k;
    }
    memcpy(g->nodes, sorted, sizeof(oc_node) * (size_t)nn);
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].producer >= 0)
            g->values[v].producer = newid[g->values[v].producer];
done:
    free(pending);
    free(order);
    free(newid);
    free(ccount);
    free(cons);
    free(queue);
    free(sorted);
    return rc;
}

int oc_graph_validate(const oc_graph *g, oc_diag *d)
{
    char lb[300];
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v < -1 || v >= g->n_values)
                return oc_fail(d, "%s input %d refers to no value", oc_node_label(n, lb, sizeof lb), k);
            if (v >= 0) {
                const oc_value *val = &g->values[v];
                int defined = val->producer >= 0 || val->constant ||
                              (val->flags & (OC_VALUE_INPUT | OC_VALUE_INITIALIZER));
                if (!defined)
                    return oc_fail(d, "%s input %d '%s' is not defined by any node, input or initializer",
                                   oc_node_label(n, lb, sizeof lb), k, val->name);
                if (val->producer >= i)
                    return oc_fail(d, "%s input %d '%s' is used before it is produced",
                                   oc_node_label(n, lb, sizeof lb), k, val->name);
            }
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        const oc_value *v = &g->values[g->outputs[k]];
        if (v->producer < 0 && !v->constant && !(v->flags & OC_VALUE_INPUT))
            return oc_fail(d, "graph output '%s' is not produced by any node", v->name);
    }
    return 0;
}

int oc_graph_remove_nodes(oc_graph *g, const unsigned char *dead, oc_diag *d)
{
    int *newid = malloc(sizeof(int) * (size_t)(g->n_nodes + 1));
    if (!newid)
        return oc_fail(d, "out of memory");
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (dead[i]) {
            oc_node *n = &g->nodes[i];
            for (int o = 0; o < n->n_out; o++)
                if (n->out[o] >= 0 && g->values[n->out[o]].producer == i)
                    g->values[n->out[o]].producer = -1;
            free(n->name);
            free(n->op_type);
            free(n->domain);
            free(n->in);
            free(n->out);
            for (int a = 0; a < n->n_attrs; a++)
                attr_clear(&n->attrs[a]);
            free(n->attrs);
            newid[i] = -1;
            continue;
        }
        newid[i] = k;
        if (k != i)
            g->nodes[k] = g->nodes[i];
        k++;
    }
    g->n_nodes = k;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].producer >= 0)
            g->values[v].producer = newid[g->values[v].producer];
    free(newid);
    return 0;
}
