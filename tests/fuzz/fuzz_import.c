/* fuzz_import.c: libFuzzer target for untrusted model files. One input is
 * one serialized ModelProto: import (with the nesting pre-scan), symbolic
 * dims bound to 1, shape inference (which folds small constants by running
 * kernels) and plan building under a 256 MiB memory limit; nothing is run.
 * Every outcome must be a graph or one diagnostic: a crash, a sanitizer
 * report, a leak or an allocation beyond the limit is a finding.
 *
 * Built only with -DONNXC_FUZZ=ON and clang (not part of CTest):
 *   CC=clang cmake -S . -B build-fuzz -DONNXC_FUZZ=ON && cmake --build build-fuzz --target fuzz_import
 *   build-fuzz/fuzz_import -max_total_time=300 -rss_limit_mb=2048 CORPUS_DIR */
#include <stddef.h>
#include <stdint.h>

#include "../../compiler/onnx_import.h"
#include "../../compiler/planner.h"
#include "../../compiler/shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oc_diag d;
    oc_diag_init(&d);
    /* a folder that does not exist: external data can never be read */
    oc_graph *g = oc_onnx_load_memory(data, size, "/nonexistent/fuzz.onnx", &d);
    if (!g)
        return 0;
    if (oc_graph_bind_dims(g, 1, 0, NULL, &d) == 0 && oc_graph_infer_shapes(g, &d) == 0) {
        oc_plan_opts po = {1, 0};
        po.max_memory = (size_t)256 << 20;
        oc_plan *p = oc_plan_build(g, &po, &d);
        oc_plan_free(p);
    }
    oc_graph_free(g);
    return 0;
}
