/* data_images.c: see data_images.h. The folder scan, the stratified split,
 * the per-sample random crop/flip generator and the parallel batch gather
 * with its decode cache. Pixels are handled by image.c. */
#include "data_images.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "threads.h"

#define ERR_LEN 256
#define SKIP_NAMES 3 /* unreadable files named in the warning */

struct oc_image_folder {
    oc_image_folder_opts o;
    char *dir;
    int64_t n, classes;
    char **class_names; /* classes */
    char **paths;       /* n */
    int64_t *labels;    /* n */
    int64_t skipped, failed;
    /* decode cache: eval samples 0..cache_n-1 */
    int cache_tried;
    int64_t cache_n;
    float *cache;
    unsigned char *cached;
};

void oc_image_folder_opts_default(oc_image_folder_opts *o)
{
    memset(o, 0, sizeof *o);
    o->channels = 3;
    o->height = o->width = 224;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(o->mean, mean, sizeof mean);
    memcpy(o->std, std, sizeof std);
    o->cache_bytes = (size_t)1 << 30;
    o->scale_min = 0.08;
    o->scale_max = 1.0;
    o->ratio_min = 3.0 / 4.0;
    o->ratio_max = 4.0 / 3.0;
    o->flip_p = 0.5;
}

/* ---- building ---- */

static void free_strs(char **s, int64_t n)
{
    if (s)
        for (int64_t i = 0; i < n; i++)
            free(s[i]);
    free(s);
}

void oc_image_folder_free(oc_image_folder *f)
{
    if (!f)
        return;
    free(f->dir);
    free_strs(f->class_names, f->classes);
    free_strs(f->paths, f->n);
    free(f->labels);
    free(f->cache);
    free(f->cached);
    free(f);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (s) {
        memcpy(s, a, la);
        s[la] = '/';
        memcpy(s + la + 1, b, lb + 1);
    }
    return s;
}

static int is_image_name(const char *name)
{
    static const char *const ext[] = {"png", "jpg", "jpeg", "bmp", "gif", "tga", "ppm", "pgm"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    dot++;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = 0;
        while (ext[i][k] && dot[k] && tolower((unsigned char)dot[k]) == ext[i][k])
            k++;
        if (!ext[i][k] && !dot[k])
            return 1;
    }
    return 0;
}

/* Sorted names in dir that are folders (want_dirs) or image files. */
static int list_dir(const char *dir, int want_dirs, char ***out, int64_t *count, oc_diag *d)
{
    *out = NULL;
    *count = 0;
    DIR *dd = opendir(dir);
    if (!dd)
        return oc_fail(d, "%s: cannot open folder", dir);
    char **v = NULL;
    int64_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.')
            continue;
        if (!want_dirs && !is_image_name(e->d_name))
            continue;
        char *full = join(dir, e->d_name);
        struct stat st;
        if (!full) {
            rc = oc_fail(d, "out of memory");
            break;
        }
        int keep = stat(full, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(full);
        if (!keep)
            continue;
        if (n == cap) {
            int64_t nc = cap ? 2 * cap : 64;
            char **nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = oc_fail(d, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[n] = strdup(e->d_name))) {
            rc = oc_fail(d, "out of memory");
            break;
        }
        n++;
    }
    closedir(dd);
    if (rc) {
        free_strs(v, n);
        return rc;
    }
    if (n)
        qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    *count = n;
    return 0;
}

static int check_opts(const char *dir, const oc_image_folder_opts *o, oc_diag *d)
{
    if ((o->channels != 1 && o->channels != 3) || o->height < 1 || o->width < 1 || o->height > OC_IMG_MAX_SIDE ||
        o->width > OC_IMG_MAX_SIDE)
        return oc_fail(d, "%s: model input %dx%lldx%lld is not supported (1 or 3 channels, 1 to %d pixels per side)",
                       dir, o->channels, (long long)o->height, (long long)o->width, OC_IMG_MAX_SIDE);
    for (int k = 0; k < o->channels; k++)
        if (!(o->std[k] > 0) || !isfinite(o->mean[k]))
            return oc_fail(d, "%s: normalization std must be positive and mean finite (channel %d: mean %g std %g)",
                           dir, k, o->mean[k], o->std[k]);
    if (!(o->scale_min > 0 && o->scale_min <= o->scale_max && o->scale_max <= 1) ||
        !(o->ratio_min > 0 && o->ratio_min <= o->ratio_max) || !(o->flip_p >= 0 && o->flip_p <= 1))
        return oc_fail(d, "%s: augmentation needs 0 < scale_min <= scale_max <= 1, 0 < ratio_min <= ratio_max, flip in "
                          "[0, 1]",
                       dir);
    return 0;
}

