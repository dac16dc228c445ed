/* onnxc.h: the public C API of onnxc, for programs that embed it.
 *
 * This is the only header an embedder includes (installed as
 * <prefix>/include/onnxc/onnxc.h; link with `pkg-config --libs onnxc` or
 * CMake's onnxc::onnxc). Everything is reached through opaque handles, so
 * the library's internal structures can change without breaking callers.
 *
 * Errors: every fallible function returns an onnxc_status; ONNXC_OK is 0.
 * On failure, onnxc_last_error() returns one line saying what is wrong and
 * where ("lenet.onnx: node 'conv1' (Conv) input 1: expected 4-D weight,
 * got [64,3,7]"). The message is kept per thread, like errno, until the
 * next failing call on that thread. The library never exits, aborts or
 * prints; a failed allocation is an ONNXC_ERR_NO_MEMORY status.
 *
 * Threads: different handles may be used from different threads at the
 * same time; one handle is used by one thread at a time. The kernel
 * thread pool is process-wide (see onnxc_options_set_threads).
 *
 * Typical inference:
 *   onnxc_model *m;
 *   if (onnxc_model_load("model.onnx", NULL, &m)) { puts(onnxc_last_error()); ... }
 *   onnxc_tensor in = {ONNXC_FLOAT, 4, {1, 3, 224, 224}, pixels, sizeof pixels};
 *   onnxc_tensor out = {0};             // data NULL: the library's buffer
 *   onnxc_model_run(m, 1, &in, 1, &out);
 *   ... out.data holds out.dims[1] scores until the next run ...
 *   onnxc_model_free(m);
 */
#ifndef ONNXC_H
#define ONNXC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of these headers; onnxc_version() gives the library's. */
#define ONNXC_VERSION_MAJOR 0
#define ONNXC_VERSION_MINOR 1
#define ONNXC_VERSION_PATCH 0
#define ONNXC_VERSION_STRING "0.1.0"

/* "0.1.0"; *major etc. (each may be NULL) get the numbers. */
const char *onnxc_version(int *major, int *minor, int *patch);

typedef enum onnxc_status {
    ONNXC_OK = 0,
    ONNXC_ERR_ARGUMENT = 1,  /* a NULL handle or pointer, an index out of range, a tensor
                              * whose dtype, shape or buffer size does not fit */
    ONNXC_ERR_IO = 2,        /* a file cannot be read or written */
    ONNXC_ERR_MODEL = 3,     /* the model is malformed, unsupported, or does not compile
                              * (e.g. its plan needs more memory than allowed) */
    ONNXC_ERR_RUN = 4,       /* a run or training step failed (e.g. an index out of range
                              * in the data, a non-finite loss) */
    ONNXC_ERR_NO_MEMORY = 5, /* an allocation failed */
    ONNXC_ERR_STATE = 6,     /* a call out of order (e.g. a checkpoint of another model) */
} onnxc_status;

/* The message of the last failed call on this thread ("" when none). */
const char *onnxc_last_error(void);
/* "ONNXC_ERR_MODEL", ... */
const char *onnxc_status_name(onnxc_status s);

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum onnxc_dtype {
    ONNXC_UNDEFINED = 0,
    ONNXC_FLOAT = 1,
    ONNXC_UINT8 = 2,
    ONNXC_INT8 = 3,
    ONNXC_UINT16 = 4,
    ONNXC_INT16 = 5,
    ONNXC_INT32 = 6,
    ONNXC_INT64 = 7,
    ONNXC_BOOL = 9,
    ONNXC_FLOAT16 = 10,
    ONNXC_DOUBLE = 11,
    ONNXC_UINT32 = 12,
    ONNXC_UINT64 = 13,
    ONNXC_BFLOAT16 = 16,
} onnxc_dtype;

/* Bytes per element (0 for a type onnxc cannot hold) and "float", "int64", ... */
size_t onnxc_dtype_size(int dtype);
const char *onnxc_dtype_name(int dtype);

#define ONNXC_MAX_RANK 8

/* A dense row-major tensor the caller and the library exchange. data
 * points at numel * onnxc_dtype_size(dtype) bytes; bytes is the size of
 * the buffer at data (for an output: its capacity). */
typedef struct onnxc_tensor {
    int dtype;
    int rank;
    int64_t dims[ONNXC_MAX_RANK];
    void *data;
    size_t bytes;
} onnxc_tensor;

/* ---- load options ---- */

typedef struct onnxc_options onnxc_options;

/* Defaults: batch and dims as the model declares them, the process's
 * thread count, every graph pass on, a memory cap of half the RAM. */
