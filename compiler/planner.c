/* planner.c: see planner.h.
 *
 * Memory: intermediates are placed in definition order; a tensor's block
 * is free again after the last step that reads it (graph outputs live to
 * the end). Placement is first-fit over the gaps between live blocks, 64-byte
 * aligned. Steps whose outputs are all known constants are dropped: shape
 * inference has already computed them. With opts.views, a byte-copy
 * reshape of an arena tensor is no step at all: its output aliases the
 * input's block (see plan_views). */
#include "planner.h"
#include "passes/pass.h"
#include "../runtime/strtensor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/op.h"
#include "../runtime/kernels/conv.h"
#include "../runtime/kernels/conv_depthwise.h"
#include "../runtime/kernels/sgemm.h"
#include "../runtime/kernels/table.h"

#define ALIGN 64
static size_t align_up(size_t x) { return (x + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

/* Checked size arithmetic for byte counts that derive from untrusted
 * shapes: 0, or -1 when the result would wrap. */
static int size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return -1;
    *out = a + b;
    return 0;
}

static int size_mul(size_t a, size_t b, size_t *out)
{
    if (b && a > SIZE_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

/* oc_plan_opts.max_memory when 0: half of the physical RAM. */
static size_t default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t total;
    if (pages <= 0 || page <= 0 || size_mul((size_t)pages, (size_t)page, &total))
        return SIZE_MAX;
    return total / 2;
}

/* The plan needs more than its memory limit: name the largest tensor. */
static void fail_memory(const oc_plan *p, size_t need, size_t limit, const char *what, oc_diag *d)
{
    char a[32], b[32], c[32], sh[256];
    int big = -1;
    for (int t = 0; t < p->n_tensors; t++) /* inputs are the caller's memory */
        if (p->kind[t] != OC_T_INPUT &&
            (big < 0 || oc_tensor_nbytes(&p->tensors[t]) > oc_tensor_nbytes(&p->tensors[big])))
            big = t;
    if (big < 0) {
        oc_fail(d, "the plan needs %s (%s), above the memory limit of %s (--max-memory)",
                oc_format_bytes(a, sizeof a, (double)need), what, oc_format_bytes(b, sizeof b, (double)limit));
        return;
    }
    const oc_tensor *t = &p->tensors[big];
    oc_fail(d, "the plan needs %s (%s), above the memory limit of %s (--max-memory; the default is half the physical RAM); "
               "the largest tensor is '%s' %s %s, %s",
            oc_format_bytes(a, sizeof a, (double)need), what, oc_format_bytes(b, sizeof b, (double)limit),
            p->names[big] ? p->names[big] : "?", oc_format_dims(sh, sizeof sh, t->dims, t->rank),
            oc_dtype_name(t->dtype), oc_format_bytes(c, sizeof c, (double)oc_tensor_nbytes(t)));
}

typedef struct live { size_t off, size; int last; } live;

int oc_plan_arena(int n, const size_t *size, const int *def, const int *last, size_t *off, size_t *total);

/* First-fit placement by liveness; blocks are live over [def, last]. */
int oc_plan_arena(int n, const size_t *size, const int *def, const int *last, size_t *off, size_t *total)
{
    live *act = malloc(sizeof(live) * (size_t)(n + 1));
    int na = 0;
    size_t peak = 0;
    if (!act)
        return -1;
    /* tensors arrive in order of definition */
    for (int t = 0; t < n; t++) {
        if (def[t] < 0) {
            off[t] = 0;
            continue;
        }
        int k = 0;
        for (int i = 0; i < na; i++) /* drop blocks dead before this step */
            if (act[i].last >= def[t])
                act[k++] = act[i];
        na = k;
        /* sort live blocks by offset (few blocks: insertion sort) */
        for (int i = 1; i < na; i++) {
            live x = act[i];
            int j = i - 1;
            while (j >= 0 && act[j].off > x.off) {
                act[j + 1] = act[j];
                j--;
            }
            act[j + 1] = x;
        }
        size_t need = align_up(size[t] ? size[t] : 1), pos = 0, end;
        if (need < size[t]) {
            free(act);
            return -1;
        }
        for (int i = 0; i < na; i++) {
            if (act[i].off >= pos + need)
                break;
            end = align_up(act[i].off + act[i].size);
            if (end > pos)
                pos = end;
        }
        if (size_add(pos, need, &end)) {
            free(act);
            return -1;
        }
        off[t] = pos;
        act[na].off = pos;
        act[na].size = need;
        act[na].last = last[t];
        na++;
        if (pos + need > peak)
            peak = pos + need;
    }
    free(act);
    *total = peak;
    return 0;
}

/* Control flow: a node holding a subgraph (If, Loop, Scan). */
static int has_subgraph(const oc_node *n)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].g)
            return 1;
    return 0;
}

static int node_is_constant(const oc_graph *g, const oc_node *n)
{
    int any = 0;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        if (!g->values[n->out[k]].constant)
            return 0;
        any = 1;
    }
    return any;
}

/* Kernels that prepare data from constant inputs (packed weights) get a
 * slice of one prep block, filled once here. A constant the graph marks
 * variable (a parameter `onnxc grad` differentiates) is not prepared: its
 * kernel was chosen to read it as it is at every run (a trained Conv W is
 * transformed at run time, in float), and a plan that prepared it anyway
 * would compute other roundings than the training step it stands for.
 * variable[t] marks such tensors (NULL: none). */
static unsigned char *constants_needed(const oc_plan *p, oc_diag *d);
/* Largest consuming pack for which all packs go on huge pages (prepare_releasing). */
#define PREP_HUGE_CONSUMED_MAX ((size_t)64 << 20)
static int prepare_releasing(oc_plan *p, const oc_graph *g, const int *vof, oc_diag *d);

