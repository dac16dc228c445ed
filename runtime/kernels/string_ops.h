/* string_ops.h: kernels of the string ops: StringConcat, StringNormalizer,
 * StringSplit, RegexFullMatch, and Equal on strings. Elements are oc_str
 * pairs (runtime/strtensor.h); kernels that make strings put their bytes in
 * the plan's string pool (oc_kargs.strings). The compiler side (attribute
 * checks, shape rules, lowering) is compiler/ops/string_ops.c. */
#ifndef ONNXC_KERNELS_STRING_OPS_H
#define ONNXC_KERNELS_STRING_OPS_H

#include "../plan.h"

/* StringConcat and Equal take oc_bcast_params (kernels/elementwise.h):
 * the output's rank and dims; inputs broadcast numpy-style. */
int oc_string_concat_forward(const oc_kargs *a);
int oc_string_equal_forward(const oc_kargs *a);

enum { OC_STRNORM_NONE = 0, OC_STRNORM_LOWER = 1, OC_STRNORM_UPPER = 2 };

/* StringNormalizer: the parameter block is this header followed by
 * n_stop NUL-terminated stopwords (stop_bytes bytes in all). The 'locale'
 * attribute is ignored: case changes and case-insensitive stopword matches
 * touch ASCII letters only (bytes >= 0x80 stay as they are), where the
 * ONNX reference lowers and uppers full Unicode. */
typedef struct oc_strnorm_params {
    int action;         /* OC_STRNORM_*; ASCII letters only change case */
    int case_sensitive; /* 0: stopwords match ignoring ASCII case */
    int n_stop;
    int pad;
    int64_t stop_bytes;
} oc_strnorm_params;

/* Y = the elements of X (1-D [C] or 2-D [1, C]) that are no stopword, case
 * changed; [1] / [1, 1] holding "" when none is left. The count of kept
 * elements must match the planned output. */
int oc_string_normalizer_forward(const oc_kargs *a);

/* StringSplit: a header followed by the delimiter's bytes and a NUL. */
typedef struct oc_strsplit_params {
    int64_t maxsplit;   /* < 0: no limit */
    int64_t delim_len;  /* 0: split on runs of whitespace (Python str.split()) */
} oc_strsplit_params;

/* Y[..., k] = the k-th piece of X[...] ("" past the last), Z[...] = number
 * of pieces; as Python's str.split(delimiter or None, maxsplit). Y's last
 * dim must equal the largest count (the plan fixes it). */
int oc_string_split_forward(const oc_kargs *a);

/* RegexFullMatch: a header followed by the POSIX extended (glibc) form of
 * the pattern and a NUL; compiled on each run.
 *
 * ONNX specifies RE2 syntax; glibc's regcomp/regexec (REG_EXTENDED, C
 * locale) stand in for it. Where they differ: matching is on bytes, not
 * UTF-8 code points ('.' and [^x] take one byte of a multi-byte
 * character, \w is ASCII letters, digits and '_'); POSIX picks the
 * leftmost-longest match where RE2 picks leftmost-first, which cannot
 * change whether a whole string matches; RE2-only syntax is refused at
 * lowering with the reason (flags (?i), named groups, lazy quantifiers,
 * \A \z \p{..}, \W \D \S inside []), as is anything regcomp rejects. */
typedef struct oc_regex_params {
    int64_t len;
} oc_regex_params;

/* The RE2 pattern src as a glibc extended regex that matches a whole
 * string: \d \D and the classes inside [] rewritten, (?: as (, anchored
 * as ^(...)$. Returns 0, or -1 with why set for constructs it refuses
 * (flags, lazy quantifiers, named groups, \W inside []). */
int oc_regex_translate(const char *src, size_t n, char *dst, size_t cap, const char **why);
/* Y[i] = the whole of X[i] matches. */
int oc_regex_full_match_forward(const oc_kargs *a);

#endif
