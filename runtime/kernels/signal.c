/* signal.c: DFT, STFT, the window generators and MelWeightMatrix; see
 * signal.h. Naive reference kernels: every output bin is a direct sum
 * over the input. */
#include "signal.h"

#include <math.h>
#include <string.h>

#include "shape_ops.h"

static const double two_pi = 6.283185307179586476925286766559;

static int64_t prod(const int64_t *d, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++)
        p *= d[i];
    return p;
}

/* A scalar (or one-element) integer input; -1 with an error otherwise. */
static int scalar_int(const oc_kargs *a, const oc_tensor *t, const char *what, int64_t *v)
{
    if (t->numel != 1)
        return oc_fail(a->d, "'%s' must hold one value, got %lld", what, (long long)t->numel);
    if (t->dtype != OC_INT64 && t->dtype != OC_INT32)
        return oc_fail(a->d, "'%s' must be int32 or int64, got %s", what, oc_dtype_name(t->dtype));
    *v = oc_index_get(t, 0);
    return 0;
}

/* e^{sign * 2 pi i k t / n}, with k * t reduced mod n first. */
static void twiddle(int64_t k, int64_t t, int64_t n, double sign, double *re, double *im)
{
    /* k, t < n <= 2^31 here, so the product cannot overflow */
    double ang = two_pi * (double)((k * t) % n) / (double)n;
    *re = cos(ang);
    *im = sign * sin(ang);
}

/* One transform of a strided complex (or real, cin == 1) sequence of len
 * samples: out[k * ostride] for k < m, of length n (zero-padded/truncated). */
static void dft_line(const oc_tensor *x, int64_t base, int64_t stride, int cin, int64_t len, int64_t n, int64_t m,
                     int inverse, oc_tensor *y, int64_t obase, int64_t ostride)
{
    int64_t use = len < n ? len : n;
    double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / (double)n : 1.0;
    for (int64_t k = 0; k < m; k++) {
        double sr = 0, si = 0;
        for (int64_t t = 0; t < use; t++) {
            int64_t e = base + t * stride;
            double xr = oc_elem_get_f64(x->dtype, x->data, e * cin), xi = cin == 2 ? oc_elem_get_f64(x->dtype, x->data, e * cin + 1) : 0;
            double wr, wi;
            twiddle(k, t, n, sign, &wr, &wi);
            sr += xr * wr - xi * wi;
            si += xr * wi + xi * wr;
        }
        oc_elem_set_f64(y->dtype, y->data, (obase + k * ostride) * 2, sr * scale);
        oc_elem_set_f64(y->dtype, y->data, (obase + k * ostride) * 2 + 1, si * scale);
    }
}

/* Real inverse of a one-sided spectrum (numpy irfft): the first n/2 + 1
 * bins (zero-padded), extended by Hermitian symmetry; the imaginary parts
 * of the DC and (even n) Nyquist bins are ignored. */
static void irfft_line(const oc_tensor *x, int64_t base, int64_t stride, int cin, int64_t len, int64_t n,
                       oc_tensor *y, int64_t obase, int64_t ostride)
{
    int64_t half = n / 2 + 1;
    for (int64_t t = 0; t < n; t++) {
        double s = 0;
        for (int64_t k = 0; k < n; k++) {
            int64_t src = k < half ? k : n - k; /* conj(X[n - k]) above the half */
            double xr = 0, xi = 0;
            if (src < len) {
                int64_t e = base + src * stride;
                xr = oc_elem_get_f64(x->dtype, x->data, e * cin);
                xi = cin == 2 ? oc_elem_get_f64(x->dtype, x->data, e * cin + 1) : 0;
            }
            if (src == 0 || 2 * src == n)
                xi = 0;
            if (k >= half)
                xi = -xi;
            double wr, wi;
            twiddle(k, t, n, 1.0, &wr, &wi);
            s += xr * wr - xi * wi;
        }
        oc_elem_set_f64(y->dtype, y->data, obase + t * ostride, s / (double)n);
    }
}

