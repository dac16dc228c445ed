/* conv.c: see conv.h.
 *
 * Layout (row-major): X [N, C, in...], Y [N, M, out...]. A "col" matrix
 * has one row per (channel, kernel position kk) and one column per
 * position of the column grid; the image position it maps to is
 *   img = col_pos * s - pb + kk * dil      (per spatial dim)
 * For Conv the column grid is Y's spatial grid and the image is X
 * (im2col gathers, zero outside the image); for ConvTranspose the column
 * grid is X's grid and the image is Y (col2im scatter-adds, dropping
 * positions outside). Both run through col_pass, which walks the outer
 * dims with an odometer and the last dim as a strided run whose in-range
 * part is computed once. */
#include "conv.h"

#include "../threads.h"
#include "gemm.h"
#include "runs.h"
#include "sgemm.h"
#include "vmath.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int64_t prod(const int64_t *v, int n)
{
    int64_t r = 1;
    for (int i = 0; i < n; i++)
        r *= v[i];
    return r;
}

/* dst[i] = src[i * s] for i < n. Stride 2 (every downsampling conv,
 * ResNet's 7x7 stem) takes the even lanes of pairs of SSE vectors: about a
 * third of the scalar loop's time, and the gather is most of a stride-2
 * conv's non-GEMM work. */
static inline void copy_strided(float *restrict dst, const float *restrict src, int64_t n, int64_t s)
{
    int64_t i = 0;
    if (s == 1) {
        memcpy(dst, src, sizeof(float) * (size_t)n);
        return;
    }
#ifdef __SSE2__
    if (s == 2) /* the last vector pair would read one float past src[2 (n - 1)]: stop one short */
        for (; i + 5 <= n; i += 4) {
            __m128 a = _mm_loadu_ps(src + 2 * i), b = _mm_loadu_ps(src + 2 * i + 4);
            _mm_storeu_ps(dst + i, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
        }
#endif
    for (; i < n; i++)
        dst[i] = src[i * s];
}

/* Column positions [lo, hi) of a run whose image index c*s + base lies in
 * [0, ext), clamped to [0, n). */
static void run_range(int64_t base, int64_t s, int64_t ext, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t l = base >= 0 ? 0 : (-base + s - 1) / s;
    int64_t h = ext - base > 0 ? (ext - base + s - 1) / s : 0;
    *lo = l < n ? l : n;
    *hi = h < n ? h : n;
    if (*hi < *lo)
        *hi = *lo;
}

/* Moves data between image planes c0..c1 (extent img[]) and rows
 * (c - c0) * K + kk of the col matrix, restricted to the column-grid
 * positions whose outer index (all dims but the last) lies in [q0, q1):
 * col is [(c1 - c0) * K, (q1 - q0) * cgrid[last]] with row stride ldc
 * (0: rows packed, (q1 - q0) * cgrid[last]). to_img = 0 gathers (im2col,
 * zero fill), to_img = 1 accumulates col into the image (col2im). */
static void col_pass_rows(const oc_conv_params *p, int64_t c0, int64_t c1, const int64_t *cgrid, const int64_t *img,
                          float *image, float *col, int64_t ldc, int to_img, int64_t q0, int64_t q1)
{
    int nsp = p->nsp, last = nsp - 1;
    int64_t K = prod(p->k, nsp), Limg = prod(img, nsp);
    int64_t run = cgrid[last], Lcol = ldc > 0 ? ldc : (q1 - q0) * run;
    int64_t s = p->s[last], ext = img[last];
    for (int64_t c = c0; c < c1; c++) {
        float *plane = image + c * Limg;
        for (int64_t kk = 0; kk < K; kk++) {
            int64_t kpos[OC_CONV_MAX_SPATIAL], r = kk;
            for (int d = last; d >= 0; d--) {
                kpos[d] = r % p->k[d];
                r /= p->k[d];
            }
            float *row = col + ((c - c0) * K + kk) * Lcol;
            int64_t base = kpos[last] * p->dil[last] - p->pb[last], lo, hi;
            run_range(base, s, ext, run, &lo, &hi);
            int64_t pos[OC_CONV_MAX_SPATIAL] = {0};
            for (int64_t d = last - 1, r = q0; d >= 0; d--) {
                pos[d] = r % cgrid[d];
                r /= cgrid[d];
            }
            for (int64_t q = 0; q < q1 - q0; q++) {
                int64_t off = 0;
                int valid = 1;
                for (int d = 0; d < last; d++) {
                    int64_t ix = pos[d] * p->s[d] - p->pb[d] + kpos[d] * p->dil[d];
                    valid &= ix >= 0 && ix < img[d];
                    off = off * img[d] + ix;
                }
                off *= ext;
                float *cr = row + q * run;
                if (!to_img) {
                    if (!valid) {
                        memset(cr, 0, sizeof(float) * (size_t)run);
                    } else {
                        int64_t at = off + base; /* image index of column 0 (may be < 0) */
                        memset(cr, 0, sizeof(float) * (size_t)lo);
                        copy_strided(cr + lo, plane + at + lo * s, hi - lo, s);
                        memset(cr + hi, 0, sizeof(float) * (size_t)(run - hi));
                    }
                } else if (valid) {
                    int64_t at = off + base;
                    for (int64_t o = lo; o < hi; o++)
                        plane[at + o * s] += cr[o];
                }
                for (int d = last - 1; d >= 0; d--) {
                    if (++pos[d] < cgrid[d])
                        break;
                    pos[d] = 0;
                }
            }
        }
    }
}

/* col_pass over all channels, split over the step's threads by channel
 * (each channel owns its col rows and its image plane, so gather and
 * scatter-add are both race-free). */
typedef struct col_job {
    const oc_conv_params *p;
    const int64_t *cgrid, *img;
    float *image, *col;
    int to_img;
    int64_t rows_per_channel; /* K * prod(cgrid) */
} col_job;

static void col_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const col_job *j = ctx;
    (void)tid;
    int64_t run = j->cgrid[j->p->nsp - 1];
    col_pass_rows(j->p, b, e, j->cgrid, j->img, j->image, j->col + b * j->rows_per_channel, 0, j->to_img, 0,
                  run ? prod(j->cgrid, j->p->nsp) / run : 0);
}

static void col_pass_par(const oc_kargs *a, int64_t channels, const int64_t *cgrid, const int64_t *img, float *image,
                         float *col, int to_img)
{
    const oc_conv_params *p = a->p;
    col_job j = {p, cgrid, img, image, col, to_img, prod(p->k, p->nsp) * prod(cgrid, p->nsp)};
    oc_parallel_for(channels, 1, oc_threads_for_work(a->threads, (double)channels * j.rows_per_channel), col_task, &j);
}

size_t oc_conv_scratch(const oc_conv_params *p)
{
    if (p->pointwise)
        return 0;
    int64_t cg = p->cin / p->group;
    return sizeof(float) * (size_t)(cg * prod(p->k, p->nsp) * prod(p->out, p->nsp));
}

/* ConvTranspose on small images (a backward pass's data gradient in the
 * last stages: 7x7, 14x14) multiplies all images in one GEMM, N = batch x
 * Lin columns instead of Lin per call: per image, ResNet-18's 7x7 stage
 * ran at 18 GFLOP/s (Zen 3). The images are gathered into [Cg, batch Lin]
 * and col2im reads each image's columns of the product [Mg K, batch Lin]
 * where they are. Only while those two buffers stay within CT_BATCH_MAX
 * bytes. */
enum { CT_BATCH_LIN = 1024 };
#define CT_BATCH_MAX ((size_t)64 << 20)

static int ct_batched(const oc_conv_params *p, size_t *extra)
{
    int64_t cg = p->cin / p->group, mg = p->cout / p->group, Lin = prod(p->in, p->nsp);
    double bytes = 4.0 * (double)p->batch * (double)Lin * (double)(cg + mg * prod(p->k, p->nsp));
    *extra = (size_t)bytes;
    return p->batch > 1 && Lin < CT_BATCH_LIN && bytes <= (double)CT_BATCH_MAX;
}

size_t oc_conv_transpose_scratch(const oc_conv_params *p)
{
    int64_t mg = p->cout / p->group;
    size_t col = sizeof(float) * (size_t)(mg * prod(p->k, p->nsp) * prod(p->in, p->nsp)), extra;
    return ct_batched(p, &extra) ? extra : col; /* batched: the gathered X and the product, no per-image col */
}

