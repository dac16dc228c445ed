/* data_source.c: see data_source.h. The image-folder source forwards to
 * oc_image_folder_gather; the data-set source copies samples, or resizes
 * and converts them through image.c when the model's shape differs. */
#include "data_source.h"

#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "threads.h"

void oc_data_source_close(oc_data_source *s)
{
    if (s->close)
        s->close(s->self);
    memset(s, 0, sizeof *s);
}

/* ---- image folder ---- */

static int folder_gather(void *self, const int64_t *order, int64_t start, int64_t batch, int augment, uint64_t seed,
                         int64_t epoch, float *x, int64_t *y, oc_diag *d)
{
    return oc_image_folder_gather(self, order, start, batch, augment, seed, epoch, x, y, d);
}

int oc_data_source_images(oc_data_source *s, oc_image_folder *f, oc_diag *d)
{
    (void)d;
    const oc_image_folder_opts *o = oc_image_folder_options(f);
    memset(s, 0, sizeof *s);
    s->n = oc_image_folder_count(f);
    s->classes = oc_image_folder_classes(f);
    s->rank = 3;
    s->dims[0] = o->channels;
    s->dims[1] = o->height;
    s->dims[2] = o->width;
    s->sample_size = o->channels * o->height * o->width;
    s->name = oc_image_folder_dir(f);
    s->gather = folder_gather;
    s->self = f;
    return 0;
}

/* ---- in-memory data set ---- */

typedef struct ds_adapter {
    const oc_dataset *ds;
    int resize;          /* 0: plain copy */
    int src_c, src_h, src_w;
    int c, h, w;
} ds_adapter;

typedef struct ds_job {
    const ds_adapter *a;
    const int64_t *order;
    int64_t start;
    float *x;
    int64_t *y;
    unsigned char *scratch;
    size_t scratch_bytes;
    int *bad; /* per part */
} ds_job;

static const float zero3[3] = {0, 0, 0}, one3[3] = {1, 1, 1};

static void ds_part(void *ctx, int64_t begin, int64_t end, int tid)
{
    ds_job *j = ctx;
    const ds_adapter *a = j->a;
    const oc_dataset *ds = a->ds;
    int64_t hw = (int64_t)a->h * a->w, out = (int64_t)a->c * hw;
    oc_img_view v;
    oc_img_view_eval(a->src_w, a->src_h, a->h, a->w, 0, &v);
    for (int64_t b = begin; b < end; b++) {
        int64_t i = j->order[(j->start + b) % ds->n];
        float *dst = j->x + b * out;
        j->y[b] = ds->y[i];
        /* a 3-channel source for a 1-channel model is resampled into a
         * 3-plane temporary at the end of the scratch, then reduced */
        float *planes = a->src_c > a->c ? (float *)(j->scratch + (size_t)tid * j->scratch_bytes) : dst;
        size_t sb = j->scratch_bytes - (a->src_c > a->c ? sizeof(float) * (size_t)(3 * hw) : 0);
        unsigned char *scr = j->scratch + (size_t)tid * j->scratch_bytes + (a->src_c > a->c ? sizeof(float) * (size_t)(3 * hw) : 0);
        if (oc_img_resample(NULL, ds->x + i * ds->sample_size, a->src_w, a->src_h, a->src_c, &v, planes, scr, sb)) {
            j->bad[tid] = 1;
            memset(dst, 0, sizeof(float) * (size_t)out);
            continue;
        }
        oc_img_finish(planes, a->src_c, hw, a->c, zero3, one3, dst);
    }
}

