/* onnx_import.c: ONNX protobuf -> IR. See onnx_import.h.
 *
 * Order of work: parse the protobuf (protobuf-c, schema in schemas/), check
 * the opset, create values for graph inputs and initializers, declare
 * every node output, apply declared types (inputs, outputs, value_info),
 * add nodes (inputs must name defined values), then sort and validate. */
#include "onnx_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gradient_op.h"
#include "onnx.pb-c.h"
#include "ops/op.h"
#include "ops/optional.h"
#include "ops/sequence.h"
#include "../runtime/dtype.h"
#include "../runtime/strtensor.h"
#include "../runtime/io.h"

/* protobuf-c takes a size_t; ONNX files above 2 GiB must use external data,
 * which is the limit of the protobuf wire format itself. */
#define MAX_PROTO_BYTES ((size_t)2 << 30)

/* ---- nesting bound, checked before protobuf-c sees the file ----
 * protobuf-c unpacks nested messages recursively with no depth limit, so a
 * small crafted file holding thousands of GraphProtos nested in node
 * attributes (or TypeProtos nested in sequence types) would exhaust the
 * stack. This walks the wire format along the recursive paths of
 * schemas/onnx.proto only (Graph -> Node -> Attribute -> Graph, Function ->
 * Node, Type -> Sequence/Map/Optional -> Type), skipping every other field
 * unparsed, and counts GraphProtos and TypeProtos on the path. */
#define MAX_NESTING 64

enum { W_MODEL, W_TRAINING, W_FUNCTION, W_GRAPH, W_NODE, W_ATTR, W_VALUE_INFO, W_TYPE, W_SEQ, W_MAP, W_OPT };

/* field `field` of message kind `msg` holds a message of kind `sub` */
static const struct { unsigned char msg, field, sub; } wire_edges[] = {
    {W_MODEL, 7, W_GRAPH},     {W_MODEL, 20, W_TRAINING},     {W_MODEL, 25, W_FUNCTION},
    {W_TRAINING, 1, W_GRAPH},  {W_TRAINING, 2, W_GRAPH},
    {W_FUNCTION, 7, W_NODE},   {W_FUNCTION, 11, W_ATTR},      {W_FUNCTION, 12, W_VALUE_INFO},
    {W_GRAPH, 1, W_NODE},      {W_GRAPH, 11, W_VALUE_INFO},   {W_GRAPH, 12, W_VALUE_INFO},
    {W_GRAPH, 13, W_VALUE_INFO},
    {W_NODE, 5, W_ATTR},
    {W_ATTR, 6, W_GRAPH},      {W_ATTR, 11, W_GRAPH},         {W_ATTR, 14, W_TYPE},
    {W_ATTR, 15, W_TYPE},
    {W_VALUE_INFO, 2, W_TYPE},
    {W_TYPE, 4, W_SEQ},        {W_TYPE, 5, W_MAP},            {W_TYPE, 9, W_OPT},
    {W_SEQ, 1, W_TYPE},        {W_MAP, 2, W_TYPE},            {W_OPT, 1, W_TYPE},
};

static int wire_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* One field of a message: number, wire type, and where its bytes are
 * (start: the key; val: a varint's or fixed value's first byte, or a
 * length-delimited field's payload of len bytes; end: past the field). */
typedef struct wire_field {
    uint64_t num, len;
    int type;
    const unsigned char *start, *val, *end;
} wire_field;

/* The field at *p (advanced past it): 0, or -1 on malformed wire data. */
static int wire_next(const unsigned char **p, const unsigned char *end, wire_field *f)
{
    uint64_t key, v;
    f->start = *p;
    if (wire_varint(p, end, &key))
        return -1;
    f->num = key >> 3;
    f->type = (int)(key & 7);
    f->val = *p;
    f->len = 0;
    switch (f->type) {
    case 0: /* varint */
        if (wire_varint(p, end, &v))
            return -1;
        break;
    case 1: /* 64-bit */
        if (end - *p < 8)
            return -1;
        *p += 8;
        break;
    case 5: /* 32-bit */
        if (end - *p < 4)
            return -1;
        *p += 4;
        break;
    case 2: /* length-delimited: a nested message, string, bytes or packed list */
        if (wire_varint(p, end, &v) || v > (uint64_t)(end - *p))
            return -1;
        f->val = *p;
        f->len = v;
        *p += v;
        break;
    default: /* groups (3, 4) are not part of ONNX; 6, 7 do not exist */
        return -1;
    }
    f->end = *p;
    return 0;
}

/* 0 fine, -1 malformed wire data (protobuf-c would refuse it too), 1 graphs
 * nested too deep, 2 types nested too deep. Recursion is bounded by the
 * counts (at most ~3 frames per graph level and 2 per type level). */
static int wire_scan(const unsigned char *p, const unsigned char *end, int msg, int graphs, int types)
{
    if (msg == W_GRAPH && ++graphs > MAX_NESTING)
        return 1;
    if (msg == W_TYPE && ++types > MAX_NESTING)
        return 2;
    while (p < end) {
        wire_field f;
        if (wire_next(&p, end, &f))
            return -1;
        if (f.type != 2)
            continue;
        for (size_t e = 0; e < sizeof wire_edges / sizeof wire_edges[0]; e++)
            if (wire_edges[e].msg == msg && wire_edges[e].field == f.num) {
                int rc = wire_scan(f.val, f.val + f.len, wire_edges[e].sub, graphs, types);
                if (rc)
                    return rc;
            }
    }
    return 0;
}

/* ---- large weights beside protobuf-c ----
 * protobuf-c copies every bytes field out of the buffer it unpacks, so a
 * model read whole and then unpacked was in memory twice at the peak of
 * loading (VGG-11: 1.04 GB of RSS for 531 MB of weights). Instead the
 * file is mapped; the raw_data of the main graph's large initializers
 * (ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.raw_data
 * = 9) is left out of a re-encoded copy of the rest, whose enclosing
 * lengths are rewritten; protobuf-c unpacks that copy; and each payload
 * is then copied into its TensorProto from the mapping a piece at a time,
 * the file pages of each piece given back once copied. The weights are
 * then in memory once, plus one piece. Anything unexpected (the graph
 * field twice, raw_data twice in a tensor, malformed data) leaves the
 * model to protobuf-c unchanged, which then decides. */
#ifndef ONNXC_STRIP_MIN_BYTES /* the sanitizer and fuzz builds set 16: all their models take this path */
#define ONNXC_STRIP_MIN_BYTES ((uint64_t)1 << 20) /* smaller payloads stay in the protobuf */
#endif
#define STRIP_MIN_BYTES ((uint64_t)ONNXC_STRIP_MIN_BYTES)
#define STRIP_PIECE ((size_t)16 << 20)      /* bytes copied between page drops */

typedef struct strip_payload {
    size_t init;      /* index among the graph's initializers */
    size_t off, len;  /* the payload's bytes in the original buffer */
} strip_payload;

typedef struct stripped {
    unsigned char *buf; /* the re-encoded model, NULL when nothing was left out */
    size_t len;
    strip_payload *pl;
    size_t n;
} stripped;

static unsigned char *put_varint(unsigned char *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *o++ = (unsigned char)v;
    return o;
}

/* The payload of the one raw_data field of TensorProto [p, end) if it is
 * at least STRIP_MIN_BYTES long: its field in *raw; 0 if none (or two). */
static int strip_candidate(const unsigned char *p, const unsigned char *end, wire_field *raw)
{
    int found = 0;
    while (p < end) {
        wire_field f;
        if (wire_next(&p, end, &f))
            return 0;
        if (f.num == 9) {
            if (f.type != 2 || found++)
                return 0;
            *raw = f;
        }
    }
    return found == 1 && raw->len >= STRIP_MIN_BYTES;
}

/* Fills *s (s->buf NULL: use buf as it is). -1 only when out of memory. */
static int strip_weights(const unsigned char *buf, size_t len, stripped *s)
{
    memset(s, 0, sizeof *s);
    const unsigned char *p = buf, *end = buf + len;
    wire_field graph = {0};
    int graphs = 0;
    while (p < end) {
        wire_field f;
        if (wire_next(&p, end, &f))
            return 0;
        if (f.num == 7 && (f.type != 2 || graphs++))
            return 0;
        if (f.num == 7)
            graph = f;
    }
    if (graphs != 1)
        return 0;
    /* count the payloads, and how many bytes their fields take */
    size_t n = 0, removed = 0, init = 0;
    for (p = graph.val; p < graph.val + graph.len;) {
        wire_field f, raw;
        if (wire_next(&p, graph.val + graph.len, &f))
            return 0;
        if (f.num == 5 && f.type == 2 && strip_candidate(f.val, f.val + f.len, &raw))
            n++, removed += (size_t)(raw.end - raw.start);
    }
    if (!n)
        return 0;
    s->pl = malloc(n * sizeof *s->pl);
    /* lengths only shrink when fields are left out; 16 spare bytes: the body
     * is first written 10 bytes past where the graph's key goes */
    s->buf = malloc(len - removed + 16);
    if (!s->pl || !s->buf) {
        free(s->pl), free(s->buf);
        memset(s, 0, sizeof *s);
        return -1;
    }
    /* the model's fields before the graph, the graph (re-encoded), the rest */
    unsigned char *o = s->buf;
    memcpy(o, buf, (size_t)(graph.start - buf));
    o += graph.start - buf;
    /* the graph's body first goes 10 bytes on (room for its key and length) */
    unsigned char *body = o + 10, *b = body;
    for (p = graph.val; p < graph.val + graph.len;) {
        wire_field f, raw;
        wire_next(&p, graph.val + graph.len, &f); /* checked above */
        if (f.num == 5 && f.type == 2 && strip_candidate(f.val, f.val + f.len, &raw)) {
            s->pl[s->n++] = (strip_payload){init, (size_t)(raw.val - buf), (size_t)raw.len};
            b = put_varint(b, 5 << 3 | 2);
            b = put_varint(b, f.len - (uint64_t)(raw.end - raw.start));
            memcpy(b, f.val, (size_t)(raw.start - f.val));
            b += raw.start - f.val;
            memcpy(b, raw.end, (size_t)(f.val + f.len - raw.end));
            b += f.val + f.len - raw.end;
        } else {
            memcpy(b, f.start, (size_t)(f.end - f.start));
            b += f.end - f.start;
        }
        if (f.num == 5)
            init++;
    }
    size_t body_len = (size_t)(b - body);
    o = put_varint(o, 7 << 3 | 2);
    o = put_varint(o, body_len);
    memmove(o, body, body_len);
    o += body_len;
    memcpy(o, graph.end, (size_t)(end - graph.end));
    o += end - graph.end;
    s->len = (size_t)(o - s->buf);
    return 0;
}

/* protobuf-c's allocator, with large blocks (the weights' raw_data) backed
 * by huge pages before they are filled (see oc_advise_huge). */
static void *unpack_alloc_fn(void *ctx, size_t n)
{
    (void)ctx;
    void *p = malloc(n);
    oc_prefault(p, n);
    return p;
}

static void unpack_free_fn(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static ProtobufCAllocator unpack_alloc = {unpack_alloc_fn, unpack_free_fn, NULL};

/* Puts the left-out payloads into the unpacked model's initializers. */
static int strip_fill(const stripped *s, const unsigned char *buf, int mapped, Onnx__ModelProto *mp, oc_diag *d)
{
    for (size_t k = 0; k < s->n; k++) {
        const strip_payload *pl = &s->pl[k];
        if (!mp->graph || pl->init >= mp->graph->n_initializer || mp->graph->initializer[pl->init]->has_raw_data)
            return oc_fail(d, "internal error: initializer %zu was not where the wire data put it", pl->init);
        unsigned char *data = unpack_alloc_fn(NULL, pl->len);
        if (!data)
            return oc_fail(d, "out of memory reading %zu bytes of weights", pl->len);
        for (size_t at = 0; at < pl->len; at += STRIP_PIECE) {
            size_t piece = pl->len - at < STRIP_PIECE ? pl->len - at : STRIP_PIECE;
            memcpy(data + at, buf + pl->off + at, piece);
            if (mapped) /* the file's pages of this piece: copied, not needed again */
                oc_release_pages((void *)(buf + pl->off + at), piece);
        }
        Onnx__TensorProto *tp = mp->graph->initializer[pl->init];
        tp->raw_data.data = data;
        tp->raw_data.len = pl->len;
        tp->has_raw_data = 1;
    }
    return 0;
}

/* ---- tensors ---- */

static const char *ext_value(const Onnx__TensorProto *tp, const char *key)
{
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (e && e->key && strcmp(e->key, key) == 0)
            return e->value ? e->value : "";
    }
    return NULL;
}

static int parse_i64(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < 0)
        return -1;
    *v = x;
    return 0;
}

