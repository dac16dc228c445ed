/* conv_ocblock_avx512.c: the AVX-512 tile of the output-channel-blocked
 * direct conv (conv_ocblock_ukr.h); CMakeLists.txt sets this file's -m
 * flags.
 *
 * 32 channels (2 vectors) x R outputs in 2 R accumulators (R <= 14: 28 of
 * the 32 registers, 2 more hold the tap's weights). Per tap: 2 loads of
 * packed W, R broadcasts from the padded input at constant displacements
 * (S i floats; a second row's from its own pointer), 2 R FMAs. One
 * instance per (S, R1, R), so every displacement is an immediate; the
 * accumulators are named, not an array (as conv_direct_avx512.c: gcc kept
 * an array in memory). The taps come from the offset table, not from
 * loops over kh and kw: with those loops gcc reused one tap's broadcasts
 * for the next (output i + 1 at kw = 0 is output i at kw = 2 for stride
 * 2), kept them on the stack and ran at 117 GFLOP/s instead of 189
 * (ResNet-50's 256-channel 3x3 stride-2 conv, one thread, Zen 5). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "clamp_avx512.h"
#include "conv_ocblock_ukr.h"

#define ACC_DECL(i) __m512 a##i##0 = b0, a##i##1 = b1
#define ACC_FMA(i)                                                                                                     \
    do {                                                                                                               \
        if (R > (i)) {                                                                                                 \
            __m512 xb = _mm512_set1_ps((i) < R1 ? q[(i) * S] : q2[((i) - R1) * S]);                                     \
            a##i##0 = _mm512_fmadd_ps(w0, xb, a##i##0);                                                                \
            a##i##1 = _mm512_fmadd_ps(w1, xb, a##i##1);                                                                \
        }                                                                                                              \
    } while (0)
#define ACC_STORE(i)                                                                                                   \
    do {                                                                                                               \
        if (R > (i)) {                                                                                                 \
            float *yi = (i) < R1 ? y + (i) : y + t->ystep + ((i) - R1);                                                \
            _mm512_mask_i32scatter_ps(yi, m0, vi, oc_clamp_avx512(a##i##0, t->on, lo, hi), 4);                         \
            _mm512_mask_i32scatter_ps(yi + 16 * t->L, m1, vi, oc_clamp_avx512(a##i##1, t->on, lo, hi), 4);             \
        }                                                                                                              \
    } while (0)

static inline __attribute__((always_inline)) void tile(const oc_cob_tile *t, const int S, const int R1, const int R)
{
    const float *x = t->x, *wp = t->wp;
    const int32_t *off = t->off;
    __m512 b0 = _mm512_loadu_ps(t->bias), b1 = _mm512_loadu_ps(t->bias + 16);
    ACC_DECL(0);
    ACC_DECL(1);
    ACC_DECL(2);
    ACC_DECL(3);
    ACC_DECL(4);
    ACC_DECL(5);
    ACC_DECL(6);
    ACC_DECL(7);
    ACC_DECL(8);
    ACC_DECL(9);
    ACC_DECL(10);
    ACC_DECL(11);
    ACC_DECL(12);
    ACC_DECL(13);
    for (int64_t k = 0; k < t->T; k++, wp += 32) {
        const float *q = x + off[k], *q2 = q + t->xstep;
        __m512 w0 = _mm512_loadu_ps(wp), w1 = _mm512_loadu_ps(wp + 16);
        if (k < t->npf) {
            _mm_prefetch((const char *)(t->pf + 32 * k), _MM_HINT_T1);
            _mm_prefetch((const char *)(t->pf + 32 * k + 16), _MM_HINT_T1);
        }
        ACC_FMA(0);
        ACC_FMA(1);
        ACC_FMA(2);
        ACC_FMA(3);
        ACC_FMA(4);
        ACC_FMA(5);
        ACC_FMA(6);
        ACC_FMA(7);
        ACC_FMA(8);
        ACC_FMA(9);
        ACC_FMA(10);
        ACC_FMA(11);
        ACC_FMA(12);
        ACC_FMA(13);
    }
    float *y = t->y;
    __m512 lo = _mm512_set1_ps(t->lo), hi = _mm512_set1_ps(t->hi);
    __m512i vi = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                    _mm512_set1_epi32((int)t->L));
    int nv = t->nvalid;
    __mmask16 m0 = nv >= 16 ? 0xFFFF : (__mmask16)((1u << nv) - 1u);
    __mmask16 m1 = nv >= 32 ? 0xFFFF : nv > 16 ? (__mmask16)((1u << (nv - 16)) - 1u) : 0;
    ACC_STORE(0);
    ACC_STORE(1);
    ACC_STORE(2);
    ACC_STORE(3);
    ACC_STORE(4);
    ACC_STORE(5);
    ACC_STORE(6);
    ACC_STORE(7);
    ACC_STORE(8);
    ACC_STORE(9);
    ACC_STORE(10);
    ACC_STORE(11);
    ACC_STORE(12);
    ACC_STORE(13);
}

typedef void (*tile_fn)(const oc_cob_tile *t);
/* one row of R outputs; two rows of R1 */
#define ONE(S, R)                                                                                                      \
    static void one##S##_##R(const oc_cob_tile *t) { tile(t, S, R, R); }
