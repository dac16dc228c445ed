/* gemm.c: see gemm.h.
 *
 * The fast paths are single BLAS calls per matrix product (row-major, so
 * the leading dimensions are the row lengths of the stored operands); the
 * references are triple loops accumulating in double (int64 for integer
 * types, which wrap like the ONNX reference). */
#include "gemm.h"

#include <cblas.h>

#include "sgemm.h"

/* Y := beta * C broadcast (strides cs) — the BLAS call then adds alpha * A'B'. */
static void gemm_fill(const oc_gemm_params *p, const oc_tensor *c, float *y)
{
    const float *cv = c ? c->data : NULL;
    for (int64_t i = 0; i < p->m; i++)
        for (int64_t j = 0; j < p->n; j++)
            y[i * p->n + j] = cv ? p->beta * cv[i * p->c_stride[0] + j * p->c_stride[1]] : 0.0f;
}

static void gemm_epilogue(const oc_gemm_params *p, const oc_kargs *a, float *y)
{
    if (!oc_epilogue_active(&p->ep))
        return;
    const float *res = p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    oc_epilogue_apply(&p->ep, y, p->n, p->m, p->n, 0, 0, NULL, res, p->n);
}

void oc_gemm_call(const oc_kargs *a, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                       const oc_epilogue *ep, const float *res)
{
    oc_sgemm_epi epi = {ep, NULL, res, ldc};
    if (a->tscratch && a->tscratch_stride >= oc_sgemm_scratch_bytes()) {
        oc_sgemm_threaded(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep ? &epi : NULL,
                          a->threads > 0 ? a->threads : 1, a->tscratch, a->tscratch_stride);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
    if (ep && oc_epilogue_active(ep))
        oc_epilogue_apply(ep, C, ldc, M, N, 0, 0, NULL, res, ldc);
}

int oc_gemm_forward(const oc_kargs *a)
{
    const oc_gemm_params *p = a->p;
    const oc_tensor *c = p->has_c && a->n_in > 2 ? a->in[2] : NULL;
    float *y = a->out[0]->data;
    gemm_fill(p, c, y);
    if (!p->m || !p->n || !p->k) {
        gemm_epilogue(p, a, y);
        return 0;
    }
    if (p->skinny && a->prep && a->scratch && a->tscratch && a->tscratch_stride >= oc_sgemm_scratch_bytes()) {
        /* Y^T [N, M] = W' [N, K] . A^T, W' = op(B)^T packed; then Y += (Y^T)^T */
        float *yt = a->scratch;
        if (oc_sgemm_packed_threaded(p->n, p->m, p->k, a->prep, 0, p->n, a->in[0]->data, p->k, 1, 0.0f, yt, p->m, NULL,
                                     a->threads > 0 ? a->threads : 1, a->tscratch, a->tscratch_stride))
            return oc_fail(a->d, "Gemm: the prepared weights are not an SGEMM pack");
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++)
                y[i * p->n + j] += yt[j * p->m + i];
        gemm_epilogue(p, a, y);
        return 0;
    }
    int64_t lda = p->trans_a ? p->m : p->k, ldb = p->trans_b ? p->k : p->n;
    const float *res = p->ep.has_residual && a->n_in > 3 && a->in[3] ? a->in[3]->data : NULL;
    oc_gemm_call(a, p->trans_a, p->trans_b, p->m, p->n, p->k, p->alpha, a->in[0]->data, lda, a->in[1]->data, ldb, 1.0f,
               y, p->n, &p->ep, res);
    return 0;
}

size_t oc_gemm_prep_bytes(const oc_kargs *a)
{
    const oc_gemm_params *p = a->p;
    return p->skinny && p->n > 0 && p->k > 0 ? oc_sgemm_pack_a_bytes(p->n, p->k) : 0;
}

/* Rows of B [N, K] packed between page give-backs when the prep consumes B. */
#define GEMM_PREP_BAND_BYTES ((size_t)8 << 20)

