/* onnx_export.h: writing the IR as an ONNX model file. The file is
 * written to a temporary name beside the target and renamed into place,
 * so an interrupted export never leaves a half-written model. */
#ifndef ONNXC_ONNX_EXPORT_H
#define ONNXC_ONNX_EXPORT_H

#include "graph.h"

int oc_onnx_save(const oc_graph *g, const char *path, oc_diag *d);

/* The serialized ModelProto in memory (*buf malloc'd, the caller frees it). */
int oc_onnx_encode(const oc_graph *g, unsigned char **buf, size_t *len, oc_diag *d);

/* Write one tensor as a serialized TensorProto (.pb), atomically. */
int oc_onnx_save_tensor(const oc_tensor *t, const char *name, const char *path, oc_diag *d);

#endif
