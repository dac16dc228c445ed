/* threads.h: the process-wide threading policy.
 *
 * One number of threads for everything, set once by oc_set_threads
 * (`--threads N`). onnxc's kernels split their work with oc_parallel_for
 * over a small pool of worker threads (created on first use, spinning
 * briefly between parallel regions, then sleeping). BLAS is kept at one
 * thread: every GEMM onnxc issues runs inside its own parallel regions,
 * so the two never oversubscribe the cores.
 *
 * Work is split statically: with T threads, part t of [0, n) is
 * [n*t/T, n*(t+1)/T), so a given thread count always computes the same
 * partition (runs are bitwise repeatable). A parallel_for called from
 * inside a region, or while another thread owns the pool, runs serially
 * on the caller with the caller's thread index.
 *
 * Static parts also keep each thread on the part of an activation it
 * wrote in the previous step. Measured against them (MobileNet-v2, batch
 * 1, 2 threads, AVX2 EPYC KVM guest, both schedules alternating run by
 * run in one process): items handed out from one atomic counter were 1-3%
 * slower while the host was quiet (faster only while it slowed one vCPU
 * by half); the static parts with the idle thread stealing pieces from
 * the other's tail were 0.2-1.3% slower. The static imbalance left was
 * about 1% of a run. */
#ifndef ONNXC_THREADS_H
#define ONNXC_THREADS_H

#include <stdint.h>

/* n <= 0: all online cores. Returns the number in force. */
int oc_set_threads(int n);
int oc_get_threads(void);

/* fn(ctx, begin, end, tid) over a partition of [0, n) into at most
 * min(max_threads, oc_get_threads()) parts of at least `grain` items each
 * (grain <= 0: 1; max_threads <= 0: no cap beyond the pool); tid in
 * [0, parts) indexes per-thread scratch (kernels pass oc_kargs.threads,
 * the number of slices the plan allocated). Returns when all parts are
 * done. */
typedef void (*oc_task_fn)(void *ctx, int64_t begin, int64_t end, int tid);
void oc_parallel_for(int64_t n, int64_t grain, int max_threads, oc_task_fn fn, void *ctx);

/* Threads worth using for `work` multiply-adds (or element operations):
 * a region costs a hand-off to the workers (microseconds, much more when
 * another process holds a core), so small steps run on the caller. */
#define OC_PARALLEL_MIN_WORK 2000000.0
static inline int oc_threads_for_work(int threads, double work)
{
    return threads > 1 && work >= OC_PARALLEL_MIN_WORK ? threads : 1;
}

/* Parts oc_parallel_for would use. */
int oc_parallel_parts(int64_t n, int64_t grain, int max_threads);

/* Stops the workers (tests, leak checks); the pool restarts on next use. */
void oc_threads_shutdown(void);

#endif
