/* cmd_check.c: `onnxc check DIR... [--rtol R] [--atol A] [--known FILE] [--threads N]
 *              [--no-fuse] [--passes LIST] [--no-pass NAME]`
 * Runs test cases in the ONNX backend-test layout: DIR/model.onnx with
 * DIR/test_data_set_N/input_K.pb and output_K.pb (or a folder of such
 * cases). Each case runs in a child process so that one crashing case is
 * reported as a failure and the run goes on. Prints PASS/FAIL/SKIP per
 * case with the worst element difference or the reason, and ends with
 * "N passed, N failed, N skipped". A --known file lists cases that are
 * known to fail ("case-name-prefix  reason" per line): a listed case that
 * fails cleanly is reported as skipped with that reason, never as passed; a
 * crash (signal, sanitizer report, unexpected exit status) is always
 * "FAIL (CRASH)", and a listed case that passes is reported as
 * "listed but passes: CASE" so that stale entries come out.
 *
 * Inputs whose value defines a shape (Reshape's shape, Range's bounds, ...)
 * are compiled in as constants before planning, as a static-shape
 * deployment would fix them; --bake small|none widens or drops that. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../compiler/onnx_import.h"
#include "../compiler/planner.h"
#include "../compiler/shape.h"
#include "../runtime/dtype.h"
#include "../runtime/strtensor.h"
#include "cli.h"

/* Which data-set inputs become graph constants before planning. */
typedef enum bake_mode {
    BAKE_SHAPE, /* inputs whose value defines a shape (Reshape's shape, Slice's starts, ...) */
    BAKE_SMALL, /* also every int input of <= 64 elements and every scalar (the old rule) */
    BAKE_NONE,  /* none: every input is fed at run time, as ONNX Runtime does */
} bake_mode;

typedef struct check_opts {
    double rtol, atol;
    int threads;
    int verbose;
    bake_mode bake;
    oc_pass_opts passes; /* graph passes before planning */
} check_opts;

/* Exit status of a case's child process; anything else (a signal, a
 * sanitizer report, an exit() somewhere) is a crash, which the known-failure
 * list never excuses. */
enum { CHILD_PASS = 0, CHILD_FAIL = 40, CHILD_SKIP = 41 };

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Worst difference of got vs want under rtol/atol; returns 1 when within. */
static int compare(const oc_tensor *got, const oc_tensor *want, const check_opts *o, double *worst, char *why,
                   size_t cap)
{
    char a[256], b[256];
    *worst = 0;
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "dtype %s, expected %s", oc_dtype_name(got->dtype), oc_dtype_name(want->dtype));
        return 0;
    }
    int same = got->rank == want->rank;
    for (int i = 0; same && i < got->rank; i++)
        same = got->dims[i] == want->dims[i];
    if (!same) {
        snprintf(why, cap, "shape %s, expected %s", oc_format_dims(a, sizeof a, got->dims, got->rank),
                 oc_format_dims(b, sizeof b, want->dims, want->rank));
        return 0;
    }
    if (got->dtype == OC_STRING) {
        const oc_str *x = got->data, *y = want->data;
        for (int64_t i = 0; i < got->numel; i++)
            if (x[i].n != y[i].n || memcmp(oc_str_bytes(x[i]), oc_str_bytes(y[i]), (size_t)x[i].n)) {
                snprintf(why, cap, "string %lld is \"%.60s\", expected \"%.60s\"", (long long)i,
                         oc_str_bytes(x[i]), oc_str_bytes(y[i]));
                *worst = 1;
                return 0;
            }
        return 1;
    }
    int fl = oc_dtype_is_float(got->dtype);
    if (!oc_dtype_size(got->dtype)) {
        snprintf(why, cap, "cannot compare element type %s", oc_dtype_name(got->dtype));
        return 0;
    }
    int ok = 1;
    for (int64_t i = 0; i < got->numel; i++) {
        if (fl) {
            double x = oc_tensor_get_f64(got, i), y = oc_tensor_get_f64(want, i);
            if (isnan(x) && isnan(y))
                continue;
            if (isinf(x) || isinf(y)) {
                if (x != y) {
                    ok = 0;
                    *worst = INFINITY;
                }
                continue;
            }
            double diff = fabs(x - y);
            if (isnan(diff))
                diff = INFINITY;
            if (diff > *worst)
                *worst = diff;
            if (!(diff <= o->atol + o->rtol * fabs(y)))
                ok = 0;
        } else if (oc_tensor_get_i64(got, i) != oc_tensor_get_i64(want, i)) {
            double diff = fabs((double)oc_tensor_get_i64(got, i) - (double)oc_tensor_get_i64(want, i));
            if (diff > *worst)
                *worst = diff;
            ok = 0;
        }
    }
    if (!ok)
        snprintf(why, cap, "max abs diff %.3g exceeds rtol %g / atol %g", *worst, o->rtol, o->atol);
    return ok;
}

