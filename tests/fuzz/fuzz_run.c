/* fuzz_run.c: libFuzzer target for running an untrusted model: import,
 * symbolic dims bound to 1, shape inference, plan under a 64 MiB limit,
 * then one run with every input filled from the fuzz input's tail (or
 * zeros) — the kernels' own checks of data-dependent sizes and indices
 * (Gather, Slice, Reshape from a runtime tensor, ...) are what this
 * exercises beyond fuzz_import. The first two bytes give the model's length.
 * A string input gets strings of 0-7 bytes cut from the tail (an oc_str
 * holds a pointer: raw bytes there would be wild pointers, not untrusted
 * data any caller can pass).
 *   build-fuzz/fuzz_run -max_total_time=60 CORPUS_DIR (tools/fuzz.sh) */
#include <string.h>

#include "../../compiler/onnx_import.h"
#include "../../compiler/planner.h"
#include "../../compiler/shape.h"
#include "../../runtime/strtensor.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t mlen = ((size_t)data[0] << 8 | data[1]);
    if (mlen > size - 2)
        mlen = size - 2;
    const uint8_t *tail = data + 2 + mlen;
    size_t tlen = size - 2 - mlen;
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = oc_onnx_load_memory(data + 2, mlen, "/nonexistent/fuzz.onnx", &d);
    if (!g)
        return 0;
    if (oc_graph_bind_dims(g, 1, 0, NULL, &d) == 0 && oc_graph_infer_shapes(g, &d) == 0) {
        oc_plan_opts po = {1, 0};
        po.max_memory = (size_t)64 << 20;
        oc_plan *p = oc_plan_build(g, &po, &d);
        if (p) {
            int ok = p->n_inputs <= 16;
            oc_tensor *in[16] = {0};
            char *text[16] = {0};
            for (int i = 0; ok && i < p->n_inputs; i++) {
                const oc_tensor *v = &p->tensors[p->inputs[i]];
                in[i] = oc_tensor_new(v->dtype, v->rank, v->dims, &d);
                size_t n = in[i] ? oc_tensor_nbytes(in[i]) : 0;
                if (!in[i] || n > ((size_t)16 << 20)) {
                    ok = 0;
                    break;
                }
                unsigned char *b = in[i]->data;
                if (v->dtype == OC_STRING) {
                    oc_str *sv = in[i]->data;
                    if (!(text[i] = malloc(8 * (size_t)in[i]->numel + 1))) {
                        ok = 0;
                        break;
                    }
                    for (int64_t k = 0, at = 0; k < in[i]->numel; k++) {
                        int64_t len = tlen ? tail[(size_t)k % tlen] % 8 : 0;
                        char *c = text[i] + 8 * k;
                        for (int64_t j = 0; j < len; j++, at++)
                            c[j] = tail[(size_t)at % tlen] ? (char)tail[(size_t)at % tlen] : 'a';
                        c[len] = 0;
                        sv[k].p = len ? c : NULL;
                        sv[k].n = len;
                    }
                } else {
                    for (size_t k = 0; k < n; k++)
                        b[k] = tlen ? tail[k % tlen] : 0;
                }
                ok = oc_plan_set_input(p, i, in[i], &d) == 0;
            }
            if (ok)
                oc_plan_run(p, &d);
            for (int i = 0; i < 16; i++) {
                oc_tensor_free(in[i]);
                free(text[i]);
            }
            oc_plan_free(p);
        }
    }
    oc_graph_free(g);
    return 0;
}
