/* einsum.c: Einsum (opset 12): attribute parsing, shape rule and lowering;
 * the kernel is runtime/kernels/einsum.c.
 *
 * The equation (numpy einsum notation, spaces allowed anywhere) names each
 * input's dims with letters; one "..." per term stands for the dims not
 * named, and the ellipsis dims of all inputs broadcast together, aligned
 * right. With "->" the output lists its letters (and "..."); without it the
 * output is the ellipsis dims followed by the letters used exactly once,
 * in ASCII order (numpy's implicit mode). Every letter absent from the
 * output is summed over; a letter repeated within a term takes that
 * term's diagonal. Letters of extent 1 broadcast against other extents,
 * as numpy allows. */
#include "op.h"

#include <stdio.h>
#include <string.h>

#include "../../runtime/kernels/einsum.h"

#define N_LETTERS 52
#define MAX_LABELS (N_LETTERS + OC_MAX_RANK)
#define MAX_TERMS 64

/* The resolved equation: labels 0..51 are letters, 52.. ellipsis dims. */
typedef struct einsum_spec {
    int n_in;
    int rank[MAX_TERMS];
    int label[MAX_TERMS][OC_MAX_RANK];  /* label of each input dim */
    int64_t ext[MAX_LABELS];            /* extent per label, -1 unknown */
    int count[MAX_LABELS];              /* occurrences over all terms */
    int ell_rank;
    int n_out;
    int out[OC_MAX_RANK];               /* output labels */
} einsum_spec;

