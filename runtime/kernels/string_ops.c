/* string_ops.c: see string_ops.h. */
#include "string_ops.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../strtensor.h"
#include "elementwise.h"
#include "table.h"

/* ---- broadcasting (numpy rules, inputs right-aligned to the output) ---- */

/* Element strides of x along the output's axes: 0 where x broadcasts. */
static int bcast_strides(const oc_tensor *x, int rank, const int64_t *dims, int64_t *st, oc_diag *d)
{
    if (x->rank > rank)
        return oc_fail(d, "input rank %d is above the output's %d", x->rank, rank);
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int j = i - (rank - x->rank);
        if (j < 0) {
            st[i] = 0;
            continue;
        }
        if (x->dims[j] != dims[i] && x->dims[j] != 1)
            return oc_fail(d, "input dim %d (%lld) does not broadcast to %lld", j, (long long)x->dims[j],
                           (long long)dims[i]);
        st[i] = x->dims[j] == 1 ? 0 : s;
        s *= x->dims[j];
    }
    return 0;
}

/* Offset in x of output element i. */
static int64_t bcast_at(int64_t i, int rank, const int64_t *dims, const int64_t *st)
{
    int64_t off = 0;
    for (int k = rank - 1; k >= 0; k--) {
        off += (i % dims[k]) * st[k];
        i /= dims[k];
    }
    return off;
}

static int check_out(const oc_tensor *y, const oc_bcast_params *p, oc_diag *d)
{
    if (y->rank != p->rank)
        return oc_fail(d, "output rank %d, planned %d", y->rank, p->rank);
    for (int k = 0; k < y->rank; k++)
        if (y->dims[k] != p->dims[k])
            return oc_fail(d, "output dim %d is %lld, planned %lld", k, (long long)y->dims[k], (long long)p->dims[k]);
    return 0;
}

int oc_string_concat_forward(const oc_kargs *a)
{
    const oc_bcast_params *p = a->p;
    const oc_tensor *x = a->in[0], *z = a->in[1];
    oc_tensor *y = a->out[0];
    int64_t sx[OC_MAX_RANK], sz[OC_MAX_RANK];
    if (check_out(y, p, a->d) || bcast_strides(x, p->rank, p->dims, sx, a->d) ||
        bcast_strides(z, p->rank, p->dims, sz, a->d))
        return -1;
    const oc_str *xs = x->data, *zs = z->data;
    oc_str *ys = y->data;
    for (int64_t i = 0; i < y->numel; i++) {
        oc_str u = xs[bcast_at(i, p->rank, p->dims, sx)], v = zs[bcast_at(i, p->rank, p->dims, sz)];
        if (u.n > OC_MAX_STRING_BYTES - v.n)
            return oc_fail(a->d, "a concatenated string exceeds the %lld-byte limit", (long long)OC_MAX_STRING_BYTES);
        char *b = oc_strpool_alloc(a->strings, (size_t)(u.n + v.n), a->d);
        if (!b)
            return -1;
        memcpy(b, oc_str_bytes(u), (size_t)u.n);
        memcpy(b + u.n, oc_str_bytes(v), (size_t)v.n);
        ys[i] = (oc_str){b, u.n + v.n};
    }
    return 0;
}

int oc_string_equal_forward(const oc_kargs *a)
{
    const oc_bcast_params *p = a->p;
    const oc_tensor *x = a->in[0], *z = a->in[1];
    oc_tensor *y = a->out[0];
    int64_t sx[OC_MAX_RANK], sz[OC_MAX_RANK];
    if (check_out(y, p, a->d) || bcast_strides(x, p->rank, p->dims, sx, a->d) ||
        bcast_strides(z, p->rank, p->dims, sz, a->d))
        return -1;
    const oc_str *xs = x->data, *zs = z->data;
    uint8_t *ys = y->data;
    for (int64_t i = 0; i < y->numel; i++) {
        oc_str u = xs[bcast_at(i, p->rank, p->dims, sx)], v = zs[bcast_at(i, p->rank, p->dims, sz)];
        ys[i] = u.n == v.n && memcmp(oc_str_bytes(u), oc_str_bytes(v), (size_t)u.n) == 0;
    }
    return 0;
}

