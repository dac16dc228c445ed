/* fuzz_idx.c: libFuzzer target for the IDX data-set reader (MNIST layout)
 * of `onnxc train` / `finetune`: the input is split at its first two bytes'
 * offset into an images file and a labels file, written as
 * train-images-idx3-ubyte and train-labels-idx1-ubyte in a scratch folder,
 * and opened with oc_dataset_open_limit (runtime/data.c) under a 1 MiB cap:
 * a header claiming a large valid set (filled by a gzip bomb) is refused
 * from its header, instead of inflating hundreds of MB per input as it
 * did (27-400 executions per second).
 *   build-fuzz/fuzz_idx -max_total_time=60 CORPUS_DIR (tools/fuzz.sh) */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../runtime/data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int put(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    char dir[256], im[300], lb[300];
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/onnxc-fuzz-idx-%ld", base, (long)getpid());
    mkdir(dir, 0700);
    snprintf(im, sizeof im, "%s/train-images-idx3-ubyte", dir);
    snprintf(lb, sizeof lb, "%s/train-labels-idx1-ubyte", dir);
    if (put(im, data + 2, cut) || put(lb, data + 2 + cut, size - 2 - cut))
        return 0;
    oc_diag d;
    oc_diag_init(&d);
    oc_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (oc_dataset_open_limit(dir, "train", (size_t)1 << 20, &ds, &d) == 0)
        oc_dataset_free(&ds);
    return 0;
}
