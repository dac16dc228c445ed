/* onnxc_model.c: load options and inference models of the public API
 * (onnxc.h).
 *
 * A model keeps one compiled plan and the means to import its file again.
 * Compiling is the CLI's `run` path: import, bind dims, infer shapes, run
 * the graph passes, plan; the graph is freed afterwards (the plan holds
 * copies of the weights). A model whose inputs keep an unknown dim is
 * compiled at its first run from the tensors given, and again when a later
 * run brings other extents. Importing again also gives trainers a model
 * untouched by the inference rewrites (onnxc_trainer.c). A model loaded
 * from memory keeps its copy of the bytes; one loaded from a path drops
 * them once compiled and reads the file again when needed (checking that
 * its size and modification time did not change), so a loaded model does
 * not hold its file in memory twice (the plan's weights, the bytes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../compiler/onnx_import.h"
#include "../compiler/passes/pass.h"
#include "../compiler/planner.h"
#include "../compiler/shape.h"
#include "../runtime/io.h"
#include "../runtime/threads.h"
#include "api_internal.h"

#define MAX_DIM_BINDINGS 64
/* Model files above this size must keep their weights as external data
 * (the importer's own limit; ModelProto is read whole). */
#define MAX_MODEL_BYTES ((size_t)2 << 30)

struct onnxc_options {
    int64_t batch; /* -1: as declared */
    int n_dims;
    char *dim_name[MAX_DIM_BINDINGS];
    int64_t dim_value[MAX_DIM_BINDINGS];
    int threads;
    oc_pass_opts passes;
    uint64_t max_memory;
};

onnxc_status onnxc_options_new(onnxc_options **out)
{
    if (!out)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_new: out is NULL");
    onnxc_options *o = calloc(1, sizeof *o);
    if (!(*out = o))
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_options_new: out of memory");
    o->batch = -1;
    oc_pass_opts_default(&o->passes);
    return ONNXC_OK;
}

void onnxc_options_free(onnxc_options *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n_dims; i++)
        free(o->dim_name[i]);
    free(o);
}

onnxc_status onnxc_options_set_batch(onnxc_options *o, int64_t batch)
{
    if (!o || batch < 1)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_batch: %s",
                            o ? "the batch must be at least 1" : "options are NULL");
    o->batch = batch;
    return ONNXC_OK;
}

onnxc_status onnxc_options_set_dim(onnxc_options *o, const char *name, int64_t value)
{
    if (!o || !name || !*name || value < 1)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_dim: %s",
                            !o ? "options are NULL" : !name || !*name ? "no dim name" : "the value must be at least 1");
    for (int i = 0; i < o->n_dims; i++)
        if (!strcmp(o->dim_name[i], name)) {
            o->dim_value[i] = value;
            return ONNXC_OK;
        }
    if (o->n_dims == MAX_DIM_BINDINGS)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_dim: at most %d named dims", MAX_DIM_BINDINGS);
    if (!(o->dim_name[o->n_dims] = oc_strdup(name)))
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "onnxc_options_set_dim: out of memory");
    o->dim_value[o->n_dims++] = value;
    return ONNXC_OK;
}

onnxc_status onnxc_options_set_dim_spec(onnxc_options *o, const char *spec)
{
    const char *eq = spec ? strrchr(spec, '=') : NULL;
    char name[256];
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof name)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_dim_spec: expected NAME=N, got '%s'",
                            spec ? spec : "(null)");
    char *end;
    errno = 0;
    long long v = strtoll(eq + 1, &end, 10);
    if (end == eq + 1 || *end || errno || v < 1)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_dim_spec: '%s': N must be a positive integer",
                            spec);
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    return onnxc_options_set_dim(o, name, v);
}

onnxc_status onnxc_options_set_threads(onnxc_options *o, int n)
{
    if (!o || n < 0 || n > 1024)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_threads: %s",
                            o ? "threads must be 0 (the process setting) to 1024" : "options are NULL");
    o->threads = n;
    return ONNXC_OK;
}

onnxc_status onnxc_options_set_optimize(onnxc_options *o, int on)
{
    if (!o)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_optimize: options are NULL");
    o->passes.no_fuse = !on;
    return ONNXC_OK;
}

onnxc_status onnxc_options_disable_pass(onnxc_options *o, const char *name)
{
    if (!o || !name)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_disable_pass: %s is NULL", o ? "name" : "options");
    oc_diag d;
    oc_diag_init(&d);
    oc_pass_opts p = o->passes; /* a bad name leaves the options as they were */
    if (oc_pass_opts_add(&p, 0, name, &d))
        return oc_api_diag_error(ONNXC_ERR_ARGUMENT, &d);
    o->passes = p;
    return ONNXC_OK;
}