/* Y rows [rows, L] := bias (or 0). */
static void fill_bias(float *y, int64_t rows, int64_t L, const float *bias)
{
    for (int64_t m = 0; m < rows; m++) {
        float v = bias ? bias[m] : 0.0f;
        for (int64_t i = 0; i < L; i++)
            y[m * L + i] = v;
    }
}

/* ---- Conv forward: im2col + GEMM, threaded ----
 * Per image n and group g:  Y_g [Mg, Lout] = W_g [Mg, Cg*K] . col [Cg*K, Lout],
 * then the epilogue (bias, residual, activation) on each finished block.
 * Work is split one of two ways, whichever gives every thread enough:
 *  - column blocks: tasks (n, g, block of output rows); each thread
 *    gathers its block's col [Cg*K, cols] into its own scratch (sized to
 *    stay in L2) and multiplies the whole W_g into it. Pointwise convs
 *    read X directly, no gather. Early layers (large Lout) go this way.
 *    With ONNXC_CONV_IMPLICIT and a packed W there is no col block: the
 *    SGEMM packs each B panel by calling conv_gather, which reads X (a
 *    whole image per task then, cut finer only for threads); 2-D convs
 *    first copy the task's rows of X into a padded, phase-split stage
 *    (conv_stage) and gather from that (stage_gather).
 *  - row blocks of W (late layers at batch 1, small Lout and big Mg):
 *    per (n, g) the threads gather col together into shared scratch, then
 *    each multiplies its rows of W_g. */
#define CONV_COL_BYTES (1024u * 1024u) /* largest col block of one thread (about L2); the SGEMM repacks it */
/* ONNXC_CONV_IMPLICIT (CMake option ONNXC_CONV_IMPLICIT_IM2COL, on by
 * default): column blocks with a packed W let the SGEMM gather its B
 * panels straight from X (oc_sgemm_packed_gather) instead of writing a
 * col block first; measured 2-11% faster per ResNet-18 layer, +4.2% on
 * the whole model at 1 thread. The explicit col path stays for unpacked
 * (trainable) W and the row-block mode, and is what -DONNXC_CONV_IMPLICIT_IM2COL=OFF builds. */
#ifndef ONNXC_CONV_IMPLICIT
#define ONNXC_CONV_IMPLICIT 0
#endif
#define CONV_MIN_COLS 96              /* narrower blocks waste the GEMM's register tile */

typedef struct conv_fwd {
    const oc_conv_params *p;
    const float *x, *w, *bias, *res;
    float *y, *col;
    const unsigned char *packed; /* W packed per group (plan-time prep), or NULL */
    size_t pack_stride;          /* bytes between groups' packs */
    size_t col_bytes;            /* per-thread col block; SGEMM scratch follows */
    int64_t mr;                  /* row granularity of the packed path */
    const oc_kargs *a;
    int64_t G, cg, mg, K, Lin, Lout, CK, run, outer, qchunk, nq;
    int64_t n, g; /* row-block mode: the current image and group */
    int implicit; /* column blocks gather B inside the SGEMM (implicit im2col), no col block */
    int staged;   /* implicit, from a per-task stage of X (conv_stage) */
    struct conv_stage *st;
} conv_fwd;

/* Implicit im2col: the SGEMM's B source for one column block of one
 * image and group. B[k, j] = col[k, col0 + j] of the image's col matrix
 * (k = channel * K + kernel position kk, column = output position); the
 * index math is col_pass_rows' (gather direction). The SGEMM asks for one
 * NR-wide panel of a K slice at a time, all panels of a slice in a row:
 * the per-row work (plane, kernel offsets, in-range part of the last
 * dim's run) is done once per slice into `rows`. */
enum { GATHER_ROW_CACHE = 512 }; /* >= every ISA's KC (sgemm.h: kc <= 512) */

typedef struct gather_row {
    const float *plane;
    int64_t base, lo, hi;                    /* last dim: image index of column x is x*s + base, in range [lo, hi) */
    int64_t koff[OC_CONV_MAX_SPATIAL];       /* outer dims: kpos[d] * dil[d] - pb[d] */
} gather_row;

typedef struct conv_gather_ctx {
    const conv_fwd *c;
    const float *xg; /* the group's first input plane */
    int64_t col0;    /* first output position of the block */
    int64_t k0, kc;  /* the slice whose rows are cached (kc 0: none) */
    gather_row rows[GATHER_ROW_CACHE];
} conv_gather_ctx;

static void gather_row_init(const conv_gather_ctx *gc, int64_t kr, gather_row *gr)
{
    const conv_fwd *c = gc->c;
    const oc_conv_params *p = c->p;
    int last = p->nsp - 1;
    int64_t r = kr % c->K;
    for (int d = last; d >= 0; d--) {
        int64_t kp = r % p->k[d];
        r /= p->k[d];
        gr->koff[d] = kp * p->dil[d] - p->pb[d];
    }
    gr->plane = gc->xg + kr / c->K * c->Lin;
    gr->base = gr->koff[last];
    run_range(gr->base, p->s[last], p->in[last], c->run, &gr->lo, &gr->hi);
}

static void conv_gather(void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst, int64_t ldd)
{
    conv_gather_ctx *gc = ctx;
    const conv_fwd *c = gc->c;
    const oc_conv_params *p = c->p;
    int last = p->nsp - 1, cached = kc <= GATHER_ROW_CACHE;
    int64_t run = c->run, s = p->s[last], ext = p->in[last];
    if (cached && (gc->k0 != k0 || gc->kc != kc)) {
        for (int64_t i = 0; i < kc; i++)
            gather_row_init(gc, k0 + i, &gc->rows[i]);
        gc->k0 = k0, gc->kc = kc;
    }
    /* the output rows (outer positions) the columns span: the first one's
     * position and column range; the others start at column 0 */
    int64_t q_start = (gc->col0 + n0) / run, o_start = (gc->col0 + n0) % run;
    int64_t pos0[OC_CONV_MAX_SPATIAL] = {0};
    for (int64_t d = last - 1, q = q_start; d >= 0; d--) {
        pos0[d] = q % p->out[d];
        q /= p->out[d];
    }
    for (int64_t i = 0; i < kc; i++, dst += ldd) {
        gather_row tmp;
        const gather_row *gr = cached ? &gc->rows[i] : &tmp;
        if (!cached)
            gather_row_init(gc, k0 + i, &tmp);
        int64_t pos[OC_CONV_MAX_SPATIAL];
        memcpy(pos, pos0, sizeof pos);
        for (int64_t j = 0, o = o_start; j < nc; o = 0) {
            int64_t seg = run - o < nc - j ? run - o : nc - j;
            int64_t off = 0;
            int valid = 1;
            for (int d = 0; d < last; d++) {
                int64_t ix = pos[d] * p->s[d] + gr->koff[d];
                valid &= ix >= 0 && ix < p->in[d];
                off = off * p->in[d] + ix;
            }
            float *dr = dst + j - o; /* dr[x]: output column x of this output row */
            int64_t a = gr->lo > o ? gr->lo : o, b = gr->hi < o + seg ? gr->hi : o + seg;
            if (!valid || a >= b)
                a = b = o + seg;
            for (int64_t x = o; x < a; x++)
                dr[x] = 0.0f;
            if (a < b) {
                const float *src = gr->plane + off * ext + gr->base; /* image element of column x: src[x * s] */
                copy_strided(dr + a, src + a * s, b - a, s);
            }
            for (int64_t x = b; x < o + seg; x++)
                dr[x] = 0.0f;
            j += seg;
            for (int d = last - 1; d >= 0; d--) {
                if (++pos[d] < p->out[d])
                    break;
                pos[d] = 0;
            }
        }
    }
}