static oc_image_folder *folder_new(const char *dir, const oc_image_folder_opts *o)
{
    oc_image_folder *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->o = *o;
    if (!(f->dir = strdup(dir))) {
        free(f);
        return NULL;
    }
    return f;
}

static int push_sample(oc_image_folder *f, int64_t *cap, char *path, int64_t label)
{
    if (f->n == *cap) {
        int64_t nc = *cap ? 2 * *cap : 256;
        char **np = realloc(f->paths, sizeof *np * (size_t)nc);
        if (!np)
            return -1;
        f->paths = np;
        int64_t *nl = realloc(f->labels, sizeof *nl * (size_t)nc);
        if (!nl)
            return -1;
        f->labels = nl;
        *cap = nc;
    }
    f->paths[f->n] = path;
    f->labels[f->n++] = label;
    return 0;
}

int oc_image_folder_open(const char *dir, const oc_image_folder_opts *o, oc_image_folder **out, oc_diag *d)
{
    *out = NULL;
    if (check_opts(dir, o, d))
        return -1;
    oc_image_folder *f = folder_new(dir, o);
    if (!f)
        return oc_fail(d, "out of memory");
    if (list_dir(dir, 1, &f->class_names, &f->classes, d))
        goto fail;
    if (f->classes == 0) {
        oc_fail(d, "%s: no class folders (expected DIR/<class>/<image>)", dir);
        goto fail;
    }
    int64_t cap = 0, skipped = 0;
    char first[SKIP_NAMES][ERR_LEN];
    for (int64_t c = 0; c < f->classes; c++) {
        char *cdir = join(dir, f->class_names[c]), **files = NULL;
        int64_t nf = 0, kept = 0;
        if (!cdir) {
            oc_fail(d, "out of memory");
            goto fail;
        }
        if (list_dir(cdir, 0, &files, &nf, d)) {
            free(cdir);
            goto fail;
        }
        for (int64_t i = 0; i < nf; i++) {
            char *path = join(cdir, files[i]), err[ERR_LEN];
            int w, h, ch;
            if (!path) {
                oc_fail(d, "out of memory");
            } else if (oc_img_probe(path, o->max_pixels, &w, &h, &ch, err, sizeof err)) {
                if (o->strict)
                    oc_fail(d, "%s: %s", path, err);
                else if (skipped < SKIP_NAMES)
                    snprintf(first[skipped], ERR_LEN, "%s (%s)", path, err);
                skipped++;
                free(path);
                if (!o->strict)
                    continue;
            } else if (push_sample(f, &cap, path, c)) {
                free(path);
                oc_fail(d, "out of memory");
            } else {
                kept++;
                continue;
            }
            free_strs(files, nf);
            free(cdir);
            goto fail;
        }
        free_strs(files, nf);
        if (kept == 0) {
            oc_fail(d, "%s: class folder '%s' has no %simages (.png .jpg .jpeg .bmp .gif .tga .ppm .pgm)", cdir,
                    f->class_names[c], nf ? "readable " : "");
            free(cdir);
            goto fail;
        }
        free(cdir);
    }
    f->skipped = skipped;
    if (skipped) {
        char names[3 * ERR_LEN + 16] = "";
        for (int64_t i = 0; i < skipped && i < SKIP_NAMES; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "; " : "", first[i]);
        oc_warn(d, "%s: skipped %lld unreadable image file%s: %s%s", dir, (long long)skipped, skipped > 1 ? "s" : "",
                names, skipped > SKIP_NAMES ? "; ..." : "");
    }
    *out = f;
    return 0;
fail:
    oc_image_folder_free(f);
    return -1;
}

