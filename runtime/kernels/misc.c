/* misc.c: NonMaxSuppression, CumProd, Det, ReverseSequence,
 * TensorScatter, Unique, TfIdfVectorizer and ImageDecoder; see misc.h.
 * Naive reference kernels. */
#include "misc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../image.h"
#include "shape_ops.h"

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++)
        p *= d[i];
    return p;
}

static double get(const oc_tensor *t, int64_t i) { return oc_elem_get_f64(t->dtype, t->data, i); }
static void set(oc_tensor *t, int64_t i, double v) { oc_elem_set_f64(t->dtype, t->data, i, v); }

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Stable merge sort of idx[0..n) by cmp(ctx, a, b) (< 0: a first), with
 * tmp[0..n) as buffer; plain C, as qsort has no context argument. */
typedef int (*cmp_fn)(const void *ctx, int64_t a, int64_t b);

static void merge_sort(int64_t *idx, int64_t *tmp, int64_t n, cmp_fn cmp, const void *ctx)
{
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(ctx, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, sizeof(int64_t) * (size_t)n);
    }
}

static int check_out(const oc_kargs *a, const oc_tensor *y, int rank, const int64_t *want, const char *what)
{
    if (y->rank == rank && memcmp(y->dims, want, sizeof(int64_t) * (size_t)rank) == 0)
        return 0;
    char g[160], w[160];
    return oc_fail(a->d, "the data gives %s %s; the plan has %s", what, oc_format_dims(w, sizeof w, want, rank),
                   oc_format_dims(g, sizeof g, y->dims, y->rank));
}

/* ---------------------------------------------------------------- NonMaxSuppression */

typedef struct nms_cand {
    float score;
    int64_t box;
} nms_cand;

size_t oc_nms_scratch(int64_t boxes) { return align64(sizeof(nms_cand) * (size_t)boxes) + sizeof(int64_t) * (size_t)boxes; }

/* Falling score, then rising box index. */
static int cmp_cand(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->box < b->box ? -1 : a->box > b->box;
}

/* IoU of boxes i and j above the threshold (single precision, as the
 * ONNX reference computes it on float32 boxes). */
static int suppresses(const float *b1, const float *b2, int center, float thr)
{
    float x1lo, x1hi, y1lo, y1hi, x2lo, x2hi, y2lo, y2hi;
    if (!center) {
        y1lo = fminf(b1[0], b1[2]), y1hi = fmaxf(b1[0], b1[2]), x1lo = fminf(b1[1], b1[3]), x1hi = fmaxf(b1[1], b1[3]);
        y2lo = fminf(b2[0], b2[2]), y2hi = fmaxf(b2[0], b2[2]), x2lo = fminf(b2[1], b2[3]), x2hi = fmaxf(b2[1], b2[3]);
    } else {
        x1lo = b1[0] - b1[2] / 2, x1hi = b1[0] + b1[2] / 2, y1lo = b1[1] - b1[3] / 2, y1hi = b1[1] + b1[3] / 2;
        x2lo = b2[0] - b2[2] / 2, x2hi = b2[0] + b2[2] / 2, y2lo = b2[1] - b2[3] / 2, y2hi = b2[1] + b2[3] / 2;
    }
    float ixlo = fmaxf(x1lo, x2lo), ixhi = fminf(x1hi, x2hi), iylo = fmaxf(y1lo, y2lo), iyhi = fminf(y1hi, y2hi);
    if (ixhi <= ixlo || iyhi <= iylo)
        return 0;
    float inter = (ixhi - ixlo) * (iyhi - iylo);
    float a1 = (x1hi - x1lo) * (y1hi - y1lo), a2 = (x2hi - x2lo) * (y2hi - y2lo), uni = a1 + a2 - inter;
    if (inter <= 0 || a1 <= 0 || a2 <= 0 || uni <= 0)
        return 0;
    return inter / uni > thr;
}

