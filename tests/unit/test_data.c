/* test_data.c: the data set readers against the published facts of the
 * files (shared/datasets READMEs): MNIST t10k has 10,000 28x28 images with
 * class counts 980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009; the
 * UCI digits CSV has 1,797 8x8 samples. Also: corrupt and truncated files
 * give clear errors, a set above a memory limit is refused from its header,
 * and a compressed file inflating past its header's size stops there. Argument 1: the shared/datasets folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "../../runtime/data.h"
#include "check.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: test_data DATASETS_DIR\n");
        return 2;
    }
    char path[4096];
    oc_dataset ds;
    oc_diag d;
    oc_diag_init(&d);
    snprintf(path, sizeof path, "%s/mnist-t10k", argv[1]);
    if (oc_dataset_open(path, "test", &ds, &d) != 0) {
        printf("SKIP: %s: %s\n", path, d.msg);
        return 77;
    }
    static const int64_t counts[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    int64_t got[10] = {0};
    for (int64_t i = 0; i < ds.n; i++)
        if (ds.y[i] >= 0 && ds.y[i] < 10)
            got[ds.y[i]]++;
    CHECK(ds.n == 10000 && ds.rank == 3 && ds.dims[0] == 1 && ds.dims[1] == 28 && ds.dims[2] == 28 && ds.classes == 10,
          "n %lld dims %lldx%lld classes %lld", (long long)ds.n, (long long)ds.dims[1], (long long)ds.dims[2],
          (long long)ds.classes);
    CHECK(memcmp(got, counts, sizeof counts) == 0, "class counts differ, e.g. class 1: %lld", (long long)got[1]);
    float mn = 1, mx = 0;
    for (int64_t i = 0; i < ds.n * ds.sample_size; i++) {
        mn = ds.x[i] < mn ? ds.x[i] : mn;
        mx = ds.x[i] > mx ? ds.x[i] : mx;
    }
    CHECK(mn == 0.0f && mx == 1.0f, "pixel range %g..%g", mn, mx);
    oc_dataset_free(&ds);

    const char *digits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
    oc_diag_init(&d);
    if (oc_dataset_open(digits, NULL, &ds, &d) == 0) {
        CHECK(ds.n == 1797 && ds.sample_size == 64 && ds.classes == 10, "digits n %lld", (long long)ds.n);
        oc_dataset_free(&ds);
    } else {
        printf("note: %s not readable (%s); python3-sklearn not installed\n", digits, d.msg);
    }

    /* bad files: truncated IDX, wrong magic, bad CSV */
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096], f1[4200], f2[4200];
    snprintf(dir, sizeof dir, "%s/onnxc_test_data_%d", tmp, (int)getpid());
    snprintf(f1, sizeof f1, "mkdir -p %s", dir);
    if (system(f1) != 0)
        return 1;
    snprintf(f1, sizeof f1, "%s/train-images-idx3-ubyte", dir);
    snprintf(f2, sizeof f2, "%s/train-labels-idx1-ubyte", dir);
    FILE *f = fopen(f1, "wb");
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28};
    fwrite(hdr, 1, 16, f);
    fwrite(hdr, 1, 16, f); /* far too few pixels */
    fclose(f);
    f = fopen(f2, "wb");
    unsigned char lh[8] = {0, 0, 8, 1, 0, 0, 0, 100};
    fwrite(lh, 1, 8, f);
    fclose(f);
    oc_diag_init(&d);
    CHECK(oc_dataset_open(dir, "train", &ds, &d) == -1 && strstr(d.msg, "bytes"), "truncated IDX: '%s'", d.msg);
    /* a memory limit refuses the set from its header: 100 * 784 floats +
     * 100 labels = 314,400 bytes */
    oc_diag_init(&d);
    CHECK(oc_dataset_open_limit(dir, "train", 100000, &ds, &d) == -1 && strstr(d.msg, "above the limit"),
          "IDX above the memory limit: '%s'", d.msg);
    /* a gzip bomb: 3 images of 28x28 declared, 64 MiB of zeros inflated;
     * refused after the declared 2,352 bytes, not read whole */
    snprintf(f1, sizeof f1, "%s/train-images-idx3-ubyte", dir);
    remove(f1);
    snprintf(f1, sizeof f1, "%s/train-images-idx3-ubyte.gz", dir);
    gzFile gz = gzopen(f1, "wb9");
    hdr[7] = 3;
    gzwrite(gz, hdr, 16);
    static unsigned char zeros[1 << 16];
    for (int i = 0; i < 1024; i++)
        gzwrite(gz, zeros, sizeof zeros);
    gzclose(gz);
    f = fopen(f2, "wb");
    lh[7] = 3;
    fwrite(lh, 1, 8, f);
    fwrite(zeros, 1, 3, f);
    fclose(f);
    oc_diag_init(&d);
    CHECK(oc_dataset_open(dir, "train", &ds, &d) == -1 && strstr(d.msg, "says 2352 bytes of data but the file has more"),
          "IDX gzip bomb: '%s'", d.msg);
    snprintf(f1, sizeof f1, "%s/bad.csv", dir);
    f = fopen(f1, "w");
    fputs("1,2,3\n", f);
    fclose(f);
    oc_diag_init(&d);
    CHECK(oc_dataset_open(f1, NULL, &ds, &d) == -1 && strstr(d.msg, "line 1"), "bad csv: '%s'", d.msg);
    snprintf(f1, sizeof f1, "rm -rf %s", dir);
    if (system(f1) != 0)
        return 1;
    return check_finish("test_data");
}