/* ---- splits and class checks ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A copy of f's class list with the samples where pick[i] == want. */
static oc_image_folder *subset(const oc_image_folder *f, const unsigned char *pick, int want)
{
    oc_image_folder *g = folder_new(f->dir, &f->o);
    if (!g)
        return NULL;
    if (!(g->class_names = calloc((size_t)f->classes, sizeof(char *))))
        goto fail;
    for (g->classes = 0; g->classes < f->classes; g->classes++)
        if (!(g->class_names[g->classes] = strdup(f->class_names[g->classes])))
            goto fail;
    int64_t cap = 0;
    for (int64_t i = 0; i < f->n; i++) {
        if (pick[i] != want)
            continue;
        char *p = strdup(f->paths[i]);
        if (!p || push_sample(g, &cap, p, f->labels[i])) {
            free(p);
            goto fail;
        }
    }
    return g;
fail:
    oc_image_folder_free(g);
    return NULL;
}

int oc_image_folder_split(const oc_image_folder *f, double val_fraction, uint64_t seed, oc_image_folder **train,
                          oc_image_folder **val, oc_diag *d)
{
    *train = *val = NULL;
    if (!(val_fraction > 0 && val_fraction < 1))
        return oc_fail(d, "%s: validation fraction %g is not between 0 and 1", f->dir, val_fraction);
    unsigned char *pick = calloc((size_t)f->n + 1, 1);
    int64_t *idx = malloc(sizeof(int64_t) * ((size_t)f->n + 1));
    if (!pick || !idx) {
        free(pick);
        free(idx);
        return oc_fail(d, "out of memory");
    }
    for (int64_t c = 0; c < f->classes; c++) {
        int64_t m = 0;
        for (int64_t i = 0; i < f->n; i++)
            if (f->labels[i] == c)
                idx[m++] = i;
        int64_t nv = (int64_t)floor(val_fraction * (double)m + 0.5);
        if (m >= 2 && nv < 1)
            nv = 1;
        if (nv > m - 1)
            nv = m - 1;
        uint64_t st = seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(c + 1));
        for (int64_t i = m - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)(splitmix64(&st) % (uint64_t)(i + 1)), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        for (int64_t i = 0; i < nv; i++)
            pick[idx[i]] = 1;
    }
    free(idx);
    *train = subset(f, pick, 0);
    *val = subset(f, pick, 1);
    free(pick);
    if (!*train || !*val) {
        oc_image_folder_free(*train);
        oc_image_folder_free(*val);
        *train = *val = NULL;
        return oc_fail(d, "out of memory");
    }
    return 0;
}

int oc_image_folder_check_classes(const oc_image_folder *a, const oc_image_folder *b, oc_diag *d)
{
    char only_a[512] = "", only_b[512] = "";
    int64_t i = 0, j = 0, na = 0, nb = 0;
    while (i < a->classes || j < b->classes) {
        int c = i == a->classes ? 1 : j == b->classes ? -1 : strcmp(a->class_names[i], b->class_names[j]);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        char *buf = c < 0 ? only_a : only_b;
        const char *name = c < 0 ? a->class_names[i++] : b->class_names[j++];
        int64_t *cnt = c < 0 ? &na : &nb;
        size_t len = strlen(buf);
        if (len < sizeof only_a - 1)
            snprintf(buf + len, sizeof only_a - len, "%s'%s'", *cnt ? ", " : "", name);
        (*cnt)++;
    }
    if (na == 0 && nb == 0)
        return 0;
    return oc_fail(d, "class folders differ: %s has %lld class%s not in %s%s%s; %s has %lld not in %s%s%s", a->dir,
                   (long long)na, na == 1 ? "" : "es", b->dir, na ? ": " : "", only_a, b->dir, (long long)nb, a->dir,
                   nb ? ": " : "", only_b);
}

/* ---- accessors ---- */

