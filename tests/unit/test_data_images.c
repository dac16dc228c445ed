/* test_data_images.c: the image-folder data source (data_images.h) and the
 * common data-source interface (data_source.h).
 *
 * A synthetic folder made here (stb_image_write) with 3 classes whose
 * names test byte order, solid colors (where any resampling filter must
 * give the exact color), a gray, an RGBA, a wide and a tall image, a
 * corrupt file and an ignored .txt. Checked: class order, labels, counts,
 * the corrupt file skipped with a warning (an error when strict), channel
 * conversion, eval preprocessing against torchvision (Resize + CenterCrop
 * + Normalize on PIL images, through ref_image_eval.py; mean abs diff
 * printed), augmentation determinism and flip, the decode cache, decode
 * failures at gather time, the stratified split, the class check, the
 * data-set adapter (MNIST 1x28x28 into 3x32x32), hymenoptera_data when
 * present, and a decode speed line (images/s, 1 and 2 threads).
 * Arguments: DATASETS_DIR [PYTHON REF_SCRIPT]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "../../runtime/data_images.h"
#include "../../runtime/data_source.h"
#include "../../runtime/threads.h"
#include "check.h"

static char tmp[1024];

static void path_of(char *out, size_t cap, const char *rel) { snprintf(out, cap, "%s/%s", tmp, rel); }

static void mkdirs(const char *rel)
{
    char p[2048];
    path_of(p, sizeof p, rel);
    mkdir(p, 0755);
}

/* An image from a pixel function: v(x, y, k). */
typedef unsigned char (*pix_fn)(int x, int y, int k);
static void write_img(const char *rel, int w, int h, int c, pix_fn fn)
{
    char p[2048];
    path_of(p, sizeof p, rel);
    unsigned char *px = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                px[((size_t)y * w + x) * c + k] = fn(x, y, k);
    size_t n = strlen(p);
    int ok = !strcmp(p + n - 4, ".bmp") ? stbi_write_bmp(p, w, h, c, px) : stbi_write_png(p, w, h, c, px, w * c);
    if (!ok)
        printf("cannot write %s\n", p);
    free(px);
}

static void write_bytes(const char *rel, const void *data, size_t n)
{
    char p[2048];
    path_of(p, sizeof p, rel);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static unsigned char red(int x, int y, int k) { (void)x, (void)y; return k == 0 ? 255 : 0; }
static unsigned char green(int x, int y, int k) { (void)x, (void)y; return k == 1 ? 255 : 0; }
static unsigned char blue(int x, int y, int k) { (void)x, (void)y; return k == 2 ? 255 : 0; }
static unsigned char gray100(int x, int y, int k) { (void)x, (void)y, (void)k; return 100; }
static unsigned char rgba(int x, int y, int k) { (void)x, (void)y; return (unsigned char[]){10, 200, 30, 50}[k]; }
static unsigned char brown(int x, int y, int k) { (void)x, (void)y; return (unsigned char[]){128, 64, 32}[k]; }
static unsigned char halves(int x, int y, int k) { (void)y, (void)k; return x < 32 ? 0 : 255; }
static unsigned char pattern(int x, int y, int k)
{
    return (unsigned char)((x * 7 + y * 13 + k * 50 + ((x / 5 + y / 3) % 2) * 90) & 255);
}
static unsigned char noise(int x, int y, int k)
{
    uint32_t h = (uint32_t)x * 73856093u ^ (uint32_t)y * 19349663u ^ (uint32_t)k * 83492791u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    return (unsigned char)(h >> 24);
}

static void make_folder(void)
{
    const char *dirs[] = {"set", "set/cat", "set/Dog", "set/bird", "set/.hidden", "empty", "empty/a", "empty/b",
                          "other", "other/Dog", "other/bird", "other/fish", "late", "late/a"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        mkdirs(dirs[i]);
    write_img("set/bird/b1.png", 40, 30, 3, red);
    write_img("set/bird/b2.PNG", 30, 40, 3, green);
    write_img("set/bird/b4.bmp", 32, 32, 3, blue);
    write_bytes("set/bird/b3.jpg", "this is not a jpeg", 18);
    write_bytes("set/bird/notes.txt", "ignored", 7);
    write_img("set/cat/c1.png", 36, 36, 1, gray100);
    write_img("set/cat/c2.png", 32, 32, 4, rgba);
    write_img("set/cat/c3.png", 96, 24, 3, pattern);
    write_img("set/cat/c4.png", 24, 96, 3, pattern);
    write_img("set/Dog/d1.png", 50, 40, 3, pattern);
    write_img("set/Dog/d2.png", 64, 48, 3, halves);
    write_img("set/Dog/d3.png", 45, 45, 3, noise);
    write_img("set/Dog/d4.png", 33, 20, 3, brown);
    write_img("set/.hidden/x.png", 8, 8, 3, red);
    write_img("empty/a/a.png", 8, 8, 3, red);
    write_bytes("empty/b/readme.txt", "no images", 9);
    write_img("other/Dog/d.png", 8, 8, 3, red);
    write_img("other/bird/b.png", 8, 8, 3, red);
    write_img("other/fish/f.png", 8, 8, 3, red);
    /* valid header, truncated data: passes the open check, fails to decode */
    write_img("late/a/good.png", 20, 20, 3, noise);
    write_img("late/a/trunc.png", 20, 20, 3, noise);
    char p[2048];
    path_of(p, sizeof p, "late/a/trunc.png");
    if (truncate(p, 60) != 0)
        printf("cannot truncate %s\n", p);
}

static oc_image_folder_opts plain_opts(int c, int size)
{
    oc_image_folder_opts o;
    oc_image_folder_opts_default(&o);
    o.channels = c;
    o.height = o.width = size;
    for (int k = 0; k < 3; k++) {
        o.mean[k] = 0;
        o.std[k] = 1;
    }
    return o;
}

static int64_t find(const oc_image_folder *f, const char *tail)
{
    for (int64_t i = 0; i < oc_image_folder_count(f); i++) {
        const char *p = oc_image_folder_path(f, i);
        size_t n = strlen(p), m = strlen(tail);
        if (n >= m && !strcmp(p + n - m, tail))
            return i;
    }
    return -1;
}

/* One sample through gather. */
static int one(oc_image_folder *f, int64_t i, int augment, uint64_t seed, int64_t epoch, float *x, oc_diag *d)
{
    int64_t y;
    return oc_image_folder_gather(f, &i, 0, 1, augment, seed, epoch, x, &y, d);
}

static double max_dev(const float *x, int64_t n, float v)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i] - v));
    return m;
}

