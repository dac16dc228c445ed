/* codegen_model.c: the emitters for NAME.h and NAME.c, one function per
 * emitted construct: the header's memory contract and API, the tensor
 * table (every tensor's type and where it lives: an arena offset, a
 * weights offset or a caller's input), the parameter blocks, the weights
 * check, the init functions, and NAME_run's one block per plan step.
 *
 * Default mode calls the runtime's kernels (by symbol, or through the
 * kernel table by name for kernels that have no symbol of their own) and
 * runs their preparation (packed weights) at init, on the machine that
 * runs the model, since the packed layout follows its ISA. Portable mode
 * calls the kernels of onnxc_portable.c and has no malloc. */
#include "codegen.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/table.h"

/* Bytes reserved for NAME_ctx; the generated code checks the real size at
 * compile time. The default-mode context holds an oc_diag (about 17 KiB). */
#define CTX_BYTES_DEFAULT 20480
#define CTX_BYTES_PORTABLE 1024

void oc_cg_ident(char *dst, size_t cap, const char *name)
{
    size_t n = 0;
    if (!name || !*name)
        name = "unnamed";
    if (*name >= '0' && *name <= '9' && n + 1 < cap)
        dst[n++] = '_';
    for (; *name && n + 1 < cap; name++) {
        char c = *name;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        dst[n++] = ok ? c : '_';
    }
    dst[n] = 0;
}

uint64_t oc_cg_model_hash(const oc_plan *p)
{
    uint64_t h = OC_FNV_INIT;
    h = oc_fnv1a(h, &p->n_tensors, sizeof p->n_tensors);
    for (int t = 0; t < p->n_tensors; t++) {
        const oc_tensor *x = &p->tensors[t];
        int64_t rec[4 + OC_MAX_RANK] = {p->kind[t], x->dtype, x->rank, (int64_t)p->offset[t]};
        for (int i = 0; i < x->rank; i++)
            rec[4 + i] = x->dims[i];
        h = oc_fnv1a(h, rec, sizeof rec);
        if (p->names[t])
            h = oc_fnv1a(h, p->names[t], strlen(p->names[t]));
    }
    h = oc_fnv1a(h, &p->weight_bytes, sizeof p->weight_bytes);
    for (int s = 0; s < p->n_steps; s++) {
        const char *k = oc_kernel_get(p->steps[s].kernel)->name;
        h = oc_fnv1a(h, k, strlen(k) + 1);
    }
    return h;
}

static const char *dtype_enum(int dtype)
{
    static const char *const names[] = {
        [OC_FLOAT] = "OC_FLOAT", [OC_UINT8] = "OC_UINT8", [OC_INT8] = "OC_INT8", [OC_UINT16] = "OC_UINT16",
        [OC_INT16] = "OC_INT16", [OC_INT32] = "OC_INT32", [OC_INT64] = "OC_INT64", [OC_BOOL] = "OC_BOOL",
        [OC_FLOAT16] = "OC_FLOAT16", [OC_DOUBLE] = "OC_DOUBLE", [OC_UINT32] = "OC_UINT32", [OC_UINT64] = "OC_UINT64",
        [OC_BFLOAT16] = "OC_BFLOAT16"};
    return dtype > 0 && dtype < (int)(sizeof names / sizeof names[0]) && names[dtype] ? names[dtype] : NULL;
}

