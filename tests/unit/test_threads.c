/* test_threads.c: the thread pool (runtime/threads.h). Every item of
 * [0, n) is visited exactly once, parts follow the documented static
 * partition with distinct thread indices below the cap, nested regions
 * run serially on the caller's index, a second thread calling in while
 * the pool is busy runs serially, and many short regions in a row (the
 * pattern of a plan run) neither lose a wake-up nor deadlock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/threads.h"
#include "check.h"

#define N_MAX 10007

typedef struct visit {
    atomic_int count[N_MAX];
    atomic_int tid_seen[64];
    int64_t n;
    int bad_part;
    int nested_tid_bad;
} visit;

static void mark(void *ctx, int64_t b, int64_t e, int tid)
{
    visit *v = ctx;
    if (tid < 0 || tid >= 64) {
        v->bad_part = 1;
        return;
    }
    atomic_fetch_add(&v->tid_seen[tid], 1);
    for (int64_t i = b; i < e; i++)
        atomic_fetch_add(&v->count[i], 1);
}

static void inner(void *ctx, int64_t b, int64_t e, int tid)
{
    int *expect = ctx;
    if (b != 0 || e != 5 || tid != *expect)
        *expect = -1000;
}

static void outer(void *ctx, int64_t b, int64_t e, int tid)
{
    visit *v = ctx;
    (void)b;
    (void)e;
    int expect = tid;
    oc_parallel_for(5, 1, 0, inner, &expect); /* nested: serial, same tid */
    if (expect != tid)
        v->nested_tid_bad = 1;
}

static void run_check(int threads, int64_t n, int64_t grain, int cap)
{
    static visit v;
    memset(&v, 0, sizeof v);
    oc_set_threads(threads);
    oc_parallel_for(n, grain, cap, mark, &v);
    int ok = 1;
    for (int64_t i = 0; i < n; i++)
        ok &= atomic_load(&v.count[i]) == 1;
    int parts = oc_parallel_parts(n, grain, cap), used = 0;
    for (int t = 0; t < 64; t++)
        used += atomic_load(&v.tid_seen[t]) > 0 && t < parts;
    int expect_parts = (int)(n / (grain > 0 ? grain : 1));
    if (expect_parts > threads)
        expect_parts = threads;
    if (cap > 0 && expect_parts > cap)
        expect_parts = cap;
    if (expect_parts < 1)
        expect_parts = 1;
    printf("threads %d, n %lld, grain %lld, cap %d: %d parts, every item once: %s\n", threads, (long long)n,
           (long long)grain, cap, parts, ok ? "yes" : "NO");
    CHECK(ok && !v.bad_part, "threads %d n %lld: items not covered exactly once", threads, (long long)n);
    CHECK(parts == expect_parts && used == parts, "threads %d n %lld: %d parts used %d, expected %d", threads,
          (long long)n, parts, used, expect_parts);
}

static void *other_caller(void *arg)
{
    visit *v = arg;
    for (int r = 0; r < 200; r++)
        oc_parallel_for(v->n, 1, 0, mark, v);
    return NULL;
}

int main(void)
{
    run_check(1, 100, 1, 0);
    run_check(2, 100, 1, 0);
    run_check(2, 1, 1, 0);
    run_check(2, 10007, 64, 0);
    run_check(4, 10007, 1, 0);
    run_check(4, 10007, 1, 3);
    run_check(3, 7, 4, 0);
    run_check(2, 100, 1, 1);

    /* nested regions run on the caller with its own index */
    static visit v;
    memset(&v, 0, sizeof v);
    oc_set_threads(2);
    oc_parallel_for(2, 1, 0, outer, &v);
    CHECK(!v.nested_tid_bad, "a nested region did not run serially with the caller's thread index");

    /* many tiny regions back to back, and a second caller racing them */
    memset(&v, 0, sizeof v);
    v.n = 16;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, other_caller, &v) == 0, "pthread_create");
    for (int r = 0; r < 20000; r++)
        oc_parallel_for(16, 1, 0, mark, &v);
    pthread_join(th, NULL);
    int all = 1;
    for (int i = 0; i < 16; i++)
        all &= atomic_load(&v.count[i]) == 20200;
    printf("20000 regions + 200 from a second thread: every item counted 20200 times: %s\n", all ? "yes" : "NO");
    CHECK(all, "lost or repeated work across back-to-back regions");
    oc_threads_shutdown();
    return check_finish("test_threads");
}