onnxc_status onnxc_options_set_passes(onnxc_options *o, const char *list)
{
    if (!o || !list)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_passes: %s is NULL", o ? "list" : "options");
    oc_diag d;
    oc_diag_init(&d);
    oc_pass_opts p = o->passes;
    if (oc_pass_opts_add(&p, 1, list, &d))
        return oc_api_diag_error(ONNXC_ERR_ARGUMENT, &d);
    o->passes = p;
    return ONNXC_OK;
}

onnxc_status onnxc_options_set_max_memory(onnxc_options *o, uint64_t bytes)
{
    if (!o)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_options_set_max_memory: options are NULL");
    o->max_memory = bytes;
    return ONNXC_OK;
}

/* ---- models ---- */

typedef struct io_info {
    char *name;
    int dtype, rank;
    int64_t dims[OC_MAX_RANK];
} io_info;

struct onnxc_model {
    char *path;                /* names the model in messages; external data is found beside it */
    unsigned char *bytes;      /* the serialized ModelProto (from memory); NULL: read from path */
    size_t len;                /* its size, or the file's */
    struct timespec mtime;     /* of the file when it was loaded */
    onnxc_options opts;        /* a copy (dim names owned) */
    int n_in, n_out, n_param;
    io_info *in, *out, *param; /* as declared after binding; out and in updated by compiling */
    int64_t (*declared)[OC_MAX_RANK]; /* input dims after binding, -1 = taken from the first run */
    oc_plan *plan;             /* NULL until compiled */
};