static int letter_slot(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* Merge extent e into *d: unknown (-1) yields to known, 1 broadcasts. */
static int merge_extent(int64_t *d, int64_t e)
{
    if (e < 0 || *d == e)
        return 0;
    if (*d < 0 || *d == 1) {
        *d = e;
        return 0;
    }
    return e == 1 ? 0 : -1;
}

/* Parse eq for inputs of the given ranks and dims (dims may be -1).
 * Returns 0, or -1 with a message in err. */
static int parse_einsum(const char *eq, int n_in, const int *rank, const int64_t (*dims)[OC_MAX_RANK],
                        einsum_spec *sp, char *err, size_t cap)
{
    char e[512];
    size_t len = 0;
    memset(sp, 0, sizeof *sp);
    for (const char *p = eq; *p; p++)
        if (*p != ' ') {
            if (len + 1 >= sizeof e) {
                snprintf(err, cap, "equation is too long");
                return -1;
            }
            e[len++] = *p;
        }
    e[len] = 0;
    char *rhs = strstr(e, "->");
    if (rhs) {
        *rhs = 0;
        rhs += 2;
        if (strstr(rhs, "->") || strchr(rhs, ',')) {
            snprintf(err, cap, "equation '%s' has a malformed output", eq);
            return -1;
        }
    }
    if (n_in > MAX_TERMS) {
        snprintf(err, cap, "at most %d inputs are supported", MAX_TERMS);
        return -1;
    }
    sp->n_in = n_in;
    for (int i = 0; i < MAX_LABELS; i++)
        sp->ext[i] = -1;
    /* pass 1: letters of each term, ellipsis rank */
    char *terms[MAX_TERMS];
    int nt = 0, has_ell[MAX_TERMS];
    for (char *t = e;;) {
        if (nt >= n_in) {
            snprintf(err, cap, "equation '%s' names more operands than the %d inputs", eq, n_in);
            return -1;
        }
        terms[nt++] = t;
        char *comma = strchr(t, ',');
        if (!comma)
            break;
        *comma = 0;
        t = comma + 1;
    }
    if (nt != n_in) {
        snprintf(err, cap, "equation '%s' names %d operands for %d inputs", eq, nt, n_in);
        return -1;
    }
    sp->ell_rank = 0;
    for (int k = 0; k < n_in; k++) {
        int letters = 0;
        has_ell[k] = 0;
        for (char *p = terms[k]; *p; p++) {
            if (p[0] == '.' && p[1] == '.' && p[2] == '.' && !has_ell[k]) {
                has_ell[k] = 1;
                p += 2;
            } else if (letter_slot(*p) >= 0) {
                letters++;
            } else {
                snprintf(err, cap, "equation '%s': unexpected '%c' in term %d", eq, *p, k);
                return -1;
            }
        }
        int er = rank[k] - letters;
        if (er < 0 || (!has_ell[k] && er != 0)) {
            snprintf(err, cap, "equation '%s': term %d names %d dims but input %d has rank %d", eq, k, letters, k,
                     rank[k]);
            return -1;
        }
        if (er > sp->ell_rank)
            sp->ell_rank = er;
        sp->rank[k] = rank[k];
    }
    /* pass 2: a label per input dim, and extents */
    for (int k = 0; k < n_in; k++) {
        int letters = 0, d = 0;
        for (char *p = terms[k]; *p; p++)
            letters += letter_slot(*p) >= 0;
        int er = rank[k] - letters;
        for (char *p = terms[k]; *p; p++) {
            if (*p == '.') {
                p += 2;
                for (int j = 0; j < er; j++)
                    sp->label[k][d++] = N_LETTERS + sp->ell_rank - er + j;
                continue;
            }
            sp->label[k][d++] = letter_slot(*p);
        }
        for (d = 0; d < rank[k]; d++) {
            int l = sp->label[k][d];
            sp->count[l]++;
            if (merge_extent(&sp->ext[l], dims[k][d])) {
                snprintf(err, cap, "equation '%s': dim %d of input %d is %lld, elsewhere %lld", eq, d, k,
                         (long long)dims[k][d], (long long)sp->ext[l]);
                return -1;
            }
        }
    }
    /* output labels */
    sp->n_out = 0;
    if (rhs) {
        int seen_ell = 0, used[MAX_LABELS] = {0};
        for (char *p = rhs; *p; p++) {
            if (p[0] == '.' && p[1] == '.' && p[2] == '.' && !seen_ell) {
                seen_ell = 1;
                p += 2;
                for (int j = 0; j < sp->ell_rank; j++) {
                    if (sp->n_out >= OC_MAX_RANK)
                        goto too_big;
                    sp->out[sp->n_out++] = N_LETTERS + j;
                }
                continue;
            }
            int l = letter_slot(*p);
            if (l < 0 || !sp->count[l] || used[l]) {
                snprintf(err, cap, "equation '%s': output '%c' is not an input letter or repeats", eq, *p);
                return -1;
            }
            used[l] = 1;
            if (sp->n_out >= OC_MAX_RANK)
                goto too_big;
            sp->out[sp->n_out++] = l;
        }
    } else {
        for (int j = 0; j < sp->ell_rank; j++)
            sp->out[sp->n_out++] = N_LETTERS + j;
        static const char order[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (const char *c = order; *c; c++) {
            int l = letter_slot(*c);
            if (sp->count[l] != 1)
                continue;
            if (sp->n_out >= OC_MAX_RANK)
                goto too_big;
            sp->out[sp->n_out++] = l;
        }
    }
    return 0;
too_big:
    snprintf(err, cap, "equation '%s': output rank exceeds %d", eq, OC_MAX_RANK);
    return -1;
}

static int infer_einsum(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    const char *eq = oc_attr_string(n, "equation", NULL);
    if (!eq)
        return oc_infer_fail(cx, "needs attribute 'equation'");
    if (n->n_in > MAX_TERMS)
        return oc_infer_fail(cx, "at most %d inputs are supported", MAX_TERMS);
    int rank[MAX_TERMS], dtype = 0;
    int64_t dims[MAX_TERMS][OC_MAX_RANK];
    for (int k = 0; k < n->n_in; k++) {
        oc_value *x = oc_infer_in_ranked(cx, k);
        if (!x)
            return -1;
        if (dtype && x->dtype && x->dtype != dtype)
            return oc_infer_fail(cx, "input types differ: %s and %s", oc_dtype_name(dtype), oc_dtype_name(x->dtype));
        if (!dtype)
            dtype = x->dtype;
        rank[k] = x->rank;
        memcpy(dims[k], x->dims, sizeof dims[k]);
    }
    einsum_spec sp;
    char err[512];
    if (parse_einsum(eq, n->n_in, rank, (const int64_t(*)[OC_MAX_RANK])dims, &sp, err, sizeof err))
        return oc_infer_fail(cx, "%s", err);
    int64_t out[OC_MAX_RANK];
    for (int i = 0; i < sp.n_out; i++)
        out[i] = sp.ext[sp.out[i]];
    return oc_infer_set_out(cx, 0, dtype, sp.n_out, out);
}

/* Multiply-accumulates: the product of all label extents (one product per
 * combination of label values, for two inputs). */
static int64_t macs_einsum(const oc_graph *g, const oc_node *n)
{
    const char *eq = oc_attr_string(n, "equation", NULL);
    if (!eq || n->n_in > MAX_TERMS)
        return -1;
    int rank[MAX_TERMS];
    int64_t dims[MAX_TERMS][OC_MAX_RANK];
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0 || g->values[n->in[k]].rank < 0)
            return -1;
        rank[k] = g->values[n->in[k]].rank;
        memcpy(dims[k], g->values[n->in[k]].dims, sizeof dims[k]);
    }
    einsum_spec sp;
    char err[512];
    if (parse_einsum(eq, n->n_in, rank, (const int64_t(*)[OC_MAX_RANK])dims, &sp, err, sizeof err))
        return -1;
    int64_t m = 1;
    for (int l = 0; l < MAX_LABELS; l++) {
        if (!sp.count[l])
            continue;
        if (sp.ext[l] < 0)
            return -1;
        if (sp.ext[l] && m > INT64_MAX / sp.ext[l])
            return -1;
        m *= sp.ext[l];
    }
    return n->n_in >= 2 ? m * (n->n_in - 1) : 0;
}

