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

struct oc_graph;
/* The model's file imported afresh with the load options' dims bound,
 * before shape inference and any rewrite (for trainers); the caller frees
 * it. NULL with a diagnostic. */
struct oc_graph *oc_api_model_graph(const onnxc_model *m, oc_diag *d);

#endif