int oc_nms_forward(const oc_kargs *a)
{
    const oc_nms_params *p = a->p;
    const oc_tensor *bx = a->in[0], *sc = a->in[1];
    const oc_tensor *mt = a->n_in > 2 ? a->in[2] : NULL, *it = a->n_in > 3 ? a->in[3] : NULL;
    const oc_tensor *st = a->n_in > 4 ? a->in[4] : NULL;
    oc_tensor *y = a->out[0];
    if (bx->dtype != OC_FLOAT || sc->dtype != OC_FLOAT)
        return oc_fail(a->d, "boxes and scores must be float");
    int64_t B = bx->dims[0], N = bx->dims[1], C = sc->dims[1];
    if (N != p->boxes || sc->dims[0] != B || sc->dims[2] != N)
        return oc_fail(a->d, "boxes [B, N, 4] and scores [B, C, N] disagree");
    int64_t maxo = mt && mt->numel ? oc_index_get(mt, 0) : 0;
    float iou = it && it->numel ? (float)get(it, 0) : 0, sthr = st && st->numel ? (float)get(st, 0) : 0;
    int use_sthr = st && st->numel;
    if (maxo < 0)
        maxo = 0;
    nms_cand *cand = a->scratch;
    int64_t *sel = (int64_t *)((char *)a->scratch + align64(sizeof(nms_cand) * (size_t)N));
    const float *boxes = bx->data, *scores = sc->data;
    int64_t rows = y->rank == 2 && y->dims[1] == 3 ? y->dims[0] : -1, at = 0;
    int64_t *o = y->data;
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *s = scores + (b * C + c) * N, *bb = boxes + b * N * 4;
            int64_t nc = 0, ns = 0;
            for (int64_t i = 0; i < N; i++)
                if (!use_sthr || s[i] > sthr)
                    cand[nc++] = (nms_cand){s[i], i};
            qsort(cand, (size_t)nc, sizeof *cand, cmp_cand);
            for (int64_t i = 0; i < nc && ns < maxo; i++) {
                int keep = 1;
                for (int64_t j = 0; j < ns && keep; j++)
                    keep = !suppresses(bb + cand[i].box * 4, bb + sel[j] * 4, p->center_point_box, iou);
                if (!keep)
                    continue;
                sel[ns++] = cand[i].box;
                if (at < rows) {
                    o[at * 3] = b;
                    o[at * 3 + 1] = c;
                    o[at * 3 + 2] = cand[i].box;
                }
                at++;
            }
        }
    if (y->rank != 2 || y->dims[1] != 3 || at != rows)
        return oc_fail(a->d, "NonMaxSuppression selects %lld boxes; the plan has %lld", (long long)at, (long long)rows);
    return 0;
}

/* ---------------------------------------------------------------- CumProd */

