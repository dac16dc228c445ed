/* plan.c: running a plan (see plan.h). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "plan.h"

#include "kernels/conv.h"
#include "kernels/table.h"
#include "threads.h"
#include "strtensor.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

int oc_plan_set_input(oc_plan *p, int k, const oc_tensor *t, oc_diag *d)
{
    if (k < 0 || k >= p->n_inputs)
        return oc_fail(d, "input %d does not exist (the model has %d)", k, p->n_inputs);
    oc_tensor *dst = &p->tensors[p->inputs[k]];
    char a[256], b[256];
    if (t->dtype != dst->dtype)
        return oc_fail(d, "input '%s' must be %s, got %s", p->names[p->inputs[k]], oc_dtype_name(dst->dtype),
                       oc_dtype_name(t->dtype));
    int same = t->rank == dst->rank;
    for (int i = 0; same && i < t->rank; i++)
        same = t->dims[i] == dst->dims[i];
    if (!same)
        return oc_fail(d, "input '%s' must have shape %s, got %s", p->names[p->inputs[k]],
                       oc_format_dims(a, sizeof a, dst->dims, dst->rank), oc_format_dims(b, sizeof b, t->dims, t->rank));
    dst->data = t->data;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define INLINE_ARGS 64

/* The arguments of step s: tensor pointers into in/out (inline arrays of
 * INLINE_ARGS, or heap ones the caller frees for steps with more). */
static int step_args(oc_plan *p, const oc_step *st, oc_kargs *a, const oc_tensor **inb, oc_tensor **outb,
                     void **heap, oc_diag *d)
{
    const oc_tensor **in = inb;
    oc_tensor **out = outb;
    *heap = NULL;
    if (st->n_in > INLINE_ARGS || st->n_out > INLINE_ARGS) { /* Concat/Sum of many inputs, Split */
        size_t ni = (size_t)st->n_in + 1, no = (size_t)st->n_out + 1;
        void **blk = malloc(sizeof(void *) * (ni + no));
        if (!blk)
            return oc_fail(d, "out of memory");
        in = (const oc_tensor **)blk;
        out = (oc_tensor **)(blk + ni);
        *heap = blk;
    }
    for (int k = 0; k < st->n_in; k++)
        in[k] = st->in[k] >= 0 ? &p->tensors[st->in[k]] : NULL;
    for (int k = 0; k < st->n_out; k++)
        out[k] = st->out[k] >= 0 ? &p->tensors[st->out[k]] : NULL;
    *a = (oc_kargs){.p = st->params, .n_in = st->n_in, .n_out = st->n_out, .in = in, .out = out,
                    .scratch = p->scratch, .threads = p->threads, .d = d,
                    .tscratch = p->scratch ? p->scratch + (p->scratch_bytes - p->tscratch_stride * (size_t)p->threads) : NULL,
                    .tscratch_stride = p->tscratch_stride,
                    .prep = st->prep_bytes ? p->prep + st->prep_offset : NULL,
                    .coll = p->coll.allreduce ? &p->coll : NULL,
                    .sub = st->sub, .n_sub = st->n_sub, .strings = p->strings};
    return 0;
}

/* Image n of a batched tensor: a view with dims[0] = 1. */
static void image_view(const oc_tensor *t, int64_t n, oc_tensor *v)
{
    *v = *t;
    int64_t per = t->dims[0] > 0 ? t->numel / t->dims[0] : 0;
    v->dims[0] = 1;
    v->numel = per;
    v->data = (unsigned char *)t->data + (size_t)(n * per) * oc_dtype_size(t->dtype);
}

/* Image n of a chain tensor: of a batch-sized one, or slot `slot` of one
 * the planner holds for one image per thread (planner.c chain_slots). */
static void chain_view(const oc_tensor *t, int64_t batch, int64_t n, int slot, oc_tensor *v)
{
    image_view(t, t->dims[0] == batch ? n : slot, v);
}

/* Runs steps s .. s + len - 1 on image n of `batch` with `threads`
 * threads, the chain's own tensors in slot `slot`; adds each step's time
 * to prof[k] when prof is not NULL. */
