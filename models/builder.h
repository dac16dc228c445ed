/* builder.h: a thin layer over the IR builder API for writing networks:
 * each call adds one layer's nodes and initializers and returns the name
 * of its output value. Parameter names follow torchvision's state-dict
 * names (conv1.weight, layer1.0.bn1.running_mean, fc.bias) so weights line
 * up with PyTorch models. Errors are sticky: after the first failure every
 * call returns "" and ob_finish reports the message. */
#ifndef ONNXC_MODELS_BUILDER_H
#define ONNXC_MODELS_BUILDER_H

#include <stdint.h>

#include "../compiler/graph.h"

typedef struct ob {
    oc_graph *g;
    oc_diag *d;
    int failed;
    int counter;   /* for unique node/value names */
    uint64_t rng;  /* model seed for weight init (runtime/init.c streams) */
} ob;

int ob_begin(ob *b, const char *name, uint64_t seed, oc_diag *d);
/* Graph input [N, dims...] with a symbolic batch "N" when batch <= 0. */
const char *ob_input(ob *b, const char *name, int64_t batch, int rank, const int64_t *dims);
/* Conv2d, square kernel; He-normal weights (fan_in, ReLU gain) and zero
 * bias when bias is set. prefix "layer1.0.conv1" names the weights. */
const char *ob_conv(ob *b, const char *x, const char *prefix, int64_t cin, int64_t cout, int64_t k,
                    int64_t stride, int64_t pad, int bias);
/* BatchNormalization with weight 1, bias 0, running mean 0, var 1. */
const char *ob_bn(ob *b, const char *x, const char *prefix, int64_t c);
const char *ob_relu(ob *b, const char *x);
const char *ob_maxpool(ob *b, const char *x, int64_t k, int64_t stride, int64_t pad);
const char *ob_gap(ob *b, const char *x);
const char *ob_flatten(ob *b, const char *x);
const char *ob_add(ob *b, const char *x, const char *y);
const char *ob_dropout(ob *b, const char *x, float ratio);
/* Linear layer as Gemm(transB=1) with PyTorch's [out, in] weight; uniform
 * init in +-1/sqrt(in) as torch.nn.Linear. */
const char *ob_linear(ob *b, const char *x, const char *prefix, int64_t in, int64_t out);
/* Marks the output and returns the finished graph (NULL on any error). */
oc_graph *ob_finish(ob *b, const char *out);

#endif
