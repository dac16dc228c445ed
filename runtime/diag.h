/* diag.h: error reporting shared by the runtime, compiler and tools.
 *
 * Every fallible function returns an int status (0 = ok, -1 = failed) and
 * fills an oc_diag with one line saying what went wrong and where, e.g.
 *   "model.onnx: node 'conv1' (Conv) input 1: expected 4-D weight, got [64,3,7]"
 * The first error wins: later, more generic messages do not overwrite it.
 * Warnings are collected separately so a caller can print them and go on.
 * Library code never exits or aborts on bad input. */
#ifndef ONNXC_DIAG_H
#define ONNXC_DIAG_H

#include <stdarg.h>

#define OC_DIAG_MSG 1024
#define OC_DIAG_MAX_WARN 64

typedef struct oc_diag {
    int failed;
    char msg[OC_DIAG_MSG];
    int n_warn;      /* warnings recorded (at most OC_DIAG_MAX_WARN kept) */
    int n_warn_lost; /* warnings past the limit, counted only */
    char warn[OC_DIAG_MAX_WARN][256];
} oc_diag;

void oc_diag_init(oc_diag *d);

/* Record an error (unless one is already recorded); always returns -1 so
 * callers can write `return oc_fail(d, "...")`. d may be NULL. */
int oc_fail(oc_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int oc_vfail(oc_diag *d, const char *fmt, va_list ap);

/* Prefix the recorded error with context ("file.onnx: "), once per call. */
void oc_diag_prefix(oc_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void oc_warn(oc_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