int64_t oc_image_folder_count(const oc_image_folder *f) { return f->n; }
int64_t oc_image_folder_classes(const oc_image_folder *f) { return f->classes; }
const char *oc_image_folder_class_name(const oc_image_folder *f, int64_t c)
{
    return c >= 0 && c < f->classes ? f->class_names[c] : NULL;
}
const char *oc_image_folder_path(const oc_image_folder *f, int64_t i) { return i >= 0 && i < f->n ? f->paths[i] : NULL; }
int64_t oc_image_folder_label(const oc_image_folder *f, int64_t i) { return i >= 0 && i < f->n ? f->labels[i] : -1; }
const char *oc_image_folder_dir(const oc_image_folder *f) { return f->dir; }
const oc_image_folder_opts *oc_image_folder_options(const oc_image_folder *f) { return &f->o; }
int64_t oc_image_folder_skipped(const oc_image_folder *f) { return f->skipped; }
int64_t oc_image_folder_failed(const oc_image_folder *f) { return f->failed; }

/* ---- augmentation ---- */

/* The generator of one training sample: splitmix64 over a state mixed from
 * (seed, epoch, index), each folded in through a full splitmix round so
 * that neighbouring epochs and indices give unrelated streams. */
static uint64_t sample_state(uint64_t seed, int64_t epoch, int64_t index)
{
    uint64_t s = seed;
    uint64_t a = splitmix64(&s) ^ (uint64_t)epoch;
    s = a;
    uint64_t b = splitmix64(&s) ^ (uint64_t)index;
    s = b;
    return splitmix64(&s);
}

static double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

/* torchvision RandomResizedCrop.get_params (documented behaviour): up to
 * 10 tries of area fraction ~ U(scale), log aspect ~ U(log ratio); else a
 * center crop of the whole image with its aspect clamped into ratio. */
void oc_image_folder_aug_box(const oc_image_folder_opts *o, uint64_t seed, int64_t epoch, int64_t index, int w, int h,
                             int *bx, int *by, int *bw, int *bh, int *flip)
{
    uint64_t s = sample_state(seed, epoch, index);
    *flip = uniform01(&s) < o->flip_p;
    double area = (double)w * h, lr0 = log(o->ratio_min), lr1 = log(o->ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (o->scale_min + (o->scale_max - o->scale_min) * uniform01(&s));
        double aspect = exp(lr0 + (lr1 - lr0) * uniform01(&s));
        double cw = nearbyint(sqrt(target * aspect)), ch = nearbyint(sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            *bw = (int)cw;
            *bh = (int)ch;
            *by = (int)(uniform01(&s) * (h - *bh + 1));
            *bx = (int)(uniform01(&s) * (w - *bw + 1));
            return;
        }
    }
    double in_ratio = (double)w / h;
    if (in_ratio < o->ratio_min) {
        *bw = w;
        *bh = (int)nearbyint(w / o->ratio_min);
    } else if (in_ratio > o->ratio_max) {
        *bh = h;
        *bw = (int)nearbyint(h * o->ratio_max);
    } else {
        *bw = w;
        *bh = h;
    }
    if (*bw < 1)
        *bw = 1;
    if (*bh < 1)
        *bh = 1;
    if (*bw > w)
        *bw = w;
    if (*bh > h)
        *bh = h;
    *bx = (w - *bw) / 2;
    *by = (h - *bh) / 2;
}

/* ---- gather ---- */

typedef struct gather_job {
    oc_image_folder *f;
    const int64_t *order;
    int64_t start, sample_size;
    int augment;
    uint64_t seed;
    int64_t epoch;
    float *x;
    int64_t *y;
    unsigned char *scratch;
    size_t scratch_bytes;
    char (*err)[ERR_LEN]; /* per sample, "" = ok */
} gather_job;

/* One sample into dst (C planes). */
static int load_sample(const oc_image_folder *f, int64_t i, int augment, uint64_t seed, int64_t epoch, float *dst,
                       void *scratch, size_t sb, char *err)
{
    const oc_image_folder_opts *o = &f->o;
    oc_img8 im;
    if (oc_img_decode(f->paths[i], o->channels, o->max_pixels, &im, err, ERR_LEN))
        return -1;
    oc_img_view v;
    if (augment) {
        memset(&v, 0, sizeof v);
        oc_image_folder_aug_box(o, seed, epoch, i, im.w, im.h, &v.bx, &v.by, &v.bw, &v.bh, &v.flip);
        v.vw = v.out_w = (int)o->width;
        v.vh = v.out_h = (int)o->height;
    } else {
        oc_img_view_eval(im.w, im.h, (int)o->height, (int)o->width, 1, &v);
    }
    int rc = oc_img_resample(im.px, NULL, im.w, im.h, im.c, &v, dst, scratch, sb);
    if (rc == 0)
        oc_img_finish(dst, im.c, o->height * o->width, o->channels, o->mean, o->std, dst);
    else
        snprintf(err, ERR_LEN, "resampling failed (%dx%d image)", im.w, im.h);
    oc_img8_free(&im);
    return rc;
}

