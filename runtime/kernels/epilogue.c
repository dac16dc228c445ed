/* epilogue.c: see epilogue.h. The activation formulas are the same
 * expressions as the unary kernels in elementwise.c, so a fused
 * Conv+Relu and a Conv followed by a Relu node give the same numbers. */
#include "epilogue.h"

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

static float sigmoid1(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

void oc_act_apply(int act, float alpha, float beta, float *x, int64_t n)
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
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            if (v == v) /* NaN passes through, as numpy's clip */
                v = v < alpha ? alpha : v, v = v > beta ? beta : v;
            x[i] = v;
        }
        break;
    case OC_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = sigmoid1(x[i]);
        break;
    case OC_ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = fmaxf(0.0f, fminf(1.0f, alpha * x[i] + beta));
        break;
    case OC_ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] * fmaxf(0.0f, fminf(1.0f, x[i] / 6.0f + 0.5f));
        break;
    case OC_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            x[i] = tanhf(x[i]);
        break;
    case OC_ACT_GELU:
        if (beta != 0.0f)
            for (int64_t i = 0; i < n; i++) {
                float v = x[i];
                x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
            }
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
