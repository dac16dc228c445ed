/* signal.c: the signal-processing ops: DFT (opset 17, 19, 20), STFT
 * (opset 17), the window generators HannWindow, HammingWindow and
 * BlackmanWindow (opset 17) and MelWeightMatrix (opset 17). Shape rules
 * and lowering; the kernels are runtime/kernels/signal.c.
 *
 * The inputs that decide an output extent (dft_length, DFT-20's axis,
 * frame_step, frame_length, a window's size, MelWeightMatrix's
 * num_mel_bins and dft_length) are usually graph inputs in
 * ONNX test models: when they are constants the extents are computed
 * here, otherwise they come from the model's declared output shape and the
 * kernels check the data against them. */
#include "op.h"

#include <string.h>

#include "../../runtime/kernels/signal.h"

/* Scalar integer from constant input k: 1 with *v set, 0 when the input is
 * absent or not constant, -1 on a bad tensor. */
static int const_scalar(oc_infer *cx, int k, int64_t *v)
{
    oc_value *t = oc_infer_in(cx, k);
    if (!t || !t->constant)
        return 0;
    if (t->constant->numel == 0)
        return 0; /* an empty tensor stands for "not given" */
    if (t->constant->numel != 1 || (t->constant->dtype != OC_INT64 && t->constant->dtype != OC_INT32))
        return oc_infer_fail(cx, "input %d '%s' must be one int32/int64 value", k, t->name);
    *v = oc_tensor_get_i64(t->constant, 0);
    return 1;
}

static int is_real_type(int dt) { return dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_FLOAT16 || dt == OC_BFLOAT16; }

/* ---- DFT ---- */

static int dft_axis_input(const oc_graph *g) { return g->opset >= 20 ? 2 : -1; }

static int infer_dft(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int r = x->rank;
    if (r < 2)
        return oc_infer_fail(cx, "input must have rank >= 2 ([..., signal, 1 or 2]), got %d", r);
    if (x->dims[r - 1] > 2 || x->dims[r - 1] == 0)
        return oc_infer_fail(cx, "the last dim must be 1 (real) or 2 (complex), got %lld", (long long)x->dims[r - 1]);
    if (x->dtype && !is_real_type(x->dtype))
        return oc_infer_fail(cx, "input type %s is not supported (float types only)", oc_dtype_name(x->dtype));
    int inverse = oc_attr_int(n, "inverse", 0) != 0, onesided = oc_attr_int(n, "onesided", 0) != 0;
    int irfft = inverse && onesided;
    int64_t ax = oc_attr_int(n, "axis", 1), len = -1;
    int known_axis = 1, known_len = 0, ai = dft_axis_input(cx->g), s;
    if (ai >= 0) {
        ax = -2;
        if ((s = const_scalar(cx, ai, &ax)) < 0)
            return -1;
        known_axis = s == 1 || !oc_infer_in(cx, ai);
    }
    if ((s = const_scalar(cx, 1, &len)) < 0)
        return -1;
    known_len = s == 1;
    if (!known_len && oc_infer_in(cx, 1) && !(oc_infer_in(cx, 1)->constant))
        len = -2; /* given at run time */
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[r - 1] = irfft ? 1 : 2;
    if (!known_axis) {
        if (onesided || len != -1)
            for (int i = 0; i < r - 1; i++)
                dims[i] = -1;
        return oc_infer_set_out(cx, 0, x->dtype, r, dims);
    }
    if (ax < -r || ax >= r - 1 || ax == -1)
        return oc_infer_fail(cx, "axis %lld must name a signal dim of the rank-%d input", (long long)ax, r);
    if (ax < 0)
        ax += r;
    int64_t nl = known_len ? len : len == -2 || x->dims[ax] < 0 ? -1 : irfft ? 2 * (x->dims[ax] - 1) : x->dims[ax];
    if (known_len && nl < 1)
        return oc_infer_fail(cx, "dft_length %lld must be positive", (long long)nl);
    dims[ax] = nl < 0 ? -1 : irfft ? nl : onesided ? nl / 2 + 1 : nl;
    return oc_infer_set_out(cx, 0, x->dtype, r, dims);
}

static int lower_dft(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_dft_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->axis_input = dft_axis_input(g);
    p->axis = p->axis_input >= 0 ? -2 : oc_attr_int(n, "axis", 1);
    p->inverse = oc_attr_int(n, "inverse", 0) != 0;
    p->onesided = oc_attr_int(n, "onesided", 0) != 0;
    lw->fn = oc_dft_forward;
    return 0;
}

