/* sequence.h: the one kernel ONNX sequences need at run time.
 *
 * onnxc has no sequence values: the importer (compiler/ops/sequence.c)
 * turns every sequence of a model into a list of tensors whose length is
 * fixed when the model is loaded, and the sequence ops into tensor ops
 * (SequenceConstruct, SequenceEmpty and SequenceLength vanish,
 * SplitToSequence becomes Split, ConcatFromSequence Concat). What stays
 * data-dependent is a position given at run time: SequenceAt, and
 * SequenceInsert / SequenceErase at a position that is not a constant.
 * Each such element of the result is one SequenceSelect step: it copies
 * whichever of its candidate tensors the position picks. The plan needs
 * every candidate of one step to have one shape. */
#ifndef ONNXC_KERNELS_SEQUENCE_H
#define ONNXC_KERNELS_SEQUENCE_H

#include "../plan.h"

enum { OC_SEQSEL_AT = 0, OC_SEQSEL_INSERT = 1, OC_SEQSEL_ERASE = 2 };

typedef struct oc_seqsel_params {
    int mode;       /* OC_SEQSEL_* */
    int slot;       /* the element of the result this step makes (INSERT, ERASE) */
    int length;     /* elements of the sequence the op reads */
} oc_seqsel_params;

/* in[0]: the position, an int32/int64 scalar (ONNX: negative counts from
 * the end). in[1 .. length]: the sequence's elements; for INSERT in[length
 * + 1] is the inserted tensor. out[0] = the candidate the position picks:
 *   AT:     element pos (pos in [-length, length - 1])
 *   INSERT: slot < pos: element slot; slot == pos: the inserted tensor;
 *           slot > pos: element slot - 1 (pos in [-length, length])
 *   ERASE:  slot < pos: element slot, else element slot + 1
 *           (pos in [-length, length - 1])
 * A position out of range is an error naming it. */
int oc_seqsel_forward(const oc_kargs *a);

#endif