/* External data lives beside the model: a relative path with no ".."
 * component, so a model cannot make onnxc read arbitrary files. */
/* Reads the external payload of tp into dst (nbytes); with dst NULL only
 * checks that it exists and is long enough, so nothing of the claimed size
 * is allocated for a file that cannot fill it. */
static int read_external(const Onnx__TensorProto *tp, const char *dir, void *dst, size_t nbytes, oc_diag *d)
{
    const char *loc = ext_value(tp, "location");
    const char *off_s = ext_value(tp, "offset"), *len_s = ext_value(tp, "length");
    if (!loc || !*loc)
        return oc_fail(d, "external data has no 'location'");
    if (loc[0] == '/' || loc[0] == '\\' || strchr(loc, ':'))
        return oc_fail(d, "external data location '%s' is an absolute path; it must be relative to the model's folder", loc);
    for (const char *p = loc; *p;) {
        const char *q = p;
        while (*q && *q != '/' && *q != '\\')
            q++;
        if (q - p == 2 && p[0] == '.' && p[1] == '.')
            return oc_fail(d, "external data location '%s' leaves the model's folder", loc);
        p = *q ? q + 1 : q;
    }
    int64_t off = 0, len = (int64_t)nbytes;
    if (off_s && parse_i64(off_s, &off))
        return oc_fail(d, "external data offset '%s' is not a non-negative integer", off_s);
    if (len_s && parse_i64(len_s, &len))
        return oc_fail(d, "external data length '%s' is not a non-negative integer", len_s);
    if ((size_t)len != nbytes)
        return oc_fail(d, "external data length %lld does not match the %zu bytes the shape needs", (long long)len,
                       nbytes);
    if (!dir)
        return oc_fail(d, "external data needs the model's folder");
    size_t pl = strlen(dir) + strlen(loc) + 2;
    char *path = malloc(pl);
    if (!path)
        return oc_fail(d, "out of memory");
    snprintf(path, pl, "%s/%s", dir, loc);
    FILE *f = fopen(path, "rb");
    struct stat st;
    int rc = 0;
    if (!f) {
        rc = oc_fail(d, "external data file '%s': %s", path, strerror(errno));
    } else if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        rc = oc_fail(d, "external data file '%s' is not a regular file", path);
    } else if (off > st.st_size || (int64_t)nbytes > st.st_size - off) {
        rc = oc_fail(d, "external data file '%s' has %lld bytes; the tensor needs %zu at offset %lld", path,
                     (long long)st.st_size, nbytes, (long long)off);
    } else if (dst && (fseeko(f, off, SEEK_SET) || fread(dst, 1, nbytes, f) != nbytes)) {
        rc = oc_fail(d, "external data file '%s': read error", path);
    }
    if (f)
        fclose(f);
    free(path);
    return rc;
}

/* A STRING TensorProto: its string_data, one entry per element (raw_data
 * and external data cannot hold strings); lengths, embedded NULs and the
 * total size are checked by oc_string_tensor_pack. */