static int prepare_steps(oc_plan *p, const unsigned char *variable, const oc_graph *g, const int *vof, oc_diag *d)
{
    const oc_tensor *inb[64];
    oc_tensor *outb[64];
    for (int s = 0; s < p->n_steps; s++) {
        oc_step *st = &p->steps[s];
        const oc_kernel_info *k = oc_kernel_get(st->kernel);
        if (!k->prep || !k->prep_bytes || st->n_in > 64 || st->n_out > 64)
            continue;
        int ok = 1;
        for (int i = 0; i < st->n_in && i < 32; i++)
            if ((k->prep_inputs >> i & 1u) &&
                (st->in[i] < 0 || p->kind[st->in[i]] != OC_T_CONST || (variable && variable[st->in[i]])))
                ok = 0;
        if (!ok)
            continue;
        for (int i = 0; i < st->n_in; i++)
            inb[i] = st->in[i] >= 0 ? &p->tensors[st->in[i]] : NULL;
        for (int i = 0; i < st->n_out; i++)
            outb[i] = st->out[i] >= 0 ? &p->tensors[st->out[i]] : NULL;
        oc_kargs a = {.p = st->params, .n_in = st->n_in, .n_out = st->n_out, .in = inb, .out = outb,
                      .threads = p->threads, .d = d};
        size_t bytes = align_up(k->prep_bytes(&a));
        if (!bytes)
            continue;
        if (p->prep_bytes > SIZE_MAX - bytes)
            return oc_fail(d, "node '%s': prepared data too large", st->name);
        st->prep_offset = p->prep_bytes;
        st->prep_bytes = bytes;
        p->prep_bytes += bytes;
    }
    if (!p->prep_bytes)
        return 0;
    /* huge pages for the prep block; a consuming prep's region keeps small
     * ones (prepare_releasing) */
    if ((p->prep = aligned_alloc(ALIGN, p->prep_bytes)) && !vof)
        oc_advise_huge(p->prep, p->prep_bytes);
    if (!p->prep)
        return oc_fail(d, "out of memory preparing kernels (%zu bytes)", p->prep_bytes);
    return vof ? prepare_releasing(p, g, vof, d) : oc_plan_prepare(p, d);
}

/* oc_plan_prepare for release_constants: a constant read only through
 * prepared inputs has its graph data freed after the last step that
 * prepares it, and a step that alone prepares such inputs may consume
 * them while packing. vof[t]: the graph value of constant tensor t, -1
 * for other tensors. */
static int prepare_releasing(oc_plan *p, const oc_graph *g, const int *vof, oc_diag *d)
{
    unsigned char *needed = constants_needed(p, d);
    int *last = malloc(sizeof(int) * ((size_t)p->n_tensors + 1)), *count = calloc((size_t)p->n_tensors + 1, sizeof(int));
    int rc = -1;
    if (!needed || !last || !count) {
        oc_fail(d, "out of memory while planning");
        goto out;
    }
    for (int t = 0; t < p->n_tensors; t++)
        last[t] = -1;
    for (int s = 0; s < p->n_steps; s++) {
        const oc_step *st = &p->steps[s];
        unsigned mask = st->prep_bytes ? oc_kernel_get(st->kernel)->prep_inputs : 0;
        for (int i = 0; i < st->n_in && i < 32; i++)
            if ((mask >> i & 1u) && st->in[i] >= 0)
                last[st->in[i]] = s, count[st->in[i]]++;
    }
    /* which preps consume their constants, and whether all may take huge pages */
    int all_huge = 1;
    size_t advised = 0; /* prep bytes [0, advised) already advised */
    for (int s = 0; s < p->n_steps; s++) {
        oc_step *st = &p->steps[s];
        unsigned mask = st->prep_bytes ? oc_kernel_get(st->kernel)->prep_inputs : 0;
        int consume = mask != 0;
        for (int i = 0; i < st->n_in && i < 32; i++)
            if ((mask >> i & 1u) && st->in[i] >= 0)
                consume &= !needed[st->in[i]] && count[st->in[i]] == 1 && vof[st->in[i]] >= 0;
        st->prep_consume = consume;
        if (consume && st->prep_bytes > PREP_HUGE_CONSUMED_MAX)
            all_huge = 0;
    }
    for (int s = 0; s < p->n_steps; s++) {
        oc_step *st = &p->steps[s];
        unsigned mask = st->prep_bytes ? oc_kernel_get(st->kernel)->prep_inputs : 0;
        /* A consuming prep packs in bands, each written across the whole
         * pack (one piece per KC slice): on huge pages each band would
         * fault in 2 MB per slice at once (VGG-16's fc6, 411 MB: +196 MB
         * of peak), so such packs keep 4 KB pages. But streaming packed
         * weights on 4 KB pages costs a page walk per 4 KB, and in a VM
         * (nested paging) that made whole runs slow: ResNet-50, batch 8,
         * one thread, 8 alternating processes each (Zen 5 VM, noisy host),
         * medians 358-698 ms on 4 KB pages, 343-451 ms with its packs on
         * huge pages (88 -> 229 MB of them; peak RSS the same); four such
         * sets all gave the same picture, and all four had the best 4 KB
         * process about 6% faster than the best huge-page one (319-322
         * against 338-343 ms; the fc layer 0.52 against 1.16 ms: not
         * understood). A user waits for the typical run, so when
         * no consuming pack exceeds PREP_HUGE_CONSUMED_MAX all packs take
         * huge pages. Not a mix: with VGG-16's convs on huge pages and
         * fc6/fc7 on 4 KB, fc6 took 85 ms instead of 17 in half the runs
         * (batch 1, one thread; not understood, measured). */
        if ((!st->prep_consume || all_huge) && st->prep_bytes && st->prep_offset >= advised) {
            /* the run of consecutive such packs in one call: advice is
             * rounded inwards to whole 2 MB pages, so packs smaller than
             * that advised one by one got none (all of MobileNet-v2's) */
            size_t e = st->prep_offset + st->prep_bytes;
            for (int t = s + 1; t < p->n_steps; t++) {
                const oc_step *nt = &p->steps[t];
                if (!nt->prep_bytes)
                    continue;
                if (nt->prep_offset != e || (nt->prep_consume && !all_huge))
                    break;
                e += nt->prep_bytes;
            }
            oc_advise_huge(p->prep + st->prep_offset, e - st->prep_offset);
            advised = e;
        }
        if (oc_plan_prepare_step(p, s, d))
            goto out;
        for (int i = 0; i < st->n_in && i < 32; i++) {
            int t = st->in[i];
            if (!(mask >> i & 1u) || t < 0 || last[t] != s || needed[t] || vof[t] < 0)
                continue;
            oc_tensor *c = g->values[vof[t]].constant;
            free(c->data);
            c->data = NULL;
            p->tensors[t].data = NULL;
        }
    }
    rc = 0;
out:
    free(needed);
    free(last);
    free(count);
    return rc;
}

