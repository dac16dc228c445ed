/* fuzz_image.c: libFuzzer target for image files (PNG, JPEG, BMP, ...)
 * as `onnxc run -i img.png` and the image-folder loader of `finetune` read
 * them: the first byte picks the model's channel count (1 or 3) and the
 * size it resizes to (8..71 pixels); decode, then the eval resize + center
 * crop + normalization (runtime/io.c over runtime/image.c). Images are
 * capped at 2^14 pixels (oc_image_opts.max_pixels, as a service would cap
 * them): the cap's check runs on every input, and a header claiming a
 * huge but valid size costs a refusal instead of a long decode, which
 * kept the target at ~100 executions per second.
 *   build-fuzz/fuzz_image -max_total_time=60 CORPUS_DIR (tools/fuzz.sh) */
#include "../../runtime/io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = fuzz_file(data + 1, size - 1, ".img");
    if (!path)
        return 0;
    oc_image_opts o;
    oc_image_opts_default(&o);
    o.channels = (data[0] & 1) ? 3 : 1;
    o.height = o.width = 8 + (data[0] >> 2);
    o.max_pixels = (int64_t)1 << 14;
    oc_diag d;
    oc_diag_init(&d);
    oc_tensor_free(oc_image_load(path, &o, &d));
    return 0;
}
