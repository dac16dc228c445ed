/* dist_mpi.c: dist.h over MPI (built when CMake finds it; ONNXC_MPI).
 *
 * MPI is initialized only when a launcher started this process (Open MPI,
 * PMI or PMIx variables in the environment), so `onnxc train` run alone
 * behaves exactly as a build without MPI. Errors on MPI_COMM_WORLD return
 * (MPI_ERRORS_RETURN) and become onnxc errors naming the collective; every
 * collective runs under a watchdog (alarm): one that has not completed
 * after ONNXC_DIST_TIMEOUT seconds (default 300; 0 = none) means a peer
 * died or hangs, and the process ends with a message saying so. A rank
 * that fails for any other reason aborts the job in cli_dist_finish. */
#ifdef ONNXC_DIST_PLUGIN /* the plugin's own names; onnxc's cli_dist_* forward to them */
#define cli_dist_init mpi_dist_init
#define cli_dist_finish mpi_dist_finish
#define cli_dist_rank mpi_dist_rank
#define cli_dist_size mpi_dist_size
#define cli_dist_backend mpi_dist_backend
#define cli_dist_grad_hook mpi_dist_grad_hook
#define cli_dist_allreduce mpi_dist_allreduce
#define cli_dist_check_state mpi_dist_check_state
#define cli_dist_grad_stats mpi_dist_grad_stats
#endif
#include "dist.h"

#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_active, g_rank, g_size = 1;
static unsigned g_timeout = 300;
static int64_t g_check_every;
static double g_grad_s, g_wait_s;
static int64_t g_grad_calls;
static char g_backend[160] = "none";
static volatile sig_atomic_t g_in_collective;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* SIGALRM during a collective: a peer is gone or stuck. Only
 * async-signal-safe calls here. */
static void on_alarm(int sig)
{
    (void)sig;
    if (!g_in_collective)
        return;
    static const char msg[] = "onnxc: error: a collective operation did not complete within ONNXC_DIST_TIMEOUT "
                              "seconds: another rank died or hangs; ending this rank\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static void watch_begin(void)
{
    g_in_collective = 1;
    if (g_timeout)
        alarm(g_timeout);
}

static void watch_end(void)
{
    if (g_timeout)
        alarm(0);
    g_in_collective = 0;
}

static int mpi_error(int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    fprintf(stderr, "onnxc: error: rank %d of %d: %s failed: %s\n", g_rank, g_size, what, s);
    return -1;
}

static int launched(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* 1 when h is the same on every rank (0 on an MPI error, printed) */
static int same_everywhere(uint64_t h, const char *what, int *err)
{
    uint64_t lo = h, hi = h;
    *err = 0;
    watch_begin();
    int rc = MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS)
        rc = MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    watch_end();
    if (rc != MPI_SUCCESS) {
        *err = 1;
        mpi_error(rc, what);
        return 0;
    }
    return lo == hi;
}

int cli_dist_init(int argc, char **argv)
{
    const char *ce = getenv("ONNXC_DIST_CHECK"), *to = getenv("ONNXC_DIST_TIMEOUT");
    if (ce && (g_check_every = atoll(ce)) < 0)
        g_check_every = 0;
    if (to)
        g_timeout = (unsigned)(atoi(to) > 0 ? atoi(to) : 0);
    if (!launched())
        return 0;
    /* Open MPI's default choice for large allreduces measured 6-8x slower
     * than its ring algorithm for the gradient block here (ResNet-18, 45 MB,
     * 2 ranks: 585-795 ms against 66-101 ms): ask for the ring, which is
     * bandwidth-optimal and what tools/bench/allreduce_model.py assumes,
     * unless the user chose an algorithm (or ONNXC_MPI_ALLREDUCE=default). */
    const char *alg = getenv("ONNXC_MPI_ALLREDUCE");
    if (!getenv("OMPI_MCA_coll_tuned_allreduce_algorithm") && !(alg && !strcmp(alg, "default"))) {
        setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 0);
        setenv("OMPI_MCA_coll_tuned_allreduce_algorithm", "4", 0); /* 4 = ring */
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    int provided = 0;
    watch_begin(); /* joining waits for every rank too */
    int rc = MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    watch_end();
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "onnxc: error: MPI_Init failed (started by a launcher, per the environment)\n");
        return 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_active = 1;
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, ",\n")] = 0;
    snprintf(g_backend, sizeof g_backend, "MPI (%.150s)", lib);
    if (g_rank > 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "onnxc: warning: rank %d: cannot silence stdout\n", g_rank);
    /* the same command line everywhere: flags are then checked alike on
     * every rank, and a bad one stops all of them before any training */
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 1; i < argc; i++)
        h = fnv(h, argv[i], strlen(argv[i]) + 1);
    int err;
    if (!same_everywhere(h, "the command-line check (MPI_Allreduce)", &err)) {
        if (!err && g_rank == 0)
            fprintf(stderr, "onnxc: error: the %d ranks were started with different command lines; every rank must "
                            "get the same arguments\n", g_size);
        return 2;
    }
    return 0;
}