/* ---- StringNormalizer ---- */

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int ascii_upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

static int is_stopword(const oc_strnorm_params *p, oc_str s)
{
    const char *w = (const char *)(p + 1), *bytes = oc_str_bytes(s);
    for (int k = 0; k < p->n_stop; k++) {
        size_t n = strlen(w);
        if ((int64_t)n == s.n) {
            size_t i = 0;
            if (p->case_sensitive)
                i = memcmp(w, bytes, n) ? 0 : n;
            else
                while (i < n && ascii_lower((unsigned char)w[i]) == ascii_lower((unsigned char)bytes[i]))
                    i++;
            if (i == n)
                return 1;
        }
        w += n + 1;
    }
    return 0;
}

int oc_string_normalizer_forward(const oc_kargs *a)
{
    const oc_strnorm_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    const oc_str *xs = x->data;
    oc_str *ys = y->data;
    int64_t kept = 0;
    for (int64_t i = 0; i < x->numel; i++)
        kept += !is_stopword(p, xs[i]);
    int64_t want = kept ? kept : 1;
    if (y->numel != want)
        return oc_fail(a->d, "%lld strings are left after removing stopwords, but the plan fixed the output at %lld "
                             "(the count depends on the data)",
                       (long long)want, (long long)y->numel);
    if (!kept) {
        ys[0] = (oc_str){NULL, 0};
        return 0;
    }
    int64_t o = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (is_stopword(p, xs[i]))
            continue;
        if (p->action == OC_STRNORM_NONE) {
            ys[o++] = xs[i]; /* the bytes stay where the input keeps them */
            continue;
        }
        char *b = oc_strpool_alloc(a->strings, (size_t)xs[i].n, a->d);
        if (!b)
            return -1;
        const char *s = oc_str_bytes(xs[i]);
        for (int64_t j = 0; j < xs[i].n; j++)
            b[j] = (char)(p->action == OC_STRNORM_LOWER ? ascii_lower((unsigned char)s[j])
                                                        : ascii_upper((unsigned char)s[j]));
        ys[o++] = (oc_str){b, xs[i].n};
    }
    return 0;
}

/* ---- StringSplit ---- */

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* The pieces of s as Python's str.split: with a delimiter, every
 * occurrence (at most maxsplit of them) cuts; without one, runs of
 * whitespace do and leading/trailing whitespace is dropped. emit is called
 * per piece when out is not NULL; returns the count. */
static int64_t split_one(const oc_strsplit_params *p, oc_str s, oc_str *out, int64_t cap)
{
    const char *b = oc_str_bytes(s), *dl = (const char *)(p + 1), *end = b + s.n;
    int64_t cnt = 0, cuts = 0;
    if (p->delim_len) {
        const char *start = b;
        for (const char *q = b; q + p->delim_len <= end;) {
            if ((p->maxsplit < 0 || cuts < p->maxsplit) && !memcmp(q, dl, (size_t)p->delim_len)) {
                if (out && cnt < cap)
                    out[cnt] = (oc_str){start, q - start};
                cnt++;
                cuts++;
                q += p->delim_len;
                start = q;
            } else {
                q++;
            }
        }
        if (out && cnt < cap)
            out[cnt] = (oc_str){start, end - start};
        return cnt + 1;
    }
    const char *q = b;
    while (q < end) {
        while (q < end && is_space((unsigned char)*q))
            q++;
        if (q == end)
            break;
        const char *start = q;
        if (p->maxsplit >= 0 && cuts >= p->maxsplit) {
            /* the rest, trailing whitespace included (Python keeps it) */
            if (out && cnt < cap)
                out[cnt] = (oc_str){start, end - start};
            return cnt + 1;
        }
        while (q < end && !is_space((unsigned char)*q))
            q++;
        if (out && cnt < cap)
            out[cnt] = (oc_str){start, q - start};
        cnt++;
        cuts++;
    }
    return cnt;
}