static int run_image(oc_plan *p, int s, int len, int64_t batch, int64_t n, int slot, int threads, double *prof,
                     oc_diag *d)
{
    for (int k = 0; k < len; k++) {
        oc_step *st = &p->steps[s + k];
        oc_tensor views[3];
        const oc_tensor *in[INLINE_ARGS];
        oc_tensor *out[INLINE_ARGS];
        oc_kargs a;
        void *heap;
        if (st->n_in > INLINE_ARGS || st->n_out > INLINE_ARGS)
            return oc_fail(d, "node '%s' (%s): internal error: too many arguments for a sliced step", st->name,
                           st->op);
        if (step_args(p, st, &a, in, out, &heap, d))
            return -1;
        /* a conv's batched tensors: X (input 0), the residual (input 3), Y;
         * W and B are whole whatever produced them */
        if (st->n_in > 0 && in[0]) {
            chain_view(in[0], batch, n, slot, &views[0]);
            in[0] = &views[0];
        }
        if (st->n_in > 3 && in[3]) {
            chain_view(in[3], batch, n, slot, &views[1]);
            in[3] = &views[1];
        }
        if (st->n_out > 0 && out[0]) {
            chain_view(out[0], batch, n, slot, &views[2]);
            out[0] = &views[2];
        }
        oc_conv_params one = *(const oc_conv_params *)st->params;
        one.batch = 1;
        a.p = &one;
        a.threads = threads;
        double t0 = prof ? now() : 0;
        int rc = st->fn(&a);
        if (prof)
            prof[k] += now() - t0;
        if (rc) {
            oc_diag_prefix(d, "node '%s' (%s), image %lld: ", st->name, st->op, (long long)n);
            return -1;
        }
    }
    return 0;
}

typedef struct slice_job {
    oc_plan *p;
    int s, len;
    int64_t batch;
    double *prof;      /* thread 0's step times, or NULL */
    atomic_int failed; /* set by the first thread that fails, which leaves its message in msg */
    char msg[OC_DIAG_MSG];
} slice_job;

/* Images [b, e) on this thread, each kernel on one thread (a kernel's
 * parallel_for runs inline here, with this thread's scratch slice). */
static void slice_task(void *ctx, int64_t b, int64_t e, int tid)
{
    slice_job *j = ctx;
    oc_diag local;
    oc_diag_init(&local);
    for (int64_t n = b; n < e && !atomic_load(&j->failed); n++)
        if (run_image(j->p, j->s, j->len, j->batch, n, tid, 1, tid ? NULL : j->prof, &local)) {
            if (!atomic_exchange(&j->failed, 1))
                memcpy(j->msg, local.msg, sizeof j->msg);
            return;
        }
}

/* Steps s .. s + len - 1 (oc_step.slice_len), one image at a time. With
 * several threads and no shared scratch in the chain, the images are split
 * between the threads and each runs whole chains on one core (its images
 * stay in its own L2, no hand-off between kernels); otherwise the images
 * go in turn, each kernel threaded as usual (a thread's images, or all of
 * them in turn, share one slot of the chain's own tensors: the
 * oc_parallel_for parts are at most p->threads, the planner's slot count).
 * The profile gets each step's
 * time summed over the images (of the first thread's images when split). */
static int run_slices(oc_plan *p, int s, int len, double *profile, oc_diag *d)
{
    const oc_tensor *x = &p->tensors[p->steps[s].in[0]];
    int64_t batch = x->dims[0];
    double *prof = profile ? profile + s : NULL;
    for (int k = 0; prof && k < len; k++)
        prof[k] = 0;
    int split = p->threads > 1 && batch >= p->threads;
    for (int k = 0; split && k < len; k++)
        split = p->steps[s + k].scratch == 0;
    if (!split) {
        for (int64_t n = 0; n < batch; n++)
            if (run_image(p, s, len, batch, n, 0, p->threads, prof, d))
                return -1;
        return 0;
    }
    slice_job j = {.p = p, .s = s, .len = len, .batch = batch, .prof = prof};
    atomic_init(&j.failed, 0);
    oc_parallel_for(batch, 1, p->threads, slice_task, &j);
    if (atomic_load(&j.failed))
        return oc_fail(d, "%s", j.msg);
    return 0;
}

