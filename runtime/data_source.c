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

static int64_t folder_label(void *self, int64_t i) { return oc_image_folder_label(self, i); }

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
    s->label = folder_label;
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

static int64_t ds_label(void *self, int64_t i)
{
    const ds_adapter *a = self;
    return a->ds->y[i];
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
    s->label = ds_label;
    s->close = free;
    s->self = a;
    return 0;
}

/* ---- subsets ---- */

typedef struct subset {
    const oc_data_source *base;
    int64_t n;         /* kept samples */
    int64_t *idx;      /* their indices in base, in base order */
    int64_t *tmp;      /* one batch of base indices */
    int64_t cap_tmp;
    int64_t *map;      /* base label -> subset label (-1: dropped), base->classes entries; NULL: unchanged */
} subset;

static void subset_close(void *self)
{
    subset *u = self;
    free(u->idx);
    free(u->tmp);
    free(u->map);
    free(u);
}

static int64_t relabel(const subset *u, int64_t l)
{
    return u->map && l >= 0 && l < u->base->classes ? u->map[l] : l;
}

static int64_t subset_label(void *self, int64_t i)
{
    const subset *u = self;
    return relabel(u, u->base->label(u->base->self, u->idx[i]));
}

static int subset_gather(void *self, const int64_t *order, int64_t start, int64_t batch, int augment, uint64_t seed,
                         int64_t epoch, float *x, int64_t *y, oc_diag *d)
{
    subset *u = self;
    if (batch > u->cap_tmp) {
        int64_t *t = realloc(u->tmp, sizeof(int64_t) * (size_t)batch);
        if (!t)
            return oc_fail(d, "out of memory");
        u->tmp = t;
        u->cap_tmp = batch;
    }
    for (int64_t b = 0; b < batch; b++)
        u->tmp[b] = u->idx[order[(start + b) % u->n]];
    if (oc_data_source_gather(u->base, u->tmp, 0, batch, augment, seed, epoch, x, y, d))
        return -1;
    for (int64_t b = 0; b < batch; b++)
        y[b] = relabel(u, y[b]);
    return 0;
}

/* Keeps a seeded choice of k of the n entries of v, in their order. */
static int choose(int64_t *v, int64_t n, int64_t k, uint64_t *st)
{
    if (k >= n)
        return 0;
    int64_t *pos = malloc(sizeof(int64_t) * (size_t)n);
    unsigned char *keep = calloc((size_t)n, 1);
    if (!pos || !keep) {
        free(pos);
        free(keep);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        pos[i] = i;
    oc_shuffle(pos, n, st);
    for (int64_t i = 0; i < k; i++)
        keep[pos[i]] = 1;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (keep[i])
            v[m++] = v[i];
    free(keep);
    free(pos);
    return 0;
}

int oc_data_source_subset(oc_data_source *s, const oc_data_source *base, const oc_subset_opts *o, oc_diag *d)
{
    memset(s, 0, sizeof *s);
    int by_label = o->n_labels > 0 || o->per_class > 0;
    if (by_label && !base->label)
        return oc_fail(d, "%s: this data source cannot be split by label", base->name);
    subset *u = calloc(1, sizeof *u);
    if (!u || !(u->idx = malloc(sizeof(int64_t) * (size_t)(base->n + 1))) ||
        (by_label && !(u->map = malloc(sizeof(int64_t) * (size_t)(base->classes + 1))))) {
        if (u)
            subset_close(u);
        return oc_fail(d, "out of memory");
    }
    u->base = base;
    int64_t classes = base->classes;
    if (u->map) {
        for (int64_t c = 0; c < base->classes; c++)
            u->map[c] = o->n_labels > 0 ? -1 : c;
        for (int k = 0; k < o->n_labels; k++) {
            int64_t l = o->labels[k];
            if (l < 0 || l >= base->classes || u->map[l] >= 0) {
                subset_close(u);
                return l < 0 || l >= base->classes
                           ? oc_fail(d, "%s: label %lld is not one of its %lld classes", base->name, (long long)l,
                                     (long long)base->classes)
                           : oc_fail(d, "label %lld is listed twice", (long long)l);
            }
            u->map[l] = k;
        }
        if (o->n_labels > 0)
            classes = o->n_labels;
    }
    uint64_t st = o->seed ^ 0x5ab5e7ull;
    for (int64_t i = 0; i < base->n; i++)
        if (!u->map || relabel(u, base->label(base->self, i)) >= 0)
            u->idx[u->n++] = i;
    if (o->per_class > 0) { /* per class: a seeded choice among that class's samples */
        int64_t *cls = malloc(sizeof(int64_t) * (size_t)(u->n + 1)), m = 0;
        unsigned char *keep = calloc((size_t)u->n + 1, 1);
        if (!cls || !keep) {
            free(cls);
            free(keep);
            subset_close(u);
            return oc_fail(d, "out of memory");
        }
        for (int64_t c = 0; c < classes; c++) {
            int64_t k = 0;
            for (int64_t i = 0; i < u->n; i++)
                if (relabel(u, base->label(base->self, u->idx[i])) == c)
                    cls[k++] = i;
            if (choose(cls, k, o->per_class, &st)) {
                free(cls);
                free(keep);
                subset_close(u);
                return oc_fail(d, "out of memory");
            }
            for (int64_t i = 0; i < k && i < o->per_class; i++)
                keep[cls[i]] = 1;
        }
        for (int64_t i = 0; i < u->n; i++)
            if (keep[i])
                u->idx[m++] = u->idx[i];
        u->n = m;
        free(cls);
        free(keep);
    }
    if (o->limit > 0 && choose(u->idx, u->n, o->limit, &st)) {
        subset_close(u);
        return oc_fail(d, "out of memory");
    }
    if (o->limit > 0 && o->limit < u->n)
        u->n = o->limit;
    if (u->n == 0) {
        subset_close(u);
        return oc_fail(d, "%s: no samples left in the selection", base->name);
    }
    *s = *base;
    s->n = u->n;
    s->classes = classes;
    s->gather = subset_gather;
    s->label = base->label ? subset_label : NULL;
    s->close = subset_close;
    s->self = u;
    return 0;
}

int oc_parse_label_list(const char *s, int64_t *out, int cap)
{
    int n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b;
        if (end == s || a < 0)
            return -1;
        s = end;
        b = a;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a)
                return -1;
            s = end;
        }
        for (long v = a; v <= b; v++) {
            if (n >= cap)
                return -1;
            out[n++] = v;
        }
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return n;
}