int oc_gemm_prep(const oc_kargs *a, void *dst)
{
    const oc_gemm_params *p = a->p;
    const float *b = a->in[1]->data;
    if (a->prep_consume && p->trans_b && p->n > 0 && p->k > 0) {
        /* B [N, K] is op(B)^T row for row: packed a band of panels at a
         * time, each band's pages of B given back once packed (VGG-11's
         * 411 MB fc6 weight is then not held twice while it is packed) */
        int64_t mr = oc_sgemm_pack_mr(p->n), band = (int64_t)(GEMM_PREP_BAND_BYTES / sizeof(float)) / p->k / mr * mr;
        band = band < mr ? mr : band;
        oc_sgemm_pack_a_header(p->n, p->k, dst);
        for (int64_t r0 = 0; r0 < p->n; r0 += band) {
            int64_t r1 = r0 + band < p->n ? r0 + band : p->n;
            oc_sgemm_pack_a_rows(p->n, p->k, r0, r1, b + r0 * p->k, p->k, 0, dst);
            oc_release_pages((void *)(b + r0 * p->k), sizeof(float) * (size_t)((r1 - r0) * p->k));
        }
        return 0;
    }
    /* op(B)^T: B itself when transposed ([N, K]), else B^T of [K, N] */
    oc_sgemm_pack_a(p->n, p->k, b, p->trans_b ? p->k : p->n, !p->trans_b, dst);
    return 0;
}

int oc_gemm_ref(const oc_kargs *a)
{
    const oc_gemm_params *p = a->p;
    const oc_tensor *c = p->has_c && a->n_in > 2 ? a->in[2] : NULL;
    const float *A = a->in[0]->data, *B = a->in[1]->data;
    float *y = a->out[0]->data;
    gemm_fill(p, c, y);
    for (int64_t i = 0; i < p->m; i++)
        for (int64_t j = 0; j < p->n; j++) {
            double acc = 0;
            for (int64_t l = 0; l < p->k; l++) {
                float av = p->trans_a ? A[l * p->m + i] : A[i * p->k + l];
                float bv = p->trans_b ? B[j * p->k + l] : B[l * p->n + j];
                acc += (double)av * bv;
            }
            y[i * p->n + j] += (float)(p->alpha * acc);
        }
    gemm_epilogue(p, a, y);
    return 0;
}

/* Element offsets of A and B for output batch index q (row-major over p->batch). */
static void batch_offsets(const oc_matmul_params *p, int64_t q, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int d = p->batch_rank - 1; d >= 0; d--) {
        int64_t i = q % p->batch[d];
        q /= p->batch[d];
        *oa += i * p->a_stride[d];
        *ob += i * p->b_stride[d];
    }
}

static int64_t batch_count(const oc_matmul_params *p)
{
    int64_t nb = 1;
    for (int d = 0; d < p->batch_rank; d++)
        nb *= p->batch[d];
    return nb;
}

#define MATMUL_LOOP(T, ACC)                                                                                \
    do {                                                                                                   \
        const T *A = a->in[0]->data, *B = a->in[1]->data;                                                  \
        T *Y = a->out[0]->data;                                                                            \
        for (int64_t q = 0; q < nb; q++) {                                                                 \
            int64_t oa, ob;                                                                                \
            batch_offsets(p, q, &oa, &ob);                                                                 \
            for (int64_t i = 0; i < p->m; i++)                                                             \
                for (int64_t j = 0; j < p->n; j++) {                                                       \
                    ACC acc = 0;                                                                           \
                    for (int64_t l = 0; l < p->k; l++)                                                     \
                        acc += (ACC)A[oa + i * p->k + l] * (ACC)B[ob + l * p->n + j];                      \
                    Y[(q * p->m + i) * p->n + j] = (T)acc;                                                 \
                }                                                                                          \
        }                                                                                                  \
    } while (0)

int oc_matmul_ref(const oc_kargs *a)
{
    const oc_matmul_params *p = a->p;
    int64_t nb = batch_count(p);
    switch (p->dtype) {
    case OC_FLOAT: MATMUL_LOOP(float, double); break;
    case OC_DOUBLE: MATMUL_LOOP(double, double); break;
    /* unsigned accumulation: wraps on overflow instead of being undefined */
    case OC_INT32: MATMUL_LOOP(int32_t, uint64_t); break;
    case OC_INT64: MATMUL_LOOP(int64_t, uint64_t); break;
    default: return oc_fail(a->d, "MatMul: unsupported element type %s", oc_dtype_name(p->dtype));
    }
    return 0;
}

