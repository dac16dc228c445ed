/* tensor.h: element types and dense tensors.
 *
 * oc_dtype uses the ONNX TensorProto.DataType numbers, so a value read from
 * a file needs no translation table. A tensor is row-major (C order), dense,
 * little-endian, and owns its data block. Shapes are at most OC_MAX_RANK
 * dims; every product of dims that comes from outside goes through
 * oc_shape_numel, which reports overflow instead of wrapping. */
#ifndef ONNXC_TENSOR_H
#define ONNXC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define OC_MAX_RANK 8

/* Limit on one tensor's bytes: guards against absurd sizes in untrusted
 * files before anything is allocated (16 GiB). */
#define OC_MAX_TENSOR_BYTES ((int64_t)1 << 34)

typedef enum oc_dtype {
    OC_UNDEFINED = 0,
    OC_FLOAT = 1,
    OC_UINT8 = 2,
    OC_INT8 = 3,
    OC_UINT16 = 4,
    OC_INT16 = 5,
    OC_INT32 = 6,
    OC_INT64 = 7,
    OC_STRING = 8,
    OC_BOOL = 9,
    OC_FLOAT16 = 10,
    OC_DOUBLE = 11,
    OC_UINT32 = 12,
    OC_UINT64 = 13,
    OC_COMPLEX64 = 14,
    OC_COMPLEX128 = 15,
    OC_BFLOAT16 = 16,
    OC_FLOAT8E4M3FN = 17,
    OC_FLOAT8E4M3FNUZ = 18,
    OC_FLOAT8E5M2 = 19,
    OC_FLOAT8E5M2FNUZ = 20,
    OC_UINT4 = 21,
    OC_INT4 = 22,
    OC_FLOAT4E2M1 = 23,
    OC_FLOAT8E8M0 = 24,
    OC_UINT2 = 25,
    OC_INT2 = 26,
    OC_DTYPE_LIMIT = 27
} oc_dtype;

/* Bytes per element in memory (types narrower than a byte take one; see
 * dtype.h); 0 for types onnxc cannot hold (string, complex, unknown
 * numbers). Both read the element-type table in dtype.c. */
size_t oc_dtype_size(int dtype);
const char *oc_dtype_name(int dtype);

typedef struct oc_tensor {
    int dtype;
    int rank;
    int64_t dims[OC_MAX_RANK];
    int64_t numel;
    void *data; /* numel * oc_dtype_size(dtype) bytes, owned */
} oc_tensor;

/* Product of dims with overflow and sign checks: 0 on success. */
int oc_shape_numel(const int64_t *dims, int rank, int64_t *numel, oc_diag *d);

/* New zero-filled tensor; NULL with a diagnostic on bad shape or no memory. */
oc_tensor *oc_tensor_new(int dtype, int rank, const int64_t *dims, oc_diag *d);
oc_tensor *oc_tensor_clone(const oc_tensor *t, oc_diag *d);
void oc_tensor_free(oc_tensor *t);
size_t oc_tensor_nbytes(const oc_tensor *t);

/* Asks the kernel to back the 2 MiB-aligned interior of a fresh buffer of
 * n bytes (n >= 256 KiB) with huge pages, before anything touches it. A
 * hint only; does nothing where it is not supported. */
void oc_advise_huge(void *p, size_t n);

/* oc_advise_huge, then faults the whole buffer in with one call
 * (MADV_POPULATE_WRITE) instead of one trap per 4 KiB page: in a VM a page
 * fault costs microseconds, and loading ResNet-50 took 35,000 of them per
 * copy of its weights. For buffers about to be written in full. */
void oc_prefault(void *p, size_t n);

/* Gives the whole pages inside [p, p + n) back to the system (their
 * contents are lost: private anonymous memory reads as zeros after, a
 * private file mapping reads the file again). */
void oc_release_pages(void *p, size_t n);

/* Element i as double / int64, whatever the dtype (for shape arithmetic). */
double oc_tensor_get_f64(const oc_tensor *t, int64_t i);
int64_t oc_tensor_get_i64(const oc_tensor *t, int64_t i);

/* "[2,3,224,224]" into buf (dims < 0 print as "?"). */
char *oc_format_dims(char *buf, size_t cap, const int64_t *dims, int rank);
/* A byte count for people: "512 B", "1.5 MiB", "16 EiB" (a double, so
 * sizes beyond 2^64 from unchecked products print too). */
char *oc_format_bytes(char *buf, size_t cap, double bytes);

#endif
