/* threads.c: see threads.h.
 *
 * The pool: T-1 workers plus the calling thread. A region publishes its
 * job (fn, ctx, n, parts) and bumps `gen`; workers spin on gen for a
 * short while (a region typically follows the previous one within
 * microseconds in a plan run), then sleep on a condition variable.
 * Completion is a countdown the caller waits on the same way. One region
 * at a time: the pool lock is taken with trylock, and a caller that does
 * not get it (another thread's region, or a nested call) runs its loop
 * serially. */
#include "threads.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_THREADS 256
#define SPIN_ITERS 20000 /* ~ tens of microseconds of pause instructions */

static struct pool {
    int threads;  /* in force, including the caller */
    int started;  /* workers running */
    pthread_t th[MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint gen;
    unsigned gen0; /* gen when the workers were created: their first `seen` */
    atomic_int remaining;
    int stop;
    /* the current job */
    oc_task_fn fn;
    void *ctx;
    int64_t n;
    int parts;
} pool = {.threads = 1, .mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t region = PTHREAD_MUTEX_INITIALIZER; /* one region at a time */
static _Thread_local int in_region;
static _Thread_local int my_tid;

static void run_part(int t)
{
    int64_t b = pool.n * t / pool.parts, e = pool.n * (t + 1) / pool.parts;
    if (b < e) {
        in_region = 1;
        my_tid = t;
        pool.fn(pool.ctx, b, e, t);
        in_region = 0;
        my_tid = 0;
    }
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    /* not a fresh load of gen: a worker that starts running only after the
     * creating region has published its job would take that job's gen as
     * already seen, never run its part, and the caller would wait forever */
    unsigned seen = pool.gen0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ITERS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool.mu);
            while (atomic_load_explicit(&pool.gen, memory_order_acquire) == seen && !pool.stop)
                pthread_cond_wait(&pool.wake, &pool.mu);
            int stop = pool.stop;
            pthread_mutex_unlock(&pool.mu);
            if (stop)
                return NULL;
        }
        seen = g;
        if (pool.stop)
            return NULL;
        if (t < pool.parts)
            run_part(t);
        if (atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
}

static void stop_workers(void)
{
    if (!pool.started)
        return;
    pthread_mutex_lock(&pool.mu);
    pool.stop = 1;
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int t = 1; t < pool.started; t++)
        pthread_join(pool.th[t], NULL);
    pool.started = 0;
    pool.stop = 0;
}

/* Starts threads-1 workers; on failure runs with the ones that started. */
static void start_workers(void)
{
    int t = 1;
    pool.gen0 = atomic_load_explicit(&pool.gen, memory_order_relaxed);
    for (; t < pool.threads; t++)
        if (pthread_create(&pool.th[t], NULL, worker, (void *)(intptr_t)t))
            break;
    pool.started = t;
    if (t < pool.threads)
        pool.threads = t;
}

int oc_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    pthread_mutex_lock(&region);
    stop_workers();
    pool.threads = n;
    pthread_mutex_unlock(&region);
    /* every GEMM runs inside onnxc's own regions: BLAS stays single-threaded */
    openblas_set_num_threads(1);
    return n;
}

int oc_get_threads(void) { return pool.threads; }

int oc_parallel_parts(int64_t n, int64_t grain, int max_threads)
{
    if (grain <= 0)
        grain = 1;
    int64_t parts = n / grain;
    if (parts > pool.threads)
        parts = pool.threads;
    if (max_threads > 0 && parts > max_threads)
        parts = max_threads;
    return parts < 1 ? 1 : (int)parts;
}

void oc_parallel_for(int64_t n, int64_t grain, int max_threads, oc_task_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    int parts = oc_parallel_parts(n, grain, max_threads);
    if (parts == 1 || in_region || pthread_mutex_trylock(&region) != 0) {
        fn(ctx, 0, n, in_region ? my_tid : 0);
        return;
    }
    if (pool.started != pool.threads)
        start_workers();
    if (pool.threads < parts)
        parts = pool.threads;
    if (parts <= 1) {
        pthread_mutex_unlock(&region);
        fn(ctx, 0, n, 0);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.parts = parts;
    atomic_store_explicit(&pool.remaining, pool.started - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool.mu);
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    run_part(0);
    int spins = 0;
    while (atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0) {
        if (++spins < SPIN_ITERS) {
            cpu_relax();
            continue;
        }
        pthread_mutex_lock(&pool.mu);
        while (atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0)
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
    pthread_mutex_unlock(&region);
}

void oc_threads_shutdown(void)
{
    pthread_mutex_lock(&region);
    stop_workers();
    pthread_mutex_unlock(&region);
}
