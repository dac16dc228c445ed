/* init.c: see init.h. */
#include "init.h"

#include <math.h>
#include <string.h>

#include "tensor.h"

/* splitmix64 (Steele, Lea & Flood 2014; Vigna's public-domain reference):
 * a 64-bit counter through a bijective mixer, used to spread a seed over
 * xoshiro's 256 state bits (which must not be all zero). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void oc_rng_seed(oc_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void oc_rng_seed_stream(oc_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the seed, fold in the stream number and mix again, so nearby
     * (seed, stream) pairs land on unrelated splitmix64 starting points. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x) ^ stream;
    oc_rng_seed(r, splitmix64(&h));
}

/* xoshiro256** 1.0: output = rotl(s1 * 5, 7) * 9, then the xorshift step. */
uint64_t oc_rng_next(oc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double oc_rng_uniform(oc_rng *r) { return (double)(oc_rng_next(r) >> 11) * 0x1.0p-53; }

/* Box-Muller: for u1 in (0, 1] and u2 in [0, 1), sqrt(-2 ln u1) times
 * cos(2 pi u2) and sin(2 pi u2) are two independent N(0, 1) values. */
static void normal_pair(oc_rng *r, double *z0, double *z1)
{
    const double two_pi = 6.28318530717958647692;
    double u1 = 1.0 - oc_rng_uniform(r);
    double u2 = oc_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    *z0 = rad * cos(two_pi * u2);
    *z1 = rad * sin(two_pi * u2);
}

double oc_rng_normal(oc_rng *r)
{
    double z0, z1;
    normal_pair(r, &z0, &z1);
    return z0;
}

void oc_rng_fill_uniform(oc_rng *r, float *w, size_t n, double lo, double hi)
{
    double width = hi - lo;
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(lo + width * oc_rng_uniform(r));
}

void oc_rng_fill_normal(oc_rng *r, float *w, size_t n, double mean, double std)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        double z0, z1;
        normal_pair(r, &z0, &z1);
        w[i] = (float)(mean + std * z0);
        w[i + 1] = (float)(mean + std * z1);
    }
    if (i < n)
        w[i] = (float)(mean + std * oc_rng_normal(r));
}

void oc_init_default(oc_init *c, oc_init_kind kind)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->gain = 1.0;
    c->nonlinearity = OC_NL_RELU;
    c->mode = OC_FAN_IN;
    if (kind == OC_INIT_UNIFORM || kind == OC_INIT_NORMAL)
        c->b = 1.0;
}

double oc_init_gain(oc_nonlinearity nl, double negative_slope)
{
    switch (nl) {
    case OC_NL_TANH:
        return 5.0 / 3.0;
    case OC_NL_RELU:
        return sqrt(2.0);
    case OC_NL_LEAKY_RELU:
        return sqrt(2.0 / (1.0 + negative_slope * negative_slope));
    case OC_NL_SELU:
        return 3.0 / 4.0; /* PyTorch's choice for self-normalizing nets */
    case OC_NL_LINEAR:
    case OC_NL_SIGMOID:
    default:
        return 1.0;
    }
}

int oc_init_fans(const int64_t *dims, int rank, int64_t *fan_in, int64_t *fan_out, oc_diag *d)
{
    if (rank < 2 || rank > OC_MAX_RANK)
        return oc_fail(d, "weight init: fan in and fan out need a tensor of 2 to %d dims, got %d", OC_MAX_RANK,
                       rank);
    int64_t receptive = 1;
    if (rank > 2 && oc_shape_numel(dims + 2, rank - 2, &receptive, d))
        return -1;
    int64_t io[2] = {dims[1], receptive}, oo[2] = {dims[0], receptive};
    if (dims[0] < 0 || dims[1] < 0 || oc_shape_numel(io, 2, fan_in, d) || oc_shape_numel(oo, 2, fan_out, d))
        return oc_fail(d, "weight init: bad shape for fans");
    return 0;
}

int oc_init_scale(const int64_t *dims, int rank, const oc_init *c, double *scale, oc_diag *d)
{
    int64_t fi = 0, fo = 0;
    *scale = 0;
    switch (c->kind) {
    case OC_INIT_ZEROS:
    case OC_INIT_CONSTANT:
        return 0;
    case OC_INIT_UNIFORM:
        *scale = (c->b - c->a) / 2.0;
        return 0;
    case OC_INIT_NORMAL:
        *scale = c->b;
        return 0;
    case OC_INIT_XAVIER_UNIFORM:
    case OC_INIT_XAVIER_NORMAL:
        if (oc_init_fans(dims, rank, &fi, &fo, d))
            return -1;
        if (fi + fo == 0)
            return oc_fail(d, "weight init: Xavier on a tensor with zero fans");
        *scale = c->gain * sqrt((c->kind == OC_INIT_XAVIER_UNIFORM ? 6.0 : 2.0) / (double)(fi + fo));
        return 0;
    case OC_INIT_KAIMING_UNIFORM:
    case OC_INIT_KAIMING_NORMAL: {
        if (oc_init_fans(dims, rank, &fi, &fo, d))
            return -1;
        int64_t fan = c->mode == OC_FAN_OUT ? fo : fi;
        if (fan == 0)
            return oc_fail(d, "weight init: Kaiming on a tensor with zero fan");
        double std = oc_init_gain(c->nonlinearity, c->negative_slope) / sqrt((double)fan);
        *scale = c->kind == OC_INIT_KAIMING_UNIFORM ? sqrt(3.0) * std : std;
        return 0;
    }
    default:
        return oc_fail(d, "weight init: unknown kind %d", (int)c->kind);
    }
}

int oc_init_fill(float *w, const int64_t *dims, int rank, const oc_init *c, oc_rng *r, oc_diag *d)
{
    int64_t n = 0;
    if (rank < 0 || rank > OC_MAX_RANK)
        return oc_fail(d, "weight init: rank %d out of range", rank);
    if (oc_shape_numel(dims, rank, &n, d))
        return -1;
    double scale;
    if (oc_init_scale(dims, rank, c, &scale, d))
        return -1;
    switch (c->kind) {
    case OC_INIT_ZEROS:
        memset(w, 0, sizeof(float) * (size_t)n);
        break;
    case OC_INIT_CONSTANT:
        for (int64_t i = 0; i < n; i++)
            w[i] = (float)c->a;
        break;
    case OC_INIT_UNIFORM:
        oc_rng_fill_uniform(r, w, (size_t)n, c->a, c->b);
        break;
    case OC_INIT_NORMAL:
        oc_rng_fill_normal(r, w, (size_t)n, c->a, c->b);
        break;
    case OC_INIT_XAVIER_UNIFORM:
    case OC_INIT_KAIMING_UNIFORM:
        oc_rng_fill_uniform(r, w, (size_t)n, -scale, scale);
        break;
    case OC_INIT_XAVIER_NORMAL:
    case OC_INIT_KAIMING_NORMAL:
        oc_rng_fill_normal(r, w, (size_t)n, 0.0, scale);
        break;
    default:
        return oc_fail(d, "weight init: unknown kind %d", (int)c->kind);
    }
    return 0;
}
