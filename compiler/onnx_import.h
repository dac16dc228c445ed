/* onnx_import.h: reading ONNX files (ModelProto and TensorProto) into the
 * IR. Everything read is untrusted: sizes are checked before allocation,
 * external data may not leave the model's folder, and every failure is one
 * message naming the file and what is wrong. */
#ifndef ONNXC_ONNX_IMPORT_H
#define ONNXC_ONNX_IMPORT_H

#include "graph.h"

/* Newest default-domain opset accepted. Opsets 24-28 changed the ops onnxc
 * runs mainly by admitting new element types (float8, 4-bit), which onnxc
 * rejects by name; the backend tests of those opsets check the rest. */
#define OC_MAX_OPSET 28

/* Load a model file. Nodes are topologically sorted and the graph is
 * validated; shapes are as declared (run oc_graph_infer_shapes next). */
oc_graph *oc_onnx_load(const char *path, oc_diag *d);
/* The same from a serialized ModelProto in memory; path names it in
 * messages, and external data is looked up beside it. */
oc_graph *oc_onnx_load_memory(const unsigned char *buf, size_t len, const char *path, oc_diag *d);

/* Load a serialized TensorProto (.pb test data); *name gets a malloc'd copy
 * of the tensor's name (may be "") when name is not NULL. */
oc_tensor *oc_onnx_load_tensor(const char *path, char **name, oc_diag *d);
/* The same from a serialized OptionalProto (the test data of an optional
 * graph input, OC_VALUE_OPTIONAL): its tensor; an empty optional, or one
 * holding anything but a tensor, is refused. */
oc_tensor *oc_onnx_load_optional_tensor(const char *path, char **name, oc_diag *d);


#endif