/* One data set of one case. 0 pass, 1 fail, 2 skip; message in why. */
static int run_data_set(const char *case_dir, const char *set_dir, const check_opts *o, double *worst, char *why,
                        size_t cap)
{
    char path[4096], mpath[4096];
    oc_diag d;
    oc_diag_init(&d);
    snprintf(mpath, sizeof mpath, "%s/model.onnx", case_dir);
    oc_graph *g = oc_onnx_load(mpath, &d);
    oc_tensor *inputs[64] = {0};
    int n_in = 0, rc = 1;
    oc_plan *p = NULL;
    oc_pass_report rep = {0};
    if (!g) {
        snprintf(why, cap, "%s", d.msg);
        return 1;
    }
    for (n_in = 0; n_in < 64; n_in++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", set_dir, n_in);
        if (!is_file(path))
            break;
        /* an optional graph input's data is an OptionalProto holding the tensor */
        int opt = n_in < g->n_inputs && (g->values[g->inputs[n_in]].flags & OC_VALUE_OPTIONAL);
        if (!(inputs[n_in] = opt ? oc_onnx_load_optional_tensor(path, NULL, &d) : oc_onnx_load_tensor(path, NULL, &d)))
            goto done;
    }
    if (n_in != g->n_inputs) {
        snprintf(why, cap, "the data set has %d inputs, the model takes %d", n_in, g->n_inputs);
        goto out;
    }
    /* bind the model's input dims to the data's (symbolic dims, mostly);
     * inputs whose value defines a shape (Reshape's shape, Range's bounds)
     * are compiled in as constants, as a static-shape deployment would fix
     * them (--bake: see bake_mode) */
    for (int k = 0; k < n_in; k++) {
        oc_value *v = &g->values[g->inputs[k]];
        if (v->rank != inputs[k]->rank || (v->dtype && v->dtype != inputs[k]->dtype))
            continue; /* reported by oc_plan_set_input */
        for (int i = 0; i < v->rank; i++)
            v->dims[i] = inputs[k]->dims[i];
        int shape_like = o->bake != BAKE_NONE && inputs[k]->numel <= 64 ? cli_defines_shape(g, g->inputs[k], &d) : 0;
        if (shape_like < 0)
            goto done;
        if (o->bake == BAKE_SMALL)
            shape_like |= ((v->dtype == OC_INT64 || v->dtype == OC_INT32) && inputs[k]->numel <= 64) ||
                          (inputs[k]->rank == 0 && oc_dtype_size(v->dtype) && v->dtype != OC_STRING);
        if (shape_like && !v->constant &&
            !(v->constant = oc_tensor_clone(inputs[k], &d)))
            goto done;
    }
    if (oc_graph_infer_shapes(g, &d) || oc_passes_run(g, &o->passes, &rep, &d))
        goto done;
    oc_plan_opts po = {o->threads, 0};
    po.views = rep.views;
    po.batch_slice = rep.batch_slice;
    po.c8 = rep.c8;
    if (!(p = oc_plan_build(g, &po, &d)))
        goto done;
    for (int k = 0; k < n_in; k++)
        if (oc_plan_set_input(p, k, inputs[k], &d))
            goto done;
    if (oc_plan_run(p, &d))
        goto done;
    rc = 0;
    *worst = 0;
    for (int k = 0; k < p->n_outputs; k++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set_dir, k);
        if (!is_file(path))
            break;
        oc_tensor *want = oc_onnx_load_tensor(path, NULL, &d);
        if (!want)
            goto done;
        double w;
        char sub[512];
        if (!compare(&p->tensors[p->outputs[k]], want, o, &w, sub, sizeof sub)) {
            snprintf(why, cap, "output %d '%s': %s", k, p->names[p->outputs[k]], sub);
            rc = 1;
        }
        if (w > *worst)
            *worst = w;
        oc_tensor_free(want);
        if (rc)
            break;
    }
    goto out;
