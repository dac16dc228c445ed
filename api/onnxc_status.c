/* onnxc_status.c: the parts of the public API every other part uses: the
 * version query, status names, dtype facts, and the per-thread error
 * message (onnxc_last_error) with the helpers that set it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/tensor.h"
#include "api_internal.h"
#include "onnxc.h"

/* One message per thread, as errno: a failing call on one thread never
 * overwrites what another thread is about to read. */
static _Thread_local char last_error[OC_DIAG_MSG + 64];

const char *onnxc_version(int *major, int *minor, int *patch)
{
    if (major)
        *major = ONNXC_VERSION_MAJOR;
    if (minor)
        *minor = ONNXC_VERSION_MINOR;
    if (patch)
        *patch = ONNXC_VERSION_PATCH;
    return ONNXC_VERSION_STRING;
}

const char *onnxc_last_error(void)
{
    return last_error;
}

const char *onnxc_status_name(onnxc_status s)
{
    static const char *const names[] = {"ONNXC_OK",  "ONNXC_ERR_ARGUMENT",  "ONNXC_ERR_IO",   "ONNXC_ERR_MODEL",
                                        "ONNXC_ERR_RUN", "ONNXC_ERR_NO_MEMORY", "ONNXC_ERR_STATE"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "ONNXC_ERR_UNKNOWN";
}

size_t onnxc_dtype_size(int dtype)
{
    return dtype == OC_STRING ? 0 : oc_dtype_size(dtype); /* strings are not exchanged through the API yet */
}

const char *onnxc_dtype_name(int dtype)
{
    return oc_dtype_name(dtype);
}

onnxc_status oc_api_error(onnxc_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

onnxc_status oc_api_diag_error(onnxc_status s, const oc_diag *d)
{
    /* an allocation failure deep inside is reported as such whatever the stage */
    if (d->failed && (strstr(d->msg, "out of memory") || strstr(d->msg, "cannot allocate")))
        s = ONNXC_ERR_NO_MEMORY;
    snprintf(last_error, sizeof last_error, "%s", d->failed ? d->msg : "unknown error");
    return s;
}