int oc_dft_forward(const oc_kargs *a)
{
    const oc_dft_params *p = a->p;
    const oc_tensor *x = a->in[0];
    const oc_tensor *lt = a->n_in > 1 ? a->in[1] : NULL;
    const oc_tensor *at = p->axis_input >= 0 && a->n_in > p->axis_input ? a->in[p->axis_input] : NULL;
    oc_tensor *y = a->out[0];
    int r = x->rank;
    int64_t ax = p->axis;
    if (r < 2 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
        return oc_fail(a->d, "input must have rank >= 2 and a last dim of 1 (real) or 2 (complex)");
    if (at && scalar_int(a, at, "axis", &ax))
        return -1;
    if (ax < -r || ax >= r)
        return oc_fail(a->d, "axis %lld is outside [-%d, %d)", (long long)ax, r, r);
    if (ax < 0)
        ax += r;
    if (ax == r - 1)
        return oc_fail(a->d, "axis %lld is the (re, im) dim; it must name a signal dim", (long long)ax);
    int cin = (int)x->dims[r - 1], irfft = p->inverse && p->onesided;
    int64_t len = x->dims[ax], n = irfft ? 2 * (len - 1) : len;
    if (lt && lt->numel && scalar_int(a, lt, "dft_length", &n))
        return -1;
    if (n < 1 || n > ((int64_t)1 << 31))
        return oc_fail(a->d, "dft_length %lld is outside [1, 2^31]", (long long)n);
    int64_t m = irfft ? n : p->onesided ? n / 2 + 1 : n;
    int64_t want[OC_MAX_RANK];
    memcpy(want, x->dims, sizeof want);
    want[ax] = m;
    want[r - 1] = irfft ? 1 : 2;
    if (y->rank != r || memcmp(y->dims, want, sizeof(int64_t) * (size_t)r)) {
        char g[128], w[128];
        return oc_fail(a->d, "the data gives output %s; the plan has %s", oc_format_dims(w, sizeof w, want, r),
                       oc_format_dims(g, sizeof g, y->dims, y->rank));
    }
    int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, r - 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i, obase = o * m * inner + i;
            if (irfft)
                irfft_line(x, base, inner, cin, len, n, y, obase, inner);
            else
                dft_line(x, base, inner, cin, len, n, m, p->inverse, y, obase, inner);
        }
    return 0;
}

int oc_stft_forward(const oc_kargs *a)
{
    const oc_stft_params *p = a->p;
    const oc_tensor *x = a->in[0], *st = a->in[1];
    const oc_tensor *win = a->n_in > 2 ? a->in[2] : NULL, *flt = a->n_in > 3 ? a->in[3] : NULL;
    oc_tensor *y = a->out[0];
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return oc_fail(a->d, "signal must be [batch, length, 1 or 2]");
    int64_t step = 0, fl = win ? win->numel : x->dims[1];
    if (scalar_int(a, st, "frame_step", &step))
        return -1;
    if (flt && flt->numel && scalar_int(a, flt, "frame_length", &fl))
        return -1;
    if (win && (win->rank != 1 || win->numel != fl))
        return oc_fail(a->d, "window has %lld samples; frame_length is %lld", (long long)win->numel, (long long)fl);
    if (step < 1 || fl < 1 || fl > x->dims[1] || fl > ((int64_t)1 << 31))
        return oc_fail(a->d, "frame_step %lld and frame_length %lld do not fit a signal of %lld samples",
                       (long long)step, (long long)fl, (long long)x->dims[1]);
    int64_t frames = 1 + (x->dims[1] - fl) / step, bins = p->onesided ? fl / 2 + 1 : fl;
    int64_t want[4] = {x->dims[0], frames, bins, 2};
    if (y->rank != 4 || memcmp(y->dims, want, sizeof want)) {
        char g[128], w[128];
        return oc_fail(a->d, "the data gives output %s; the plan has %s", oc_format_dims(w, sizeof w, want, 4),
                       oc_format_dims(g, sizeof g, y->dims, y->rank));
    }
    int cin = (int)x->dims[2];
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < frames; f++)
            for (int64_t k = 0; k < bins; k++) {
                double sr = 0, si = 0;
                for (int64_t t = 0; t < fl; t++) {
                    int64_t e = (b * x->dims[1] + f * step + t) * cin;
                    double w = win ? oc_elem_get_f64(win->dtype, win->data, t) : 1.0;
                    double xr = w * oc_elem_get_f64(x->dtype, x->data, e);
                    double xi = cin == 2 ? w * oc_elem_get_f64(x->dtype, x->data, e + 1) : 0;
                    double wr, wi;
                    twiddle(k, t, fl, -1.0, &wr, &wi);
                    sr += xr * wr - xi * wi;
                    si += xr * wi + xi * wr;
                }
                int64_t o = ((b * frames + f) * bins + k) * 2;
                oc_elem_set_f64(y->dtype, y->data, o, sr);
                oc_elem_set_f64(y->dtype, y->data, o + 1, si);
            }
    return 0;
}

int oc_window_forward(const oc_kargs *a)
{
    const oc_window_params *p = a->p;
    oc_tensor *y = a->out[0];
    int64_t size = 0;
    if (scalar_int(a, a->in[0], "size", &size))
        return -1;
    if (y->rank != 1 || y->dims[0] != size)
        return oc_fail(a->d, "size is %lld; the plan has %lld samples", (long long)size,
                       (long long)(y->rank == 1 ? y->dims[0] : -1));
    double N = (double)(p->periodic ? size : size - 1);
    for (int64_t i = 0; i < size; i++) {
        double ph = N > 0 ? two_pi * (double)i / N : 0, v;
        switch (p->kind) {
        case OC_WINDOW_HANN: v = sin(ph / 2) * sin(ph / 2); break;
        case OC_WINDOW_HAMMING: v = 25.0 / 46.0 - (21.0 / 46.0) * cos(ph); break;
        default: v = 0.42 - 0.5 * cos(ph) + 0.08 * cos(2 * ph); break;
        }
        if (N <= 0)
            v = 1.0; /* a one-sample symmetric window */
        oc_elem_set_f64(y->dtype, y->data, i, v);
    }
    return 0;
}

