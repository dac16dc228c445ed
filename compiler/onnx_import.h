/* onnx_import.h: reading ONNX files (ModelProto and TensorProto) into the
 * IR. Everything read is untrusted: sizes are checked before allocation,
 * external data may not leave the model's folder, and every failure is one
 * message naming the file and what is wrong. */
#ifndef ONNXC_ONNX_IMPORT_H
#define ONNXC_ONNX_IMPORT_H

#include "graph.h"

/* Newest default-domain opset onnxc knows the semantics of. */
#define OC_MAX_OPSET 23

/* Load a model file. Nodes are topologically sorted and the graph is
 * validated; shapes are as declared (run oc_graph_infer_shapes next). */
oc_graph *oc_onnx_load(const char *path, oc_diag *d);

/* Load a serialized TensorProto (.pb test data); *name gets a malloc'd copy
 * of the tensor's name (may be "") when name is not NULL. */
oc_tensor *oc_onnx_load_tensor(const char *path, char **name, oc_diag *d);

/* Read a whole file into memory (NUL-terminated); for small files. */
int oc_read_file(const char *path, unsigned char **buf, size_t *len, size_t max_len, oc_diag *d);

#endif