static int ds_gather(void *self, const int64_t *order, int64_t start, int64_t batch, int augment, uint64_t seed,
                     int64_t epoch, float *x, int64_t *y, oc_diag *d)
{
    (void)augment;
    (void)seed;
    (void)epoch;
    const ds_adapter *a = self;
    const oc_dataset *ds = a->ds;
    if (batch < 1 || start < 0)
        return oc_fail(d, "%s: batch of %lld from sample %lld requested", ds->name, (long long)batch, (long long)start);
    for (int64_t b = 0; b < batch; b++) {
        int64_t i = order[(start + b) % ds->n];
        if (i < 0 || i >= ds->n)
            return oc_fail(d, "%s: sample index %lld out of range (the set has %lld)", ds->name, (long long)i,
                           (long long)ds->n);
    }
    if (!a->resize) {
        oc_dataset_gather(ds, order, start, batch, x, y);
        return 0;
    }
    int parts = oc_parallel_parts(batch, 8, 0);
    size_t temp = a->src_c > a->c ? sizeof(float) * (size_t)(3 * a->h * a->w) : 0;
    ds_job j = {a, order, start, x, y, NULL, 0, NULL};
    j.scratch_bytes = (temp + oc_img_scratch_bytes(a->w, a->h, 3) + 63) & ~(size_t)63;
    j.scratch = malloc(j.scratch_bytes * (size_t)parts);
    j.bad = calloc((size_t)parts, sizeof(int));
    if (!j.scratch || !j.bad) {
        free(j.scratch);
        free(j.bad);
        return oc_fail(d, "out of memory");
    }
    oc_parallel_for(batch, 8, 0, ds_part, &j);
    int bad = 0;
    for (int t = 0; t < parts; t++)
        bad |= j.bad[t];
    free(j.scratch);
    free(j.bad);
    return bad ? oc_fail(d, "%s: resizing %dx%d samples to %dx%d failed", ds->name, a->src_h, a->src_w, a->h, a->w) : 0;
}

int oc_data_source_dataset(oc_data_source *s, const oc_dataset *ds, int64_t channels, int64_t height, int64_t width,
                           oc_diag *d)
{
    memset(s, 0, sizeof *s);
    ds_adapter *a = calloc(1, sizeof *a);
    if (!a)
        return oc_fail(d, "out of memory");
    a->ds = ds;
    if (ds->rank < 1 || ds->rank > 3) {
        free(a);
        return oc_fail(d, "%s: samples of rank %d are not supported by the data source", ds->name, ds->rank);
    }
    int image = (ds->rank == 3 && (ds->dims[0] == 1 || ds->dims[0] == 3)) || ds->rank == 2;
    if (image) {
        a->src_c = ds->rank == 3 ? (int)ds->dims[0] : 1;
        a->src_h = (int)ds->dims[ds->rank - 2];
        a->src_w = (int)ds->dims[ds->rank - 1];
        a->c = channels ? (int)channels : a->src_c;
        a->h = height ? (int)height : a->src_h;
        a->w = width ? (int)width : a->src_w;
        a->resize = a->c != a->src_c || a->h != a->src_h || a->w != a->src_w;
        if ((a->c != 1 && a->c != 3) || a->h < 1 || a->w < 1 || a->h > OC_IMG_MAX_SIDE || a->w > OC_IMG_MAX_SIDE ||
            a->src_w > OC_IMG_MAX_SIDE) {
            oc_fail(d, "%s: cannot adapt %dx%dx%d samples to a %lldx%lldx%lld input", ds->name, a->src_c, a->src_h,
                    a->src_w, (long long)channels, (long long)height, (long long)width);
            free(a);
            return -1;
        }
    } else if (channels || height || width) {
        int64_t want = (channels ? channels : 1) * (height ? height : 1) * (width ? width : 1);
        if (want != ds->sample_size) {
            free(a);
            return oc_fail(d, "%s: samples of %lld values cannot feed a %lldx%lldx%lld input", ds->name,
                           (long long)ds->sample_size, (long long)channels, (long long)height, (long long)width);
        }
    }
    s->n = ds->n;
    s->classes = ds->classes;
    if (image) {
        s->rank = 3;
        s->dims[0] = a->c;
        s->dims[1] = a->h;
        s->dims[2] = a->w;
    } else {
        s->rank = ds->rank;
        for (int i = 0; i < s->rank; i++)
            s->dims[i] = ds->dims[i];
    }
    s->sample_size = a->resize ? (int64_t)a->c * a->h * a->w : ds->sample_size;
    s->name = ds->name;
    s->gather = ds_gather;
    s->close = free;
    s->self = a;
    return 0;
}