static oc_tensor *string_tensor_from_proto(const Onnx__TensorProto *tp, oc_diag *d)
{
    if (tp->n_dims > OC_MAX_RANK) {
        oc_fail(d, "rank %zu exceeds the supported %d", tp->n_dims, OC_MAX_RANK);
        return NULL;
    }
    if (tp->segment) {
        oc_fail(d, "segmented tensors are not supported");
        return NULL;
    }
    if ((tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        tp->has_raw_data) {
        oc_fail(d, "a string tensor must keep its strings in string_data (not raw_data or external data)");
        return NULL;
    }
    int rank = (int)tp->n_dims;
    int64_t numel;
    if (oc_shape_numel(tp->dims, rank, &numel, d))
        return NULL;
    if ((uint64_t)numel != (uint64_t)tp->n_string_data) {
        char shape[256];
        oc_fail(d, "string_data has %zu strings but shape %s needs %lld", tp->n_string_data,
                oc_format_dims(shape, sizeof shape, tp->dims, rank), (long long)numel);
        return NULL;
    }
    const char **bytes = malloc(sizeof *bytes * ((size_t)numel + 1));
    size_t *len = malloc(sizeof *len * ((size_t)numel + 1));
    oc_tensor *t = NULL;
    if (!bytes || !len) {
        oc_fail(d, "out of memory");
    } else {
        for (int64_t i = 0; i < numel; i++) {
            bytes[i] = (const char *)tp->string_data[i].data;
            len[i] = tp->string_data[i].len;
        }
        t = oc_string_tensor_pack(rank, tp->dims, bytes, len, "string_data", d);
    }
    free(bytes);
    free(len);
    return t;
}

/* TensorProto -> oc_tensor. dir: the model's folder, for external data.
 * steal: a large raw_data payload becomes the tensor's data instead of
 * being copied (tp then loses it; only for protos the loader frees next). */
static oc_tensor *tensor_from_proto_ex(const Onnx__TensorProto *tp, const char *dir, int steal, oc_diag *d)
{
    int dtype = tp->has_data_type ? tp->data_type : 0;
    size_t es = oc_dtype_size(dtype);
    if (dtype == OC_STRING)
        return string_tensor_from_proto(tp, d);
    if (!es) {
        oc_fail(d, "element type %d (%s) is not supported", dtype, oc_dtype_name(dtype));
        return NULL;
    }
    if (tp->n_dims > OC_MAX_RANK) {
        oc_fail(d, "rank %zu exceeds the supported %d", tp->n_dims, OC_MAX_RANK);
        return NULL;
    }
    if (tp->segment) {
        oc_fail(d, "segmented tensors are not supported");
        return NULL;
    }
    int rank = (int)tp->n_dims;
    int64_t numel;
    if (oc_shape_numel(tp->dims, rank, &numel, d))
        return NULL;
    if (numel > OC_MAX_TENSOR_BYTES / (int64_t)es) {
        oc_fail(d, "%lld elements is larger than onnxc's per-tensor limit", (long long)numel);
        return NULL;
    }
    /* nbytes in memory; wire bytes in the file, where 2-bit and 4-bit
     * elements are packed (in raw_data and, one byte per entry, in
     * int32_data) */
    size_t nbytes = (size_t)numel * es, wire = oc_dtype_wire_bytes(dtype, numel);
    int packed = oc_dtype_info_of(dtype)->bits < 8;
    char shape[256];
    oc_format_dims(shape, sizeof shape, tp->dims, rank);
    int external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;

    /* Check the payload size before allocating anything of that size. */
    size_t have = 0;
    const char *field = "raw_data";
    if (external) {
        if (read_external(tp, dir, NULL, wire, d))
            return NULL;
        have = wire;
    } else if (tp->has_raw_data) {
        have = tp->raw_data.len;
        if (have != wire) {
            oc_fail(d, "raw_data has %zu bytes but shape %s of %s needs %zu", have, shape, oc_dtype_name(dtype), wire);
            return NULL;
        }
    } else {
        size_t count;
        switch (dtype) {
        case OC_FLOAT: count = tp->n_float_data; field = "float_data"; break;
        case OC_DOUBLE: count = tp->n_double_data; field = "double_data"; break;
        case OC_INT64: count = tp->n_int64_data; field = "int64_data"; break;
        case OC_UINT32: case OC_UINT64: count = tp->n_uint64_data; field = "uint64_data"; break;
        default: count = tp->n_int32_data; field = "int32_data"; break;
        }
        size_t need = packed ? wire : (size_t)numel;
        if (count != need) {
            oc_fail(d, "%s has %zu %s but shape %s of %s needs %zu", field, count, packed ? "packed bytes" : "elements",
                    shape, oc_dtype_name(dtype), need);
            return NULL;
        }
    }
    if (steal && !packed && !external && tp->has_raw_data && nbytes >= ((size_t)64 << 10)) {
        oc_tensor *t = calloc(1, sizeof *t);
        if (!t) {
            oc_fail(d, "out of memory");
            return NULL;
        }
        Onnx__TensorProto *own = (Onnx__TensorProto *)tp; /* the loader's own copy, freed right after */
        t->dtype = dtype;
        t->rank = rank;
        for (int k = 0; k < rank; k++)
            t->dims[k] = tp->dims[k];
        t->numel = numel;
        t->data = own->raw_data.data;
        own->raw_data.data = NULL;
        own->raw_data.len = 0;
        return t;
    }
    oc_tensor *t = oc_tensor_new(dtype, rank, tp->dims, d);
    if (!t)
        return NULL;
    uint8_t *bytes = NULL; /* packed payload from external data or int32_data */
    if (packed && (external || !tp->has_raw_data) && !(bytes = malloc(wire ? wire : 1))) {
        oc_tensor_free(t);
        oc_fail(d, "out of memory");
        return NULL;
    }
    if (external) {
        if (read_external(tp, dir, packed ? bytes : t->data, wire, d)) {
            free(bytes);
            oc_tensor_free(t);
            return NULL;
        }
    } else if (tp->has_raw_data) {
        oc_dtype_unpack(dtype, tp->raw_data.data, numel, t->data);
    } else if (packed) {
        for (size_t i = 0; i < wire; i++)
            bytes[i] = (uint8_t)tp->int32_data[i];
    } else {
        for (int64_t i = 0; i < numel; i++) {
            switch (dtype) {
            case OC_FLOAT: ((float *)t->data)[i] = tp->float_data[i]; break;
            case OC_DOUBLE: ((double *)t->data)[i] = tp->double_data[i]; break;
            case OC_INT64: ((int64_t *)t->data)[i] = tp->int64_data[i]; break;
            case OC_UINT64: ((uint64_t *)t->data)[i] = tp->uint64_data[i]; break;
            case OC_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i]; break;
            case OC_INT32: ((int32_t *)t->data)[i] = tp->int32_data[i]; break;
            case OC_INT16: ((int16_t *)t->data)[i] = (int16_t)tp->int32_data[i]; break;
            case OC_UINT16: case OC_FLOAT16: case OC_BFLOAT16:
                ((uint16_t *)t->data)[i] = (uint16_t)tp->int32_data[i];
                break;
            case OC_INT8: ((int8_t *)t->data)[i] = (int8_t)tp->int32_data[i]; break;
            case OC_BOOL: ((uint8_t *)t->data)[i] = tp->int32_data[i] != 0; break;
            default: ((uint8_t *)t->data)[i] = (uint8_t)tp->int32_data[i]; break; /* uint8, the float8 codes */
            }
        }
    }
    if (bytes)
        oc_dtype_unpack(dtype, bytes, numel, t->data);
    free(bytes);
    return t;
}

static oc_tensor *tensor_from_proto(const Onnx__TensorProto *tp, const char *dir, oc_diag *d)
{
    return tensor_from_proto_ex(tp, dir, 0, d);
}

/* TensorProto tp of file `path` (external data beside it) as a tensor. */
static oc_tensor *tensor_of_file(const Onnx__TensorProto *tp, const char *path, char **name, oc_diag *d)
{
    char *dir = oc_strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = 0;
    oc_tensor *t = tensor_from_proto(tp, slash ? dir : ".", d);
    if (!t)
        oc_diag_prefix(d, "%s: tensor '%s': ", path, tp->name ? tp->name : "");
    else if (name && !(*name = oc_strdup(tp->name))) {
        oc_tensor_free(t);
        t = NULL;
        oc_fail(d, "out of memory");
    }
    free(dir);
    return t;
}

/* The message of type desc in the file at path, or NULL with an error
 * naming the file and the type (what). */
static ProtobufCMessage *read_message(const char *path, const ProtobufCMessageDescriptor *desc, const char *what,
                                      oc_diag *d)
{
    unsigned char *buf;
    size_t len;
    if (oc_read_file(path, &buf, &len, MAX_PROTO_BYTES, d))
        return NULL;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, buf);
    free(buf);
    if (!m)
        oc_fail(d, "%s: not a valid ONNX %s (malformed or truncated protobuf)", path, what);
    return m;
}

oc_tensor *oc_onnx_load_tensor(const char *path, char **name, oc_diag *d)
{
    if (name)
        *name = NULL;
    Onnx__TensorProto *tp =
        (Onnx__TensorProto *)read_message(path, &onnx__tensor_proto__descriptor, "TensorProto", d);
    if (!tp)
        return NULL;
    oc_tensor *t = tensor_of_file(tp, path, name, d);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return t;
}