onnxc_status onnxc_options_new(onnxc_options **out);
void onnxc_options_free(onnxc_options *o);
/* Sets dim 0 of every input (also when the model fixes it). */
onnxc_status onnxc_options_set_batch(onnxc_options *o, int64_t batch);
/* Binds the symbolic dim `name` (e.g. "batch_size") to value; a name the
 * model does not use is an error at load time. */
onnxc_status onnxc_options_set_dim(onnxc_options *o, const char *name, int64_t value);
/* The same from "NAME=N" (as the CLI's --dim). */
onnxc_status onnxc_options_set_dim_spec(onnxc_options *o, const char *spec);
/* Kernel threads, n >= 1, or 0 for the process setting (all cores unless
 * set). The pool is process-wide: a larger n grows it for every model;
 * set it while no other model is running. */
onnxc_status onnxc_options_set_threads(onnxc_options *o, int n);
/* 1 (default): graph passes rewrite the model (BatchNorm folding,
 * Conv/Gemm + activation fusion, ...); 0: every node runs as its own
 * step (the CLI's --no-fuse). */
onnxc_status onnxc_options_set_optimize(onnxc_options *o, int on);
/* Turns named passes off: one name or a comma-separated list ("fuse",
 * "bn_fold,dce", ...; onnxc info --passes lists them). An unknown name is
 * an ONNXC_ERR_ARGUMENT naming the valid ones, and changes nothing. */
onnxc_status onnxc_options_disable_pass(onnxc_options *o, const char *name);
/* Runs exactly the passes in the comma-separated list (in the pass
 * manager's order; "" runs none), instead of every pass that is on (the
 * CLI's --passes LIST). Later calls add to the list; disable_pass still
 * turns one of them off. */
onnxc_status onnxc_options_set_passes(onnxc_options *o, const char *list);
/* Bytes the compiled model may allocate (arena, weights, scratch);
 * 0 = half the physical RAM. A model above it fails to load, naming its
 * largest tensor. */
onnxc_status onnxc_options_set_max_memory(onnxc_options *o, uint64_t bytes);

/* ---- models (inference) ---- */

typedef struct onnxc_model onnxc_model;

/* Reads and compiles an ONNX model. opts may be NULL (defaults). When an
 * input keeps an unknown dim, compiling waits for the first run, which
 * takes the extents from the tensors given (and a run with other extents
 * compiles again). The model does not keep the file's bytes once compiled:
 * compiling again and onnxc_trainer_new read the file again, and fail
 * (ONNXC_ERR_MODEL) if it changed or went away meanwhile. */
onnxc_status onnxc_model_load(const char *path, const onnxc_options *opts, onnxc_model **out);
/* The same from a serialized ModelProto in memory (copied; the caller may
 * free data on return). Models with external data need a path. */
onnxc_status onnxc_model_load_memory(const void *data, size_t size, const onnxc_options *opts,
                                     onnxc_model **out);
void onnxc_model_free(onnxc_model *m);

/* Name, dtype and shape of input or output k (dims -1 while unknown).
 * name stays valid while the model lives. Output shapes are final once
 * the model is compiled (at load, or after the first run). */
typedef struct onnxc_value_info {
    const char *name;
    int dtype;
    int rank;
    int64_t dims[ONNXC_MAX_RANK];
} onnxc_value_info;

int onnxc_model_input_count(const onnxc_model *m);
int onnxc_model_output_count(const onnxc_model *m);
onnxc_status onnxc_model_input_info(const onnxc_model *m, int k, onnxc_value_info *info);
onnxc_status onnxc_model_output_info(const onnxc_model *m, int k, onnxc_value_info *info);
/* Index of the input / output named name, or -1. */
int onnxc_model_input_index(const onnxc_model *m, const char *name);
int onnxc_model_output_index(const onnxc_model *m, const char *name);

/* Runs the model. inputs[k] feeds input k (all n_inputs of them, in the
 * model's order); its dtype must match, and its dims those the model
 * fixes. outputs[k] receives output k, for k < n_outputs (fewer than the
 * model has is fine): when outputs[k].data is NULL, data points at the
 * library's buffer, valid until the next run or onnxc_model_free; else
 * the result is copied into data, which must hold outputs[k].bytes >= the
 * result's bytes. Either way dtype, rank, dims and bytes are filled in. */
onnxc_status onnxc_model_run(onnxc_model *m, int n_inputs, const onnxc_tensor *inputs, int n_outputs,
                             onnxc_tensor *outputs);