/* Smallest contraction (multiply-adds) worth packing for BLAS. */
#define GEMM_MIN_MACS (1 << 16)

/* Sets up the batched GEMM path (einsum.h) when the einsum is a two-input
 * float contraction without diagonals or single-input sums. */
static void plan_gemm(const einsum_spec *sp, const int64_t (*lstride)[MAX_LABELS], oc_einsum_params *p,
                      oc_lowered *lw)
{
    if (p->n_in != 2 || (p->dtype != OC_FLOAT && p->dtype != OC_DOUBLE))
        return;
    int in_a[MAX_LABELS] = {0}, in_b[MAX_LABELS] = {0}, in_y[MAX_LABELS] = {0};
    for (int d = 0; d < sp->rank[0]; d++)
        if (in_a[sp->label[0][d]]++)
            return; /* diagonal */
    for (int d = 0; d < sp->rank[1]; d++)
        if (in_b[sp->label[1][d]]++)
            return;
    int64_t ystride[MAX_LABELS] = {0}, st = 1;
    for (int i = sp->n_out - 1; i >= 0; i--) {
        in_y[sp->out[i]] = 1;
        ystride[sp->out[i]] = st;
        st *= sp->ext[sp->out[i]];
    }
    /* group labels: batch, M, K, N (kind 0..3) */
    int n = 0, cnt[4] = {0};
    int64_t prod[4] = {1, 1, 1, 1};
    for (int kind = 0; kind < 4; kind++) {
        for (int l = 0; l < MAX_LABELS; l++) {
            if (!sp->count[l])
                continue;
            int k;
            if (in_a[l] && in_b[l])
                k = in_y[l] ? 0 : 2;
            else if (in_a[l] && in_y[l])
                k = 1;
            else if (in_b[l] && in_y[l])
                k = 3;
            else
                return; /* summed within one input */
            if (k != kind)
                continue;
            if (n >= OC_MAX_RANK * 2)
                return;
            p->g_ext[n] = sp->ext[l];
            p->g_sa[n] = lstride[0][l];
            p->g_sb[n] = lstride[1][l];
            p->g_sy[n] = ystride[l];
            prod[kind] *= sp->ext[l];
            cnt[kind]++;
            n++;
        }
    }
    int64_t B = prod[0], M = prod[1], K = prod[2], N = prod[3];
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || B * M * N * K < GEMM_MIN_MACS)
        return;
    p->gemm = 1;
    p->g_nb = cnt[0];
    p->g_nm = cnt[1];
    p->g_nk = cnt[2];
    p->g_nn = cnt[3];
    p->g_b = B;
    p->g_m = M;
    p->g_k = K;
    p->g_n = N;
    size_t es = p->dtype == OC_DOUBLE ? sizeof(double) : sizeof(float);
    lw->scratch = (size_t)(B * M * K + B * K * N + B * M * N) * es;
}

