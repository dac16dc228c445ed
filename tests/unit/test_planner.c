/* test_planner.c: the liveness arena. Random tensor lifetimes; checked:
 * no two tensors alive at the same step overlap in memory, every block is
 * 64-byte aligned and inside the arena, and the arena is no larger than
 * the plain sum (and smaller when lifetimes allow reuse). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

int oc_plan_arena(int n, const size_t *size, const int *def, const int *last, size_t *off, size_t *total);

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void)
{
    enum { N = 400 };
    for (int trial = 0; trial < 50; trial++) {
        size_t size[N], off[N], total, sum = 0;
        int def[N], last[N];
        for (int t = 0; t < N; t++) {
            def[t] = t;                                   /* defined in order, one per step */
            last[t] = t + 1 + (int)(next() % (trial % 5 == 0 ? 3 : 40));
            size[t] = 1 + next() % 100000;
            sum += (size[t] + 63) & ~(size_t)63;
        }
        CHECK(oc_plan_arena(N, size, def, last, off, &total) == 0, "trial %d failed", trial);
        int bad = 0;
        for (int a = 0; a < N; a++) {
            bad += off[a] % 64 != 0 || off[a] + size[a] > total;
            for (int b = a + 1; b < N; b++) {
                int live_together = def[b] <= last[a] && def[a] <= last[b];
                int overlap = off[a] < off[b] + size[b] && off[b] < off[a] + size[a];
                bad += live_together && overlap;
            }
        }
        CHECK(bad == 0, "trial %d: %d overlapping or misplaced blocks", trial, bad);
        CHECK(total <= sum, "trial %d: arena %zu > sum %zu", trial, total, sum);
        if (trial % 5 == 0)
            CHECK(total < sum / 4, "trial %d: short lifetimes but arena %zu of sum %zu", trial, total, sum);
    }
    return check_finish("test_planner");
}