oc_tensor *oc_onnx_load_optional_tensor(const char *path, char **name, oc_diag *d)
{
    if (name)
        *name = NULL;
    Onnx__OptionalProto *op =
        (Onnx__OptionalProto *)read_message(path, &onnx__optional_proto__descriptor, "OptionalProto", d);
    if (!op)
        return NULL;
    oc_tensor *t = NULL;
    int et = op->has_elem_type ? op->elem_type : 0;
    if (et == ONNX__OPTIONAL_PROTO__DATA_TYPE__TENSOR && op->tensor_value)
        t = tensor_of_file(op->tensor_value, path, name, d);
    else if (et == ONNX__OPTIONAL_PROTO__DATA_TYPE__UNDEFINED && !op->tensor_value)
        oc_fail(d, "%s: optional '%s' holds nothing; onnxc takes an optional graph input only when it holds a tensor",
                path, op->name ? op->name : "");
    else if (et == ONNX__OPTIONAL_PROTO__DATA_TYPE__TENSOR)
        oc_fail(d, "%s: optional '%s' says it holds a tensor but has none", path, op->name ? op->name : "");
    else
        oc_fail(d, "%s: optional '%s' holds a value of kind %d; onnxc reads optionals of tensors only", path,
                op->name ? op->name : "", et);
    onnx__optional_proto__free_unpacked(op, NULL);
    return t;
}

/* ---- types ---- */

static int apply_type(oc_value *v, const Onnx__TypeProto *tp, const char *what, oc_diag *d)
{
    if (!tp)
        return 0;
    /* optional(tensor): the tensor, when present (ops/optional.h) */
    int opt = tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE && tp->optional_type &&
              tp->optional_type->elem_type &&
              tp->optional_type->elem_type->value_case != ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
    if (opt)
        tp = tp->optional_type->elem_type;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE)
        return oc_fail(d, "%s '%s' is %s; onnxc lowers sequences to tensors when they are made and used "
                          "inside the graph, and does not take them as graph inputs or outputs yet",
                       what, v->name, opt ? "an optional sequence" : "a sequence");
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return oc_fail(d, "%s '%s' is not a tensor (map, optional and sparse values are not supported)", what,
                       v->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt)
        return 0;
    if (tt->has_elem_type && tt->elem_type) {
        if (tt->elem_type < 0 || tt->elem_type >= OC_DTYPE_LIMIT)
            return oc_fail(d, "%s '%s' has unknown element type %d", what, v->name, tt->elem_type);
        if (v->dtype && v->dtype != tt->elem_type)
            return oc_fail(d, "%s '%s' is declared %s but holds %s", what, v->name, oc_dtype_name(tt->elem_type),
                           oc_dtype_name(v->dtype));
        v->dtype = tt->elem_type;
    }
    if (!tt->shape)
        return 0;
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (sp->n_dim > OC_MAX_RANK)
        return oc_fail(d, "%s '%s' has rank %zu; at most %d is supported", what, v->name, sp->n_dim, OC_MAX_RANK);
    int rank = (int)sp->n_dim;
    if (v->rank >= 0 && v->rank != rank)
        return oc_fail(d, "%s '%s' is declared with rank %d but holds rank %d", what, v->name, rank, v->rank);
    int64_t dims[OC_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = sp->dim[i];
        dims[i] = -1;
        if (dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dm->dim_value < 0)
                return oc_fail(d, "%s '%s' dimension %d is negative (%lld)", what, v->name, i, (long long)dm->dim_value);
            dims[i] = dm->dim_value;
        }
        if (v->rank >= 0 && v->dims[i] >= 0 && dims[i] >= 0 && v->dims[i] != dims[i])
            return oc_fail(d, "%s '%s' dimension %d is declared %lld but is %lld", what, v->name, i,
                           (long long)dims[i], (long long)v->dims[i]);
    }
    int64_t numel;
    int known = 1;
    for (int i = 0; i < rank; i++)
        known &= dims[i] >= 0;
    if (known && oc_shape_numel(dims, rank, &numel, d)) {
        oc_diag_prefix(d, "%s '%s': ", what, v->name);
        return -1;
    }
    if (v->rank < 0) {
        v->rank = rank;
        for (int i = 0; i < OC_MAX_RANK; i++)
            v->dims[i] = i < rank ? dims[i] : -1;
    }
    for (int i = 0; i < rank; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = sp->dim[i];
        if (dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dm->dim_param &&
            *dm->dim_param && !v->sym[i] && !(v->sym[i] = oc_strdup(dm->dim_param)))
            return oc_fail(d, "out of memory");
    }
    return 0;
}

/* ---- attributes ---- */

typedef struct file_imports file_imports; /* what the model's opset_import lists (below) */
static int import_graph(oc_graph *g, const Onnx__GraphProto *gp, const char *dir, file_imports *im, oc_diag *d);

/* A GraphProto attribute (If branch, Loop/Scan body) as a subgraph of g:
 * names it does not define resolve in the enclosing graphs (captured,
 * see resolve_name). */
static int import_subgraph(oc_graph *g, oc_attr *a, const Onnx__GraphProto *gp, const char *dir, file_imports *im,
                           oc_diag *d)
{
    if (g->depth + 1 > OC_MAX_SUBGRAPH_DEPTH)
        return oc_fail(d, "attribute '%s': subgraphs nest deeper than %d levels", a->name, OC_MAX_SUBGRAPH_DEPTH);
    if (!(a->g = oc_graph_new(gp->name ? gp->name : "", g->opset, d)))
        return -1;
    a->g->parent = g;
    a->g->depth = g->depth + 1;
    a->g->ir_version = g->ir_version;
    if (import_graph(a->g, gp, dir, im, d)) {
        oc_diag_prefix(d, "attribute '%s' (subgraph '%s'): ", a->name, gp->name ? gp->name : "");
        return -1;
    }
    return 0;
}

static int import_attr(oc_graph *g, int nid, const Onnx__AttributeProto *ap, const char *dir, file_imports *im,
                       oc_diag *d)
{
    if (!ap->name || !*ap->name)
        return oc_fail(d, "an attribute has no name");
    if (ap->ref_attr_name)
        return oc_fail(d, "attribute '%s' refers to attribute '%s' of a function, but is not in a local function's body",
                       ap->name, ap->ref_attr_name);
    oc_attr *a = oc_node_add_attr(g, nid, ap->name, d);
    if (!a)
        return -1;
    int type = ap->has_type ? (int)ap->type : 0;
    if (!type) { /* very old files omit the type: infer it from the payload */
        if (ap->n_floats) type = OC_ATTR_FLOATS;
        else if (ap->n_ints) type = OC_ATTR_INTS;
        else if (ap->n_strings) type = OC_ATTR_STRINGS;
        else if (ap->n_tensors) type = OC_ATTR_TENSORS;
        else if (ap->t) type = OC_ATTR_TENSOR;
        else if (ap->g) type = OC_ATTR_GRAPH;
        else if (ap->has_s) type = OC_ATTR_STRING;
        else if (ap->has_f) type = OC_ATTR_FLOAT;
        else if (ap->has_i) type = OC_ATTR_INT;
    }
    a->type = (oc_attr_type)type;
    switch (type) {
    case OC_ATTR_FLOAT: a->f = ap->f; break;
    case OC_ATTR_INT: a->i = ap->i; break;
    case OC_ATTR_STRING:
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return oc_fail(d, "out of memory");
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        a->s_len = ap->s.len;
        break;
    case OC_ATTR_FLOATS:
        if (ap->n_floats > (1u << 24))
            return oc_fail(d, "attribute '%s' has too many floats", ap->name);
        a->n = (int)ap->n_floats;
        if (!(a->floats = malloc(sizeof(float) * (ap->n_floats + 1))))
            return oc_fail(d, "out of memory");
        if (a->n)
            memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
        break;
    case OC_ATTR_INTS:
        if (ap->n_ints > (1u << 24))
            return oc_fail(d, "attribute '%s' has too many ints", ap->name);
        a->n = (int)ap->n_ints;
        if (!(a->ints = malloc(sizeof(int64_t) * (ap->n_ints + 1))))
            return oc_fail(d, "out of memory");
        if (a->n)
            memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
        break;
    case OC_ATTR_STRINGS:
        if (ap->n_strings > (1u << 20))
            return oc_fail(d, "attribute '%s' has too many strings", ap->name);
        if (!(a->strings = calloc(ap->n_strings + 1, sizeof(char *))))
            return oc_fail(d, "out of memory");
        for (size_t i = 0; i < ap->n_strings; i++) {
            if (!(a->strings[i] = malloc(ap->strings[i].len + 1)))
                return oc_fail(d, "out of memory");
            if (ap->strings[i].len)
                memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
            a->strings[i][ap->strings[i].len] = 0;
            a->n = (int)i + 1;
        }
        break;
    case OC_ATTR_TENSOR:
        if (!ap->t)
            return oc_fail(d, "attribute '%s' is a tensor but holds none", ap->name);
        if (!(a->t = tensor_from_proto(ap->t, dir, d))) {
            oc_diag_prefix(d, "attribute '%s': ", ap->name);
            return -1;
        }
        break;
    case OC_ATTR_TENSORS:
        if (ap->n_tensors > (1u << 20))
            return oc_fail(d, "attribute '%s' has too many tensors", ap->name);
        if (!(a->tensors = calloc(ap->n_tensors + 1, sizeof(oc_tensor *))))
            return oc_fail(d, "out of memory");
        for (size_t i = 0; i < ap->n_tensors; i++) {
            if (!(a->tensors[i] = tensor_from_proto(ap->tensors[i], dir, d))) {
                oc_diag_prefix(d, "attribute '%s' tensor %zu: ", ap->name, i);
                return -1;
            }
            a->n = (int)i + 1;
        }
        break;
    case OC_ATTR_GRAPH:
        if (!ap->g)
            return oc_fail(d, "attribute '%s' is a graph but holds none", ap->name);
        return import_subgraph(g, a, ap->g, dir, im, d);
    case OC_ATTR_GRAPHS: case OC_ATTR_SPARSE_TENSOR: case OC_ATTR_SPARSE_TENSORS:
    case OC_ATTR_TYPE_PROTO: case OC_ATTR_TYPE_PROTOS:
        break; /* recorded by type only (see graph.h) */
    default:
        return oc_fail(d, "attribute '%s' has unknown type %d", ap->name, type);
    }
    return 0;
}

