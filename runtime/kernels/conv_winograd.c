/* conv_winograd.c: see conv_winograd.h.
 *
 * Transform matrices of F(2x2, 3x3):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * Tile (ty, tx) of an image covers output rows 2ty..2ty+1 and columns
 * 2tx..2tx+1 and reads input rows 2ty - pt .. 2ty - pt + 3 (zero outside
 * the image), likewise for columns. */
#include "conv_winograd.h"

#include <string.h>

#include "../threads.h"
#include "epilogue.h"
#include "sgemm.h"

#define TILE_BLOCK_BYTES ((size_t)2 << 20) /* V and M of one block, about L2 */

typedef struct wino_geom {
    int64_t C, M, H, W, OH, OW, pt, pl, th, tw, tiles; /* tiles per image = th * tw */
    int64_t tb;                                        /* tiles per block */
} wino_geom;

static void geometry(const oc_conv_params *p, wino_geom *g)
{
    g->C = p->cin;
    g->M = p->cout;
    g->H = p->in[0];
    g->W = p->in[1];
    g->OH = p->out[0];
    g->OW = p->out[1];
    g->pt = p->pb[0];
    g->pl = p->pb[1];
    g->th = (g->OH + 1) / 2;
    g->tw = (g->OW + 1) / 2;
    g->tiles = g->th * g->tw;
    int64_t per_tile = 16 * (g->C + g->M) * (int64_t)sizeof(float);
    int64_t tb = per_tile > 0 ? (int64_t)TILE_BLOCK_BYTES / per_tile : 16;
    tb = tb / 16 * 16;
    g->tb = tb < 16 ? 16 : tb > 512 ? 512 : tb; /* input_transform's tables hold 512 */
}

int oc_conv_winograd_applicable(const oc_conv_params *p)
{
    return p->nsp == 2 && p->group == 1 && p->k[0] == 3 && p->k[1] == 3 && p->s[0] == 1 && p->s[1] == 1 &&
           p->dil[0] == 1 && p->dil[1] == 1 && p->cin > 0 && p->cout > 0 && p->out[0] > 0 && p->out[1] > 0;
}

static size_t block_bytes(const wino_geom *g) { return sizeof(float) * (size_t)(16 * (g->C + g->M) * g->tb); }

size_t oc_conv_winograd_tscratch(const oc_conv_params *p)
{
    wino_geom g;
    geometry(p, &g);
    return ((block_bytes(&g) + 63) & ~(size_t)63) + oc_sgemm_scratch_bytes();
}

static size_t pack_stride(const wino_geom *g) { return (oc_sgemm_pack_a_bytes(g->M, g->C) + 63) & ~(size_t)63; }

size_t oc_conv_winograd_prep_bytes(const oc_kargs *a)
{
    wino_geom g;
    geometry(a->p, &g);
    /* the packs, then room for one unpacked U_xi while packing */
    return 16 * pack_stride(&g) + sizeof(float) * (size_t)(g.M * g.C);
}

/* U_xi [M, C] = (G g G^T)[xi] for every filter; packed one xi at a time
 * through the tail of dst. */
int oc_conv_winograd_prep(const oc_kargs *a, void *dst)
{
    wino_geom g;
    geometry(a->p, &g);
    const float *w = a->in[1]->data;
    size_t stride = pack_stride(&g);
    float *u = (float *)((unsigned char *)dst + 16 * stride);
    for (int xi = 0; xi < 16; xi++) {
        int r = xi / 4, c = xi % 4;
        for (int64_t m = 0; m < g.M; m++)
            for (int64_t ch = 0; ch < g.C; ch++) {
                const float *f = w + (m * g.C + ch) * 9;
                float t[4][3]; /* G g: 4 x 3 */
                for (int j = 0; j < 3; j++) {
                    float f0 = f[j], f1 = f[3 + j], f2 = f[6 + j];
                    t[0][j] = f0;
                    t[1][j] = 0.5f * (f0 + f1 + f2);
                    t[2][j] = 0.5f * (f0 - f1 + f2);
                    t[3][j] = f2;
                }
                const float *q = t[r]; /* (G g) G^T, column c */
                float v = c == 0 ? q[0] : c == 1 ? 0.5f * (q[0] + q[1] + q[2]) : c == 2 ? 0.5f * (q[0] - q[1] + q[2]) : q[2];
                u[m * g.C + ch] = v;
            }
        oc_sgemm_pack_a(g.M, g.C, u, g.C, 0, (unsigned char *)dst + (size_t)xi * stride);
    }
    return 0;
}

