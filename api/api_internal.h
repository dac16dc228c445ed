/* api_internal.h: helpers shared by the files of the public API (api/);
 * not installed. */
#ifndef ONNXC_API_INTERNAL_H
#define ONNXC_API_INTERNAL_H

#include "../runtime/diag.h"
#include "onnxc.h"

/* Records a message for onnxc_last_error and returns s. */
onnxc_status oc_api_error(onnxc_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with the message of a diagnostic (an allocation failure it
 * reports becomes ONNXC_ERR_NO_MEMORY). */
onnxc_status oc_api_diag_error(onnxc_status s, const oc_diag *d);

#endif
