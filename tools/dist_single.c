/* dist_single.c: dist.h in the onnxc program. Run alone, onnxc is one
 * process and these are no-ops. Started by an MPI launcher (its
 * environment says so), it loads the MPI backend plugin libonnxc_mpi.so
 * (tools/dist_mpi.c; built when CMake finds MPI) from $ONNXC_MPI_PLUGIN,
 * beside the onnxc executable, or from ../lib next to it (an installed
 * tree), and forwards every call to it. So the onnxc program itself links
 * no MPI and needs none installed to run alone; a launcher that started
 * several copies without the plugin gets a clear error instead of K
 * independent runs all writing the same files. */
#include "dist.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_dist_ops *g_ops; /* the MPI plugin, once loaded */

/* The launcher's rank count from its environment, or 0. */
static int launched_size(const char **var)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0) {
            *var = vars[i];
            return atoi(v);
        }
    }
    return 0;
}

static void *open_plugin(char *tried, size_t cap)
{
    char exe[4096], path[4400];
    const char *env = getenv("ONNXC_MPI_PLUGIN");
    size_t o = 0;
    tried[0] = 0;
    if (env && *env) {
        o += (size_t)snprintf(tried + o, cap - o, "%s", env);
        return dlopen(env, RTLD_NOW | RTLD_LOCAL);
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *rel[] = {"", "/../lib", "/../lib/x86_64-linux-gnu"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(path, sizeof path, "%s%s/%s", exe, rel[i], CLI_DIST_PLUGIN_FILE);
                if (o + 8 < cap)
                    o += (size_t)snprintf(tried + o, cap - o, "%s%s", o ? ", " : "", path);
                void *h = access(path, R_OK) == 0 ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
                if (h)
                    return h;
            }
        }
    }
    return NULL;
}

int cli_dist_init(int argc, char **argv)
{
    const char *var = NULL;
    int k = launched_size(&var);
    if (k <= 0)
        return 0; /* run alone: one process, no MPI */
    char tried[2048];
    void *h = open_plugin(tried, sizeof tried);
    const cli_dist_ops *ops = h ? (const cli_dist_ops *)dlsym(h, CLI_DIST_PLUGIN_SYMBOL) : NULL;
    if (!ops) {
        if (k == 1)
            return 0;
        fprintf(stderr, "onnxc: started as one of %d processes (%s), but the MPI backend %s could not be loaded "
                        "(%s; tried %s): build onnxc with MPI installed (-DONNXC_MPI=ON)\n",
                k, var, CLI_DIST_PLUGIN_FILE, h ? "it has no " CLI_DIST_PLUGIN_SYMBOL : dlerror(), tried);
        return 2;
    }
    g_ops = ops;
    return g_ops->init(argc, argv);
}

int cli_dist_finish(int rc) { return g_ops ? g_ops->finish(rc) : rc; }
int cli_dist_rank(void) { return g_ops ? g_ops->rank() : 0; }
int cli_dist_size(void) { return g_ops ? g_ops->size() : 1; }
const char *cli_dist_backend(void) { return g_ops ? g_ops->backend() : "none"; }

int cli_dist_grad_hook(void *ctx, float *grads, size_t n)
{
    return g_ops ? g_ops->grad_hook(ctx, grads, n) : 0;
}

int cli_dist_allreduce(void *ctx, double *buf, size_t n)
{
    return g_ops ? g_ops->allreduce(ctx, buf, n) : 0;
}

int cli_dist_check_state(int64_t step, uint64_t checksum, oc_diag *d)
{
    return g_ops ? g_ops->check_state(step, checksum, d) : 0;
}

void cli_dist_grad_stats(double *seconds, double *wait, int64_t *calls)
{
    if (g_ops) {
        g_ops->grad_stats(seconds, wait, calls);
        return;
    }
    *seconds = 0;
    *wait = 0;
    *calls = 0;
}
