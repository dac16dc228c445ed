/* dist_single.c: dist.h for an onnxc built without MPI (ONNXC_MPI off or
 * MPI not found): always one process. A launcher that started several
 * copies (its environment says so) gets a clear error instead of K
 * independent runs all writing the same files. */
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>

int cli_dist_init(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1) {
            fprintf(stderr, "onnxc: started as one of %s processes (%s), but this onnxc was built without MPI "
                            "(configure with MPI installed and -DONNXC_MPI=ON)\n", v, vars[i]);
            return 2;
        }
    }
    return 0;
}

int cli_dist_finish(int rc) { return rc; }
int cli_dist_rank(void) { return 0; }
int cli_dist_size(void) { return 1; }
const char *cli_dist_backend(void) { return "none"; }

int cli_dist_grad_hook(void *ctx, float *grads, size_t n)
{
    (void)ctx;
    (void)grads;
    (void)n;
    return 0;
}

int cli_dist_allreduce(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return 0;
}

int cli_dist_check_state(int64_t step, uint64_t checksum, oc_diag *d)
{
    (void)step;
    (void)checksum;
    (void)d;
    return 0;
}

void cli_dist_grad_stats(double *seconds, double *wait, int64_t *calls)
{
    *seconds = 0;
    *wait = 0;
    *calls = 0;
}