/* Staged input (2-D convs on the implicit path). Gathering B straight
 * from X costs most where the kernel strides (ResNet's stem and
 * downsampling convs): strided reads, zero fill at the borders, and up to
 * Cg planes read a few rows at a time, too many streams for the hardware
 * prefetcher when X is not in cache (a 1x1 stride-2 conv after other
 * layers ran 2x slower than alone). So each task first copies the X rows
 * its output rows need into its scratch, once, plane after plane: padded
 * (zeros written once) and split into stride phases, so that a kernel tap
 * reads a unit-stride run:
 *   stage[c][slot(py, px)][yy][xx] = X[c][(q0 + yy) sh + py - pt][xx sw + px - pl]
 * (zero outside X) for the phases (py, px) = (ky dh mod sh, kx dw mod sw)
 * some tap uses. Tap (ky, kx) of output (oy, ox) is then
 *   stage[c][slot][oy - q0 + ky dh / sh][ox + kx dw / sw],
 * so one output row of one B row is a plain copy; with no horizontal
 * slack (Wq == OW, e.g. 1x1 stride 2) a whole panel row is one copy.
 * Tried and dropped (stop 29): a direct variant with no copy at all, the
 * SGEMM reading each tap's B in place from the stage (one product term
 * per tap, W packed tap by tap, the product over the stage's padded grid
 * and its extra columns dropped when copied into Y). One thread, against
 * this path, alternating: ResNet's 3x3 stride-2 convs on 56x56 and 28x28
 * inputs 0.98-1.05x, on 14x14 0.86x, 1x1 stride 2 1.01-1.02x, 3x3 stride 1
 * on 7x7 0.85x; the copy it saves (10-12% of a stride-2 conv's samples in
 * perf) came back as slower tiles reading B rows scattered over the
 * channels' planes instead of one packed panel. */
#define CONV_STAGE_MAX ((size_t)2 << 20) /* bytes of one task's stage (one image's); larger convs gather from X */
#define CONV_STAGE_SMAX 4                /* strides up to this stage (slot table) */

struct conv_stage {
    int64_t ay, ax;  /* rows and columns past the output's, (k - 1) dil / s */
    int64_t wq;      /* stage row length: OW + ax */
    int64_t nslot;   /* phases some tap uses */
    int slot[CONV_STAGE_SMAX][CONV_STAGE_SMAX]; /* phase (py, px) -> slot, -1 unused */
};
typedef struct conv_stage conv_stage;

/* 1 (and *st filled) when p stages; rows: output rows of the largest task. */
static int stage_plan(const oc_conv_params *p, int64_t rows, conv_stage *st)
{
    if (p->nsp != 2 || p->pointwise)
        return 0;
    for (int d = 0; d < 2; d++)
        if (p->s[d] < 1 || p->s[d] > CONV_STAGE_SMAX || p->dil[d] < 1 || p->pb[d] < 0)
            return 0;
    memset(st, 0, sizeof *st);
    for (int i = 0; i < CONV_STAGE_SMAX; i++)
        for (int j = 0; j < CONV_STAGE_SMAX; j++)
            st->slot[i][j] = -1;
    for (int64_t ky = 0; ky < p->k[0]; ky++)
        for (int64_t kx = 0; kx < p->k[1]; kx++) {
            int py = (int)(ky * p->dil[0] % p->s[0]), px = (int)(kx * p->dil[1] % p->s[1]);
            if (st->slot[py][px] < 0)
                st->slot[py][px] = (int)st->nslot++;
        }
    st->ay = (p->k[0] - 1) * p->dil[0] / p->s[0];
    st->ax = (p->k[1] - 1) * p->dil[1] / p->s[1];
    st->wq = p->out[1] + st->ax;
    double bytes = sizeof(float) * (double)(p->cin / p->group) * (double)st->nslot * (double)(rows + st->ay) *
                   (double)st->wq;
    return bytes <= (double)CONV_STAGE_MAX;
}

/* ONNXC_CONV_STAGE=0 reads X directly instead (measurements:
 * tools/bench/bench_kernels.c strided). Checked where a kernel runs, not in
 * stage_plan, so the scratch a plan reserves never depends on it. */
static int stage_enabled(void)
{
    const char *se = getenv("ONNXC_CONV_STAGE");
    return !(se && !strcmp(se, "0"));
}

static size_t stage_bytes(const conv_stage *st, const oc_conv_params *p, int64_t rows)
{
    size_t b = sizeof(float) * (size_t)(p->cin / p->group * st->nslot * (rows + st->ay) * st->wq);
    return (b + 63) & ~(size_t)63;
}

/* Channels [c0, c1) of the group at xg, output rows [q0, q1), into
 * their places in stage (laid out for all the group's channels). Cloned
 * per ISA (vmath.h): the AVX-512 clone takes a stride-2 row's even or odd
 * elements 16 at a time (the plain loop, vectorized with permutes), and
 * the borders are stores (oc_zero_run) instead of memset calls of 0-3
 * floats; the fill was 11% of ResNet-50's 3x3 stride-2 layer3.0.conv2 in
 * perf (one thread, Zen 5; memset calls included), 8% after. */
OC_VEC_CLONES static void stage_fill(const oc_conv_params *p, const conv_stage *st, const float *xg, int64_t c0,
                                     int64_t c1, int64_t q0, int64_t q1, float *stage)
{
    int64_t H = p->in[0], W = p->in[1], hq = q1 - q0 + st->ay, wq = st->wq, sh = p->s[0], sw = p->s[1];
    for (int64_t c = c0; c < c1; c++)
        for (int py = 0; py < sh; py++)
            for (int px = 0; px < sw; px++) {
                int sl = st->slot[py][px];
                if (sl < 0)
                    continue;
                float *dp = stage + (c * st->nslot + sl) * hq * wq;
                int64_t lo, hi, base = px - p->pb[1];
                run_range(base, sw, W, wq, &lo, &hi);
                for (int64_t yy = 0; yy < hq; yy++, dp += wq) {
                    int64_t r = (q0 + yy) * sh + py - p->pb[0];
                    if (r < 0 || r >= H || lo >= hi) {
                        memset(dp, 0, sizeof(float) * (size_t)wq);
                        continue;
                    }
                    oc_zero_run(dp, lo);
                    const float *src = xg + (c * H + r) * W + base;
                    if (sw == 2) {
                        float *restrict d = dp;
                        for (int64_t x = lo; x < hi; x++)
                            d[x] = src[2 * x];
                    } else
                        copy_strided(dp + lo, src + lo * sw, hi - lo, sw);
                    oc_zero_run(dp + hi, wq - hi);
                }
            }
}

typedef struct stage_ctx {
    const conv_fwd *c;
    const conv_stage *st;
    const float *stage;
    int64_t hq;     /* stage rows of this task */
    int64_t k0, kc; /* the slice whose row sources are cached (kc 0: none) */
    const float *rows[GATHER_ROW_CACHE];
} stage_ctx;

/* oc_sgemm_bsrc fill from a task's stage (columns relative to its first
 * output row). Cloned per ISA (vmath.h) for oc_copy_run's wider moves: the
 * gather was 14% of ResNet's 7x7 stem in perf (one thread, Zen 5). */
OC_VEC_CLONES static void stage_gather(void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst, int64_t ldd)
{
    stage_ctx *sc = ctx;
    const oc_conv_params *p = sc->c->p;
    const conv_stage *st = sc->st;
    int64_t ow = p->out[1], wq = st->wq, kw = p->k[1], K = sc->c->K;
    if (kc > GATHER_ROW_CACHE) { /* not asked by the SGEMM (kc <= 512): sub-slices, uncached */
        for (int64_t i = 0; i < kc; i += GATHER_ROW_CACHE)
            stage_gather(ctx, k0 + i, kc - i < GATHER_ROW_CACHE ? kc - i : GATHER_ROW_CACHE, n0, nc, dst + i * ldd, ldd);
        return;
    }
    if (sc->k0 != k0 || sc->kc != kc) {
        for (int64_t i = 0; i < kc; i++) {
            int64_t k = k0 + i, ch = k / K, r = k % K, ky = r / kw, kx = r % kw;
            int sl = st->slot[ky * p->dil[0] % p->s[0]][kx * p->dil[1] % p->s[1]];
            sc->rows[i] = sc->stage + ((ch * st->nslot + sl) * sc->hq + ky * p->dil[0] / p->s[0]) * wq +
                          kx * p->dil[1] / p->s[1];
        }
        sc->k0 = k0, sc->kc = kc;
    }
    for (int64_t j = 0, col = n0; j < nc;) {
        int64_t oy = col / ow, ox = col % ow, seg = wq == ow ? nc - j : ow - ox < nc - j ? ow - ox : nc - j;
        int64_t off = oy * wq + ox;
        for (int64_t i = 0; i < kc; i++)
            oc_copy_run(dst + i * ldd + j, sc->rows[i] + off, seg);
        j += seg;
        col += seg;
    }
}