static void test_scan(void)
{
    char dir[2048];
    path_of(dir, sizeof dir, "set");
    oc_image_folder_opts o = plain_opts(3, 16);
    oc_image_folder *f;
    oc_diag d;
    oc_diag_init(&d);
    int rc = oc_image_folder_open(dir, &o, &f, &d);
    CHECK(rc == 0, "open: %s", d.msg);
    if (rc)
        return;
    CHECK(oc_image_folder_classes(f) == 3 && !strcmp(oc_image_folder_class_name(f, 0), "Dog") &&
              !strcmp(oc_image_folder_class_name(f, 1), "bird") && !strcmp(oc_image_folder_class_name(f, 2), "cat"),
          "classes %lld: %s %s %s", (long long)oc_image_folder_classes(f), oc_image_folder_class_name(f, 0),
          oc_image_folder_class_name(f, 1), oc_image_folder_class_name(f, 2));
    const char *want[] = {"d1.png", "d2.png", "d3.png", "d4.png", "b1.png", "b2.PNG", "b4.bmp",
                          "c1.png", "c2.png", "c3.png", "c4.png"};
    const int64_t lab[] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2};
    int order_ok = oc_image_folder_count(f) == 11;
    for (int64_t i = 0; order_ok && i < 11; i++)
        order_ok = find(f, want[i]) == i && oc_image_folder_label(f, i) == lab[i];
    CHECK(order_ok, "11 samples in class/name order with labels 0,0,0,0,1,1,1,2,2,2,2 (got %lld samples)",
          (long long)oc_image_folder_count(f));
    CHECK(oc_image_folder_skipped(f) == 1 && d.n_warn == 1 && strstr(d.warn[0], "b3.jpg"),
          "corrupt file skipped with a warning: skipped %lld, warnings %d: %s", (long long)oc_image_folder_skipped(f),
          d.n_warn, d.n_warn ? d.warn[0] : "");
    printf("scan: classes Dog, bird, cat; 11 images; warning: %s\n", d.n_warn ? d.warn[0] : "(none)");

    /* solid colors come out exact; gray replicated, alpha dropped */
    float x[3 * 16 * 16];
    struct { const char *name; float r, g, b; } solid[] = {
        {"b1.png", 1, 0, 0}, {"b2.PNG", 0, 1, 0}, {"b4.bmp", 0, 0, 1},
        {"c1.png", 100 / 255.f, 100 / 255.f, 100 / 255.f}, {"c2.png", 10 / 255.f, 200 / 255.f, 30 / 255.f},
        {"d4.png", 128 / 255.f, 64 / 255.f, 32 / 255.f}};
    for (size_t s = 0; s < sizeof solid / sizeof solid[0]; s++) {
        rc = one(f, find(f, solid[s].name), 0, 0, 0, x, &d);
        double dev = fmax(max_dev(x, 256, solid[s].r), fmax(max_dev(x + 256, 256, solid[s].g), max_dev(x + 512, 256, solid[s].b)));
        CHECK(rc == 0 && dev < 1e-5, "%s: solid color off by %g (%s)", solid[s].name, dev, d.msg);
    }
    /* RGB to 1 channel: BT.601 luma of (128, 64, 32) = 79.488 -> 79 */
    oc_image_folder_free(f);
    o = plain_opts(1, 16);
    oc_diag_init(&d);
    rc = oc_image_folder_open(dir, &o, &f, &d);
    CHECK(rc == 0, "open 1-channel: %s", d.msg);
    if (!rc) {
        rc = one(f, find(f, "d4.png"), 0, 0, 0, x, &d);
        CHECK(rc == 0 && max_dev(x, 256, 79 / 255.f) < 1e-5, "luma: got %g, want %g", x[0] * 255, 79.0);
        rc = one(f, find(f, "c1.png"), 0, 0, 0, x, &d);
        CHECK(rc == 0 && max_dev(x, 256, 100 / 255.f) < 1e-5, "gray kept: got %g", x[0] * 255);
        oc_image_folder_free(f);
    }
    /* ImageNet normalization of solid red */
    oc_image_folder_opts_default(&o);
    o.height = o.width = 16;
    oc_diag_init(&d);
    if (oc_image_folder_open(dir, &o, &f, &d) == 0) {
        rc = one(f, find(f, "b1.png"), 0, 0, 0, x, &d);
        double dev = fmax(max_dev(x, 256, (1 - 0.485f) / 0.229f),
                          fmax(max_dev(x + 256, 256, -0.456f / 0.224f), max_dev(x + 512, 256, -0.406f / 0.225f)));
        CHECK(rc == 0 && dev < 1e-5, "normalized red off by %g", dev);
        oc_image_folder_free(f);
    }
    /* strict: the corrupt file is an error naming it */
    o.strict = 1;
    oc_diag_init(&d);
    rc = oc_image_folder_open(dir, &o, &f, &d);
    CHECK(rc != 0 && strstr(d.msg, "b3.jpg") && f == NULL, "strict open: rc %d: %s", rc, d.msg);
    printf("strict: %s\n", d.msg);
    /* a pixel limit refuses larger images from their header (Dog/d2.png,
     * 64x48, is the first above 3000 pixels in the listing order) */
    o.max_pixels = 3000;
    oc_diag_init(&d);
    rc = oc_image_folder_open(dir, &o, &f, &d);
    CHECK(rc != 0 && strstr(d.msg, "d2.png") && strstr(d.msg, "64x48 = 3072 pixels is above the limit of 3000"),
          "pixel limit: rc %d: %s", rc, d.msg);
    printf("pixel limit: %s\n", d.msg);
    o.max_pixels = 0;
    /* a class without images */
    path_of(dir, sizeof dir, "empty");
    oc_diag_init(&d);
    rc = oc_image_folder_open(dir, &o, &f, &d);
    CHECK(rc != 0 && strstr(d.msg, "'b'"), "empty class: rc %d: %s", rc, d.msg);
    printf("empty class: %s\n", d.msg);
    path_of(dir, sizeof dir, "nonexistent");
    oc_diag_init(&d);
    CHECK(oc_image_folder_open(dir, &o, &f, &d) != 0 && strstr(d.msg, "nonexistent"), "missing folder: %s", d.msg);
}