/* Facts about the compiled plan (0 before it is compiled). */
size_t onnxc_model_arena_bytes(const onnxc_model *m);
size_t onnxc_model_weight_bytes(const onnxc_model *m);

/* Float parameters (initializers) of the model as loaded: count and the
 * name, shape of parameter k. Used to pick what a trainer trains. */
int onnxc_model_param_count(const onnxc_model *m);
onnxc_status onnxc_model_param_info(const onnxc_model *m, int k, onnxc_value_info *info);

/* ---- training ---- */

/* Training options: what trains, the optimizer and its learning rate, the
 * batch. The loss is softmax cross-entropy between the model's first
 * output (its logits [batch, classes]) and int64 class labels [batch]. */
typedef struct onnxc_train_options onnxc_train_options;

/* Defaults: every float parameter trains, SGD with lr 0.01 (PyTorch's
 * other defaults), BatchNorm in training mode where its scale or bias
 * trains, batch as the model declares it. */
onnxc_status onnxc_train_options_new(onnxc_train_options **out);
void onnxc_train_options_free(onnxc_train_options *o);
onnxc_status onnxc_train_options_set_batch(onnxc_train_options *o, int64_t batch);
/* "sgd", "adagrad", "rmsprop", "adam" or "adamw", with that optimizer's
 * PyTorch defaults; then the learning rate, momentum (SGD, RMSprop) and
 * weight decay. */
onnxc_status onnxc_train_options_set_optimizer(onnxc_train_options *o, const char *name);
onnxc_status onnxc_train_options_set_lr(onnxc_train_options *o, double lr);
onnxc_status onnxc_train_options_set_momentum(onnxc_train_options *o, double momentum);
onnxc_status onnxc_train_options_set_weight_decay(onnxc_train_options *o, double weight_decay);
/* The loss: "softmax_cross_entropy" is the one available. */
onnxc_status onnxc_train_options_set_loss(onnxc_train_options *o, const char *name);
/* The trainable set: freeze_all first for a head-only finetune, then
 * set_trainable(name, 1) for each parameter that trains. Names are checked
 * when the trainer is created. */
onnxc_status onnxc_train_options_freeze_all(onnxc_train_options *o);
onnxc_status onnxc_train_options_set_trainable(onnxc_train_options *o, const char *param, int trainable);

typedef struct onnxc_trainer onnxc_trainer;

/* A trainer over the model as it was loaded (before any graph rewrite);
 * the model itself is not changed and may be freed afterwards. */
onnxc_status onnxc_trainer_new(const onnxc_model *m, const onnxc_train_options *o, onnxc_trainer **out);
void onnxc_trainer_free(onnxc_trainer *t);

/* Samples per step, and the floats of one sample (input 0 without its batch dim). */
int64_t onnxc_trainer_batch(const onnxc_trainer *t);
int64_t onnxc_trainer_sample_size(const onnxc_trainer *t);
/* Parameters that train, and optimizer steps taken. */
int onnxc_trainer_trainable_count(const onnxc_trainer *t);
int64_t onnxc_trainer_steps(const onnxc_trainer *t);

/* One optimizer step on x [batch, sample...] (floats) and labels y [batch];
 * *loss (may be NULL) gets the batch loss before the update. */
onnxc_status onnxc_trainer_step(onnxc_trainer *t, const float *x, const int64_t *y, double *loss);
/* Mean loss and top-1 accuracy of the current parameters over n samples
 * (any n >= 1; the last partial batch is padded and only its real samples
 * count). Either result pointer may be NULL. */
onnxc_status onnxc_trainer_evaluate(onnxc_trainer *t, const float *x, const int64_t *y, int64_t n, double *loss,
                                    double *accuracy);
/* Logits [batch, classes] of one batch under the current parameters
 * (inference statistics for BatchNorm); *logits points at the trainer's
 * buffer until its next call. */
onnxc_status onnxc_trainer_predict(onnxc_trainer *t, const float *x, onnxc_tensor *logits);
/* The model with the trained parameters as an ONNX file (atomic write). */
onnxc_status onnxc_trainer_export(onnxc_trainer *t, const char *path);
/* Everything needed to continue exactly: parameters, BatchNorm
 * statistics, optimizer state, step count; checksummed, written
 * atomically. Loading a checkpoint of another model, or a damaged one,
 * fails and leaves the trainer as it was. */
onnxc_status onnxc_trainer_save_checkpoint(onnxc_trainer *t, const char *path);
onnxc_status onnxc_trainer_load_checkpoint(onnxc_trainer *t, const char *path);

#ifdef __cplusplus
}
#endif

#endif