/* Rows [m0, m1) of Y_g's block (cols columns at yb, row stride Lout) from
 * B [CK, cols] (row stride ldb; or gathered by src, packed W only), then
 * the epilogue on them, with onnxc's SGEMM: W_g packed at plan time when
 * it is a constant (a->prep), else packed per call. gs is this thread's
 * SGEMM scratch. */
static void conv_gemm_block(const conv_fwd *c, int64_t g, int64_t m0, int64_t m1, const float *B, int64_t ldb,
                            const oc_sgemm_bsrc *src, int64_t cols, float *yb, const float *rb, void *gs)
{
    const oc_conv_params *p = c->p;
    if (m1 <= m0 || cols <= 0)
        return;
    const float *shift = c->bias ? c->bias + g * c->mg : NULL;
    if (c->packed) {
        oc_sgemm_epi epi = {&p->ep, shift, rb, c->Lout};
        const void *wp = c->packed + g * c->pack_stride;
        if (src)
            oc_sgemm_packed_gather(c->mg, cols, c->CK, wp, m0, m1, src, 0.0f, yb, c->Lout, &epi, gs);
        else
            oc_sgemm_packed(c->mg, cols, c->CK, wp, m0, m1, B, ldb, 0, 0.0f, yb, c->Lout, &epi, gs);
    } else {
        oc_sgemm_epi epi = {&p->ep, shift ? shift + m0 : NULL, rb ? rb + m0 * c->Lout : NULL, c->Lout};
        oc_sgemm(0, 0, m1 - m0, cols, c->CK, 1.0f, c->w + (g * c->mg + m0) * c->CK, c->CK, B, ldb, 0.0f,
                 yb + m0 * c->Lout, c->Lout, &epi, gs);
    }
}

static void conv_cols_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const conv_fwd *c = ctx;
    unsigned char *ts = c->a->tscratch + (size_t)tid * c->a->tscratch_stride;
    float *col = (float *)ts;
    void *gs = ts + c->col_bytes;
    conv_gather_ctx gcs, *gc = &gcs;
    stage_ctx scs, *sc = &scs;
    for (int64_t t = b; t < e; t++) {
        /* outer positions in nq near-equal chunks, none over qchunk */
        int64_t n = t / (c->G * c->nq), g = t / c->nq % c->G, qi = t % c->nq;
        int64_t q0 = c->outer * qi / c->nq, q1 = c->outer * (qi + 1) / c->nq, cols = (q1 - q0) * c->run;
        int64_t yoff = (n * c->p->cout + g * c->mg) * c->Lout + q0 * c->run;
        const float *xg = c->x + (n * c->p->cin + g * c->cg) * c->Lin;
        const float *B = xg + q0 * c->run;
        int64_t ldb = c->Lin;
        oc_sgemm_bsrc src = {conv_gather, gc};
        gc->c = c, gc->xg = xg, gc->col0 = q0 * c->run, gc->k0 = 0, gc->kc = 0;
        if (c->staged) {
            stage_fill(c->p, c->st, xg, 0, c->cg, q0, q1, col);
            sc->c = c, sc->st = c->st, sc->stage = col, sc->hq = q1 - q0 + c->st->ay, sc->k0 = 0, sc->kc = 0;
            src = (oc_sgemm_bsrc){stage_gather, sc};
        }
        if (!c->p->pointwise && !c->implicit) {
            col_pass_rows(c->p, 0, c->cg, c->p->out, c->p->in, (float *)xg, col, 0, 0, q0, q1);
            B = col;
            ldb = cols;
        }
        conv_gemm_block(c, g, 0, c->mg, B, ldb, c->implicit ? &src : NULL, cols, c->y + yoff,
                        c->res ? c->res + yoff : NULL, gs);
    }
}

/* Channels [b, e) of one image's col (row-block mode), from the thread's
 * stage of those channels when the conv stages. */
static void conv_im2col_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const conv_fwd *c = ctx;
    const float *xg = c->x + (c->n * c->p->cin + c->g * c->cg) * c->Lin;
    if (c->staged) {
        float *stage = (float *)(c->a->tscratch + (size_t)tid * c->a->tscratch_stride);
        stage_fill(c->p, c->st, xg, b, e, 0, c->outer, stage);
        stage_ctx sc = {.c = c, .st = c->st, .stage = stage, .hq = c->outer + c->st->ay};
        for (int64_t k0 = b * c->K; k0 < e * c->K; k0 += GATHER_ROW_CACHE) {
            int64_t kc = e * c->K - k0 < GATHER_ROW_CACHE ? e * c->K - k0 : GATHER_ROW_CACHE;
            stage_gather(&sc, k0, kc, 0, c->Lout, c->col + k0 * c->Lout, c->Lout);
        }
        return;
    }
    col_pass_rows(c->p, b, e, c->p->out, c->p->in, (float *)xg, c->col + b * c->K * c->Lout, 0, 0, 0, c->outer);
}

/* Row blocks of W_g: items are MR-row panels, so packed calls start on a panel. */
static void conv_rows_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const conv_fwd *c = ctx;
    void *gs = c->a->tscratch + (size_t)tid * c->a->tscratch_stride + c->col_bytes;
    int64_t yoff = (c->n * c->p->cout + c->g * c->mg) * c->Lout;
    const float *B = c->p->pointwise ? c->x + (c->n * c->p->cin + c->g * c->cg) * c->Lin : c->col;
    int64_t m0 = b * c->mr, m1 = e * c->mr < c->mg ? e * c->mr : c->mg;
    conv_gemm_block(c, c->g, m0, m1, B, c->Lout, NULL, c->Lout, c->y + yoff, c->res ? c->res + yoff : NULL, gs);
}

/* Output rows (outer positions) per column block. */
static int64_t conv_qchunk(const oc_conv_params *p)
{
    int64_t run = p->out[p->nsp - 1], outer = run ? prod(p->out, p->nsp) / run : 0;
    int64_t ck = p->cin / p->group * prod(p->k, p->nsp);
    int64_t cols = ck > 0 ? (int64_t)(CONV_COL_BYTES / sizeof(float)) / ck : run * outer;
    if (cols < CONV_MIN_COLS)
        cols = CONV_MIN_COLS;
    int64_t q = run > 0 ? (cols + run - 1) / run : 1;
    return q < 1 ? 1 : q > outer ? (outer > 0 ? outer : 1) : q;
}

static size_t col_block_bytes(const oc_conv_params *p)
{
    if (p->pointwise)
        return 0;
    int64_t ck = p->cin / p->group * prod(p->k, p->nsp);
    size_t b = sizeof(float) * (size_t)(ck * conv_qchunk(p) * p->out[p->nsp - 1]);
    b = (b + 63) & ~(size_t)63;
    conv_stage st; /* or the stage of a whole image (implicit tasks start at one image) */
    int64_t outer = p->out[p->nsp - 1] ? prod(p->out, p->nsp) / p->out[p->nsp - 1] : 0;
    if (ONNXC_CONV_IMPLICIT && stage_plan(p, outer, &st) && stage_bytes(&st, p, outer) > b)
        b = stage_bytes(&st, p, outer);
    return b;
}

size_t oc_conv_thread_scratch(const oc_conv_params *p) { return col_block_bytes(p) + oc_sgemm_scratch_bytes(); }

/* Plan-time preparation: W_g [Mg, Cg*K] of every group packed for the SGEMM. */
static size_t pack_stride(const oc_conv_params *p)
{
    int64_t mg = p->cout / p->group, ck = p->cin / p->group * prod(p->k, p->nsp);
    return (oc_sgemm_pack_a_bytes(mg, ck) + 63) & ~(size_t)63;
}

size_t oc_conv_wpack_bytes(const oc_conv_params *p)
{
    if (!p->group || !p->cout || !p->cin)
        return 0;
    return pack_stride(p) * (size_t)p->group;
}

/* out_c8 (conv_forward_c8): W^T packed as the product's B, then W as it
 * is (for ISAs that pack differently: the per-block products). */
static size_t c8_bpack_bytes(const oc_conv_params *p)
{
    return (oc_sgemm_pack_b_bytes(p->cin, p->cout) + 63) & ~(size_t)63;
}

