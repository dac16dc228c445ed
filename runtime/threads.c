/* threads.c: see threads.h. */
#include "threads.h"

#include <cblas.h>
#include <unistd.h>

static int current = 1;

int oc_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (n > 1024)
        n = 1024;
    openblas_set_num_threads(n);
    current = n;
    return n;
}

int oc_get_threads(void) { return current; }
