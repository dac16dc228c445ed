/* init.h: seeded weight initialization (torch.nn.init semantics).
 *
 * Random numbers come from xoshiro256** 1.0 (Blackman & Vigna, "Scrambled
 * linear pseudorandom number generators", 2021; prng.di.unimi.it), whose
 * 256-bit state is filled from the 64-bit seed by splitmix64, as its
 * authors recommend. Doubles in [0, 1) take the top 53 bits (x >> 11) * 2^-53;
 * normals come from the Box-Muller transform, two per pair of uniforms.
 * Everything is computed in double and rounded to float once, with no
 * platform libm dependence beyond log/sqrt/cos/sin, so the same seed gives
 * bitwise the same weights on every run of the same build.
 *
 * Fans follow torch.nn.init._calculate_fan_in_and_fan_out: for a tensor
 * [out, in, k1, k2, ...] (Linear [out, in], Conv [out, in/groups, kh, kw]),
 * receptive = k1 * k2 * ..., fan_in = in * receptive, fan_out = out * receptive.
 *   Xavier/Glorot uniform  U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))
 *   Xavier/Glorot normal   N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))
 *   He/Kaiming normal      N(0, std^2), std = gain / sqrt(fan)   (fan = fan_in or fan_out)
 *   He/Kaiming uniform     U(-a, a), a = sqrt(3) gain / sqrt(fan)
 * with gain = calculate_gain(nonlinearity, negative_slope): linear/sigmoid 1,
 * tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4.
 * PyTorch's default for Linear/Conv weights is Kaiming uniform with
 * leaky_relu and slope sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
#ifndef ONNXC_INIT_H
#define ONNXC_INIT_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* ---- the generator ---- */
typedef struct oc_rng {
    uint64_t s[4];
} oc_rng;

/* State from splitmix64(seed). */
void oc_rng_seed(oc_rng *r, uint64_t seed);
/* An independent stream per (seed, stream) pair, e.g. one per parameter
 * tensor, so a tensor's weights do not depend on what was drawn before. */
void oc_rng_seed_stream(oc_rng *r, uint64_t seed, uint64_t stream);
uint64_t oc_rng_next(oc_rng *r);
double oc_rng_uniform(oc_rng *r); /* [0, 1) */
double oc_rng_normal(oc_rng *r);  /* N(0, 1); uses one pair of uniforms per call */

/* w[i] ~ U(lo, hi) and N(mean, std^2), drawn in index order. */
void oc_rng_fill_uniform(oc_rng *r, float *w, size_t n, double lo, double hi);
void oc_rng_fill_normal(oc_rng *r, float *w, size_t n, double mean, double std);

/* ---- initializers ---- */
typedef enum oc_init_kind {
    OC_INIT_ZEROS = 0,
    OC_INIT_CONSTANT,        /* value a */
    OC_INIT_UNIFORM,         /* U(a, b) */
    OC_INIT_NORMAL,          /* N(a, b^2) */
    OC_INIT_XAVIER_UNIFORM,
    OC_INIT_XAVIER_NORMAL,
    OC_INIT_KAIMING_UNIFORM,
    OC_INIT_KAIMING_NORMAL,
    OC_INIT_KIND_COUNT
} oc_init_kind;

typedef enum oc_nonlinearity {
    OC_NL_LINEAR = 0, /* also conv / identity */
    OC_NL_SIGMOID,
    OC_NL_TANH,
    OC_NL_RELU,
    OC_NL_LEAKY_RELU,
    OC_NL_SELU,
    OC_NL_COUNT
} oc_nonlinearity;

typedef enum oc_fan_mode { OC_FAN_IN = 0, OC_FAN_OUT } oc_fan_mode;

typedef struct oc_init {
    oc_init_kind kind;
    double a, b;                  /* CONSTANT, UNIFORM, NORMAL parameters */
    double gain;                  /* XAVIER: multiplies the bound/std (1 = plain Glorot) */
    oc_nonlinearity nonlinearity; /* KAIMING: picks the gain */
    double negative_slope;        /* KAIMING with LEAKY_RELU */
    oc_fan_mode mode;             /* KAIMING: fan_in (keeps forward variance) or fan_out (backward) */
} oc_init;

/* Defaults as torch.nn.init: Xavier gain 1; Kaiming with relu and fan_in;
 * UNIFORM [0, 1); NORMAL (0, 1). */
void oc_init_default(oc_init *c, oc_init_kind kind);

/* torch.nn.init.calculate_gain. */
double oc_init_gain(oc_nonlinearity nl, double negative_slope);

/* Fans of a weight of at least 2 dims (see the header comment). */
int oc_init_fans(const int64_t *dims, int rank, int64_t *fan_in, int64_t *fan_out, oc_diag *d);

/* The half-width of the uniform (UNIFORM: (b - a) / 2) or the standard
 * deviation of the normal a configuration gives for a shape; 0 for ZEROS
 * and CONSTANT. Used by tests and by `info`-style printouts. */
int oc_init_scale(const int64_t *dims, int rank, const oc_init *c, double *scale, oc_diag *d);

/* Fills w (numel of dims floats) in index order from r. */
int oc_init_fill(float *w, const int64_t *dims, int rank, const oc_init *c, oc_rng *r, oc_diag *d);

#endif
