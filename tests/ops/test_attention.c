/* test_attention.c: the Attention kernel on onnxc's SGEMM against its
 * plain-loop reference on odd shapes (head sizes 1, 7 and 33, single-query
 * decode, GQA and MQA, 3-D and 4-D layouts, a past cache with and without
 * present outputs, causal, a broadcast bool mask shorter than the keys,
 * softcap), on 1 and 2 threads. Only the products' summation order
 * differs, so the outputs agree to float rounding (max absolute
 * difference printed; bound 1e-5, values are at most 1), the present
 * caches (plain copies) bit
 * for bit. The ONNX backend cases check both against ONNX's reference
 * on small shapes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/attention.h"
#include "../../runtime/threads.h"
#include "../unit/check.h"

static float frand(unsigned *st)
{
    *st = *st * 1664525u + 1013904223u;
    return (float)((*st >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

static oc_tensor *tnew(int dtype, int rank, const int64_t *dims, unsigned *st)
{
    oc_tensor *t = calloc(1, sizeof *t);
    t->dtype = dtype;
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++)
        t->numel *= (t->dims[i] = dims[i]);
    t->data = calloc((size_t)(t->numel ? t->numel : 1), sizeof(float));
    for (int64_t i = 0; i < t->numel; i++) {
        if (dtype == OC_BOOL)
            ((unsigned char *)t->data)[i] = frand(st) > -0.6f; /* mostly attended */
        else
            ((float *)t->data)[i] = frand(st);
    }
    return t;
}

/* Largest |a - b| (NaN counts as infinite). Inputs are in [-1, 1), so Y
 * and the probabilities are at most 1 in magnitude. */
static double max_abs(const oc_tensor *a, const oc_tensor *b)
{
    double w = 0;
    for (int64_t i = 0; i < a->numel; i++) {
        double d = fabs((double)((float *)a->data)[i] - ((float *)b->data)[i]);
        if (!(d <= w))
            w = isnan(d) ? INFINITY : d;
    }
    return w;
}

