/* test_api.c: the public C API (api/onnxc.h) through the shared library
 * libonnxc.so, as an embedder uses it.
 *
 * For each ONNX backend-test case given (model.onnx + test_data_set_0 with
 * ONNX's reference inputs and outputs), it loads the model from its path
 * and from memory, checks the input/output listing against the reference
 * tensors, runs it with library-owned and with caller-provided output
 * buffers, and compares with the reference outputs (rtol 1e-3, atol 1e-5).
 * Then the failure paths: a missing file, an empty, truncated or random
 * buffer, wrong input shapes and dtypes, too small output buffers and NULL
 * arguments each give a status and a message naming the problem, never a
 * crash. Last, two threads load and run models at the same time.
 *
 * Usage: test_api CASE_DIR... (exit 77 when the backend tests are missing,
 * 1 instead with ONNXC_REQUIRE_DATA=1). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../compiler/onnx_import.h" /* reads the reference .pb tensors */
#include "../unit/check.h"
#include "onnxc.h"

#define MAX_IO 8

typedef struct ref_case {
    const char *dir;
    int n_in, n_out;
    oc_tensor *in[MAX_IO], *out[MAX_IO];
} ref_case;

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int load_case(ref_case *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    c->dir = dir;
    char path[4096];
    oc_diag d;
    for (int io = 0; io < 2; io++)
        for (int k = 0; k < MAX_IO; k++) {
            snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", dir, io ? "output" : "input", k);
            FILE *f = fopen(path, "rb");
            if (!f)
                break;
            fclose(f);
            oc_diag_init(&d);
            oc_tensor *t = oc_onnx_load_tensor(path, NULL, &d);
            if (!t) {
                printf("cannot read %s: %s\n", path, d.msg);
                return -1;
            }
            if (io)
                c->out[c->n_out++] = t;
            else
                c->in[c->n_in++] = t;
        }
    return c->n_out > 0 ? 0 : -1;
}

static void free_case(ref_case *c)
{
    for (int k = 0; k < c->n_in; k++)
        oc_tensor_free(c->in[k]);
    for (int k = 0; k < c->n_out; k++)
        oc_tensor_free(c->out[k]);
}