/* ---- the model ---- */

/* Value `name` as seen from graph g: its own, or for a subgraph an
 * outer-scope value (ONNX resolves names through the enclosing graphs),
 * which becomes a captured input of g and of every graph in between.
 * -1 when no enclosing graph defines it (no diagnostic), -2 on error. */
static int resolve_name(oc_graph *g, const char *name, oc_diag *d)
{
    int id = oc_graph_find(g, name);
    if (id >= 0 || !g->parent)
        return id;
    int outer = resolve_name(g->parent, name, d);
    if (outer < 0)
        return outer;
    /* its type is copied again by the control-flow op's shape rule */
    const oc_value *ov = &g->parent->values[outer];
    if ((id = oc_graph_add_input(g, name, ov->dtype, ov->rank, ov->rank >= 0 ? ov->dims : NULL, NULL, d)) < 0)
        return -2;
    g->values[id].flags |= OC_VALUE_CAPTURED;
    g->n_captured++;
    return id;
}

/* After node nid's attributes: the outer values its subgraphs captured
 * become its implicit inputs (one slot per value), and each subgraph
 * records which slot feeds each of its captured inputs. */
static int add_implicit_inputs(oc_graph *g, int nid, oc_diag *d)
{
    oc_node *n = &g->nodes[nid];
    for (int a = 0; a < n->n_attrs; a++) {
        oc_graph *sub = n->attrs[a].g;
        if (!sub || !sub->n_captured)
            continue;
        if (!(sub->capture_slot = calloc((size_t)sub->n_captured, sizeof(int))))
            return oc_fail(d, "out of memory");
        for (int c = 0; c < sub->n_captured; c++) {
            const char *name = sub->values[sub->inputs[sub->n_inputs - sub->n_captured + c]].name;
            int id = oc_graph_find(g, name), slot = -1;
            if (id < 0)
                return oc_fail(d, "internal error: captured value '%s' is not in the enclosing graph", name);
            for (int k = n->n_in - n->n_implicit; k < n->n_in && slot < 0; k++)
                if (n->in[k] == id)
                    slot = k;
            if (slot < 0) {
                if (n->n_in >= 1 << 20)
                    return oc_fail(d, "too many captured values");
                int *in = realloc(n->in, sizeof(int) * (size_t)(n->n_in + 2));
                if (!in)
                    return oc_fail(d, "out of memory");
                n->in = in;
                slot = n->n_in++;
                n->in[slot] = id;
                n->n_implicit++;
            }
            sub->capture_slot[c] = slot;
        }
    }
    return 0;
}

/* Domains beside the default one whose ops model files may use: those
 * onnxc registers ops in, never onnxc's own (OC_DOMAIN_ONNXC). */
typedef struct file_domain {
    const char *domain;
    const char *ops; /* for messages */
} file_domain;
static const file_domain file_domains[] = {
    {OC_DOMAIN_PREVIEW, "FlexAttention"},
    {OC_DOMAIN_ML, "ArrayFeatureExtractor, Binarizer, LabelEncoder and TreeEnsemble"},
    {OC_DOMAIN_TRAINING, "Adagrad, Adam, Gradient and Momentum"},
};
#define N_FILE_DOMAINS (sizeof file_domains / sizeof file_domains[0])
#define FILE_DOMAIN_LIST "'" OC_DOMAIN_ML "', '" OC_DOMAIN_PREVIEW "' and '" OC_DOMAIN_TRAINING "'"
/* the newest ai.onnx.ml opset whose ops onnxc follows (TreeEnsemble) */
#define OC_MAX_OPSET_ML 5

static const file_domain *find_file_domain(const char *dom)
{
    for (size_t i = 0; i < N_FILE_DOMAINS; i++)
        if (strcmp(dom, file_domains[i].domain) == 0)
            return &file_domains[i];
    return NULL;
}

/* What the model's opset_import lists. */
struct file_imports {
    int has_default;
    unsigned char imported[N_FILE_DOMAINS];
    /* the model's local functions, and counts while inlining them */
    Onnx__FunctionProto *const *functions;
    size_t n_functions;
    size_t inlined;
    int calls, failed_in_call;
    /* the model's sequences, lowered to lists of tensors (ops/sequence.h) */
    oc_seq_table *seqs;
    /* its empty optionals (ops/optional.h) */
    oc_opt_table *opts;
};

/* One node to add: a NodeProto from the file, or a node of a local
 * function's body after inlining renamed its values and resolved its
 * attribute references (see expand_call). */
typedef struct node_call {
    const Onnx__NodeProto *np;  /* op_type, domain, overload */
    const char *name;
    int n_in;
    const char *const *in;
    int n_out;
    const char *const *out;
    const Onnx__AttributeProto *const *attrs;
    int n_attrs;
} node_call;

/* Local functions (ModelProto.functions): a node whose (domain, op_type,
 * overload) names one is replaced at import by the function's body,
 * renamed and with its attribute references resolved; nothing after the
 * importer sees functions. Calls nest at most this deep (a function that
 * calls itself is refused here), and one model inlines at most this many
 * nodes (calls that fan out at every level grow exponentially). */
#define MAX_CALL_DEPTH 32
#define MAX_INLINED_NODES (1 << 20)

/* A default-domain op whose output is no tensor value: a sequence, or an
 * empty optional. */
static int makes_no_tensor(const Onnx__NodeProto *np)
{
    const char *dom = np->domain ? np->domain : "";
    if ((*dom && strcmp(dom, "ai.onnx") != 0) || !np->op_type)
        return 0;
    return oc_seq_op_kind(np->op_type) == 2 ||
           oc_opt_makes_empty(np->op_type, (int)np->n_input, (const char *const *)np->input);
}

static const Onnx__FunctionProto *find_function(const file_imports *im, const Onnx__NodeProto *np)
{
    const char *dom = np->domain ? np->domain : "", *ov = np->overload ? np->overload : "";
    for (size_t i = 0; i < im->n_functions; i++) {
        const Onnx__FunctionProto *f = im->functions[i];
        if (strcmp(f->name ? f->name : "", np->op_type ? np->op_type : "") == 0 &&
            strcmp(f->domain ? f->domain : "", dom) == 0 && strcmp(f->overload ? f->overload : "", ov) == 0)
            return f;
    }
    return NULL;
}

static int import_node(oc_graph *g, const node_call *c, int depth, const char *dir, file_imports *im, oc_diag *d);

/* What is wrong with the model's local functions, or NULL: each needs a
 * name, and no two may share (domain, name, overload). */
static int check_functions(const Onnx__ModelProto *mp, oc_diag *d)
{
    for (size_t i = 0; i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        if (!f->name || !*f->name)
            return oc_fail(d, "local function %zu has no name", i);
        for (size_t j = 0; j < i; j++) {
            const Onnx__FunctionProto *e = mp->functions[j];
            if (strcmp(e->name, f->name) == 0 && strcmp(e->domain ? e->domain : "", f->domain ? f->domain : "") == 0 &&
                strcmp(e->overload ? e->overload : "", f->overload ? f->overload : "") == 0)
                return oc_fail(d, "local functions %zu and %zu are both '%s' in domain '%s' (overload '%s')", j, i,
                               f->name, f->domain ? f->domain : "", f->overload ? f->overload : "");
        }
    }
    return 0;
}

