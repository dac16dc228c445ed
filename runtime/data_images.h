/* data_images.h: a labelled image folder as a training data source
 * (torchvision's ImageFolder layout: DIR/<class>/<image>).
 *
 * Opening scans the folder: classes are the subfolder names in sorted byte
 * order (label = position), images are the files ending in .png .jpg .jpeg
 * .bmp .gif .tga .ppm .pgm (any case), sorted by name within a class;
 * names starting with '.' are ignored. Every image's header is read at
 * open (stb_image's info, no decoding): unreadable files, non-images and
 * images above 16384 pixels per side are skipped with one warning giving
 * the count and the first names, or are an error naming the file with
 * `strict`. A class folder left without images is an error naming it.
 *
 * Samples are decoded when gathered, in parallel over the batch
 * (oc_parallel_for), and preprocessed into float32 [C, H, W]:
 *   eval (augment = 0): torchvision Resize(round(min(H, W) * 256 / 224)) +
 *     CenterCrop((H, W)), antialiased bilinear (image.h);
 *   train (augment = 1): RandomResizedCrop((H, W), scale, ratio) with 10
 *     attempts then a center crop of the clamped ratio, and a horizontal
 *     flip with probability flip_p; all draws come from a generator seeded
 *     by (seed, epoch, sample index) only, so a resumed run, any thread
 *     count and any batch composition see the same pixels;
 * then channels converted to C (gray replicated to 3, RGB to 1 by BT.601
 * luma, alpha dropped) and normalized per channel with mean and std.
 *
 * Decode cache: eval samples (augment = 0) are kept after their first
 * decode, up to cache_bytes (samples 0..k-1 of the folder where k samples
 * fit), so later epochs and validation passes skip decoding. Augmented
 * samples are never cached. A file that passes the header check but fails
 * to decode at gather time is an error naming it with `strict`; otherwise
 * its sample is filled with zeros (the mean color after normalization), a
 * warning names it, and the failure is counted (oc_image_folder_failed).
 *
 * An oc_image_folder is not safe to gather from two threads at once (the
 * cache is filled after each batch); preprocessing inside a gather is. */
#ifndef ONNXC_DATA_IMAGES_H
#define ONNXC_DATA_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

typedef struct oc_image_folder oc_image_folder;

typedef struct oc_image_folder_opts {
    int channels;          /* model input channels: 1 or 3 */
    int64_t height, width; /* model input size */
    float mean[3], std[3]; /* per channel of the model input, values in [0, 1]; one value: set all three */
    int strict;            /* unreadable or corrupt images are errors, not warnings */
    size_t cache_bytes;    /* decode cache cap for eval samples; 0 = no cache */
    int threads;           /* decode threads cap (0 = the oc_set_threads pool) */
    double scale_min, scale_max; /* RandomResizedCrop area fraction */
    double ratio_min, ratio_max; /* RandomResizedCrop aspect ratio w/h */
    double flip_p;               /* horizontal flip probability */
    int64_t max_pixels;          /* images above this many pixels are skipped (strict: an error) when the
                                  * folder is listed; 0 = OC_IMG_MAX_PIXELS (2^28) */
} oc_image_folder_opts;

/* 3x224x224, ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224,
 * 0.225), not strict, 1 GiB cache, scale (0.08, 1), ratio (3/4, 4/3),
 * flip 0.5. */
void oc_image_folder_opts_default(oc_image_folder_opts *o);

int oc_image_folder_open(const char *dir, const oc_image_folder_opts *o, oc_image_folder **out, oc_diag *d);
void oc_image_folder_free(oc_image_folder *f);

/* Stratified split for --val-split: in each class, round(val_fraction *
 * count) images (at least 1 and at most count - 1 when the class has two
 * or more) chosen by a shuffle seeded from (seed, class) go to *val, the
 * rest to *train; both keep the folder's order and class list. */
int oc_image_folder_split(const oc_image_folder *f, double val_fraction, uint64_t seed, oc_image_folder **train,
                          oc_image_folder **val, oc_diag *d);

/* 0 if a and b have the same class names (so labels agree); otherwise an
 * error listing the classes only in a and those only in b. */
int oc_image_folder_check_classes(const oc_image_folder *a, const oc_image_folder *b, oc_diag *d);

int64_t oc_image_folder_count(const oc_image_folder *f);
int64_t oc_image_folder_classes(const oc_image_folder *f);
const char *oc_image_folder_class_name(const oc_image_folder *f, int64_t c);
const char *oc_image_folder_path(const oc_image_folder *f, int64_t i);
int64_t oc_image_folder_label(const oc_image_folder *f, int64_t i);
const char *oc_image_folder_dir(const oc_image_folder *f);
const oc_image_folder_opts *oc_image_folder_options(const oc_image_folder *f);
int64_t oc_image_folder_skipped(const oc_image_folder *f); /* dropped at open */
int64_t oc_image_folder_failed(const oc_image_folder *f);  /* decode failures replaced by zeros */

/* x [batch, C, H, W] and y [batch] from samples order[(start + b) % n],
 * b < batch. Errors name the file. */
int oc_image_folder_gather(oc_image_folder *f, const int64_t *order, int64_t start, int64_t batch, int augment,
                           uint64_t seed, int64_t epoch, float *x, int64_t *y, oc_diag *d);

/* The crop box and flip a training sample (seed, epoch, index) gets from
 * an image of w x h pixels (for tests and debugging). */
void oc_image_folder_aug_box(const oc_image_folder_opts *o, uint64_t seed, int64_t epoch, int64_t index, int w, int h,
                             int *bx, int *by, int *bw, int *bh, int *flip);

#endif
