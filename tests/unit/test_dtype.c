/* test_dtype.c: the element-type conversions of runtime/dtype.c against
 * references that share no code with them:
 *  - every float16 value (and the midpoints between float8 neighbours)
 *    encoded into each 8-bit and 4-bit float format, against a brute-force
 *    search of the format's whole code table for the nearest value (ties to
 *    the even code), with the saturation / NaN / inf table of ONNX Cast;
 *  - the special-value rows of that table (docs/Operators.md, Cast);
 *  - float8e8m0 rounding modes on the values of the ONNX e8m0 test case;
 *  - 4-bit and 2-bit packing against hand-packed bytes, and wrapping.
 * The ONNX backend node cases (onnxc check) cover the same conversions on
 * the reference data; this covers every input value. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../runtime/dtype.h"
#include "../../runtime/tensor.h"
#include "check.h"

typedef struct fmt {
    int dtype;
    int width;        /* code bits */
    double max;       /* largest finite */
    int has_inf;      /* overflow without saturation gives inf (else NaN) */
    int negzero;      /* has -0 */
} fmt;

static const fmt fmts[] = {
    {OC_FLOAT8E4M3FN, 8, 448, 0, 1},   {OC_FLOAT8E4M3FNUZ, 8, 240, 0, 0}, {OC_FLOAT8E5M2, 8, 57344, 1, 1},
    {OC_FLOAT8E5M2FNUZ, 8, 57344, 0, 0}, {OC_FLOAT4E2M1, 4, 6, 0, 1},
};

/* Nearest finite code to v by search (ties: even code), or -1 when v is
 * beyond the largest finite value by half a step or more (tie at the top
 * goes to the even code too). */
static int nearest_code(const fmt *f, const double *val, double v)
{
    int best = -1, n = 1 << f->width;
    double bd = INFINITY;
    for (int c = 0; c < n; c++) {
        if (isnan(val[c]) || isinf(val[c]))
            continue;
        double dd = fabs(val[c] - v);
        if (dd < bd || (dd == bd && (c & 1) == 0 && (best & 1))) {
            bd = dd;
            best = c;
        }
    }
    /* the step above max continues the top binade's spacing */
    int maxc = -1;
    for (int c = 0; c < n; c++)
        if (val[c] == f->max)
            maxc = c;
    double below = -INFINITY;
    for (int c = 0; c < n; c++)
        if (!isnan(val[c]) && val[c] < f->max && val[c] > below)
            below = val[c];
    double half = (f->max - below) / 2;
    if (fabs(v) > f->max + half || (fabs(v) == f->max + half && (maxc & 1)))
        return -1;
    return best;
}

static void test_small_floats(void)
{
    oc_cvt_mode sat = {1, OC_ROUND_UP}, nosat = {0, OC_ROUND_UP};
    for (size_t fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
        const fmt *f = &fmts[fi];
        double val[256];
        int n = 1 << f->width, bad = 0;
        for (int c = 0; c < n; c++)
            val[c] = oc_small_float_decode(f->dtype, (uint8_t)c);
        /* inputs: every float16, and the midpoints of neighbouring codes */
        for (int h = 0; h < 65536 + 2 * n && bad < 5; h++) {
            double v;
            if (h < 65536)
                v = oc_half_to_float((uint16_t)h);
            else {
                int c = (h - 65536) % n;
                v = isnan(val[c]) || isinf(val[c]) ? 0 : val[c] * (1 + 0.0625 / 2) * (h - 65536 < n ? 1 : -1);
            }
            if (isnan(v) || isinf(v))
                continue;
            int want = nearest_code(f, val, v);
            for (int s = 0; s < 2; s++) {
                uint8_t got = oc_small_float_encode(f->dtype, v, s ? &sat : &nosat);
                double gv = val[got];
                int ok;
                if (want < 0) /* overflow: saturate (always for e2m1), else inf or NaN */
                    ok = (s || f->dtype == OC_FLOAT4E2M1) ? gv == copysign(f->max, v)
                         : f->has_inf                      ? gv == copysign(INFINITY, v)
                                                           : isnan(gv);
                else if (val[want] == 0)
                    ok = gv == 0 && (!f->negzero || signbit(gv) == signbit(v));
                else
                    ok = gv == val[want];
                if (!ok && bad++ < 5)
                    CHECK(ok, "%s saturate=%d: %.9g -> code 0x%02x (%g), expected %g", oc_dtype_name(f->dtype), s, v,
                          got, gv, want < 0 ? NAN : val[want]);
            }
        }
        CHECK(bad == 0, "%s: %d wrong encodings", oc_dtype_name(f->dtype), bad);
        /* Cast's special values: NaN stays NaN (e2m1 has none), inf
         * saturates or becomes inf / NaN, -0 keeps its sign where it exists */
        double nanv = oc_small_float_decode(f->dtype, oc_small_float_encode(f->dtype, NAN, &sat));
        CHECK(f->dtype == OC_FLOAT4E2M1 ? nanv == 0 : isnan(nanv), "%s NaN -> %g", oc_dtype_name(f->dtype), nanv);
        CHECK(val[oc_small_float_encode(f->dtype, -INFINITY, &sat)] == -f->max, "%s -inf saturates", oc_dtype_name(f->dtype));
        double inf_ns = val[oc_small_float_encode(f->dtype, INFINITY, &nosat)];
        CHECK(f->dtype == OC_FLOAT4E2M1 ? inf_ns == f->max : f->has_inf ? inf_ns == INFINITY : isnan(inf_ns),
              "%s inf, no saturation -> %g", oc_dtype_name(f->dtype), inf_ns);
        uint8_t mz = oc_small_float_encode(f->dtype, -0.0, &sat);
        CHECK(f->negzero ? mz == (1u << (f->width - 1)) : mz == 0, "%s -0 -> 0x%02x", oc_dtype_name(f->dtype), mz);
    }
}

