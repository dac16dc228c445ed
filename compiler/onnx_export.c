/* onnx_export.c: IR -> ONNX ModelProto (protobuf-c). Every tensor is
 * written as raw_data (little-endian; 2-bit and 4-bit types packed as the
 * ONNX spec says), values keep their inferred types as
 * value_info, and symbolic dims keep their names. */
#include "onnx_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "../runtime/strtensor.h"
#include "../runtime/dtype.h"
#include "../runtime/io.h"

/* Arena of everything the proto structs point to, freed at once. */
typedef struct pool {
    void **blocks;
    size_t n, cap;
    int oom;
} pool;

static void *palloc(pool *p, size_t size)
{
    if (p->oom)
        return NULL;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        void **nb = realloc(p->blocks, nc * sizeof *nb);
        if (!nb) {
            p->oom = 1;
            return NULL;
        }
        p->blocks = nb;
        p->cap = nc;
    }
    void *m = calloc(1, size ? size : 1);
    if (!m) {
        p->oom = 1;
        return NULL;
    }
    p->blocks[p->n++] = m;
    return m;
}

static void pool_free(pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->blocks[i]);
    free(p->blocks);
}

static Onnx__TensorProto *tensor_proto(pool *p, const oc_tensor *t, const char *name)
{
    Onnx__TensorProto *tp = palloc(p, sizeof *tp);
    int64_t *dims = palloc(p, sizeof(int64_t) * (size_t)(t->rank + 1));
    if (!tp || !dims)
        return NULL;
    onnx__tensor_proto__init(tp);
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    tp->n_dims = (size_t)t->rank;
    tp->dims = dims;
    tp->has_data_type = 1;
    tp->data_type = t->dtype;
    tp->name = (char *)name;
    if (t->dtype == OC_STRING) { /* strings go in string_data, one entry each, bytes borrowed */
        const oc_str *src = t->data;
        ProtobufCBinaryData *sd = palloc(p, sizeof *sd * ((size_t)t->numel + 1));
        if (!sd)
            return NULL;
        for (int64_t i = 0; i < t->numel; i++)
            sd[i] = (ProtobufCBinaryData){(size_t)src[i].n, (uint8_t *)oc_str_bytes(src[i])};
        tp->n_string_data = (size_t)t->numel;
        tp->string_data = sd;
        return tp;
    }
    tp->has_raw_data = 1;
    if (oc_dtype_info_of(t->dtype)->bits < 8) { /* 2-bit and 4-bit elements are packed in files */
        size_t wire = oc_dtype_wire_bytes(t->dtype, t->numel);
        uint8_t *packed = palloc(p, wire);
        if (!packed)
            return NULL;
        oc_dtype_pack(t->dtype, t->data, t->numel, packed);
        tp->raw_data.len = wire;
        tp->raw_data.data = packed;
        return tp;
    }
    tp->raw_data.len = oc_tensor_nbytes(t);
    tp->raw_data.data = t->data; /* borrowed: not freed by the pool */
    return tp;
}

static Onnx__ValueInfoProto *value_info(pool *p, const oc_value *v)
{
    Onnx__ValueInfoProto *vi = palloc(p, sizeof *vi);
    Onnx__TypeProto *tp = palloc(p, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = palloc(p, sizeof *tt);
    if (!vi || !tp || !tt)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    vi->name = v->name;
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = v->dtype != 0;
    tt->elem_type = v->dtype;
    if (v->rank >= 0) {
        Onnx__TensorShapeProto *sp = palloc(p, sizeof *sp);
        Onnx__TensorShapeProto__Dimension **dims = palloc(p, sizeof(void *) * (size_t)(v->rank + 1));
        if (!sp || !dims)
            return NULL;
        onnx__tensor_shape_proto__init(sp);
        for (int i = 0; i < v->rank; i++) {
            Onnx__TensorShapeProto__Dimension *dm = palloc(p, sizeof *dm);
            if (!dm)
                return NULL;
            onnx__tensor_shape_proto__dimension__init(dm);
            if (v->dims[i] >= 0) {
                dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dm->dim_value = v->dims[i];
            } else if (v->sym[i]) {
                dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dm->dim_param = v->sym[i];
            }
            dims[i] = dm;
        }
        sp->n_dim = (size_t)v->rank;
        sp->dim = dims;
        tt->shape = sp;
    }
    return vi;
}

static Onnx__AttributeProto *attr_proto(pool *p, const oc_attr *a)
{
    Onnx__AttributeProto *ap = palloc(p, sizeof *ap);
    if (!ap)
        return NULL;
    onnx__attribute_proto__init(ap);
    ap->name = a->name;
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OC_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
    case OC_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case OC_ATTR_STRING:
        ap->has_s = 1;
        ap->s.len = a->s_len;
        ap->s.data = (uint8_t *)a->s;
        break;
    case OC_ATTR_FLOATS: ap->n_floats = (size_t)a->n; ap->floats = a->floats; break;
    case OC_ATTR_INTS: ap->n_ints = (size_t)a->n; ap->ints = a->ints; break;
    case OC_ATTR_TENSOR:
        if (!(ap->t = tensor_proto(p, a->t, "")))
            return NULL;
        break;
    case OC_ATTR_STRINGS: {
        ProtobufCBinaryData *s = palloc(p, sizeof *s * (size_t)(a->n + 1));
        if (!s)
            return NULL;
        for (int i = 0; i < a->n; i++) {
            s[i].len = strlen(a->strings[i]);
            s[i].data = (uint8_t *)a->strings[i];
        }
        ap->n_strings = (size_t)a->n;
        ap->strings = s;
        break;
    }
    default:
        return NULL; /* caller reports */
    }
    return ap;
}