static int lower_einsum(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const char *eq = oc_attr_string(n, "equation", "");
    if (n->n_in > OC_EINSUM_MAX_IN)
        return oc_fail(d, "at most %d inputs are supported", OC_EINSUM_MAX_IN);
    int rank[OC_EINSUM_MAX_IN];
    int64_t dims[OC_EINSUM_MAX_IN][OC_MAX_RANK];
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0)
            return oc_fail(d, "input %d is missing", k);
        rank[k] = g->values[n->in[k]].rank;
        memcpy(dims[k], g->values[n->in[k]].dims, sizeof dims[k]);
    }
    einsum_spec sp;
    char err[512];
    if (parse_einsum(eq, n->n_in, rank, (const int64_t(*)[OC_MAX_RANK])dims, &sp, err, sizeof err))
        return oc_fail(d, "%s", err);
    oc_einsum_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->dtype = g->values[n->in[0]].dtype;
    if (p->dtype != OC_FLOAT && p->dtype != OC_DOUBLE && p->dtype != OC_INT32 && p->dtype != OC_INT64)
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(p->dtype));
    p->n_in = n->n_in;
    /* each input's stride per label (row-major strides, summed over a
     * term's repeated label; 0 where the input broadcasts) */
    int64_t lstride[OC_EINSUM_MAX_IN][MAX_LABELS];
    memset(lstride, 0, sizeof lstride);
    for (int k = 0; k < n->n_in; k++) {
        int64_t st = 1;
        for (int dd = rank[k] - 1; dd >= 0; dd--) {
            int l = sp.label[k][dd];
            if (!(dims[k][dd] == 1 && sp.ext[l] != 1))
                lstride[k][l] += st;
            st *= dims[k][dd];
        }
    }
    int in_out[MAX_LABELS] = {0};
    p->n_out = sp.n_out;
    for (int i = 0; i < sp.n_out; i++) {
        int l = sp.out[i];
        in_out[l] = 1;
        p->out_ext[i] = sp.ext[l];
        for (int k = 0; k < n->n_in; k++)
            p->out_stride[k][i] = lstride[k][l];
    }
    for (int l = 0; l < MAX_LABELS; l++) {
        if (!sp.count[l] || in_out[l])
            continue;
        if (p->n_sum >= OC_EINSUM_MAX_SUM)
            return oc_fail(d, "too many summed labels");
        p->sum_ext[p->n_sum] = sp.ext[l];
        for (int k = 0; k < n->n_in; k++)
            p->sum_stride[k][p->n_sum] = lstride[k][l];
        p->n_sum++;
    }
    plan_gemm(&sp, (const int64_t(*)[MAX_LABELS])lstride, p, lw);
    lw->fn = oc_einsum_forward;
    return 0;
}

const oc_op oc_ops_einsum[] = {
    {"Einsum", 1, 64, 1, 1, infer_einsum, macs_einsum, 0, 0, lower_einsum},
    {0},
};