/* Eval transform against torchvision on the same files. */
static void test_reference(const char *python, const char *script)
{
    char dir[2048], prefix[2048], out[2200], cmd[16384];
    path_of(dir, sizeof dir, "set");
    path_of(prefix, sizeof prefix, "ref");
    const char *names[] = {"d1.png", "d2.png", "d3.png", "c3.png", "c4.png", "c2.png", "c1.png"};
    enum { NN = sizeof names / sizeof names[0] };
    const int sizes[] = {32, 224, 20};
    oc_image_folder_opts o;
    oc_image_folder_opts_default(&o);
    oc_image_folder *f;
    oc_diag d;
    oc_diag_init(&d);
    if (oc_image_folder_open(dir, &o, &f, &d)) {
        CHECK(0, "open: %s", d.msg);
        return;
    }
    int n = snprintf(cmd, sizeof cmd, "%s %s 32,224,20 1,3 %s", python, script, prefix);
    for (int i = 0; i < NN; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s", oc_image_folder_path(f, find(f, names[i])));
    oc_image_folder_free(f);
    int rc = system(cmd);
    if (rc != 0) {
        printf("reference: torchvision not available (%s exit %d); solid-color checks stand in\n", python, rc);
        return;
    }
    for (int c = 1; c <= 3; c += 2)
        for (int si = 0; si < 3; si++) {
            int size = sizes[si];
            o.channels = c;
            o.height = o.width = size;
            oc_diag_init(&d);
            if (oc_image_folder_open(dir, &o, &f, &d)) {
                CHECK(0, "open: %s", d.msg);
                return;
            }
            snprintf(out, sizeof out, "%s_%d_%d.bin", prefix, c, size);
            int64_t ss = (int64_t)c * size * size;
            float *ref = malloc(sizeof(float) * (size_t)(ss * NN)), *x = malloc(sizeof(float) * (size_t)ss);
            FILE *rf = fopen(out, "rb");
            int got = rf && fread(ref, sizeof(float), (size_t)(ss * NN), rf) == (size_t)(ss * NN);
            if (rf)
                fclose(rf);
            CHECK(got, "%s: reference data missing", out);
            double worst_mean = 0, worst_max = 0;
            const char *worst = "";
            for (int i = 0; got && i < NN; i++) {
                one(f, find(f, names[i]), 0, 0, 0, x, &d);
                double sum = 0, mx = 0;
                for (int64_t k = 0; k < ss; k++) {
                    double e = fabs(x[k] - ref[i * ss + k]);
                    sum += e;
                    mx = fmax(mx, e);
                }
                double mean = sum / (double)ss;
                CHECK(mean < 0.02, "%s at %d, %d channels: mean abs diff %g", names[i], size, c, mean);
                if (mean > worst_mean) {
                    worst_mean = mean;
                    worst = names[i];
                }
                worst_max = fmax(worst_max, mx);
            }
            printf("vs torchvision Resize(%d)+CenterCrop(%d)+Normalize, %d channel%s, %d images (gray, RGBA, wide, "
                   "tall, noise): worst mean abs diff %.5f (%s), max %.4f (normalized units)\n",
                   (size * 256 + 112) / 224, size, c, c > 1 ? "s" : "", NN, worst_mean, worst, worst_max);
            free(ref);
            free(x);
            oc_image_folder_free(f);
        }
}

static void test_augment(void)
{
    char dir[2048];
    path_of(dir, sizeof dir, "set");
    oc_image_folder_opts o = plain_opts(3, 24);
    oc_image_folder *f;
    oc_diag d;
    oc_diag_init(&d);
    if (oc_image_folder_open(dir, &o, &f, &d)) {
        CHECK(0, "open: %s", d.msg);
        return;
    }
    int64_t n = oc_image_folder_count(f), ss = 3 * 24 * 24;
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n), y[11], y2[11];
    for (int64_t i = 0; i < n; i++)
        order[i] = n - 1 - i;
    float *a = malloc(sizeof(float) * (size_t)(n * ss)), *b = malloc(sizeof(float) * (size_t)(n * ss));
    oc_set_threads(2);
    int rc = oc_image_folder_gather(f, order, 0, n, 1, 42, 3, a, y, &d);
    rc |= oc_image_folder_gather(f, order, 0, n, 1, 42, 3, b, y2, &d);
    CHECK(rc == 0 && !memcmp(a, b, sizeof(float) * (size_t)(n * ss)) && !memcmp(y, y2, sizeof y),
          "same seed/epoch: identical batches (%s)", d.msg);
    /* one sample alone, one thread, equals its place in the batch */
    oc_set_threads(1);
    float *s = malloc(sizeof(float) * (size_t)ss);
    rc = one(f, 5, 1, 42, 3, s, &d);
    CHECK(rc == 0 && !memcmp(s, a + (n - 1 - 5) * ss, sizeof(float) * (size_t)ss),
          "sample 5 alone on 1 thread = its slot in the 2-thread batch");
    oc_set_threads(2);
    rc = oc_image_folder_gather(f, order, 0, n, 1, 42, 4, b, y2, &d);
    int differ = 0;
    for (int64_t i = 0; i < n; i++)
        differ += memcmp(a + i * ss, b + i * ss, sizeof(float) * (size_t)ss) != 0;
    CHECK(rc == 0 && differ >= n - 2, "epoch 4 differs from epoch 3 in %lld of %lld samples", (long long)differ,
          (long long)n);
    printf("augment: same (seed, epoch) identical; epoch+1 changes %lld/%lld samples\n", (long long)differ,
           (long long)n);

    /* crop boxes: inside the image, area and ratio in range, flips ~ 1/2 */
    int bad = 0, flips = 0, fallback = 0;
    for (int i = 0; i < 4000; i++) {
        int bx, by, bw, bh, fl, w = 40 + i % 300, h = 30 + (i * 7) % 200;
        oc_image_folder_aug_box(&o, 9, i / 100, i, w, h, &bx, &by, &bw, &bh, &fl);
        flips += fl;
        double area = (double)bw * bh / ((double)w * h), r = (double)bw / bh;
        bad += bx < 0 || by < 0 || bw < 1 || bh < 1 || bx + bw > w || by + bh > h;
        fallback += !(area > 0.07 && area < 1.01 && r > 0.74 && r < 1.35);
    }
    CHECK(bad == 0 && flips > 1850 && flips < 2150 && fallback < 40, "boxes: %d outside, %d flips of 4000, %d odd", bad,
          flips, fallback);
    printf("crop boxes: 4000 draws inside the image, %d flips, %d outside scale/ratio (fallbacks)\n", flips, fallback);

    /* flip: with the box forced to the whole image, flip mirrors exactly */
    oc_image_folder_free(f);
    o = plain_opts(3, 24);
    o.scale_min = o.scale_max = 1;
    o.ratio_min = o.ratio_max = 64.0 / 48.0;
    oc_diag_init(&d);
    if (oc_image_folder_open(dir, &o, &f, &d) == 0) {
        int64_t i = find(f, "d2.png");
        int64_t e0 = -1, e1 = -1;
        for (int64_t e = 0; e < 64 && (e0 < 0 || e1 < 0); e++) {
            int bx, by, bw, bh, fl;
            oc_image_folder_aug_box(&o, 5, e, i, 64, 48, &bx, &by, &bw, &bh, &fl);
            if (bx || by || bw != 64 || bh != 48)
                e = 64;
            else if (fl && e1 < 0)
                e1 = e;
            else if (!fl && e0 < 0)
                e0 = e;
        }
        CHECK(e0 >= 0 && e1 >= 0, "full-image boxes with and without flip found");
        if (e0 >= 0 && e1 >= 0) {
            one(f, i, 1, 5, e0, a, &d);
            one(f, i, 1, 5, e1, b, &d);
            int mirror = 1;
            for (int k = 0; k < 3; k++)
                for (int yy = 0; yy < 24; yy++)
                    for (int xx = 0; xx < 24; xx++)
                        mirror &= a[(k * 24 + yy) * 24 + xx] == b[(k * 24 + yy) * 24 + 23 - xx];
            CHECK(mirror && a[0] < 0.01f && a[23] > 0.99f && b[0] > 0.99f && b[23] < 0.01f,
                  "flip mirrors: unflipped left %g right %g, flipped left %g right %g", a[0], a[23], b[0], b[23]);
        }
        oc_image_folder_free(f);
    }
    free(order);
    free(a);
    free(b);
    free(s);
}