/* ---- STFT ---- */

static int infer_stft(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *w = oc_infer_in(cx, 2);
    if (!x)
        return -1;
    if (x->rank != 3 || x->dims[2] > 2 || x->dims[2] == 0)
        return oc_infer_fail(cx, "signal must be [batch, length, 1 or 2]");
    if (x->dtype && !is_real_type(x->dtype))
        return oc_infer_fail(cx, "signal type %s is not supported (float types only)", oc_dtype_name(x->dtype));
    if (w && w->rank >= 0 && w->rank != 1)
        return oc_infer_fail(cx, "window must be 1-D");
    int64_t step = -1, fl = -1;
    if (const_scalar(cx, 1, &step) < 0 || const_scalar(cx, 3, &fl) < 0)
        return -1;
    if (fl < 0 && w && w->rank == 1)
        fl = w->dims[0];
    if (fl < 0 && !w && !oc_infer_in(cx, 3))
        fl = x->dims[1];
    int64_t dims[4] = {x->dims[0], -1, -1, 2};
    if (fl >= 0)
        dims[2] = oc_attr_int(n, "onesided", 1) ? fl / 2 + 1 : fl;
    if (fl >= 1 && step >= 1 && x->dims[1] >= fl)
        dims[1] = 1 + (x->dims[1] - fl) / step;
    return oc_infer_set_out(cx, 0, x->dtype, 4, dims);
}

static int lower_stft(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_stft_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->onesided = oc_attr_int(n, "onesided", 1) != 0;
    lw->fn = oc_stft_forward;
    return 0;
}

/* ---- HannWindow, HammingWindow, BlackmanWindow ---- */

static int infer_window(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *sz = oc_infer_in(cx, 0);
    if (!sz)
        return oc_infer_fail(cx, "input 0 (size) is missing");
    int64_t dt = oc_attr_int(n, "output_datatype", OC_FLOAT), size = -1;
    if (dt < 1 || dt >= OC_DTYPE_LIMIT || !oc_dtype_size((int)dt) || dt == OC_BOOL)
        return oc_infer_fail(cx, "output_datatype %lld is not supported", (long long)dt);
    if (const_scalar(cx, 0, &size) < 0)
        return -1;
    if (sz->constant && size < 0)
        return oc_infer_fail(cx, "size %lld must not be negative", (long long)size);
    return oc_infer_set_out(cx, 0, (int)dt, 1, &size);
}

static int lower_window(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_window_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = strcmp(n->op_type, "HannWindow") == 0      ? OC_WINDOW_HANN
              : strcmp(n->op_type, "HammingWindow") == 0 ? OC_WINDOW_HAMMING
                                                         : OC_WINDOW_BLACKMAN;
    p->periodic = oc_attr_int(n, "periodic", 1) != 0;
    lw->fn = oc_window_forward;
    return 0;
}

/* ---- MelWeightMatrix ---- */

static const char *const mel_input_names[5] = {"num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz",
                                               "upper_edge_hertz"};

/* The output types ONNX allows (T3: the numeric types up to 64 bits). */
static int mel_output_type(int64_t dt)
{
    static const int ok[] = {OC_UINT8, OC_UINT16, OC_UINT32, OC_UINT64, OC_INT8,    OC_INT16,
                             OC_INT32, OC_INT64,  OC_FLOAT16, OC_FLOAT, OC_DOUBLE, OC_BFLOAT16};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (dt == ok[i])
            return 1;
    return 0;
}

static int is_int_const(const oc_value *v)
{
    return v->constant && v->constant->numel == 1 && (v->constant->dtype == OC_INT32 || v->constant->dtype == OC_INT64);
}

/* [dft_length / 2 + 1, num_mel_bins]: each extent known when its input is
 * a constant, else taken from the declared output (the kernel checks the
 * data against the plan). Either way the extents are bounded here, so a
 * crafted model cannot make the plan allocate a huge matrix. */
