/* check.h: a minimal assertion harness for onnxc's C tests. Each CHECK
 * prints what it compared on failure; main returns check_finish(). */
#ifndef ONNXC_TESTS_CHECK_H
#define ONNXC_TESTS_CHECK_H

#include <stdio.h>

static int check_failed, check_total;

#define CHECK(cond, ...)                                                                                    \
    do {                                                                                                    \
        check_total++;                                                                                      \
        if (!(cond)) {                                                                                      \
            check_failed++;                                                                                 \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                          \
            printf(__VA_ARGS__);                                                                            \
            printf("\n");                                                                                   \
        }                                                                                                   \
    } while (0)

static int check_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_total, check_failed);
    return check_failed ? 1 : 0;
}

#endif