static void test_cache_and_failures(void)
{
    char dir[2048];
    path_of(dir, sizeof dir, "set");
    oc_image_folder_opts o = plain_opts(3, 20);
    oc_image_folder *f, *g;
    oc_diag d;
    oc_diag_init(&d);
    o.cache_bytes = 0;
    if (oc_image_folder_open(dir, &o, &f, &d))
        return;
    o.cache_bytes = 5 * 3 * 20 * 20 * sizeof(float); /* room for 5 of 11 */
    if (oc_image_folder_open(dir, &o, &g, &d)) {
        oc_image_folder_free(f);
        return;
    }
    int64_t n = 11, ss = 3 * 20 * 20, order[11], y[11];
    for (int64_t i = 0; i < n; i++)
        order[i] = (i * 4) % n;
    float *a = malloc(sizeof(float) * (size_t)(n * ss)), *b = malloc(sizeof(float) * (size_t)(n * ss)),
          *c = malloc(sizeof(float) * (size_t)(n * ss));
    int rc = oc_image_folder_gather(f, order, 0, n, 0, 0, 0, a, y, &d);
    rc |= oc_image_folder_gather(g, order, 0, n, 0, 0, 0, b, y, &d);
    rc |= oc_image_folder_gather(g, order, 3, n, 0, 0, 1, c, y, &d); /* rotated order, mostly from the cache */
    int same = rc == 0 && !memcmp(a, b, sizeof(float) * (size_t)(n * ss));
    for (int64_t k = 0; same && k < n; k++)
        same = !memcmp(c + k * ss, a + ((k + 3) % n) * ss, sizeof(float) * (size_t)ss);
    CHECK(same, "decode cache: identical batches with and without it (%s)", d.msg);
    printf("cache: batches with a 5-sample cache identical to uncached decoding\n");
    oc_image_folder_free(f);
    oc_image_folder_free(g);

    /* a file with a good header and bad data fails at gather time */
    path_of(dir, sizeof dir, "late");
    oc_diag_init(&d);
    rc = oc_image_folder_open(dir, &o, &f, &d);
    CHECK(rc == 0 && oc_image_folder_count(f) == 2, "truncated PNG passes the header check (%s)", d.msg);
    if (rc == 0) {
        int64_t ord[2] = {0, 1};
        for (int64_t k = 0; k < ss; k++)
            a[ss + k] = 7;
        rc = oc_image_folder_gather(f, ord, 0, 2, 0, 0, 0, a, y, &d);
        CHECK(rc == 0 && oc_image_folder_failed(f) == 1 && d.n_warn == 1 && strstr(d.warn[0], "trunc.png") &&
                  max_dev(a + ss, ss, 0) == 0,
              "non-strict: zeros and a warning (rc %d, %s)", rc, d.n_warn ? d.warn[0] : d.msg);
        printf("gather-time failure, non-strict: %s\n", d.n_warn ? d.warn[0] : "(no warning)");
        oc_image_folder_free(f);
        o.strict = 1;
        oc_diag_init(&d);
        if (oc_image_folder_open(dir, &o, &f, &d) == 0) {
            rc = oc_image_folder_gather(f, ord, 0, 2, 0, 0, 0, a, y, &d);
            CHECK(rc != 0 && strstr(d.msg, "trunc.png"), "strict gather error names the file: %s", d.msg);
            printf("gather-time failure, strict: %s\n", d.msg);
            oc_image_folder_free(f);
        }
    }
    free(a);
    free(b);
    free(c);
}