size_t oc_conv_prep_bytes(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    if (p->out_c8)
        return c8_bpack_bytes(p) + sizeof(float) * (size_t)(p->cin * p->cout);
    return oc_conv_wpack_bytes(p);
}

int oc_conv_prep(const oc_kargs *a, void *dst)
{
    const oc_conv_params *p = a->p;
    if (p->out_c8) {
        oc_sgemm_pack_b(p->cin, p->cout, a->in[1]->data, p->cin, 1, dst);
        memcpy((unsigned char *)dst + c8_bpack_bytes(p), a->in[1]->data, sizeof(float) * (size_t)(p->cin * p->cout));
        return 0;
    }
    int64_t mg = p->cout / p->group, ck = p->cin / p->group * prod(p->k, p->nsp);
    size_t stride = pack_stride(p);
    /* column blocks of a conv wider than 1x1 gather B (conv_cols_task) */
    int gathered = ONNXC_CONV_IMPLICIT && !p->pointwise;
    for (int64_t g = 0; g < p->group; g++) {
        const float *w = (const float *)a->in[1]->data + g * mg * ck;
        unsigned char *d = (unsigned char *)dst + g * stride;
        if (gathered)
            oc_sgemm_pack_a_gathered(mg, ck, w, ck, 0, d);
        else
            oc_sgemm_pack_a(mg, ck, w, ck, 0, d);
    }
    return 0;
}

/* out_c8 (conv.h): Y^T [positions, Cout] = X^T W^T per image, stored in
 * blocks of 8 channels, Y_b [positions][8] = the product's columns 8b..
 * 8b+7 at row stride 8. The AVX2 kernel stores whole 16-channel tiles
 * into two blocks (oc_sgemm_epi.cvs) against W^T packed at plan time
 * (oc_conv_prep: the pack, then W itself); other ISAs run one product per
 * block (N = 8, ldc = 8) from W. The bias is a per-column shift; X^T's
 * panels are packed from X's rows (6 positions of a channel are adjacent),
 * which for MobileNet's expansions is Cout/Cin times less than the output
 * the depthwise conv would otherwise transpose 8 channels at a time. */
typedef struct c8_job {
    const oc_kargs *a;
    oc_epilogue ep;
    int64_t HW, M, K;
    int whole; /* the AVX2 kernel stores all blocks in one product */
} c8_job;

static void c8_image(const c8_job *j, int64_t n, int threads, unsigned char *ts)
{
    const oc_kargs *a = j->a;
    int64_t HW = j->HW, M = j->M, K = j->K;
    const float *xn = (const float *)a->in[0]->data + n * K * HW;
    const float *w = a->prep ? (const float *)((const unsigned char *)a->prep + c8_bpack_bytes(a->p)) : a->in[1]->data;
    const float *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    float *yn = (float *)a->out[0]->data + n * M * HW;
    if (j->whole) {
        oc_sgemm_epi e = {&j->ep, bias, NULL, 0, 8 * HW};
        /* W^T packed at plan time; packed here when the ISA in force packs otherwise */
        if (oc_sgemm_threaded_bpacked(1, HW, M, K, 1.0f, xn, HW, a->prep, 0.0f, yn, 8, &e, threads, ts,
                                      a->tscratch_stride))
            oc_sgemm_threaded(1, 1, HW, M, K, 1.0f, xn, HW, w, K, 0.0f, yn, 8, &e, threads, ts, a->tscratch_stride);
        return;
    }
    for (int64_t b = 0; b < M / 8; b++) {
        oc_sgemm_epi e = {&j->ep, bias ? bias + 8 * b : NULL, NULL, 0, 0};
        oc_sgemm_threaded(1, 1, HW, 8, K, 1.0f, xn, HW, w + 8 * b * K, K, 0.0f, yn + 8 * b * HW, 8, &e, threads, ts,
                          a->tscratch_stride);
    }
}

/* Images [b, e) on one thread, with that thread's scratch slice (inline in
 * a sliced chain's worker: plan.c run_slices). */
static void c8_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const c8_job *j = ctx;
    for (int64_t n = b; n < e; n++)
        c8_image(j, n, 1, j->a->tscratch + (size_t)tid * j->a->tscratch_stride);
}

static int conv_forward_c8(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    c8_job j = {.a = a, .ep = p->ep, .HW = prod(p->in, p->nsp), .M = p->cout, .K = p->cin};
    int act = p->ep.act;
    if (!p->pointwise || p->group != 1 || j.M % 8 || p->ep.has_residual ||
        (act != OC_ACT_NONE && act != OC_ACT_RELU && act != OC_ACT_CLIP))
        return oc_fail(a->d, "Conv: channel-blocked output needs a 1x1 conv of one group, channels in 8s, no "
                             "residual, activation none/Relu/Clip");
    if (!a->tscratch || a->tscratch_stride < oc_sgemm_scratch_bytes())
        return oc_fail(a->d, "Conv: per-thread scratch missing or too small");
    j.ep.per_col = 1;
    j.whole = oc_sgemm_c8_store() && j.K <= oc_sgemm_kc();
    int threads = oc_threads_for_work(a->threads > 0 ? a->threads : 1, (double)p->batch * j.M * j.HW * j.K);
    if (threads > 1) /* each product split over the threads */
        for (int64_t n = 0; n < p->batch; n++)
            c8_image(&j, n, threads, a->tscratch);
    else
        oc_parallel_for(p->batch, 1, 1, c8_task, &j);
    return 0;
}

int oc_conv_forward(const oc_kargs *a)
{
    if (a->p && ((const oc_conv_params *)a->p)->out_c8)
        return conv_forward_c8(a);
    const oc_conv_params *p = a->p;
    conv_fwd c = {.p = p, .a = a, .x = a->in[0]->data, .w = a->in[1]->data, .y = a->out[0]->data, .col = a->scratch};
    c.bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    c.res = p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    c.G = p->group, c.cg = p->cin / c.G, c.mg = p->cout / c.G;
    c.K = prod(p->k, p->nsp), c.Lin = prod(p->in, p->nsp), c.Lout = prod(p->out, p->nsp), c.CK = c.cg * c.K;
    c.run = p->out[p->nsp - 1];
    c.outer = c.run ? c.Lout / c.run : 0;
    if (!c.Lout || !c.mg)
        return 0;
    c.packed = a->prep;
    c.pack_stride = pack_stride(p);
    if (!c.packed && p->wpack && a->scratch) {
        /* a trained W: packed once per run for all tasks (the plain SGEMM
         * would pack it again for every column block) */
        oc_conv_prep(a, a->scratch);
        c.packed = a->scratch;
        c.col = p->wpack == 1 ? (float *)((unsigned char *)a->scratch + oc_conv_wpack_bytes(p)) : NULL;
    }
    c.col_bytes = col_block_bytes(p);
    c.mr = c.packed ? oc_sgemm_packed_mr(c.packed) : 1;
    if (c.mr < 1)
        return oc_fail(a->d, "Conv: the prepared weights are not an SGEMM pack");
    c.implicit = ONNXC_CONV_IMPLICIT && c.packed && !p->pointwise;
    /* implicit blocks keep no col: a whole image per task (cut below for threads) */
    c.qchunk = c.implicit ? (c.outer > 0 ? c.outer : 1) : conv_qchunk(p);
    conv_stage st;
    c.staged = c.implicit && stage_plan(p, c.qchunk, &st) && stage_enabled();
    c.st = &st;
    c.nq = (c.outer + c.qchunk - 1) / c.qchunk;
    int threads = oc_threads_for_work(a->threads > 0 ? a->threads : 1, (double)p->batch * p->cout * c.Lout * c.CK);
    /* enough column blocks to keep every thread busy to the end (a few
     * per thread), when the image is wide enough to cut that finely */
    int64_t per = p->batch * c.G;
    if (threads > 1 && per * c.nq < 4 * threads && c.run > 0) {
        int64_t qmin = (CONV_MIN_COLS + c.run - 1) / c.run, nq = (4 * threads + per - 1) / per;
        int64_t nq_max = c.outer / qmin > 0 ? c.outer / qmin : 1;
        nq = nq < nq_max ? nq : nq_max;
        /* a task count the threads share equally where one fits: 7 tasks
         * on 2 threads ran 4 against 3 (ResNet-50's 28x28 stride-2 convs
         * at batch 1 scaled 1.6x on 2 threads, 1.84x as 6 tasks) */
        while (nq > c.nq && per * nq % threads)
            nq--;
        if (nq > c.nq) {
            c.nq = nq;
            c.qchunk = (c.outer + nq - 1) / nq;
        }
    }
    int64_t tasks = per * c.nq;
    /* row blocks need the whole col of one image in shared scratch */
    int rows_mode = threads > 1 && tasks < 2 * threads && (p->pointwise || c.col) && c.mg >= 32 * threads;
    if (!a->tscratch || a->tscratch_stride < c.col_bytes + oc_sgemm_scratch_bytes())
        return oc_fail(a->d, "Conv: per-thread scratch missing or too small");
    if (!rows_mode) {
        oc_parallel_for(tasks, 1, threads, conv_cols_task, &c);
        return 0;
    }
    /* panels of MR rows, at least 32 rows a part, but never so many that
     * fewer parts than threads come out: with MR = 6 (AVX2) a grain of 6
     * panels cut 64 rows (11 panels) into one part, and MobileNet-v2's
     * 1x1 384->64 convs ran on one thread (0.280 ms on 1 thread, 0.281 on
     * 2; AVX2 EPYC KVM guest) */
    int64_t panels = (c.mg + c.mr - 1) / c.mr, grain = (32 + c.mr - 1) / c.mr;
    if (grain > panels / threads)
        grain = panels / threads > 0 ? panels / threads : 1;
    for (c.n = 0; c.n < p->batch; c.n++)
        for (c.g = 0; c.g < c.G; c.g++) {
            if (!p->pointwise)
                oc_parallel_for(c.cg, 1, threads, conv_im2col_task, &c);
            oc_parallel_for(panels, grain, threads, conv_rows_task, &c);
        }
    return 0;
}