done:
    snprintf(why, cap, "%s", d.msg);
    rc = 1;
out:
    for (int k = 0; k < n_in; k++)
        oc_tensor_free(inputs[k]);
    oc_plan_free(p);
    oc_pass_report_free(&rep);
    oc_graph_free(g);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Child-process body: runs every data set of a case, writes a result line. */
static int run_case(const char *dir, const check_opts *o, char *msg, size_t cap)
{
    DIR *dd = opendir(dir);
    if (!dd) {
        snprintf(msg, cap, "cannot open %s", dir);
        return 1;
    }
    char *sets[256];
    int ns = 0;
    struct dirent *e;
    while ((e = readdir(dd)) && ns < 256)
        if (strncmp(e->d_name, "test_data_set_", 14) == 0)
            sets[ns++] = strdup(e->d_name);
    closedir(dd);
    qsort(sets, (size_t)ns, sizeof sets[0], cmp_str);
    int rc = 0;
    double worst = 0;
    if (ns == 0) {
        snprintf(msg, cap, "no test_data_set_* with .pb files (data.json cases are not supported)");
        rc = 2;
    }
    for (int i = 0; i < ns && rc == 0; i++) {
        char sd[4096], why[1024] = "";
        double w = 0;
        snprintf(sd, sizeof sd, "%s/%s", dir, sets[i]);
        rc = run_data_set(dir, sd, o, &w, why, sizeof why);
        if (w > worst)
            worst = w;
        if (rc)
            snprintf(msg, cap, "%s: %s", sets[i], why);
    }
    if (rc == 0)
        snprintf(msg, cap, "max abs diff %.3g over %d data set%s", worst, ns, ns == 1 ? "" : "s");
    for (int i = 0; i < ns; i++)
        free(sets[i]);
    return rc;
}

typedef struct known {
    char pattern[256];
    char reason[512];
} known;

static const known *find_known(const known *k, int nk, const char *name)
{
    for (int i = 0; i < nk; i++) {
        size_t n = strlen(k[i].pattern);
        if (n && k[i].pattern[n - 1] == '*' ? strncmp(name, k[i].pattern, n - 1) == 0 : strcmp(name, k[i].pattern) == 0)
            return &k[i];
    }
    return NULL;
}