int oc_plan_run_profiled(oc_plan *p, double *profile, oc_diag *d)
{
    const oc_tensor *inb[INLINE_ARGS];
    oc_tensor *outb[INLINE_ARGS];
    for (int k = 0; k < p->n_inputs; k++)
        if (!p->tensors[p->inputs[k]].data && p->tensors[p->inputs[k]].numel)
            return oc_fail(d, "input '%s' was not given", p->names[p->inputs[k]]);
    oc_strpool_reset(p->strings); /* the last run's strings */
    for (int s = 0; s < p->n_steps; s++) {
        oc_step *st = &p->steps[s];
        if (st->slice_len >= 2 && s + st->slice_len <= p->n_steps) {
            if (run_slices(p, s, st->slice_len, profile, d))
                return -1;
            s += st->slice_len - 1;
            continue;
        }
        oc_kargs a;
        void *heap;
        if (step_args(p, st, &a, inb, outb, &heap, d))
            return -1;
        double t0 = profile ? now() : 0;
        int rc = st->fn(&a);
        if (profile)
            profile[s] = now() - t0;
        free(heap);
        if (rc) {
            oc_diag_prefix(d, "node '%s' (%s): ", st->name, st->op);
            return -1;
        }
    }
    return 0;
}

int oc_plan_prepare_step(oc_plan *p, int s, oc_diag *d)
{
    const oc_tensor *inb[INLINE_ARGS];
    oc_tensor *outb[INLINE_ARGS];
    oc_step *st = &p->steps[s];
    const oc_kernel_info *k = oc_kernel_get(st->kernel);
    if (!st->prep_bytes || !k || !k->prep)
        return 0;
    oc_kargs a;
    void *heap;
    if (step_args(p, st, &a, inb, outb, &heap, d))
        return -1;
    a.prep = NULL;
    a.prep_consume = st->prep_consume;
    st->prep_consume = 0;
    int gone = 0;
    for (int i = 0; i < st->n_in && i < 32; i++)
        gone |= (k->prep_inputs >> i & 1u) && st->in[i] >= 0 && !p->tensors[st->in[i]].data &&
                p->tensors[st->in[i]].numel;
    if (gone) { /* its constants live only in prepared form now */
        free(heap);
        return 0;
    }
    int rc = k->prep(&a, p->prep + st->prep_offset);
    free(heap);
    if (rc) {
        oc_diag_prefix(d, "node '%s' (%s): ", st->name, st->op);
        return -1;
    }
    return 0;
}

int oc_plan_prepare(oc_plan *p, oc_diag *d)
{
    for (int s = 0; s < p->n_steps; s++)
        if (oc_plan_prepare_step(p, s, d))
            return -1;
    return 0;
}

int oc_plan_run(oc_plan *p, oc_diag *d) { return oc_plan_run_profiled(p, NULL, d); }

void oc_plan_free(oc_plan *p)
{
    if (!p)
        return;
    for (int s = 0; s < p->n_steps; s++) {
        free(p->steps[s].params);
        free(p->steps[s].in);
        free(p->steps[s].out);
        free(p->steps[s].name);
        free(p->steps[s].op);
        for (int k = 0; k < p->steps[s].n_sub; k++)
            oc_plan_free(p->steps[s].sub[k]);
        free(p->steps[s].sub);
    }
    for (int i = 0; i < p->n_tensors; i++)
        free(p->names ? p->names[i] : NULL);
    free(p->names);
    free(p->steps);
    free(p->tensors);
    free(p->kind);
    free(p->offset);
    free(p->inputs);
    free(p->outputs);
    free(p->arena);
    oc_unmap_block(p->weights, p->weights_map);
    free(p->scratch);
    free(p->prep);
    free(p->train_offset);
    free(p->train_numel);
    free(p->params);
    free(p->grads);
    oc_strpool_reset(p->strings);
    free(p->strings);
    free(p);
}

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

static size_t round_pages(size_t n)
{
    size_t ps = page_size();
    return (n + ps - 1) / ps * ps;
}

unsigned char *oc_map_block(size_t bytes)
{
    void *m = mmap(NULL, round_pages(bytes ? bytes : 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    oc_advise_huge(m, bytes);
    return m;
}

size_t oc_unmap_tail(unsigned char *block, size_t mapped, size_t keep)
{
    size_t have = round_pages(mapped ? mapped : 1), want = round_pages(keep ? keep : 1);
    if (block && want < have && munmap(block + want, have - want) == 0)
        return want;
    return mapped;
}

void oc_unmap_block(unsigned char *block, size_t mapped)
{
    if (block)
        munmap(block, round_pages(mapped ? mapped : 1));
}