static int infer_mel(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    const oc_value *in[5];
    char buf[128];
    for (int k = 0; k < 5; k++) {
        const oc_value *v = in[k] = oc_infer_in(cx, k);
        if (!v)
            return oc_infer_fail(cx, "input %d (%s) is missing", k, mel_input_names[k]);
        if (v->dtype && (k < 3 ? v->dtype != OC_INT32 && v->dtype != OC_INT64 : !is_real_type(v->dtype)))
            return oc_infer_fail(cx, "input %d (%s) '%s' must be %s, got %s", k, mel_input_names[k], v->name,
                                 k < 3 ? "int32 or int64" : "float, double, float16 or bfloat16",
                                 oc_dtype_name(v->dtype));
        int64_t ne = oc_value_numel(v);
        if (v->rank > 1 || (ne >= 0 && ne != 1))
            return oc_infer_fail(cx, "input %d (%s) '%s' must be a scalar, got shape %s", k, mel_input_names[k],
                                 v->name, oc_format_dims(buf, sizeof buf, v->dims, v->rank));
        if (v->constant && v->constant->numel != 1)
            return oc_infer_fail(cx, "input %d (%s) '%s' holds %lld values; it must be a scalar", k,
                                 mel_input_names[k], v->name, (long long)v->constant->numel);
    }
    for (int k = 1; k < 5; k++) {
        int first = k < 3 ? 0 : 3;
        if (k != first && in[k]->dtype && in[first]->dtype && in[k]->dtype != in[first]->dtype)
            return oc_infer_fail(cx, "inputs %d (%s) and %d (%s) must have one type, got %s and %s", first,
                                 mel_input_names[first], k, mel_input_names[k], oc_dtype_name(in[first]->dtype),
                                 oc_dtype_name(in[k]->dtype));
    }
    int64_t dt = oc_attr_int(n, "output_datatype", OC_FLOAT);
    if (!mel_output_type(dt))
        return oc_infer_fail(cx, "output_datatype %lld is not a numeric type ONNX allows here", (long long)dt);
    int64_t dims[2] = {-1, -1};
    if (is_int_const(in[0])) {
        int64_t bins = oc_tensor_get_i64(in[0]->constant, 0);
        if (bins < 0 || bins > OC_MEL_MAX_BINS)
            return oc_infer_fail(cx, "num_mel_bins %lld is outside [0, %lld]", (long long)bins,
                                 (long long)OC_MEL_MAX_BINS);
        dims[1] = bins;
    }
    if (is_int_const(in[1])) {
        int64_t len = oc_tensor_get_i64(in[1]->constant, 0);
        if (len < 1 || len > OC_MEL_MAX_DFT)
            return oc_infer_fail(cx, "dft_length %lld is outside [1, %lld]", (long long)len,
                                 (long long)OC_MEL_MAX_DFT);
        dims[0] = len / 2 + 1;
    }
    if (oc_infer_set_out(cx, 0, (int)dt, 2, dims))
        return -1;
    /* the extents the plan will use: computed, or declared */
    const oc_value *y = n->out[0] >= 0 ? &cx->g->values[n->out[0]] : NULL;
    if (y && y->rank == 2) {
        if (y->dims[1] > OC_MEL_MAX_BINS || y->dims[0] > OC_MEL_MAX_DFT / 2 + 1 ||
            (y->dims[0] > 0 && y->dims[1] > 0 && y->dims[0] > OC_MEL_MAX_ELEMS / y->dims[1]))
            return oc_infer_fail(cx, "output '%s' of %s is larger than onnxc makes (at most %lld mel bins and %lld "
                                 "entries)",
                                 y->name, oc_format_dims(buf, sizeof buf, y->dims, 2), (long long)OC_MEL_MAX_BINS,
                                 (long long)OC_MEL_MAX_ELEMS);
    }
    return 0;
}

static int lower_mel(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g, (void)n, (void)d;
    lw->fn = oc_mel_weight_matrix_forward;
    return 0;
}

const oc_op oc_ops_signal[] = {
    {"DFT", 1, 3, 1, 1, infer_dft, NULL, 0, (1u << 1) | (1u << 2), lower_dft},
    {"STFT", 2, 4, 1, 1, infer_stft, NULL, 0, (1u << 1) | (1u << 3), lower_stft},
    {"HannWindow", 1, 1, 1, 1, infer_window, NULL, 0, 1u << 0, lower_window},
    {"HammingWindow", 1, 1, 1, 1, infer_window, NULL, 0, 1u << 0, lower_window},
    {"BlackmanWindow", 1, 1, 1, 1, infer_window, NULL, 0, 1u << 0, lower_window},
    {"MelWeightMatrix", 5, 5, 1, 1, infer_mel, NULL, 0, 0x1fu, lower_mel},
    {0},
};
