/* dist.h: data-parallel runs of the onnxc CLI,
 * `mpirun -np K onnxc train|finetune ... --batch B`.
 *
 * The one place onnxc talks to MPI. dist_mpi.c implements this header
 * when CMake finds MPI (option ONNXC_MPI); dist_single.c otherwise (one
 * process, and a clear error when a launcher started several). The
 * libraries know nothing of MPI: the trainer (compiler/trainer.h) gets the
 * gradient allreduce as its grad_hook and the double allreduce as its
 * oc_collective (runtime/plan.h), which evaluation and --sync-bn use.
 *
 * A process started by mpirun initializes MPI in cli_dist_init; one
 * started alone never does. Rank 0 alone writes to stdout (the other
 * ranks' stdout goes to /dev/null); every rank reports errors on stderr.
 * A failure on any rank after start-up aborts the whole job (MPI_Abort),
 * so no rank waits forever in a collective; a collective that does not
 * complete within ONNXC_DIST_TIMEOUT seconds (default 300) ends its
 * process with an error, which mpirun turns into the end of the job. */
#ifndef ONNXC_TOOLS_DIST_H
#define ONNXC_TOOLS_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/diag.h"

/* Joins the job when started by a launcher; checks that every rank got
 * the same command line. 0, or an exit status (error printed). */
int cli_dist_init(int argc, char **argv);
/* The exit status for rc; a failed rank of a multi-rank job aborts the job
 * here instead of returning. */
int cli_dist_finish(int rc);

int cli_dist_rank(void);
int cli_dist_size(void);
const char *cli_dist_backend(void); /* "MPI (Open MPI v4.1.4...)" or "none" */

/* oc_train_config.grad_hook: sums the gradient block over the ranks and
 * scales it by 1/K (the mean of the ranks' batch-mean gradients is the
 * gradient of the global batch's mean loss). ctx unused. */
int cli_dist_grad_hook(void *ctx, float *grads, size_t n);
/* oc_collective.allreduce: sums doubles over the ranks in place. */
int cli_dist_allreduce(void *ctx, double *buf, size_t n);

/* Debug (ONNXC_DIST_CHECK=N): every N optimizer steps (and at the end:
 * step < 0), checks that the training state (checksum: the parameters and
 * running statistics when they are synchronized, and always at the end:
 * oc_trainer_state_checksum) is the same on every rank, printing it; an error names the step otherwise. A no-op when unset
 * or with one rank. */
int cli_dist_check_state(int64_t step, uint64_t checksum, oc_diag *d);

/* Seconds spent in the gradient allreduce, seconds waited before it for
 * the slowest rank (a barrier), and its calls so far. */
void cli_dist_grad_stats(double *seconds, double *wait, int64_t *calls);

/* The MPI backend is a plugin (libonnxc_mpi.so, tools/dist_mpi.c built
 * with ONNXC_DIST_PLUGIN) that dist_single.c loads only when a launcher
 * started this process, so onnxc itself links no MPI and runs without it
 * installed. The plugin exports one table of these functions. */
typedef struct cli_dist_ops {
    int (*init)(int argc, char **argv);
    int (*finish)(int rc);
    int (*rank)(void);
    int (*size)(void);
    const char *(*backend)(void);
    int (*grad_hook)(void *ctx, float *grads, size_t n);
    int (*allreduce)(void *ctx, double *buf, size_t n);
    int (*check_state)(int64_t step, uint64_t checksum, oc_diag *d);
    void (*grad_stats)(double *seconds, double *wait, int64_t *calls);
} cli_dist_ops;

#define CLI_DIST_PLUGIN_SYMBOL "onnxc_dist_mpi_ops"
#define CLI_DIST_PLUGIN_FILE "libonnxc_mpi.so"

#endif
