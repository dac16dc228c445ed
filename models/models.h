/* models.h: onnxc's own networks, written with the builder API (see
 * builder.h): LeNet-5, an MLP, ResNet-8 (small images), VGG-11/16 (with or without BatchNorm) and
 * ResNet-18/34/50 as in torchvision. Used by `onnxc info --model`,
 * training from scratch, tests and ONNX export. */
#ifndef ONNXC_MODELS_H
#define ONNXC_MODELS_H

#include "../compiler/graph.h"

typedef struct oc_model_opts {
    int64_t batch;     /* <= 0: symbolic batch dim "N" */
    int64_t classes;   /* output classes (default per model) */
    int64_t channels;  /* input channels */
    int64_t height, width;
    int64_t hidden;    /* MLP hidden width */
    int64_t in_features; /* MLP input features */
    uint64_t seed;
} oc_model_opts;

/* Defaults: ImageNet-sized 3x224x224 and 1000 classes for VGG/ResNet,
 * 1x28x28 and 10 classes for LeNet-5 and ResNet-8, 64 -> 128 -> 10 for the MLP. */
void oc_model_opts_default(const char *name, oc_model_opts *o);

/* Names: mlp, lenet5, resnet8, vgg11, vgg11_bn, vgg16, vgg16_bn, resnet18, resnet34,
 * resnet50. NULL with a message for an unknown name. */
oc_graph *oc_model_build(const char *name, const oc_model_opts *o, oc_diag *d);

/* Comma-separated list of the names, for help texts. */
const char *oc_model_names(void);

#endif
