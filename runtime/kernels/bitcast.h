/* bitcast.h: the BitCast kernel (opset 26): every element's bit pattern
 * reinterpreted as another type of the same width, no value conversion.
 * The compiler side (attribute, shape rule, lowering) is
 * compiler/ops/bitcast.c. */
#ifndef ONNXC_KERNELS_BITCAST_H
#define ONNXC_KERNELS_BITCAST_H

#include "../plan.h"

typedef struct oc_bitcast_params {
    int from, to; /* dtypes of one bit width */
} oc_bitcast_params;

/* Types of 8 bits and more share their memory layout with the file's, so
 * the output is a byte copy; 2-bit and 4-bit types are held one per byte
 * (signed ones sign-extended, runtime/dtype.h), so they go element by
 * element through their bit codes (int4 -1 -> uint4 15). */
int oc_bitcast_forward(const oc_kargs *a);

#endif
