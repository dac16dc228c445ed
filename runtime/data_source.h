/* data_source.h: what a trainer reads batches from, whatever holds the
 * data. Two implementations: an in-memory oc_dataset (IDX, CSV; data.h)
 * and an image folder (data_images.h).
 *
 * A source is a small struct of facts (sample count, classes, the sample
 * shape as the model sees it) and one gather function. The trainer owns
 * the order (oc_shuffle) and passes (seed, epoch) so that augmented
 * sources can draw per-sample randomness reproducibly; sources without
 * augmentation ignore them. */
#ifndef ONNXC_DATA_SOURCE_H
#define ONNXC_DATA_SOURCE_H

#include <stdint.h>

#include "data.h"
#include "data_images.h"
#include "diag.h"

typedef struct oc_data_source {
    int64_t n;           /* samples */
    int64_t classes;     /* labels are 0 .. classes-1 */
    int rank;            /* sample rank without the batch dim (3 for [C, H, W]) */
    int64_t dims[3];     /* sample dims as delivered, e.g. [3, 224, 224] */
    int64_t sample_size; /* product of dims */
    const char *name;    /* file or folder, for messages */
    /* x [batch, dims...], y [batch] from samples order[(start + b) % n]. */
    int (*gather)(void *self, const int64_t *order, int64_t start, int64_t batch, int augment, uint64_t seed,
                  int64_t epoch, float *x, int64_t *y, oc_diag *d);
    void (*close)(void *self); /* frees the adapter state (not the data it wraps) */
    /* The label of sample i without decoding it (NULL: unknown; subsets by
     * label then need it). */
    int64_t (*label)(void *self, int64_t i);
    void *self;
} oc_data_source;

static inline int oc_data_source_gather(const oc_data_source *s, const int64_t *order, int64_t start, int64_t batch,
                                        int augment, uint64_t seed, int64_t epoch, float *x, int64_t *y, oc_diag *d)
{
    return s->gather(s->self, order, start, batch, augment, seed, epoch, x, y, d);
}

void oc_data_source_close(oc_data_source *s);

/* An image folder as a source (not owned: free it after closing the
 * source). augment selects the training transform (data_images.h). */
int oc_data_source_images(oc_data_source *s, oc_image_folder *f, oc_diag *d);

/* An in-memory data set as a source (not owned). channels, height, width:
 * the model's input; 0 keeps the set's own. A set of [H, W] or [C, H, W]
 * samples is then resized (antialiased bilinear, whole image, no crop) and
 * its channels converted (1 replicated to 3, 3 to 1 by BT.601 luma), e.g.
 * MNIST 1x28x28 into a 3x32x32 model. Values are taken as they are in the
 * set (apply oc_dataset_normalize first if wanted). Other sample shapes
 * (e.g. the 64-value digits rows) can only be passed through unchanged.
 * augment is ignored. */
int oc_data_source_dataset(oc_data_source *s, const oc_dataset *ds, int64_t channels, int64_t height, int64_t width,
                           oc_diag *d);

/* A subset of a source, chosen without decoding any sample:
 *   labels     keep only samples whose label is listed (n_labels of them;
 *              0 = every label), relabelled by their position in the list
 *              (e.g. digits 5..9 become classes 0..4);
 *   per_class  then at most that many samples of each kept class (0 = all);
 *   limit      then at most that many samples in all (0 = all).
 * Which samples a per-class or overall cap keeps is a seeded draw; kept
 * samples stay in the source's order. The subset reads through `base`,
 * which must outlive it; close it with oc_data_source_close. */
typedef struct oc_subset_opts {
    const int64_t *labels;
    int n_labels;
    int64_t per_class, limit;
    uint64_t seed;
} oc_subset_opts;

int oc_data_source_subset(oc_data_source *s, const oc_data_source *base, const oc_subset_opts *o, oc_diag *d);

/* "5-9" or "0,2,4" or "1-3,7" into out[] (at most cap); the count or -1. */
int oc_parse_label_list(const char *s, int64_t *out, int cap);

#endif