static void test_split(void)
{
    char dir[2048];
    path_of(dir, sizeof dir, "set");
    oc_image_folder_opts o = plain_opts(3, 16);
    oc_image_folder *f, *tr, *va, *tr2, *va2, *other;
    oc_diag d;
    oc_diag_init(&d);
    if (oc_image_folder_open(dir, &o, &f, &d))
        return;
    int rc = oc_image_folder_split(f, 0.25, 11, &tr, &va, &d);
    CHECK(rc == 0, "split: %s", d.msg);
    if (rc) {
        oc_image_folder_free(f);
        return;
    }
    int64_t per[3] = {0};
    int disjoint = 1;
    for (int64_t i = 0; i < oc_image_folder_count(va); i++) {
        per[oc_image_folder_label(va, i)]++;
        for (int64_t j = 0; j < oc_image_folder_count(tr); j++)
            disjoint &= strcmp(oc_image_folder_path(va, i), oc_image_folder_path(tr, j)) != 0;
    }
    CHECK(oc_image_folder_count(tr) == 8 && oc_image_folder_count(va) == 3 && per[0] == 1 && per[1] == 1 &&
              per[2] == 1 && disjoint,
          "stratified 0.25 split: train %lld val %lld (per class %lld %lld %lld)", (long long)oc_image_folder_count(tr),
          (long long)oc_image_folder_count(va), (long long)per[0], (long long)per[1], (long long)per[2]);
    rc = oc_image_folder_split(f, 0.25, 11, &tr2, &va2, &d);
    int same = rc == 0 && oc_image_folder_count(va2) == 3;
    for (int64_t i = 0; same && i < 3; i++)
        same = !strcmp(oc_image_folder_path(va, i), oc_image_folder_path(va2, i));
    CHECK(same, "same seed, same split");
    CHECK(oc_image_folder_check_classes(tr, va, &d) == 0, "split halves share classes: %s", d.msg);
    printf("split 0.25: train %lld, val %lld (%s, %s, %s)\n", (long long)oc_image_folder_count(tr),
           (long long)oc_image_folder_count(va), oc_image_folder_path(va, 0), oc_image_folder_path(va, 1),
           oc_image_folder_path(va, 2));
    oc_image_folder_free(tr2);
    oc_image_folder_free(va2);
    oc_diag_init(&d);
    CHECK(oc_image_folder_split(f, 1.5, 1, &tr2, &va2, &d) != 0 && !tr2 && !va2, "fraction 1.5 refused: %s", d.msg);
    path_of(dir, sizeof dir, "other");
    oc_diag_init(&d);
    if (oc_image_folder_open(dir, &o, &other, &d) == 0) {
        rc = oc_image_folder_check_classes(f, other, &d);
        CHECK(rc != 0 && strstr(d.msg, "'cat'") && strstr(d.msg, "'fish'"), "class difference named: %s", d.msg);
        printf("class check: %s\n", d.msg);
        oc_image_folder_free(other);
    }
    oc_image_folder_free(tr);
    oc_image_folder_free(va);
    oc_image_folder_free(f);
}

