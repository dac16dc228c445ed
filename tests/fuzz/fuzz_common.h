/* fuzz_common.h: helpers shared by the libFuzzer targets. The readers under
 * test take file paths (that is how users reach them), so each input is
 * written to a per-process file in /dev/shm (or /tmp) and read back. */
#ifndef ONNXC_FUZZ_COMMON_H
#define ONNXC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data to a per-process scratch file ending in `ext`; its path, or NULL. */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *ext)
{
    static char path[256];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/onnxc-fuzz-%ld%s", dir, (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size)
        return NULL;
    return path;
}

#endif
