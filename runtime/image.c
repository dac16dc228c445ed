/* image.c: see image.h. Decoding through stb_image (libstb), resampling
 * and normalization written here. */
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <stb/stb_image.h>

static void set_err(char *err, size_t cap, const char *msg, const char *why)
{
    if (err && cap)
        snprintf(err, cap, "%s%s%s%s", msg, why ? " (" : "", why ? why : "", why ? ")" : "");
}

int64_t oc_img_pixel_limit(int64_t max_pixels)
{
    return max_pixels > 0 && max_pixels < OC_IMG_MAX_PIXELS ? max_pixels : OC_IMG_MAX_PIXELS;
}

static int check_size(int w, int h, int64_t max_pixels, char *err, size_t cap)
{
    int64_t limit = oc_img_pixel_limit(max_pixels);
    if (w < 1 || h < 1 || w > OC_IMG_MAX_SIDE || h > OC_IMG_MAX_SIDE) {
        if (err && cap)
            snprintf(err, cap, "%dx%d pixels is outside the supported size (1 to %d per side, %lld pixels)", w, h,
                     OC_IMG_MAX_SIDE, (long long)limit);
        return -1;
    }
    if ((int64_t)w * h > limit) {
        if (err && cap)
            snprintf(err, cap, "%dx%d = %lld pixels is above the limit of %lld pixels", w, h, (long long)w * h,
                     (long long)limit);
        return -1;
    }
    return 0;
}

/* PNG: every chunk's declared length must fit in the file. stb_image
 * trusts IDAT lengths and grows its buffer to them before reading, so a
 * few bytes that claim a 900 MB chunk cost a 900 MB allocation (found by
 * fuzz_image). Other formats pass through. `get` reads n bytes at pos
 * (0 when they are not all there); size is the whole input's. */
typedef int (*byte_reader)(void *ctx, int64_t pos, unsigned char *dst, int n);

static int png_chunks_fit(byte_reader get, void *ctx, int64_t size, char *err, size_t cap)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char b[8];
    if (size < 8 || !get(ctx, 0, b, 8) || memcmp(b, sig, 8) != 0)
        return 0;
    for (int64_t pos = 8; pos + 8 <= size;) {
        if (!get(ctx, pos, b, 8))
            break;
        int64_t len = (int64_t)b[0] << 24 | (int64_t)b[1] << 16 | (int64_t)b[2] << 8 | b[3];
        if (len > size - pos - 12) {
            if (err && cap)
                snprintf(err, cap, "PNG chunk '%c%c%c%c' at byte %lld claims %lld bytes, past the end of the data (%lld bytes)",
                         b[4] >= 32 && b[4] < 127 ? b[4] : '?', b[5] >= 32 && b[5] < 127 ? b[5] : '?',
                         b[6] >= 32 && b[6] < 127 ? b[6] : '?', b[7] >= 32 && b[7] < 127 ? b[7] : '?', (long long)pos,
                         (long long)len, (long long)size);
            return -1;
        }
        if (!memcmp(b + 4, "IEND", 4))
            break;
        pos += 12 + len;
    }
    return 0;
}

static int file_get(void *ctx, int64_t pos, unsigned char *dst, int n)
{
    FILE *f = ctx;
    return fseeko(f, (off_t)pos, SEEK_SET) == 0 && fread(dst, 1, (size_t)n, f) == (size_t)n;
}

typedef struct mem_src {
    const unsigned char *p;
    int64_t n;
} mem_src;

static int mem_get(void *ctx, int64_t pos, unsigned char *dst, int n)
{
    const mem_src *m = ctx;
    if (pos < 0 || pos > m->n - n)
        return 0;
    memcpy(dst, m->p + pos, (size_t)n);
    return 1;
}

/* The PNG check on an open file, which is left at its start. */
static int file_png_check(FILE *f, char *err, size_t cap)
{
    int64_t size = fseeko(f, 0, SEEK_END) == 0 ? (int64_t)ftello(f) : -1;
    int rc = size >= 0 ? png_chunks_fit(file_get, f, size, err, cap) : 0;
    rewind(f);
    return rc;
}