int oc_string_split_forward(const oc_kargs *a)
{
    const oc_strsplit_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0], *z = a->n_out > 1 ? a->out[1] : NULL;
    if (y->rank != x->rank + 1 || (z && z->numel != x->numel))
        return oc_fail(a->d, "outputs do not match the input's shape");
    int64_t width = y->dims[y->rank - 1], most = 0;
    const oc_str *xs = x->data;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = split_one(p, xs[i], NULL, 0);
        if (c > most)
            most = c;
        if (z)
            ((int64_t *)z->data)[i] = c;
    }
    if (most != width)
        return oc_fail(a->d, "the data splits into at most %lld pieces, but the plan fixed the output's last dim at "
                             "%lld (it depends on the data)",
                       (long long)most, (long long)width);
    /* pieces point into the input's bytes; they are not NUL-terminated
     * there, so each is copied into the pool */
    oc_str *ys = y->data;
    for (int64_t i = 0; i < x->numel; i++) {
        oc_str *row = ys + i * width;
        int64_t c = split_one(p, xs[i], row, width);
        for (int64_t k = 0; k < width; k++) {
            if (k >= c) {
                row[k] = (oc_str){NULL, 0};
                continue;
            }
            if (oc_strpool_put(a->strings, row[k].p, (size_t)row[k].n, &row[k], a->d))
                return -1;
        }
    }
    return 0;
}

/* ---- RegexFullMatch ---- */

static int put(char *dst, size_t cap, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + n + 1 > cap)
        return -1;
    memcpy(dst + *o, s, n);
    *o += n;
    dst[*o] = 0;
    return 0;
}

/* One bracket expression at src[*i] ('[' ... ']') in POSIX form. */
static int translate_bracket(const char *src, size_t n, size_t *i, char *dst, size_t cap, size_t *o, const char **why)
{
    size_t k = *i + 1;
    int dash = 0;
    char body[1024];
    size_t bo = 0;
    if (put(dst, cap, o, "["))
        goto long_;
    if (k < n && src[k] == '^') {
        if (put(dst, cap, o, "^"))
            goto long_;
        k++;
    }
    int rbracket = 0, first = 1;
    body[0] = 0;
    for (; k < n && (src[k] != ']' || first); k++, first = 0) {
        char c = src[k];
        const char *add = NULL;
        char one[2] = {0, 0};
        if (c == ']') { /* a leading ] is literal */
            rbracket = 1;
            continue;
        }
        if (c == '[' && k + 1 < n && src[k + 1] == ':') { /* [:alpha:] */
            const char *e = strstr(src + k + 2, ":]");
            if (!e || (size_t)(e - src) >= n)
                return *why = "unterminated [: :] class", -1;
            size_t len = (size_t)(e - (src + k)) + 2;
            if (bo + len + 1 > sizeof body)
                goto long_;
            memcpy(body + bo, src + k, len);
            bo += len;
            body[bo] = 0;
            k += len - 1;
            continue;
        }
        if (c == '\\') {
            if (++k >= n)
                return *why = "trailing backslash", -1;
            c = src[k];
            switch (c) {
            case 'w': add = "[:alnum:]_"; break;
            case 'd': add = "[:digit:]"; break;
            case 's': add = "[:space:]"; break;
            case 'W': case 'D': case 'S': return *why = "negated classes (\\W, \\D, \\S) inside [] are not supported", -1;
            case '-': dash = 1; continue;
            case ']': rbracket = 1; continue;
            case 'n': one[0] = '\n'; add = one; break;
            case 't': one[0] = '\t'; add = one; break;
            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                    return *why = "an escape inside [] that onnxc does not know", -1;
                if (c == '^' && bo == 0) /* a literal ^ must not lead */
                    return *why = "an escaped ^ first in [] is not supported", -1;
                one[0] = c;
                add = one;
            }
        } else {
            one[0] = c;
            add = one;
        }
        size_t len = strlen(add);
        if (bo + len + 1 > sizeof body)
            goto long_;
        memcpy(body + bo, add, len + 1);
        bo += len;
    }
    if (k >= n)
        return *why = "unterminated [", -1;
    if ((rbracket && put(dst, cap, o, "]")) || put(dst, cap, o, body) || (dash && put(dst, cap, o, "-")) ||
        put(dst, cap, o, "]"))
        goto long_;
    *i = k;
    return 0;
long_:
    return *why = "the pattern is too long", -1;
}