static void print_dims(FILE *f, const int64_t *dims, int rank)
{
    fprintf(f, "{");
    for (int i = 0; i < rank; i++)
        fprintf(f, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (!rank)
        fprintf(f, "0");
    fprintf(f, "}");
}

/* Names the generated code uses: T_<tensor> enum constants and
 * p_<node> parameter blocks, unique after sanitizing. */
typedef struct cg_names {
    int n;
    char **name;
} cg_names;

static int names_make(cg_names *nm, int n, const char *prefix, const char *const *src, oc_diag *d)
{
    nm->n = n;
    nm->name = calloc((size_t)n + 1, sizeof *nm->name);
    if (!nm->name)
        return oc_fail(d, "out of memory");
    for (int i = 0; i < n; i++) {
        char id[80], buf[120];
        oc_cg_ident(id, sizeof id, src[i]);
        snprintf(buf, sizeof buf, "%s%s", prefix, id);
        for (int j = 0; j < i; j++)
            if (!strcmp(nm->name[j], buf)) {
                snprintf(buf, sizeof buf, "%s%s_%d", prefix, id, i);
                break;
            }
        if (!(nm->name[i] = strdup(buf)))
            return oc_fail(d, "out of memory");
    }
    return 0;
}

static void names_free(cg_names *nm)
{
    for (int i = 0; nm->name && i < nm->n; i++)
        free(nm->name[i]);
    free(nm->name);
}

/* Plan inputs the caller feeds (inputs compiled in as constants are not;
 * a training module's labels are an argument of their own). */
static int fed_inputs(const oc_plan *p, const oc_codegen_opts *o, int *ids)
{
    int n = 0;
    for (int k = 0; k < p->n_inputs; k++)
        if (p->kind[p->inputs[k]] == OC_T_INPUT && !(o->train && p->inputs[k] == o->train->t_labels))
            ids[n++] = p->inputs[k];
    return n;
}

/* Outputs the module returns: a training module returns its loss (and
 * logits) from its step function instead. */
static int module_outputs(const oc_plan *p, const oc_codegen_opts *o) { return o->train ? 0 : p->n_outputs; }

size_t oc_cg_params_offset(const oc_plan *p) { return (p->weight_bytes + 63) / 64 * 64; }

size_t oc_cg_weights_bytes(const oc_plan *p, const oc_codegen_opts *o)
{
    return o->train ? oc_cg_params_offset(p) + sizeof(float) * p->train_floats : p->weight_bytes;
}

/* Byte offset of a parameter or gradient tensor in its block. */
static size_t train_block_offset(const oc_plan *p, int t)
{
    const float *base = p->kind[t] == OC_T_PARAM ? p->params : p->grads;
    return sizeof(float) * (size_t)((const float *)p->tensors[t].data - base);
}

/* ---------------- NAME.h ---------------- */

static void emit_h_contract(FILE *f, const oc_plan *p, const oc_codegen_opts *o, const char *N)
{
    fprintf(f, "/* Memory contract. Every region is caller-visible and NAME_ALIGN-aligned;\n"
               " * NAME_init allocates them, NAME_init_static takes them from the caller (static\n"
               " * memory on a target with no heap). */\n");
    fprintf(f, "#define %s_ALIGN 64\n", N);
    fprintf(f, "#define %s_CTX_BYTES %d /* the context (NAME_ctx) */\n", N,
            o->portable ? CTX_BYTES_PORTABLE : CTX_BYTES_DEFAULT);
    fprintf(f, "#define %s_ARENA_BYTES %zu /* intermediates, reused by liveness (%zu without reuse) */\n", N,
            p->arena_bytes, p->tensor_bytes);
    size_t wb = oc_cg_weights_bytes(p, o);
    if (o->train)
        fprintf(f, "#define %s_WEIGHTS_BYTES %zu /* constants, then the trained parameters from byte %s_PARAMS_OFFSET "
                   "(written by each step, so never read in place) */\n",
                N, wb, N);
    else
        fprintf(f, "#define %s_WEIGHTS_BYTES %zu /* constants, read only */\n", N, wb);
    fprintf(f, "#define %s_WEIGHTS_FILE_BYTES %zu /* the weights image: a %d-byte header, then the constants */\n", N,
            wb + OC_WEIGHTS_HEADER, OC_WEIGHTS_HEADER);
    if (o->train) {
        const oc_tensor *x = &p->tensors[p->inputs[0]];
        fprintf(f, "#define %s_PARAMS_OFFSET %zu /* bytes into the weights region */\n", N, oc_cg_params_offset(p));
        fprintf(f, "#define %s_PARAM_FLOATS %zu /* trained parameters, one float block */\n", N, p->train_floats);
        fprintf(f, "#define %s_GRADS_BYTES %zu /* their gradients, same layout */\n", N,
                sizeof(float) * p->train_floats);
        fprintf(f, "#define %s_OPTIM_BYTES %zu /* optimizer state (%s: %d buffer(s) of PARAM_FLOATS) */\n", N,
                sizeof(float) * p->train_floats * (size_t)oc_optim_state_buffers(&o->train->optim),
                oc_optim_kind_name(o->train->optim.kind), oc_optim_state_buffers(&o->train->optim));
        fprintf(f, "#define %s_BATCH %lld /* samples per step */\n", N, (long long)(x->rank ? x->dims[0] : 1));
        fprintf(f, "#define %s_CLASSES %lld /* logits per sample */\n", N,
                (long long)p->tensors[o->train->t_logits].dims[p->tensors[o->train->t_logits].rank - 1]);
    }
    fprintf(f, "#define %s_SCRATCH_BYTES %zu /* kernel scratch, shared by the steps */\n", N, p->scratch_bytes);
    if (!o->portable) {
        fprintf(f, "#define %s_PREP_BYTES %zu /* kernel data prepared from the weights at init (packed) */\n", N,
                p->prep_bytes);
        fprintf(f, "#define %s_THREADS %d /* kernel threads the scratch is sized for; init sets onnxc's "
                   "process-wide pool to at least this many (and BLAS to one thread) */\n",
                N, p->threads);
    }
    fprintf(f, "#define %s_WEIGHTS_FILE \"%s.weights\"\n\n", N, o->name);
}

static void emit_h_tensor_macros(FILE *f, const oc_plan *p, const char *N, const char *what, int k, int t)
{
    const oc_tensor *x = &p->tensors[t];
    fprintf(f, "#define %s_%s_%d_NAME \"%s\"\n", N, what, k, p->names[t]);
    fprintf(f, "#define %s_%s_%d_DTYPE %d /* %s */\n", N, what, k, x->dtype, oc_dtype_name(x->dtype));
    fprintf(f, "#define %s_%s_%d_RANK %d\n", N, what, k, x->rank);
    fprintf(f, "#define %s_%s_%d_DIMS ", N, what, k);
    print_dims(f, x->dims, x->rank);
    fprintf(f, "\n#define %s_%s_%d_BYTES %zu\n", N, what, k, oc_tensor_nbytes(x));
}

static void emit_h_api(FILE *f, const oc_codegen_opts *o, const char *n)
{
    fprintf(f,
            "/* Inputs and outputs at run time: name, element type (ONNX TensorProto\n"
            " * number), shape, bytes. NULL for k out of range. */\n"
            "typedef struct %s_tensor_info {\n"
            "    const char *name;\n"
            "    int dtype;\n"
            "    int rank;\n"
            "    int64_t dims[8];\n"
            "    int64_t numel;\n"
            "    size_t bytes;\n"
            "} %s_tensor_info;\n"
            "const %s_tensor_info *%s_input_info(int k);\n"
            "const %s_tensor_info *%s_output_info(int k);\n\n",
            n, n, n, n, n, n);
    fprintf(f,
            "/* One context per thread of use: %s_run on one context is not reentrant,\n"
            " * different contexts are independent (no globals). */\n"
            "typedef struct %s_ctx %s_ctx;\n\n"
            "/* Caller-owned regions for %s_init_static, sizes from the macros above.\n"
            " * weights may be NULL: the constants are then read in place from the\n"
            " * image, which must stay valid (and %s_ALIGN-aligned) while the context lives. */\n"
            "typedef struct %s_regions {\n"
            "    void *ctx;     /* %s_CTX_BYTES */\n"
            "    void *arena;   /* %s_ARENA_BYTES */\n"
            "    void *weights; /* %s_WEIGHTS_BYTES, or NULL */\n"
            "    void *scratch; /* %s_SCRATCH_BYTES */\n",
            n, n, n, n, o->uppercase_name, n, o->uppercase_name, o->uppercase_name, o->uppercase_name,
            o->uppercase_name);
    if (!o->portable)
        fprintf(f, "    void *prep;    /* %s_PREP_BYTES */\n", o->uppercase_name);
    if (o->train)
        fprintf(f, "    void *grads;   /* %s_GRADS_BYTES */\n    void *optim;   /* %s_OPTIM_BYTES */\n",
                o->uppercase_name, o->uppercase_name);
    fprintf(f, "} %s_regions;\n\n", n);
    fprintf(f,
            "/* Each init returns 0 and sets *ctx, or returns -1 with a one-line reason\n"
            " * in err (a weights image that is missing, truncated, corrupt, of another\n"
            " * format version or from another model is refused). */\n");
    if (!o->portable)
        fprintf(f,
                "int %s_init(%s_ctx **ctx, const char *weights_path, char *err, size_t err_cap);\n"
                "int %s_init_from_memory(%s_ctx **ctx, const void *image, size_t image_bytes, char *err, size_t err_cap);\n",
                n, n, n, n);
    fprintf(f,
            "int %s_init_static(%s_ctx **ctx, const %s_regions *r, const void *image, size_t image_bytes, char *err,\n"
            "                   size_t err_cap);\n"
            "int %s_init_static_file(%s_ctx **ctx, const %s_regions *r, const char *weights_path, char *err,\n"
            "                        size_t err_cap);\n",
            n, n, n, n, n, n);
    if (o->embed_weights)
        fprintf(f, "/* The weights image compiled into the program (%s_weights.c). */\n"
                   "extern const unsigned char %s_weights_image[];\n", n, n);
    if (o->train)
        fprintf(f,
                "\n/* One training step on a batch: inputs[k] points at input k's bytes (the\n"
                " * samples, %s_BATCH of them), labels at %s_BATCH class indices in\n"
                " * [0, %s_CLASSES). Forward, loss, backward, then the optimizer update of\n"
                " * the parameters with learning rate lr and the BatchNorm running statistics.\n"
                " * *loss (may be NULL) gets the batch loss before the update, logits (may be\n"
                " * NULL) %s_BATCH x %s_CLASSES floats. 0, or -1 with %s_error(ctx)\n"
                " * saying why (a non-finite loss leaves the parameters unchanged). */\n"
                "int %s_step(%s_ctx *ctx, const void *const *inputs, const int64_t *labels, double lr, float *loss,\n"
                "            float *logits);\n"
                "/* Steps taken since init. */\n"
                "int64_t %s_steps(const %s_ctx *ctx);\n"
                "/* The trained parameters and running statistics by their ONNX names, as an\n"
                " * onnxc tensors file (written atomically). 0, or -1 with %s_error(ctx). */\n"
                "int %s_save_weights(%s_ctx *ctx, const char *path);\n",
                o->uppercase_name, o->uppercase_name, o->uppercase_name, o->uppercase_name, o->uppercase_name, n, n, n,
                n, n, n, n, n);
    else
        fprintf(f,
                "\n/* One inference: inputs[k] points at input k's bytes, outputs[k] at room for\n"
                " * output k's bytes (see %s_input_info / %s_output_info). 0, or -1 with\n"
                " * %s_error(ctx) saying why. */\n"
                "int %s_run(%s_ctx *ctx, const void *const *inputs, void *const *outputs);\n",
                n, n, n, n, n);
    fprintf(f,
            "const char *%s_error(const %s_ctx *ctx);\n"
            "/* Releases what %s_init allocated (nothing for %s_init_static); NULL is fine. */\n"
            "void %s_free(%s_ctx *ctx);\n",
            n, n, n, n, n, n);
}

int oc_cg_write_model_h(FILE *f, const oc_plan *p, const oc_codegen_opts *o)
{
    const char *n = o->name, *N = o->uppercase_name;
    int fed[256], nf = fed_inputs(p, o, fed), no = module_outputs(p, o);
    if (o->train)
        fprintf(f,
                "/* %s.h: the training module of model %s, generated by `onnxc compile --train`\n"
                " * from %s. Usage: %s_init with the path of %s.weights (or %s_init_static\n"
                " * with caller-owned regions), %s_step once per batch (forward, loss,\n"
                " * backward, optimizer update), %s_save_weights to write the trained\n"
                " * parameters and BatchNorm statistics (`onnxc export MODEL.onnx --trained\n"
                " * FILE -o OUT.onnx` puts them back into the model), %s_free.\n"
                " * Regenerate instead of editing. */\n",
                n, n, o->source ? o->source : "a model", n, n, n, n, n, n);
    else
    fprintf(f,
            "/* %s.h: the API of model %s, generated by `onnxc compile` from %s%s.\n"
            " * Usage: %s_init with the path of %s.weights (or %s_init_static with\n"
            " * caller-owned regions), %s_run once per inference, %s_free. Regenerate\n"
            " * instead of editing. */\n",
            n, n, o->source ? o->source : "a model", o->portable ? " (portable C99)" : "", n, n, n, n, n);
    fprintf(f, "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n#include <stddef.h>\n#include <stdint.h>\n\n", N, N);
    fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    emit_h_contract(f, p, o, N);
    fprintf(f, "#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n", N, nf, N, no);
    for (int k = 0; k < nf; k++)
        emit_h_tensor_macros(f, p, N, "INPUT", k, fed[k]);
    for (int k = 0; k < no; k++)
        emit_h_tensor_macros(f, p, N, "OUTPUT", k, p->outputs[k]);
    fprintf(f, "\n");
    emit_h_api(f, o, n);
    fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
    return 0;
}

/* ---------------- NAME.c ---------------- */

typedef struct cg {
    FILE *f;
    const oc_plan *p;
    const oc_codegen_opts *o;
    const char *n, *N;
    cg_names t;   /* tensor enum names */
    cg_names s;   /* parameter block names, per step */
    int *by_name; /* kernels called through the table (no symbol): slot per step, -1 = by symbol */
    int n_by_name;
    int max_args;
} cg;

/* Kernels of the elementwise unary list are static functions reached
 * only through the table; the rest are extern symbols of the same name. */
static int kernel_has_symbol(int id)
{
    const oc_kernel_info *k = oc_kernel_get(id);
    for (const oc_kernel_info *u = oc_kernels_elementwise_unary; u->name; u++)
        if (u == k)
            return 0;
    return 1;
}

static const char *kernel_call_name(const cg *c, int s)
{
    const char *rt = oc_kernel_get(c->p->steps[s].kernel)->name;
    return c->o->portable ? oc_cg_portable_kernel(rt) : rt;
}

static void emit_c_prologue(cg *c, uint64_t hash)
{
    FILE *f = c->f;
    fprintf(f,
            "/* %s.c: model %s as straight-line C, generated by `onnxc compile` from %s.\n"
            " * Every intermediate tensor lives at a fixed offset in one arena (reused\n"
            " * by liveness), every constant at a fixed offset in the weights block read\n"
            " * from %s.weights; %s_run calls one kernel per plan step%s.\n"
            " * Regenerate instead of editing. */\n",
            c->n, c->n, c->o->source ? c->o->source : "a model", c->n, c->n,
            c->o->portable ? " (onnxc_portable.c)" : " (onnxc's runtime library)");
    if (c->o->portable) {
        fprintf(f, "#include <math.h>\n#include <stdio.h>\n#include <string.h>\n\n#include \"onnxc_portable.h\"\n");
    } else {
        fprintf(f, "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n");
        static const char *const headers[] = {"plan.h", "kernels/table.h", "kernels/attention.h", "kernels/bitcast.h",
                                              "kernels/conv.h", "kernels/conv_winograd.h", "kernels/conv_depthwise.h", "kernels/conv_direct.h",
                                              "kernels/conv_ocblock.h",
                                              "kernels/einsum.h", "kernels/elementwise.h", "kernels/gemm.h",
                                              "kernels/indexing.h", "kernels/loss.h", "kernels/norm.h", "kernels/pool.h",
                                              "kernels/quant.h", "kernels/reduce.h", "kernels/resize.h",
                                              "kernels/shape_ops.h", "kernels/unary_int.h", "kernels/signal.h",
                                              "kernels/spatial.h", "kernels/misc.h",
                                              "kernels/ml.h", "kernels/optim_ops.h", "kernels/rnn.h", "optim.h", "io.h", "threads.h"};
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
            fprintf(f, "#include \"runtime/%s\"\n", headers[i]);
    }
    fprintf(f, "\n#include \"%s.h\"\n\n", c->n);
    fprintf(f, "/* The weights image this code reads: format version and the hash of this plan's layout. */\n");
    fprintf(f, "#define WEIGHTS_MAGIC \"%s\"\n#define WEIGHTS_VERSION %d\n#define WEIGHTS_HEADER %d\n", OC_WEIGHTS_MAGIC,
            OC_WEIGHTS_VERSION, OC_WEIGHTS_HEADER);
    fprintf(f, "#define MODEL_HASH UINT64_C(0x%016" PRIx64 ")\n", hash);
    fprintf(f, "#define MAX_STEP_TENSORS %d /* inputs + outputs of the widest step */\n", c->max_args);
    if (!c->o->portable) {
        fprintf(f, "#define TSCRATCH_STRIDE %zu /* per-thread scratch slice (the tail of the scratch region) */\n",
                c->p->tscratch_stride);
        fprintf(f, "#define N_TABLE_KERNELS %d /* kernels reached through the kernel table by name */\n",
                c->n_by_name ? c->n_by_name : 1);
        if (c->o->train)
            fprintf(f, "#define GRADS_REGION_BYTES %s_GRADS_BYTES\n#define OPTIM_REGION_BYTES %s_OPTIM_BYTES\n", c->N,
                    c->N);
    }
    fprintf(f, "\n");
}

static void emit_c_ctx(cg *c)
{
    FILE *f = c->f;
    fprintf(f, "struct %s_ctx {\n", c->n);
    fprintf(f, "    unsigned char *arena, *weights, *scratch%s;\n", c->o->portable ? "" : ", *prep");
    fprintf(f, "    const void *const *in; /* the caller's inputs during %s_run */\n", c->n);
    if (!c->o->portable) {
        fprintf(f, "    int owned;            /* 1: %s_init allocated the context and its regions */\n", c->n);
        fprintf(f, "    oc_kernel_fn table_kernel[N_TABLE_KERNELS];\n");
        fprintf(f, "    oc_diag diag;         /* what a kernel reported at run time */\n");
    }
    if (c->o->train)
        fprintf(f, "    unsigned char *grads;  /* the gradient block */\n"
                   "    const int64_t *labels; /* the caller's labels during %s_step */\n"
                   "    unsigned char *optim;  /* the optimizer's state region */\n"
                   "    oc_optim opt;          /* its state lives in the optim region */\n"
                   "    int64_t steps;\n", c->n);
    fprintf(f, "    char err[512];\n};\n");
    fprintf(f, "/* compile-time check: the context fits the bytes the header promises */\n");
    fprintf(f, "typedef char ctx_fits_in_%s_CTX_BYTES[sizeof(struct %s_ctx) <= %s_CTX_BYTES ? 1 : -1];\n\n", c->N, c->n,
            c->N);
}

static void emit_c_tensor_table(cg *c)
{
    FILE *f = c->f;
    const oc_plan *p = c->p;
    fprintf(f, "/* Every tensor of the plan. */\nenum {\n");
    for (int t = 0; t < p->n_tensors; t++)
        fprintf(f, "    %s,%s\n", c->t.name[t], t == 0 ? " /* = 0 */" : "");
    fprintf(f, "    N_TENSORS\n};\n\n");
    fprintf(f, "enum { IN_ARENA, IN_WEIGHTS, IN_INPUT%s }; /* where a tensor's bytes are */\n",
            c->o->train ? ", IN_GRADS, IN_LABELS" : "");
    fprintf(f, "typedef struct tensor_desc {\n    int dtype, rank;\n    int64_t dims[OC_MAX_RANK];\n"
               "    int64_t numel;\n    int where;\n    size_t offset; /* bytes into the arena or weights; input index */\n"
               "} tensor_desc;\n\n");
    fprintf(f, "static const tensor_desc tensors[N_TENSORS] = {\n");
    int fed[256], nf = fed_inputs(p, c->o, fed);
    for (int t = 0; t < p->n_tensors; t++) {
        const oc_tensor *x = &p->tensors[t];
        const char *where = p->kind[t] == OC_T_ARENA ? "IN_ARENA" : p->kind[t] == OC_T_CONST ? "IN_WEIGHTS" : "IN_INPUT";
        size_t off = p->offset[t];
        if (p->kind[t] == OC_T_PARAM) {
            where = "IN_WEIGHTS";
            off = oc_cg_params_offset(p) + train_block_offset(p, t);
        } else if (p->kind[t] == OC_T_GRAD) {
            where = "IN_GRADS";
            off = train_block_offset(p, t);
        } else if (c->o->train && t == c->o->train->t_labels) {
            where = "IN_LABELS";
            off = 0;
        }
        if (p->kind[t] == OC_T_INPUT)
            for (int k = 0; k < nf; k++)
                if (fed[k] == t)
                    off = (size_t)k;
        fprintf(f, "    [%s] = {%s, %d, ", c->t.name[t], dtype_enum(x->dtype), x->rank);
        print_dims(f, x->dims, x->rank);
        fprintf(f, ", %" PRId64 ", %s, %zu},\n", x->numel, where, off);
    }
    fprintf(f, "};\n\n");
}

static void emit_c_info(cg *c)
{
    FILE *f = c->f;
    const oc_plan *p = c->p;
    int fed[256], nf = fed_inputs(p, c->o, fed);
    for (int io = 0; io < 2; io++) {
        int n = io ? module_outputs(p, c->o) : nf;
        const int *ids = io ? p->outputs : fed;
        const char *what = io ? "output" : "input";
        fprintf(f, "static const %s_tensor_info %s_infos[%d] = {\n", c->n, what, n ? n : 1);
        for (int k = 0; k < n; k++) {
            const oc_tensor *x = &p->tensors[ids[k]];
            fprintf(f, "    {\"%s\", %d, %d, ", p->names[ids[k]], x->dtype, x->rank);
            print_dims(f, x->dims, x->rank);
            fprintf(f, ", %" PRId64 ", %zu},\n", x->numel, oc_tensor_nbytes(x));
        }
        if (!n)
            fprintf(f, "    {\"\", 0, 0, {0}, 0, 0},\n");
        fprintf(f, "};\n\nconst %s_tensor_info *%s_%s_info(int k)\n{\n    return k >= 0 && k < %d ? &%s_infos[k] : NULL;\n}\n\n",
                c->n, c->n, what, n, what);
    }
}

static int emit_c_params(cg *c, oc_diag *d)
{
    fprintf(c->f, "/* Kernel parameter blocks, one per step. */\n");
    for (int s = 0; s < c->p->n_steps; s++) {
        const oc_step *st = &c->p->steps[s];
        const oc_kernel_info *k = oc_kernel_get(st->kernel);
        if (!k->params_type[0] || !st->params)
            continue;
        if (oc_cg_print_params(c->f, k->params_type, c->s.name[s], st->params, st->params_size, d)) {
            oc_diag_prefix(d, "node '%s' (%s): ", st->name, st->op);
            return -1;
        }
    }
    fprintf(c->f, "\n");
    return 0;
}

/* The view helper and the step runner the NAME_run blocks call. */
static void emit_c_step_runner(cg *c)
{
    FILE *f = c->f;
    fprintf(f,
            "/* Tensor t as the kernels see it: its type from the table, its bytes where it lives. */\n"
            "static void view(const %s_ctx *c, int t, oc_tensor *v)\n{\n"
            "    const tensor_desc *d = &tensors[t];\n"
            "    v->dtype = d->dtype;\n    v->rank = d->rank;\n"
            "    memcpy(v->dims, d->dims, sizeof v->dims);\n    v->numel = d->numel;\n"
            "    if (d->where == IN_ARENA)\n        v->data = c->arena + d->offset;\n"
            "    else if (d->where == IN_WEIGHTS)\n        v->data = c->weights + d->offset;\n"
            "%s"
            "    else /* a caller's input; none while init prepares kernels */\n"
            "        v->data = c->in ? (void *)c->in[d->offset] : NULL;\n}\n\n",
            c->n,
            c->o->train ? "    else if (d->where == IN_GRADS)\n        v->data = c->grads + d->offset;\n"
                          "    else if (d->where == IN_LABELS)\n        v->data = (void *)c->labels;\n"
                        : "");
    fprintf(f,
            "/* Views of a step's tensors (-1: an omitted optional one) and the kernel\n"
            " * arguments over them. */\n"
            "typedef struct step_args {\n    oc_tensor t[MAX_STEP_TENSORS];\n"
            "    const oc_tensor *in[MAX_STEP_TENSORS];\n    oc_tensor *out[MAX_STEP_TENSORS];\n"
            "    oc_kargs a;\n} step_args;\n\n");
    fprintf(f,
            "static void step_args_make(%s_ctx *c, step_args *s, const void *params, int n_in, const int *in, int n_out,\n"
            "                           const int *out)\n{\n"
            "    int k;\n"
            "    for (k = 0; k < n_in; k++) {\n"
            "        s->in[k] = NULL;\n"
            "        if (in[k] >= 0) {\n            view(c, in[k], &s->t[k]);\n            s->in[k] = &s->t[k];\n        }\n"
            "    }\n"
            "    for (k = 0; k < n_out; k++) {\n"
            "        s->out[k] = NULL;\n"
            "        if (out[k] >= 0) {\n            view(c, out[k], &s->t[n_in + k]);\n"
            "            s->out[k] = &s->t[n_in + k];\n        }\n"
            "    }\n"
            "    memset(&s->a, 0, sizeof s->a);\n"
            "    s->a.p = params;\n    s->a.n_in = n_in;\n    s->a.n_out = n_out;\n"
            "    s->a.in = s->in;\n    s->a.out = s->out;\n    s->a.scratch = c->scratch;\n",
            c->n);
    if (!c->o->portable)
        fprintf(f,
                "    s->a.threads = %s_THREADS;\n    s->a.d = &c->diag;\n"
                "    s->a.tscratch = c->scratch ? c->scratch + (%s_SCRATCH_BYTES - TSCRATCH_STRIDE * %s_THREADS) : NULL;\n"
                "    s->a.tscratch_stride = TSCRATCH_STRIDE;\n",
                c->N, c->N, c->N);
    fprintf(f, "}\n\n");
    fprintf(f,
            "/* One plan step: the kernel on its tensors; a failure names the node. */\n"
            "static int run_step(%s_ctx *c, oc_kernel_fn fn, const void *params, int n_in, const int *in, int n_out,\n"
            "                    const int *out, const void *prep, const char *node, const char *op)\n{\n"
            "    step_args s;\n"
            "    step_args_make(c, &s, params, n_in, in, n_out, out);\n",
            c->n);
    if (c->o->portable)
        fprintf(f, "    (void)prep;\n    if (fn(&s.a) == 0)\n        return 0;\n"
                   "    snprintf(c->err, sizeof c->err, \"node '%%s' (%%s) failed\", node, op);\n    return -1;\n}\n\n");
    else
        fprintf(f, "    s.a.prep = prep;\n    if (fn(&s.a) == 0)\n        return 0;\n"
                   "    snprintf(c->err, sizeof c->err, \"node '%%.100s' (%%.40s): %%.300s\", node, op,\n"
                   "             c->diag.failed ? c->diag.msg : \"failed\");\n    return -1;\n}\n\n");
}

static void emit_int_list(FILE *f, const int *ids, int n, const cg_names *t)
{
    fprintf(f, "{");
    for (int k = 0; k < n; k++)
        fprintf(f, "%s%s", k ? ", " : "", ids[k] >= 0 ? t->name[ids[k]] : "-1");
    if (!n)
        fprintf(f, "-1");
    fprintf(f, "}");
}

/* The callee expression of step s. */
static void emit_kernel_ref(cg *c, int s)
{
    if (c->by_name[s] >= 0)
        fprintf(c->f, "c->table_kernel[%d] /* %s */", c->by_name[s], oc_kernel_get(c->p->steps[s].kernel)->name);
    else
        fprintf(c->f, "%s", kernel_call_name(c, s));
}

static void emit_c_step(cg *c, int s)
{
    FILE *f = c->f;
    const oc_step *st = &c->p->steps[s];
    const oc_kernel_info *k = oc_kernel_get(st->kernel);
    char sh[256];
    int o0 = st->n_out > 0 ? st->out[0] : -1;
    fprintf(f, "    /* node '%s' (%s) -> ", st->name, st->op);
    if (o0 >= 0)
        fprintf(f, "'%s' %s %s", c->p->names[o0], oc_dtype_name(c->p->tensors[o0].dtype),
                oc_format_dims(sh, sizeof sh, c->p->tensors[o0].dims, c->p->tensors[o0].rank));
    fprintf(f, "%s */\n    {\n        static const int in[] = ", st->n_out > 1 ? " ..." : "");
    emit_int_list(f, st->in, st->n_in, &c->t);
    fprintf(f, ", out[] = ");
    emit_int_list(f, st->out, st->n_out, &c->t);
    fprintf(f, ";\n        if (run_step(c, ");
    emit_kernel_ref(c, s);
    fprintf(f, ", %s%s, %d, in, %d, out, ", k->params_type[0] && st->params ? "&" : "",
            k->params_type[0] && st->params ? c->s.name[s] : "NULL", st->n_in, st->n_out);
    if (!c->o->portable && st->prep_bytes)
        fprintf(f, "c->prep + %zu", st->prep_offset);
    else
        fprintf(f, "NULL");
    fprintf(f, ", \"%s\", \"%s\"))\n            return -1;\n    }\n", st->name, st->op);
}

static void emit_c_run(cg *c)
{
    FILE *f = c->f;
    const oc_plan *p = c->p;
    fprintf(f, "int %s_run(%s_ctx *c, const void *const *inputs, void *const *outputs)\n{\n", c->n, c->n);
    fprintf(f, "    int k;\n    c->in = inputs;\n    c->err[0] = 0;\n");
    if (!c->o->portable)
        fprintf(f, "    oc_diag_init(&c->diag);\n");
    fprintf(f, "\n");
    for (int s = 0; s < p->n_steps; s++)
        emit_c_step(c, s);
    if (!p->n_steps)
        fprintf(f, "    (void)run_step; /* no step: every output is a constant or an input */\n");
    fprintf(f, "\n    /* outputs: copied out of the arena (or the weights, or an input) */\n");
    fprintf(f, "    for (k = 0; k < %s_N_OUTPUTS; k++) {\n", c->N);
    fprintf(f, "        static const int out_tensor[] = ");
    emit_int_list(f, p->outputs, p->n_outputs, &c->t);
    fprintf(f, ";\n        oc_tensor v;\n        view(c, out_tensor[k], &v);\n"
               "        memcpy(outputs[k], v.data, output_infos[k].bytes);\n    }\n");
    fprintf(f, "    c->in = NULL;\n    return 0;\n}\n\n");
}

static void emit_optim_config(FILE *f, const oc_optim_config *o)
{
    fprintf(f,
            "/* The optimizer and its hyper-parameters (runtime/optim.h), as given to onnxc compile. */\n"
            "static const oc_optim_config optim_config = {\n"
            "    .kind = %d, /* %s */\n"
            "    .weight_decay = %.17g, .momentum = %.17g, .dampening = %.17g, .nesterov = %d,\n"
            "    .beta1 = %.17g, .beta2 = %.17g, .eps = %.17g, .amsgrad = %d,\n"
            "    .alpha = %.17g, .centered = %d, .lr_decay = %.17g, .initial_accumulator_value = %.17g,\n"
            "    .max_grad_norm = %.17g, .norm_type = ",
            (int)o->kind, oc_optim_kind_name(o->kind), o->weight_decay, o->momentum, o->dampening, o->nesterov,
            o->beta1, o->beta2, o->eps, o->amsgrad, o->alpha, o->centered, o->lr_decay, o->initial_accumulator_value,
            o->max_grad_norm);
    if (isinf(o->norm_type))
        fprintf(f, "INFINITY");
    else
        fprintf(f, "%.17g", o->norm_type);
    fprintf(f, "};\n\n");
}

/* A training module's step: the plan (forward, loss, backward), the
 * update, the running statistics; and the saving of what was trained. */
static void emit_c_train(cg *c)
{
    FILE *f = c->f;
    const oc_plan *p = c->p;
    const oc_codegen_train *tr = c->o->train;
    fprintf(f, "/* Running statistics of the training BatchNorms: after the update, each\n"
               " * new value (a plan output) replaces the statistic the next step reads. */\n");
    fprintf(f, "static const int stat_new[] = ");
    emit_int_list(f, tr->stat_out, tr->n_stats, &c->t);
    fprintf(f, ", stat_state[] = ");
    emit_int_list(f, tr->stat, tr->n_stats, &c->t);
    fprintf(f, ";\n#define N_STATS %d\n\n", tr->n_stats);
    fprintf(f, "/* The plan: forward, loss, backward (gradients into the grads region). */\n"
               "static int run_plan(%s_ctx *c)\n{\n", c->n);
    for (int s = 0; s < p->n_steps; s++)
        emit_c_step(c, s);
    fprintf(f, "    (void)c;\n    return 0;\n}\n\n");
    fprintf(f,
            "int %s_step(%s_ctx *c, const void *const *inputs, const int64_t *labels, double lr, float *loss,\n"
            "            float *logits)\n{\n"
            "    oc_tensor v, w;\n    float l;\n    int k;\n"
            "    c->err[0] = 0;\n    oc_diag_init(&c->diag);\n",
            c->n, c->n);
    fprintf(f, "    for (k = 0; k < %s_BATCH; k++)\n"
               "        if (labels[k] < 0 || labels[k] >= %s_CLASSES) {\n"
               "            snprintf(c->err, sizeof c->err, \"label %%d is %%lld, outside [0, %%d)\", k, (long long)labels[k],\n"
               "                     %s_CLASSES);\n"
               "            return -1;\n        }\n",
            c->N, c->N, c->N);
    fprintf(f, "    c->in = inputs;\n    c->labels = labels;\n"
               "    k = run_plan(c);\n    c->in = NULL;\n    c->labels = NULL;\n    if (k)\n        return -1;\n");
    fprintf(f, "    view(c, %s, &v); /* the loss, before the update */\n    l = *(const float *)v.data;\n",
            c->t.name[tr->t_loss]);
    fprintf(f, "    if (loss)\n        *loss = l;\n"
               "    if (logits) {\n        view(c, %s, &v);\n        memcpy(logits, v.data, sizeof(float) * (size_t)v.numel);\n    }\n",
            c->t.name[tr->t_logits]);
    fprintf(f, "    if (!isfinite(l)) {\n"
               "        snprintf(c->err, sizeof c->err, \"step %%lld: the loss is %%g; the parameters were not updated\",\n"
               "                 (long long)c->steps + 1, (double)l);\n        return -1;\n    }\n");
    fprintf(f, "    oc_optim_step(&c->opt, (float *)(c->weights + %s_PARAMS_OFFSET), (float *)c->grads, lr);\n", c->N);
    fprintf(f, "    for (k = 0; k < N_STATS; k++) {\n"
               "        view(c, stat_new[k], &v);\n        view(c, stat_state[k], &w);\n"
               "        memcpy(w.data, v.data, sizeof(float) * (size_t)v.numel);\n    }\n"
               "    c->steps++;\n    return 0;\n}\n\n");
    fprintf(f, "int64_t %s_steps(const %s_ctx *c)\n{\n    return c ? c->steps : 0;\n}\n\n", c->n, c->n);
    /* what is saved: the parameters, then the statistics, by name */
    int n_saved = 0;
    fprintf(f, "/* What %s_save_weights writes: the trained parameters and the running\n"
               " * statistics, under their ONNX initializer names. */\nstatic const int saved[] = {", c->n);
    for (int t = 0; t < p->n_tensors; t++)
        if (p->kind[t] == OC_T_PARAM)
            fprintf(f, "%s%s", n_saved++ ? ", " : "", c->t.name[t]);
    for (int k = 0; k < tr->n_stats; k++)
        fprintf(f, "%s%s", n_saved++ ? ", " : "", c->t.name[tr->stat[k]]);
    if (!n_saved)
        fprintf(f, "-1");
    fprintf(f, "};\n#define N_SAVED %d\n\n", n_saved);
    fprintf(f, "static const char *const tensor_names[N_TENSORS] = {\n");
    for (int t = 0; t < p->n_tensors; t++)
        fprintf(f, "    \"%s\",\n", p->names[t]);
    fprintf(f, "};\n\n");
    fprintf(f,
            "int %s_save_weights(%s_ctx *c, const char *path)\n{\n"
            "    oc_tensor *v = malloc(sizeof(oc_tensor) * (N_SAVED + 1));\n"
            "    const oc_tensor **vp = malloc(sizeof(oc_tensor *) * (N_SAVED + 1));\n"
            "    const char **names = malloc(sizeof(char *) * (N_SAVED + 1));\n"
            "    int k, rc = -1;\n"
            "    c->err[0] = 0;\n    oc_diag_init(&c->diag);\n"
            "    if (!v || !vp || !names) {\n        snprintf(c->err, sizeof c->err, \"out of memory\");\n        goto done;\n    }\n"
            "    for (k = 0; k < N_SAVED; k++) {\n"
            "        view(c, saved[k], &v[k]);\n        vp[k] = &v[k];\n        names[k] = tensor_names[saved[k]];\n    }\n"
            "    if (oc_tensors_save(path, N_SAVED, names, vp, &c->diag))\n"
            "        snprintf(c->err, sizeof c->err, \"%%.500s\", c->diag.msg);\n"
            "    else\n        rc = 0;\n"
            "done:\n    free(v);\n    free(vp);\n    free(names);\n    return rc;\n}\n\n",
            c->n, c->n);
}

/* Weights image checks shared by every init. */
static void emit_c_weights_check(cg *c)
{
    FILE *f = c->f;
    fprintf(f,
            "static uint64_t read_u64(const unsigned char *p)\n{\n    uint64_t v = 0;\n    int i;\n"
            "    for (i = 7; i >= 0; i--)\n        v = v << 8 | p[i];\n    return v;\n}\n\n"
            "static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)\n{\n    size_t i;\n"
            "    for (i = 0; i < n; i++) {\n        h ^= p[i];\n        h *= UINT64_C(0x100000001b3);\n    }\n"
            "    return h;\n}\n\n");
    fprintf(f,
            "/* The header of a weights image (file_bytes: its whole length, or 0 when\n"
            " * only the header has been read): 0, or -1 with the reason in err. */\n"
            "static int check_header(const unsigned char *h, size_t have, const char *what, char *err, size_t cap)\n{\n"
            "    uint64_t data;\n"
            "    if (have < WEIGHTS_HEADER) {\n"
            "        snprintf(err, cap, \"%%s: truncated weights file (%%lu bytes, the header alone is %%d)\", what,\n"
            "                 (unsigned long)have, WEIGHTS_HEADER);\n        return -1;\n    }\n"
            "    if (memcmp(h, WEIGHTS_MAGIC, 8) != 0) {\n"
            "        snprintf(err, cap, \"%%s: not an onnxc weights file (bad magic)\", what);\n        return -1;\n    }\n"
            "    if (read_u64(h + 8) %% 4294967296u != WEIGHTS_VERSION) {\n"
            "        snprintf(err, cap, \"%%s: weights format version %%lu, this code reads version %%d\", what,\n"
            "                 (unsigned long)(read_u64(h + 8) %% 4294967296u), WEIGHTS_VERSION);\n        return -1;\n    }\n"
            "    if (read_u64(h + 32) != MODEL_HASH) {\n"
            "        snprintf(err, cap, \"%%s: weights of another model (model hash %%08lx%%08lx, this model is %%08lx%%08lx)\",\n"
            "                 what, (unsigned long)(read_u64(h + 32) >> 32), (unsigned long)(read_u64(h + 32) & 0xffffffffu),\n"
            "                 (unsigned long)(MODEL_HASH >> 32), (unsigned long)(MODEL_HASH & 0xffffffffu));\n"
            "        return -1;\n    }\n"
            "    data = read_u64(h + 16);\n"
            "    if (data != %s_WEIGHTS_BYTES) {\n"
            "        snprintf(err, cap, \"%%s: the header says %%lu bytes of weights, this model has %%lu\", what,\n"
            "                 (unsigned long)data, (unsigned long)%s_WEIGHTS_BYTES);\n        return -1;\n    }\n"
            "    return 0;\n}\n\n",
            c->N, c->N);
    fprintf(f,
            "static int check_data(const unsigned char *h, const unsigned char *data, const char *what, char *err,\n"
            "                      size_t cap)\n{\n"
            "    if (fnv1a(UINT64_C(0xcbf29ce484222325), data, %s_WEIGHTS_BYTES) != read_u64(h + 24)) {\n"
            "        snprintf(err, cap, \"%%s: corrupt weights (checksum mismatch)\", what);\n        return -1;\n    }\n"
            "    return 0;\n}\n\n",
            c->N);
}

/* Kernel preparation (packed weights) at init, default mode. */
static void emit_c_prepare(cg *c)
{
    FILE *f = c->f;
    const oc_plan *p = c->p;
    int any = 0;
    for (int s = 0; s < p->n_steps; s++)
        any |= p->steps[s].prep_bytes != 0;
    if (any)
        fprintf(f,
            "/* Prepares one step's data from its constant inputs (the kernel table's\n"
            " * prep for kernel `name`) into its slice of the prep region. */\n"
            "static int prepare_step(%s_ctx *c, const char *name, const void *params, int n_in, const int *in, int n_out,\n"
            "                        const int *out, size_t offset, size_t bytes, const char *node)\n{\n"
            "    step_args s;\n"
            "    const oc_kernel_info *k = oc_kernel_get(oc_kernel_find(name));\n"
            "    if (!k || !k->prep || !k->prep_bytes) {\n"
            "        snprintf(c->err, sizeof c->err, \"node '%%s': kernel %%s (with preparation) is not in this onnxc runtime\",\n"
            "                 node, name);\n        return -1;\n    }\n"
            "    step_args_make(c, &s, params, n_in, in, n_out, out);\n"
            "    if (k->prep_bytes(&s.a) > bytes) {\n"
            "        snprintf(c->err, sizeof c->err, \"node '%%s': kernel %%s needs %%lu bytes of prepared data on this machine, \"\n"
            "                 \"the code was generated for %%lu\", node, name, (unsigned long)k->prep_bytes(&s.a),\n"
            "                 (unsigned long)bytes);\n        return -1;\n    }\n"
            "    oc_diag_init(&c->diag);\n"
            "    if (k->prep(&s.a, c->prep + offset)) {\n"
            "        snprintf(c->err, sizeof c->err, \"node '%%.100s': %%.300s\", node, c->diag.msg);\n        return -1;\n    }\n"
            "    return 0;\n}\n\n",
            c->n);
    fprintf(f, "static int prepare(%s_ctx *c)\n{\n", c->n);
    if (c->n_by_name) {
        fprintf(f, "    static const char *const table_names[N_TABLE_KERNELS] = {");
        for (int j = 0, s = 0; s < p->n_steps; s++)
            if (c->by_name[s] == j) {
                fprintf(f, "%s\"%s\"", j ? ", " : "", oc_kernel_get(p->steps[s].kernel)->name);
                j++;
            }
        fprintf(f, "};\n    int j;\n    for (j = 0; j < N_TABLE_KERNELS; j++) {\n"
                   "        int id = oc_kernel_find(table_names[j]);\n"
                   "        if (id < 0) {\n"
                   "            snprintf(c->err, sizeof c->err, \"kernel %%s is not in this onnxc runtime\", table_names[j]);\n"
                   "            return -1;\n        }\n"
                   "        c->table_kernel[j] = oc_kernel_get(id)->fn;\n    }\n");
    }
    for (int s = 0; s < p->n_steps; s++) {
        const oc_step *st = &p->steps[s];
        if (!st->prep_bytes)
            continue;
        const oc_kernel_info *k = oc_kernel_get(st->kernel);
        fprintf(f, "    {   /* node '%s' (%s): %s */\n        static const int in[] = ", st->name, st->op,
                k->variant ? k->variant : k->name);
        emit_int_list(f, st->in, st->n_in, &c->t);
        fprintf(f, ", out[] = ");
        emit_int_list(f, st->out, st->n_out, &c->t);
        fprintf(f, ";\n        if (prepare_step(c, \"%s\", %s%s, %d, in, %d, out, %zu, %zu, \"%s\"))\n            return -1;\n    }\n",
                k->name, k->params_type[0] ? "&" : "", k->params_type[0] ? c->s.name[s] : "NULL", st->n_in, st->n_out,
                st->prep_offset, st->prep_bytes, st->name);
    }
    fprintf(f, "    (void)c;\n    return 0;\n}\n\n");
}

static void emit_c_init(cg *c)
{
    FILE *f = c->f;
    const char *n = c->n, *N = c->N;
    int dflt = !c->o->portable;
    /* init_static: checks, regions, then prep */
    fprintf(f,
            "static int fail_init(char *err, size_t cap, const char *msg)\n{\n"
            "    if (err && cap)\n        snprintf(err, cap, \"%%s\", msg);\n    return -1;\n}\n\n");
    fprintf(f,
            "/* The context over caller regions; the weights are already in place. */\n"
            "static int start(%s_ctx **out, const %s_regions *r, unsigned char *weights, char *err, size_t cap)\n{\n"
            "    %s_ctx *c = r->ctx;\n"
            "    if (!c || (%s_ARENA_BYTES > 0 && !r->arena) || (%s_SCRATCH_BYTES > 0 && !r->scratch)",
            n, n, n, N, N);
    if (dflt)
        fprintf(f, " || (%s_PREP_BYTES > 0 && !r->prep)", N);
    if (c->o->train)
        fprintf(f, " || (%s_GRADS_BYTES > 0 && !r->grads) ||\n        (%s_OPTIM_BYTES > 0 && !r->optim)", N, N);
    fprintf(f,
            ")\n"
            "        return fail_init(err, cap, \"%s_init_static: a region is missing\");\n"
            "    memset(c, 0, sizeof *c);\n"
            "    c->arena = r->arena;\n    c->weights = weights;\n    c->scratch = r->scratch;\n",
            n);
    if (c->o->train)
        fprintf(f, "    c->grads = r->grads;\n    c->optim = r->optim;\n"
                   "    if (oc_optim_init_in(&c->opt, &optim_config, %s_PARAM_FLOATS, r->optim, &c->diag))\n"
                   "        return fail_init(err, cap, c->diag.msg);\n",
                N);
    if (dflt) /* the kernels split their work over the runtime's pool (runtime/threads.h), which
               * also keeps BLAS single-threaded: set it up, never below what is in force */
        fprintf(f, "    oc_set_threads(oc_get_threads() > %s_THREADS ? oc_get_threads() : %s_THREADS);\n", N, N);
    fprintf(f, "%s", dflt ? "    c->prep = r->prep;\n    if (prepare(c))\n        return fail_init(err, cap, c->err);\n" : "");
    fprintf(f, "    *out = c;\n    return 0;\n}\n\n");
    fprintf(f,
            "int %s_init_static(%s_ctx **ctx, const %s_regions *r, const void *image, size_t image_bytes, char *err,\n"
            "                   size_t cap)\n{\n"
            "    const unsigned char *h = image;\n"
            "    unsigned char *w;\n"
            "    *ctx = NULL;\n"
            "    if (!h)\n        return fail_init(err, cap, \"no weights image given\");\n"
            "    if (check_header(h, image_bytes, \"weights image\", err, cap))\n        return -1;\n"
            "    if (image_bytes < WEIGHTS_HEADER + (size_t)%s_WEIGHTS_BYTES) {\n"
            "        if (err && cap)\n"
            "            snprintf(err, cap, \"weights image: truncated (%%lu bytes, expected %%lu)\", (unsigned long)image_bytes,\n"
            "                     (unsigned long)(WEIGHTS_HEADER + (size_t)%s_WEIGHTS_BYTES));\n"
            "        return -1;\n    }\n"
            "    if (check_data(h, h + WEIGHTS_HEADER, \"weights image\", err, cap))\n        return -1;\n"
            "%s"
            "    w = r->weights ? (unsigned char *)r->weights : (unsigned char *)h + WEIGHTS_HEADER;\n"
            "    if (r->weights)\n        memcpy(w, h + WEIGHTS_HEADER, %s_WEIGHTS_BYTES);\n"
            "    return start(ctx, r, w, err, cap);\n}\n\n",
            n, n, n, N, N,
            c->o->train ? "    if (!r->weights) /* training writes the parameters and statistics */\n"
                          "        return fail_init(err, cap, \"a training module needs a weights region (r->weights)\");\n"
                        : "",
            N);
    fprintf(f,
            "/* Reads a weights file into `weights` (WEIGHTS_BYTES) after checking its header. */\n"
            "static int read_weights(const char *path, unsigned char *weights, char *err, size_t cap)\n{\n"
            "    unsigned char h[WEIGHTS_HEADER];\n"
            "    size_t got;\n"
            "    int extra;\n"
            "    FILE *f = path ? fopen(path, \"rb\") : NULL;\n"
            "    if (!f) {\n        if (err && cap)\n"
            "            snprintf(err, cap, \"%%s: cannot open the weights file\", path ? path : \"(null)\");\n"
            "        return -1;\n    }\n"
            "    got = fread(h, 1, sizeof h, f);\n"
            "    if (check_header(h, got, path, err, cap)) {\n        fclose(f);\n        return -1;\n    }\n"
            "    got = fread(weights, 1, %s_WEIGHTS_BYTES, f);\n"
            "    extra = fgetc(f) != EOF;\n"
            "    fclose(f);\n"
            "    if (got != %s_WEIGHTS_BYTES || extra) {\n        if (err && cap)\n"
            "            snprintf(err, cap, \"%%s: %%s (%%lu bytes of weights, expected %%lu)\", path,\n"
            "                     extra ? \"longer than its header says\" : \"truncated weights file\",\n"
            "                     (unsigned long)got, (unsigned long)%s_WEIGHTS_BYTES);\n"
            "        return -1;\n    }\n"
            "    return check_data(h, weights, path, err, cap);\n}\n\n",
            N, N, N);
    fprintf(f,
            "int %s_init_static_file(%s_ctx **ctx, const %s_regions *r, const char *path, char *err, size_t cap)\n{\n"
            "    *ctx = NULL;\n"
            "    if (%s_WEIGHTS_BYTES > 0 && !r->weights)\n"
            "        return fail_init(err, cap, \"%s_init_static_file: the weights region is missing\");\n"
            "    if (read_weights(path, r->weights, err, cap))\n        return -1;\n"
            "    return start(ctx, r, r->weights, err, cap);\n}\n\n",
            n, n, n, N, n);
    if (dflt) {
        fprintf(f,
                "static void *alloc_region(size_t bytes)\n{\n"
                "    return aligned_alloc(%s_ALIGN, (bytes + %s_ALIGN - 1) / %s_ALIGN * %s_ALIGN + %s_ALIGN);\n}\n\n",
                N, N, N, N, N);
        fprintf(f,
                "/* NAME_init / NAME_init_from_memory: the regions from the heap. */\n"
                "static int init_heap(%s_ctx **ctx, const char *path, const void *image, size_t image_bytes, char *err,\n"
                "                     size_t cap)\n{\n"
                "    %s_regions r;\n"
                "    int rc;\n"
                "    *ctx = NULL;\n"
                "    r.ctx = alloc_region(sizeof(%s_ctx));\n    r.arena = alloc_region(%s_ARENA_BYTES);\n"
                "    r.weights = alloc_region(%s_WEIGHTS_BYTES);\n    r.scratch = alloc_region(%s_SCRATCH_BYTES);\n"
                "    r.prep = alloc_region(%s_PREP_BYTES);\n"
                "%s"
                "    if (!r.ctx || !r.arena || !r.weights || !r.scratch || !r.prep%s)\n"
                "        rc = fail_init(err, cap, \"out of memory\");\n"
                "    else if (path)\n        rc = %s_init_static_file(ctx, &r, path, err, cap);\n"
                "    else\n        rc = %s_init_static(ctx, &r, image, image_bytes, err, cap);\n"
                "    if (rc) {\n"
                "        free(r.ctx);\n        free(r.arena);\n        free(r.weights);\n        free(r.scratch);\n"
                "        free(r.prep);\n%s        *ctx = NULL;\n        return -1;\n    }\n"
                "    (*ctx)->owned = 1;\n    return 0;\n}\n\n",
                n, n, n, N, N, N, N,
                c->o->train ? "    r.grads = alloc_region(GRADS_REGION_BYTES);\n    r.optim = alloc_region(OPTIM_REGION_BYTES);\n" : "",
                c->o->train ? " || !r.grads || !r.optim" : "", n, n,
                c->o->train ? "        free(r.grads);\n        free(r.optim);\n" : "");
        fprintf(f,
                "int %s_init(%s_ctx **ctx, const char *path, char *err, size_t cap)\n{\n"
                "    return init_heap(ctx, path ? path : %s_WEIGHTS_FILE, NULL, 0, err, cap);\n}\n\n"
                "int %s_init_from_memory(%s_ctx **ctx, const void *image, size_t image_bytes, char *err, size_t cap)\n{\n"
                "    return init_heap(ctx, NULL, image, image_bytes, err, cap);\n}\n\n",
                n, n, N, n, n);
    }
    fprintf(f, "const char *%s_error(const %s_ctx *c)\n{\n    return c ? c->err : \"no context\";\n}\n\n", n, n);
    fprintf(f, "void %s_free(%s_ctx *c)\n{\n", n, n);
    if (dflt)
        fprintf(f,
                "    if (!c || !c->owned)\n        return;\n"
                "    free(c->arena);\n    free(c->weights);\n    free(c->scratch);\n    free(c->prep);\n%s    free(c);\n",
                c->o->train ? "    free(c->grads);\n    free(c->optim);\n" : "");
    else
        fprintf(f, "    (void)c; /* the caller owns every region */\n");
    fprintf(f, "}\n");
}

int oc_cg_write_model_c(FILE *f, const oc_graph *g, const oc_plan *p, const oc_codegen_opts *o, uint64_t model_hash,
                        oc_diag *d)
{
    (void)g;
    cg c = {.f = f, .p = p, .o = o, .n = o->name, .N = o->uppercase_name};
    int rc = -1;
    const char **snames = calloc((size_t)p->n_steps + 1, sizeof *snames);
    c.by_name = calloc((size_t)p->n_steps + 1, sizeof *c.by_name);
    if (!snames || !c.by_name) {
        free(snames);
        free(c.by_name);
        return oc_fail(d, "out of memory");
    }
    for (int t = 0; t < p->n_tensors; t++)
        if (p->tensors[t].dtype == OC_STRING) {
            oc_fail(d, "tensor '%s': string tensors are not supported by onnxc compile (generated C has no string "
                       "storage); run the model with onnxc run",
                    p->names[t]);
            goto done;
        }
    for (int s = 0; s < p->n_steps; s++) {
        const oc_step *st = &p->steps[s];
        snames[s] = st->name && *st->name ? st->name : st->op;
        c.by_name[s] = -1;
        if (st->n_in + st->n_out > c.max_args)
            c.max_args = st->n_in + st->n_out;
        const char *why;
        if (st->n_sub && !o->portable) { /* (portable mode refuses it below: no portable twin) */
            oc_fail(d, "node '%s' (%s): onnxc compile cannot emit control flow (its subgraphs run as sub-plans "
                       "in the runtime only); run the model with onnxc run",
                    st->name, st->op);
            goto done;
        }
        if (o->portable) {
            if (!oc_cg_portable_accepts(p, st, &why)) {
                oc_fail(d, "node '%s' (%s): --portable cannot emit it (kernel %s: %s); portable mode covers Conv, "
                           "Gemm, MatMul, Relu/LeakyRelu/Sigmoid/Tanh, MaxPool/AveragePool/global pools, inference "
                           "BatchNormalization, Add/Sub/Mul/Div/Pow/Max/Min, Flatten/Reshape, Concat and Softmax in "
                           "float32, with fused Conv/Gemm epilogues",
                        st->name, st->op, oc_kernel_get(st->kernel)->name, why);
                goto done;
            }
        } else if (!kernel_has_symbol(st->kernel)) {
            for (int j = 0; j < s && c.by_name[s] < 0; j++)
                if (c.by_name[j] >= 0 && p->steps[j].kernel == st->kernel)
                    c.by_name[s] = c.by_name[j];
            if (c.by_name[s] < 0)
                c.by_name[s] = c.n_by_name++;
        }
    }
    if (c.max_args < 1)
        c.max_args = 1;
    if (o->train && o->portable) {
        oc_fail(d, "--train and --portable: the training step needs onnxc's runtime library (its backward kernels "
                   "and optimizers have no portable twin yet)");
        goto done;
    }
    for (int t = 0; t < p->n_tensors; t++) {
        if ((p->kind[t] == OC_T_PARAM || p->kind[t] == OC_T_GRAD) && !o->train) {
            oc_fail(d, "tensor '%s': a training tensor in an inference module", p->names[t]);
            goto done;
        }
        if (!dtype_enum(p->tensors[t].dtype)) {
            oc_fail(d, "tensor '%s': element type %s is not supported by onnxc compile", p->names[t],
                    oc_dtype_name(p->tensors[t].dtype));
            goto done;
        }
    }
    if (names_make(&c.t, p->n_tensors, "T_", (const char *const *)p->names, d) ||
        names_make(&c.s, p->n_steps, "p_", snames, d))
        goto done;
    emit_c_prologue(&c, model_hash);
    emit_c_ctx(&c);
    emit_c_tensor_table(&c);
    emit_c_info(&c);
    if (emit_c_params(&c, d))
        goto done;
    if (o->train)
        emit_optim_config(f, &o->train->optim);
    emit_c_step_runner(&c);
    emit_c_weights_check(&c);
    if (!o->portable)
        emit_c_prepare(&c);
    emit_c_init(&c);
    fprintf(f, "\n");
    if (o->train)
        emit_c_train(&c);
    else
        emit_c_run(&c);
    rc = 0;
done:
    names_free(&c.t);
    names_free(&c.s);
    free(snames);
    free(c.by_name);
    return rc;
}
