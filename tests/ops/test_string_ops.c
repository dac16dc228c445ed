/* test_string_ops.c: the string kernels on cases the ONNX node tests do
 * not cover, with expected values taken from Python (str.split and
 * re.fullmatch, whose semantics StringSplit and RegexFullMatch follow):
 * leading whitespace with maxsplit, empty strings, overlapping
 * delimiters, classes inside [], and the RE2 constructs that the POSIX
 * translation refuses. Also string tensors' own rules: embedded NULs are
 * refused, clones own their bytes. */
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/string_ops.h"
#include "../../runtime/strtensor.h"
#include "../unit/check.h"

/* Splits one string; returns the pieces joined by '|' and the count. */
static int64_t split(const char *s, const char *delim, int64_t maxsplit, char *joined, size_t cap)
{
    struct {
        oc_strsplit_params p;
        char d[16];
    } prm = {{maxsplit, (int64_t)strlen(delim)}, {0}};
    strcpy(prm.d, delim);
    oc_str xs = {s, (int64_t)strlen(s)};
    /* the kernel refuses every width but the data's piece count */
    for (int64_t w = 0; w <= 8; w++) {
        oc_str ys[8];
        int64_t zl = 0;
        oc_tensor tx = {.dtype = OC_STRING, .rank = 1, .dims = {1}, .numel = 1, .data = &xs};
        oc_tensor ty = {.dtype = OC_STRING, .rank = 2, .dims = {1, w}, .numel = w, .data = ys};
        oc_tensor tz = {.dtype = OC_INT64, .rank = 1, .dims = {1}, .numel = 1, .data = &zl};
        const oc_tensor *in[1] = {&tx};
        oc_tensor *out[2] = {&ty, &tz};
        oc_strpool pool = {0};
        oc_diag d;
        oc_diag_init(&d);
        oc_kargs a = {.p = &prm, .n_in = 1, .n_out = 2, .in = in, .out = out, .threads = 1, .d = &d,
                      .strings = &pool};
        if (oc_string_split_forward(&a) == 0) {
            size_t o = 0;
            joined[0] = 0;
            for (int64_t k = 0; k < zl; k++)
                o += (size_t)snprintf(joined + o, cap - o, "%s%s", k ? "|" : "", oc_str_bytes(ys[k]));
            oc_strpool_reset(&pool);
            return zl;
        }
        oc_strpool_reset(&pool);
    }
    return -1;
}

static int full_match(const char *pattern, const char *s)
{
    char re[512];
    const char *why;
    if (oc_regex_translate(pattern, strlen(pattern), re, sizeof re, &why))
        return -1;
    struct {
        oc_regex_params p;
        char re[512];
    } prm = {{(int64_t)strlen(re)}, {0}};
    strcpy(prm.re, re);
    oc_str xs = {s, (int64_t)strlen(s)};
    unsigned char y = 2;
    oc_tensor tx = {.dtype = OC_STRING, .rank = 1, .dims = {1}, .numel = 1, .data = &xs};
    oc_tensor ty = {.dtype = OC_BOOL, .rank = 1, .dims = {1}, .numel = 1, .data = &y};
    const oc_tensor *in[1] = {&tx};
    oc_tensor *out[1] = {&ty};
    oc_diag d;
    oc_diag_init(&d);
    oc_kargs a = {.p = &prm, .n_in = 1, .n_out = 1, .in = in, .out = out, .threads = 1, .d = &d};
    return oc_regex_full_match_forward(&a) ? -2 : y;
}

int main(void)
{
    char j[256];
    CHECK(split(" a  b c ", "", 1, j, sizeof j) == 2 && !strcmp(j, "a|b c "), "whitespace maxsplit 1: %s", j);
    CHECK(split("", "-", -1, j, sizeof j) == 1 && !strcmp(j, ""), "'' by '-': %s", j);
    CHECK(split("", "", -1, j, sizeof j) == 0, "'' on whitespace");
    CHECK(split("a---b", "--", -1, j, sizeof j) == 2 && !strcmp(j, "a|-b"), "'a---b' by '--': %s", j);
    CHECK(split(" x ", "", 0, j, sizeof j) == 1 && !strcmp(j, "x "), "maxsplit 0: %s", j);
    CHECK(split("abab", "ab", -1, j, sizeof j) == 3 && !strcmp(j, "||"), "'abab' by 'ab': %s", j);

    CHECK(full_match("[\\d]+-\\w+", "12-ab") == 1, "\\d and \\w");
    CHECK(full_match("a[^\\s]c", "a c") == 0, "negated \\s in []");
    CHECK(full_match("(?:ab)+", "abab") == 1, "(?:");
    CHECK(full_match("[\\]a]+", "]a]") == 1, "\\] in []");
    CHECK(full_match("x\\.y", "xzy") == 0, "escaped dot");
    CHECK(full_match("ab", "abc") == 0 && full_match("a|ab", "ab") == 1, "whole-string anchoring");
    CHECK(full_match("a*?", "aa") == -1, "lazy quantifier refused");
    CHECK(full_match("(?i)a", "A") == -1, "flags refused");
    CHECK(full_match("[\\W]", "!") == -1, "\\W inside [] refused");

    const char *bytes[2] = {"ok", "a\0b"};
    size_t len[2] = {2, 3};
    int64_t dims[1] = {2};
    oc_diag d;
    oc_diag_init(&d);
    CHECK(oc_string_tensor_pack(1, dims, bytes, len, "string_data", &d) == NULL && strstr(d.msg, "NUL"),
          "embedded NUL refused: %s", d.msg);
    len[1] = 1;
    oc_tensor *t = oc_string_tensor_pack(1, dims, bytes, len, "string_data", &d);
    oc_tensor *c = t ? oc_tensor_clone(t, &d) : NULL;
    CHECK(c && ((oc_str *)c->data)[0].p != ((oc_str *)t->data)[0].p &&
              !strcmp(oc_str_bytes(((oc_str *)c->data)[1]), "a"),
          "clone copies the bytes");
    oc_tensor_free(t);
    oc_tensor_free(c);
    return check_finish("test_string_ops");
}