static void test_e8m0(void)
{
    /* the ONNX test case test_cast_e8m0_FLOAT_to_FLOAT8E8M0 (round up, saturate) */
    static const float in[] = {0.0f, 0.124f, 0.25f, 0.5f, 1.1f, 2.0f, 4.0f, 8.0f};
    static const uint8_t want[] = {0, 124, 125, 126, 128, 128, 129, 130};
    oc_cvt_mode up = {1, OC_ROUND_UP}, down = {1, OC_ROUND_DOWN}, near = {1, OC_ROUND_NEAREST}, upns = {0, OC_ROUND_UP};
    for (int i = 0; i < 8; i++)
        CHECK(oc_small_float_encode(OC_FLOAT8E8M0, in[i], &up) == want[i], "e8m0 up(%g)", (double)in[i]);
    CHECK(oc_small_float_encode(OC_FLOAT8E8M0, 1.1, &down) == 127, "e8m0 down(1.1)");
    CHECK(oc_small_float_encode(OC_FLOAT8E8M0, 1.4, &near) == 127, "e8m0 nearest(1.4)");
    CHECK(oc_small_float_encode(OC_FLOAT8E8M0, 1.6, &near) == 128, "e8m0 nearest(1.6)");
    CHECK(oc_small_float_encode(OC_FLOAT8E8M0, 3e38, &up) == 254, "e8m0 saturates below NaN");
    CHECK(oc_small_float_encode(OC_FLOAT8E8M0, 3e38, &upns) == 255, "e8m0 without saturation overflows to NaN");
    CHECK(oc_small_float_decode(OC_FLOAT8E8M0, 127) == 1.0 && isnan(oc_small_float_decode(OC_FLOAT8E8M0, 255)),
          "e8m0 decode");
}

static void test_packing(void)
{
    /* int4 [1, -1, 7, -8, 3]: low nibble first, the last byte padded */
    int8_t v4[] = {1, -1, 7, -8, 3}, back4[5];
    uint8_t p4[3], want4[] = {0xf1, 0x87, 0x03};
    CHECK(oc_dtype_wire_bytes(OC_INT4, 5) == 3, "int4 wire bytes");
    oc_dtype_pack(OC_INT4, v4, 5, p4);
    CHECK(!memcmp(p4, want4, 3), "int4 pack: %02x %02x %02x", p4[0], p4[1], p4[2]);
    oc_dtype_unpack(OC_INT4, p4, 5, back4);
    CHECK(!memcmp(v4, back4, 5), "int4 unpack");
    /* uint2 [1, 2, 3, 0, 1, 2, 3] as in test_cast_FLOAT_to_UINT2: 0x39 0x39 */
    uint8_t v2[] = {1, 2, 3, 0, 1, 2, 3}, back2[7], p2[2];
    oc_dtype_pack(OC_UINT2, v2, 7, p2);
    CHECK(p2[0] == 0x39 && p2[1] == 0x39, "uint2 pack: %02x %02x", p2[0], p2[1]);
    oc_dtype_unpack(OC_UINT2, p2, 7, back2);
    CHECK(!memcmp(v2, back2, 7), "uint2 unpack");
    int8_t i2[4];
    uint8_t p2b = 0xe4; /* 0, 1, 2, 3 -> int2 0, 1, -2, -1 */
    oc_dtype_unpack(OC_INT2, &p2b, 4, i2);
    CHECK(i2[0] == 0 && i2[1] == 1 && i2[2] == -2 && i2[3] == -1, "int2 unpack sign-extends");
    CHECK(oc_int_wrap(OC_INT4, -9) == 7 && oc_int_wrap(OC_INT4, 8) == -8 && oc_int_wrap(OC_UINT2, -1) == 3 &&
              oc_int_wrap(OC_UINT4, 16) == 0,
          "wrapping keeps the low bits");
    /* BitCast's view: int4 -1 is the code 0xf, uint4 15 */
    int8_t m1 = -1;
    uint8_t u;
    oc_elem_set_bits(OC_UINT4, &u, 0, oc_elem_get_bits(OC_INT4, &m1, 0));
    CHECK(u == 15, "int4 -1 bits as uint4: %u", u);
}

static void test_table(void)
{
    for (int t = 0; t < OC_DTYPE_LIMIT; t++) {
        const oc_dtype_info *i = oc_dtype_info_of(t);
        CHECK(i->name && (i->size == 0 || i->bits <= 8 * i->size), "row %d (%s)", t, i->name);
    }
    /* a string element is an oc_str (pointer, length): runtime/strtensor.h */
    CHECK(oc_dtype_size(OC_FLOAT8E8M0) == 1 && oc_dtype_size(OC_INT2) == 1 && oc_dtype_size(OC_STRING) == 16 &&
              oc_dtype_size(OC_COMPLEX64) == 0 && oc_dtype_info_of(OC_STRING)->kind == OC_KIND_STRING,
          "sizes in memory");
    CHECK(!strcmp(oc_dtype_name(99), "unknown-dtype"), "numbers outside the table");
}

int main(void)
{
    test_table();
    test_small_floats();
    test_e8m0();
    test_packing();
    return check_finish("test_dtype");
}