int cli_dist_finish(int rc)
{
    if (!g_active)
        return rc;
    if (rc != 0 && rc != 2 && g_size > 1) {
        /* the others may be inside a collective: end the whole job */
        fprintf(stderr, "onnxc: rank %d of %d failed (exit status %d); aborting the job\n", g_rank, g_size, rc);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    return rc;
}

int cli_dist_rank(void) { return g_rank; }
int cli_dist_size(void) { return g_size; }
const char *cli_dist_backend(void) { return g_backend; }

int cli_dist_grad_hook(void *ctx, float *grads, size_t n)
{
    (void)ctx;
    if (!g_active || g_size < 2)
        return 0;
    /* a barrier first, so that the time the ranks wait for the slowest one
     * (load imbalance, a busy machine) is told apart from the reduction */
    double tw = now_s();
    watch_begin();
    int brc = MPI_Barrier(MPI_COMM_WORLD);
    if (brc != MPI_SUCCESS) {
        watch_end();
        return mpi_error(brc, "the barrier before the gradient allreduce (MPI_Barrier)");
    }
    double t0 = now_s();
    g_wait_s += t0 - tw;
    for (size_t o = 0; o < n;) { /* MPI counts are int */
        size_t m = n - o < (size_t)INT_MAX ? n - o : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, grads + o, (int)m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            watch_end();
            return mpi_error(rc, "the gradient allreduce (MPI_Allreduce)");
        }
        o += m;
    }
    watch_end();
    float inv = 1.0f / (float)g_size;
    for (size_t i = 0; i < n; i++)
        grads[i] *= inv;
    g_grad_s += now_s() - t0;
    g_grad_calls++;
    return 0;
}

int cli_dist_allreduce(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    if (!g_active || g_size < 2)
        return 0;
    watch_begin();
    for (size_t o = 0; o < n;) {
        size_t m = n - o < (size_t)INT_MAX ? n - o : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + o, (int)m, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            watch_end();
            return mpi_error(rc, "an allreduce of statistics (MPI_Allreduce)");
        }
        o += m;
    }
    watch_end();
    return 0;
}

int cli_dist_check_state(int64_t step, uint64_t h, oc_diag *d)
{
    if (!g_active || g_size < 2 || g_check_every < 1 || (step >= 0 && step % g_check_every))
        return 0;
    char when[64];
    if (step >= 0)
        snprintf(when, sizeof when, "step %lld", (long long)step);
    else
        snprintf(when, sizeof when, "end of training");
    int err;
    if (same_everywhere(h, "the state check (MPI_Allreduce)", &err)) {
        printf("%s: training state identical on %d ranks (checksum %016llx)\n", when, g_size,
               (unsigned long long)h);
        return 0;
    }
    if (err)
        return oc_fail(d, "%s: the state check failed (MPI error above)", when);
    return oc_fail(d, "%s: the parameters or running statistics differ between ranks (rank %d checksum %016llx; "
                      "ONNXC_DIST_CHECK)", when, g_rank, (unsigned long long)h);
}

void cli_dist_grad_stats(double *seconds, double *wait, int64_t *calls)
{
    *seconds = g_grad_s;
    *wait = g_wait_s;
    *calls = g_grad_calls;
}

#ifdef ONNXC_DIST_PLUGIN
__attribute__((visibility("default"))) const cli_dist_ops onnxc_dist_mpi_ops = {
    cli_dist_init,      cli_dist_finish,    cli_dist_rank,        cli_dist_size,      cli_dist_backend,
    cli_dist_grad_hook, cli_dist_allreduce, cli_dist_check_state, cli_dist_grad_stats,
};
#endif
