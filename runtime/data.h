/* data.h: labelled data sets for training and evaluation, held in memory
 * as float32 samples [n, sample dims...] and int64 labels.
 *
 * Readers: IDX files (MNIST, Fashion-MNIST; gzip or plain, big-endian
 * headers checked against the file size) and the UCI 8x8 digits CSV that
 * Debian's python3-sklearn ships. oc_dataset_open picks the reader from a
 * path. Batches are gathered through a seeded shuffled order. */
#ifndef ONNXC_DATA_H
#define ONNXC_DATA_H

#include <stdint.h>

#include "diag.h"
#include "tensor.h"

typedef struct oc_dataset {
    int64_t n;                   /* samples */
    int rank;                    /* sample rank (without the batch dim) */
    int64_t dims[OC_MAX_RANK];   /* sample dims, e.g. [1, 28, 28] */
    int64_t sample_size;         /* product of dims */
    int64_t classes;             /* 1 + largest label */
    float *x;                    /* n * sample_size */
    int64_t *y;                  /* n */
    char name[256];
} oc_dataset;

/* A folder with *-images-idx3-ubyte(.gz) / *-labels-idx1-ubyte(.gz)
 * (prefix "train" or "t10k"), an IDX images file, or a digits .csv(.gz).
 * split: "train" or "test" picks the files of that name in a folder
 * (falls back to whatever the folder has). Pixels are scaled to [0, 1]. */
int oc_dataset_open(const char *path, const char *split, oc_dataset *ds, oc_diag *d);
/* The same, refusing a set whose samples and labels would take more than
 * max_bytes in memory (0: no limit beyond the readers' own, 4 GiB of IDX
 * pixels); IDX headers are checked against it before any data is read. */
int oc_dataset_open_limit(const char *path, const char *split, size_t max_bytes, oc_dataset *ds, oc_diag *d);
void oc_dataset_free(oc_dataset *ds);

/* Moves samples [from, from + count) into a new set `out` (a view copy);
 * used for train/validation splits of one file. */
int oc_dataset_slice(const oc_dataset *ds, int64_t from, int64_t count, oc_dataset *out, oc_diag *d);

/* Normalize every value: (x - mean) / std. */
void oc_dataset_normalize(oc_dataset *ds, float mean, float std);

/* Fill x [batch, dims...] and y [batch] with samples order[start ...]. */
void oc_dataset_gather(const oc_dataset *ds, const int64_t *order, int64_t start, int64_t batch, float *x, int64_t *y);

/* Fisher-Yates shuffle of 0..n-1 from a 64-bit seed (splitmix64). */
void oc_shuffle(int64_t *order, int64_t n, uint64_t *state);

#endif
