/* strtensor.h: string tensors (ONNX element type STRING).
 *
 * A string element is an oc_str: a pointer to bytes and their count
 * (16 bytes, the size the element-type table gives OC_STRING), so every
 * kernel that only moves elements (Identity, Reshape, Gather, Concat,
 * Transpose, ...) moves strings by copying these pairs. The bytes always
 * carry a NUL after the last one (regexec and printf need it) and never
 * contain one: files with an embedded NUL are refused at import. A
 * zero-filled element ({NULL, 0}) is the empty string; read bytes through
 * oc_str_bytes, which never returns NULL.
 *
 * Who owns the bytes:
 * - a tensor made by oc_string_tensor_pack (the importer, clones) holds its
 *   oc_str array and its bytes in one block, t->data, so oc_tensor_free
 *   frees both and oc_tensor_clone must deep-copy (it does);
 * - strings a kernel makes (StringConcat, StringNormalizer, StringSplit)
 *   live in the plan's string pool (oc_kargs.strings), which is emptied at
 *   the start of each run: like every intermediate in the arena, a run's
 *   string outputs are valid until the next run;
 * - a plan's inputs point at the caller's tensors, as for every type.
 * Constants of type string are not placed in a plan's weights block (the
 * planner refuses them) and the folding pass leaves string nodes alone. */
#ifndef ONNXC_STRTENSOR_H
#define ONNXC_STRTENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "tensor.h"

typedef struct oc_str {
    const char *p; /* NUL-terminated, no NUL inside; NULL only when n == 0 */
    int64_t n;     /* bytes, without the terminating NUL */
} oc_str;

static inline const char *oc_str_bytes(oc_str s) { return s.p ? s.p : ""; }

/* Longest string accepted from a file or made by a kernel (1 GiB). */
#define OC_MAX_STRING_BYTES ((int64_t)1 << 30)

/* A pool of string bytes: chunks freed together by oc_strpool_reset. */
typedef struct oc_strchunk oc_strchunk;
typedef struct oc_strpool {
    oc_strchunk *head;
    size_t bytes; /* held, for the limit */
} oc_strpool;

/* n bytes plus a NUL (so n + 1), NULL with a diagnostic when out of
 * memory or past OC_MAX_TENSOR_BYTES in total. */
char *oc_strpool_alloc(oc_strpool *sp, size_t n, oc_diag *d);
/* An oc_str holding a copy of s[0..n) (a NUL is appended). */
int oc_strpool_put(oc_strpool *sp, const char *s, size_t n, oc_str *out, oc_diag *d);
void oc_strpool_reset(oc_strpool *sp);

/* A string tensor owning its bytes in one block, from n = numel pieces
 * (bytes[i], len[i]); checks lengths, embedded NULs and the total size.
 * what names the source for messages ("string_data"). */
oc_tensor *oc_string_tensor_pack(int rank, const int64_t *dims, const char *const *bytes, const size_t *len,
                                 const char *what, oc_diag *d);

#endif