int oc_regex_translate(const char *src, size_t n, char *dst, size_t cap, const char **why)
{
    size_t o = 0;
    *why = NULL;
    if (cap)
        dst[0] = 0;
    if (put(dst, cap, &o, "^("))
        goto long_;
    for (size_t i = 0; i < n; i++) {
        char c = src[i], one[3] = {0, 0, 0};
        const char *add = one;
        if (c == '[') {
            if (translate_bracket(src, n, &i, dst, cap, &o, why))
                return -1;
            continue;
        }
        if (c == '(' && i + 1 < n && src[i + 1] == '?') {
            if (i + 2 < n && src[i + 2] == ':') {
                i += 2;
                add = "(";
            } else {
                return *why = "group flags and named groups ((?...)) are not supported", -1;
            }
        } else if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < n && src[i + 1] == '?') {
            return *why = "lazy quantifiers (*? +? ?? {n,m}?) are not supported", -1;
        } else if (c == '\\') {
            if (++i >= n)
                return *why = "trailing backslash", -1;
            c = src[i];
            switch (c) {
            case 'd': add = "[[:digit:]]"; break;
            case 'D': add = "[^[:digit:]]"; break;
            case 'w': case 'W': case 's': case 'S': case 'b': case 'B': one[0] = '\\'; one[1] = c; break;
            case 'n': one[0] = '\n'; break;
            case 't': one[0] = '\t'; break;
            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                    return *why = "an escape that onnxc does not know (back-references, \\A, \\z, \\p{...})", -1;
                one[0] = '\\';
                one[1] = c;
            }
        } else {
            one[0] = c;
        }
        if (put(dst, cap, &o, add))
            goto long_;
    }
    if (put(dst, cap, &o, ")$"))
        goto long_;
    return 0;
long_:
    return *why = "the pattern is too long", -1;
}

int oc_regex_full_match_forward(const oc_kargs *a)
{
    const oc_regex_params *p = a->p;
    const oc_tensor *x = a->in[0];
    oc_tensor *y = a->out[0];
    if (y->numel != x->numel)
        return oc_fail(a->d, "output has %lld elements, input %lld", (long long)y->numel, (long long)x->numel);
    regex_t re;
    int rc = regcomp(&re, (const char *)(p + 1), REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char msg[256];
        regerror(rc, &re, msg, sizeof msg);
        return oc_fail(a->d, "pattern does not compile: %s", msg);
    }
    const oc_str *xs = x->data;
    uint8_t *ys = y->data;
    for (int64_t i = 0; i < x->numel; i++)
        ys[i] = regexec(&re, oc_str_bytes(xs[i]), 0, NULL, 0) == 0;
    regfree(&re);
    return 0;
}

const oc_kernel_info oc_kernels_strings[] = {
    {.name = "oc_string_concat_forward", .fn = oc_string_concat_forward, .params_type = "oc_bcast_params"},
    {.name = "oc_string_equal_forward", .fn = oc_string_equal_forward, .params_type = "oc_bcast_params"},
    {.name = "oc_string_normalizer_forward", .fn = oc_string_normalizer_forward, .params_type = "oc_strnorm_params"},
    {.name = "oc_string_split_forward", .fn = oc_string_split_forward, .params_type = "oc_strsplit_params"},
    {.name = "oc_regex_full_match_forward", .fn = oc_regex_full_match_forward, .params_type = "oc_regex_params"},
    {0},
};
