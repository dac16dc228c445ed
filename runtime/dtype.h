/* dtype.h: the table of element types and every conversion between them.
 *
 * One row per ONNX TensorProto.DataType number (tensor.h names them):
 * name, kind, bit width in a file and byte size in memory. Everything that
 * asks "how big, how wide, signed or float" reads this table instead of
 * switching on type numbers.
 *
 * In memory every type narrower than a byte takes one byte per element:
 * int4/int2 hold their value sign-extended (an int8), uint4/uint2 their
 * value (a uint8), float4e2m1 its 4-bit code. Only files pack them
 * (ONNX raw_data: two 4-bit or four 2-bit elements per byte, the first in
 * the low bits); oc_dtype_pack / oc_dtype_unpack convert at the border.
 * The 8-bit floats (float8e4m3fn, float8e4m3fnuz, float8e5m2,
 * float8e5m2fnuz, float8e8m0) are held as their byte codes.
 *
 * Conversions round to nearest even into every float format (float16,
 * bfloat16, the 8-bit and 4-bit floats), with the saturation, NaN and
 * infinity rules of the ONNX Cast operator (docs/Operators.md, Cast-25):
 * float8 conversions saturate at the largest finite value unless asked
 * not to, and then overflow to inf (float8e5m2) or NaN (the others);
 * float8e8m0 rounds up, down or to nearest as Cast's round_mode says.
 * Float to integer truncates toward zero (NaN -> 0, saturating at the
 * int64 range) and then keeps the low bits, as C conversions do; the
 * 4-bit and 2-bit integers wrap the same way (-9 -> int4 7). */
#ifndef ONNXC_DTYPE_H
#define ONNXC_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum oc_dtype_kind {
    OC_KIND_NONE = 0, /* undefined, complex, unknown numbers: not held */
    OC_KIND_BOOL,
    OC_KIND_SINT,
    OC_KIND_UINT,
    OC_KIND_FLOAT,
    OC_KIND_STRING /* an oc_str per element (runtime/strtensor.h): moved, never converted */
} oc_dtype_kind;

typedef struct oc_dtype_info {
    const char *name;   /* "float8e4m3fn" */
    const char *cname;  /* the enum constant for generated C: "OC_FLOAT8E4M3FN" */
    unsigned char kind; /* oc_dtype_kind */
    unsigned char bits; /* width of one element in a file's raw_data */
    unsigned char size; /* bytes per element in memory; 0: onnxc cannot hold it */
} oc_dtype_info;

/* The row of a type number; a row named "unknown-dtype" (size 0) for
 * numbers outside the table, so the result is never NULL. */
const oc_dtype_info *oc_dtype_info_of(int dtype);

static inline int oc_dtype_is_float(int dtype) { return oc_dtype_info_of(dtype)->kind == OC_KIND_FLOAT; }
static inline int oc_dtype_is_int(int dtype)
{
    int k = oc_dtype_info_of(dtype)->kind;
    return k == OC_KIND_SINT || k == OC_KIND_UINT;
}

/* ---- files: packed sub-byte elements ---- */

/* Bytes that numel elements take in raw_data (2-bit and 4-bit types are
 * packed, the last byte padded with zero bits). */
size_t oc_dtype_wire_bytes(int dtype, int64_t numel);
/* raw_data (oc_dtype_wire_bytes bytes) -> memory layout (numel *
 * size bytes), and back. For the byte-aligned types these are copies. */
void oc_dtype_unpack(int dtype, const uint8_t *src, int64_t numel, void *dst);
void oc_dtype_pack(int dtype, const void *src, int64_t numel, uint8_t *dst);

/* ---- scalar conversions ---- */

/* IEEE binary16 <-> float, round to nearest even (subnormals, inf, NaN). */
float oc_half_to_float(uint16_t h);
uint16_t oc_float_to_half(double v);
/* bfloat16: the top 16 bits of a float32, rounded to nearest even. */
float oc_bf16_to_float(uint16_t h);
uint16_t oc_float_to_bf16(float v);

/* Cast's round_mode attribute, for float8e8m0 only. */
enum { OC_ROUND_UP = 0, OC_ROUND_DOWN = 1, OC_ROUND_NEAREST = 2 };

/* How a conversion into a float8 type treats values out of range. */
typedef struct oc_cvt_mode {
    int saturate;   /* 1 (the ONNX default): clamp to the largest finite value */
    int round_mode; /* OC_ROUND_*, float8e8m0 only */
} oc_cvt_mode;

/* Decodes the byte code of an 8-bit or 4-bit float type; encodes a double
 * into one (rounding once, to nearest even; e8m0 by round_mode). */
double oc_small_float_decode(int dtype, uint8_t code);
uint8_t oc_small_float_encode(int dtype, double v, const oc_cvt_mode *m);

/* An integer brought into the range of integer type dtype by keeping its
 * low bits (two's complement for the signed types). */
int64_t oc_int_wrap(int dtype, int64_t v);

/* Element i of any held type as double / int64, and the reverse (see the
 * header comment for the rounding and wrapping rules). The _mode setter
 * takes Cast's saturate and round_mode; the plain one uses the defaults. */
double oc_elem_get_f64(int dtype, const void *base, int64_t i);
int64_t oc_elem_get_i64(int dtype, const void *base, int64_t i);
void oc_elem_set_f64(int dtype, void *base, int64_t i, double v);
void oc_elem_set_f64_mode(int dtype, void *base, int64_t i, double v, const oc_cvt_mode *m);
/* Integer v into an integer or bool element (wraps; bool is "not zero");
 * other types go through double. */
void oc_elem_set_i64(int dtype, void *base, int64_t i, int64_t v);

/* The bit pattern of element i (its code: 4-bit values masked to 4 bits),
 * and an element from a bit pattern: BitCast between types of one width. */
uint64_t oc_elem_get_bits(int dtype, const void *base, int64_t i);
void oc_elem_set_bits(int dtype, void *base, int64_t i, uint64_t bits);

/* float -> int64 without undefined behaviour: truncation toward zero,
 * NaN -> 0, saturation at the int64 range; and the uint64 twin. */
int64_t oc_f64_to_i64(double v);
uint64_t oc_f64_to_u64(double v);

#endif
