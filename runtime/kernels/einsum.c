/* einsum.c: see einsum.h.
 *
 *   out[o_1..o_r] = sum over the summed labels s of prod_k in_k[offset_k(o, s)]
 * where offset_k is the dot product of the label values with input k's
 * label strides. The output is walked in row-major order; for each output
 * element an odometer runs over the summed labels, moving every input's
 * offset by its stride. Floats accumulate in double, integers in int64
 * (wrapping, as numpy's fixed-width arithmetic). That loop is the
 * reference; large two-input float contractions take the batched GEMM
 * path (see einsum.h), chosen by the lowering. */
#include "einsum.h"

#include <cblas.h>
#include <string.h>

static double load_f(const void *p, int dt, int64_t i)
{
    return dt == OC_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static int64_t load_i(const void *p, int dt, int64_t i)
{
    return dt == OC_INT64 ? ((const int64_t *)p)[i] : (int64_t)((const int32_t *)p)[i];
}

/* Copy between a strided view (n dims of extents ext, strides st) and a
 * dense row-major block; to_dense picks the direction. */
static void strided_copy(int to_dense, char *strided, char *dense, size_t es, int n, const int64_t *ext,
                         const int64_t *st)
{
    int64_t idx[OC_MAX_RANK * 2] = {0}, off = 0, total = 1;
    for (int d = 0; d < n; d++)
        total *= ext[d];
    for (int64_t i = 0; i < total; i++) {
        if (to_dense)
            memcpy(dense + (size_t)i * es, strided + (size_t)off * es, es);
        else
            memcpy(strided + (size_t)off * es, dense + (size_t)i * es, es);
        for (int d = n - 1; d >= 0; d--) {
            off += st[d];
            if (++idx[d] < ext[d])
                break;
            off -= st[d] * idx[d];
            idx[d] = 0;
        }
    }
}

/* C[b] = A[b] (M x K) * B[b] (K x N) for every batch b, via BLAS. */
static int einsum_gemm(const oc_kargs *a, const oc_einsum_params *p)
{
    size_t es = p->dtype == OC_DOUBLE ? sizeof(double) : sizeof(float);
    int64_t B = p->g_b, M = p->g_m, K = p->g_k, N = p->g_n;
    char *pa = a->scratch, *pb = pa + (size_t)(B * M * K) * es, *pc = pb + (size_t)(B * K * N) * es;
    int nb = p->g_nb, nm = p->g_nm, nk = p->g_nk, nn = p->g_nn;
    int64_t ext[OC_MAX_RANK * 2], st[OC_MAX_RANK * 2];
    int n = 0;
    /* A: batch, M, K */
    for (int i = 0; i < nb + nm + nk; i++, n++) {
        ext[n] = p->g_ext[i];
        st[n] = p->g_sa[i];
    }
    strided_copy(1, a->in[0]->data, pa, es, n, ext, st);
    /* B: batch, K, N */
    n = 0;
    for (int i = 0; i < nb; i++, n++) {
        ext[n] = p->g_ext[i];
        st[n] = p->g_sb[i];
    }
    for (int i = nb + nm; i < nb + nm + nk + nn; i++, n++) {
        ext[n] = p->g_ext[i];
        st[n] = p->g_sb[i];
    }
    strided_copy(1, a->in[1]->data, pb, es, n, ext, st);
    for (int64_t b = 0; b < B; b++) {
        if (es == sizeof(double))
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0,
                        (const double *)(void *)pa + b * M * K, (int)K, (const double *)(void *)pb + b * K * N,
                        (int)N, 0.0, (double *)(void *)pc + b * M * N, (int)N);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                        (const float *)(void *)pa + b * M * K, (int)K, (const float *)(void *)pb + b * K * N,
                        (int)N, 0.0f, (float *)(void *)pc + b * M * N, (int)N);
    }
    /* C: batch, M, N scattered into the output */
    n = 0;
    for (int i = 0; i < nb + nm; i++, n++) {
        ext[n] = p->g_ext[i];
        st[n] = p->g_sy[i];
    }
    for (int i = nb + nm + nk; i < nb + nm + nk + nn; i++, n++) {
        ext[n] = p->g_ext[i];
        st[n] = p->g_sy[i];
    }
    strided_copy(0, a->out[0]->data, pc, es, n, ext, st);
    return 0;
}

int oc_einsum_forward(const oc_kargs *a)
{
    const oc_einsum_params *p = a->p;
    if (p->gemm)
        return einsum_gemm(a, p);
    oc_tensor *y = a->out[0];
    int ni = p->n_in, fl = p->dtype == OC_FLOAT || p->dtype == OC_DOUBLE;
    int64_t total_sum = 1;
    for (int s = 0; s < p->n_sum; s++)
        total_sum *= p->sum_ext[s];
    int64_t base[OC_EINSUM_MAX_IN] = {0}, o[OC_MAX_RANK] = {0};
    for (int64_t i = 0; i < y->numel; i++) {
        int64_t off[OC_EINSUM_MAX_IN], s_idx[OC_EINSUM_MAX_SUM] = {0};
        for (int k = 0; k < ni; k++)
            off[k] = base[k];
        double accf = 0;
        int64_t acci = 0;
        for (int64_t t = 0; t < total_sum; t++) {
            if (fl) {
                double v = 1;
                for (int k = 0; k < ni; k++)
                    v *= load_f(a->in[k]->data, p->dtype, off[k]);
                accf += v;
            } else {
                uint64_t v = 1;
                for (int k = 0; k < ni; k++)
                    v *= (uint64_t)load_i(a->in[k]->data, p->dtype, off[k]);
                acci = (int64_t)((uint64_t)acci + v);
            }
            /* odometer over the summed labels */
            for (int s = p->n_sum - 1; s >= 0; s--) {
                for (int k = 0; k < ni; k++)
                    off[k] += p->sum_stride[k][s];
                if (++s_idx[s] < p->sum_ext[s])
                    break;
                for (int k = 0; k < ni; k++)
                    off[k] -= p->sum_stride[k][s] * s_idx[s];
                s_idx[s] = 0;
            }
        }
        switch (p->dtype) {
        case OC_FLOAT: ((float *)y->data)[i] = (float)accf; break;
        case OC_DOUBLE: ((double *)y->data)[i] = accf; break;
        case OC_INT32: ((int32_t *)y->data)[i] = (int32_t)acci; break;
        default: ((int64_t *)y->data)[i] = acci; break;
        }
        /* odometer over the output labels */
        for (int r = p->n_out - 1; r >= 0; r--) {
            for (int k = 0; k < ni; k++)
                base[k] += p->out_stride[k][r];
            if (++o[r] < p->out_ext[r])
                break;
            for (int k = 0; k < ni; k++)
                base[k] -= p->out_stride[k][r] * o[r];
            o[r] = 0;
        }
    }
    return 0;
}