static void info_free(io_info *v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

void onnxc_model_free(onnxc_model *m)
{
    if (!m)
        return;
    oc_plan_free(m->plan);
    info_free(m->in, m->n_in);
    info_free(m->out, m->n_out);
    info_free(m->param, m->n_param);
    free(m->declared);
    for (int i = 0; i < m->opts.n_dims; i++)
        free(m->opts.dim_name[i]);
    free(m->bytes);
    free(m->path);
    free(m);
}

static int info_fill(io_info *dst, const oc_value *v)
{
    if (!(dst->name = oc_strdup(v->name)))
        return -1;
    dst->dtype = v->dtype;
    dst->rank = v->rank;
    for (int i = 0; i < v->rank && i < OC_MAX_RANK; i++)
        dst->dims[i] = v->dims[i];
    return 0;
}

static int same_file(const struct stat *st, size_t len, struct timespec mtime)
{
    return (uint64_t)st->st_size == len && st->st_mtim.tv_sec == mtime.tv_sec && st->st_mtim.tv_nsec == mtime.tv_nsec;
}

/* The file as imported with the options' dims bound: a fresh graph. A
 * model loaded from a path reads it again (oc_onnx_load frees the bytes as
 * soon as they are unpacked), refusing a file that changed since. */
static oc_graph *import_bound(const onnxc_model *m, oc_diag *d)
{
    oc_graph *g;
    struct stat st;
    if (m->bytes) {
        g = oc_onnx_load_memory(m->bytes, m->len, m->path, d);
    } else if (stat(m->path, &st) != 0 || !same_file(&st, m->len, m->mtime)) {
        oc_fail(d, "%s: the file changed (or went away) since the model was loaded; load it again", m->path);
        return NULL;
    } else {
        g = oc_onnx_load(m->path, d);
    }
    if (!g)
        return NULL;
    oc_dim_binding b[MAX_DIM_BINDINGS];
    for (int i = 0; i < m->opts.n_dims; i++)
        b[i] = (oc_dim_binding){m->opts.dim_name[i], m->opts.dim_value[i]};
    if (oc_graph_bind_dims(g, m->opts.batch, m->opts.n_dims, b, d)) {
        oc_diag_prefix(d, "%s: ", m->path);
        oc_graph_free(g);
        return NULL;
    }
    return g;
}

oc_graph *oc_api_model_graph(const onnxc_model *m, oc_diag *d)
{
    return import_bound(m, d);
}

/* Compiles the plan from g (consumed; NULL: the file imported afresh);
 * given[k] (may be NULL) supplies the extents of input k's unknown dims. */
static onnxc_status compile(onnxc_model *m, oc_graph *g, const onnxc_tensor *given)
{
    oc_diag d;
    oc_diag_init(&d);
    if (!g)
        g = import_bound(m, &d);
    oc_pass_report rep = {0};
    onnxc_status st = ONNXC_ERR_MODEL;
    if (!g)
        return oc_api_diag_error(d.msg[0] && strstr(d.msg, "out of memory") ? ONNXC_ERR_NO_MEMORY : ONNXC_ERR_MODEL,
                                 &d);
    for (int k = 0; k < g->n_inputs; k++) {
        oc_value *v = &g->values[g->inputs[k]];
        for (int i = 0; i < v->rank; i++) {
            if (v->dims[i] >= 0)
                continue;
            if (!given) {
                st = ONNXC_OK; /* compiled at the first run */
                goto done;
            }
            if (given[k].rank != v->rank) {
                oc_fail(&d, "%s: input '%s' has rank %d; the tensor given has rank %d", m->path, v->name, v->rank,
                        given[k].rank);
                st = ONNXC_ERR_ARGUMENT;
                goto done;
            }
            v->dims[i] = given[k].dims[i];
        }
    }
    int threads = m->opts.threads > 0 ? m->opts.threads : oc_get_threads();
    if (threads > oc_get_threads())
        oc_set_threads(threads);
    if (oc_graph_infer_shapes(g, &d) || oc_passes_run(g, &m->opts.passes, &rep, &d)) {
        oc_diag_prefix(&d, "%s: ", m->path);
        goto done;
    }
    /* g is freed below and read no more: release_constants */
    oc_plan_opts po = {.threads = threads, .max_memory = (size_t)m->opts.max_memory, .views = rep.views,
                       .batch_slice = rep.batch_slice, .c8 = rep.c8, .release_constants = 1};
    if (!(m->plan = oc_plan_build(g, &po, &d))) {
        oc_diag_prefix(&d, "%s: ", m->path);
        goto done;
    }
    for (int k = 0; k < m->n_in && k < m->plan->n_inputs; k++) {
        const oc_tensor *t = &m->plan->tensors[m->plan->inputs[k]];
        m->in[k].rank = t->rank;
        memcpy(m->in[k].dims, t->dims, sizeof t->dims);
    }
    for (int k = 0; k < m->n_out && k < m->plan->n_outputs; k++) {
        const oc_tensor *t = &m->plan->tensors[m->plan->outputs[k]];
        m->out[k].dtype = t->dtype;
        m->out[k].rank = t->rank;
        memcpy(m->out[k].dims, t->dims, sizeof t->dims);
    }
    st = ONNXC_OK;
done:
    oc_pass_report_free(&rep);
    oc_graph_free(g);
    return st == ONNXC_OK ? st : oc_api_diag_error(st, &d);
}

static onnxc_status load(const char *path, unsigned char *bytes, size_t len, const struct stat *st,
                         const onnxc_options *opts, onnxc_model **out)
{
    onnxc_model *m = calloc(1, sizeof *m);
    oc_diag d;
    oc_diag_init(&d);
    if (!m || !(m->path = oc_strdup(path))) {
        free(bytes);
        free(m);
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    m->bytes = bytes;
    m->len = len;
    if (st)
        m->mtime = st->st_mtim;
    if (opts) {
        m->opts = *opts;
        m->opts.n_dims = 0;
        for (int i = 0; i < opts->n_dims; i++) {
            if (!(m->opts.dim_name[i] = oc_strdup(opts->dim_name[i]))) {
                onnxc_model_free(m);
                return oc_api_error(ONNXC_ERR_NO_MEMORY, "%s: out of memory", path);
            }
            m->opts.n_dims++;
        }
    } else {
        m->opts.batch = -1;
        oc_pass_opts_default(&m->opts.passes);
    }
    oc_graph *g = import_bound(m, &d);
    if (!g) {
        onnxc_model_free(m);
        return oc_api_diag_error(ONNXC_ERR_MODEL, &d);
    }
    int n_param = 0;
    for (int v = 0; v < g->n_values; v++)
        n_param += (g->values[v].flags & OC_VALUE_INITIALIZER) && g->values[v].dtype == OC_FLOAT;
    m->n_in = g->n_inputs;
    m->n_out = g->n_outputs;
    m->in = calloc((size_t)m->n_in + 1, sizeof *m->in);
    m->out = calloc((size_t)m->n_out + 1, sizeof *m->out);
    m->param = calloc((size_t)n_param + 1, sizeof *m->param);
    m->declared = calloc((size_t)m->n_in + 1, sizeof *m->declared);
    int bad = !m->in || !m->out || !m->param || !m->declared;
    for (int k = 0; !bad && k < m->n_in; k++) {
        bad = info_fill(&m->in[k], &g->values[g->inputs[k]]);
        memcpy(m->declared[k], m->in[k].dims, sizeof m->declared[k]);
    }
    for (int k = 0; !bad && k < m->n_out; k++)
        bad = info_fill(&m->out[k], &g->values[g->outputs[k]]);
    for (int v = 0; !bad && v < g->n_values; v++)
        if ((g->values[v].flags & OC_VALUE_INITIALIZER) && g->values[v].dtype == OC_FLOAT) {
            const oc_tensor *c = g->values[v].constant;
            io_info *p = &m->param[m->n_param++];
            if (!(p->name = oc_strdup(g->values[v].name)))
                bad = 1;
            p->dtype = OC_FLOAT;
            p->rank = c ? c->rank : g->values[v].rank;
            memcpy(p->dims, c ? c->dims : g->values[v].dims, sizeof p->dims);
        }
    if (bad) {
        oc_graph_free(g);
        onnxc_model_free(m);
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    onnxc_status rc = compile(m, g, NULL); /* the graph just read: no second import */
    if (rc) {
        onnxc_model_free(m);
        return rc;
    }
    *out = m;
    return ONNXC_OK;
}

onnxc_status onnxc_model_load(const char *path, const onnxc_options *opts, onnxc_model **out)
{
    if (!out || !path)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_model_load: %s is NULL", out ? "path" : "out");
    *out = NULL;
    /* the file's facts now; each import reads it (not kept in memory) */
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f)
        return oc_api_error(ONNXC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int bad = fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode);
    fclose(f);
    if (bad)
        return oc_api_error(ONNXC_ERR_IO, "%s: not a regular file", path);
    if (st.st_size == 0)
        return oc_api_error(ONNXC_ERR_IO, "%s: the file is empty", path);
    return load(path, NULL, (size_t)st.st_size, &st, opts, out);
}

onnxc_status onnxc_model_load_memory(const void *data, size_t size, const onnxc_options *opts, onnxc_model **out)
{
    if (!out || (!data && size))
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_model_load_memory: %s is NULL", out ? "data" : "out");
    *out = NULL;
    if (size > MAX_MODEL_BYTES)
        return oc_api_error(ONNXC_ERR_MODEL, "<memory>: %zu bytes; at most %zu (larger models keep their weights "
                                             "as external data and load from a path)", size, MAX_MODEL_BYTES);
    unsigned char *bytes = malloc(size ? size : 1);
    if (!bytes)
        return oc_api_error(ONNXC_ERR_NO_MEMORY, "<memory>: out of memory copying %zu bytes", size);
    if (size)
        memcpy(bytes, data, size);
    return load("<memory>", bytes, size, NULL, opts, out);
}

int onnxc_model_input_count(const onnxc_model *m)
{
    return m ? m->n_in : 0;
}

int onnxc_model_output_count(const onnxc_model *m)
{
    return m ? m->n_out : 0;
}

int onnxc_model_param_count(const onnxc_model *m)
{
    return m ? m->n_param : 0;
}

static onnxc_status get_info(const char *fn, const io_info *v, int n, int k, onnxc_value_info *info)
{
    if (!v || !info || k < 0 || k >= n)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: %s", fn,
                            !v ? "model is NULL" : !info ? "info is NULL" : "index out of range");
    memset(info, 0, sizeof *info);
    info->name = v[k].name;
    info->dtype = v[k].dtype;
    info->rank = v[k].rank;
    for (int i = 0; i < v[k].rank && i < ONNXC_MAX_RANK; i++)
        info->dims[i] = v[k].dims[i];
    return ONNXC_OK;
}

onnxc_status onnxc_model_input_info(const onnxc_model *m, int k, onnxc_value_info *info)
{
    return get_info("onnxc_model_input_info", m ? m->in : NULL, m ? m->n_in : 0, k, info);
}

onnxc_status onnxc_model_output_info(const onnxc_model *m, int k, onnxc_value_info *info)
{
    return get_info("onnxc_model_output_info", m ? m->out : NULL, m ? m->n_out : 0, k, info);
}

onnxc_status onnxc_model_param_info(const onnxc_model *m, int k, onnxc_value_info *info)
{
    return get_info("onnxc_model_param_info", m ? m->param : NULL, m ? m->n_param : 0, k, info);
}

static int find_name(const io_info *v, int n, const char *name)
{
    for (int k = 0; name && k < n; k++)
        if (!strcmp(v[k].name, name))
            return k;
    return -1;
}

int onnxc_model_input_index(const onnxc_model *m, const char *name)
{
    return m ? find_name(m->in, m->n_in, name) : -1;
}

int onnxc_model_output_index(const onnxc_model *m, const char *name)
{
    return m ? find_name(m->out, m->n_out, name) : -1;
}

size_t onnxc_model_arena_bytes(const onnxc_model *m)
{
    return m && m->plan ? m->plan->arena_bytes : 0;
}

size_t onnxc_model_weight_bytes(const onnxc_model *m)
{
    return m && m->plan ? m->plan->weight_bytes : 0;
}

/* 1 when the plan was built for other extents of the dims the model
 * leaves open than those of the tensors given now. */
static int needs_recompile(const onnxc_model *m, const onnxc_tensor *inputs)
{
    for (int k = 0; k < m->n_in; k++)
        for (int i = 0; i < m->in[k].rank; i++)
            if (m->declared[k][i] < 0 && inputs[k].rank == m->in[k].rank && inputs[k].dims[i] != m->in[k].dims[i])
                return 1;
    return 0;
}

onnxc_status onnxc_model_run(onnxc_model *m, int n_inputs, const onnxc_tensor *inputs, int n_outputs,
                             onnxc_tensor *outputs)
{
    if (!m || (n_inputs && !inputs) || (n_outputs && !outputs))
        return oc_api_error(ONNXC_ERR_ARGUMENT, "onnxc_model_run: %s is NULL",
                            !m ? "the model" : (n_inputs && !inputs) ? "inputs" : "outputs");
    if (n_inputs != m->n_in)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: onnxc_model_run: %d inputs given; the model takes %d", m->path,
                            n_inputs, m->n_in);
    if (n_outputs < 0 || n_outputs > m->n_out)
        return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: onnxc_model_run: %d outputs asked for; the model has %d",
                            m->path, n_outputs, m->n_out);
    for (int k = 0; k < n_inputs; k++) {
        const onnxc_tensor *t = &inputs[k];
        if (t->rank < 0 || t->rank > ONNXC_MAX_RANK || (!t->data && t->bytes))
            return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: input '%s': %s", m->path, m->in[k].name,
                                t->rank < 0 || t->rank > ONNXC_MAX_RANK ? "rank out of range" : "data is NULL");
        oc_diag d;
        oc_diag_init(&d);
        int64_t numel;
        /* string tensors (runtime/strtensor.h) hold pointers into onnxc's
         * own memory: not part of the C API yet */
        size_t es = t->dtype == OC_STRING ? 0 : oc_dtype_size(t->dtype);
        if (oc_shape_numel(t->dims, t->rank, &numel, &d))
            return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: input '%s': %s", m->path, m->in[k].name, d.msg);
        if (!es || (uint64_t)numel > SIZE_MAX / es || (size_t)numel * es > t->bytes || (numel && !t->data))
            return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: input '%s': %s", m->path, m->in[k].name,
                                !es ? "unsupported element type" : "the buffer is smaller than its shape says");
    }
    if (m->plan && needs_recompile(m, inputs)) {
        oc_plan_free(m->plan);
        m->plan = NULL;
    }
    if (!m->plan) {
        onnxc_status st = compile(m, NULL, inputs);
        if (st)
            return st;
        if (!m->plan)
            return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: the inputs leave a dim unknown", m->path);
    }
    oc_plan *p = m->plan;
    oc_diag d;
    oc_diag_init(&d);
    for (int k = 0; k < n_inputs; k++) {
        oc_tensor t = {.dtype = inputs[k].dtype, .rank = inputs[k].rank, .data = inputs[k].data};
        memcpy(t.dims, inputs[k].dims, sizeof(int64_t) * (size_t)t.rank);
        if (oc_plan_set_input(p, k, &t, &d)) {
            oc_diag_prefix(&d, "%s: ", m->path);
            return oc_api_diag_error(ONNXC_ERR_ARGUMENT, &d);
        }
    }
    if (oc_plan_run(p, &d)) {
        oc_diag_prefix(&d, "%s: ", m->path);
        return oc_api_diag_error(ONNXC_ERR_RUN, &d);
    }
    for (int k = 0; k < n_outputs; k++) {
        const oc_tensor *t = &p->tensors[p->outputs[k]];
        onnxc_tensor *o = &outputs[k];
        size_t nb = oc_tensor_nbytes(t);
        if (o->data) {
            if (o->bytes < nb)
                return oc_api_error(ONNXC_ERR_ARGUMENT, "%s: output '%s' needs %zu bytes; the buffer holds %zu",
                                    m->path, p->names[p->outputs[k]], nb, o->bytes);
            if (nb && o->data != t->data) /* the same pointer: the library's buffer passed back */
                memcpy(o->data, t->data, nb);
        } else {
            o->data = t->data;
        }
        o->dtype = t->dtype;
        o->rank = t->rank;
        memset(o->dims, 0, sizeof o->dims);
        memcpy(o->dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
        o->bytes = nb;
    }
    return ONNXC_OK;
}
