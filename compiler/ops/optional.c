/* optional.c: ONNX optionals lowered at import; see optional.h. */
#include "optional.h"

#include <stdlib.h>
#include <string.h>

/* ---- the table of a model's empty optionals ---- */

typedef struct empty_opt {
    const oc_graph *g;
    char *name;
} empty_opt;

struct oc_opt_table {
    int n, cap;
    empty_opt *e;
};

int oc_opt_op_kind(const char *op)
{
    return strcmp(op, "Optional") == 0 || strcmp(op, "OptionalHasElement") == 0 ||
           strcmp(op, "OptionalGetElement") == 0;
}

int oc_opt_makes_empty(const char *op, int n_in, const char *const *in)
{
    return op && strcmp(op, "Optional") == 0 && (n_in < 1 || !in[0] || !*in[0]);
}

static int in_table(const oc_opt_table *tab, const oc_graph *g, const char *name)
{
    for (int i = 0; tab && i < tab->n; i++)
        if (tab->e[i].g == g && strcmp(tab->e[i].name, name) == 0)
            return 1;
    return 0;
}

int oc_opt_is_empty(const oc_opt_table *tab, const oc_graph *g, const char *name)
{
    if (!tab || !tab->n)
        return 0; /* every node's inputs are asked: no work in models without empty optionals */
    for (const oc_graph *h = g; h; h = h->parent) {
        if (in_table(tab, h, name))
            return 1;
        if (oc_graph_find(h, name) >= 0)
            return 0;
    }
    return 0;
}

/* A tensor value of g or of an enclosing graph (no capture). */
static int defined_value(const oc_graph *g, const char *name)
{
    for (const oc_graph *h = g; h; h = h->parent)
        if (oc_graph_find(h, name) >= 0)
            return 1;
    return 0;
}

void oc_opt_table_free(oc_opt_table *tab)
{
    if (!tab)
        return;
    for (int i = 0; i < tab->n; i++)
        free(tab->e[i].name);
    free(tab->e);
    free(tab);
}

static int add_empty(oc_graph *g, oc_opt_table *tab, const oc_seq_table *seqs, const char *name, oc_diag *d)
{
    if (in_table(tab, g, name) || oc_graph_find(g, name) >= 0 || oc_seq_has(seqs, g, name))
        return oc_fail(d, "'%s' is defined more than once", name);
    if (tab->n == tab->cap) {
        int cap = tab->cap ? 2 * tab->cap : 8;
        empty_opt *e = realloc(tab->e, sizeof *e * (size_t)cap);
        if (!e)
            return oc_fail(d, "out of memory");
        tab->e = e;
        tab->cap = cap;
    }
    if (!(tab->e[tab->n].name = strdup(name)))
        return oc_fail(d, "out of memory");
    tab->e[tab->n++].g = g;
    return 0;
}

/* ---- the ops ---- */

static int identity(oc_graph *g, const char *name, const char *x, const char *out, oc_diag *d)
{
    const char *in[1] = {x}, *outs[1] = {out};
    return oc_graph_add_node_in(g, "", "Identity", name, 1, in, 1, outs, d) < 0 ? -1 : 0;
}

static int const_bool(oc_graph *g, const char *name, int v, const char *out, oc_diag *d)
{
    const char *outs[1] = {out};
    int nid = oc_graph_add_node_in(g, "", "Constant", name, 0, NULL, 1, outs, d);
    if (nid < 0)
        return -1;
    oc_attr *a = oc_node_add_attr(g, nid, "value", d);
    if (!a || !(a->t = oc_tensor_new(OC_BOOL, 0, NULL, d)))
        return -1;
    a->type = OC_ATTR_TENSOR;
    ((unsigned char *)a->t->data)[0] = (unsigned char)(v != 0);
    return 0;
}

/* Input 0 of Optional / OptionalGetElement as a tensor of g. */
static int tensor_input(const oc_graph *g, const oc_opt_table *tab, const oc_seq_table *seqs, const char *op,
                        const char *x, oc_diag *d)
{
    if (oc_opt_is_empty(tab, g, x))
        return oc_fail(d, "input '%s' is an empty optional%s", x,
                       strcmp(op, "OptionalGetElement") == 0 ? ", which holds no element to get"
                                                             : "; an optional of an optional is not supported");
    if (oc_seq_has(seqs, g, x))
        return oc_fail(d, "input '%s' is a sequence; onnxc keeps optionals of tensors only", x);
    if (oc_graph_find(g, x) < 0)
        return oc_fail(d, "input '%s' is not a tensor of this graph", x);
    return 0;
}

int oc_opt_lower(oc_graph *g, oc_opt_table **tab, const oc_seq_table *seqs, const char *op, const char *name,
                 int n_in, const char *const *in, int n_out, const char *const *out, oc_diag *d)
{
    if (!*tab && !(*tab = calloc(1, sizeof **tab)))
        return oc_fail(d, "out of memory");
    if (n_out != 1 || !out[0] || !*out[0])
        return oc_fail(d, "%s needs exactly one named output", op);
    if (n_in > 1)
        return oc_fail(d, "%s takes at most one input, got %d", op, n_in);
    const char *x = n_in == 1 && in[0] && *in[0] ? in[0] : NULL;
    if (strcmp(op, "Optional") == 0) {
        if (!x)
            return add_empty(g, *tab, seqs, out[0], d);
        return tensor_input(g, *tab, seqs, op, x, d) ? -1 : identity(g, name, x, out[0], d);
    }
    if (strcmp(op, "OptionalGetElement") == 0) {
        if (!x)
            return oc_fail(d, "OptionalGetElement needs its input (input 0)");
        return tensor_input(g, *tab, seqs, op, x, d) ? -1 : identity(g, name, x, out[0], d);
    }
    if (strcmp(op, "OptionalHasElement") == 0) {
        int has = 0;
        if (x && !oc_opt_is_empty(*tab, g, x)) {
            if (!oc_seq_has(seqs, g, x) && !defined_value(g, x))
                return oc_fail(d, "input '%s' is not defined", x);
            has = 1;
        }
        return const_bool(g, name, has, out[0], d);
    }
    return oc_fail(d, "internal error: %s is not an optional op", op);
}