static onnxc_tensor as_api(const oc_tensor *t)
{
    onnxc_tensor a = {t->dtype, t->rank, {0}, t->data, oc_tensor_nbytes(t)};
    memcpy(a.dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    return a;
}

/* Worst excess over rtol 1e-3 / atol 1e-5 of float output got against ref
 * (<= 0 is within tolerance); prints the largest absolute difference. */
static double compare(const char *what, const onnxc_tensor *got, const oc_tensor *ref)
{
    if (got->dtype != ref->dtype || got->rank != ref->rank)
        return INFINITY;
    for (int i = 0; i < ref->rank; i++)
        if (got->dims[i] != ref->dims[i])
            return INFINITY;
    if (ref->dtype != OC_FLOAT)
        return memcmp(got->data, ref->data, oc_tensor_nbytes(ref)) ? INFINITY : 0;
    const float *a = got->data, *b = ref->data;
    double worst = -INFINITY, maxdiff = 0;
    for (int64_t i = 0; i < ref->numel; i++) {
        double diff = fabs((double)a[i] - b[i]);
        double excess = diff - (1e-5 + 1e-3 * fabs((double)b[i]));
        if (!(excess <= worst)) /* NaN counts as worst */
            worst = isnan(excess) ? INFINITY : excess;
        if (diff > maxdiff)
            maxdiff = diff;
    }
    if (what) /* NULL: quiet (the thread test) */
        printf("  %s: %lld values, max |diff| %.3g against ONNX's reference\n", what, (long long)ref->numel, maxdiff);
    return ref->numel ? worst : 0;
}

static void check_model_io(const ref_case *c, onnxc_model *m)
{
    CHECK(onnxc_model_input_count(m) == c->n_in, "%s: %d inputs listed, reference has %d", c->dir,
          onnxc_model_input_count(m), c->n_in);
    CHECK(onnxc_model_output_count(m) == c->n_out, "%s: %d outputs listed, reference has %d", c->dir,
          onnxc_model_output_count(m), c->n_out);
    for (int k = 0; k < c->n_in && k < onnxc_model_input_count(m); k++) {
        onnxc_value_info vi;
        CHECK(onnxc_model_input_info(m, k, &vi) == ONNXC_OK, "input_info %d", k);
        CHECK(vi.dtype == c->in[k]->dtype && vi.rank == c->in[k]->rank, "%s input %d: dtype %d rank %d", c->dir, k,
              vi.dtype, vi.rank);
        for (int i = 0; i < vi.rank && i < c->in[k]->rank; i++)
            CHECK(vi.dims[i] == c->in[k]->dims[i] || vi.dims[i] < 0, "%s input %d dim %d: %lld", c->dir, k, i,
                  (long long)vi.dims[i]);
        CHECK(onnxc_model_input_index(m, vi.name) == k, "input_index('%s')", vi.name);
    }
    for (int k = 0; k < c->n_out && k < onnxc_model_output_count(m); k++) {
        onnxc_value_info vi;
        CHECK(onnxc_model_output_info(m, k, &vi) == ONNXC_OK, "output_info %d", k);
        CHECK(vi.dtype == c->out[k]->dtype && vi.rank == c->out[k]->rank, "%s output %d: dtype %d rank %d", c->dir,
              k, vi.dtype, vi.rank);
        for (int i = 0; i < vi.rank && i < c->out[k]->rank; i++)
            CHECK(vi.dims[i] == c->out[k]->dims[i], "%s output %d dim %d: %lld, reference %lld", c->dir, k, i,
                  (long long)vi.dims[i], (long long)c->out[k]->dims[i]);
        CHECK(onnxc_model_output_index(m, vi.name) == k, "output_index('%s')", vi.name);
    }
}

static void run_and_compare(const ref_case *c, onnxc_model *m, const char *how)
{
    onnxc_tensor in[MAX_IO], out[MAX_IO], mine[MAX_IO];
    void *buf[MAX_IO] = {0};
    for (int k = 0; k < c->n_in; k++)
        in[k] = as_api(c->in[k]);
    memset(out, 0, sizeof out);
    onnxc_status st = onnxc_model_run(m, c->n_in, in, c->n_out, out);
    CHECK(st == ONNXC_OK, "%s (%s): run: %s", c->dir, how, onnxc_last_error());
    if (st)
        return;
    printf("%s (%s):\n", c->dir, how);
    for (int k = 0; k < c->n_out; k++)
        CHECK(compare("library buffer", &out[k], c->out[k]) <= 0, "%s output %d differs from the reference", c->dir,
              k);
    /* caller-provided buffers, the same run again */
    for (int k = 0; k < c->n_out; k++) {
        buf[k] = malloc(out[k].bytes + 1);
        mine[k] = (onnxc_tensor){.data = buf[k], .bytes = out[k].bytes + 1};
    }
    st = onnxc_model_run(m, c->n_in, in, c->n_out, mine);
    CHECK(st == ONNXC_OK, "%s: run into caller buffers: %s", c->dir, onnxc_last_error());
    for (int k = 0; !st && k < c->n_out; k++) {
        CHECK(mine[k].data == buf[k], "the caller's buffer was replaced");
        CHECK(compare("caller buffer", &mine[k], c->out[k]) <= 0, "%s output %d (caller buffer) differs", c->dir, k);
    }
    /* a buffer one byte short is refused with the size it needs */
    if (c->n_out && out[0].bytes) {
        onnxc_tensor small = {.data = buf[0], .bytes = out[0].bytes - 1};
        st = onnxc_model_run(m, c->n_in, in, 1, &small);
        CHECK(st == ONNXC_ERR_ARGUMENT && strstr(onnxc_last_error(), "needs"), "short buffer: %s %s",
              onnxc_status_name(st), onnxc_last_error());
    }
    for (int k = 0; k < c->n_out; k++)
        free(buf[k]);
}

static void check_bad_inputs(const ref_case *c, onnxc_model *m)
{
    onnxc_tensor in[MAX_IO], out = {0};
    for (int k = 0; k < c->n_in; k++)
        in[k] = as_api(c->in[k]);
    onnxc_status st = onnxc_model_run(m, c->n_in - 1, in, 1, &out);
    CHECK(st == ONNXC_ERR_ARGUMENT && strstr(onnxc_last_error(), "inputs given"), "too few inputs: %s",
          onnxc_last_error());
    if (!c->n_in)
        return;
    onnxc_tensor bad = in[0];
    bad.dtype = bad.dtype == ONNXC_FLOAT ? ONNXC_INT32 : ONNXC_FLOAT;
    in[0] = bad;
    st = onnxc_model_run(m, c->n_in, in, 1, &out);
    CHECK(st == ONNXC_ERR_ARGUMENT, "wrong dtype accepted: %s", onnxc_last_error());
    printf("  wrong dtype: %s\n", onnxc_last_error());
    in[0] = as_api(c->in[0]);
    in[0].bytes -= 1;
    st = onnxc_model_run(m, c->n_in, in, 1, &out);
    CHECK(st == ONNXC_ERR_ARGUMENT, "short input buffer accepted");
    printf("  short input: %s\n", onnxc_last_error());
    in[0] = as_api(c->in[0]);
    in[0].data = NULL;
    st = onnxc_model_run(m, c->n_in, in, 1, &out);
    CHECK(st == ONNXC_ERR_ARGUMENT, "NULL input data accepted");
}

static void check_bad_models(const char *model_path)
{
    onnxc_model *m = (onnxc_model *)1;
    onnxc_status st = onnxc_model_load("/nonexistent/model.onnx", NULL, &m);
    CHECK(st == ONNXC_ERR_IO && m == NULL && strstr(onnxc_last_error(), "/nonexistent/model.onnx"),
          "missing file: %s %s", onnxc_status_name(st), onnxc_last_error());
    printf("missing file: %s: %s\n", onnxc_status_name(st), onnxc_last_error());
    st = onnxc_model_load(NULL, NULL, &m);
    CHECK(st == ONNXC_ERR_ARGUMENT, "NULL path");
    st = onnxc_model_load(model_path, NULL, NULL);
    CHECK(st == ONNXC_ERR_ARGUMENT, "NULL out");
    st = onnxc_model_load_memory("", 0, NULL, &m);
    CHECK(st == ONNXC_ERR_MODEL && m == NULL, "empty buffer: %s", onnxc_status_name(st));
    printf("empty buffer: %s: %s\n", onnxc_status_name(st), onnxc_last_error());

    size_t len;
    unsigned char *bytes = read_all(model_path, &len);
    CHECK(bytes != NULL, "cannot read %s", model_path);
    if (!bytes)
        return;
    /* every truncation point in the first 64 bytes, then coarser */
    int refused = 0, tried = 0;
    for (size_t cut = 1; cut < len; cut += cut < 64 ? 1 : len / 50 + 1) {
        st = onnxc_model_load_memory(bytes, cut, NULL, &m);
        tried++;
        if (st != ONNXC_OK) {
            refused++;
            CHECK(m == NULL && onnxc_last_error()[0], "truncated at %zu: no message", cut);
        } else {
            onnxc_model_free(m); /* a prefix can be a valid smaller model */
        }
    }
    printf("truncated buffers: %d of %d refused with a message, none crashed\n", refused, tried);
    CHECK(refused > 0, "no truncation was refused");
    unsigned s = 12345;
    unsigned char *junk = malloc(len);
    for (int r = 0; r < 20 && junk; r++) {
        for (size_t i = 0; i < len; i++)
            junk[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
        st = onnxc_model_load_memory(junk, len, NULL, &m);
        CHECK(st != ONNXC_OK || m, "random buffer");
        if (st == ONNXC_OK)
            onnxc_model_free(m);
    }
    st = onnxc_model_load_memory(junk, len, NULL, &m);
    printf("random bytes: %s: %s\n", onnxc_status_name(st), onnxc_last_error());
    free(junk);
    free(bytes);

    onnxc_options *o;
    CHECK(onnxc_options_new(&o) == ONNXC_OK, "options_new");
    CHECK(onnxc_options_set_dim_spec(o, "batch") == ONNXC_ERR_ARGUMENT, "dim spec without =");
    CHECK(onnxc_options_set_dim_spec(o, "batch=0") == ONNXC_ERR_ARGUMENT, "dim 0");
    CHECK(onnxc_options_disable_pass(o, "no_such_pass") == ONNXC_ERR_ARGUMENT, "unknown pass");
    printf("unknown pass: %s\n", onnxc_last_error());
    CHECK(onnxc_options_set_dim_spec(o, "no_such_dim=3") == ONNXC_OK, "dim spec");
    st = onnxc_model_load(model_path, o, &m);
    CHECK(st == ONNXC_ERR_MODEL && strstr(onnxc_last_error(), "no_such_dim"), "unknown dim name: %s",
          onnxc_last_error());
    printf("unknown dim name: %s\n", onnxc_last_error());
    onnxc_options_free(o);
    CHECK(onnxc_options_new(&o) == ONNXC_OK, "options_new");
    CHECK(onnxc_options_set_max_memory(o, 64) == ONNXC_OK, "max memory");
    st = onnxc_model_load(model_path, o, &m);
    CHECK(st == ONNXC_ERR_MODEL, "a 64-byte memory cap was not refused");
    printf("64-byte memory cap: %s\n", onnxc_last_error());
    onnxc_options_free(o);
    onnxc_model_free(NULL);
    CHECK(onnxc_model_run(NULL, 0, NULL, 0, NULL) == ONNXC_ERR_ARGUMENT, "NULL model run");

    /* a model loaded from a path does not keep the file's bytes: a trainer
     * reads the file again, and refuses it once it changed */
    char copy[4096];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(copy, sizeof copy, "%s/onnxc_test_api_%d.onnx", tmp, (int)getpid());
    bytes = read_all(model_path, &len);
    FILE *f = bytes ? fopen(copy, "wb") : NULL;
    CHECK(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0, "cannot write %s", copy);
    st = onnxc_model_load(copy, NULL, &m);
    CHECK(st == ONNXC_OK, "load %s: %s", copy, onnxc_last_error());
    if (st == ONNXC_OK) {
        f = fopen(copy, "ab");
        CHECK(f && fputc(0, f) == 0 && fclose(f) == 0, "cannot append to %s", copy);
        onnxc_trainer *t = NULL;
        st = onnxc_trainer_new(m, NULL, &t);
        CHECK(st == ONNXC_ERR_MODEL && !t && strstr(onnxc_last_error(), "changed"), "changed file: %s %s",
              onnxc_status_name(st), onnxc_last_error());
        printf("model file changed after loading: %s: %s\n", onnxc_status_name(st), onnxc_last_error());
        onnxc_trainer_free(t);
        onnxc_model_free(m);
    }
    free(bytes);
    remove(copy);
}

typedef struct thread_job {
    const ref_case *c;
    int ok;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", j->c->dir);
    onnxc_model *m;
    if (onnxc_model_load(path, NULL, &m))
        return NULL;
    onnxc_tensor in[MAX_IO], out[MAX_IO] = {0};
    for (int k = 0; k < j->c->n_in; k++)
        in[k] = as_api(j->c->in[k]);
    int ok = 1;
    for (int r = 0; r < 20 && ok; r++) {
        memset(out, 0, sizeof out);
        ok = onnxc_model_run(m, j->c->n_in, in, j->c->n_out, out) == ONNXC_OK;
        for (int k = 0; ok && k < j->c->n_out; k++)
            ok = compare(NULL, &out[k], j->c->out[k]) <= 0;
    }
    onnxc_model_free(m);
    j->ok = ok;
    return NULL;
}

int main(int argc, char **argv)
{
    int major, minor, patch;
    const char *v = onnxc_version(&major, &minor, &patch);
    CHECK(!strcmp(v, ONNXC_VERSION_STRING) && major == ONNXC_VERSION_MAJOR && minor == ONNXC_VERSION_MINOR &&
              patch == ONNXC_VERSION_PATCH,
          "library %s, header %s", v, ONNXC_VERSION_STRING);
    printf("onnxc %s\n", v);
    ref_case cases[16];
    int n = 0;
    for (int a = 1; a < argc && n < 16; a++) {
        if (load_case(&cases[n], argv[a])) {
            const char *req = getenv("ONNXC_REQUIRE_DATA");
            printf("SKIP: backend test case %s is missing or unreadable\n", argv[a]);
            return req && !strcmp(req, "1") ? 1 : 77;
        }
        n++;
    }
    if (!n) {
        printf("usage: test_api CASE_DIR...\n");
        return 2;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/model.onnx", cases[i].dir);
        for (int how = 0; how < 4; how++) {
            onnxc_model *m = NULL;
            onnxc_options *o = NULL;
            onnxc_status st;
            if (how == 1) {
                size_t len;
                unsigned char *b = read_all(path, &len);
                st = b ? onnxc_model_load_memory(b, len, NULL, &m) : ONNXC_ERR_IO;
                free(b);
            } else {
                onnxc_options_new(&o);
                if (how == 2) {
                    onnxc_options_set_optimize(o, 0);
                    onnxc_options_set_threads(o, 2);
                }
                if (how == 3) { /* exactly the passes listed: constant folding only */
                    CHECK(onnxc_options_set_passes(o, "fold,no_such_pass") == ONNXC_ERR_ARGUMENT &&
                              strstr(onnxc_last_error(), "no_such_pass"),
                          "unknown pass in a list: %s", onnxc_last_error());
                    CHECK(onnxc_options_set_passes(o, "fold") == ONNXC_OK, "set_passes: %s", onnxc_last_error());
                }
                st = onnxc_model_load(path, o, &m);
                onnxc_options_free(o);
            }
            CHECK(st == ONNXC_OK, "%s: load: %s", path, onnxc_last_error());
            if (st)
                continue;
            const char *hows[] = {"from path", "from memory", "unfused, 2 threads", "passes: fold"};
            run_and_compare(&cases[i], m, hows[how]);
            check_model_io(&cases[i], m);
            if (how == 0)
                check_bad_inputs(&cases[i], m);
            onnxc_model_free(m);
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", cases[0].dir);
    check_bad_models(path);

    pthread_t th[2];
    thread_job jobs[2];
    for (int t = 0; t < 2; t++) {
        jobs[t] = (thread_job){&cases[t % n], 0};
        pthread_create(&th[t], NULL, thread_main, &jobs[t]);
    }
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].ok, "thread %d: concurrent load and runs failed or differ", t);
    }
    for (int i = 0; i < n; i++)
        free_case(&cases[i]);
    return check_finish("test_api");
}