static void run_case(const char *what, int packed, int64_t B, int64_t Hq, int64_t Hkv, int64_t Sq, int64_t Skv,
                     int64_t P, int64_t D, int64_t Dv, int causal, int mask, int presents, float softcap, int threads)
{
    unsigned st = 11u + (unsigned)(Sq * 7 + D);
    oc_attention_params p = {.batch = B, .q_heads = Hq, .kv_heads = Hkv, .q_len = Sq, .kv_len = Skv,
                             .past_len = P, .total = P + Skv, .head = D, .v_head = Dv, .packed = packed,
                             .scale = 1.0f / sqrtf((float)D), .softcap = softcap, .causal = causal,
                             .left_window = -1, .right_window = -1, .qk_mode = OC_QK_SOFTMAX, .has_past = P > 0};
    int64_t T = P + Skv;
    int64_t q4[4] = {B, Hq, Sq, D}, q3[3] = {B, Sq, Hq * D}, k4[4] = {B, Hkv, Skv, D}, k3[3] = {B, Skv, Hkv * D},
            v4[4] = {B, Hkv, Skv, Dv}, v3[3] = {B, Skv, Hkv * Dv}, y4[4] = {B, Hq, Sq, Dv}, y3[3] = {B, Sq, Hq * Dv},
            pk[4] = {B, Hkv, P, D}, pv[4] = {B, Hkv, P, Dv}, tk[4] = {B, Hkv, T, D}, tv[4] = {B, Hkv, T, Dv},
            qk[4] = {B, Hq, Sq, T}, md[3] = {1, Sq, T - 2};
    int r = packed ? 3 : 4;
    oc_tensor *Q = tnew(OC_FLOAT, r, packed ? q3 : q4, &st), *K = tnew(OC_FLOAT, r, packed ? k3 : k4, &st),
              *V = tnew(OC_FLOAT, r, packed ? v3 : v4, &st), *M = mask ? tnew(OC_BOOL, 3, md, &st) : NULL,
              *PK = P ? tnew(OC_FLOAT, 4, pk, &st) : NULL, *PV = P ? tnew(OC_FLOAT, 4, pv, &st) : NULL;
    if (mask) { /* [1, Sq, T - 2]: broadcast over batch (aligned right) and heads, padded with False */
        p.mask = 2;
        p.mask_len = T - 2;
        p.mask_stride[0] = 0;
        p.mask_stride[1] = 0;
        p.mask_stride[2] = T - 2;
        p.mask_stride[3] = 1;
    }
    oc_tensor *out[2][4];
    for (int v = 0; v < 2; v++) {
        out[v][0] = tnew(OC_FLOAT, r, packed ? y3 : y4, &st);
        out[v][1] = presents ? tnew(OC_FLOAT, 4, tk, &st) : NULL;
        out[v][2] = presents ? tnew(OC_FLOAT, 4, tv, &st) : NULL;
        out[v][3] = tnew(OC_FLOAT, 4, qk, &st);
    }
    if (P && !presents)
        p.kv_scratch = (sizeof(float) * (size_t)(B * Hkv * T * D) + 63) / 64 * 64 +
                       (sizeof(float) * (size_t)(B * Hkv * T * Dv) + 63) / 64 * 64;
    p.thread_scratch = oc_attention_tscratch(Sq, T);
    unsigned char *scratch = aligned_alloc(64, p.kv_scratch + 64);
    unsigned char *tscratch = aligned_alloc(64, (p.thread_scratch + 63) / 64 * 64 * (size_t)threads);
    const oc_tensor *in[7] = {Q, K, V, M, PK, PV, NULL};
    int rc[2];
    for (int v = 0; v < 2; v++) {
        oc_kargs a = {.p = &p, .n_in = 7, .n_out = 4, .in = in, .out = out[v], .scratch = scratch,
                      .threads = v ? threads : 1, .tscratch = tscratch,
                      .tscratch_stride = (p.thread_scratch + 63) / 64 * 64};
        rc[v] = v ? oc_attention_forward(&a) : oc_attention_ref(&a);
    }
    CHECK(rc[0] == 0 && rc[1] == 0, "%s: kernel failed", what);
    double ey = max_abs(out[1][0], out[0][0]), ep = max_abs(out[1][3], out[0][3]);
    int cache_same = !presents || (!memcmp(out[0][1]->data, out[1][1]->data, sizeof(float) * (size_t)out[0][1]->numel) &&
                                   !memcmp(out[0][2]->data, out[1][2]->data, sizeof(float) * (size_t)out[0][2]->numel));
    printf("attention %-30s t=%d: max abs diff Y %.2g, probabilities %.2g%s\n", what, threads, ey, ep,
           presents ? (cache_same ? ", present caches same bits" : ", present caches DIFFER") : "");
    CHECK(ey <= 1e-5 && ep <= 1e-5 && cache_same, "%s: the SGEMM kernel differs from the reference", what);
    oc_tensor *all[] = {Q, K, V, M, PK, PV, out[0][0], out[0][1], out[0][2], out[0][3],
                        out[1][0], out[1][1], out[1][2], out[1][3]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]) {
            free(all[i]->data);
            free(all[i]);
        }
    free(scratch);
    free(tscratch);
}

int main(void)
{
    oc_set_threads(2);
    for (int t = 1; t <= 2; t++) {
        run_case("4-D MHA, head 7", 0, 2, 3, 3, 5, 9, 0, 7, 7, 0, 0, 0, 0.0f, t);
        run_case("3-D GQA 6/2, causal, mask", 1, 2, 6, 2, 19, 23, 0, 33, 17, 1, 1, 0, 0.0f, t);
        run_case("4-D MQA, past, presents", 0, 1, 4, 1, 3, 3, 40, 16, 5, 1, 0, 1, 0.0f, t);
        run_case("3-D past, no presents", 1, 2, 4, 2, 31, 31, 57, 24, 24, 1, 1, 0, 0.0f, t);
        run_case("decode step, head 1, softcap", 0, 3, 2, 2, 1, 1, 70, 1, 3, 1, 0, 1, 2.0f, t);
        run_case("big: 8 heads x 96 x 200", 1, 2, 8, 4, 96, 120, 80, 64, 64, 1, 1, 0, 0.0f, t);
    }
    oc_threads_shutdown();
    return check_finish("test_attention");
}
