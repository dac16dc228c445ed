/* plot.h: learning curves as SVG (tools/plot.c). */
#ifndef ONNXC_TOOLS_PLOT_H
#define ONNXC_TOOLS_PLOT_H

#include "../runtime/diag.h"

/* n epochs of four series; title heads the picture. */
int cli_plot_curves(const char *path, const char *title, int n, const double *train_loss, const double *val_loss,
                    const double *train_acc, const double *val_acc, oc_diag *d);

#endif