#define TWO(S, R1)                                                                                                     \
    static void two##S##_##R1(const oc_cob_tile *t) { tile(t, S, R1, 2 * R1); }
#define ONES(S)                                                                                                        \
    ONE(S, 1)                                                                                                          \
    ONE(S, 2)                                                                                                          \
    ONE(S, 3)                                                                                                          \
    ONE(S, 4)                                                                                                          \
    ONE(S, 5)                                                                                                          \
    ONE(S, 6)                                                                                                          \
    ONE(S, 7)                                                                                                          \
    ONE(S, 8)                                                                                                          \
    ONE(S, 9)                                                                                                          \
    ONE(S, 10)                                                                                                         \
    ONE(S, 11)                                                                                                         \
    ONE(S, 12)                                                                                                         \
    ONE(S, 13)                                                                                                         \
    ONE(S, 14)                                                                                                         \
    TWO(S, 1)                                                                                                          \
    TWO(S, 2)                                                                                                          \
    TWO(S, 3)                                                                                                          \
    TWO(S, 4)                                                                                                          \
    TWO(S, 5)                                                                                                          \
    TWO(S, 6)                                                                                                          \
    TWO(S, 7)
ONES(1)
ONES(2)

static const tile_fn one_row[2][15] = {
    {0, one1_1, one1_2, one1_3, one1_4, one1_5, one1_6, one1_7, one1_8, one1_9, one1_10, one1_11, one1_12, one1_13,
     one1_14},
    {0, one2_1, one2_2, one2_3, one2_4, one2_5, one2_6, one2_7, one2_8, one2_9, one2_10, one2_11, one2_12, one2_13,
     one2_14},
};
static const tile_fn two_rows[2][8] = {
    {0, two1_1, two1_2, two1_3, two1_4, two1_5, two1_6, two1_7},
    {0, two2_1, two2_2, two2_3, two2_4, two2_5, two2_6, two2_7},
};

int oc_cob_tile_avx512(const oc_cob_tile *t)
{
    if (t->S < 1 || t->S > 2 || t->R1 < 1 || t->R1 > 14)
        return -1;
    if (t->R == t->R1) {
        one_row[t->S - 1][t->R1](t);
        return 0;
    }
    if (t->R == 2 * t->R1 && t->R1 <= 7) {
        two_rows[t->S - 1][t->R1](t);
        return 0;
    }
    return -1;
}
#else
typedef int oc_conv_ocblock_avx512_unused; /* not an x86 build: nothing here */
#endif