int oc_cmd_check(int argc, char **argv)
{
    check_opts o = {1e-3, 1e-5, 1, 0, BAKE_SHAPE};
    oc_pass_opts_default(&o.passes);
    const char *known_path = NULL;
    char **dirs = calloc((size_t)argc + 1, sizeof(char *));
    int nd = 0;
    if (!dirs)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int pr = cli_pass_arg("check", &o.passes, NULL, argc, argv, &i);
        if (pr < 0)
            goto usage;
        if (pr)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: onnxc check DIR... [--rtol R] [--atol A] [--known FILE] [--threads N]\n"
                   "       [--bake shape|small|none | --no-bake] [--no-fuse] [--passes LIST] [--no-pass NAME]\n"
                   "--bake: which data-set inputs become graph constants before planning: 'shape' (default)\n"
                   "only those whose value defines a shape (Reshape's shape, Slice's starts, Range's bounds,\n"
                   "TopK's k, ...); 'small' also every int input of <= 64 elements and every scalar;\n"
                   "'none' (= --no-bake) feeds every input at run time.\n"
                   "--known FILE: cases listed there that fail cleanly are SKIPped with the listed reason;\n"
                   "a crash is always a FAIL, and a listed case that passes is reported as stale.\n");
            free(dirs);
            return 0;
        } else if (!strcmp(a, "--rtol") || !strcmp(a, "--atol")) {
            char *end;
            if (!(v = cli_value("check", argc, argv, &i)))
                goto usage;
            double x = strtod(v, &end);
            if (*end || end == v || !(x >= 0)) {
                fprintf(stderr, "onnxc check: %s expects a non-negative number, got '%s'\n", a, v);
                goto usage;
            }
            *(a[2] == 'r' ? &o.rtol : &o.atol) = x;
        } else if (!strcmp(a, "--no-bake")) {
            o.bake = BAKE_NONE;
        } else if (!strcmp(a, "--bake")) {
            if (!(v = cli_value("check", argc, argv, &i)))
                goto usage;
            if (!strcmp(v, "shape") || !strcmp(v, "small") || !strcmp(v, "none")) {
                o.bake = v[0] == 's' ? (v[1] == 'h' ? BAKE_SHAPE : BAKE_SMALL) : BAKE_NONE;
            } else {
                fprintf(stderr, "onnxc check: --bake must be shape, small or none, got '%s'\n", v);
                goto usage;
            }
        } else if (!strcmp(a, "--known")) {
            if (!(known_path = cli_value("check", argc, argv, &i)))
                goto usage;
        } else if (!strcmp(a, "--threads")) {
            int64_t t;
            if (!(v = cli_value("check", argc, argv, &i)) || cli_int("--threads", v, 1, 1024, &t))
                goto usage;
            o.threads = (int)t;
        } else if (a[0] == '-') {
            fprintf(stderr, "onnxc check: unknown option '%s'\n", a);
            goto usage;
        } else {
            dirs[nd++] = argv[i];
        }
    }
    if (!nd) {
        fprintf(stderr, "onnxc check: no test case folders given\n");
        goto usage;
    }
    known *kn = NULL;
    int nk = 0;
    if (known_path) {
        FILE *f = fopen(known_path, "r");
        if (!f) {
            fprintf(stderr, "onnxc check: cannot open --known file '%s'\n", known_path);
            free(dirs);
            return 1;
        }
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            char *s = line;
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s == '#' || *s == '\n' || !*s)
                continue;
            known *nkp = realloc(kn, sizeof(known) * (size_t)(nk + 1));
            if (!nkp)
                break;
            kn = nkp;
            size_t len = strcspn(s, " \t\n");
            snprintf(kn[nk].pattern, sizeof kn[nk].pattern, "%.*s", (int)len, s);
            s += len;
            while (*s == ' ' || *s == '\t')
                s++;
            s[strcspn(s, "\n")] = 0;
            snprintf(kn[nk].reason, sizeof kn[nk].reason, "%s", *s ? s : "(no reason given)");
            nk++;
        }
        fclose(f);
    }
    /* expand folders of cases */
    int cap = 256, nc = 0;
    char **cases = malloc(sizeof(char *) * (size_t)cap);
    for (int i = 0; i < nd && cases; i++) {
        char mp[4096];
        snprintf(mp, sizeof mp, "%s/model.onnx", dirs[i]);
        if (is_file(mp)) {
            if (nc == cap) {
                char **nc2 = realloc(cases, sizeof(char *) * (size_t)(cap *= 2));
                if (!nc2)
                    break;
                cases = nc2;
            }
            cases[nc++] = strdup(dirs[i]);
        } else if (is_dir(dirs[i])) {
            DIR *dd = opendir(dirs[i]);
            struct dirent *e;
            int first = nc;
            while (dd && (e = readdir(dd))) {
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s/model.onnx", dirs[i], e->d_name);
                if (e->d_name[0] == '.' || !is_file(sub))
                    continue;
                if (nc == cap) {
                    char **nc2 = realloc(cases, sizeof(char *) * (size_t)(cap *= 2));
                    if (!nc2)
                        break;
                    cases = nc2;
                }
                snprintf(sub, sizeof sub, "%s/%s", dirs[i], e->d_name);
                cases[nc++] = strdup(sub);
            }
            if (dd)
                closedir(dd);
            qsort(cases + first, (size_t)(nc - first), sizeof cases[0], cmp_str);
        } else {
            fprintf(stderr, "onnxc check: '%s' is neither a test case (no model.onnx) nor a folder\n", dirs[i]);
            free(kn);
            free(dirs);
            return 2;
        }
    }
    int passed = 0, failed = 0, skipped = 0, stale = 0;
    for (int c = 0; c < nc; c++) {
        const char *name = strrchr(cases[c], '/') ? strrchr(cases[c], '/') + 1 : cases[c];
        char msg[1024] = "";
        int fds[2], status = 0, rc;
        fflush(stdout);
        if (pipe(fds) != 0) {
            rc = 3;
            snprintf(msg, sizeof msg, "pipe failed");
        } else {
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                char m[1024] = "";
                int r = run_case(cases[c], &o, m, sizeof m);
                size_t len = strlen(m);
                if (write(fds[1], m, len) < 0)
                    r = 1;
                close(fds[1]);
                _exit(r == 0 ? CHILD_PASS : r == 2 ? CHILD_SKIP : CHILD_FAIL);
            }
            close(fds[1]);
            if (pid < 0) {
                close(fds[0]);
                rc = 3;
                snprintf(msg, sizeof msg, "fork failed");
            } else {
                ssize_t got = 0, r;
                while ((r = read(fds[0], msg + got, sizeof msg - 1 - (size_t)got)) > 0)
                    got += r;
                msg[got > 0 ? got : 0] = 0;
                close(fds[0]);
                if (waitpid(pid, &status, 0) != pid) {
                    rc = 3;
                    snprintf(msg, sizeof msg, "waitpid failed");
                } else if (WIFSIGNALED(status)) {
                    rc = 3;
                    snprintf(msg, sizeof msg, "crashed with signal %d (%s)", WTERMSIG(status),
                             strsignal(WTERMSIG(status)));
                } else if (WEXITSTATUS(status) == CHILD_PASS || WEXITSTATUS(status) == CHILD_FAIL ||
                           WEXITSTATUS(status) == CHILD_SKIP) {
                    rc = WEXITSTATUS(status) == CHILD_PASS ? 0 : WEXITSTATUS(status) == CHILD_FAIL ? 1 : 2;
                } else {
                    rc = 3; /* e.g. a sanitizer report, which exits with status 1 */
                    snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%sexited with unexpected status %d",
                             *msg ? "; " : "", WEXITSTATUS(status));
                }
            }
        }
        /* the list excuses clean failures only, never a crash */
        const known *k = rc == 0 || rc == 1 ? find_known(kn, nk, name) : NULL;
        if (rc == 0) {
            passed++;
            printf("PASS %s: %s\n", name, msg);
            if (k) {
                stale++;
                printf("listed but passes: %s\n", name);
            }
        } else if (rc == 3) {
            failed++;
            printf("FAIL (CRASH) %s: %s\n", name, msg);
        } else if (rc == 2 || k) {
            skipped++;
            printf("SKIP %s: %s%s%s\n", name, k ? "known failure: " : "", k ? k->reason : msg,
                   k ? "" : "");
            if (k)
                printf("     (%s)\n", msg);
        } else {
            failed++;
            printf("FAIL %s: %s\n", name, msg);
        }
        free(cases[c]);
    }
    if (stale)
        printf("%d case%s listed in %s pass%s: remove %s from the list\n", stale, stale == 1 ? "" : "s", known_path,
               stale == 1 ? "es" : "", stale == 1 ? "it" : "them");
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    free(cases);
    free(kn);
    free(dirs);
    return failed ? 1 : 0;
usage:
    free(dirs);
    return 2;
}
