/* io.h: files in and out of the runtime: whole-file reads with a size
 * limit, atomic writes (temporary name + rename, so an interrupted run
 * never leaves a half file), numpy .npy tensors, and images (PNG, JPEG,
 * BMP, ... through stb_image) turned into normalized NCHW float tensors.
 * Everything read is untrusted and checked before allocation. */
#ifndef ONNXC_IO_H
#define ONNXC_IO_H

#include <stddef.h>

#include "diag.h"
#include "tensor.h"

/* Whole file, NUL-terminated; fails on empty files, non-regular files and
 * files above max_len bytes. */
int oc_read_file(const char *path, unsigned char **buf, size_t *len, size_t max_len, oc_diag *d);
int oc_write_file_atomic(const char *path, const void *data, size_t len, oc_diag *d);

/* The file mapped read-only (private), with oc_read_file's checks; pages
 * come in as they are read, and oc_release_pages gives them back (read
 * from the file again if touched later). oc_unmap_file ends the mapping. */
int oc_map_file(const char *path, const unsigned char **buf, size_t *len, size_t max_len, oc_diag *d);
void oc_unmap_file(const unsigned char *buf, size_t len);

oc_tensor *oc_npy_read(const char *path, oc_diag *d);
int oc_npy_write(const char *path, const oc_tensor *t, oc_diag *d);

/* FNV-1a 64 of n bytes, continuing from h (start with OC_FNV_INIT): the
 * checksum of onnxc's binary files (tensors files, checkpoints, generated
 * weights images) and of layout hashes. */
#define OC_FNV_INIT 0xcbf29ce484222325ULL
uint64_t oc_fnv1a(uint64_t h, const void *data, size_t n);

/* Named tensors in one file (trained weights from generated code, read
 * back by `onnxc export --trained`). Little-endian:
 *   "ONNXCTNS"  8 bytes, version u32 (1), count u32, then per tensor:
 *   name length u32, name bytes, ONNX dtype u32, rank u32, dims i64 x rank,
 *   the elements; closed by the FNV-1a 64 of every byte before it (u64).
 * Written atomically; a read checks every length and the checksum before
 * it returns anything. */
#define OC_TENSORS_MAGIC "ONNXCTNS"
#define OC_TENSORS_VERSION 1
int oc_tensors_save(const char *path, int n, const char *const *names, const oc_tensor *const *t, oc_diag *d);
/* *names and *t get n malloc'd entries (free with oc_tensors_free). */
int oc_tensors_load(const char *path, int *n, char ***names, oc_tensor ***t, oc_diag *d);
void oc_tensors_free(int n, char **names, oc_tensor **t);

typedef struct oc_image_opts {
    int64_t height, width; /* output size */
    int center_crop;       /* resize the short side to size*256/224, then crop (torchvision style) */
    float mean[3], std[3]; /* per channel, applied to values in [0, 1] */
    int channels;          /* 1 (grayscale) or 3 (RGB) */
    int64_t max_pixels;    /* larger files are refused before decoding; 0 = OC_IMG_MAX_PIXELS (2^28) */
} oc_image_opts;

/* ImageNet defaults: 224x224, crop, mean (0.485, 0.456, 0.406), std
 * (0.229, 0.224, 0.225), RGB, the largest pixel limit. */
void oc_image_opts_default(oc_image_opts *o);

/* Decode and preprocess one image into a [1, C, H, W] float32 tensor. */
oc_tensor *oc_image_load(const char *path, const oc_image_opts *o, oc_diag *d);

#endif
