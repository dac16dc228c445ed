/* fuzz_tensor.c: libFuzzer target for the tensor files `onnxc run` and
 * `onnxc check` read: the first input byte picks the reader (even: numpy
 * .npy, runtime/io.c; odd: ONNX TensorProto .pb, or with bit 1 set too
 * the OptionalProto of an optional input, compiler/onnx_import.c), the
 * rest is the file. Every outcome must be a tensor or one diagnostic.
 *   build-fuzz/fuzz_tensor -max_total_time=60 CORPUS_DIR (tools/fuzz.sh) */
#include <stdlib.h>

#include "../../compiler/onnx_import.h"
#include "../../runtime/io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int pb = data[0] & 1;
    const char *path = fuzz_file(data + 1, size - 1, pb ? ".pb" : ".npy");
    if (!path)
        return 0;
    oc_diag d;
    oc_diag_init(&d);
    char *name = NULL;
    oc_tensor *t = !pb                ? oc_npy_read(path, &d)
                   : (data[0] & 2) ? oc_onnx_load_optional_tensor(path, &name, &d)
                                   : oc_onnx_load_tensor(path, &name, &d);
    if (t) { /* touch every byte the tensor claims to own */
        volatile unsigned char s = 0;
        for (size_t i = 0, n = oc_tensor_nbytes(t); i < n; i++)
            s ^= ((const unsigned char *)t->data)[i];
        (void)s;
    }
    oc_tensor_free(t);
    free(name);
    return 0;
}