/* The name a body value of function call c takes in the graph: a formal
 * input is the call's actual input ("" when the call omits it), a formal
 * output the call's actual output, anything else the call's prefix plus
 * its own name. Returns a string in *buf (or an actual name). */
static const char *rename_in_call(const Onnx__FunctionProto *f, const node_call *c, const char *prefix,
                                  const char *name, char **buf)
{
    *buf = NULL;
    if (!name || !*name)
        return "";
    for (size_t i = 0; i < f->n_input; i++)
        if (f->input[i] && strcmp(f->input[i], name) == 0)
            return (int)i < c->n_in && c->in[i] ? c->in[i] : "";
    for (size_t i = 0; i < f->n_output; i++)
        if (f->output[i] && strcmp(f->output[i], name) == 0 && (int)i < c->n_out && c->out[i] && *c->out[i])
            return c->out[i];
    size_t lp = strlen(prefix), ln = strlen(name);
    if (!(*buf = malloc(lp + ln + 1)))
        return NULL;
    memcpy(*buf, prefix, lp);
    memcpy(*buf + lp, name, ln + 1);
    return *buf;
}

/* Attribute references in a body node: `ap` with ref_attr_name takes the
 * call's attribute of that name, else the function's default
 * (attribute_proto), else it is left out. A shallow copy carries the body
 * attribute's own name. Returns 0 and sets *out (NULL: left out). */
static int resolve_attr_ref(const Onnx__FunctionProto *f, const node_call *c, const Onnx__AttributeProto *ap,
                            Onnx__AttributeProto *copy, const Onnx__AttributeProto **out, oc_diag *d)
{
    *out = ap;
    if (!ap->ref_attr_name)
        return 0;
    const Onnx__AttributeProto *src = NULL;
    for (int i = 0; i < c->n_attrs && !src; i++)
        if (c->attrs[i]->name && strcmp(c->attrs[i]->name, ap->ref_attr_name) == 0)
            src = c->attrs[i];
    for (size_t i = 0; i < f->n_attribute_proto && !src; i++)
        if (f->attribute_proto[i]->name && strcmp(f->attribute_proto[i]->name, ap->ref_attr_name) == 0)
            src = f->attribute_proto[i];
    if (!src) {
        int declared = 0;
        for (size_t i = 0; i < f->n_attribute; i++)
            declared |= f->attribute[i] && strcmp(f->attribute[i], ap->ref_attr_name) == 0;
        if (!declared)
            return oc_fail(d, "attribute '%s' refers to '%s', which the function does not declare",
                           ap->name ? ap->name : "", ap->ref_attr_name);
        *out = NULL; /* declared, not given, no default: the attribute is absent */
        return 0;
    }
    if (src->ref_attr_name)
        return oc_fail(d, "attribute '%s' refers to '%s', whose value is itself a reference", ap->name ? ap->name : "",
                       ap->ref_attr_name);
    if (ap->has_type && src->has_type && ap->type != src->type)
        return oc_fail(d, "attribute '%s' refers to '%s', whose type (%d) is not the one the body expects (%d)",
                       ap->name ? ap->name : "", ap->ref_attr_name, (int)src->type, (int)ap->type);
    *copy = *src;
    copy->name = ap->name;
    *out = copy;
    return 0;
}

/* Call c of local function f: every body node added to g under renamed
 * values (see rename_in_call); body nodes that call functions expand in
 * turn. */
static int expand_call(oc_graph *g, const node_call *c, const Onnx__FunctionProto *f, int depth, const char *dir,
                       file_imports *im, oc_diag *d)
{
    const char *fname = f->name ? f->name : "";
    if (depth >= MAX_CALL_DEPTH)
        return oc_fail(d, "local function calls nest more than %d deep (a function that calls itself?)",
                       MAX_CALL_DEPTH);
    if ((size_t)c->n_in > f->n_input || (size_t)c->n_out > f->n_output)
        return oc_fail(d, "the call has %d inputs and %d outputs; function '%s' takes at most %zu and %zu", c->n_in,
                       c->n_out, fname, f->n_input, f->n_output);
    if (f->n_node > MAX_INLINED_NODES || (im->inlined += f->n_node) > MAX_INLINED_NODES)
        return oc_fail(d, "inlining local functions makes more than %d nodes", MAX_INLINED_NODES);
    char prefix[320];
    snprintf(prefix, sizeof prefix, "%s/%s#%d/", c->name, fname, im->calls++);
    int rc = -1;
    size_t cap = 0;
    char **bufs = NULL;        /* renamed names of the body node being added */
    const char **names = NULL; /* its inputs, then outputs */
    const Onnx__AttributeProto **attrs = NULL;
    Onnx__AttributeProto *copies = NULL;
    /* declare every body output first, as import_graph does for a graph */
    for (size_t k = 0; k < f->n_node; k++) {
        const Onnx__NodeProto *b = f->node[k];
        if (makes_no_tensor(b))
            continue;
        for (size_t j = 0; j < b->n_output; j++) {
            char *buf;
            const char *o = rename_in_call(f, c, prefix, b->output[j], &buf);
            if (!o) {
                oc_fail(d, "out of memory");
                goto done;
            }
            if (*o && oc_graph_find(g, o) < 0 && oc_graph_add_value(g, o, d) < 0) {
                free(buf);
                goto done;
            }
            free(buf);
        }
    }
    for (size_t k = 0; k < f->n_node; k++) {
        const Onnx__NodeProto *b = f->node[k];
        const char *op_type = b->op_type ? b->op_type : "";
        if (b->n_input > 4096 || b->n_output > 4096) {
            oc_fail(d, "body node %zu (%s) has too many inputs or outputs", k, op_type);
            goto done;
        }
        size_t need = b->n_input + b->n_output + b->n_attribute + 1;
        if (need > cap) {
            free(bufs);
            free(names);
            free(attrs);
            free(copies);
            cap = need;
            bufs = calloc(cap, sizeof *bufs);
            names = calloc(cap, sizeof *names);
            attrs = calloc(cap, sizeof *attrs);
            copies = calloc(cap, sizeof *copies);
            if (!bufs || !names || !attrs || !copies) {
                oc_fail(d, "out of memory");
                goto done;
            }
        }
        size_t nn = b->n_input + b->n_output;
        for (size_t j = 0; j < nn; j++) {
            const char *nm = j < b->n_input ? b->input[j] : b->output[j - b->n_input];
            if (!(names[j] = rename_in_call(f, c, prefix, nm, &bufs[j]))) {
                oc_fail(d, "out of memory");
                goto body_fail;
            }
        }
        int na = 0;
        for (size_t a = 0; a < b->n_attribute; a++) {
            const Onnx__AttributeProto *ap = b->attribute[a];
            if (ap->g || ap->n_graphs) {
                oc_fail(d, "body node %zu (%s): attribute '%s' holds a subgraph; onnxc does not inline subgraphs in "
                           "local functions yet",
                        k, op_type, ap->name ? ap->name : "");
                goto body_fail;
            }
            if (resolve_attr_ref(f, c, ap, &copies[a], &attrs[na], d)) {
                oc_diag_prefix(d, "body node %zu (%s): ", k, op_type);
                goto body_fail;
            }
            na += attrs[na] != NULL;
        }
        char bname[400];
        snprintf(bname, sizeof bname, "%s%s", prefix, b->name && *b->name ? b->name : op_type);
        node_call bc = {b, bname, (int)b->n_input, names, (int)b->n_output, names + b->n_input, attrs, na};
        int r = import_node(g, &bc, depth + 1, dir, im, d);
        for (size_t j = 0; j < nn; j++)
            free(bufs[j]), bufs[j] = NULL;
        if (r)
            goto done;
        continue;
    body_fail:
        for (size_t j = 0; j < nn; j++)
            free(bufs[j]), bufs[j] = NULL;
        goto done;
    }
    rc = 0;
done:
    free(bufs);
    free(names);
    free(attrs);
    free(copies);
    if (rc && !im->failed_in_call) { /* the innermost call names itself; the outer ones add nothing */
        im->failed_in_call = 1;
        oc_diag_prefix(d, "local function '%s%s%s' (called by '%s'): ", f->domain && *f->domain ? f->domain : "",
                       f->domain && *f->domain ? "." : "", fname, c->name);
    }
    return rc;
}

/* An input of c that is an empty optional (ops/optional.h): only the
 * optional ops take one. */