/* Whether node n lowers to a kernel that runs one image at a time
 * (oc_kernel_slices_batch), the reference one under o->kernel_ref as the
 * step loop below picks it: a chain is planned only if all its nodes do. */
static int node_slices(const oc_graph *g, const oc_node *n, const oc_plan_opts *o)
{
    if (!n->op || !n->op->lower)
        return 0;
    oc_lowered lw = {0};
    oc_diag quiet;
    oc_diag_init(&quiet);
    int ok = 0;
    if (!n->op->lower(g, n, &lw, &quiet)) {
        int kid = oc_kernel_id_of(lw.fn);
        const oc_kernel_info *ki = kid >= 0 ? oc_kernel_get(kid) : NULL;
        if (ki && o && o->kernel_ref && ki->ref)
            kid = oc_kernel_id_of(ki->ref);
        ok = kid >= 0 && oc_kernel_slices_batch(kid);
    }
    free(lw.params);
    for (int k = 0; k < lw.n_sub; k++)
        oc_plan_free(lw.sub[k]);
    free(lw.sub);
    return ok;
}

/* A value one step of an image-by-image chain writes and only the next
 * reads (oc_slice_chains): held for one image per thread that may run the
 * chain (plan.c run_slices splits the images over the threads), not for
 * the whole batch. The images then reuse the same few megabytes instead of
 * each writing a fresh part of a batch-sized tensor, so the expanded
 * tensor is still in cache when the depthwise conv reads it: MobileNet-v2
 * at batch 8 spent 3-10% more per image in every chained conv than at
 * batch 1 (one thread, AVX2 EPYC). The tensor's first dimension becomes
 * the number of slots; run_image views slot `tid` of it. */
static void chain_slots(oc_plan *p, const int *alias, int t, size_t *size)
{
    if (t < 0 || p->kind[t] != OC_T_ARENA || alias[t] >= 0)
        return;
    for (int u = 0; u < p->n_tensors; u++)
        if (alias[u] == t)
            return; /* a view reads the whole tensor */
    oc_tensor *x = &p->tensors[t];
    int64_t batch = x->rank >= 1 ? x->dims[0] : 0;
    int64_t slots = p->threads > 1 && batch >= p->threads ? p->threads : 1;
    if (batch <= slots || x->numel % batch)
        return;
    size_t per = size[t] / (size_t)batch;
    p->tensor_bytes -= size[t] - per * (size_t)slots;
    size[t] = per * (size_t)slots;
    x->numel = x->numel / batch * slots;
    x->dims[0] = slots;
}

/* The c8 pairs (oc_plan_opts.c8): a 1x1 conv step (oc_conv_forward) whose
 * output only the next step reads, as X of a depthwise conv the AVX2
 * 8-channel blocks run (oc_conv_depthwise_c8_ok). The 1x1 conv then writes
 * that tensor in blocks of 8 channels and the depthwise conv reads them
 * in place, with no padded copy and no transposes of 8 planes (conv.h
 * out_c8 / in_c8). The tensor is no graph output and no view's root, so
 * nothing else sees its layout. Only the step kinds and parameters are
 * read here; the depthwise step's per-thread scratch grows to the blocks'
 * (stride 1 otherwise runs the plane kernel). Returns -1 out of memory.
 *
 * Measured, MobileNet-v2, batch 1, one thread, the AVX2 EPYC, in the
 * model against ORT's profiler (4 alternating repetitions): the depthwise
 * convs 10-40% faster (14x14 stride 1, 384 channels: 0.105 -> 0.083 ms;
 * 28 -> 14: 0.082 -> 0.050; 56 -> 28: 0.201 -> 0.122), their 1x1 convs
 * 0-13% slower (positions as the product's rows: 16 -> 96 at 112x112
 * 1.466 -> 1.673 ms, with the depthwise conv after it 0.585 -> 0.390;
 * 64 -> 384 at 14x14 0.289 -> 0.293); the layer sum 0.971 -> 0.981 of
 * ORT's. Limits: on 7x7 maps the 1x1 conv lost more than the depthwise
 * conv gained (160 -> 960: 0.457 -> 0.528 ms against 0.097 -> 0.088); a
 * stride-1 depthwise conv on 56 columns was slower read from the blocks
 * (0.475 -> 0.531 ms) than by its plane kernel. Slice chains (batch 2 and
 * up) pair too: see below. */
#define C8_MIN_POSITIONS 100
#define C8_S1_MAX_W 28

static int pair_c8(oc_plan *p, const oc_graph *g, const int *tid, const int *alias, size_t *per_thread_max)
{
    int k1 = oc_kernel_id_of(oc_conv_forward), kdw = oc_kernel_id_of(oc_conv_depthwise_forward);
    int *reads = calloc((size_t)p->n_tensors + 1, sizeof(int));
    if (!reads)
        return -1;
    for (int s = 0; s < p->n_steps; s++)
        for (int k = 0; k < p->steps[s].n_in; k++)
            if (p->steps[s].in[k] >= 0)
                reads[p->steps[s].in[k]]++;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] >= 0 && tid[g->outputs[i]] >= 0)
            reads[tid[g->outputs[i]]] += 2;
    for (int t = 0; t < p->n_tensors; t++)
        if (alias[t] >= 0)
            reads[alias[t]] += 2;
    /* inside slice chains too: a chain's steps run one image at a time, as
     * at batch 1 (MobileNet-v2 at batch 8, one thread: 162.6 -> 160.1 ms,
     * alternating processes; once the chain's tensors were held per thread,
     * planner.c chain_slots. Before that, each image writing a fresh part
     * of a batch-sized tensor, the pairs lost) */
    for (int s = 0; s + 1 < p->n_steps; s++) {
        oc_step *a = &p->steps[s], *b = &p->steps[s + 1];
        if (a->kernel != k1 || b->kernel != kdw || a->n_out < 1 || a->n_in < 2 || b->n_in < 1)
            continue;
        int t = a->out[0];
        if (t < 0 || b->in[0] != t || reads[t] != 1)
            continue;
        oc_conv_params *pa = a->params, *pb = b->params;
        int act = pa->ep.act;
        if (pa->nsp != 2 || !pa->pointwise || pa->group != 1 || pa->cout % 8 || pa->ep.has_residual || pa->wpack ||
            (act != OC_ACT_NONE && act != OC_ACT_RELU && act != OC_ACT_CLIP) || pb->cin != pa->cout ||
            !oc_sgemm_c8_store() || pa->cin > oc_sgemm_kc() || pa->in[0] * pa->in[1] < C8_MIN_POSITIONS ||
            (pb->s[0] == 1 && pb->in[1] > C8_S1_MAX_W) ||
            !oc_conv_depthwise_c8_ok(pb))
            continue;
        pa->out_c8 = pb->in_c8 = 1;
        b->tscratch = align_up(oc_conv_depthwise_tscratch(pb));
        if (b->tscratch > *per_thread_max)
            *per_thread_max = b->tscratch;
        s++; /* the depthwise conv writes the usual layout */
    }
    free(reads);
    return 0;
}