typedef struct wino_job {
    const oc_kargs *a;
    const oc_conv_params *p;
    wino_geom g;
    const float *x, *bias;
    float *y;
    const unsigned char *packs;
    size_t stride, vm_bytes;
    int64_t total; /* tiles of all images */
} wino_job;

/* V [16][C][tb] for tiles t0 .. t0 + nt of the whole batch. Channels
 * outer, tiles inner: each of the 16 rows V[xi][c][.] is written
 * contiguously, and neighbouring tiles reuse the same input rows. */
static void input_transform(const wino_job *j, int64_t t0, int64_t nt, float *V)
{
    const wino_geom *g = &j->g;
    int64_t tb = g->tb, xs = g->C * tb; /* stride between positions xi */
    int64_t img[512], y0s[512], x0s[512];
    unsigned char inside[512];
    for (int64_t i = 0; i < nt; i++) {
        int64_t t = t0 + i, r = t % g->tiles;
        img[i] = t / g->tiles;
        y0s[i] = 2 * (r / g->tw) - g->pt;
        x0s[i] = 2 * (r % g->tw) - g->pl;
        inside[i] = y0s[i] >= 0 && x0s[i] >= 0 && y0s[i] + 4 <= g->H && x0s[i] + 4 <= g->W;
    }
    for (int64_t c = 0; c < g->C; c++) {
        float *o = V + c * tb;
        for (int64_t i = 0; i < nt; i++) {
            const float *plane = j->x + (img[i] * g->C + c) * g->H * g->W;
            int64_t y0 = y0s[i], x0 = x0s[i];
            float d[4][4];
            if (inside[i]) {
                const float *src = plane + y0 * g->W + x0;
                for (int u = 0; u < 4; u++)
                    for (int v = 0; v < 4; v++)
                        d[u][v] = src[u * g->W + v];
            } else {
                for (int u = 0; u < 4; u++)
                    for (int v = 0; v < 4; v++) {
                        int64_t yy = y0 + u, xx = x0 + v;
                        d[u][v] = yy >= 0 && yy < g->H && xx >= 0 && xx < g->W ? plane[yy * g->W + xx] : 0.0f;
                    }
            }
            float s0[4], s1[4], s2[4], s3[4]; /* B^T d */
            for (int v = 0; v < 4; v++) {
                s0[v] = d[0][v] - d[2][v];
                s1[v] = d[1][v] + d[2][v];
                s2[v] = d[2][v] - d[1][v];
                s3[v] = d[1][v] - d[3][v];
            }
            const float *sr[4] = {s0, s1, s2, s3};
            for (int u = 0; u < 4; u++) { /* (B^T d) B */
                const float *q = sr[u];
                o[(4 * u + 0) * xs + i] = q[0] - q[2];
                o[(4 * u + 1) * xs + i] = q[1] + q[2];
                o[(4 * u + 2) * xs + i] = q[2] - q[1];
                o[(4 * u + 3) * xs + i] = q[1] - q[3];
            }
        }
    }
}

