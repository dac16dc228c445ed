/* fuzz_tensor.c: libFuzzer target for the tensor files onnxc reads: the
 * first input byte's low two bits pick the reader: 0 numpy .npy
 * (runtime/io.c), 1 ONNX TensorProto .pb, 3 the OptionalProto of an
 * optional input (compiler/onnx_import.c), 2 an onnxc tensors file
 * (runtime/io.c, as `onnxc export --trained` reads); the rest is the file.
 * Every outcome must be tensors or one diagnostic.
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
    int kind = data[0] & 3, pb = kind & 1, tns = kind == 2;
    const char *path = fuzz_file(data + 1, size - 1, tns ? ".tns" : pb ? ".pb" : ".npy");
    if (!path)
        return 0;
    oc_diag d;
    oc_diag_init(&d);
    if (tns) {
        int n = 0;
        char **names = NULL;
        oc_tensor **ts = NULL;
        if (!oc_tensors_load(path, &n, &names, &ts, &d)) {
            volatile unsigned char s = 0;
            for (int k = 0; k < n; k++) {
                s ^= (unsigned char)names[k][0];
                for (size_t i = 0, m = oc_tensor_nbytes(ts[k]); i < m; i++)
                    s ^= ((const unsigned char *)ts[k]->data)[i];
            }
            (void)s;
        }
        oc_tensors_free(n, names, ts);
        return 0;
    }
    char *name = NULL;
    oc_tensor *t = !pb                ? oc_npy_read(path, &d)
                   : kind == 3     ? oc_onnx_load_optional_tensor(path, &name, &d)
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