int oc_onnx_encode(const oc_graph *g, unsigned char **out, size_t *out_len, oc_diag *d)
{
    *out = NULL;
    *out_len = 0;
    pool p = {0};
    Onnx__ModelProto mp;
    Onnx__GraphProto gp;
    Onnx__OperatorSetIdProto os, os_onnxc, os_preview, os_ml, os_training;
    Onnx__OperatorSetIdProto *osp[5] = {&os};
    onnx__model_proto__init(&mp);
    onnx__graph_proto__init(&gp);
    onnx__operator_set_id_proto__init(&os);
    onnx__operator_set_id_proto__init(&os_onnxc);
    onnx__operator_set_id_proto__init(&os_preview);
    onnx__operator_set_id_proto__init(&os_ml);
    onnx__operator_set_id_proto__init(&os_training);
    os.domain = "";
    os.has_version = 1;
    os.version = g->opset;
    /* a graph holding onnxc's own ops (training graphs) imports their
     * domain too, so that the file is valid ONNX for other tools */
    os_onnxc.domain = OC_DOMAIN_ONNXC;
    os_onnxc.has_version = 1;
    os_onnxc.version = 1;
    os_preview.domain = OC_DOMAIN_PREVIEW; /* FlexAttention */
    os_preview.has_version = 1;
    os_preview.version = 1;
    os_ml.domain = OC_DOMAIN_ML; /* the opset the source file imported; 5 (TreeEnsemble's) when built in C */
    os_ml.has_version = 1;
    os_ml.version = g->opset_ml > 0 ? g->opset_ml : 5;
    os_training.domain = OC_DOMAIN_TRAINING; /* Adagrad, Adam, Momentum */
    os_training.has_version = 1;
    os_training.version = 1;
    int uses_onnxc = 0, uses_preview = 0, uses_ml = 0, uses_training = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *dom = g->nodes[i].domain ? g->nodes[i].domain : "";
        uses_onnxc |= strcmp(dom, OC_DOMAIN_ONNXC) == 0;
        uses_preview |= strcmp(dom, OC_DOMAIN_PREVIEW) == 0;
        uses_ml |= strcmp(dom, OC_DOMAIN_ML) == 0;
        uses_training |= strcmp(dom, OC_DOMAIN_TRAINING) == 0;
    }
    size_t n_os = 1;
    if (uses_onnxc)
        osp[n_os++] = &os_onnxc;
    if (uses_preview)
        osp[n_os++] = &os_preview;
    if (uses_ml)
        osp[n_os++] = &os_ml;
    if (uses_training)
        osp[n_os++] = &os_training;
    mp.has_ir_version = 1;
    mp.ir_version = g->opset >= 19 ? 9 : 8;
    mp.producer_name = "onnxc";
    mp.producer_version = "0.1";
    mp.n_opset_import = n_os;
    mp.opset_import = osp;
    mp.graph = &gp;
    gp.name = g->name;

    int rc = 0;
    gp.node = palloc(&p, sizeof(void *) * (size_t)(g->n_nodes + 1));
    gp.initializer = palloc(&p, sizeof(void *) * (size_t)(g->n_values + 1));
    gp.input = palloc(&p, sizeof(void *) * (size_t)(g->n_inputs + 1));
    gp.output = palloc(&p, sizeof(void *) * (size_t)(g->n_outputs + 1));
    gp.value_info = palloc(&p, sizeof(void *) * (size_t)(g->n_values + 1));
    for (int i = 0; !p.oom && i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        Onnx__NodeProto *np = palloc(&p, sizeof *np);
        char **in = palloc(&p, sizeof(char *) * (size_t)(n->n_in + 1));
        char **out = palloc(&p, sizeof(char *) * (size_t)(n->n_out + 1));
        Onnx__AttributeProto **attrs = palloc(&p, sizeof(void *) * (size_t)(n->n_attrs + 1));
        if (!np || !in || !out || !attrs)
            break;
        onnx__node_proto__init(np);
        for (int k = 0; k < n->n_in - n->n_implicit; k++)
            in[k] = n->in[k] >= 0 ? g->values[n->in[k]].name : "";
        for (int k = 0; k < n->n_out; k++)
            out[k] = n->out[k] >= 0 ? g->values[n->out[k]].name : "";
        for (int k = 0; k < n->n_attrs; k++)
            if (!(attrs[k] = attr_proto(&p, &n->attrs[k]))) {
                rc = oc_fail(d, "node '%s' (%s): attribute '%s' of type %d cannot be exported", n->name,
                             n->op_type, n->attrs[k].name, n->attrs[k].type);
                break;
            }
        np->name = n->name;
        np->op_type = n->op_type;
        np->domain = n->domain;
        np->n_input = (size_t)(n->n_in - n->n_implicit);
        np->input = in;
        np->n_output = (size_t)n->n_out;
        np->output = out;
        np->n_attribute = (size_t)n->n_attrs;
        np->attribute = attrs;
        gp.node[gp.n_node++] = np;
        if (rc)
            break;
    }
    for (int i = 0; !rc && !p.oom && i < g->n_values; i++) {
        const oc_value *v = &g->values[i];
        /* weights, and the constants passes add without a producer (the
         * seed of an imported Gradient's backward pass) */
        if (v->constant && ((v->flags & OC_VALUE_INITIALIZER) || (v->producer < 0 && !(v->flags & OC_VALUE_INPUT)))) {
            Onnx__TensorProto *tp = tensor_proto(&p, v->constant, v->name);
            if (tp)
                gp.initializer[gp.n_initializer++] = tp;
        } else if (v->producer >= 0 && !(v->flags & OC_VALUE_OUTPUT) && v->rank >= 0) {
            Onnx__ValueInfoProto *vi = value_info(&p, v);
            if (vi)
                gp.value_info[gp.n_value_info++] = vi;
        }
    }
    for (int i = 0; !rc && !p.oom && i < g->n_inputs; i++) {
        Onnx__ValueInfoProto *vi = value_info(&p, &g->values[g->inputs[i]]);
        if (vi)
            gp.input[gp.n_input++] = vi;
    }
    for (int i = 0; !rc && !p.oom && i < g->n_outputs; i++) {
        Onnx__ValueInfoProto *vi = value_info(&p, &g->values[g->outputs[i]]);
        if (vi)
            gp.output[gp.n_output++] = vi;
    }
    if (!rc && p.oom)
        rc = oc_fail(d, "out of memory");
    if (!rc) {
        size_t len = onnx__model_proto__get_packed_size(&mp);
        if (len > ((size_t)2 << 30)) {
            rc = oc_fail(d, "the model is %zu bytes; ONNX files above 2 GiB need external data, which "
                            "onnxc does not write yet", len);
        } else {
            uint8_t *buf = malloc(len ? len : 1);
            if (!buf) {
                rc = oc_fail(d, "out of memory");
            } else {
                onnx__model_proto__pack(&mp, buf);
                *out = buf;
                *out_len = len;
            }
        }
    }
    pool_free(&p);
    return rc;
}

int oc_onnx_save(const oc_graph *g, const char *path, oc_diag *d)
{
    unsigned char *buf;
    size_t len;
    if (oc_onnx_encode(g, &buf, &len, d)) {
        oc_diag_prefix(d, "%s: ", path);
        return -1;
    }
    int rc = oc_write_file_atomic(path, buf, len, d);
    free(buf);
    return rc;
}

int oc_onnx_save_tensor(const oc_tensor *t, const char *name, const char *path, oc_diag *d)
{
    pool p = {0};
    Onnx__TensorProto *tp = tensor_proto(&p, t, name ? name : "");
    int rc;
    if (!tp) {
        rc = oc_fail(d, "out of memory");
    } else {
        size_t len = onnx__tensor_proto__get_packed_size(tp);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            rc = oc_fail(d, "out of memory");
        } else {
            onnx__tensor_proto__pack(tp, buf);
            rc = oc_write_file_atomic(path, buf, len, d);
            free(buf);
        }
    }
    pool_free(&p);
    return rc;
}