/* The fused activation / residual over all of Y [N*M, Lout] (bias is already in). */
static void conv_epilogue(const oc_conv_params *p, const oc_kargs *a, float *y)
{
    if (!oc_epilogue_active(&p->ep))
        return;
    int64_t L = prod(p->out, p->nsp);
    const float *res = p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    oc_epilogue_apply(&p->ep, y, L, p->batch * p->cout, L, 0, 0, NULL, res, L);
}

/* Direct loops over every output element, window and input channel. */
int oc_conv_ref(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    if (p->out_c8 || p->in_c8)
        return oc_fail(a->d, "Conv: the reference kernel takes no channel-blocked tensors");
    const float *x = a->in[0]->data, *w = a->in[1]->data;
    const float *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    float *y = a->out[0]->data;
    int nsp = p->nsp;
    int64_t cg = p->cin / p->group, mg = p->cout / p->group;
    int64_t K = prod(p->k, nsp), Lin = prod(p->in, nsp), Lout = prod(p->out, nsp);
    for (int64_t n = 0; n < p->batch; n++)
        for (int64_t m = 0; m < p->cout; m++) {
            int64_t g = m / mg;
            for (int64_t o = 0; o < Lout; o++) {
                int64_t opos[OC_CONV_MAX_SPATIAL], r = o;
                for (int d = nsp - 1; d >= 0; d--) {
                    opos[d] = r % p->out[d];
                    r /= p->out[d];
                }
                double acc = bias ? bias[m] : 0.0;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t kk = 0; kk < K; kk++) {
                        int64_t off = 0, rk = kk, stride = 1;
                        int valid = 1;
                        for (int d = nsp - 1; d >= 0; d--) {
                            int64_t kd = rk % p->k[d];
                            rk /= p->k[d];
                            int64_t ix = opos[d] * p->s[d] - p->pb[d] + kd * p->dil[d];
                            valid &= ix >= 0 && ix < p->in[d];
                            off += ix * stride;
                            stride *= p->in[d];
                        }
                        if (valid)
                            acc += (double)w[(m * cg + c) * K + kk] * x[(n * p->cin + g * cg + c) * Lin + off];
                    }
                y[(n * p->cout + m) * Lout + o] = (float)acc;
            }
        }
    conv_epilogue(p, a, y);
    return 0;
}

/* The batched ConvTranspose's two data steps, split over threads:
 * step 0 gathers input channels [b, e) of every image into xb; step 1
 * adds (image, output channel) pairs [b, e) of the product cb into Y
 * (col2im straight from cb's rows, N Lin apart). Each pair owns its
 * plane, and sums in the order one thread would. */
typedef struct ct_job {
    const oc_conv_params *p;
    const float *x;
    float *y, *xb, *cb;
    int64_t g, K, Lin, Lout, NL;
    int step;
} ct_job;

static void ct_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const ct_job *j = ctx;
    const oc_conv_params *p = j->p;
    int64_t cg = p->cin / p->group, mg = p->cout / p->group;
    (void)tid;
    for (int64_t i = b; i < e; i++) {
        if (j->step == 0) {
            for (int64_t n = 0; n < p->batch; n++)
                memcpy(j->xb + i * j->NL + n * j->Lin, j->x + (n * p->cin + j->g * cg + i) * j->Lin,
                       sizeof(float) * (size_t)j->Lin);
            continue;
        }
        int64_t n = i / mg, c = i % mg, run = p->in[p->nsp - 1];
        float *plane = j->y + (n * p->cout + j->g * mg) * j->Lout;
        col_pass_rows(p, c, c + 1, p->in, p->out, plane, j->cb + c * j->K * j->NL + n * j->Lin, j->NL, 1, 0,
                      run ? j->Lin / run : 0);
    }
}

/* Per image n and group g:  col [Mg*K, Lin] = W_g^T . X_g  with W_g [Cg, Mg*K],
 * then col2im adds col into Y_g (prefilled with the bias). */
int oc_conv_transpose_forward(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    const float *x = a->in[0]->data, *w = a->in[1]->data;
    const float *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    float *y = a->out[0]->data;
    int nsp = p->nsp;
    int64_t G = p->group, cg = p->cin / G, mg = p->cout / G;
    int64_t K = prod(p->k, nsp), Lin = prod(p->in, nsp), Lout = prod(p->out, nsp), MK = mg * K;
    float *col = a->scratch;
    size_t extra;
    if (ct_batched(p, &extra) && MK && Lin && cg && Lout) {
        int64_t N = p->batch, NL = N * Lin;
        float *xb = col, *cb = xb + cg * NL; /* [Cg, N Lin], then [Mg K, N Lin] */
        for (int64_t n = 0; n < N; n++)
            fill_bias(y + n * p->cout * Lout, p->cout, Lout, bias);
        ct_job j = {.p = p, .x = x, .y = y, .xb = xb, .cb = cb, .K = K, .Lin = Lin, .Lout = Lout, .NL = NL};
        for (int64_t g = 0; g < G; g++) {
            j.g = g;
            j.step = 0;
            oc_parallel_for(cg, 1, oc_threads_for_work(a->threads, (double)cg * (double)NL), ct_task, &j);
            oc_gemm_call(a, 1, 0, MK, NL, cg, 1.0f, w + g * cg * MK, MK, xb, NL, 0.0f, cb, NL, NULL, NULL);
            j.step = 1;
            oc_parallel_for(N * mg, 1, oc_threads_for_work(a->threads, (double)MK * (double)NL), ct_task, &j);
        }
        return 0;
    }
    for (int64_t n = 0; n < p->batch; n++) {
        fill_bias(y + n * p->cout * Lout, p->cout, Lout, bias);
        for (int64_t g = 0; g < G; g++) {
            if (!MK || !Lin || !cg || !Lout)
                continue;
            const float *xg = x + (n * p->cin + g * cg) * Lin;
            float *yg = y + (n * p->cout + g * mg) * Lout;
            oc_gemm_call(a, 1, 0, MK, Lin, cg, 1.0f, w + g * cg * MK, MK, xg, Lin, 0.0f, col, Lin, NULL, NULL);
            col_pass_par(a, mg, p->in, p->out, yg, col, 1);
        }
    }
    return 0;
}