/* A scalar (or one-element) float input; -1 with an error otherwise. */
static int scalar_real(const oc_kargs *a, const oc_tensor *t, const char *what, double *v)
{
    if (t->numel != 1)
        return oc_fail(a->d, "'%s' must hold one value, got %lld", what, (long long)t->numel);
    if (t->dtype != OC_FLOAT && t->dtype != OC_DOUBLE && t->dtype != OC_FLOAT16 && t->dtype != OC_BFLOAT16)
        return oc_fail(a->d, "'%s' must be a float type, got %s", what, oc_dtype_name(t->dtype));
    *v = oc_elem_get_f64(t->dtype, t->data, 0);
    return 0;
}

/* Mel scale: mel(f) = 2595 log10(1 + f / 700) and its inverse. */
static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

/* floor(x / r) for x >= 0, r >= 1 as numpy's floor division of a double
 * computes it: from the exact remainder, not the rounded quotient (which
 * can round up to the next integer). */
static int64_t floor_div(double x, int64_t r)
{
    double rd = (double)r, q = (x - fmod(x, rd)) / rd;
    return (int64_t)nearbyint(q);
}

int oc_mel_weight_matrix_forward(const oc_kargs *a)
{
    oc_tensor *y = a->out[0];
    int64_t bins = 0, dft = 0, rate = 0;
    double lo = 0, hi = 0;
    if (a->n_in < 5 || !a->in[0] || !a->in[1] || !a->in[2] || !a->in[3] || !a->in[4])
        return oc_fail(a->d, "needs all five inputs");
    if (scalar_int(a, a->in[0], "num_mel_bins", &bins) || scalar_int(a, a->in[1], "dft_length", &dft) ||
        scalar_int(a, a->in[2], "sample_rate", &rate) || scalar_real(a, a->in[3], "lower_edge_hertz", &lo) ||
        scalar_real(a, a->in[4], "upper_edge_hertz", &hi))
        return -1;
    if (bins < 0 || bins > OC_MEL_MAX_BINS)
        return oc_fail(a->d, "num_mel_bins %lld is outside [0, %lld]", (long long)bins, (long long)OC_MEL_MAX_BINS);
    if (dft < 1 || dft > OC_MEL_MAX_DFT)
        return oc_fail(a->d, "dft_length %lld is outside [1, %lld]", (long long)dft, (long long)OC_MEL_MAX_DFT);
    int64_t rows = dft / 2 + 1;
    if (bins > 0 && rows > OC_MEL_MAX_ELEMS / bins)
        return oc_fail(a->d, "a [%lld, %lld] matrix is more than the %lld entries onnxc makes", (long long)rows,
                       (long long)bins, (long long)OC_MEL_MAX_ELEMS);
    if (rate < 1)
        return oc_fail(a->d, "sample_rate %lld must be positive", (long long)rate);
    if (!(lo >= 0 && lo <= hi && hi <= (double)rate))
        return oc_fail(a->d, "lower_edge_hertz %g and upper_edge_hertz %g must satisfy 0 <= lower <= upper <= "
                             "sample_rate (%lld)",
                       lo, hi, (long long)rate);
    int64_t want[2] = {rows, bins};
    if (y->rank != 2 || memcmp(y->dims, want, sizeof want)) {
        char g[128], w[128];
        return oc_fail(a->d, "the data gives output %s; the plan has %s", oc_format_dims(w, sizeof w, want, 2),
                       oc_format_dims(g, sizeof g, y->dims, y->rank));
    }
    if (y->numel)
        memset(y->data, 0, oc_tensor_nbytes(y)); /* all-zero bits are 0 in every numeric type */
    double mel_lo = hz_to_mel(lo), step = (hz_to_mel(hi) - mel_lo) / (double)(bins + 2);
    /* edge k in [0, dft + 1]: the hertz value is at most sample_rate (up to rounding) */
    int64_t e[3];
    for (int64_t k = 0; k < 2; k++)
        e[k + 1] = floor_div((double)(dft + 1) * mel_to_hz((double)k * step + mel_lo), rate);
    for (int64_t i = 0; i < bins; i++) {
        e[0] = e[1];
        e[1] = e[2];
        e[2] = floor_div((double)(dft + 1) * mel_to_hz((double)(i + 2) * step + mel_lo), rate);
        int64_t l = e[0], c = e[1], r = e[2];
        /* rising side l .. c (c itself: 1), falling side c .. r - 1 */
        for (int64_t j = l < 0 ? 0 : l; j <= c && j < rows; j++)
            oc_elem_set_f64(y->dtype, y->data, j * bins + i, c == l ? 1.0 : (double)(j - l) / (double)(c - l));
        for (int64_t j = c < 0 ? 0 : c; j < r && j < rows; j++)
            oc_elem_set_f64(y->dtype, y->data, j * bins + i, (double)(r - j) / (double)(r - c));
    }
    return 0;
}