/* Per tensor: read other than through a prepared input (or an output). */
static unsigned char *constants_needed(const oc_plan *p, oc_diag *d)
{
    unsigned char *needed = calloc((size_t)p->n_tensors + 1, 1);
    if (!needed) {
        oc_fail(d, "out of memory while planning");
        return NULL;
    }
    for (int i = 0; i < p->n_outputs; i++)
        needed[p->outputs[i]] = 1;
    for (int s = 0; s < p->n_steps; s++) {
        const oc_step *st = &p->steps[s];
        const oc_kernel_info *k = oc_kernel_get(st->kernel);
        for (int i = 0; i < st->n_in; i++) {
            int covered = st->prep_bytes && i < 32 && (k->prep_inputs >> i & 1u);
            if (st->in[i] >= 0 && !covered)
                needed[st->in[i]] = 1;
        }
    }
    return needed;
}

/* Places the constants in the weights block, which nothing has written
 * yet: those only prepared kernels read (weights that now live packed in
 * the prep block) are left out and their tensors lose their data (NULL;
 * oc_plan_prepare skips steps whose inputs are gone); the others are
 * copied from the graph, packed together, and the unused tail of the
 * block goes back to the system. So a packed weight is never held twice
 * by the plan, and VGG's 411 MB classifier weight is not copied at all. */
static int place_constants(oc_plan *p, oc_diag *d)
{
    unsigned char *needed = constants_needed(p, d);
    if (!needed)
        return -1;
    size_t pos = 0;
    for (int t = 0; t < p->n_tensors; t++) {
        if (p->kind[t] != OC_T_CONST)
            continue;
        size_t bytes = align_up(oc_tensor_nbytes(&p->tensors[t]));
        if (!needed[t] && p->prep_bytes) {
            p->tensors[t].data = NULL;
            continue;
        }
        memcpy(p->weights + pos, p->tensors[t].data, oc_tensor_nbytes(&p->tensors[t]));
        p->offset[t] = pos;
        p->tensors[t].data = p->weights + pos;
        pos += bytes;
    }
    free(needed);
    p->weight_bytes = pos;
    p->weights_map = oc_unmap_tail(p->weights, p->weights_map, pos);
    return 0;
}

/* ---- views ----
 * Reshape, Flatten, Squeeze, Unsqueeze and Identity copy bytes unchanged
 * (compiler/ops/shape_ops.c lower_copy). When the input lives in the
 * arena, the output can simply be the same bytes: in this plan an arena
 * block is written only by the step that defines it, so nothing writes
 * the input after the view is taken. The view's tensor gets the root
 * block's offset and no block of its own, and every use of the view
 * counts as a use of the root, so the root's block lives as long as any
 * alias. Shape inputs must be constants (no run-time check to keep). */
static int is_view_node(const oc_graph *g, const oc_node *n)
{
    static const char *const ops[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
    int hit = 0;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        hit |= !strcmp(n->op_type, ops[k]);
    if (!hit || (n->domain && *n->domain) || n->n_out != 1 || n->n_in < 1 || n->in[0] < 0 || n->out[0] < 0)
        return 0;
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].constant)
            return 0;
    const oc_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    return x->dtype == y->dtype && oc_value_numel(x) == oc_value_numel(y);
}

/* Marks view steps as not kept and sets alias[t] to the root arena tensor
 * of each view output (-1 elsewhere). Returns the bytes no longer placed. */
static size_t plan_views(const oc_graph *g, unsigned char *keep, const int *tid, const int *kind, int *alias,
                         size_t *size)
{
    size_t saved = 0;
    for (int s = 0; s < g->n_nodes; s++) {
        const oc_node *n = &g->nodes[s];
        if (!keep[s] || !is_view_node(g, n))
            continue;
        int ti = tid[n->in[0]], to = tid[n->out[0]];
        if (ti < 0 || to < 0 || kind[ti] != OC_T_ARENA || kind[to] != OC_T_ARENA)
            continue;
        alias[to] = alias[ti] >= 0 ? alias[ti] : ti;
        keep[s] = 0;
        saved += size[to];
        size[to] = 0;
    }
    return saved;
}

static int view_root(const int *alias, int t) { return t >= 0 && alias[t] >= 0 ? alias[t] : t; }

/* Ops that may read or write string tensors: the string ops, Equal, and
 * ops that only move elements (their kernels copy oc_str pairs, whose bytes
 * stay where they are: runtime/strtensor.h). Any other op meeting a string
 * would treat the pairs as numbers. */
static const char *const string_ops[] = {
    "StringNormalizer", "StringConcat", "StringSplit", "RegexFullMatch", "Equal", "Identity", "Reshape",
    "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather", "Expand", "Tile",
    "Shape", "Size",
};

/* String tensors: only in string_ops, and never constants (a constant's
 * bytes would have to live in the weights block). Returns 1 when the plan
 * has string tensors, 0 when not, -1 on error. */
