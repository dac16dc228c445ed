/* plot.c: the learning-curve SVG of `onnxc train` and `onnxc finetune`:
 * loss (train, validation) on a left axis from 0 to the largest loss and
 * accuracy (train, validation) on a right axis from 0 to 1, one point per
 * epoch, written atomically. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../runtime/io.h"

int cli_plot_curves(const char *path, const char *title, int n, const double *train_loss, const double *val_loss,
                    const double *train_acc, const double *val_acc, oc_diag *d)
{
    char *buf = malloc(65536);
    if (!buf)
        return oc_fail(d, "out of memory");
    int w = 640, ht = 360, m = 50;
    double maxl = 1e-9;
    for (int i = 0; i < n; i++)
        maxl = fmax(maxl, fmax(train_loss[i], val_loss[i]));
    size_t o = 0;
    o += (size_t)snprintf(buf + o, 65536 - o,
                          "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
                          "font-size='12'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
                          "<text x='%d' y='20'>%s: loss (left axis, 0-%.3g) and accuracy (right axis, 0-1) per epoch</text>\n"
                          "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/><line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n",
                          w, ht, m, title, maxl, m, ht - m, w - m, ht - m, m, m, m, ht - m);
    const char *names[4] = {"train loss", "val loss", "train acc", "val acc"};
    const char *colors[4] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
    for (int s = 0; s < 4; s++) {
        const double *v = s == 0 ? train_loss : s == 1 ? val_loss : s == 2 ? train_acc : val_acc;
        double scale = s < 2 ? maxl : 1.0;
        o += (size_t)snprintf(buf + o, 65536 - o, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colors[s]);
        for (int i = 0; i < n && o < 60000; i++) {
            double x = m + (n > 1 ? (double)i / (n - 1) : 0.5) * (w - 2 * m);
            double y = (ht - m) - (v[i] / scale) * (ht - 2 * m);
            o += (size_t)snprintf(buf + o, 65536 - o, "%.1f,%.1f ", x, y);
        }
        o += (size_t)snprintf(buf + o, 65536 - o, "'/>\n<text x='%d' y='%d' fill='%s'>%s</text>\n", w - m - 80,
                              m + 15 * s, colors[s], names[s]);
    }
    o += (size_t)snprintf(buf + o, 65536 - o, "<text x='%d' y='%d'>epoch 1..%d</text>\n</svg>\n", w / 2 - 30, ht - 15, n);
    int rc = oc_write_file_atomic(path, buf, o, d);
    free(buf);
    return rc;
}