int oc_cumprod_forward(const oc_kargs *a)
{
    const oc_cumprod_params *p = a->p;
    const oc_tensor *x = a->in[0], *at = a->in[1];
    oc_tensor *y = a->out[0];
    if (at->numel != 1 || (at->dtype != OC_INT32 && at->dtype != OC_INT64))
        return oc_fail(a->d, "axis must be one int32/int64 value");
    int64_t ax = oc_index_get(at, 0);
    int r = x->rank;
    if (ax < -r || ax >= (r ? r : 1))
        return oc_fail(a->d, "axis %lld is outside [-%d, %d)", (long long)ax, r, r);
    if (ax < 0)
        ax += r;
    int64_t outer = r ? prod(x->dims, 0, (int)ax) : 1, len = r ? x->dims[ax] : 1;
    int64_t inner = r ? prod(x->dims, (int)ax + 1, r) : 1;
    int is_int = x->dtype == OC_INT64 || x->dtype == OC_INT32 || x->dtype == OC_UINT64 || x->dtype == OC_UINT32;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double acc = 1;
            uint64_t iacc = 1; /* integers multiply modulo 2^64 (wrapping, as C would) */
            for (int64_t t = 0; t < len; t++) {
                int64_t pos = p->reverse ? len - 1 - t : t, e = (o * len + pos) * inner + i;
                if (is_int) {
                    uint64_t v = (uint64_t)(x->dtype == OC_UINT64 ? ((const uint64_t *)x->data)[e]
                                            : x->dtype == OC_UINT32 ? ((const uint32_t *)x->data)[e]
                                                                    : (uint64_t)oc_index_get(x, e));
                    if (!p->exclusive)
                        iacc *= v;
                    switch (x->dtype) {
                    case OC_INT64: ((int64_t *)y->data)[e] = (int64_t)iacc; break;
                    case OC_UINT64: ((uint64_t *)y->data)[e] = iacc; break;
                    case OC_INT32: ((int32_t *)y->data)[e] = (int32_t)(uint32_t)iacc; break;
                    default: ((uint32_t *)y->data)[e] = (uint32_t)iacc; break;
                    }
                    if (p->exclusive)
                        iacc *= v;
                } else {
                    double v = get(x, e);
                    if (!p->exclusive)
                        acc *= v;
                    set(y, e, acc);
                    if (p->exclusive)
                        acc *= v;
                }
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- Det */

size_t oc_det_scratch(int64_t m) { return sizeof(double) * (size_t)(m * m); }

int oc_det_forward(const oc_kargs *a)
{
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int64_t m = x->dims[x->rank - 1], count = y->numel;
    double *lu = a->scratch;
    for (int64_t b = 0; b < count; b++) {
        for (int64_t i = 0; i < m * m; i++)
            lu[i] = get(x, b * m * m + i);
        double det = 1;
        for (int64_t k = 0; k < m && det != 0; k++) {
            int64_t piv = k;
            for (int64_t i = k + 1; i < m; i++)
                if (fabs(lu[i * m + k]) > fabs(lu[piv * m + k]))
                    piv = i;
            if (lu[piv * m + k] == 0) {
                det = 0;
                break;
            }
            if (piv != k) {
                for (int64_t j = 0; j < m; j++) {
                    double t = lu[k * m + j];
                    lu[k * m + j] = lu[piv * m + j];
                    lu[piv * m + j] = t;
                }
                det = -det;
            }
            det *= lu[k * m + k];
            for (int64_t i = k + 1; i < m; i++) {
                double f = lu[i * m + k] / lu[k * m + k];
                for (int64_t j = k + 1; j < m; j++)
                    lu[i * m + j] -= f * lu[k * m + j];
            }
        }
        set(y, b, det);
    }
    return 0;
}

/* ---------------------------------------------------------------- ReverseSequence */

int oc_reverse_sequence_forward(const oc_kargs *a)
{
    const oc_reverse_seq_params *p = a->p;
    const oc_tensor *x = a->in[0], *sl = a->in[1];
    oc_tensor *y = a->out[0];
    int64_t T = x->dims[p->time_axis], Bn = x->dims[p->batch_axis], inner = prod(x->dims, 2, x->rank);
    size_t es = (size_t)p->es, row = (size_t)inner * es;
    if (sl->numel != Bn)
        return oc_fail(a->d, "sequence_lens has %lld entries for a batch of %lld", (long long)sl->numel, (long long)Bn);
    for (int64_t b = 0; b < Bn; b++) {
        int64_t len = oc_index_get(sl, b);
        if (len < 0 || len > T)
            return oc_fail(a->d, "sequence length %lld is outside [0, %lld]", (long long)len, (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t src = t < len ? len - 1 - t : t;
            int64_t yo = p->time_axis == 0 ? t * Bn + b : b * T + t, xo = p->time_axis == 0 ? src * Bn + b : b * T + src;
            memcpy((char *)y->data + (size_t)yo * row, (const char *)x->data + (size_t)xo * row, row);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- TensorScatter */

int oc_tensor_scatter_forward(const oc_kargs *a)
{
    const oc_tensor_scatter_params *p = a->p;
    const oc_tensor *past = a->in[0], *up = a->in[1], *wi = a->n_in > 2 ? a->in[2] : NULL;
    oc_tensor *y = a->out[0];
    int ax = p->axis, r = past->rank;
    size_t es = (size_t)p->es;
    if (y->data != past->data)
        memcpy(y->data, past->data, oc_tensor_nbytes(past));
    int64_t B = past->dims[0], outer = prod(past->dims, 1, ax), S = past->dims[ax], s = up->dims[ax];
    for (int i = 0; i < r; i++)
        if (up->rank != r || (i == ax ? up->dims[i] > S : up->dims[i] != past->dims[i]))
            return oc_fail(a->d, "update does not fit past_cache in dim %d", i);
    size_t row = (size_t)prod(past->dims, ax + 1, r) * es;
    if (wi && wi->numel && wi->numel != B)
        return oc_fail(a->d, "write_indices has %lld entries for a batch of %lld", (long long)wi->numel, (long long)B);
    for (int64_t b = 0; b < B; b++) {
        int64_t w0 = wi && wi->numel ? oc_index_get(wi, b) : 0;
        if (w0 < 0 || (!p->circular && w0 + s > S))
            return oc_fail(a->d, "write index %lld with %lld updates is outside the cache of %lld", (long long)w0,
                           (long long)s, (long long)S);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t t = 0; t < s; t++) {
                int64_t pos = (w0 + t) % S;
                memcpy((char *)y->data + (size_t)((b * outer + o) * S + pos) * row,
                       (const char *)up->data + (size_t)((b * outer + o) * s + t) * row, row);
            }
    }
    return 0;
}

/* ---------------------------------------------------------------- Unique */

size_t oc_unique_scratch(int64_t n) { return sizeof(int64_t) * (size_t)(5 * (n > 0 ? n : 1)); }

typedef struct unique_ctx {
    const oc_tensor *x;
    int64_t n, outer, inner;
    const int64_t *key; /* for sorting groups by first index */
} unique_ctx;

static int cmp_elem(const oc_tensor *x, int64_t i, int64_t j)
{
    if (x->dtype == OC_INT64) {
        int64_t a = ((const int64_t *)x->data)[i], b = ((const int64_t *)x->data)[j];
        return a < b ? -1 : a > b;
    }
    if (x->dtype == OC_UINT64) {
        uint64_t a = ((const uint64_t *)x->data)[i], b = ((const uint64_t *)x->data)[j];
        return a < b ? -1 : a > b;
    }
    double a = get(x, i), b = get(x, j);
    return a < b ? -1 : a > b;
}

/* Slices a and b compared lexicographically (element order of the slice). */
static int cmp_slices(const unique_ctx *u, int64_t a, int64_t b)
{
    for (int64_t o = 0; o < u->outer; o++)
        for (int64_t i = 0; i < u->inner; i++) {
            int c = cmp_elem(u->x, (o * u->n + a) * u->inner + i, (o * u->n + b) * u->inner + i);
            if (c)
                return c;
        }
    return 0;
}

static int cmp_slice_idx(const void *ctx, int64_t a, int64_t b)
{
    int c = cmp_slices(ctx, a, b);
    return c ? c : (a < b ? -1 : a > b);
}

static int cmp_key(const void *ctx, int64_t a, int64_t b)
{
    const int64_t *k = ((const unique_ctx *)ctx)->key;
    return k[a] < k[b] ? -1 : k[a] > k[b];
}

int oc_unique_forward(const oc_kargs *a)
{
    const oc_unique_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *yv = a->out[0], *yi = a->n_out > 1 ? a->out[1] : NULL;
    oc_tensor *yinv = a->n_out > 2 ? a->out[2] : NULL, *yc = a->n_out > 3 ? a->out[3] : NULL;
    unique_ctx u = {.x = x, .n = p->n, .outer = 1, .inner = 1};
    if (p->has_axis) {
        u.outer = prod(x->dims, 0, p->axis);
        u.inner = prod(x->dims, p->axis + 1, x->rank);
    }
    int64_t n = p->n, *order = a->scratch, *tmp = order + n, *first = tmp + n, *cnt = first + n, *grp = cnt + n;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    merge_sort(order, tmp, n, cmp_slice_idx, &u);
    /* groups in sorted order: first occurrence (smallest index) and count */
    int64_t g = -1;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || cmp_slices(&u, order[i - 1], order[i])) {
            g++;
            first[g] = order[i];
            cnt[g] = 0;
        }
        cnt[g]++;
        grp[order[i]] = g;
    }
    int64_t ng = g + 1;
    /* output position of each group: sorted, or by first occurrence */
    int64_t *pos = tmp; /* group at output position k */
    for (int64_t k = 0; k < ng; k++)
        pos[k] = k;
    if (!p->sorted) {
        int64_t *tmp2 = order; /* order is no longer needed */
        u.key = first;
        merge_sort(pos, tmp2, ng, cmp_key, &u);
    }
    int64_t planned = p->has_axis ? (yv->rank == x->rank ? yv->dims[p->axis] : -1) : (yv->rank == 1 ? yv->dims[0] : -1);
    if (planned != ng || (yi && yi->numel != ng) || (yc && yc->numel != ng) || (yinv && yinv->numel != n))
        return oc_fail(a->d, "Unique finds %lld distinct values; the plan has %lld", (long long)ng, (long long)planned);
    size_t es = (size_t)p->es, row = (size_t)u.inner * es;
    for (int64_t k = 0; k < ng; k++) {
        int64_t s = first[pos[k]];
        for (int64_t o = 0; o < u.outer; o++)
            memcpy((char *)yv->data + (size_t)(o * ng + k) * row, (const char *)x->data + (size_t)(o * n + s) * row, row);
        if (yi)
            ((int64_t *)yi->data)[k] = s;
        if (yc)
            ((int64_t *)yc->data)[k] = cnt[pos[k]];
        cnt[pos[k]] = -1 - k; /* now: group -> output position, encoded */
    }
    if (yinv)
        for (int64_t i = 0; i < n; i++)
            ((int64_t *)yinv->data)[i] = -1 - cnt[grp[i]];
    return 0;
}

/* ---------------------------------------------------------------- TfIdfVectorizer */

int oc_tfidf_forward(const oc_kargs *a)
{
    const oc_tfidf_params *p = a->p;
    const oc_tfidf_gram *grams = (const oc_tfidf_gram *)((const char *)p + p->grams_off);
    const int64_t *pool = (const int64_t *)((const char *)p + p->pool_off);
    const double *wts = (const double *)((const char *)p + p->weights_off);
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    int64_t rows = x->rank == 2 ? x->dims[0] : 1, C = x->rank == 0 ? 1 : x->dims[x->rank - 1];
    float *out = y->data;
    memset(out, 0, oc_tensor_nbytes(y));
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * p->out_size;
        int64_t start_size = p->min_gram;
        for (int64_t skip = 1; skip <= p->max_skip + 1; skip++) {
            for (int64_t s = 0; s < C; s++) {
                if (s + skip * (start_size - 1) >= C)
                    break;
                for (int64_t n = start_size; n <= p->max_gram && s + (n - 1) * skip < C; n++) {
                    /* the last pool n-gram equal to this one, if any */
                    int64_t hit = -1;
                    for (int64_t gi = 0; gi < p->n_grams; gi++) {
                        if (grams[gi].size != n)
                            continue;
                        int64_t j = 0;
                        while (j < n && oc_index_get(x, r * C + s + j * skip) == pool[grams[gi].start + j])
                            j++;
                        if (j == n)
                            hit = gi;
                    }
                    if (hit >= 0)
                        o[grams[hit].column] += 1;
                }
            }
            if (start_size == 1) { /* unigrams are counted once, not per skip */
                start_size = 2;
                if (start_size > p->max_gram)
                    break;
            }
        }
        for (int64_t i = 0; i < p->out_size; i++) {
            if (p->mode == OC_TFIDF_IDF)
                o[i] = o[i] > 0 ? (p->n_weights ? (float)wts[i] : 1.0f) : 0.0f;
            else if (p->mode == OC_TFIDF_TFIDF && p->n_weights)
                o[i] = (float)wts[i] * o[i];
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- ImageDecoder */

int oc_image_decoder_forward(const oc_kargs *a)
{
    const oc_image_decoder_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    oc_img8 im;
    char err[256];
    int ch = p->pixel_format == OC_PIXEL_GRAY ? 1 : 3;
    if (oc_img_decode_mem(x->data, (size_t)x->numel, ch, &im, err, sizeof err))
        return oc_fail(a->d, "%s; onnxc decodes JPEG, PNG, BMP, GIF, TGA, PSD, HDR, PIC and PNM (stb_image)", err);
    int64_t want[3] = {im.h, im.w, ch};
    if (check_out(a, y, 3, want, "an image of")) {
        oc_img8_free(&im);
        return -1;
    }
    unsigned char *o = y->data;
    int64_t npx = (int64_t)im.w * im.h;
    for (int64_t i = 0; i < npx; i++) {
        if (ch == 1) {
            o[i] = im.px[i]; /* decoded as (or converted to) one channel */
            continue;
        }
        for (int c = 0; c < 3; c++) {
            int src = im.c == 1 ? 0 : p->pixel_format == OC_PIXEL_BGR ? 2 - c : c;
            o[i * 3 + c] = im.px[i * im.c + src];
        }
    }
    oc_img8_free(&im);
    return 0;
}