static int refuse_empty_optionals(const oc_graph *g, const node_call *c, const file_imports *im, oc_diag *d)
{
    for (int j = 0; j < c->n_in; j++)
        if (c->in[j] && *c->in[j] && oc_opt_is_empty(im->opts, g, c->in[j]))
            return oc_fail(d, "node '%s' (%s) input %d '%s' is an empty optional; onnxc takes those only as inputs "
                              "of OptionalHasElement and OptionalGetElement",
                           c->name, c->np->op_type ? c->np->op_type : "", j, c->in[j]);
    return 0;
}

/* An optional op (ops/optional.h): lowered at import. Tensor inputs of
 * Optional and OptionalGetElement resolve as for any node (captured from
 * an enclosing graph if need be); OptionalHasElement only asks whether
 * its input exists. */
static int import_optional_node(oc_graph *g, const node_call *c, file_imports *im, oc_diag *d)
{
    char lb[300];
    const char *op_type = c->np->op_type;
    if (strcmp(op_type, "OptionalHasElement") != 0)
        for (int j = 0; j < c->n_in; j++)
            if (c->in[j] && *c->in[j] && !oc_opt_is_empty(im->opts, g, c->in[j]) &&
                !oc_seq_has(im->seqs, g, c->in[j]) && resolve_name(g, c->in[j], d) == -2)
                return -1;
    if (oc_opt_lower(g, &im->opts, im->seqs, op_type, c->name, c->n_in, c->in, c->n_out, c->out, d)) {
        snprintf(lb, sizeof lb, "node '%s' (%s): ", c->name, op_type);
        oc_diag_prefix(d, "%s", lb);
        return -1;
    }
    return 0;
}

/* A sequence op (ops/sequence.h): its tensor inputs resolve as for any
 * node, its attributes are read here, the rest is the lowering's. */
static int import_sequence_node(oc_graph *g, const node_call *c, file_imports *im, oc_diag *d)
{
    char lb[300];
    const char *op_type = c->np->op_type;
    if (refuse_empty_optionals(g, c, im, d))
        return -1;
    for (int j = 0; j < c->n_in; j++)
        if (c->in[j] && *c->in[j] && !oc_seq_has(im->seqs, g, c->in[j]) && resolve_name(g, c->in[j], d) == -2)
            return -1;
    oc_seq_attrs at = {0, 0, 0, 1};
    for (int a = 0; a < c->n_attrs; a++) {
        const Onnx__AttributeProto *ap = c->attrs[a];
        const char *an = ap->name ? ap->name : "";
        if (ap->ref_attr_name)
            return oc_fail(d, "node '%s' (%s): attribute '%s' refers to a function attribute outside a function",
                           c->name, op_type, an);
        if (strcmp(an, "axis") == 0)
            at.has_axis = 1, at.axis = ap->i;
        else if (strcmp(an, "new_axis") == 0)
            at.new_axis = ap->i;
        else if (strcmp(an, "keepdims") == 0)
            at.keepdims = ap->i;
    }
    if (at.new_axis != 0 && at.new_axis != 1)
        return oc_fail(d, "node '%s' (%s): new_axis must be 0 or 1, got %lld", c->name, op_type,
                       (long long)at.new_axis);
    if (oc_seq_lower(g, &im->seqs, op_type, c->name, c->n_in, c->in, c->n_out, c->out, &at, d)) {
        snprintf(lb, sizeof lb, "node '%s' (%s): ", c->name, op_type);
        oc_diag_prefix(d, "%s", lb);
        return -1;
    }
    return 0;
}

/* Node c into g: a call of a local function expands (expand_call);
 * anything else must be an op onnxc knows, in a domain the model imports. */
static int import_node(oc_graph *g, const node_call *c, int depth, const char *dir, file_imports *im, oc_diag *d)
{
    char lb[300];
    const Onnx__NodeProto *np = c->np;
    const char *op_type = np->op_type ? np->op_type : "", *name = c->name;
    if (!*op_type)
        return oc_fail(d, "node '%s' has no op_type", name);
    const Onnx__FunctionProto *f = find_function(im, np);
    if (f)
        return expand_call(g, c, f, depth, dir, im, d);
    const char *dom = np->domain ? np->domain : "";
    if (strcmp(dom, "ai.onnx") == 0)
        dom = "";
    if (!*dom && im->has_default && oc_seq_op_kind(op_type))
        return import_sequence_node(g, c, im, d);
    if (!*dom && im->has_default && oc_opt_op_kind(op_type))
        return import_optional_node(g, c, im, d);
    if (strcmp(dom, OC_DOMAIN_ONNXC) == 0)
        return oc_fail(d, "node '%s' (%s) is in domain '%s', onnxc's internal domain, which model files cannot use",
                       name, op_type, dom);
    if (!*dom && !im->has_default)
        return oc_fail(d, "node '%s' (%s) is in the default ONNX domain, which the model does not import", name,
                       op_type);
    if (*dom) {
        const file_domain *fd = find_file_domain(dom);
        if (!fd)
            return oc_fail(d, "node '%s' (%s) is in domain '%s'; onnxc supports only the default ONNX domain, %s "
                              "and the model's local functions",
                           name, op_type, dom, FILE_DOMAIN_LIST);
        if (!im->imported[fd - file_domains])
            return oc_fail(d, "node '%s' (%s) is in domain '%s', which the model does not import", name, op_type,
                           dom);
        if (!oc_op_find(dom, op_type))
            return oc_fail(d, "node '%s' (%s): onnxc has no op of that name in domain '%s' (only %s)", name,
                           op_type, dom, fd->ops);
    }
    /* onnxc's gradient ops and own losses are no ONNX ops: from a file
     * they are unknown, and refused outright because their shape rules
     * trust the graphs autodiff builds */
    if (!oc_op_find(dom, op_type) && oc_op_find(OC_DOMAIN_ONNXC, op_type))
        return oc_fail(d, "node '%s' (%s): unknown op in domain '%s' (onnxc has an internal op of that name in "
                          "domain '%s', which model files cannot use)",
                       name, op_type, dom, OC_DOMAIN_ONNXC);
    if (refuse_empty_optionals(g, c, im, d))
        return -1;
    for (int j = 0; j < c->n_in; j++) {
        if (c->in[j] && *c->in[j] && oc_seq_has(im->seqs, g, c->in[j]))
            return oc_fail(d, "node '%s' (%s) input %d '%s' is a sequence; onnxc lowers sequences to tensors and "
                              "supports them only as inputs of the sequence ops",
                           name, op_type, j, c->in[j]);
        if (c->in[j] && *c->in[j] && resolve_name(g, c->in[j], d) == -2)
            return -1;
    }
    int nid = oc_graph_add_node_in(g, dom, op_type, name, c->n_in, c->in, c->n_out, c->out, d);
    if (nid < 0)
        return -1;
    for (int a = 0; a < c->n_attrs; a++)
        if (import_attr(g, nid, c->attrs[a], dir, im, d)) {
            oc_diag_prefix(d, "%s: ", oc_node_label(&g->nodes[nid], lb, sizeof lb));
            return -1;
        }
    if (add_implicit_inputs(g, nid, d)) {
        oc_diag_prefix(d, "%s: ", oc_node_label(&g->nodes[nid], lb, sizeof lb));
        return -1;
    }
    return 0;
}

/* 1 when a node of gp that makes an empty optional outputs `name`. */
static int makes_empty_optional_named(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        if (makes_no_tensor(np) && np->op_type && oc_opt_op_kind(np->op_type) && np->n_output == 1 &&
            np->output[0] && strcmp(np->output[0], name) == 0)
            return 1;
    }
    return 0;
}