static int check_strings(const oc_graph *g, const unsigned char *used, const unsigned char *keep, oc_diag *d)
{
    int any = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (!used[v] || g->values[v].dtype != OC_STRING)
            continue;
        any = 1;
        if (g->values[v].constant)
            return oc_fail(d, "value '%s': constant string tensors are not supported", g->values[v].name);
    }
    for (int s = 0; any && s < g->n_nodes; s++) {
        const oc_node *n = &g->nodes[s];
        if (!keep[s])
            continue;
        int str = 0;
        for (int k = 0; k < n->n_in; k++)
            str |= n->in[k] >= 0 && g->values[n->in[k]].dtype == OC_STRING;
        for (int k = 0; k < n->n_out; k++)
            str |= n->out[k] >= 0 && g->values[n->out[k]].dtype == OC_STRING;
        int ok = !str;
        for (size_t i = 0; !ok && !(n->domain && *n->domain) && i < sizeof string_ops / sizeof string_ops[0]; i++)
            ok = !strcmp(n->op_type, string_ops[i]);
        /* ai.onnx.ml's LabelEncoder reads string keys (its lowering refuses string values) */
        ok |= n->domain && !strcmp(n->domain, OC_DOMAIN_ML) && !strcmp(n->op_type, "LabelEncoder");
        if (!ok)
            return oc_fail(d, "node '%s' (%s): string tensors are not supported by this op", n->name ? n->name : "",
                           n->op_type);
    }
    return any;
}