int oc_img_probe(const char *path, int64_t max_pixels, int *w, int *h, int *c, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errcap, "cannot open", NULL);
        return -1;
    }
    if (file_png_check(f, err, errcap)) {
        fclose(f);
        return -1;
    }
    int ok = stbi_info_from_file(f, w, h, c);
    fclose(f);
    if (!ok) {
        set_err(err, errcap, "not a readable image", stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
        return -1;
    }
    return check_size(*w, *h, max_pixels, err, errcap);
}

void oc_img_rgb_to_luma(unsigned char *px, int64_t pixels)
{
    /* 0.299, 0.587, 0.114 in 16-bit fixed point (sum 65536), rounded */
    for (int64_t i = 0; i < pixels; i++) {
        uint32_t y = 19595u * px[3 * i] + 38470u * px[3 * i + 1] + 7471u * px[3 * i + 2] + 32768u;
        px[i] = (unsigned char)(y >> 16);
    }
}

/* The end of both decoders: stb's pixels px (want channels, w2 x h2, NULL
 * on failure) checked against the header's w x h, gray made from color
 * when channels == 1, and handed to im. */
static int finish_decode(unsigned char *px, int w, int h, int w2, int h2, int want, int channels, oc_img8 *im,
                         char *err, size_t errcap)
{
    if (!px) {
        set_err(err, errcap, "cannot decode image", stbi_failure_reason() ? stbi_failure_reason() : "unknown");
        return -1;
    }
    if (w2 != w || h2 != h) {
        stbi_image_free(px);
        set_err(err, errcap, "image size changed between header and data", NULL);
        return -1;
    }
    if (channels == 1 && want == 3) {
        oc_img_rgb_to_luma(px, (int64_t)w * h);
        want = 1;
    }
    im->px = px;
    im->w = w;
    im->h = h;
    im->c = want;
    return 0;
}

int oc_img_decode(const char *path, int channels, int64_t max_pixels, oc_img8 *im, char *err, size_t errcap)
{
    memset(im, 0, sizeof *im);
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errcap, "cannot open", NULL);
        return -1;
    }
    int w, h, c;
    if (file_png_check(f, err, errcap)) {
        fclose(f);
        return -1;
    }
    if (!stbi_info_from_file(f, &w, &h, &c)) {
        fclose(f);
        set_err(err, errcap, "not a readable image", stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
        return -1;
    }
    if (check_size(w, h, max_pixels, err, errcap)) {
        fclose(f);
        return -1;
    }
    /* alpha dropped by stb (4 -> 3, 2 -> 1); color kept for the luma below */
    int want = c >= 3 ? 3 : 1;
    int w2, h2, c2;
    unsigned char *px = stbi_load_from_file(f, &w2, &h2, &c2, want);
    fclose(f);
    return finish_decode(px, w, h, w2, h2, want, channels, im, err, errcap);
}

