/* diag.c: see diag.h. */
#include "diag.h"

#include <stdio.h>
#include <string.h>

void oc_diag_init(oc_diag *d) { memset(d, 0, sizeof *d); }

int oc_vfail(oc_diag *d, const char *fmt, va_list ap)
{
    if (d && !d->failed) {
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        d->failed = 1;
    }
    return -1;
}

int oc_fail(oc_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    oc_vfail(d, fmt, ap);
    va_end(ap);
    return -1;
}

void oc_diag_prefix(oc_diag *d, const char *fmt, ...)
{
    if (!d || !d->failed)
        return;
    char both[2 * OC_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(both, OC_DIAG_MSG, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= OC_DIAG_MSG)
        n = OC_DIAG_MSG - 1;
    memcpy(both + n, d->msg, OC_DIAG_MSG); /* d->msg is NUL-terminated within it */
    memcpy(d->msg, both, OC_DIAG_MSG - 1); /* keeps the head when too long */
    d->msg[OC_DIAG_MSG - 1] = 0;
}

void oc_warn(oc_diag *d, const char *fmt, ...)
{
    if (!d)
        return;
    if (d->n_warn >= OC_DIAG_MAX_WARN) {
        d->n_warn_lost++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->warn[d->n_warn++], sizeof d->warn[0], fmt, ap);
    va_end(ap);
}