int oc_matmul_forward(const oc_kargs *a)
{
    const oc_matmul_params *p = a->p;
    if (p->dtype != OC_FLOAT && p->dtype != OC_DOUBLE)
        return oc_matmul_ref(a);
    int64_t nb = batch_count(p), m = p->m;
    if (p->fold) {
        m *= nb;
        nb = 1;
    }
    int64_t ysz = nb * m * p->n;
    if (!m || !p->n || !nb)
        return 0;
    if (!p->k) { /* empty sum */
        if (p->dtype == OC_FLOAT)
            for (int64_t i = 0; i < ysz; i++)
                ((float *)a->out[0]->data)[i] = 0.0f;
        else
            for (int64_t i = 0; i < ysz; i++)
                ((double *)a->out[0]->data)[i] = 0.0;
        return 0;
    }
    for (int64_t q = 0; q < nb; q++) {
        int64_t oa, ob, oy = q * m * p->n;
        batch_offsets(p, q, &oa, &ob);
        if (p->fold)
            oa = ob = 0;
        if (p->dtype == OC_FLOAT)
            oc_gemm_call(a, 0, 0, m, p->n, p->k, 1.0f, (const float *)a->in[0]->data + oa, p->k,
                       (const float *)a->in[1]->data + ob, p->n, 0.0f, (float *)a->out[0]->data + oy, p->n, NULL, NULL);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)p->n, (int)p->k, 1.0,
                        (const double *)a->in[0]->data + oa, (int)p->k, (const double *)a->in[1]->data + ob,
                        (int)p->n, 0.0, (double *)a->out[0]->data + oy, (int)p->n);
    }
    return 0;
}

/* ---- MatMul backward (float32) ----
 * Per output batch q with A_q, B_q, dY_q the [M, K], [K, N], [M, N] blocks:
 *   dA_q += dY_q B_q^T,   dB_q += A_q^T dY_q
 * An operand broadcast along a batch dim (stride 0) receives the sum over
 * that dim. The output is zeroed first; BLAS accumulates (beta = 1). */
int oc_matmul_backward_a(const oc_kargs *a)
{
    const oc_matmul_params *p = a->p;
    const float *dy = a->in[0]->data, *B = a->in[2]->data;
    float *da = a->out[0]->data;
    int64_t nb = batch_count(p);
    for (int64_t i = 0; i < a->out[0]->numel; i++)
        da[i] = 0.0f;
    if (!p->m || !p->n || !p->k)
        return 0;
    for (int64_t q = 0; q < nb; q++) {
        int64_t oa, ob;
        batch_offsets(p, q, &oa, &ob);
        oc_gemm_call(a, 0, 1, p->m, p->k, p->n, 1.0f, dy + q * p->m * p->n, p->n, B + ob, p->n, 1.0f, da + oa, p->k,
                   NULL, NULL);
    }
    return 0;
}

int oc_matmul_backward_b(const oc_kargs *a)
{
    const oc_matmul_params *p = a->p;
    const float *dy = a->in[0]->data, *A = a->in[1]->data;
    float *db = a->out[0]->data;
    int64_t nb = batch_count(p);
    for (int64_t i = 0; i < a->out[0]->numel; i++)
        db[i] = 0.0f;
    if (!p->m || !p->n || !p->k)
        return 0;
    for (int64_t q = 0; q < nb; q++) {
        int64_t oa, ob;
        batch_offsets(p, q, &oa, &ob);
        oc_gemm_call(a, 1, 0, p->k, p->n, p->m, 1.0f, A + oa, p->k, dy + q * p->m * p->n, p->n, 1.0f, db + ob, p->n,
                   NULL, NULL);
    }
    return 0;
}

/* Reference for both: the same sums as plain loops in double
 * (in: dY, A, B; wrt = which gradient). */
int oc_matmul_backward_ref(const oc_kargs *a, int wrt)
{
    const oc_matmul_params *p = a->p;
    const float *dy = a->in[0]->data, *A = a->in[1]->data, *B = a->in[2]->data;
    float *out = a->out[0]->data;
    int64_t nb = batch_count(p);
    for (int64_t i = 0; i < a->out[0]->numel; i++)
        out[i] = 0.0f;
    for (int64_t q = 0; q < nb; q++) {
        int64_t oa, ob;
        const float *g = dy + q * p->m * p->n;
        batch_offsets(p, q, &oa, &ob);
        int64_t r = wrt ? p->k : p->m, c = wrt ? p->n : p->k, inner = wrt ? p->m : p->n;
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++) {
                double acc = 0;
                for (int64_t l = 0; l < inner; l++)
                    acc += wrt ? (double)A[oa + l * p->k + i] * g[l * p->n + j]   /* A^T dY */
                               : (double)g[i * p->n + l] * B[ob + j * p->n + l]; /* dY B^T */
                out[(wrt ? ob : oa) + i * c + j] += (float)acc;
            }
    }
    return 0;
}