int oc_img_decode_mem(const unsigned char *buf, size_t len, int channels, oc_img8 *im, char *err, size_t errcap)
{
    memset(im, 0, sizeof *im);
    if (len > INT32_MAX) {
        set_err(err, errcap, "encoded image is larger than 2 GiB", NULL);
        return -1;
    }
    int w, h, c;
    mem_src ms = {buf, (int64_t)len};
    if (png_chunks_fit(mem_get, &ms, (int64_t)len, err, errcap))
        return -1;
    if (!stbi_info_from_memory(buf, (int)len, &w, &h, &c)) {
        set_err(err, errcap, "not a readable image", stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
        return -1;
    }
    if (check_size(w, h, 0, err, errcap))
        return -1;
    int want = c >= 3 ? 3 : 1, w2, h2, c2;
    unsigned char *px = stbi_load_from_memory(buf, (int)len, &w2, &h2, &c2, want);
    return finish_decode(px, w, h, w2, h2, want, channels, im, err, errcap);
}

void oc_img8_free(oc_img8 *im)
{
    if (im->px)
        stbi_image_free(im->px);
    im->px = NULL;
}

static int round_half_even(double x)
{
    double r = floor(x + 0.5);
    if (r - x == 0.5 && fmod(r, 2.0) != 0)
        r -= 1;
    return (int)r;
}

void oc_img_view_eval(int w, int h, int out_h, int out_w, int crop, oc_img_view *v)
{
    memset(v, 0, sizeof *v);
    v->bw = w;
    v->bh = h;
    v->out_w = out_w;
    v->out_h = out_h;
    if (!crop) {
        v->vw = out_w;
        v->vh = out_h;
        return;
    }
    int64_t s = ((int64_t)(out_h < out_w ? out_h : out_w) * 256 + 112) / 224;
    int64_t rw, rh;
    if (w <= h) {
        rw = s;
        rh = (int64_t)((double)s * h / w); /* torchvision: int(size * long / short) */
    } else {
        rh = s;
        rw = (int64_t)((double)s * w / h);
    }
    if (rw < out_w) {
        rh = (int64_t)ceil((double)rh * out_w / rw);
        rw = out_w;
    }
    if (rh < out_h) {
        rw = (int64_t)ceil((double)rw * out_h / rh);
        rh = out_h;
    }
    v->vw = (int)(rw > (int64_t)1 << 30 ? (int64_t)1 << 30 : rw);
    v->vh = (int)(rh > (int64_t)1 << 30 ? (int64_t)1 << 30 : rh);
    v->ox = round_half_even((v->vw - out_w) / 2.0);
    v->oy = round_half_even((v->vh - out_h) / 2.0);
}

/* ---- resampling ---- */

/* Taps of one output position along an axis: the box [0, bl) scaled to a
 * virtual length vl, position v. Triangle of radius max(scale, 1). Writes
 * the normalized weights, returns the count and the first source index. */
static int taps(int bl, int vl, int v, float *wt, int *first)
{
    double scale = (double)bl / vl, fs = scale > 1 ? scale : 1.0;
    double center = (v + 0.5) * scale;
    int lo = (int)(center - fs + 0.5), hi = (int)(center + fs + 0.5);
    if (center - fs + 0.5 < 0)
        lo = 0;
    if (hi > bl)
        hi = bl;
    double sum = 0;
    for (int j = lo; j < hi; j++) {
        double x = fabs((j - center + 0.5) / fs);
        double t = x < 1 ? 1 - x : 0;
        wt[j - lo] = (float)t;
        sum += t;
    }
    for (int j = lo; j < hi; j++)
        wt[j - lo] = (float)(wt[j - lo] / sum);
    *first = lo;
    return hi - lo;
}

/* Upper bound of the taps of one position: 2 * radius + 2. */
static int64_t max_taps(int64_t bl, int64_t vl)
{
    int64_t r = vl >= bl ? 1 : (bl + vl - 1) / vl;
    return 2 * r + 3;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t oc_img_scratch_bytes(int out_w, int out_h, int c)
{
    (void)out_h;
    size_t hw = (size_t)2 * OC_IMG_MAX_SIDE + 5 * (size_t)out_w + 8; /* horizontal weights, all columns */
    size_t vw = (size_t)max_taps(OC_IMG_MAX_SIDE, 1);                 /* vertical weights, one row */
    size_t row = (size_t)OC_IMG_MAX_SIDE * (size_t)c;                 /* one vertically filtered row */
    return align64(hw * sizeof(float)) + align64(vw * sizeof(float)) + align64(row * sizeof(float)) +
           2 * align64((size_t)out_w * sizeof(int)) + 64;
}

int oc_img_resample(const unsigned char *src8, const float *srcf, int sw, int sh, int c, const oc_img_view *v,
                    float *dst, void *scratch, size_t scratch_bytes)
{
    if (!src8 == !srcf || c < 1 || c > 4 || v->bx < 0 || v->by < 0 || v->bw < 1 || v->bh < 1 || v->bx + v->bw > sw ||
        v->by + v->bh > sh || sw > OC_IMG_MAX_SIDE || v->out_w < 1 || v->out_h < 1 || v->vw < 1 || v->vh < 1 ||
        v->ox < 0 || v->oy < 0 || v->ox + v->out_w > v->vw || v->oy + v->out_h > v->vh)
        return -1;
    int W = v->out_w, H = v->out_h;
    /* carve the scratch */
    unsigned char *s = (unsigned char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    size_t hwn = (size_t)2 * OC_IMG_MAX_SIDE + 5 * (size_t)W + 8, vwn = (size_t)max_taps(OC_IMG_MAX_SIDE, 1);
    float *hwt = (float *)s;
    s += align64(hwn * sizeof(float));
    float *vwt = (float *)s;
    s += align64(vwn * sizeof(float));
    float *row = (float *)s;
    s += align64((size_t)OC_IMG_MAX_SIDE * (size_t)c * sizeof(float));
    int *hfirst = (int *)s;
    s += align64((size_t)W * sizeof(int));
    int *hcount = (int *)s;
    s += align64((size_t)W * sizeof(int));
    if ((size_t)(s - (unsigned char *)scratch) > scratch_bytes)
        return -1;

    /* horizontal taps for every output column; cols [clo, chi) of the box are needed */
    size_t off = 0;
    int clo = v->bw, chi = 0;
    int64_t hmax = max_taps(v->bw, v->vw);
    for (int x = 0; x < W; x++) {
        if (off + (size_t)hmax > hwn)
            return -1;
        hcount[x] = taps(v->bw, v->vw, v->ox + x, hwt + off, &hfirst[x]);
        off += (size_t)hcount[x];
        if (hfirst[x] < clo)
            clo = hfirst[x];
        if (hfirst[x] + hcount[x] > chi)
            chi = hfirst[x] + hcount[x];
    }
    if ((size_t)max_taps(v->bh, v->vh) > vwn)
        return -1;
    size_t plane = (size_t)W * (size_t)H;
    for (int y = 0; y < H; y++) {
        int vfirst, vn = taps(v->bh, v->vh, v->oy + y, vwt, &vfirst);
        /* vertical: row[col * c + k] for box columns clo..chi-1 */
        int ncol = chi - clo;
        memset(row, 0, sizeof(float) * (size_t)ncol * (size_t)c);
        for (int t = 0; t < vn; t++) {
            int sy = v->by + vfirst + t;
            float wgt = vwt[t];
            if (src8) {
                const unsigned char *sp = src8 + ((size_t)sy * (size_t)sw + (size_t)(v->bx + clo)) * (size_t)c;
                for (int i = 0; i < ncol * c; i++)
                    row[i] += wgt * sp[i];
            } else {
                for (int k = 0; k < c; k++) {
                    const float *sp = srcf + (size_t)k * (size_t)sw * (size_t)sh + (size_t)sy * (size_t)sw +
                                      (size_t)(v->bx + clo);
                    for (int i = 0; i < ncol; i++)
                        row[i * c + k] += wgt * sp[i];
                }
            }
        }
        /* horizontal */
        float scale = src8 ? 1.0f / 255.0f : 1.0f;
        off = 0;
        for (int x = 0; x < W; x++) {
            const float *wt = hwt + off;
            const float *rp = row + (size_t)(hfirst[x] - clo) * (size_t)c;
            int xo = v->flip ? W - 1 - x : x;
            for (int k = 0; k < c; k++) {
                float acc = 0;
                for (int t = 0; t < hcount[x]; t++)
                    acc += wt[t] * rp[t * c + k];
                dst[(size_t)k * plane + (size_t)y * (size_t)W + (size_t)xo] = acc * scale;
            }
            off += (size_t)hcount[x];
        }
    }
    return 0;
}

void oc_img_finish(const float *planes, int src_c, int64_t hw, int dst_c, const float *mean, const float *std,
                   float *dst)
{
    if (src_c == 3 && dst_c == 1) {
        for (int64_t i = 0; i < hw; i++) {
            float y = 0.299f * planes[i] + 0.587f * planes[hw + i] + 0.114f * planes[2 * hw + i];
            dst[i] = (y - mean[0]) / std[0];
        }
        return;
    }
    /* from the last output plane down, so planes == dst works for 1 -> 3 */
    for (int k = dst_c - 1; k >= 0; k--) {
        const float *p = planes + (src_c == 1 ? 0 : (int64_t)k * hw);
        float m = mean[k], inv = 1.0f / std[k];
        float *o = dst + (int64_t)k * hw;
        for (int64_t i = 0; i < hw; i++)
            o[i] = (p[i] - m) * inv;
    }
}
