/* strtensor.c: see strtensor.h. */
#include "strtensor.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"

_Static_assert(sizeof(oc_str) == 16, "the element-type table gives OC_STRING 16 bytes");

struct oc_strchunk {
    oc_strchunk *next;
    size_t cap, used;
    char data[];
};

#define CHUNK_BYTES ((size_t)64 << 10)

char *oc_strpool_alloc(oc_strpool *sp, size_t n, oc_diag *d)
{
    if ((int64_t)n > OC_MAX_STRING_BYTES) {
        oc_fail(d, "a string of %zu bytes exceeds the %lld-byte limit", n, (long long)OC_MAX_STRING_BYTES);
        return NULL;
    }
    size_t need = n + 1;
    if (!sp) {
        oc_fail(d, "no string pool for this kernel");
        return NULL;
    }
    if (sp->bytes + need > (size_t)OC_MAX_TENSOR_BYTES) {
        oc_fail(d, "strings made in one run exceed the %lld-byte limit", (long long)OC_MAX_TENSOR_BYTES);
        return NULL;
    }
    oc_strchunk *c = sp->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;
        if (!(c = malloc(sizeof *c + cap))) {
            oc_fail(d, "out of memory");
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        c->next = sp->head;
        sp->head = c;
    }
    char *r = c->data + c->used;
    c->used += need;
    sp->bytes += need;
    r[n] = 0;
    return r;
}

int oc_strpool_put(oc_strpool *sp, const char *s, size_t n, oc_str *out, oc_diag *d)
{
    char *r = oc_strpool_alloc(sp, n, d);
    if (!r)
        return -1;
    if (n)
        memcpy(r, s, n);
    out->p = r;
    out->n = (int64_t)n;
    return 0;
}

void oc_strpool_reset(oc_strpool *sp)
{
    if (!sp)
        return;
    while (sp->head) {
        oc_strchunk *c = sp->head;
        sp->head = c->next;
        free(c);
    }
    sp->bytes = 0;
}

oc_tensor *oc_string_tensor_pack(int rank, const int64_t *dims, const char *const *bytes, const size_t *len,
                                 const char *what, oc_diag *d)
{
    int64_t numel;
    if (rank < 0 || rank > OC_MAX_RANK) {
        oc_fail(d, "rank %d is outside 0..%d", rank, OC_MAX_RANK);
        return NULL;
    }
    if (oc_shape_numel(dims, rank, &numel, d))
        return NULL;
    /* total = numel * 16 + sum (len + 1), every step checked */
    if (numel > OC_MAX_TENSOR_BYTES / (int64_t)sizeof(oc_str)) {
        oc_fail(d, "%lld strings is larger than onnxc's per-tensor limit", (long long)numel);
        return NULL;
    }
    size_t total = (size_t)numel * sizeof(oc_str);
    for (int64_t i = 0; i < numel; i++) {
        if (len[i] > (size_t)OC_MAX_STRING_BYTES) {
            oc_fail(d, "%s[%lld] has %zu bytes, more than the %lld-byte limit", what, (long long)i, len[i],
                    (long long)OC_MAX_STRING_BYTES);
            return NULL;
        }
        if (len[i] && memchr(bytes[i], 0, len[i])) {
            oc_fail(d, "%s[%lld] contains a NUL byte, which onnxc's strings cannot hold", what, (long long)i);
            return NULL;
        }
        total += len[i] + 1;
        if (total > (size_t)OC_MAX_TENSOR_BYTES) {
            oc_fail(d, "%s: the strings exceed the %lld-byte per-tensor limit", what, (long long)OC_MAX_TENSOR_BYTES);
            return NULL;
        }
    }
    oc_tensor *t = calloc(1, sizeof *t);
    char *blk = t ? malloc(total ? total : 1) : NULL;
    if (!blk) {
        free(t);
        oc_fail(d, "out of memory");
        return NULL;
    }
    t->dtype = OC_STRING;
    t->rank = rank;
    for (int k = 0; k < rank; k++)
        t->dims[k] = dims[k];
    t->numel = numel;
    t->data = blk;
    oc_str *s = (oc_str *)(void *)blk;
    char *heap = blk + (size_t)numel * sizeof(oc_str);
    for (int64_t i = 0; i < numel; i++) {
        if (len[i])
            memcpy(heap, bytes[i], len[i]);
        heap[len[i]] = 0;
        s[i].p = heap;
        s[i].n = (int64_t)len[i];
        heap += len[i] + 1;
    }
    return t;
}
