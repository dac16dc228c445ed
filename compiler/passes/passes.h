/* passes.h: graph-to-graph rewrites. Each pass keeps the graph valid
 * (sorted, every input defined) and reports what it changed. */
#ifndef ONNXC_PASSES_H
#define ONNXC_PASSES_H

#include "../graph.h"

/* Identity-of-initializer -> own initializer (see untie.c). */
int oc_pass_untie_params(oc_graph *g, int *n_untied, oc_diag *d);

#endif