/* The in-memory adapter: 1-channel samples into a 3-channel model. */
static void test_dataset_source(const char *datasets)
{
    oc_dataset ds = {0};
    ds.n = 2;
    ds.rank = 3;
    ds.dims[0] = 1;
    ds.dims[1] = ds.dims[2] = 4;
    ds.sample_size = 16;
    ds.classes = 2;
    float xs[32];
    int64_t ys[2] = {1, 0};
    for (int i = 0; i < 32; i++)
        xs[i] = i < 16 ? 0.5f : 0.25f;
    ds.x = xs;
    ds.y = ys;
    snprintf(ds.name, sizeof ds.name, "synthetic");
    oc_data_source s;
    oc_diag d;
    oc_diag_init(&d);
    int rc = oc_data_source_dataset(&s, &ds, 3, 8, 8, &d);
    CHECK(rc == 0 && s.n == 2 && s.dims[0] == 3 && s.dims[1] == 8 && s.sample_size == 192, "adapter: %s", d.msg);
    if (rc == 0) {
        float x[2 * 192];
        int64_t order[2] = {1, 0}, y[2];
        rc = oc_data_source_gather(&s, order, 0, 2, 1, 0, 0, x, y, &d);
        CHECK(rc == 0 && y[0] == 0 && y[1] == 1 && max_dev(x, 192, 0.25f) < 1e-6 && max_dev(x + 192, 192, 0.5f) < 1e-6,
              "solid samples resized and replicated (%s)", d.msg);
        oc_data_source_close(&s);
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/mnist-t10k", datasets);
    oc_dataset m;
    oc_diag_init(&d);
    if (oc_dataset_open(path, "test", &m, &d) != 0) {
        printf("MNIST adapter: skipped (%s)\n", d.msg);
        return;
    }
    rc = oc_data_source_dataset(&s, &m, 3, 32, 32, &d);
    if (rc == 0) {
        enum { B = 64 };
        int64_t order[B], y[B];
        for (int i = 0; i < B; i++)
            order[i] = i * 37;
        float *x = malloc(sizeof(float) * B * 3 * 32 * 32);
        rc = oc_data_source_gather(&s, order, 0, B, 0, 0, 0, x, y, &d);
        int ok = rc == 0;
        double mn = 1, mx = 0, m_src = 0, m_dst = 0;
        for (int b = 0; ok && b < B; b++) {
            ok = y[b] == m.y[order[b]] &&
                 !memcmp(x + b * 3072, x + b * 3072 + 1024, 4096) && !memcmp(x + b * 3072, x + b * 3072 + 2048, 4096);
            for (int k = 0; k < 1024; k++) {
                mn = fmin(mn, x[b * 3072 + k]);
                mx = fmax(mx, x[b * 3072 + k]);
                m_dst += x[b * 3072 + k] / 1024;
            }
            for (int k = 0; k < 784; k++)
                m_src += m.x[order[b] * 784 + k] / 784;
        }
        CHECK(ok && mn >= -1e-6 && mx <= 1 + 1e-6 && fabs(m_src - m_dst) / B < 0.01,
              "MNIST 1x28x28 -> 3x32x32: equal planes, range %g..%g, mean %g vs %g", mn, mx, m_dst / B, m_src / B);
        printf("MNIST adapter: 3x32x32 batch of %d, planes equal, mean intensity %.4f (source %.4f)\n", B, m_dst / B,
               m_src / B);
        free(x);
        oc_data_source_close(&s);
    } else {
        CHECK(0, "MNIST adapter: %s", d.msg);
    }
    oc_dataset_free(&m);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_hymenoptera(const char *datasets)
{
    char tr[2048], va[2048];
    snprintf(tr, sizeof tr, "%s/hymenoptera_data/train", datasets);
    snprintf(va, sizeof va, "%s/hymenoptera_data/val", datasets);
    struct stat st;
    if (stat(tr, &st) != 0) {
        printf("hymenoptera_data: skipped (%s not found)\n", tr);
        return;
    }
    oc_image_folder_opts o;
    oc_image_folder_opts_default(&o);
    o.cache_bytes = 0;
    oc_image_folder *ft, *fv;
    oc_diag d;
    oc_diag_init(&d);
    if (oc_image_folder_open(tr, &o, &ft, &d)) {
        CHECK(0, "hymenoptera train: %s", d.msg);
        return;
    }
    if (oc_image_folder_open(va, &o, &fv, &d)) {
        CHECK(0, "hymenoptera val: %s", d.msg);
        oc_image_folder_free(ft);
        return;
    }
    int64_t cnt[2][2] = {{0}};
    for (int64_t i = 0; i < oc_image_folder_count(ft); i++)
        cnt[0][oc_image_folder_label(ft, i)]++;
    for (int64_t i = 0; i < oc_image_folder_count(fv); i++)
        cnt[1][oc_image_folder_label(fv, i)]++;
    CHECK(oc_image_folder_classes(ft) == 2 && !strcmp(oc_image_folder_class_name(ft, 0), "ants") &&
              !strcmp(oc_image_folder_class_name(ft, 1), "bees") && oc_image_folder_check_classes(ft, fv, &d) == 0,
          "hymenoptera classes: %s", d.msg);
    printf("hymenoptera_data: train %lld (ants %lld, bees %lld, skipped %lld), val %lld (ants %lld, bees %lld, "
           "skipped %lld)\n",
           (long long)oc_image_folder_count(ft), (long long)cnt[0][0], (long long)cnt[0][1],
           (long long)oc_image_folder_skipped(ft), (long long)oc_image_folder_count(fv), (long long)cnt[1][0],
           (long long)cnt[1][1], (long long)oc_image_folder_skipped(fv));
    for (int w = 0; w < d.n_warn; w++)
        printf("  warning: %s\n", d.warn[w]);

    /* speed: decode + preprocess the train set at 224, batches of 32 */
    int64_t n = oc_image_folder_count(ft), B = 32, ss = 3 * 224 * 224;
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n), *y = malloc(sizeof(int64_t) * (size_t)B);
    float *x = malloc(sizeof(float) * (size_t)(B * ss));
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    double rate[2][2] = {{0}};
    for (int aug = 0; aug < 2; aug++)
        for (int t = 1 + aug; t <= 2; t++) {
            oc_set_threads(t);
            double t0 = now();
            int rc = 0;
            for (int64_t s = 0; s < n && !rc; s += B)
                rc = oc_image_folder_gather(ft, order, s, s + B <= n ? B : n - s, aug, 1, 0, x, y, &d);
            rate[aug][t - 1] = (double)n / (now() - t0);
            CHECK(rc == 0, "hymenoptera gather: %s", d.msg);
        }
    printf("decode+preprocess hymenoptera train at 224: eval %.1f images/s (1 thread), %.1f (2 threads); "
           "augmented %.1f (2 threads)\n",
           rate[0][0], rate[0][1], rate[1][1]);
    /* with the cache, a second epoch does not decode (val folder) */
    oc_image_folder_free(ft);
    oc_image_folder_opts_default(&o);
    oc_set_threads(2);
    n = oc_image_folder_count(fv);
    if (oc_image_folder_open(va, &o, &ft, &d) == 0) {
        double t[2];
        for (int e = 0; e < 2; e++) {
            double t0 = now();
            for (int64_t s = 0; s < n; s += B)
                oc_image_folder_gather(ft, order, s, s + B <= n ? B : n - s, 0, 1, e, x, y, &d);
            t[e] = now() - t0;
        }
        printf("decode cache, val (%lld MB): epoch 1 %.2f s, epoch 2 %.3f s\n",
               (long long)(n * ss * 4 >> 20), t[0], t[1]);
        oc_image_folder_free(ft);
    }
    free(order);
    free(y);
    free(x);
    oc_image_folder_free(fv);
}

int main(int argc, char **argv)
{
    const char *datasets = argc > 1 ? argv[1] : "/work/shared/datasets";
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/onnxc_test_data_images_%d", base, (int)getpid());
    mkdir(tmp, 0755);
    make_folder();
    test_scan();
    if (argc > 3)
        test_reference(argv[2], argv[3]);
    else
        printf("reference: no python given; solid-color checks stand in\n");
    test_augment();
    test_cache_and_failures();
    test_split();
    test_dataset_source(datasets);
    test_hymenoptera(datasets);
    oc_threads_shutdown();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("could not remove %s\n", tmp);
    return check_finish("test_data_images");
}