/* Direct scatter: every input element times every weight of its group. */
int oc_conv_transpose_ref(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    const float *x = a->in[0]->data, *w = a->in[1]->data;
    const float *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    float *y = a->out[0]->data;
    int nsp = p->nsp;
    int64_t cg = p->cin / p->group, mg = p->cout / p->group;
    int64_t K = prod(p->k, nsp), Lin = prod(p->in, nsp), Lout = prod(p->out, nsp);
    for (int64_t n = 0; n < p->batch; n++)
        fill_bias(y + n * p->cout * Lout, p->cout, Lout, bias);
    for (int64_t n = 0; n < p->batch; n++)
        for (int64_t c = 0; c < p->cin; c++) {
            int64_t g = c / cg;
            for (int64_t i = 0; i < Lin; i++) {
                int64_t ipos[OC_CONV_MAX_SPATIAL], r = i;
                for (int d = nsp - 1; d >= 0; d--) {
                    ipos[d] = r % p->in[d];
                    r /= p->in[d];
                }
                float xv = x[(n * p->cin + c) * Lin + i];
                for (int64_t kk = 0; kk < K; kk++) {
                    int64_t off = 0, rk = kk, stride = 1;
                    int valid = 1;
                    for (int d = nsp - 1; d >= 0; d--) {
                        int64_t kd = rk % p->k[d];
                        rk /= p->k[d];
                        int64_t o = ipos[d] * p->s[d] - p->pb[d] + kd * p->dil[d];
                        valid &= o >= 0 && o < p->out[d];
                        off += o * stride;
                        stride *= p->out[d];
                    }
                    if (!valid)
                        continue;
                    for (int64_t mm = 0; mm < mg; mm++)
                        y[(n * p->cout + g * mg + mm) * Lout + off] += xv * w[(c * mg + mm) * K + kk];
                }
            }
        }
    return 0;
}

/* ---- backward ---- */

/* Per-thread slice of ConvGradWeight with images split over threads:
 * SGEMM scratch, then one image's im2col, then a partial dW. */
static size_t gw_align(size_t b) { return (b + 63) & ~(size_t)63; }

size_t oc_conv_grad_weight_tscratch(const oc_conv_params *p)
{
    int64_t CK = p->cin / p->group * prod(p->k, p->nsp);
    return gw_align(oc_sgemm_scratch_bytes()) + gw_align(oc_conv_scratch(p)) +
           gw_align(sizeof(float) * (size_t)(p->cout * CK));
}

typedef struct gw_job {
    const oc_kargs *a;
    float *dw;
    int parts;
} gw_job;

/* One image's col [CK, Lout] of a 2-D conv that stages, gathered from
 * the stage (in buf) straight into dst (row stride ldd): the batched
 * ConvGradWeight's columns, without the col and the copy. 0 when the
 * conv does not stage or buf is too small. */
static int gw_gather_staged(const oc_conv_params *p, const float *xg, float *buf, size_t buf_bytes, float *dst,
                            int64_t ldd)
{
    int64_t ow = p->out[1], outer = p->out[0], cg = p->cin / p->group, K = p->k[0] * p->k[1], CK = cg * K;
    conv_stage st;
    if (!ow || !outer || !stage_plan(p, outer, &st) || !stage_enabled() || stage_bytes(&st, p, outer) > buf_bytes)
        return 0;
    conv_fwd cf = {.p = p, .K = K};
    stage_ctx sc = {.c = &cf, .st = &st, .stage = buf, .hq = outer + st.ay};
    stage_fill(p, &st, xg, 0, cg, 0, outer, buf);
    for (int64_t k0 = 0; k0 < CK; k0 += GATHER_ROW_CACHE) {
        int64_t kc = CK - k0 < GATHER_ROW_CACHE ? CK - k0 : GATHER_ROW_CACHE;
        stage_gather(&sc, k0, kc, 0, outer * ow, dst + k0 * ldd, ldd);
    }
    return 1;
}

/* One image and group of ConvGradWeight on a 2-D conv that stages:
 * dW_g += dY_{n,g} . col^T with col gathered from the stage (conv_stage)
 * a few output rows at a time, so each piece of col (GW_CHUNK_BYTES) is
 * still in cache when the SGEMM reads it, instead of one whole image's
 * col (7.4 MB for ResNet's stem) written out and read back. buf: the
 * caller's col buffer (one image's col), here the stage then the piece.
 * Returns 0 when this conv does not stage or buf is too small (the
 * caller then gathers the whole image). */
#define GW_CHUNK_BYTES ((size_t)512 << 10)
#define GW_CHUNK_MIN_COLS 768 /* the SGEMM's K: shorter pieces reread and rewrite dW too often */

static int gw_image_staged(const oc_kargs *ga, const oc_conv_params *p, const float *xg, const float *dyg,
                           float *dwg, float *buf, size_t buf_bytes)
{
    int64_t ow = p->out[1], outer = p->out[0], Lout = outer * ow, cg = p->cin / p->group, mg = p->cout / p->group;
    int64_t K = p->k[0] * p->k[1], CK = cg * K;
    conv_stage st;
    if (!ow || !outer || !stage_plan(p, outer, &st) || !stage_enabled())
        return 0;
    int64_t cols = (int64_t)(GW_CHUNK_BYTES / sizeof(float)) / CK;
    cols = cols < GW_CHUNK_MIN_COLS ? GW_CHUNK_MIN_COLS : cols;
    int64_t qc = (cols + ow - 1) / ow;
    qc = qc > outer ? outer : qc;
    while (qc > 1 && stage_bytes(&st, p, qc) + sizeof(float) * (size_t)(CK * qc * ow) > buf_bytes)
        qc--; /* buf holds one image's col: fewer rows a piece than that */
    size_t sb = stage_bytes(&st, p, qc), cb = sizeof(float) * (size_t)(CK * qc * ow);
    if (sb + cb > buf_bytes)
        return 0;
    float *stage = buf, *colc = (float *)((unsigned char *)buf + sb);
    conv_fwd cf = {.p = p, .K = K};
    stage_ctx sc = {.c = &cf, .st = &st, .stage = stage};
    for (int64_t q0 = 0; q0 < outer; q0 += qc) {
        int64_t q1 = q0 + qc < outer ? q0 + qc : outer;
        cols = (q1 - q0) * ow;
        stage_fill(p, &st, xg, 0, cg, q0, q1, stage);
        sc.hq = q1 - q0 + st.ay;
        sc.k0 = sc.kc = 0;
        for (int64_t k0 = 0; k0 < CK; k0 += GATHER_ROW_CACHE) {
            int64_t kc = CK - k0 < GATHER_ROW_CACHE ? CK - k0 : GATHER_ROW_CACHE;
            stage_gather(&sc, k0, kc, 0, cols, colc + k0 * cols, cols);
        }
        oc_gemm_call(ga, 0, 1, mg, CK, cols, 1.0f, dyg + q0 * ow, Lout, colc, cols, 1.0f, dwg, CK, NULL, NULL);
    }
    return 1;
}

/* dW (thread 0) or the thread's partial dW, from images [n0, n1), one
 * thread each: im2col and SGEMM run serially inside. */
static void gw_images(const oc_kargs *a, int64_t n0, int64_t n1, float *col, float *dw, unsigned char *gs,
                      size_t gs_bytes)
{
    const oc_conv_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data;
    int nsp = p->nsp;
    int64_t G = p->group, cg = p->cin / G, mg = p->cout / G;
    int64_t K = prod(p->k, nsp), Lin = prod(p->in, nsp), Lout = prod(p->out, nsp), CK = cg * K;
    oc_kargs one = *a;
    one.threads = 1;
    one.tscratch = gs;
    one.tscratch_stride = gs_bytes;
    memset(dw, 0, sizeof(float) * (size_t)(p->cout * CK));
    for (int64_t n = n0; n < n1; n++) {
        for (int64_t g = 0; g < G; g++) {
            const float *xg = x + (n * p->cin + g * cg) * Lin;
            const float *dyg = dy + (n * p->cout + g * mg) * Lout;
            const float *src = xg;
            if (gw_image_staged(&one, p, xg, dyg, dw + g * mg * CK, col, gw_align(oc_conv_scratch(p))))
                continue;
            if (!p->pointwise) {
                col_pass_par(&one, cg, p->out, p->in, (float *)xg, col, 0);
                src = col;
            }
            oc_gemm_call(&one, 0, 1, mg, CK, Lout, 1.0f, dyg, Lout, src, Lout, 1.0f, dw + g * mg * CK, CK, NULL, NULL);
        }
    }
}