static int import_graph(oc_graph *g, const Onnx__GraphProto *gp, const char *dir, file_imports *im, oc_diag *d)
{
    /* initializers first: an input with the same name is an input with a
     * default value (IR < 4 lists every weight as an input); onnxc treats
     * such inputs as constants */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        if (!*name)
            return oc_fail(d, "initializer %zu has no name", i);
        oc_tensor *t = tensor_from_proto_ex(tp, dir, 1, d);
        if (!t) {
            oc_diag_prefix(d, "initializer '%s': ", name);
            return -1;
        }
        if (oc_graph_add_initializer(g, name, t, d) < 0)
            return -1;
    }
    if (gp->n_sparse_initializer)
        return oc_fail(d, "sparse initializers are not supported");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi->name ? vi->name : "";
        int id = oc_graph_find(g, name);
        if (id >= 0 && (g->values[id].flags & OC_VALUE_INITIALIZER)) {
            if (apply_type(&g->values[id], vi->type, "input", d))
                return -1;
            continue;
        }
        if (id >= 0)
            return oc_fail(d, "graph input '%s' is listed twice", name);
        if ((id = oc_graph_add_input(g, name, 0, -1, NULL, NULL, d)) < 0)
            return -1;
        if (apply_type(&g->values[id], vi->type, "input", d))
            return -1;
        if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)
            g->values[id].flags |= OC_VALUE_OPTIONAL;
        /* a subgraph's inputs (Loop/Scan body) get their types from the op */
        if (!g->parent && (g->values[id].rank < 0 || !g->values[id].dtype))
            return oc_fail(d, "graph input '%s' has no tensor type with a shape", name);
    }
    /* declare node outputs so nodes may be listed in any order */
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        if (makes_no_tensor(np))
            continue; /* no tensor: ops/sequence.h, ops/optional.h */
        for (size_t j = 0; j < np->n_output; j++) {
            const char *o = np->output[j];
            if (!o || !*o)
                continue;
            if (oc_graph_find(g, o) >= 0)
                return oc_fail(d, "node '%s' (%s) output '%s' is defined more than once", np->name ? np->name : "",
                               np->op_type ? np->op_type : "?", o);
            if (oc_graph_add_value(g, o, d) < 0)
                return -1;
        }
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int id = oc_graph_find(g, vi->name ? vi->name : "");
        if (id >= 0 && apply_type(&g->values[id], vi->type, "value_info", d))
            return -1;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = vi->name ? vi->name : "";
        int id = resolve_name(g, name, d);
        if (id == -2)
            return -1;
        if (id < 0 && makes_empty_optional_named(gp, name))
            return oc_fail(d, "graph output '%s' is an empty optional (Optional without an input); onnxc does not "
                              "output optionals that hold nothing",
                           name);
        if (id < 0)
            return oc_fail(d, "graph output '%s' is not produced by any node, input or initializer", name);
        if (apply_type(&g->values[id], vi->type, "output", d) || oc_graph_mark_output(g, id, d))
            return -1;
    }
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        const char *op_type = np->op_type ? np->op_type : "";
        char gen[64];
        const char *name = np->name;
        if (!name || !*name) {
            snprintf(gen, sizeof gen, "%s_%zu", op_type, k);
            name = gen;
        }
        if (np->n_input > 4096 || np->n_output > 4096)
            return oc_fail(d, "node '%s' (%s) has too many inputs or outputs", name, op_type);
        node_call c = {np, name, (int)np->n_input, (const char *const *)np->input, (int)np->n_output,
                       (const char *const *)np->output, (const Onnx__AttributeProto *const *)np->attribute,
                       (int)np->n_attribute};
        if (import_node(g, &c, 0, dir, im, d))
            return -1;
    }
    if (oc_graph_toposort(g, d) || oc_graph_validate(g, d))
        return -1;
    return 0;
}

/* How load_model holds the bytes it is given: the caller's, or a mapping it ends. */
enum { BUF_BORROWED, BUF_MAPPED };

static oc_graph *load_model(const unsigned char *buf, size_t len, const char *path, int hold, oc_diag *d);

oc_graph *oc_onnx_load(const char *path, oc_diag *d)
{
    const unsigned char *buf;
    size_t len;
    if (oc_map_file(path, &buf, &len, MAX_PROTO_BYTES, d))
        return NULL;
    return load_model(buf, len, path, BUF_MAPPED, d); /* unmaps once the weights are copied */
}

oc_graph *oc_onnx_load_memory(const unsigned char *buf, size_t len, const char *path, oc_diag *d)
{
    return load_model(buf, len, path, BUF_BORROWED, d);
}

static void release_buf(const unsigned char *buf, size_t len, int hold)
{
    if (hold == BUF_MAPPED)
        oc_unmap_file(buf, len);
}

/* buf is released (hold) as soon as protobuf-c and strip_fill have
 * copied what they need: a model is then in memory once, not twice,
 * while it is built. */
static oc_graph *load_model(const unsigned char *buf, size_t len, const char *path, int hold, oc_diag *d)
{
    if (len > MAX_PROTO_BYTES) {
        release_buf(buf, len, hold);
        oc_fail(d, "%s: more than %zu bytes; larger models must keep their weights as external data", path,
                MAX_PROTO_BYTES);
        return NULL;
    }
    int nest = wire_scan(buf, buf + len, W_MODEL, 0, 0);
    if (nest > 0) {
        oc_fail(d, "%s: %s are nested more than %d deep; onnxc refuses such files", path,
                nest == 1 ? "subgraphs (graphs in node attributes)" : "type descriptions (TypeProto)", MAX_NESTING);
        release_buf(buf, len, hold);
        return NULL;
    }
    stripped st = {0};
    if (nest == 0 && strip_weights(buf, len, &st)) {
        release_buf(buf, len, hold);
        oc_fail(d, "%s: out of memory", path);
        return NULL;
    }
    Onnx__ModelProto *mp =
        nest < 0 ? NULL : onnx__model_proto__unpack(&unpack_alloc, st.buf ? st.len : len, st.buf ? st.buf : buf);
    free(st.buf);
    if (mp && strip_fill(&st, buf, hold == BUF_MAPPED, mp, d)) {
        protobuf_c_message_free_unpacked(&mp->base, &unpack_alloc);
        free(st.pl);
        release_buf(buf, len, hold);
        oc_diag_prefix(d, "%s: ", path);
        return NULL;
    }
    free(st.pl);
    release_buf(buf, len, hold);
    if (!mp) {
        oc_fail(d, "%s: not a valid ONNX model (malformed or truncated protobuf)", path);
        return NULL;
    }
    oc_graph *g = NULL;
    int64_t opset = -1, opset_ml = 0;
    file_imports im = {0};
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = mp->opset_import[i];
        const char *dom = os->domain ? os->domain : "";
        const file_domain *fd = find_file_domain(dom);
        if (!*dom || strcmp(dom, "ai.onnx") == 0)
            opset = os->has_version ? os->version : 0;
        else if (fd)
            im.imported[fd - file_domains] = 1;
        if (strcmp(dom, OC_DOMAIN_ML) == 0)
            opset_ml = os->has_version ? os->version : 0;
    }
    /* a file that imports no opset at all is taken as opset 1 (IR 1-2);
     * one that imports only other domains (ai.onnx.ml models) gets the
     * newest opset for any node onnxc adds, and no default-domain nodes */
    im.has_default = opset >= 0 || !mp->n_opset_import;
    im.functions = mp->functions;
    im.n_functions = mp->n_functions;
    if (!mp->graph) {
        oc_fail(d, "%s: the model has no graph", path);
    } else if (check_functions(mp, d)) {
        oc_diag_prefix(d, "%s: ", path);
    } else if (opset > OC_MAX_OPSET) {
        oc_fail(d, "%s: opset %lld is newer than the newest onnxc supports (%d)", path, (long long)opset, OC_MAX_OPSET);
    } else if (opset == 0) {
        oc_fail(d, "%s: opset version 0 is not valid", path);
    } else if (im.imported[find_file_domain(OC_DOMAIN_ML) - file_domains] && (opset_ml < 1 || opset_ml > OC_MAX_OPSET_ML)) {
        oc_fail(d, "%s: opset %lld of domain '%s' is not one onnxc supports (1 to %d)", path, (long long)opset_ml,
                OC_DOMAIN_ML, OC_MAX_OPSET_ML);
    } else if ((g = oc_graph_new(mp->graph->name ? mp->graph->name : "",
                                 opset > 0 ? opset : im.has_default ? 1 : OC_MAX_OPSET, d))) {
        g->opset_ml = opset_ml;
        char *dir = oc_strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash)
            *slash = 0;
        char producer[256];
        snprintf(producer, sizeof producer, "%s%s%s", mp->producer_name ? mp->producer_name : "",
                 mp->producer_version && *mp->producer_version ? " " : "",
                 mp->producer_version ? mp->producer_version : "");
        free(g->producer);
        free(g->source);
        g->producer = oc_strdup(producer);
        g->source = oc_strdup(path);
        g->ir_version = mp->has_ir_version ? mp->ir_version : 0;
        if (!dir || !g->producer || !g->source || import_graph(g, mp->graph, slash ? dir : ".", &im, d) ||
            oc_expand_gradient_ops(g, d)) {
            oc_fail(d, "out of memory");
            oc_diag_prefix(d, "%s: ", path);
            oc_graph_free(g);
            g = NULL;
        }
        free(dir);
    }
    oc_seq_table_free(im.seqs);
    oc_opt_table_free(im.opts);
    onnx__model_proto__free_unpacked(mp, &unpack_alloc);
    return g;
}
