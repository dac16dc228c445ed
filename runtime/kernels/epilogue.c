/* epilogue.c: see epilogue.h. The activation formulas are the same
 * expressions as the unary kernels in elementwise.c, built from the same
 * vmath.h functions, so a fused Conv+Sigmoid and a Conv followed by a
 * Sigmoid node give the same bits. */
#include "epilogue.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

static const char *const act_names[OC_ACT_COUNT] = {
    [OC_ACT_NONE] = "",
    [OC_ACT_RELU] = "Relu",
    [OC_ACT_LEAKY_RELU] = "LeakyRelu",
    [OC_ACT_CLIP] = "Clip",
    [OC_ACT_SIGMOID] = "Sigmoid",
    [OC_ACT_HARD_SIGMOID] = "HardSigmoid",
    [OC_ACT_HARD_SWISH] = "HardSwish",
    [OC_ACT_TANH] = "Tanh",
    [OC_ACT_GELU] = "Gelu",
};

const char *oc_act_name(int act) { return act >= 0 && act < OC_ACT_COUNT ? act_names[act] : "?"; }

int oc_act_from_name(const char *op)
{
    for (int a = 1; a < OC_ACT_COUNT; a++)
        if (!strcmp(act_names[a], op))
            return a;
    return -1;
}

/* min(max(v, 0), 1) with fmaxf(0, fminf(1, v))'s NaN rule (NaN -> 1), as
 * selects; the same helper as elementwise.c's HardSigmoid / HardSwish. */
static inline float clamp01(float v)
{
    v = v < 1.0f ? v : 1.0f;
    return v > 0.0f ? v : 0.0f;
}

OC_VEC_CLONES void oc_act_apply(int act, float alpha, float beta, float *x, int64_t n)
{
    switch (act) {
    case OC_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] > 0 ? x[i] : 0.0f;
        break;
    case OC_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] >= 0 ? x[i] : alpha * x[i];
        break;
    case OC_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) { /* NaN passes through, as numpy's clip */
            float v = x[i];
            v = v < alpha ? alpha : v;
            x[i] = v > beta ? beta : v;
        }
        break;
    case OC_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = oc_vsigmoidf(x[i]);
        break;
    case OC_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = clamp01(alpha * x[i] + beta);
        break;
    case OC_ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] * clamp01(x[i] / 6.0f + 0.5f);
        break;
    case OC_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            x[i] = oc_vtanhf(x[i]);
        break;
    case OC_ACT_GELU:
        if (beta != 0.0f)
            for (int64_t i = 0; i < n; i++)
                x[i] = oc_vgelu_tanhf(x[i]);
        else
            for (int64_t i = 0; i < n; i++)
                x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    default:
        break;
    }
}

void oc_epilogue_apply(const oc_epilogue *e, float *y, int64_t ldy, int64_t rows, int64_t cols, int64_t m0,
                       int64_t n0, const float *shift, const float *res, int64_t ldr)
{
    const float *rs = e && e->has_residual ? res : NULL;
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * ldy;
        if (shift && e && e->per_col) {
            for (int64_t c = 0; c < cols; c++)
                yr[c] += shift[n0 + c];
        } else if (shift) {
            float b = shift[m0 + r];
            for (int64_t c = 0; c < cols; c++)
                yr[c] += b;
        }
        if (rs) {
            const float *rr = rs + r * ldr;
            for (int64_t c = 0; c < cols; c++)
                yr[c] += rr[c];
        }
        if (e && e->act)
            oc_act_apply(e->act, e->alpha, e->beta, yr, cols);
    }
}
