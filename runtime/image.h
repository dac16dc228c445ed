/* image.h: the image preprocessing shared by `onnxc run` (io.c,
 * oc_image_load) and the training data sources (data_images.c, and the
 * resizing adapter of data_source.c).
 *
 * The pipeline: decode (stb_image, header checked first: at most
 * OC_IMG_MAX_SIDE pixels per side) into 8-bit pixels with 1 or 3 channels
 * (alpha dropped; RGB to gray by ITU-R BT.601 luma when the model wants one
 * channel), then resample a box of the source to an output window with an
 * antialiased bilinear (triangle) filter, then normalize per channel.
 *
 * The resampler follows the documented behaviour of PIL's BILINEAR resize,
 * which torchvision's Resize uses on PIL images: output pixel i of a
 * length-n axis samples the source at (i + 0.5) * in/n - 0.5, and when
 * shrinking the triangle is widened by the scale factor so that every
 * source pixel contributes (area-like averaging, no aliasing). It works
 * one output row at a time (vertical taps into one row buffer, then
 * horizontal taps), so its scratch is bounded by the output size and the
 * largest allowed source width, whatever the image: callers allocate it
 * once per thread (oc_img_scratch_bytes). Nothing here allocates except
 * the decoder, and nothing touches global state, so any number of threads
 * may preprocess images at once. */
#ifndef ONNXC_IMAGE_H
#define ONNXC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define OC_IMG_MAX_SIDE 16384
#define OC_IMG_MAX_PIXELS ((int64_t)1 << 28)

/* Decoded 8-bit pixels, row-major, c interleaved channels (1 or 3). */
typedef struct oc_img8 {
    unsigned char *px; /* from stb_image; free with oc_img8_free */
    int w, h, c;
} oc_img8;

/* The pixel limit in force for a caller's max_pixels: 0 (or anything
 * above OC_IMG_MAX_PIXELS) means OC_IMG_MAX_PIXELS. A lower limit bounds
 * the memory and time one file can take (decoding allocates w * h *
 * channels bytes): a service taking images from users, or a fuzzer. */
int64_t oc_img_pixel_limit(int64_t max_pixels);

/* Reads only the header: size and channel count in the file. err gets a
 * message without the file name (the caller adds it). Fails on an image
 * above max_pixels pixels (oc_img_pixel_limit) or OC_IMG_MAX_SIDE a side. */
int oc_img_probe(const char *path, int64_t max_pixels, int *w, int *h, int *c, char *err, size_t errcap);

/* Decodes `path`; channels: 1 (gray, BT.601 luma from color) or 3 (gray
 * replicated later by the resampler's caller, so c may come back 1). The
 * header is checked against max_pixels as in oc_img_probe before any
 * pixel is decoded. */
int oc_img_decode(const char *path, int channels, int64_t max_pixels, oc_img8 *im, char *err, size_t errcap);
/* The same for an encoded image held in memory (the ImageDecoder op),
 * under the default pixel limit (OC_IMG_MAX_PIXELS). */
int oc_img_decode_mem(const unsigned char *buf, size_t len, int channels, oc_img8 *im, char *err, size_t errcap);
void oc_img8_free(oc_img8 *im);

/* RGB (interleaved) to gray in place: Y = 0.299 R + 0.587 G + 0.114 B,
 * rounded (ITU-R BT.601, the weights PIL's convert("L") uses). */
void oc_img_rgb_to_luma(unsigned char *px, int64_t pixels);

/* A source rectangle (integer pixels, inside the image) resized to a
 * virtual vw x vh image, of which the out_w x out_h window at (ox, oy) is
 * produced. Eval transform: box = whole image, (vw, vh) = the resized
 * size, (ox, oy) = the center-crop offset. Random resized crop: box = the
 * crop, (vw, vh) = (out_w, out_h), offset 0. */
typedef struct oc_img_view {
    int bx, by, bw, bh;
    int vw, vh, ox, oy, out_w, out_h;
    int flip; /* mirror the output horizontally */
} oc_img_view;

/* Eval geometry (torchvision Resize(s) + CenterCrop((out_h, out_w))):
 * resize so the short side is s = round(min(out_h, out_w) * 256 / 224)
 * (long side truncated as torchvision does), grown where needed so both
 * sides cover the crop (non-square outputs), then center crop with
 * offsets round-half-even((resized - out) / 2). crop = 0: a plain resize
 * of the whole image to out_w x out_h. */
void oc_img_view_eval(int w, int h, int out_h, int out_w, int crop, oc_img_view *v);

/* Scratch bytes oc_img_resample needs for outputs up to out_w x out_h and
 * any allowed source (at most OC_IMG_MAX_SIDE wide), c channels. */
size_t oc_img_scratch_bytes(int out_w, int out_h, int c);

/* Resamples the view of a c-channel source (src8 interleaved 8-bit, values
 * scaled by 1/255; or srcf planar float, c planes of sw x sh, used as is)
 * into c planes of out_h x out_w floats at dst. Exactly one of src8/srcf is
 * non-NULL. The view must lie inside the source (checked: -1 if not). */
int oc_img_resample(const unsigned char *src8, const float *srcf, int sw, int sh, int c, const oc_img_view *v,
                    float *dst, void *scratch, size_t scratch_bytes);

/* Planes of a resampled sample to the model's channels and normalization:
 * planes holds src_c (1 or 3) planes of hw floats; dst gets dst_c (1 or 3)
 * planes: gray replicated to 3, 3 to 1 by BT.601 luma; then (v - mean) /
 * std per output channel. planes and dst may be the same buffer when
 * dst_c >= src_c (the buffer must then hold dst_c planes). */
void oc_img_finish(const float *planes, int src_c, int64_t hw, int dst_c, const float *mean, const float *std,
                   float *dst);

#endif