/* Y tiles from Mx [16][M][tb] (+ bias). */
static void output_transform(const wino_job *j, int64_t t0, int64_t nt, const float *Mx)
{
    const wino_geom *g = &j->g;
    int64_t tb = g->tb, xs = g->M * tb;
    for (int64_t m = 0; m < g->M; m++) {
        float b = j->bias ? j->bias[m] : 0.0f;
        for (int64_t i = 0; i < nt; i++) {
            int64_t t = t0 + i, n = t / g->tiles, r = t % g->tiles, ty = r / g->tw, tx = r % g->tw;
            const float *q = Mx + m * tb + i;
            float s[2][4]; /* A^T m */
            for (int v = 0; v < 4; v++) {
                float m0 = q[(0 + v) * xs], m1 = q[(4 + v) * xs], m2 = q[(8 + v) * xs], m3 = q[(12 + v) * xs];
                s[0][v] = m0 + m1 + m2;
                s[1][v] = m1 - m2 - m3;
            }
            float *yp = j->y + (n * g->M + m) * g->OH * g->OW;
            int64_t oy = 2 * ty, ox = 2 * tx;
            for (int u = 0; u < 2; u++) {
                if (oy + u >= g->OH)
                    break;
                float v0 = s[u][0] + s[u][1] + s[u][2] + b, v1 = s[u][1] - s[u][2] - s[u][3] + b;
                yp[(oy + u) * g->OW + ox] = v0;
                if (ox + 1 < g->OW)
                    yp[(oy + u) * g->OW + ox + 1] = v1;
            }
        }
    }
}

static void block_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const wino_job *j = ctx;
    const wino_geom *g = &j->g;
    unsigned char *ts = j->a->tscratch + (size_t)tid * j->a->tscratch_stride;
    float *V = (float *)ts, *Mx = V + 16 * g->C * g->tb;
    void *gs = ts + j->vm_bytes;
    for (int64_t blk = b; blk < e; blk++) {
        int64_t t0 = blk * g->tb, nt = j->total - t0 < g->tb ? j->total - t0 : g->tb;
        input_transform(j, t0, nt, V);
        for (int xi = 0; xi < 16; xi++)
            oc_sgemm_packed(g->M, nt, g->C, j->packs + (size_t)xi * j->stride, 0, g->M, V + xi * g->C * g->tb, g->tb, 0,
                            0.0f, Mx + xi * g->M * g->tb, g->tb, NULL, gs);
        output_transform(j, t0, nt, Mx);
    }
}

typedef struct epi_job {
    const oc_conv_params *p;
    float *y;
    const float *res;
    int64_t L;
} epi_job;

static void epi_task(void *ctx, int64_t b, int64_t e, int tid)
{
    const epi_job *j = ctx;
    (void)tid;
    oc_epilogue_apply(&j->p->ep, j->y + b * j->L, j->L, e - b, j->L, b, 0, NULL, j->res ? j->res + b * j->L : NULL,
                      j->L);
}

int oc_conv_winograd_forward(const oc_kargs *a)
{
    const oc_conv_params *p = a->p;
    wino_job j = {.a = a, .p = p, .x = a->in[0]->data, .y = a->out[0]->data, .packs = a->prep};
    geometry(p, &j.g);
    j.bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    j.stride = pack_stride(&j.g);
    j.vm_bytes = (block_bytes(&j.g) + 63) & ~(size_t)63;
    j.total = p->batch * j.g.tiles;
    if (!j.packs || oc_sgemm_packed_mr(j.packs) < 1)
        return oc_fail(a->d, "Conv (Winograd): the transformed weights were not prepared");
    if (!a->tscratch || a->tscratch_stride < j.vm_bytes + oc_sgemm_scratch_bytes())
        return oc_fail(a->d, "Conv (Winograd): per-thread scratch missing or too small");
    int threads = a->threads > 0 ? a->threads : 1;
    /* blocks smaller than the scratch allows when that keeps every thread busy */
    if (threads > 1 && (j.total + j.g.tb - 1) / j.g.tb < 2 * threads) {
        int64_t tb = (j.total + 2 * threads - 1) / (2 * threads);
        tb = (tb + 15) / 16 * 16;
        if (tb < j.g.tb)
            j.g.tb = tb < 16 ? 16 : tb;
    }
    oc_parallel_for((j.total + j.g.tb - 1) / j.g.tb, 1, threads, block_task, &j);
    if (oc_epilogue_active(&p->ep)) {
        epi_job e = {p, j.y, p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL,
                     j.g.OH * j.g.OW};
        oc_parallel_for(p->batch * p->cout, 16, threads, epi_task, &e);
    }
    return 0;
}