static void gather_part(void *ctx, int64_t begin, int64_t end, int tid)
{
    gather_job *j = ctx;
    oc_image_folder *f = j->f;
    for (int64_t b = begin; b < end; b++) {
        int64_t i = j->order[(j->start + b) % f->n];
        float *dst = j->x + b * j->sample_size;
        j->err[b][0] = 0;
        if (i < 0 || i >= f->n) {
            snprintf(j->err[b], ERR_LEN, "sample index %lld out of range", (long long)i);
            continue;
        }
        j->y[b] = f->labels[i];
        if (!j->augment && i < f->cache_n && f->cached[i]) {
            memcpy(dst, f->cache + i * j->sample_size, sizeof(float) * (size_t)j->sample_size);
            continue;
        }
        if (load_sample(f, i, j->augment, j->seed, j->epoch, dst, j->scratch + (size_t)tid * j->scratch_bytes,
                        j->scratch_bytes, j->err[b]))
            memset(dst, 0, sizeof(float) * (size_t)j->sample_size);
    }
}

static void cache_init(oc_image_folder *f, int64_t sample_size)
{
    f->cache_tried = 1;
    size_t per = sizeof(float) * (size_t)sample_size;
    int64_t k = (int64_t)(f->o.cache_bytes / per);
    if (k > f->n)
        k = f->n;
    if (k < 1)
        return;
    f->cache = malloc(per * (size_t)k);
    f->cached = calloc((size_t)k, 1);
    if (!f->cache || !f->cached) { /* no cache is slower, not wrong */
        free(f->cache);
        free(f->cached);
        f->cache = NULL;
        f->cached = NULL;
        return;
    }
    f->cache_n = k;
}

int oc_image_folder_gather(oc_image_folder *f, const int64_t *order, int64_t start, int64_t batch, int augment,
                           uint64_t seed, int64_t epoch, float *x, int64_t *y, oc_diag *d)
{
    if (batch < 1 || start < 0 || f->n < 1)
        return oc_fail(d, "%s: batch of %lld from sample %lld requested, the folder has %lld", f->dir,
                       (long long)batch, (long long)start, (long long)f->n);
    int64_t ss = f->o.channels * f->o.height * f->o.width;
    if (!augment && f->o.cache_bytes && !f->cache_tried)
        cache_init(f, ss);
    int parts = oc_parallel_parts(batch, 1, f->o.threads);
    gather_job j = {f, order, start, ss, augment, seed, epoch, x, y, NULL, 0, NULL};
    j.scratch_bytes = (oc_img_scratch_bytes((int)f->o.width, (int)f->o.height, 3) + 63) & ~(size_t)63;
    j.scratch = malloc(j.scratch_bytes * (size_t)parts);
    j.err = malloc(sizeof *j.err * (size_t)batch);
    if (!j.scratch || !j.err) {
        free(j.scratch);
        free(j.err);
        return oc_fail(d, "out of memory for a batch of %lld images", (long long)batch);
    }
    oc_parallel_for(batch, 1, f->o.threads, gather_part, &j);
    int rc = 0;
    for (int64_t b = 0; b < batch; b++) {
        int64_t i = order[(start + b) % f->n];
        if (j.err[b][0]) {
            const char *path = i >= 0 && i < f->n ? f->paths[i] : f->dir;
            if (f->o.strict || i < 0 || i >= f->n) {
                rc = oc_fail(d, "%s: %s", path, j.err[b]);
                break;
            }
            f->failed++;
            oc_warn(d, "%s: %s; sample replaced by zeros", path, j.err[b]);
        } else if (!augment && i < f->cache_n && !f->cached[i]) {
            memcpy(f->cache + i * ss, x + b * ss, sizeof(float) * (size_t)ss);
            f->cached[i] = 1;
        }
    }
    free(j.scratch);
    free(j.err);
    return rc;
}