static void gw_task(void *ctx, int64_t n0, int64_t n1, int tid)
{
    const gw_job *j = ctx;
    const oc_kargs *a = j->a;
    size_t gs = gw_align(oc_sgemm_scratch_bytes()), cs = gw_align(oc_conv_scratch(a->p));
    unsigned char *ts = a->tscratch + (size_t)tid * a->tscratch_stride;
    float *col = (float *)(ts + gs), *part = (float *)(ts + gs + cs);
    gw_images(a, n0, n1, col, tid == 0 ? j->dw : part, ts, gs);
}

/* On small images (ResNet's 14x14 and 7x7 stages) one SGEMM per image
 * has K = Lout = 196 or 49: dW's whole [Mg, Cg K] block is read and
 * written per image for few multiply-adds. There all images go in one
 * SGEMM with K = batch x Lout: dY gathered into [Mg, batch Lout], the
 * images' columns into [Cg K, batch Lout] (after the one-image col).
 * That SGEMM is large enough to split over threads, so the images are not
 * split. Only while the two buffers stay within GW_BATCH_MAX bytes. */
enum { GW_BATCH_LOUT = 256 };
#define GW_BATCH_MAX ((size_t)64 << 20)

static int gw_batched(const oc_conv_params *p, size_t *extra)
{
    int64_t cg = p->cin / p->group, mg = p->cout / p->group, Lout = prod(p->out, p->nsp);
    double bytes = 4.0 * (double)p->batch * (double)Lout * (double)(mg + cg * prod(p->k, p->nsp));
    *extra = (size_t)bytes;
    return p->batch > 1 && !p->pointwise && Lout <= GW_BATCH_LOUT && bytes <= (double)GW_BATCH_MAX;
}

size_t oc_conv_grad_weight_scratch(const oc_conv_params *p)
{
    size_t extra, col = gw_align(oc_conv_scratch(p));
    return gw_batched(p, &extra) ? col + extra : col;
}

/* dW_g [Mg, Cg*K] += dY_{n,g} [Mg, Lout] . col^T, col = im2col(X_{n,g}) [Cg*K, Lout]
 * (X_{n,g} itself for pointwise convs), summed over the images n. With
 * several threads and images, the images are split over the threads, each
 * summing into its own dW (thread 0 into the output), then the partials
 * are added: one SGEMM per image is too small to split (K = Lout is 49 at
 * ResNet's last stage), so splitting it made the step slower. The sum
 * order then depends on the thread count, as every threaded reduction. */
int oc_conv_grad_weight(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data;
    float *dw = a->out[0]->data;
    int nsp = p->nsp;
    int64_t G = p->group, cg = p->cin / G, mg = p->cout / G;
    int64_t K = prod(p->k, nsp), Lin = prod(p->in, nsp), Lout = prod(p->out, nsp), CK = cg * K;
    float *col = a->scratch;
    if (!mg || !Lout || !CK) {
        memset(dw, 0, sizeof(float) * (size_t)(p->cout * CK));
        return 0;
    }
    size_t extra;
    if (gw_batched(p, &extra)) {
        int64_t N = p->batch, NL = N * Lout;
        float *dyb = (float *)((unsigned char *)col + gw_align(oc_conv_scratch(p))), *cb = dyb + mg * NL;
        for (int64_t g = 0; g < G; g++) {
            for (int64_t n = 0; n < N; n++) {
                const float *dyg = dy + (n * p->cout + g * mg) * Lout;
                for (int64_t m = 0; m < mg; m++)
                    memcpy(dyb + m * NL + n * Lout, dyg + m * Lout, sizeof(float) * (size_t)Lout);
                const float *xg = x + (n * p->cin + g * cg) * Lin;
                if (gw_gather_staged(p, xg, col, oc_conv_scratch(p), cb + n * Lout, NL))
                    continue;
                col_pass_par(a, cg, p->out, p->in, (float *)xg, col, 0);
                for (int64_t r = 0; r < CK; r++)
                    memcpy(cb + r * NL + n * Lout, col + r * Lout, sizeof(float) * (size_t)Lout);
            }
            oc_gemm_call(a, 0, 1, mg, CK, NL, 1.0f, dyb, NL, cb, NL, 0.0f, dw + g * mg * CK, CK, NULL, NULL);
        }
        return 0;
    }
    int parts = a->threads > 1 && a->tscratch && a->tscratch_stride >= oc_conv_grad_weight_tscratch(p)
                    ? oc_parallel_parts(p->batch, 1, a->threads)
                    : 1;
    if (parts > 1) {
        gw_job j = {a, dw, parts};
        size_t gs = gw_align(oc_sgemm_scratch_bytes()), cs = gw_align(oc_conv_scratch(p));
        int64_t n = p->cout * CK;
        /* partials start at zero here, so a part the pool ran on another
         * slice (or serially, when nested) still adds nothing stale */
        for (int t = 1; t < parts; t++)
            memset(a->tscratch + (size_t)t * a->tscratch_stride + gs + cs, 0, sizeof(float) * (size_t)n);
        oc_parallel_for(p->batch, 1, parts, gw_task, &j);
        for (int t = 1; t < parts; t++) {
            const float *part = (const float *)(a->tscratch + (size_t)t * a->tscratch_stride + gs + cs);
            for (int64_t i = 0; i < n; i++)
                dw[i] += part[i];
        }
        return 0;
    }
    memset(dw, 0, sizeof(float) * (size_t)(p->cout * CK));
    for (int64_t n = 0; n < p->batch; n++) {
        for (int64_t g = 0; g < G; g++) {
            const float *xg = x + (n * p->cin + g * cg) * Lin;
            const float *dyg = dy + (n * p->cout + g * mg) * Lout;
            const float *src = xg;
            if (col && gw_image_staged(a, p, xg, dyg, dw + g * mg * CK, col, oc_conv_scratch(p)))
                continue;
            if (!p->pointwise) {
                col_pass_par(a, cg, p->out, p->in, (float *)xg, col, 0);
                src = col;
            }
            oc_gemm_call(a, 0, 1, mg, CK, Lout, 1.0f, dyg, Lout, src, Lout, 1.0f, dw + g * mg * CK, CK, NULL, NULL);
        }
    }
    return 0;
}

/* Direct loops: every weight tap against every output position (double
 * accumulators), the reference the fast path is tested against. */
int oc_conv_grad_weight_ref(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    const float *dy = a->in[0]->data, *x = a->in[1]->data;
    float *dw = a->out[0]->data;
    int nsp = p->nsp;
    int64_t cg = p->cin / p->group, mg = p->cout / p->group;
    int64_t K = prod(p->k, nsp), Lin = prod(p->in, nsp), Lout = prod(p->out, nsp);
    for (int64_t m = 0; m < p->cout; m++) {
        int64_t g = m / mg;
        for (int64_t c = 0; c < cg; c++)
            for (int64_t kk = 0; kk < K; kk++) {
                int64_t kpos[OC_CONV_MAX_SPATIAL], r = kk;
                for (int d = nsp - 1; d >= 0; d--) {
                    kpos[d] = r % p->k[d];
                    r /= p->k[d];
                }
                double acc = 0;
                for (int64_t n = 0; n < p->batch; n++)
                    for (int64_t o = 0; o < Lout; o++) {
                        int64_t off = 0, ro = o, stride = 1;
                        int valid = 1;
                        for (int d = nsp - 1; d >= 0; d--) {
                            int64_t od = ro % p->out[d];
                            ro /= p->out[d];
                            int64_t ix = od * p->s[d] - p->pb[d] + kpos[d] * p->dil[d];
                            valid &= ix >= 0 && ix < p->in[d];
                            off += ix * stride;
                            stride *= p->in[d];
                        }
                        if (valid)
                            acc += (double)dy[(n * p->cout + m) * Lout + o] * x[(n * p->cin + g * cg + c) * Lin + off];
                    }
                dw[(m * cg + c) * K + kk] = (float)acc;
            }
    }
    return 0;
}

/* dB[m] = sum over images and output positions of dY[n, m, .] (double sums). */
int oc_conv_grad_bias(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    const float *dy = a->in[0]->data;
    float *db = a->out[0]->data;
    int64_t Lout = prod(p->out, p->nsp);
    for (int64_t m = 0; m < p->cout; m++) {
        double acc = 0;
        for (int64_t n = 0; n < p->batch; n++) {
            const float *row = dy + (n * p->cout + m) * Lout;
            for (int64_t o = 0; o < Lout; o++)
                acc += row[o];
        }
        db[m] = (float)acc;
    }
    return 0;
}