oc_plan *oc_plan_build(const oc_graph *g, const oc_plan_opts *o, oc_diag *d)
{
    char lb[300], sh[256];
    unsigned char *train_kind = NULL;
    oc_plan *p = calloc(1, sizeof *p);
    int nv = g->n_values;
    int *tid = malloc(sizeof(int) * (size_t)(nv + 1));
    int *alias = NULL; /* per tensor: the arena tensor a view aliases, or -1 */
    int *slices = NULL; /* per node: length of the image-by-image chain it starts (oc_slice_chains) */
    if (!p || !tid) {
        free(tid);
        free(p);
        oc_fail(d, "out of memory");
        return NULL;
    }
    p->threads = o && o->threads > 0 ? o->threads : 1;
    for (int i = 0; i < nv; i++)
        tid[i] = -1;

    /* which values the plan needs: inputs, outputs, and everything a kept
     * step reads or writes */
    unsigned char *used = calloc((size_t)nv + 1, 1);
    unsigned char *keep = calloc((size_t)g->n_nodes + 1, 1);
    if (!used || !keep)
        goto oom;
    for (int i = 0; i < g->n_inputs; i++)
        used[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++)
        used[g->outputs[i]] = 1;
    for (int s = 0; s < g->n_nodes; s++) {
        const oc_node *n = &g->nodes[s];
        if (node_is_constant(g, n))
            continue;
        keep[s] = 1;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                used[n->in[k]] = 1;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                used[n->out[k]] = 1;
    }
    int has_str = check_strings(g, used, keep, d);
    if (has_str < 0)
        goto fail;
    if (has_str && !(p->strings = calloc(1, sizeof *p->strings)))
        goto oom;
    for (int v = 0; v < nv; v++) {
        if (!used[v])
            continue;
        const oc_value *val = &g->values[v];
        int known = val->rank >= 0 && oc_dtype_size(val->dtype);
        for (int i = 0; known && i < val->rank; i++)
            known = val->dims[i] >= 0;
        if (!known) {
            if (!oc_dtype_size(val->dtype) && val->dtype)
                oc_fail(d, "value '%s' has element type %s, which onnxc cannot run yet", val->name,
                        oc_dtype_name(val->dtype));
            else if (val->producer >= 0 && has_subgraph(&g->nodes[val->producer]))
                oc_fail(d, "%s: output '%s' has shape %s, which onnxc cannot fix when planning (its condition or trip "
                           "count is only known at run time and the shape depends on it, or its subgraph's shapes "
                           "do not resolve); onnxc plans static shapes and cannot run it yet",
                        oc_node_label(&g->nodes[val->producer], lb, sizeof lb), val->name,
                        oc_format_dims(sh, sizeof sh, val->dims, val->rank < 0 ? 0 : val->rank));
            else if (g->parent)
                oc_fail(d, "value '%s' has unknown shape %s (in a subgraph: a shape that depends on the iteration "
                           "or on data is not supported yet)", val->name,
                        oc_format_dims(sh, sizeof sh, val->dims, val->rank < 0 ? 0 : val->rank));
            else
                oc_fail(d, "value '%s' has unknown shape %s; bind symbolic dims with --batch or --dim", val->name,
                        oc_format_dims(sh, sizeof sh, val->dims, val->rank < 0 ? 0 : val->rank));
            goto fail;
        }
        tid[v] = p->n_tensors++;
    }
    p->tensors = calloc((size_t)p->n_tensors + 1, sizeof *p->tensors);
    p->kind = calloc((size_t)p->n_tensors + 1, sizeof *p->kind);
    p->offset = calloc((size_t)p->n_tensors + 1, sizeof *p->offset);
    p->names = calloc((size_t)p->n_tensors + 1, sizeof *p->names);
    int *def = malloc(sizeof(int) * (size_t)(p->n_tensors + 1));
    int *last = malloc(sizeof(int) * (size_t)(p->n_tensors + 1));
    size_t *size = calloc((size_t)p->n_tensors + 1, sizeof(size_t));
    alias = malloc(sizeof(int) * (size_t)(p->n_tensors + 1));
    if (!p->tensors || !p->kind || !p->offset || !p->names || !def || !last || !size || !alias) {
        free(def);
        free(last);
        free(size);
        goto oom;
    }
    for (int t = 0; t < p->n_tensors; t++)
        alias[t] = -1;
    train_kind = calloc((size_t)nv + 1, 1);
    if (!train_kind) {
        free(def);
        free(last);
        free(size);
        goto oom;
    }
    for (int k = 0; o && k < o->n_train; k++) {
        int pv = o->train_params[k], gv = o->train_grads[k];
        if (pv < 0 || pv >= nv || gv < 0 || gv >= nv || tid[pv] < 0 || tid[gv] < 0 || g->values[pv].dtype != OC_FLOAT ||
            g->values[gv].dtype != OC_FLOAT || oc_value_numel(&g->values[pv]) != oc_value_numel(&g->values[gv])) {
            free(def);
            free(last);
            free(size);
            oc_fail(d, "training parameter %d and its gradient do not match (float32, same size, both used)", k);
            goto fail;
        }
        if (!g->values[pv].constant) { /* its data seeds the params block */
            free(def);
            free(last);
            free(size);
            oc_fail(d, "training parameter '%s' has no initial value (not an initializer)", g->values[pv].name);
            goto fail;
        }
        train_kind[pv] = OC_T_PARAM;
        train_kind[gv] = OC_T_GRAD;
    }
    for (int v = 0; v < nv; v++) {
        int t = tid[v];
        if (t < 0)
            continue;
        const oc_value *val = &g->values[v];
        oc_value_view(val, &p->tensors[t]);
        if (!(p->names[t] = oc_strdup(val->name))) {
            free(def);
            free(last);
            free(size);
            goto oom;
        }
        size_t bytes;
        if (p->tensors[t].numel < 0 || size_mul((size_t)p->tensors[t].numel, oc_dtype_size(val->dtype), &bytes) ||
            bytes > (size_t)OC_MAX_TENSOR_BYTES) {
            char sz[32], lim[32];
            double nb = (double)oc_dtype_size(val->dtype);
            for (int i = 0; i < val->rank; i++)
                nb *= (double)val->dims[i];
            oc_fail(d, "value '%s': %s %s is %s, above the %s limit per tensor", val->name,
                    oc_format_dims(sh, sizeof sh, val->dims, val->rank), oc_dtype_name(val->dtype),
                    oc_format_bytes(sz, sizeof sz, nb), oc_format_bytes(lim, sizeof lim, (double)OC_MAX_TENSOR_BYTES));
            free(def);
            free(last);
            free(size);
            goto fail;
        }
        def[t] = -1;
        last[t] = -1;
        if (train_kind[v]) {
            p->kind[t] = train_kind[v];
        } else if (val->constant) {
            p->kind[t] = OC_T_CONST;
            p->offset[t] = p->weight_bytes;
            if (size_add(p->weight_bytes, align_up(bytes), &p->weight_bytes)) {
                free(def);
                free(last);
                free(size);
                oc_fail(d, "the model's constants add up to more than %zu bytes", SIZE_MAX);
                goto fail;
            }
        } else if (val->flags & OC_VALUE_INPUT) {
            p->kind[t] = OC_T_INPUT;
        } else {
            p->kind[t] = OC_T_ARENA;
            size[t] = bytes;
            if (size_add(p->tensor_bytes, bytes, &p->tensor_bytes)) {
                free(def);
                free(last);
                free(size);
                oc_fail(d, "the model's intermediates add up to more than %zu bytes", SIZE_MAX);
                goto fail;
            }
            def[t] = g->n_nodes; /* set below from the producer */
        }
    }
    if (o && o->views)
        p->tensor_bytes -= plan_views(g, keep, tid, p->kind, alias, size);
    /* liveness over kept steps (a view's uses extend its root's life) */
    for (int s = 0; s < g->n_nodes; s++) {
        if (!keep[s])
            continue;
        const oc_node *n = &g->nodes[s];
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && p->kind[tid[n->out[k]]] == OC_T_ARENA)
                def[tid[n->out[k]]] = s;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k] >= 0 ? view_root(alias, tid[n->in[k]]) : -1;
            if (t >= 0 && last[t] < s)
                last[t] = s;
        }
    }
    /* image-by-image chains: everything a chain reads or writes stays live
     * to its last node, so no output written for one image lands on an
     * input the next image still reads */
    if (o && o->batch_slice && o->n_train == 0) {
        int *uses = calloc((size_t)nv + 1, sizeof(int));
        slices = calloc((size_t)g->n_nodes + 1, sizeof(int));
        if (uses && slices) {
            for (int s = 0; s < g->n_nodes; s++)
                for (int k = 0; keep[s] && k < g->nodes[s].n_in; k++)
                    if (g->nodes[s].in[k] >= 0)
                        uses[g->nodes[s].in[k]]++;
            oc_slice_chains(g, keep, uses, slices);
            for (int s = 0; s < g->n_nodes; s++) {
                if (slices[s] < 2)
                    continue;
                int nodes[OC_SLICE_MAX_LEN], m = 0;
                for (int u = s; u < g->n_nodes && m < slices[s]; u++)
                    if (keep[u])
                        nodes[m++] = u;
                int sliceable = m == slices[s];
                for (int i = 0; sliceable && i < m; i++)
                    sliceable = node_slices(g, &g->nodes[nodes[i]], o);
                if (!sliceable) {
                    slices[s] = 0; /* runs layer by layer; its tensors stay whole */
                    continue;
                }
                int end = nodes[m - 1];
                for (int i = 0; i < m; i++) {
                    const oc_node *n = &g->nodes[nodes[i]];
                    for (int k = 0; k < n->n_in + n->n_out; k++) {
                        int v = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
                        int t = v >= 0 ? view_root(alias, tid[v]) : -1;
                        if (t >= 0 && p->kind[t] == OC_T_ARENA && last[t] < end)
                            last[t] = end;
                    }
                }
                for (int i = 0; i + 1 < m; i++)
                    chain_slots(p, alias, tid[g->nodes[nodes[i]].out[0]], size);
            }
        } else {
            free(slices);
            slices = NULL;
        }
        free(uses);
    }
    for (int i = 0; i < g->n_outputs; i++)
        last[view_root(alias, tid[g->outputs[i]])] = g->n_nodes;
    for (int t = 0; t < p->n_tensors; t++) {
        if (p->kind[t] != OC_T_ARENA || alias[t] >= 0)
            continue;
        if (last[t] < def[t])
            last[t] = def[t]; /* written but never read: live for its own step */
        if (o && o->no_reuse) {
            def[t] = 0;
            last[t] = g->n_nodes;
        }
    }
    /* oc_plan_arena expects definition order: sort ids by def */
    {
        int n = p->n_tensors;
        int *order = malloc(sizeof(int) * (size_t)(n + 1));
        int *d2 = calloc((size_t)n + 1, sizeof(int)), *l2 = calloc((size_t)n + 1, sizeof(int));
        size_t *s2 = calloc((size_t)n + 1, sizeof(size_t)), *o2 = calloc((size_t)n + 1, sizeof(size_t));
        int m = 0;
        if (!order || !d2 || !l2 || !s2 || !o2) {
            free(order); free(d2); free(l2); free(s2); free(o2);
            free(def); free(last); free(size);
            goto oom;
        }
        for (int s = -1; s <= g->n_nodes; s++) /* stable bucket by def */
            for (int t = 0; t < n; t++)
                if (p->kind[t] == OC_T_ARENA && alias[t] < 0 && def[t] == s)
                    order[m++] = t;
        for (int i = 0; i < m; i++) {
            d2[i] = def[order[i]];
            l2[i] = last[order[i]];
            s2[i] = size[order[i]];
        }
        int rc = oc_plan_arena(m, s2, d2, l2, o2, &p->arena_bytes);
        for (int i = 0; i < m && !rc; i++)
            p->offset[order[i]] = o2[i];
        for (int t = 0; t < n; t++)
            if (alias[t] >= 0)
                p->offset[t] = p->offset[alias[t]];
        free(order); free(d2); free(l2); free(s2); free(o2);
        if (rc) {
            free(def); free(last); free(size);
            goto oom;
        }
    }
    free(def);
    free(last);
    free(size);
    free(train_kind);
    train_kind = NULL;
    /* everything the plan allocates below, against the memory limit */
    size_t limit = o && o->max_memory ? o->max_memory : default_max_memory(), need = p->arena_bytes, train = 0;
    for (int k = 0; o && k < o->n_train; k++)
        if (size_add(train, align_up(oc_tensor_nbytes(&p->tensors[tid[o->train_params[k]]])), &train))
            train = SIZE_MAX;
    if (size_add(need, p->weight_bytes, &need) || size_add(need, train, &need) || size_add(need, train, &need) ||
        need > limit) {
        char a[32], w[32], tb[32], what[128];
        snprintf(what, sizeof what, "arena %s + weights %s%s%s", oc_format_bytes(a, sizeof a, (double)p->arena_bytes),
                 oc_format_bytes(w, sizeof w, (double)p->weight_bytes), train ? " + 2 x training block " : "",
                 train ? oc_format_bytes(tb, sizeof tb, (double)train) : "");
        fail_memory(p, need, limit, what, d);
        goto fail;
    }
    /* the training blocks: parameter k and its gradient at the same offset */
    if (o && o->n_train > 0) {
        p->n_train = o->n_train;
        p->train_offset = calloc((size_t)o->n_train, sizeof(size_t));
        p->train_numel = calloc((size_t)o->n_train, sizeof(int64_t));
        if (!p->train_offset || !p->train_numel)
            goto oom;
        for (int k = 0; k < o->n_train; k++) {
            p->train_offset[k] = p->train_floats;
            p->train_numel[k] = p->tensors[tid[o->train_params[k]]].numel;
            p->train_floats += align_up((size_t)p->train_numel[k] * sizeof(float)) / sizeof(float);
        }
        size_t bytes = align_up(p->train_floats * sizeof(float) + 1);
        p->params = aligned_alloc(ALIGN, bytes);
        p->grads = aligned_alloc(ALIGN, bytes);
        if (!p->params || !p->grads)
            goto oom;
        memset(p->params, 0, bytes);
        memset(p->grads, 0, bytes);
        for (int k = 0; k < o->n_train; k++) {
            oc_tensor *pt = &p->tensors[tid[o->train_params[k]]], *gt = &p->tensors[tid[o->train_grads[k]]];
            pt->data = p->params + p->train_offset[k];
            gt->data = p->grads + p->train_offset[k];
            memcpy(pt->data, g->values[o->train_params[k]].constant->data, sizeof(float) * (size_t)p->train_numel[k]);
        }
    }
    p->arena = aligned_alloc(ALIGN, align_up(p->arena_bytes ? p->arena_bytes : 1));
    oc_prefault(p->arena, p->arena_bytes);
    p->weights_map = align_up(p->weight_bytes ? p->weight_bytes : 1);
    p->weights = oc_map_block(p->weights_map); /* pages fault in only where written */
    if (!p->arena || !p->weights)
        goto oom;
    /* Constants: with mutable constants every one is copied into the
     * weights block now. Otherwise their tensors read the graph's data
     * until the kernels have prepared (packed) theirs; then only the
     * constants something still reads unprepared are copied
     * (place_constants), so weights that live packed are never copied. */
    int defer = !(o && o->mutable_constants);
    for (int v = 0; v < nv; v++) {
        int t = tid[v];
        if (t < 0)
            continue;
        if (p->kind[t] == OC_T_CONST) {
            if (defer) {
                p->tensors[t].data = g->values[v].constant->data;
            } else {
                p->tensors[t].data = p->weights + p->offset[t];
                memcpy(p->tensors[t].data, g->values[v].constant->data, oc_tensor_nbytes(&p->tensors[t]));
            }
        } else if (p->kind[t] == OC_T_ARENA) {
            p->tensors[t].data = p->arena + p->offset[t];
        }
    }
    /* steps */
    size_t shared_max = 0, per_thread_max = 0;
    p->steps = calloc((size_t)g->n_nodes + 1, sizeof *p->steps);
    p->inputs = malloc(sizeof(int) * (size_t)(g->n_inputs + 1));
    p->outputs = malloc(sizeof(int) * (size_t)(g->n_outputs + 1));
    if (!p->steps || !p->inputs || !p->outputs)
        goto oom;
    for (int s = 0; s < g->n_nodes; s++) {
        if (!keep[s])
            continue;
        const oc_node *n = &g->nodes[s];
        if (!n->op || !n->op->lower) {
            oc_fail(d, "%s: onnxc has no kernel for %s yet", oc_node_label(n, lb, sizeof lb), n->op_type);
            goto fail;
        }
        oc_lowered lw = {0};
        if (n->op->lower(g, n, &lw, d)) {
            free(lw.params);
            for (int k = 0; k < lw.n_sub; k++)
                oc_plan_free(lw.sub[k]);
            free(lw.sub);
            if (!strstr(d->msg, "node '"))
                oc_diag_prefix(d, "%s: ", oc_node_label(n, lb, sizeof lb));
            goto fail;
        }
        int kid = oc_kernel_id_of(lw.fn);
        if (kid < 0) {
            free(lw.params);
            for (int k = 0; k < lw.n_sub; k++)
                oc_plan_free(lw.sub[k]);
            free(lw.sub);
            oc_fail(d, "%s: internal error: its kernel is not in the kernel table (runtime/kernels/table.c)",
                    oc_node_label(n, lb, sizeof lb));
            goto fail;
        }
        const oc_kernel_info *ki = oc_kernel_get(kid);
        if (o && o->kernel_ref && ki->ref) {
            kid = oc_kernel_id_of(ki->ref);
            ki = oc_kernel_get(kid);
        }
        oc_step *st = &p->steps[p->n_steps++];
        st->slice_len = slices ? slices[s] : 0;
        st->fn = ki->fn;
        st->kernel = kid;
        st->params = lw.params;
        st->params_size = lw.params_size;
        st->sub = lw.sub;
        st->n_sub = lw.n_sub;
        st->scratch = align_up(lw.scratch);
        st->tscratch = align_up(lw.tscratch);
        st->flops = lw.flops;
        if (!st->flops && n->op->macs) {
            int64_t macs = n->op->macs(g, n);
            st->flops = macs > 0 && macs < INT64_MAX / 2 ? 2 * macs : 0;
        }
        if (st->scratch > shared_max)
            shared_max = st->scratch;
        if (st->tscratch > per_thread_max)
            per_thread_max = st->tscratch;
        st->n_in = n->n_in;
        st->n_out = n->n_out;
        st->in = malloc(sizeof(int) * (size_t)(n->n_in + 1));
        st->out = malloc(sizeof(int) * (size_t)(n->n_out + 1));
        st->name = oc_strdup(n->name);
        st->op = oc_strdup(n->op_type);
        if (!st->in || !st->out || !st->name || !st->op)
            goto oom;
        for (int k = 0; k < n->n_in; k++)
            st->in[k] = n->in[k] >= 0 ? tid[n->in[k]] : -1;
        for (int k = 0; k < n->n_out; k++)
            st->out[k] = n->out[k] >= 0 ? tid[n->out[k]] : -1;
    }
    /* one-thread plans only: on 2 threads MobileNet-v2 at batch 1 ran 2-3%
     * slower with the pairs (12.5-12.8 against 12.2-12.4 ms, alternating
     * processes; one thread: 1-2% faster) */
    if (o && o->c8 && o->n_train == 0 && p->threads == 1 && pair_c8(p, g, tid, alias, &per_thread_max))
        goto oom;
    /* a chain runs image by image only if every step of it is a conv
     * forward kernel (oc_conv_params, batch loop outermost) */
    for (int s = 0; s < p->n_steps; s++) {
        oc_step *st = &p->steps[s];
        if (st->slice_len < 2)
            continue;
        int ok = s + st->slice_len <= p->n_steps;
        for (int k = 0; ok && k < st->slice_len; k++)
            ok = oc_kernel_slices_batch(p->steps[s + k].kernel);
        if (!ok) {
            /* node_slices passed every node of it, and chain_slots may have
             * sized its tensors for one image per thread: no batched run */
            oc_fail(d, "node '%s' (%s): internal error: an image-by-image chain lost its sliceable kernel",
                    st->name, st->op);
            goto fail;
        }
    }
    /* scratch: the largest shared part, then one slice per thread */
    p->tscratch_stride = per_thread_max;
    {
        size_t per_all;
        if (size_mul(per_thread_max, (size_t)p->threads, &per_all) || size_add(shared_max, per_all, &p->scratch_bytes)) {
            oc_fail(d, "kernel scratch for %d threads overflows", p->threads);
            goto fail;
        }
    }
    if (size_add(need, p->scratch_bytes, &need) || need > limit) {
        char a[32], what[64];
        snprintf(what, sizeof what, "with %s of kernel scratch",
                 oc_format_bytes(a, sizeof a, (double)p->scratch_bytes));
        fail_memory(p, need, limit, what, d);
        goto fail;
    }
    if (p->scratch_bytes && (p->scratch = aligned_alloc(ALIGN, p->scratch_bytes)))
        oc_prefault(p->scratch, p->scratch_bytes);
    if (p->scratch_bytes && !p->scratch)
        goto oom;
    for (int i = 0; i < g->n_inputs; i++)
        p->inputs[p->n_inputs++] = tid[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++)
        p->outputs[p->n_outputs++] = tid[g->outputs[i]];
    unsigned char *variable = calloc((size_t)p->n_tensors + 1, 1);
    if (!variable)
        goto oom;
    for (int v = 0; v < g->n_values; v++)
        if (tid[v] >= 0 && (g->values[v].flags & OC_VALUE_VARIABLE))
            variable[tid[v]] = 1;
    int *vof = NULL; /* release_constants: the graph value of each constant tensor */
    if (defer && o && o->release_constants) {
        if (!(vof = malloc(sizeof(int) * ((size_t)p->n_tensors + 1)))) {
            free(variable);
            goto oom;
        }
        for (int t = 0; t < p->n_tensors; t++)
            vof[t] = -1;
        for (int v = 0; v < nv; v++)
            if (tid[v] >= 0 && p->kind[tid[v]] == OC_T_CONST && g->values[v].constant &&
                p->tensors[tid[v]].data == g->values[v].constant->data)
                vof[tid[v]] = v;
    }
    int prep_rc = prepare_steps(p, variable, g, vof, d);
    free(variable);
    free(vof);
    if (prep_rc || (defer && place_constants(p, d)))
        goto fail;
    free(tid);
    free(alias);
    free(slices);
    free(used);
    free(keep);
    return p;
oom:
    oc_fail(d, "out of memory while planning");
fail:
    free(train_kind);
    free(tid);
    free(alias);
    free(slices);
    free(used);
    free(keep);
    oc_plan_free(p);
    return NULL;
}
